"""The publication gate: one pure function decides what may be published, for every command.

The rule, stated once:

* a "no" never needs proof: a refusal, a withdrawal or a "not yet" counts the moment it is
  in the ledger, even after the last checkpoint or in a damaged ledger;
* a "yes" counts only when the checkpoint signed at the moment it was written covers it,
  and only while the whole ledger verifies (hash chain, every signed checkpoint, the pinned
  key). A grant appended by anyone without the key never has such a checkpoint;
* an extract is cleared only when every person whose consent it needs has, as her latest
  counting decision, a "yes" to its current fingerprint.

Everything that shows or acts on consent (status, consent status, the review, receipts,
episode build, publish and its audit) asks `decide`; `consent.decisions` feeds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from consent.ledger import Entry

YES, NO, LATER, WITHDRAWN, MISSING, OUTDATED, UNCONFIRMED = (
    "yes",
    "no",
    "later",
    "withdrawn",
    "missing",
    "outdated",
    "unconfirmed",
)
_REFUSALS = (NO, WITHDRAWN)
_TO_ASK = (MISSING, LATER, OUTDATED, UNCONFIRMED)
_STATE_OF_EVENT = {"refuse": NO, "defer": LATER, "withdraw": WITHDRAWN}


@dataclass(frozen=True)
class Evidence:
    """What the ledger proves, read afresh by every command.

    *entries* are the readable complete entries with their line numbers (1-based), even from
    a damaged ledger; *confirmed* holds the line numbers at which a valid checkpoint was
    signed; *problems* say why the ledger cannot be trusted (empty when it verifies).
    """

    entries: tuple[tuple[int, Entry], ...]
    confirmed: frozenset[int]
    problems: tuple[str, ...] = ()
    hint: str = ""

    @property
    def trusted(self) -> bool:
        return not self.problems

    def counts(self, line: int, entry: Entry) -> bool:
        """Whether this entry takes part in decisions (a "no" always; a "yes" only if proven)."""
        if entry.event != "grant":
            return True
        return self.trusted and line in self.confirmed

    def unconfirmed_grants(self) -> tuple[int, ...]:
        """Line numbers of grants that no checkpoint signed at their writing covers."""
        return tuple(line for line, e in self.entries if e.event == "grant" and line not in self.confirmed)


EMPTY = Evidence((), frozenset())


@dataclass(frozen=True)
class Snapshot:
    """What the gate needs to know of one extract, computed once per command."""

    extract_id: int
    fingerprint: str
    people: tuple[str, ...]  # participant IDs whose consent it needs
    protected: bool  # every voice in it rendered with a protection


@dataclass(frozen=True)
class Decision:
    """The gate's answer for one extract. Never says who refused; `states` is for the detail view."""

    extract_id: int
    fingerprint: str
    states: Mapping[str, str]  # participant ID -> yes/no/later/withdrawn/missing/outdated/unconfirmed
    protected: bool
    ledger_problems: tuple[str, ...]

    @property
    def cleared(self) -> bool:
        return not self.ledger_problems and bool(self.states) and all(s == YES for s in self.states.values())

    @property
    def publishable(self) -> bool:
        """Cleared by everyone and every voice in it protected."""
        return self.cleared and self.protected

    @property
    def refused(self) -> bool:
        return any(s in _REFUSALS for s in self.states.values())

    @property
    def answers_missing(self) -> int:
        return sum(1 for s in self.states.values() if s in _TO_ASK)

    @property
    def reason(self) -> str | None:
        """Why it may not be published, in words that never name a person (None if it may)."""
        if self.ledger_problems:
            return "the consent ledger does not verify"
        if not self.states:
            return "nobody's consent is defined for it"
        if self.refused:
            return "not everyone agreed"
        if not self.cleared:
            return f"{self.answers_missing} answer(s) missing"
        if not self.protected:
            return "its voices are not protected yet (podcast anonymise)"
        return None


def states(evidence: Evidence, extract_id: int, fingerprint: str, people: Iterable[str]) -> dict[str, str]:
    """Each person's standing on an extract under the rule above."""
    latest: dict[str, Entry] = {}
    pending: dict[str, Entry] = {}  # a grant written later than her latest counting decision
    for line, entry in evidence.entries:
        if entry.extract != extract_id:
            continue
        if evidence.counts(line, entry):
            latest[entry.participant] = entry
            pending.pop(entry.participant, None)
        else:
            pending[entry.participant] = entry
    result = {}
    for person in people:
        last = latest.get(person)
        if last is None:
            state = MISSING
        elif last.event == "grant":
            state = YES if last.fingerprint == fingerprint else OUTDATED
        else:
            # An event this version does not know (a damaged or forged line) counts as a no:
            # the gate fails closed.
            state = _STATE_OF_EVENT.get(last.event, NO)
        if person in pending and state in _TO_ASK:
            state = UNCONFIRMED
        result[person] = state
    return result


def decide(evidence: Evidence, snapshot: Snapshot) -> Decision:
    """The gate: may this extract, as it is now, be published?"""
    return Decision(
        snapshot.extract_id,
        snapshot.fingerprint,
        states(evidence, snapshot.extract_id, snapshot.fingerprint, snapshot.people),
        snapshot.protected,
        evidence.problems,
    )


def is_cleared(evidence: Evidence, extract_id: int, fingerprint: str, people: Iterable[str]) -> bool:
    """True only if every person's latest counting decision is a proven grant of this version."""
    return decide(evidence, Snapshot(extract_id, fingerprint, tuple(people), True)).cleared
