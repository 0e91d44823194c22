"""Recording decisions, withdrawing them, and the consent status of extracts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from consent import checkpoints, fingerprint, gate, participants
from consent.ledger import METHODS, Entry
from consent.participants import Participant
from podcast.errors import InvalidInputError, PodcastError
from podcast.workspace import Workspace
from sessions import extracts, sessions
from sessions.extracts import Extract
from sessions.transcripts import Transcript


class ExtractChanged(PodcastError):
    """The extract changed between being heard and being decided on; nothing was recorded."""


@dataclass(frozen=True)
class ExtractStatus:
    """One extract as this command sees it: its content, computed once, and the gate's answer."""

    extract: Extract
    content: fingerprint.ExtractContent
    people: tuple[Participant, ...]  # whose consent it needs
    decision: gate.Decision

    @property
    def fingerprint(self) -> str:
        return self.decision.fingerprint

    @property
    def states(self) -> Mapping[str, str]:
        return self.decision.states

    @property
    def protected(self) -> bool:
        return self.decision.protected

    @property
    def cleared(self) -> bool:
        return self.decision.cleared

    @property
    def publishable(self) -> bool:
        return self.decision.publishable

    @property
    def answers_missing(self) -> int:
        return self.decision.answers_missing

    @property
    def refused(self) -> bool:
        return self.decision.refused

    @property
    def reason(self) -> str | None:
        return self.decision.reason


def people_for(ws: Workspace, extract: Extract, speakers: tuple[str, ...]) -> tuple[Participant, ...]:
    """Every participant of the session, and the facilitator if she speaks in the extract."""
    session = sessions.get(ws, extract.session_id)
    people = list(session.participants)
    if session.facilitator and session.facilitator.id in speakers:
        people.append(session.facilitator)
    return tuple(people)


def status(
    ws: Workspace,
    extract: Extract,
    evidence: gate.Evidence | None = None,
    memo: fingerprint.AudioMemo | None = None,
    transcript: Transcript | None = None,
) -> ExtractStatus:
    """The gate's answer for one extract (the ledger is verified afresh unless *evidence* is given).

    *memo* (display only) remembers audio digests of unchanged take files between calls;
    *transcript* is the session's, read in the same request.
    """
    content = fingerprint.content(ws, extract, memo, transcript)
    people = people_for(ws, extract, content.speakers)
    snapshot = gate.Snapshot(
        extract.id,
        fingerprint.of_content(content, extract),
        tuple(p.id for p in people),
        content.protected,
    )
    found = evidence if evidence is not None else checkpoints.evidence(ws)
    return ExtractStatus(extract, content, people, gate.decide(found, snapshot))


def statuses(
    ws: Workspace,
    items: Iterable[Extract],
    evidence: gate.Evidence | None = None,
    memo: fingerprint.AudioMemo | None = None,
    transcript: Transcript | None = None,
) -> list[ExtractStatus]:
    """The gate's answers for several extracts, on one reading of the ledger."""
    found = evidence if evidence is not None else checkpoints.evidence(ws)
    return [status(ws, e, found, memo, transcript) for e in items]


def session_status(
    ws: Workspace,
    session_id: int | None = None,
    memo: fingerprint.AudioMemo | None = None,
    transcript: Transcript | None = None,
) -> list[ExtractStatus]:
    return statuses(ws, extracts.list_all(ws, session_id), memo=memo, transcript=transcript)


def check_method(method: str) -> str:
    if method not in METHODS:
        raise InvalidInputError(f"Unknown method {method!r}.", hint="Use one of: " + ", ".join(METHODS) + ".")
    return method


def resolve_witness(ws: Workspace, session_id: int, witness: str | None) -> Participant:
    """The witness of decisions: the named person, else the session's facilitator."""
    if witness:
        return participants.get(ws, witness)
    session = sessions.get(ws, session_id)
    if session.facilitator is None:
        raise InvalidInputError(
            f"Session {session_id} has no facilitator to witness the decisions.",
            hint="Pass --witness NAME (the facilitator's pseudonym).",
        )
    return session.facilitator


def check_language(ws: Workspace, language: str) -> str:
    """A language the show speaks (podcast.toml's language and spoken_languages), nothing free-form."""
    return participants.check_language(ws, language)


def default_language(ws: Workspace, session_id: int | None = None) -> str:
    """The language a question is put in when nobody says: the session's, else the show's."""
    if session_id is not None:
        spoken = sessions.get(ws, session_id).language
        if spoken != "auto":
            return spoken
    return ws.settings().language.split("-")[0]


def record(
    ws: Workspace,
    extract_id: int,
    person: Participant,
    event: str,
    *,
    witness: Participant,
    method: str,
    language: str,
    heard: str | None = None,
) -> Entry:
    """Record one decision on an extract, bound to its current fingerprint, and sign it.

    *heard* is the fingerprint of what she heard (the review passes it): if the extract changed
    since, nothing is written and ReviewChanged is raised.
    """
    extract = extracts.get(ws, extract_id)
    item = status(ws, extract, gate.EMPTY)
    if person.id not in {p.id for p in item.people}:
        raise InvalidInputError(
            f"{person.pseudonym} is not part of session {extract.session_id}.",
            hint="Only the session's participants decide on its extracts.",
        )
    if heard is not None and heard != item.fingerprint:
        raise ExtractChanged(
            f"Extract {extract.id} changed since it was played.",
            hint="Play it again so that everyone hears the current version.",
        )
    return checkpoints.record(
        ws,
        event=event,
        participant=person.id,
        session=extract.session_id,
        extract=extract.id,
        fingerprint=item.fingerprint,
        witness=witness.id,
        method=check_method(method),
        language=check_language(ws, language),
    )


def withdraw(
    ws: Workspace,
    person: Participant,
    *,
    extract_id: int | None = None,
    session_id: int | None = None,
    everything: bool = False,
    witness: Participant | None = None,
    method: str = "in_room",
    language: str | None = None,
) -> list[Entry]:
    """Withdraw her consent from one extract, a whole session, or everything she agreed to.

    Every extract where her latest decision is a grant, proven or not, is touched (a "no" needs
    no proof, so withdrawing works even on a damaged ledger). Takes effect at the next
    publish, which re-cuts the affected episodes.
    """
    if sum([extract_id is not None, session_id is not None, everything]) != 1:
        raise InvalidInputError("Say what to withdraw from.", hint="Use --extract ID, --session ID or --all.")
    targets = [extracts.get(ws, extract_id)] if extract_id is not None else extracts.list_all(ws, session_id)
    spoken = check_language(ws, language or default_language(ws, session_id))
    found = checkpoints.evidence(ws)
    # Every grant counts here, proven or not: withdrawing must never depend on proof.
    every_grant = gate.Evidence(found.entries, frozenset(line for line, _ in found.entries))
    written = []
    for extract in targets:
        states = gate.states(every_grant, extract.id, "", [person.id])
        if states[person.id] not in (gate.YES, gate.OUTDATED):
            continue
        current = fingerprint.fingerprint(ws, extract)
        written.append(
            checkpoints.record(
                ws,
                event="withdraw",
                participant=person.id,
                session=extract.session_id,
                extract=extract.id,
                fingerprint=current,
                witness=(witness or person).id,
                method=check_method(method),
                language=spoken,
            )
        )
    return written
