"""The history of transcript changes, for undo: one entry per change, whoever made it.

An entry holds the rows of every segment (and its words) the change touched, as they were
before and after it. Undo puts the "before" rows back, only if those segments are still
exactly as the change left them; otherwise it refuses (a later change would be lost).
The command line's `transcript edit` and the browser workbench write to the same history.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from podcast.clock import now_iso
from podcast.db import transaction
from podcast.errors import ConflictError, NotFoundError
from podcast.workspace import Workspace

State = dict[str, Any]  # segment ID (as text) -> {"segment": row, "words": [rows]} or None
_NOT_COMPARED = ("reviewed_at",)  # marking lines reviewed is not a change to undo


@dataclass(frozen=True)
class Change:
    id: int
    session_id: int
    action: str
    source: str
    created_at: str


def snapshot(ws: Workspace, segment_ids: set[int]) -> State:
    """The rows of these segments and their words (None for a segment that does not exist)."""
    state: State = {}
    for segment_id in sorted(segment_ids):
        row = ws.conn.execute("SELECT * FROM segments WHERE id = ?", (segment_id,)).fetchone()
        if row is None:
            state[str(segment_id)] = None
            continue
        words = ws.conn.execute(
            "SELECT * FROM words WHERE segment_id = ? ORDER BY position, id", (segment_id,)
        ).fetchall()
        state[str(segment_id)] = {"segment": dict(row), "words": [dict(w) for w in words]}
    return state


@contextlib.contextmanager
def recording(
    ws: Workspace, session_id: int, action: str, source: str, segment_ids: set[int]
) -> Iterator[set[int]]:
    """Record the change made inside the block (which must run inside a transaction).

    Yields the set of touched segment IDs: add any segment the change creates.
    """
    touched = set(segment_ids)
    before = snapshot(ws, touched)
    yield touched
    after = snapshot(ws, touched)
    for key in after:
        before.setdefault(key, None)
    if before == after:
        return
    ws.conn.execute(
        "INSERT INTO transcript_history (session_id, action, source, before_json, after_json, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (session_id, action, source, json.dumps(before), json.dumps(after), now_iso()),
    )


def _comparable(state: State) -> State:
    return {
        key: None
        if value is None
        else {
            "segment": value["segment"],
            "words": [{k: v for k, v in w.items() if k not in _NOT_COMPARED} for w in value["words"]],
        }
        for key, value in state.items()
    }


def _restore(ws: Workspace, state: State) -> None:
    for key in state:
        ws.conn.execute("DELETE FROM segments WHERE id = ?", (int(key),))  # its words go with it
    for value in state.values():
        if value is None:
            continue
        segment = value["segment"]
        ws.conn.execute(
            f"INSERT INTO segments ({', '.join(segment)}) VALUES ({', '.join('?' * len(segment))})",
            list(segment.values()),
        )
        for word in value["words"]:
            taken = ws.conn.execute("SELECT 1 FROM words WHERE id = ?", (word["id"],)).fetchone()
            if taken:
                raise ConflictError(
                    "This change cannot be undone: a later change reused its words.",
                    hint="Correct the line by hand instead.",
                )
            ws.conn.execute(
                f"INSERT INTO words ({', '.join(word)}) VALUES ({', '.join('?' * len(word))})",
                list(word.values()),
            )


def last(ws: Workspace, session_id: int) -> Change | None:
    """The most recent change that can still be undone."""
    row = ws.conn.execute(
        "SELECT * FROM transcript_history WHERE session_id = ? AND undone_at IS NULL "
        "ORDER BY id DESC LIMIT 1",
        (session_id,),
    ).fetchone()
    if row is None:
        return None
    return Change(row["id"], row["session_id"], row["action"], row["source"], row["created_at"])


def undo(ws: Workspace, session_id: int) -> Change:
    """Undo the session's most recent change. Raises NotFoundError (nothing to undo) or
    ConflictError (those lines changed again since, e.g. after a new transcription)."""
    with transaction(ws.conn):
        change = last(ws, session_id)
        if change is None:
            raise NotFoundError(
                "There is nothing to undo in this transcript.", hint="No change was made yet."
            )
        row = ws.conn.execute(
            "SELECT before_json, after_json FROM transcript_history WHERE id = ?", (change.id,)
        ).fetchone()
        before, after = json.loads(row["before_json"]), json.loads(row["after_json"])
        current = snapshot(ws, {int(k) for k in (*before, *after)})
        if _comparable(current) != _comparable(after):
            raise ConflictError(
                f"The last change ({change.action}) cannot be undone: those lines changed since.",
                hint="Correct the line by hand instead.",
            )
        _restore(ws, before)
        ws.conn.execute("UPDATE transcript_history SET undone_at = ? WHERE id = ?", (now_iso(), change.id))
    return change
