from __future__ import annotations

from pathlib import Path

import pytest

from podcast.errors import InvalidInputError
from podcast.workspace import Workspace
from sessions import transcripts
from sessions.transcripts import Word, realign


def test_load_gives_utterances_with_pseudonyms_and_flags(ws: Workspace, sid: int) -> None:
    transcript = transcripts.load(ws, sid)
    assert [u.speaker for u in transcript.utterances] == ["Amara", "Blessing", "Amara"]
    assert transcript.complete and not transcript.reviewed
    flagged = [w.text for u in transcript.utterances for w in u.words if w.low_confidence]
    assert flagged == ["Paris"]


def test_edit_corrects_words_and_keeps_timings_but_reviewing_is_explicit(ws: Workspace, sid: int) -> None:
    text = transcripts.render_for_edit(transcripts.load(ws, sid))
    text = text.replace("three years ago", "four years ago").replace(
        "Thank you Blessing", "Thank you so much Blessing"
    )
    result = transcripts.apply_edit(ws, sid, text)
    assert (result.utterances_changed, result.speakers_changed) == (2, 0)
    after = transcripts.load(ws, sid)
    assert not after.reviewed, "saving is not reviewing"
    blessing = after.utterances[1]
    assert blessing.text == "I arrived in Paris four years ago"
    assert [w.start_s for w in blessing.words] == pytest.approx([3.0 + 0.4 * i for i in range(7)])
    thanks = after.utterances[2]
    assert thanks.text == "Thank you so much Blessing"
    starts = [w.start_s for w in thanks.words]
    assert starts == sorted(starts) and starts[0] == pytest.approx(6.0) and starts[-1] == pytest.approx(6.8)


def test_edit_changes_speakers(ws: Workspace, sid: int) -> None:
    text = transcripts.render_for_edit(transcripts.load(ws, sid))
    lines = text.splitlines()
    lines[-1] = lines[-1].replace("Amara:", "Blessing:")
    transcripts.apply_edit(ws, sid, "\n".join(lines))
    assert [u.speaker for u in transcripts.load(ws, sid).utterances] == [
        "Amara",
        "Blessing",
        "Blessing",
    ]


def test_edit_can_mark_a_speaker_unknown(ws: Workspace, sid: int) -> None:
    text = transcripts.render_for_edit(transcripts.load(ws, sid)).replace("] Amara:", "] unknown:", 1)
    transcripts.apply_edit(ws, sid, text)
    assert transcripts.load(ws, sid).utterances[0].speaker == "unknown"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda t: t.replace("] Blessing:", "] Ghost:"), "not a participant"),
        (lambda t: t.replace("#", "", 1).replace("[0:", "0:", 1), "cannot be read"),
        (lambda t: t + "[0:00:09.0 #99999] Amara: invented\n", "unknown #99999"),
    ],
)
def test_bad_edits_change_nothing(ws: Workspace, sid: int, change: object, fragment: str) -> None:
    before = transcripts.load(ws, sid)
    text = change(transcripts.render_for_edit(before))  # type: ignore[operator]
    with pytest.raises(InvalidInputError, match=fragment):
        transcripts.apply_edit(ws, sid, text)
    assert transcripts.load(ws, sid) == before


def test_realign_spreads_new_words_over_replaced_time() -> None:
    old = [Word(i, float(i), i + 0.5, t, 0.9) for i, t in enumerate(["a", "b", "c"])]
    out = realign(old, ["a", "x", "y", "c"])
    assert [w[2] for w in out] == ["a", "x", "y", "c"]
    assert out[1][0] == pytest.approx(1.0) and out[2][0] == pytest.approx(1.25)
    assert realign(old, ["a", "c"]) == [(0.0, 0.5, "a", 0.9), (2.0, 2.5, "c", 0.9)]


def test_export_formats(ws: Workspace, sid: int) -> None:
    vtt = transcripts.export(ws, sid, "vtt")
    assert vtt.startswith("WEBVTT") and "<v Blessing>I arrived in Paris" in vtt
    assert "Blessing: I arrived" in transcripts.export(ws, sid, "srt")
    with pytest.raises(InvalidInputError, match="Unknown format"):
        transcripts.export(ws, sid, "docx")


def test_untranscribed_session_cannot_be_edited_or_exported(ws: Workspace, sid: int, tmp_path: Path) -> None:
    from sessions import sessions

    other = sessions.create(ws, "Empty", ["Amara"])
    with pytest.raises(InvalidInputError, match="not fully transcribed"):
        transcripts.export(ws, other.id, "vtt")


def test_saving_unchanged_marks_nothing_and_review_is_a_separate_step(ws: Workspace, sid: int) -> None:
    result = transcripts.apply_edit(ws, sid, transcripts.render_for_edit(transcripts.load(ws, sid)))
    assert result == transcripts.EditResult(0, 0, 0, 0)
    assert not transcripts.load(ws, sid).reviewed
    transcripts.mark_reviewed(ws, sid)
    assert transcripts.load(ws, sid).reviewed


def test_deleting_a_line_deletes_it_and_keeps_the_other_numbers(ws: Workspace, sid: int) -> None:
    before = transcripts.load(ws, sid)
    lines = transcripts.render_for_edit(before).splitlines()
    blessing = next(i for i, line in enumerate(lines) if "] Blessing:" in line)
    result = transcripts.apply_edit(ws, sid, "\n".join(lines[:blessing] + lines[blessing + 1 :]))
    after = transcripts.load(ws, sid)
    assert result.lines_deleted == 1 and [u.speaker for u in after.utterances] == ["Amara", "Amara"]
    assert [u.key for u in after.utterances] == [before.utterances[0].key, before.utterances[2].key]


def test_an_edit_with_no_line_left_is_refused(ws: Workspace, sid: int) -> None:
    with pytest.raises(InvalidInputError, match="no line left"):
        transcripts.apply_edit(ws, sid, "# only comments\n\n")
    assert len(transcripts.load(ws, sid).utterances) == 3


def test_a_sound_in_brackets_is_not_speech_over_one_word_or_a_few() -> None:
    from sessions.transcripts import non_speech

    said = "I told her [laughs softly] and then (sighs). *laughter* she said [ok yes"
    words = said.split(" ")
    assert [w for w, sound in zip(words, non_speech(words), strict=True) if sound] == [
        "[laughs",
        "softly]",
        "(sighs).",
        "*laughter*",
    ], "an unclosed bracket is read as words"
    assert non_speech(["[" + "word"] + ["more"] * 8 + ["end]"]) == [False] * 10, "too long to be a sound"
    assert non_speech([]) == []
