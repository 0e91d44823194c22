"""The gate as a pure function: property tests of its one rule.

A "no" never needs proof; a "yes" counts only when the checkpoint signed at its writing
covers it and the whole ledger verifies; cleared means everyone's latest counting decision is
a yes to this very fingerprint.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from consent import gate
from consent.ledger import Entry

EVENTS = st.sampled_from(["grant", "refuse", "defer", "withdraw"])
PEOPLE = "abc"
# (event, person, extract, fingerprint, confirmed by its own checkpoint)
OPS = st.lists(
    st.tuples(EVENTS, st.sampled_from(PEOPLE), st.sampled_from([1, 2]), st.sampled_from("XY"), st.booleans()),
    max_size=30,
)


def _entry(seq: int, event: str, person: str, extract: int, fp: str) -> Entry:
    return Entry(seq, "t", "p", "h", event, person, 1, extract, fp, "w", "in_room", "fr")


def evidence_of(ops: list[tuple[str, str, int, str, bool]], problems: tuple[str, ...] = ()) -> gate.Evidence:
    entries = tuple((i + 1, _entry(i + 1, e, p, x, fp)) for i, (e, p, x, fp, _c) in enumerate(ops))
    confirmed = frozenset(i + 1 for i, op in enumerate(ops) if op[4])
    return gate.Evidence(entries, confirmed, problems)


def oracle(ops: list[tuple[str, str, int, str, bool]], extract: int, fp: str, trusted: bool) -> bool:
    """The rule, written the obvious way."""
    if not trusted:
        return False
    latest: dict[str, tuple[str, str]] = {}
    for event, person, x, f, confirmed in ops:
        if x != extract or (event == "grant" and not confirmed):
            continue
        latest[person] = (event, f)
    return all(latest.get(p) == ("grant", fp) for p in PEOPLE)


@settings(max_examples=1500)
@given(OPS, st.booleans())
def test_cleared_exactly_when_the_rule_says(
    ops: list[tuple[str, str, int, str, bool]], trusted: bool
) -> None:
    found = evidence_of(ops, () if trusted else ("tampered",))
    for extract, fp in itertools.product([1, 2], "XY"):
        assert gate.is_cleared(found, extract, fp, PEOPLE) == oracle(ops, extract, fp, trusted)


@settings(max_examples=800)
@given(OPS, st.sampled_from(["refuse", "withdraw", "defer"]), st.sampled_from(PEOPLE), st.booleans())
def test_a_no_counts_at_once_without_any_proof(
    ops: list[tuple[str, str, int, str, bool]], event: str, who: str, trusted: bool
) -> None:
    # The newest entry is a "no" that no checkpoint covers, on a trusted or damaged ledger.
    found = evidence_of([*ops, (event, who, 1, "X", False)], () if trusted else ("torn tail",))
    states = gate.states(found, 1, "X", PEOPLE)
    assert states[who] == {"refuse": gate.NO, "withdraw": gate.WITHDRAWN, "defer": gate.LATER}[event]
    assert not gate.is_cleared(found, 1, "X", PEOPLE)


@settings(max_examples=800)
@given(OPS, st.sampled_from(PEOPLE), st.sampled_from([1, 2]), st.sampled_from("XY"))
def test_an_unproven_yes_never_clears_anything(
    ops: list[tuple[str, str, int, str, bool]], who: str, extract: int, fp: str
) -> None:
    # A forged grant (chain recomputed, but no key, so no checkpoint of its own).
    before = evidence_of(ops)
    after = evidence_of([*ops, ("grant", who, extract, fp, False)])
    for x, f in itertools.product([1, 2], "XY"):
        assert gate.is_cleared(after, x, f, PEOPLE) == gate.is_cleared(before, x, f, PEOPLE)


@settings(max_examples=500)
@given(OPS)
def test_a_ledger_that_does_not_verify_clears_nothing(ops: list[tuple[str, str, int, str, bool]]) -> None:
    confirmed_everything = [(e, p, x, f, True) for e, p, x, f, _ in ops]
    found = evidence_of(confirmed_everything, ("checkpoint 3 has an invalid signature",))
    for extract, fp in itertools.product([1, 2], "XY"):
        decision = gate.decide(found, gate.Snapshot(extract, fp, tuple(PEOPLE), True))
        assert not decision.cleared and not decision.publishable
        assert decision.reason == "the consent ledger does not verify"


def test_states_say_what_is_missing_without_naming_anyone_in_the_reason() -> None:
    ops = [
        ("grant", "a", 1, "X", True),
        ("grant", "b", 1, "X", False),  # written during a crash, or forged
        ("refuse", "c", 1, "X", False),
    ]
    found = evidence_of(ops)
    decision = gate.decide(found, gate.Snapshot(1, "X", tuple(PEOPLE), True))
    assert dict(decision.states) == {"a": gate.YES, "b": gate.UNCONFIRMED, "c": gate.NO}
    assert decision.reason == "not everyone agreed"
    assert found.unconfirmed_grants() == (2,)


def test_a_later_version_needs_a_new_yes_and_nobody_means_not_cleared() -> None:
    found = evidence_of([("grant", p, 1, "X", True) for p in PEOPLE])
    assert gate.is_cleared(found, 1, "X", PEOPLE)
    assert set(gate.states(found, 1, "Y", PEOPLE).values()) == {gate.OUTDATED}
    assert not gate.is_cleared(found, 1, "X", [])
    assert not gate.decide(found, gate.Snapshot(1, "X", tuple(PEOPLE), False)).publishable


def test_an_unknown_event_counts_as_a_no_and_never_crashes_the_gate() -> None:
    from consent.ledger import Entry

    odd = Entry(1, "2026-01-01T00:00:00Z", "0" * 64, "1" * 64, "grunt", "p-1", 1, 7, "f", "p-2", "room", "en")
    evidence = gate.Evidence(((1, odd),), frozenset({1}))
    assert gate.states(evidence, 7, "f", ["p-1"]) == {"p-1": gate.NO}
