"""Recording decisions, withdrawing them, and the consent status of extracts."""

from __future__ import annotations

from dataclasses import dataclass

from consent import checkpoints, fingerprint, gate, participants
from consent.ledger import METHODS, Entry
from consent.participants import Participant
from podcast.errors import InvalidInputError
from podcast.workspace import Workspace
from sessions import extracts, sessions
from sessions.extracts import Extract


@dataclass(frozen=True)
class ExtractStatus:
    extract: Extract
    fingerprint: str
    people: tuple[Participant, ...]  # whose consent it needs
    states: dict[str, str]  # participant ID -> yes/no/later/withdrawn/missing/outdated
    protected: bool

    @property
    def cleared(self) -> bool:
        return bool(self.people) and all(s == gate.YES for s in self.states.values())

    @property
    def publishable(self) -> bool:
        """Cleared by everyone and every voice in it protected."""
        return self.cleared and self.protected

    @property
    def answers_missing(self) -> int:
        return sum(1 for s in self.states.values() if s in (gate.MISSING, gate.LATER, gate.OUTDATED))

    @property
    def refused(self) -> bool:
        return any(s in (gate.NO, gate.WITHDRAWN) for s in self.states.values())


def people_for(ws: Workspace, extract: Extract, speakers: tuple[str, ...]) -> tuple[Participant, ...]:
    """Every participant of the session, and the facilitator if she speaks in the extract."""
    session = sessions.get(ws, extract.session_id)
    people = list(session.participants)
    if session.facilitator and session.facilitator.id in speakers:
        people.append(session.facilitator)
    return tuple(people)


def status(ws: Workspace, extract: Extract, entries: list[Entry] | None = None) -> ExtractStatus:
    content = fingerprint.content(ws, extract)
    current = fingerprint.of_content(content, extract)
    people = people_for(ws, extract, content.speakers)
    known = entries if entries is not None else checkpoints.ledger(ws).entries()
    return ExtractStatus(
        extract,
        current,
        people,
        gate.states(known, extract.id, current, [p.id for p in people]),
        content.protected,
    )


def session_status(ws: Workspace, session_id: int | None = None) -> list[ExtractStatus]:
    entries = checkpoints.ledger(ws).entries()
    return [status(ws, e, entries) for e in extracts.list_all(ws, session_id)]


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


def record(
    ws: Workspace,
    extract_id: int,
    person: Participant,
    event: str,
    *,
    witness: Participant,
    method: str,
    language: str,
) -> Entry:
    """Record one decision on an extract, bound to its current fingerprint."""
    extract = extracts.get(ws, extract_id)
    item = status(ws, extract)
    if person.id not in {p.id for p in item.people}:
        raise InvalidInputError(
            f"{person.pseudonym} is not part of session {extract.session_id}.",
            hint="Only the session's participants decide on its extracts.",
        )
    return checkpoints.ledger(ws).append(
        event=event,
        participant=person.id,
        session=extract.session_id,
        extract=extract.id,
        fingerprint=item.fingerprint,
        witness=witness.id,
        method=check_method(method),
        language=language,
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
    language: str = "fr",
) -> list[Entry]:
    """Withdraw her consent from one extract, a whole session, or everything she agreed to.

    Only extracts where her latest decision is a grant are touched. Takes effect at the
    next publish, which re-cuts the affected episodes.
    """
    if sum([extract_id is not None, session_id is not None, everything]) != 1:
        raise InvalidInputError("Say what to withdraw from.", hint="Use --extract ID, --session ID or --all.")
    targets = [extracts.get(ws, extract_id)] if extract_id is not None else extracts.list_all(ws, session_id)
    ledger = checkpoints.ledger(ws)
    entries = ledger.entries()
    written = []
    for extract in targets:
        states = gate.states(entries, extract.id, "", [person.id])
        latest_is_grant = states[person.id] in (gate.YES, gate.OUTDATED)
        if not latest_is_grant:
            continue
        current = fingerprint.fingerprint(ws, extract)
        written.append(
            ledger.append(
                event="withdraw",
                participant=person.id,
                session=extract.session_id,
                extract=extract.id,
                fingerprint=current,
                witness=(witness or person).id,
                method=check_method(method),
                language=language,
            )
        )
    checkpoints.sign(ws)
    return written
