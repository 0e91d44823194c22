"""Sensitive words: names and places the group wants removed from what is published.

A phrase applies to every session (no session given) or to one session. The list that
applies to an extract is part of its fingerprint.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from podcast.clock import now_iso
from podcast.errors import InvalidInputError, NotFoundError
from podcast.text import check_title
from podcast.workspace import Workspace
from sessions import sessions


@dataclass(frozen=True)
class SensitivePhrase:
    id: int
    phrase: str
    session_id: int | None


def add(ws: Workspace, phrases: list[str], session_id: int | None = None) -> list[SensitivePhrase]:
    """Add phrases (one word or several); a phrase already listed is left as it is."""
    if session_id is not None:
        sessions.require_open(ws, session_id)
    added = []
    for raw in phrases:
        phrase = check_title(raw, what="sensitive word", max_chars=100)
        try:
            cursor = ws.conn.execute(
                "INSERT INTO redactions (session_id, phrase, created_at) VALUES (?, ?, ?)",
                (session_id, phrase, now_iso()),
            )
        except sqlite3.IntegrityError:
            continue
        added.append(SensitivePhrase(int(cursor.lastrowid or 0), phrase, session_id))
    return added


def list_for(
    ws: Workspace, session_id: int | None = None, *, only_session: bool = False
) -> list[SensitivePhrase]:
    """Phrases that apply to a session (global ones too unless *only_session*)."""
    if session_id is None:
        rows = ws.conn.execute("SELECT * FROM redactions ORDER BY session_id, phrase").fetchall()
    elif only_session:
        rows = ws.conn.execute(
            "SELECT * FROM redactions WHERE session_id = ? ORDER BY phrase", (session_id,)
        ).fetchall()
    else:
        rows = ws.conn.execute(
            "SELECT * FROM redactions WHERE session_id IS NULL OR session_id = ? ORDER BY phrase",
            (session_id,),
        ).fetchall()
    return [SensitivePhrase(r["id"], r["phrase"], r["session_id"]) for r in rows]


def remove(ws: Workspace, phrases: list[str], session_id: int | None = None) -> int:
    """Remove phrases from the list; raises NotFoundError if one is not listed."""
    removed = 0
    for phrase in phrases:
        cursor = ws.conn.execute(
            "DELETE FROM redactions WHERE phrase = ? COLLATE NOCASE AND IFNULL(session_id, 0) = ?",
            (phrase.strip(), session_id or 0),
        )
        if cursor.rowcount == 0:
            where = f"session {session_id}" if session_id else "the workspace list"
            raise NotFoundError(f"{phrase!r} is not in {where}.", hint="See 'podcast redact list'.")
        removed += cursor.rowcount
    if not phrases:
        raise InvalidInputError("Name the words to remove.", hint="podcast redact remove WORD...")
    return removed


def closed_sessions_saying(ws: Workspace, phrases: list[str]) -> list[int]:
    """Closed sessions with an extract that says one of *phrases*: adding them show-wide takes
    those extracts out of the feed until the session is unsealed and rendered again."""
    from sessions import extracts, transcripts

    found = []
    for session in sessions.list_all(ws):
        if not session.closed_at:
            continue
        transcript = transcripts.load(ws, session.id)
        for extract in extracts.list_all(ws, session.id):
            tokens = extracts.normalise(
                " ".join(u.text for u in extracts.utterances_in(transcript, extract))
            ).split()
            if any(extracts.says(tokens, phrase) for phrase in phrases):
                found.append(session.id)
                break
    return found
