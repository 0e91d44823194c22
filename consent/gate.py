"""The publication gate: a pure function of the ledger's entries.

An extract is cleared if and only if, for its current fingerprint, every person whose
consent it needs has a grant as her latest decision on that extract (no later refusal,
deferral or withdrawal, and no grant given to an older fingerprint only).
"""

from __future__ import annotations

from collections.abc import Iterable

from consent.ledger import Entry

YES, NO, LATER, WITHDRAWN, MISSING, OUTDATED = (
    "yes",
    "no",
    "later",
    "withdrawn",
    "missing",
    "outdated",
)


def states(
    entries: Iterable[Entry], extract_id: int, fingerprint: str, people: Iterable[str]
) -> dict[str, str]:
    """Each person's standing on an extract: yes, no, later, withdrawn, missing or outdated."""
    latest: dict[str, Entry] = {}
    for entry in sorted(entries, key=lambda e: e.seq):
        if entry.extract == extract_id:
            latest[entry.participant] = entry
    result = {}
    for person in people:
        last = latest.get(person)
        if last is None:
            result[person] = MISSING
        elif last.event == "grant":
            result[person] = YES if last.fingerprint == fingerprint else OUTDATED
        else:
            result[person] = {"refuse": NO, "defer": LATER, "withdraw": WITHDRAWN}[last.event]
    return result


def is_cleared(entries: Iterable[Entry], extract_id: int, fingerprint: str, people: Iterable[str]) -> bool:
    """True only if every person's latest decision is a grant of this very fingerprint."""
    people = list(people)
    return bool(people) and all(s == YES for s in states(entries, extract_id, fingerprint, people).values())
