from __future__ import annotations

import pytest

from consent import participants
from podcast.errors import InvalidInputError, NotFoundError
from podcast.workspace import Workspace
from sessions import sessions


def test_create_and_get(ws: Workspace) -> None:
    for name in ("Amara", "Blessing", "Fatou"):
        participants.add(ws, name)
    session = sessions.create(ws, "Work", ["Blessing", "Amara"], facilitator="Fatou", language="fr")
    again = sessions.get(ws, session.id)
    assert [p.pseudonym for p in again.participants] == ["Blessing", "Amara"]
    assert again.facilitator is not None and again.facilitator.pseudonym == "Fatou"
    assert again.language == "fr"
    assert again.takes == ()
    assert [s.id for s in sessions.list_all(ws)] == [session.id]


def test_unknown_session(ws: Workspace) -> None:
    with pytest.raises(NotFoundError, match="no session 42"):
        sessions.get(ws, 42)


def test_unknown_participant_creates_nothing(ws: Workspace) -> None:
    participants.add(ws, "Amara")
    with pytest.raises(NotFoundError):
        sessions.create(ws, "Work", ["Amara", "Ghost"])
    assert sessions.list_all(ws) == []


@pytest.mark.parametrize(
    ("names", "kwargs"),
    [
        ([], {}),
        (["Amara", "amara"], {}),
        (["Amara"], {"facilitator": "Amara"}),
        (["Amara"], {"language": "xx-yy"}),
    ],
)
def test_invalid_sessions_are_refused(ws: Workspace, names: list[str], kwargs: dict[str, str]) -> None:
    participants.add(ws, "Amara")
    with pytest.raises(InvalidInputError):
        sessions.create(ws, "Work", names, **kwargs)  # type: ignore[arg-type]
    assert sessions.list_all(ws) == []


def test_retired_participant_cannot_join(ws: Workspace) -> None:
    participants.add(ws, "Amara")
    participants.retire(ws, "Amara")
    with pytest.raises(InvalidInputError, match="retired"):
        sessions.create(ws, "Work", ["Amara"])


@pytest.mark.parametrize("title", ["", "x\x00", "a\u202eb", "t" * 201])
def test_hostile_titles_are_refused(ws: Workspace, title: str) -> None:
    participants.add(ws, "Amara")
    with pytest.raises(InvalidInputError):
        sessions.create(ws, title, ["Amara"])
