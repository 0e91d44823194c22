"""Raw voices kept no longer than needed: a session's retention, and closing it.

A session's consent step is complete when it has extracts and none is waiting for an answer;
its raw takes may then stay for the show's `retention` (default 30 days), or for ever with
"keep". Closing a session (when retention expires, or `podcast session close`):

- keeps the audio digests of its extracts (their fingerprints still compute, so a withdrawal
  still re-cuts what was published) and the protected renderings of cleared extracts;
- seals the raw takes and the whole transcript to the show's archive key when it has one
  (`podcast keys new`), else destroys them; sealed copies are complete and checked before a
  clear file is removed;
- deletes the transcript's words outside cleared extracts, the edit history (it holds text),
  renderings of extracts not cleared, and the level strips.

The clock is passed in (an ISO time), never read here, so tests choose the day.
"""

from __future__ import annotations

import io
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from consent import checkpoints, decisions, fingerprint, review
from podcast import vault
from podcast.db import transaction
from podcast.errors import InvalidInputError
from podcast.fsutil import fsync_dir
from podcast.workspace import Workspace
from sessions import extracts, sessions, transcripts
from sessions.sessions import Session

TRANSCRIPT_SEALED = "transcript.json.age"


@dataclass(frozen=True)
class Due:
    session_id: int
    title: str
    complete_at: str | None  # when its consent step was complete (None: not yet)
    expires_at: str | None  # None: never (retention "keep") or not complete yet
    due: bool
    raw_bytes: int


@dataclass(frozen=True)
class Closing:
    """Exactly what closing a session does (shown before it is done)."""

    session_id: int
    seal: bool  # sealed to the archive key, else destroyed
    takes: tuple[Path, ...]
    raw_bytes: int
    words_removed: int
    words_kept: int
    renderings_removed: tuple[Path, ...]
    cleared: tuple[int, ...]


def _days(setting: str) -> int | None:
    match = re.match(r"^(\d+)d$", setting)
    return int(match.group(1)) if match else None


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def complete_at(ws: Workspace, session: Session) -> str | None:
    """When the session's consent step was complete: the last answer given, once none waits."""
    statuses = decisions.session_status(ws, session.id)
    if not statuses or any(review.group_state(s) == review.GROUP_WAITING for s in statuses):
        return None
    times = [e.time for e in checkpoints.ledger(ws).entries() if e.session == session.id]
    return max(times) if times else None


def _raw_bytes(ws: Workspace, session: Session) -> int:
    total = 0
    for take in session.takes:
        path = ws.absolute(take.relpath)
        if not take.archived and path.exists():
            total += path.stat().st_size
    return total


def plan(ws: Workspace, now: str) -> list[Due]:
    """Every open session with raw takes, and when its raw material is due to go."""
    days = _days(ws.settings().retention)
    moment = _parse(now)
    found = []
    for session in sessions.list_all(ws):
        if session.closed_at or not session.takes:
            continue
        done = complete_at(ws, session)
        expires = None
        if done is not None and days is not None:
            expires = (_parse(done) + timedelta(days=days)).isoformat().replace("+00:00", "Z")
        due = expires is not None and _parse(expires) <= moment
        found.append(Due(session.id, session.title, done, expires, due, _raw_bytes(ws, session)))
    return found


def _cleared(ws: Workspace, session_id: int) -> list[extracts.Extract]:
    return [s.extract for s in decisions.session_status(ws, session_id) if s.cleared]


def _words_outside(ws: Workspace, session_id: int, keep: list[extracts.Extract]) -> tuple[list[int], int]:
    transcript = transcripts.load(ws, session_id)
    inside = {w.id for e in keep for u in extracts.utterances_in(transcript, e) for w in u.words}
    every = [w.id for u in transcript.utterances for w in u.words]
    return [w for w in every if w not in inside], len(inside)


def prepare(ws: Workspace, session_id: int) -> Closing:
    """What closing the session would do, without doing it."""
    session = sessions.get(ws, session_id)
    if session.closed_at:
        raise InvalidInputError(f"Session {session_id} is already closed.", hint="Nothing to do.")
    cleared = _cleared(ws, session_id)
    removed, kept = _words_outside(ws, session_id, cleared)
    # Renderings kept: the current ones of every extract of other sessions, and of this
    # session's cleared extracts. Everything else there (not cleared, or an older version)
    # was made from raw voices and nothing needs it any more.
    cleared_ids = {e.id for e in cleared}
    keep = {
        s.content.render_key
        for s in decisions.session_status(ws)
        if s.extract.session_id != session_id or s.extract.id in cleared_ids
    }
    renderings = tuple(
        p for p in sorted(ws.renderings_dir.glob("*")) if p.is_file() and p.name.split(".")[0] not in keep
    )
    return Closing(
        session_id,
        bool(ws.settings().archive_key),
        tuple(ws.absolute(t.relpath) for t in session.takes if not t.archived),
        _raw_bytes(ws, session),
        len(removed),
        kept,
        renderings,
        tuple(e.id for e in cleared),
    )


