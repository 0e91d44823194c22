from __future__ import annotations

import pytest

from consent import participants
from podcast.errors import InvalidInputError, NotFoundError
from podcast.workspace import Workspace


def test_add_list_rename_retire(ws: Workspace) -> None:
    amara = participants.add(ws, "Amara")
    participants.add(ws, "Blessing")
    assert [p.pseudonym for p in participants.list_all(ws)] == ["Amara", "Blessing"]
    renamed = participants.rename(ws, "amara", "Amie")
    assert renamed.id == amara.id
    participants.retire(ws, "Amie")
    assert [p.pseudonym for p in participants.list_all(ws)] == ["Blessing"]
    assert [p.retired for p in participants.list_all(ws, include_retired=True)] == [True, False]


def test_ids_are_opaque_and_independent_of_the_name(ws: Workspace) -> None:
    person = participants.add(ws, "Amara")
    assert "amara" not in person.id.lower()
    assert person.id.startswith("p-")


def test_duplicate_pseudonym_is_refused_case_insensitively(ws: Workspace) -> None:
    participants.add(ws, "Amara")
    with pytest.raises(InvalidInputError, match="already taken"):
        participants.add(ws, "AMARA")
    assert len(participants.list_all(ws)) == 1


def test_rename_to_a_taken_name_is_refused(ws: Workspace) -> None:
    participants.add(ws, "Amara")
    participants.add(ws, "Blessing")
    with pytest.raises(InvalidInputError):
        participants.rename(ws, "Amara", "blessing")
    # Changing only the case of one's own name is fine.
    assert participants.rename(ws, "Amara", "AMARA").pseudonym == "AMARA"


def test_unknown_participant(ws: Workspace) -> None:
    with pytest.raises(NotFoundError) as info:
        participants.get(ws, "Nobody")
    assert "participant add" in (info.value.hint or "")


@pytest.mark.parametrize("name", ["../../etc", "a\x00b", "bad\u202ename", "x" * 500])
def test_hostile_names_leave_nothing_behind(ws: Workspace, name: str) -> None:
    with pytest.raises(InvalidInputError):
        participants.add(ws, name)
    assert participants.list_all(ws, include_retired=True) == []
