"""The group consent step: extract by extract, every participant says yes, no or not yet.

Questions go through a `Prompter` (the CLI implements it with large, simple screens; tests
pass scripted answers). Each answer is written to the ledger, with a signed checkpoint of
its own, the moment it is given; a review stopped half-way keeps every answer given.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Protocol

from consent import checkpoints, decisions, participants, protection
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
    content = status.content
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
    language: str | None = None,
    extract_ids: list[int] | None = None,
) -> ReviewResult:
    """Review a session's extracts with the group. Only missing or outdated answers are asked.

    Each answer is recorded in the language she is asked in (hers, see
    `participants.language_of`) unless *language* says all questions were put in one.
    """
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
    # Each person is asked in her own language unless the facilitator says otherwise.
    forced = decisions.check_language(ws, language) if language else None
    recorded = 0
    for number, item in enumerate(items, start=1):
        view = view_of(ws, item)
        prompter.show(view, number, len(items))
        for person in item.people:
            if item.states.get(person.id) == "yes":
                continue
            answer = prompter.ask(person, view)
            try:
                # Bound to what she heard: if the extract changed meanwhile, nothing is written.
                decisions.record(
                    ws,
                    item.extract.id,
                    person,
                    answer.value,
                    witness=witness,
                    method=method,
                    language=forced or participants.language_of(ws, person),
                    heard=view.fingerprint,
                )
            except decisions.ExtractChanged:
                raise ReviewStopped(
                    f"Extract {item.extract.id} changed during the review.",
                    hint="Run the review again so that everyone hears the current version.",
                ) from None
            recorded += 1
    final = tuple(decisions.session_status(ws, session_id))
    if extract_ids is not None:
        final = tuple(s for s in final if s.extract.id in set(extract_ids))
    pinned = checkpoints.anchor(ws)
    return ReviewResult(session_id, final, recorded, pinned.count if pinned else 0)


# -- the review room (podcast room): what the group may see, and whom to ask -----------------

GROUP_CLEARED, GROUP_BLOCKED, GROUP_WAITING = "cleared", "blocked", "waiting"


def group_state(status: ExtractStatus) -> str:
    """What the whole group may see of an extract: cleared, blocked or waiting, never who.

    A refusal shows as "blocked" only once nobody is left to answer, so the shared screen
    never tells the room what the person who just answered said.
    """
    if status.cleared:
        return GROUP_CLEARED
    if status.answers_missing or not status.states:
        return GROUP_WAITING
    return GROUP_BLOCKED


def round_of(status: ExtractStatus) -> tuple[Participant, ...]:
    """Everyone whose consent the extract needs, in the session's order, asked every round.

    Asking only those who have not said yes would show the room who has not: so in the room
    everyone is asked each time (a new yes to the same version changes nothing).
    """
    return status.people


def answer(
    ws: Workspace,
    extract_id: int,
    person: Participant,
    reply: Answer,
    *,
    heard: str,
    witness: Participant,
) -> None:
    """Record her answer given in the room, in her language, bound to the version she heard.

    Raises ExtractChanged (nothing written) if the extract changed since it was played.
    """
    decisions.record(
        ws,
        extract_id,
        person,
        reply.value,
        witness=witness,
        method="room",
        language=participants.language_of(ws, person),
        heard=heard,
    )