def _transcript_json(ws: Workspace, session: Session) -> bytes:
    rows = []
    for take in session.takes:
        for segment in ws.conn.execute("SELECT * FROM segments WHERE take_id = ? ORDER BY id", (take.id,)):
            words = ws.conn.execute(
                "SELECT * FROM words WHERE segment_id = ? ORDER BY position", (segment["id"],)
            ).fetchall()
            rows.append({"segment": dict(segment), "words": [dict(w) for w in words]})
    return json.dumps({"session": session.id, "segments": rows}).encode()


def close(ws: Workspace, session_id: int, now: str) -> Closing:
    """Close the session as `prepare` says (seal or destroy its raw material)."""
    closing = prepare(ws, session_id)
    session = sessions.get(ws, session_id)
    recipient = ws.settings().archive_key
    # 1. Digests first: afterwards the fingerprints of every extract still compute.
    with transaction(ws.conn):
        for extract in extracts.list_all(ws, session_id):
            fingerprint.keep_audio_digest(ws, extract)
    folder = ws.session_dir(session_id)
    # 2. Sealed copies, complete and checked, before anything clear is removed.
    if recipient:
        for take in session.takes:
            if not take.archived:
                source = ws.absolute(take.relpath)
                vault.seal_file(source, source.with_name(source.name + ".age"), recipient)
        data = _transcript_json(ws, session)
        vault.seal(io.BytesIO(data), folder / TRANSCRIPT_SEALED, recipient, plain_size=len(data))
    # 3. Remove the clear material.
    removed, _ = _words_outside(ws, session_id, [extracts.get(ws, i) for i in closing.cleared])
    with transaction(ws.conn):
        ws.conn.executemany("DELETE FROM words WHERE id = ?", [(w,) for w in removed])
        ws.conn.execute(
            "DELETE FROM segments WHERE take_id IN (SELECT id FROM takes WHERE session_id = ?) "
            "AND id NOT IN (SELECT segment_id FROM words)",
            (session_id,),
        )
        ws.conn.execute("DELETE FROM transcript_history WHERE session_id = ?", (session_id,))
        ws.conn.execute(
            "UPDATE takes SET archived = ? WHERE session_id = ? AND archived IS NULL",
            ("sealed" if recipient else "destroyed", session_id),
        )
        ws.conn.execute("UPDATE sessions SET closed_at = ? WHERE id = ?", (now, session_id))
    for path in (*closing.takes, *closing.renderings_removed):
        path.unlink(missing_ok=True)
    for cached in (ws.cache_dir / "levels").glob("take-*"):
        if any(cached.name.startswith(f"take-{t.id}-") for t in session.takes):
            cached.unlink(missing_ok=True)
    if folder.exists():
        fsync_dir(folder)
    return closing


def unseal(ws: Workspace, session_id: int, identity_file: Path) -> int:
    """Open a sealed session again with the association's key: its takes and its whole
    transcript come back (the transcript as it was when it was sealed). Returns the takes."""
    session = sessions.get(ws, session_id)
    sealed = [t for t in session.takes if t.archived == "sealed"]
    if not sealed:
        raise InvalidInputError(f"Session {session_id} has no sealed take.", hint="Nothing to open.")
    identity = vault.load_identity(identity_file)
    folder = ws.session_dir(session_id)
    for take in sealed:
        target = ws.absolute(take.relpath)
        vault.unseal(target.with_name(target.name + ".age"), target, identity)
    transcript_file = folder / TRANSCRIPT_SEALED
    restored = folder / f".{TRANSCRIPT_SEALED}.{os.getpid()}.json"
    vault.unseal(transcript_file, restored, identity)
    try:
        data = json.loads(restored.read_text(encoding="utf-8"))
    finally:
        restored.unlink(missing_ok=True)
    with transaction(ws.conn):
        for take in session.takes:
            ws.conn.execute("DELETE FROM segments WHERE take_id = ?", (take.id,))
        for item in data["segments"]:
            segment = item["segment"]
            ws.conn.execute(
                f"INSERT INTO segments ({', '.join(segment)}) VALUES ({', '.join('?' * len(segment))})",
                list(segment.values()),
            )
            for word in item["words"]:
                ws.conn.execute(
                    f"INSERT INTO words ({', '.join(word)}) VALUES ({', '.join('?' * len(word))})",
                    list(word.values()),
                )
        ws.conn.execute("UPDATE takes SET archived = NULL WHERE session_id = ?", (session_id,))
        ws.conn.execute("UPDATE sessions SET closed_at = NULL WHERE id = ?", (session_id,))
    for take in sealed:
        target = ws.absolute(take.relpath)
        target.with_name(target.name + ".age").unlink(missing_ok=True)
    transcript_file.unlink(missing_ok=True)
    return len(sealed)
