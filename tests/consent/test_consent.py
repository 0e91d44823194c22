"""Extracts, fingerprints, the gate, decisions, withdrawal and the review step."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent import (
    checkpoints,
    decisions,
    fingerprint,
    participants,
    protection,
    receipt,
    review,
    sensitive,
)
from consent.review import Answer, ExtractView, ReviewStopped
from podcast.errors import InvalidInputError
from podcast.workspace import Workspace
from sessions import extracts, transcripts

# --- extracts -------------------------------------------------------------------------------


def test_extract_by_phrase_snaps_to_word_edges(ws: Workspace, sid: int) -> None:
    extract = extracts.add(ws, sid, find="arrived in paris")
    # Blessing's line: words from 3.0 s to 3.0 + 0.4 * 6 + 0.3 = 5.7 s; neighbours end at 2.7 s
    # and start at 6.0 s, so the margins stop half-way into the pauses.
    assert extract.start_s == pytest.approx(2.85)
    assert extract.end_s == pytest.approx(5.85)
    lines = extracts.utterances_in(transcripts.load(ws, sid), extract)
    assert [(u.speaker, u.text) for u in lines] == [("Blessing", "I arrived in Paris three years ago")]


def test_extract_by_times_and_by_segments(ws: Workspace, sid: int) -> None:
    by_time = extracts.add(ws, sid, from_s=3.5, to_s=6.5, title="Arrival")
    assert by_time.title == "Arrival"
    assert by_time.start_s == pytest.approx(3.35)  # snapped to the start of "arrived"
    lines = transcripts.load(ws, sid).utterances
    by_lines = extracts.add(ws, sid, segments=(lines[1].key, lines[2].key))
    spoken = [u.text for u in extracts.utterances_in(transcripts.load(ws, sid), by_lines)]
    assert spoken == ["I arrived in Paris three years ago", "Thank you Blessing"]


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"find": "not said at all"}, "not in the transcript"),
        ({"find": "welcome"}, None),
        ({"segments": (3, 999)}, "does not exist"),
        ({"from_s": 20.0, "to_s": 30.0}, "No speech"),
        ({"from_s": 5.0, "to_s": 4.0}, "before the start"),
        ({}, "one way"),
        ({"find": "a", "segments": (1, 1)}, "one way"),
    ],
)
def test_bad_extract_requests(
    ws: Workspace, sid: int, kwargs: dict[str, object], fragment: str | None
) -> None:
    if fragment is None:
        extracts.add(ws, sid, **kwargs)  # type: ignore[arg-type]
        return
    with pytest.raises(InvalidInputError, match=fragment):
        extracts.add(ws, sid, **kwargs)  # type: ignore[arg-type]


def test_clock_parsing() -> None:
    assert extracts.parse_clock("12:03") == 723
    assert extracts.parse_clock("1:02:03.5") == 3723.5
    assert extracts.parse_clock("42.5") == 42.5
    with pytest.raises(InvalidInputError):
        extracts.parse_clock("soon")


# --- fingerprints ---------------------------------------------------------------------------


def test_fingerprint_changes_with_transcript_redactions_and_range(ws: Workspace, sid: int) -> None:
    extract = extracts.add(ws, sid, find="arrived in paris")
    first = fingerprint.fingerprint(ws, extract)
    assert fingerprint.fingerprint(ws, extract) == first, "deterministic"
    sensitive.add(ws, ["Paris"], sid)
    second = fingerprint.fingerprint(ws, extract)
    assert second != first
    text = transcripts.render_for_edit(transcripts.load(ws, sid)).replace("three years", "four years")
    transcripts.apply_edit(ws, sid, text)
    third = fingerprint.fingerprint(ws, extract)
    assert third not in (first, second)
    wider = extracts.add(ws, sid, from_s=2.0, to_s=6.5)
    assert fingerprint.fingerprint(ws, wider) != third


def test_correcting_a_lines_language_changes_what_she_agreed_to_only_if_another_voice_reads_it(
    ws: Workspace, sid: int
) -> None:
    """With one synthetic voice per language, the line's language chooses the voice that
    reads it: correcting it makes other audio, so the extract must be agreed again. With one
    voice, the language changes nothing she hears (a language it does not speak is refused)."""
    from sessions import editing

    extract = extracts.add(ws, sid, find="arrived in paris")
    line = next(u for u in transcripts.load(ws, sid).utterances if "Paris" in u.text)
    assert line.speaker_id
    protection.set_mode(ws, line.speaker, "revoice", "joe")
    one_voice = fingerprint.fingerprint(ws, extract)
    editing.set_language(ws, sid, line.key, "pcm", source="cli")  # Pidgin: her English voice
    assert fingerprint.fingerprint(ws, extract) == one_voice
    protection.set_mode(ws, line.speaker, "revoice", "en=joe,fr=mb-fr1")
    english = fingerprint.fingerprint(ws, extract)
    assert english != one_voice  # another choice of protection
    editing.set_language(ws, sid, line.key, "en", source="cli")
    assert fingerprint.fingerprint(ws, extract) == english  # Pidgin and English: the same voice
    editing.set_language(ws, sid, line.key, "fr", source="cli")
    assert fingerprint.fingerprint(ws, extract) != english  # now read by her French voice


def test_unprotected_extracts_are_never_publishable(ws: Workspace, sid: int) -> None:
    extract = extracts.add(ws, sid, find="arrived in paris")
    fatou = participants.get(ws, "Fatou")
    for name in ("Amara", "Blessing"):
        decisions.record(
            ws,
            extract.id,
            participants.get(ws, name),
            "grant",
            witness=fatou,
            method="in_room",
            language="en",
        )
    item = decisions.status(ws, extract)
    assert item.cleared and not item.protected and not item.publishable


# --- the gate -------------------------------------------------------------------------------

EVENTS = st.sampled_from(["grant", "refuse", "defer", "withdraw"])


# A random story on a real workspace: decisions, transcript edits and redaction changes.
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("decide"), EVENTS, st.sampled_from(["Amara", "Blessing"]), st.sampled_from([0, 1])),
        st.tuples(st.just("edit"), st.sampled_from(["years", "months", "days"]), st.just(""), st.just(0)),
        st.tuples(st.just("redact"), st.sampled_from(["Paris", "Blessing"]), st.just(""), st.just(0)),
        st.tuples(st.just("unredact"), st.sampled_from(["Paris", "Blessing"]), st.just(""), st.just(0)),
    ),
    max_size=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(OPS)
def test_no_extract_is_ever_cleared_without_every_latest_grant_for_its_current_fingerprint(
    ws: Workspace, sid: int, ops: list[tuple[str, str, str, int]]
) -> None:
    ws.conn.execute("DELETE FROM extracts")
    ws.conn.execute("DELETE FROM redactions")
    # A fresh consent record for each story: ledger, checkpoints, key and pin all go together.
    checkpoints.ledger(ws).path.unlink(missing_ok=True)
    (ws.consent_dir / "checkpoints.jsonl").unlink(missing_ok=True)
    (ws.keys_dir / checkpoints.KEY_FILE).unlink(missing_ok=True)
    ws.conn.execute("DELETE FROM consent_anchor")
    items = [extracts.add(ws, sid, find="arrived in paris"), extracts.add(ws, sid, find="thank you")]
    fatou = participants.get(ws, "Fatou")
    for op, arg, who, which in ops:
        if op == "decide":
            event = arg
            decisions.record(
                ws,
                items[which].id,
                participants.get(ws, who),
                event,
                witness=fatou,
                method="in_room",
                language="en",
            )
        elif op == "edit":
            text = transcripts.render_for_edit(transcripts.load(ws, sid))
            text = text.replace("three years", f"three {arg}").replace("three months", f"three {arg}")
            text = text.replace("three days", f"three {arg}")
            transcripts.apply_edit(ws, sid, text)
        elif op == "redact":
            sensitive.add(ws, [arg], sid)
        else:
            ws.conn.execute("DELETE FROM redactions WHERE phrase = ?", (arg,))
        entries = checkpoints.ledger(ws).entries()
        for extract in items:
            item = decisions.status(ws, extract)
            current = fingerprint.fingerprint(ws, extract)
            latest = {e.participant: e for e in entries if e.extract == extract.id}
            if item.cleared:
                for person in item.people:
                    assert latest[person.id].event == "grant"
                    assert latest[person.id].fingerprint == current


# --- decisions, withdrawal, review ---------------------------------------------------------


class Scripted:
    """Answers from a list; an exhausted script behaves like a closed stdin."""

    def __init__(self, answers: list[Answer]) -> None:
        self.answers = list(answers)
        self.shown: list[ExtractView] = []
        self.asked: list[str] = []

    def show(self, view: ExtractView, number: int, total: int) -> None:
        self.shown.append(view)

    def ask(self, person: participants.Participant, view: ExtractView) -> Answer:
        self.asked.append(person.pseudonym)
        if not self.answers:
            raise ReviewStopped("no more answers", hint="run again")
        return self.answers.pop(0)


def test_review_records_every_answer_and_signs_a_checkpoint(ws: Workspace, sid: int) -> None:
    one = extracts.add(ws, sid, find="arrived in paris")
    two = extracts.add(ws, sid, find="thank you")
    prompter = Scripted([Answer.YES, Answer.YES, Answer.YES, Answer.NO])
    fatou = participants.get(ws, "Fatou")
    result = review.run(ws, sid, prompter, witness=fatou, language="en")
    assert result.answers_recorded == 4 and result.checkpoint_count == 4
    assert [v.extract_id for v in prompter.shown] == [one.id, two.id]
    assert prompter.shown[0].lines == (("Blessing", "I arrived in Paris three years ago"),)
    assert [s.cleared for s in result.statuses] == [True, False]
    assert result.statuses[1].refused
    assert all(e.witness == fatou.id for e in checkpoints.ledger(ws).entries())
    assert checkpoints.verify(ws)[0].status == "intact"


def test_an_interrupted_review_keeps_its_answers_and_asks_only_the_rest(ws: Workspace, sid: int) -> None:
    extracts.add(ws, sid, find="arrived in paris")
    fatou = participants.get(ws, "Fatou")
    with pytest.raises(ReviewStopped):
        review.run(ws, sid, Scripted([Answer.YES]), witness=fatou)
    assert len(checkpoints.ledger(ws).entries()) == 1
    assert checkpoints.verify(ws)[1] is not None, "a checkpoint is signed even when stopped"
    again = Scripted([Answer.YES])
    result = review.run(ws, sid, again, witness=fatou)
    assert again.asked == ["Blessing"] and result.statuses[0].cleared


def test_a_changed_extract_must_be_heard_again(ws: Workspace, sid: int) -> None:
    extract = extracts.add(ws, sid, find="arrived in paris")
    fatou = participants.get(ws, "Fatou")
    review.run(ws, sid, Scripted([Answer.YES, Answer.YES]), witness=fatou)
    assert decisions.status(ws, extract).cleared
    sensitive.add(ws, ["Paris"])
    item = decisions.status(ws, extract)
    assert not item.cleared and set(item.states.values()) == {"outdated"}


def test_a_new_disguise_method_must_be_heard_again(
    ws: Workspace, sid: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # She approved audio made by one version of the disguise transform; a toolkit upgrade that
    # changes the transform changes what would be published, so her grant no longer applies.
    protection.set_mode(ws, "Blessing", "disguise", reduced=True)
    extract = extracts.add(ws, sid, find="arrived in paris")
    review.run(ws, sid, Scripted([Answer.YES, Answer.YES]), witness=participants.get(ws, "Fatou"))
    assert decisions.status(ws, extract).cleared
    monkeypatch.setattr(protection, "DISGUISE_METHOD", protection.DISGUISE_METHOD + 1)
    item = decisions.status(ws, extract)
    assert not item.cleared and set(item.states.values()) == {"outdated"}


def test_facilitator_who_speaks_must_consent_too(ws: Workspace, sid: int) -> None:
    extract = extracts.add(ws, sid, find="thank you")
    text = transcripts.render_for_edit(transcripts.load(ws, sid))
    lines = text.splitlines()
    lines[-1] = lines[-1].replace("Amara:", "Fatou:")
    transcripts.apply_edit(ws, sid, "\n".join(lines))
    people = [p.pseudonym for p in decisions.status(ws, extract).people]
    assert people == ["Amara", "Blessing", "Fatou"]


def test_withdrawal_blocks_again_and_only_touches_her_grants(ws: Workspace, sid: int) -> None:
    one = extracts.add(ws, sid, find="arrived in paris")
    two = extracts.add(ws, sid, find="thank you")
    fatou = participants.get(ws, "Fatou")
    review.run(ws, sid, Scripted([Answer.YES, Answer.YES, Answer.NO, Answer.YES]), witness=fatou)
    amara = participants.get(ws, "Amara")
    written = decisions.withdraw(ws, amara, session_id=sid)
    assert [e.extract for e in written] == [one.id]  # she had refused extract two already
    assert not decisions.status(ws, one).cleared
    assert decisions.status(ws, one).states[amara.id] == "withdrawn"
    assert decisions.withdraw(ws, amara, everything=True) == []
    with pytest.raises(InvalidInputError):
        decisions.withdraw(ws, amara)
    assert decisions.status(ws, two).refused


def test_outsiders_cannot_decide(ws: Workspace, sid: int) -> None:
    extract = extracts.add(ws, sid, find="arrived in paris")
    stranger = participants.add(ws, "Zed")
    with pytest.raises(InvalidInputError, match="not part of session"):
        decisions.record(
            ws,
            extract.id,
            stranger,
            "grant",
            witness=participants.get(ws, "Fatou"),
            method="in_room",
            language="en",
        )


def test_receipt_lists_decisions_by_pseudonym_with_the_checkpoint(ws: Workspace, sid: int) -> None:
    extracts.add(ws, sid, find="arrived in paris")
    review.run(ws, sid, Scripted([Answer.YES, Answer.NO]), witness=participants.get(ws, "Fatou"))
    item = receipt.build(ws, sid)
    assert "Amara" in item.text and "BLOCKED" in item.text and "signature" in item.text
    assert item.html.startswith("<!DOCTYPE html>") and "http" not in item.html.split("<body>")[1]


def test_ledger_holds_no_pseudonym_or_transcript_text(ws: Workspace, sid: int) -> None:
    extracts.add(ws, sid, find="arrived in paris")
    review.run(ws, sid, Scripted([Answer.YES, Answer.NO]), witness=participants.get(ws, "Fatou"))
    data = checkpoints.ledger(ws).read_bytes().decode().lower()
    for text in ("amara", "blessing", "fatou", "paris", "arrived", "edit me"):
        assert text not in data
