"""A workspace overview for `podcast status`: sessions, their progress, what blocks publishing."""

from __future__ import annotations

from dataclasses import dataclass

from podcast.workspace import Workspace
from sessions import sessions


@dataclass(frozen=True)
class SessionSummary:
    id: int
    title: str
    participants: tuple[str, ...]
    takes: int
    duration_s: float
    takes_needing_recovery: int


@dataclass(frozen=True)
class Overview:
    show_title: str
    sessions: tuple[SessionSummary, ...]
    blockers: tuple[str, ...]


def overview(ws: Workspace) -> Overview:
    """Summarise the workspace and list what stands between it and a publication."""
    show = ws.settings()
    summaries = []
    blockers = []
    for session in sessions.list_all(ws):
        recover = sum(1 for t in session.takes if t.state != "complete")
        summaries.append(
            SessionSummary(
                session.id,
                session.title,
                tuple(p.pseudonym for p in session.participants),
                len(session.takes),
                session.duration_s,
                recover,
            )
        )
        if not session.takes:
            blockers.append(f"Session {session.id} has no audio yet (record or import a take).")
        if recover:
            blockers.append(
                f"Session {session.id}: {recover} take(s) need recovery "
                f"(podcast session recover {session.id})."
            )
    if not summaries:
        blockers.append("No session yet (podcast session new TITLE --participant NAME ...).")
    if not show.base_url:
        blockers.append("No public base URL in podcast.toml (needed for the feed).")
    return Overview(show.title, tuple(summaries), tuple(blockers))
