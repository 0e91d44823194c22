"""Participants are known by pseudonyms only; the tool never asks for a real name.

Each participant has an opaque internal ID (used in files, the ledger and the database) that
is separate from her display name, so a pseudonym can be changed without touching history.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass

from podcast.clock import now_iso
from podcast.db import transaction
from podcast.errors import InvalidInputError, NotFoundError
from podcast.text import check_pseudonym
from podcast.workspace import Workspace


@dataclass(frozen=True)
class Participant:
    id: str
    pseudonym: str
    retired: bool
    language: str | None = None  # the language she is asked in; None: the show's


def _from_row(row: sqlite3.Row) -> Participant:
    return Participant(row["id"], row["pseudonym"], row["retired_at"] is not None, row["language"])


def check_language(ws: Workspace, language: str) -> str:
    """One of the show's languages (podcast.toml's language and spoken_languages)."""
    show = ws.settings()
    allowed = tuple(dict.fromkeys((show.language.split("-")[0], *show.spoken_languages)))
    if language not in allowed:
        raise InvalidInputError(
            f"{language!r} is not one of the show's languages.",
            hint="Use one of: " + ", ".join(allowed) + ".",
        )
    return language


def language_of(ws: Workspace, person: Participant) -> str:
    """The language she is asked in: hers if set, else the show's."""
    return person.language or ws.settings().language.split("-")[0]


def set_language(ws: Workspace, pseudonym: str, language: str) -> Participant:
    """Set the language she is asked in (Nigerian Pidgin speakers: en or fr, as they prefer)."""
    person = get(ws, pseudonym)
    code = check_language(ws, language)
    ws.conn.execute("UPDATE participants SET language = ? WHERE id = ?", (code, person.id))
    return Participant(person.id, person.pseudonym, person.retired, code)


def _check_free(ws: Workspace, pseudonym: str) -> None:
    row = ws.conn.execute(
        "SELECT pseudonym FROM participants WHERE pseudonym = ? COLLATE NOCASE", (pseudonym,)
    ).fetchone()
    if row is not None:
        raise InvalidInputError(
            f"The pseudonym {pseudonym!r} is already taken.",
            hint="Choose another one, e.g. add a number or an initial.",
        )


def add(ws: Workspace, pseudonym: str) -> Participant:
    """Register a participant by pseudonym. Raises InvalidInputError if invalid or taken."""
    name = check_pseudonym(pseudonym)
    with transaction(ws.conn):
        _check_free(ws, name)
        participant = Participant("p-" + secrets.token_hex(6), name, False)
        ws.conn.execute(
            "INSERT INTO participants (id, pseudonym, created_at) VALUES (?, ?, ?)",
            (participant.id, name, now_iso()),
        )
    return participant


def list_all(ws: Workspace, *, include_retired: bool = False) -> list[Participant]:
    rows = ws.conn.execute("SELECT * FROM participants ORDER BY pseudonym COLLATE NOCASE").fetchall()
    people = [_from_row(r) for r in rows]
    return people if include_retired else [p for p in people if not p.retired]


def get(ws: Workspace, pseudonym: str) -> Participant:
    """Find a participant by pseudonym (case-insensitive) or raise NotFoundError."""
    row = ws.conn.execute(
        "SELECT * FROM participants WHERE pseudonym = ? COLLATE NOCASE", (pseudonym.strip(),)
    ).fetchone()
    if row is None:
        raise NotFoundError(
            f"No participant is called {pseudonym!r}.",
            hint="See 'podcast participant list', or add her with 'podcast participant add NAME'.",
        )
    return _from_row(row)


def get_by_id(ws: Workspace, participant_id: str) -> Participant:
    row = ws.conn.execute("SELECT * FROM participants WHERE id = ?", (participant_id,)).fetchone()
    if row is None:
        raise NotFoundError(
            f"No participant has ID {participant_id}.", hint="See 'podcast participant list'."
        )
    return _from_row(row)


def rename(ws: Workspace, old: str, new: str) -> Participant:
    """Change a pseudonym; history stays attached to the participant's ID."""
    participant = get(ws, old)
    name = check_pseudonym(new)
    with transaction(ws.conn):
        if name.casefold() != participant.pseudonym.casefold():
            _check_free(ws, name)
        ws.conn.execute("UPDATE participants SET pseudonym = ? WHERE id = ?", (name, participant.id))
    return Participant(participant.id, name, participant.retired, participant.language)


def retire(ws: Workspace, pseudonym: str) -> Participant:
    """Retire a participant: she can no longer join new sessions; her history is kept."""
    participant = get(ws, pseudonym)
    ws.conn.execute(
        "UPDATE participants SET retired_at = COALESCE(retired_at, ?) WHERE id = ?",
        (now_iso(), participant.id),
    )
    return Participant(participant.id, participant.pseudonym, True, participant.language)
