"""A workspace overview for `podcast status`: sessions, their progress, what blocks publishing."""

from __future__ import annotations

from dataclasses import dataclass

from consent import checkpoints, decisions
from podcast.clock import now_iso
from podcast.workspace import Workspace
from publish import live
from publish import state as publish_state
from sessions import extracts, retention, sessions


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
class Published:
    """The show on its host, from the last deploy's manifest, and what the next deploy does."""

    target: str  # "" before any deploy target is set
    deployed: str | None  # when the last deploy finished
    live_files: int
    to_send: int
    to_delete: int
    live_not_cleared: tuple[int, ...]  # extracts live on the host that are no longer cleared


@dataclass(frozen=True)
class Overview:
    show_title: str
    sessions: tuple[SessionSummary, ...]
    blockers: tuple[str, ...]
    published: Published | None = None
    raw: tuple[str, ...] = ()  # how long raw recordings stay (retention), one line each


def raw_notes(ws: Workspace, now: str) -> tuple[str, ...]:
    """What expires when: each open session's raw takes, against the show's retention."""
    setting = ws.settings().retention
    notes = []
    for item in retention.plan(ws, now):
        size = f"{item.raw_bytes / 1e6:.0f} MB"
        if item.due:
            notes.append(
                f"Session {item.session_id}: raw takes ({size}) due to go since {item.expires_at[:10]}"  # type: ignore[index]
                f" (podcast session close {item.session_id})."
            )
        elif item.expires_at:
            notes.append(f"Session {item.session_id}: raw takes ({size}) kept until {item.expires_at[:10]}.")
        elif item.complete_at and setting == "keep":
            notes.append(
                f'Session {item.session_id}: raw takes ({size}) kept for ever (retention = "keep"); '
                f"close it when done: podcast session close {item.session_id}."
            )
        else:
            notes.append(
                f"Session {item.session_id}: raw takes ({size}) kept until its consent step is complete."
            )
    return tuple(notes)


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


def overview(ws: Workspace, now: str | None = None) -> Overview:
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
                f"Session {session.id}'s transcript is not reviewed (podcast transcript edit {session.id}, "
                f"then podcast transcript review {session.id})."
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
        blockers.append("No public base URL in podcast.toml (needed for the feed): podcast publish setup.")
    published = _published(ws, show.deploy_target, {s.extract.id: s.publishable for s in statuses})
    if published and published.live_not_cleared:
        ids = ", ".join(str(i) for i in published.live_not_cleared)
        in_folder = {x for ep in publish_state.load(ws).episodes.values() for x, _fp in ep.extracts}
        then = (
            "run 'podcast deploy' now"
            if not in_folder & set(published.live_not_cleared)
            else "run 'podcast publish', then 'podcast deploy', now"
        )
        blockers.insert(
            0,
            f"The live feed still carries extract(s) {ids}, no longer cleared "
            f"(withdrawn by a participant): {then}.",
        )
    return Overview(show.title, tuple(summaries), tuple(blockers), published, raw_notes(ws, now or now_iso()))


def _published(ws: Workspace, target: str, publishable: dict[int, bool]) -> Published | None:
    manifest = live.load_manifest(ws)
    if manifest is None and not target:
        return None
    todo = live.plan(ws, manifest if manifest and manifest.target else None)
    live_extracts = sorted({x for ids in (manifest.episodes.values() if manifest else ()) for x in ids})
    return Published(
        target,
        manifest.deployed if manifest else None,
        len(manifest.files) if manifest else 0,
        len(todo.send),
        len(todo.delete),
        tuple(x for x in live_extracts if not publishable.get(x, False)),
    )
