"""A workspace overview for `podcast status`: sessions, their progress, what blocks publishing."""

from __future__ import annotations

from dataclasses import dataclass

from consent import checkpoints, decisions
from podcast.workspace import Workspace
from sessions import extracts, sessions


@dataclass(frozen=True)
class SessionSummary:
    id: int
    title: str
    participants: tuple[str, ...]
    takes: int
    duration_s: float
    takes_needing_recovery: int
    transcript: str  # "none", "partial", "done" or "reviewed"
    extracts: int
    extracts_cleared: int


@dataclass(frozen=True)
class Overview:
    show_title: str
    sessions: tuple[SessionSummary, ...]
    blockers: tuple[str, ...]


def _transcript_state(ws: Workspace, take_ids: list[int]) -> str:
    if not take_ids:
        return "none"
    marks = ",".join("?" * len(take_ids))
    rows = ws.conn.execute(
        f"SELECT status, reviewed_at FROM transcripts WHERE take_id IN ({marks})", take_ids
    ).fetchall()
    done = [r for r in rows if r["status"] == "done"]
    if len(done) < len(take_ids):
        return "partial" if rows else "none"
    return "reviewed" if all(r["reviewed_at"] for r in done) else "done"


def overview(ws: Workspace) -> Overview:
    """Summarise the workspace and list what stands between it and a publication."""
    show = ws.settings()
    summaries = []
    blockers = []
    found = checkpoints.evidence(ws)
    statuses = decisions.statuses(ws, extracts.list_all(ws), found)
    if not found.trusted:
        blockers.append(
            f"The consent ledger does not verify ({found.problems[0]}): nothing can be published. "
            + found.hint
        )
    for session in sessions.list_all(ws):
        recover = sum(1 for t in session.takes if t.state != "complete")
        own = [s for s in statuses if s.extract.session_id == session.id]
        summaries.append(
            SessionSummary(
                session.id,
                session.title,
                tuple(p.pseudonym for p in session.participants),
                len(session.takes),
                session.duration_s,
                recover,
                _transcript_state(ws, [t.id for t in session.takes]),
                len(own),
                sum(1 for s in own if s.cleared),
            )
        )
        if not session.takes:
            blockers.append(f"Session {session.id} has no audio yet (record or import a take).")
        elif summaries[-1].transcript in ("none", "partial"):
            blockers.append(f"Session {session.id} is not transcribed (podcast transcribe {session.id}).")
        elif summaries[-1].transcript == "done":
            blockers.append(
                f"Session {session.id}'s transcript is not reviewed (podcast transcript edit {session.id})."
            )
        if recover:
            blockers.append(
                f"Session {session.id}: {recover} take(s) need recovery "
                f"(podcast session recover {session.id})."
            )
        for item in own:
            label = f"Extract {item.extract.id} (session {session.id})"
            if item.decision.ledger_problems:
                continue  # said once above
            if item.refused:
                blockers.append(f"{label} is blocked: not everyone agreed.")
            elif not item.cleared:
                blockers.append(
                    f"{label}: {item.answers_missing} answer(s) missing (podcast consent review)."
                )
            elif not item.protected:
                blockers.append(f"{label} is cleared, but its voices are not protected yet.")
    if not summaries:
        blockers.append("No session yet (podcast session new TITLE --participant NAME ...).")
    if not show.base_url:
        blockers.append("No public base URL in podcast.toml (needed for the feed).")
    return Overview(show.title, tuple(summaries), tuple(blockers))
