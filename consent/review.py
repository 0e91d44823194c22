"""The group consent step: extract by extract, every participant says yes, no or not yet.

Questions go through a `Prompter` (the CLI implements it with large, simple screens; tests
pass scripted answers). Each answer is written to the ledger the moment it is given; a
signed checkpoint closes the review, even if it stops half-way.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Protocol

from consent import checkpoints, decisions, fingerprint, participants, protection
from consent.decisions import ExtractStatus
from consent.participants import Participant
from podcast.errors import InvalidInputError, PodcastError
from podcast.workspace import Workspace
from sessions import extracts, sessions, transcripts


class Answer(Enum):
    YES = "grant"
    NO = "refuse"
    LATER = "defer"


class ReviewStopped(PodcastError):
    """The review was interrupted (e.g. no more input); answers given so far are kept."""


@dataclass(frozen=True)
class ExtractView:
    """What the room sees and hears for one extract (pseudonyms only)."""

    extract_id: int
    title: str
    duration_s: float
    lines: tuple[tuple[str, str], ...]  # (pseudonym, text)
    protected: bool
    fingerprint: str
    rendering: Path | None  # the protected audio the room hears, once rendered
    disguised: tuple[str, ...] = ()  # pseudonyms of the speakers whose voice is only disguised


class Prompter(Protocol):
    def show(self, view: ExtractView, number: int, total: int) -> None:
        """Present an extract: play it to the room and show its transcript."""

    def ask(self, person: Participant, view: ExtractView) -> Answer:
        """Ask one participant; raise ReviewStopped if no answer can be had."""


@dataclass(frozen=True)
class ReviewResult:
    session_id: int
    statuses: tuple[ExtractStatus, ...]
    answers_recorded: int
    checkpoint_count: int


def view_of(ws: Workspace, status: ExtractStatus) -> ExtractView:
    extract = status.extract
    transcript = transcripts.load(ws, extract.session_id)
    utterances = extracts.utterances_in(transcript, extract)
    lines = tuple((u.speaker, u.text) for u in utterances)
    content = fingerprint.content(ws, extract)
    path = ws.renderings_dir / f"{content.render_key}.wav"
    speaker_ids = sorted({u.speaker_id for u in utterances if u.speaker_id})
    disguised = tuple(
        participants.get_by_id(ws, pid).pseudonym
        for pid in speaker_ids
        if protection.get(ws, pid).mode == "disguise"
    )
    return ExtractView(
        extract.id,
        extract.title,
        extract.duration_s,
        lines,
        status.protected,
        status.fingerprint,
        path if content.rendered else None,
        disguised,
    )


def run(
    ws: Workspace,
    session_id: int,
    prompter: Prompter,
    *,
    witness: Participant,
    method: str = "in_room",
    language: str = "fr",
    extract_ids: list[int] | None = None,
) -> ReviewResult:
    """Review a session's extracts with the group. Only missing or outdated answers are asked."""
    sessions.get(ws, session_id)
    items = decisions.session_status(ws, session_id)
    if extract_ids is not None:
        wanted = set(extract_ids)
        items = [s for s in items if s.extract.id in wanted]
    if not items:
        raise InvalidInputError(
            f"Session {session_id} has no extract to review.",
            hint=f'Define some first: podcast extract add {session_id} --find "..."',
        )
    decisions.check_method(method)
    recorded = 0
    ledger = checkpoints.ledger(ws)
    try:
        for number, item in enumerate(items, start=1):
            view = view_of(ws, item)
            prompter.show(view, number, len(items))
            for person in item.people:
                if item.states.get(person.id) == "yes":
                    continue
                answer = prompter.ask(person, view)
                # Re-read the fingerprint: nothing may have changed while she listened.
                current = fingerprint.fingerprint(ws, item.extract)
                if current != item.fingerprint:
                    raise ReviewStopped(
                        f"Extract {item.extract.id} changed during the review.",
                        hint="Run the review again so that everyone hears the current version.",
                    )
                ledger.append(
                    event=answer.value,
                    participant=person.id,
                    session=session_id,
                    extract=item.extract.id,
                    fingerprint=current,
                    witness=witness.id,
                    method=method,
                    language=language,
                )
                recorded += 1
    finally:
        checkpoint = checkpoints.sign(ws)
    final = tuple(decisions.session_status(ws, session_id))
    if extract_ids is not None:
        final = tuple(s for s in final if s.extract.id in set(extract_ids))
    return ReviewResult(session_id, final, recorded, checkpoint.count if checkpoint else 0)
