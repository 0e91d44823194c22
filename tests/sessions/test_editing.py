"""Line by line transcript changes (the workbench's domain): each one saved, undoable, in
the same history as `transcript edit`, refused over someone else's newer edit."""

from __future__ import annotations

import pytest

from consent import decisions, participants
from podcast.errors import ConflictError, InvalidInputError, NotFoundError
from podcast.workspace import Workspace
from sessions import editing, extracts, history, transcripts
from tests.sessions.transcript_data import everyone_agrees


def lines(ws: Workspace, sid: int) -> list[tuple[str, str, str]]:
    return [(u.speaker, u.language, u.text) for u in transcripts.load(ws, sid).utterances]


def line(ws: Workspace, sid: int, index: int) -> transcripts.Utterance:
    return transcripts.load(ws, sid).utterances[index]


def test_set_text_keeps_timings_and_can_be_undone(ws: Workspace, sid: int) -> None:
    before = transcripts.load(ws, sid)
    blessing = before.utterances[1]
    editing.set_text(
        ws, sid, blessing.key, "I arrived in Lagos three years ago", base=editing.revision(blessing)
    )
    after = line(ws, sid, 1)
    assert after.text == "I arrived in Lagos three years ago"
    assert after.key == blessing.key, "the line keeps its number"
    assert [w.start_s for w in after.words] == [w.start_s for w in blessing.words]
    assert "Lagos" in transcripts.export(ws, sid, "vtt")
    change = history.undo(ws, sid)
    assert change.action == "text"
    assert transcripts.load(ws, sid) == before


def test_a_stale_revision_is_refused_with_the_line_as_it_is_now(ws: Workspace, sid: int) -> None:
    blessing = line(ws, sid, 1)
    seen = editing.revision(blessing)
    editing.set_text(ws, sid, blessing.key, "first tab's words", base=seen)
    with pytest.raises(editing.LineChanged) as caught:
        editing.set_text(ws, sid, blessing.key, "second tab's words", base=seen)
    assert caught.value.current is not None and caught.value.current.text == "first tab's words"
    assert line(ws, sid, 1).text == "first tab's words", "the first edit is not lost"


def test_speaker_can_be_the_facilitator_and_not_a_stranger(ws: Workspace, sid: int) -> None:
    first = line(ws, sid, 0)
    editing.set_speaker(ws, sid, first.key, "Fatou", base=editing.revision(first))
    assert lines(ws, sid)[0][0] == "Fatou"
    participants.add(ws, "Stranger")
    with pytest.raises(InvalidInputError, match="not in session"):
        editing.set_speaker(ws, sid, first.key, "Stranger")
    editing.set_speaker(ws, sid, first.key, "unknown")
    assert lines(ws, sid)[0][0] == "unknown"


def test_split_then_merge_gives_back_the_same_words(ws: Workspace, sid: int) -> None:
    blessing = line(ws, sid, 1)
    paris = blessing.words[3]
    assert paris.text == "Paris"
    new_key = editing.split(ws, sid, blessing.key, paris.id, base=editing.revision(blessing))
    assert [text for _, _, text in lines(ws, sid)] == [
        "Welcome everybody to the workshop",
        "I arrived in",
        "Paris three years ago",
        "Thank you Blessing",
    ]
    assert line(ws, sid, 2).key == new_key == paris.id
    with pytest.raises(InvalidInputError, match="not its first"):
        editing.split(ws, sid, new_key, new_key)
    editing.merge(ws, sid, blessing.key, new_key)
    assert lines(ws, sid)[1] == ("Blessing", "en", "I arrived in Paris three years ago")


def test_merging_lines_of_two_speakers_gives_the_words_to_the_first(ws: Workspace, sid: int) -> None:
    a, b = line(ws, sid, 0), line(ws, sid, 1)
    editing.merge(ws, sid, a.key, b.key, base=editing.revision(a), next_base=editing.revision(b))
    merged = line(ws, sid, 0)
    assert merged.speaker == "Amara" and merged.text.endswith("three years ago")
    assert len(transcripts.load(ws, sid).utterances) == 2
    with pytest.raises(InvalidInputError, match="just after"):
        editing.merge(ws, sid, merged.key, merged.key)
    history.undo(ws, sid)
    assert [s for s, _, _ in lines(ws, sid)] == ["Amara", "Blessing", "Amara"]


def test_language_of_one_line_splits_its_segment_only_around_it(ws: Workspace, sid: int) -> None:
    # Put Blessing's and Amara's last words in one segment first, then tag only hers.
    b, c = line(ws, sid, 1), line(ws, sid, 2)
    editing.merge(ws, sid, b.key, c.key)
    editing.set_speaker(ws, sid, b.key, "Blessing")
    editing.split(ws, sid, b.key, c.key)
    editing.set_speaker(ws, sid, c.key, "Amara")
    editing.set_language(ws, sid, c.key, "FR")
    assert lines(ws, sid) == [
        ("Amara", "en", "Welcome everybody to the workshop"),
        ("Blessing", "en", "I arrived in Paris three years ago"),
        ("Amara", "fr", "Thank you Blessing"),
    ]
    with pytest.raises(InvalidInputError, match="language code"):
        editing.set_language(ws, sid, c.key, "français")


def test_cli_edits_and_page_edits_share_one_history(ws: Workspace, sid: int) -> None:
    original = transcripts.load(ws, sid)
    text = transcripts.render_for_edit(original).replace("three years", "two years")
    transcripts.apply_edit(ws, sid, text)
    editing.set_text(ws, sid, original.utterances[0].key, "Welcome all")
    assert history.undo(ws, sid).source == "room"
    assert history.undo(ws, sid).source == "cli"
    assert transcripts.load(ws, sid) == original
    with pytest.raises(NotFoundError, match="nothing to undo"):
        history.undo(ws, sid)


def test_undo_refuses_when_the_lines_changed_since_outside_the_history(ws: Workspace, sid: int) -> None:
    first = line(ws, sid, 0)
    editing.set_text(ws, sid, first.key, "Welcome all")
    ws.conn.execute("UPDATE words SET text = 'Hello' WHERE id = ?", (first.key,))  # e.g. a re-run
    with pytest.raises(ConflictError, match="cannot be undone"):
        history.undo(ws, sid)
    assert line(ws, sid, 0).text == "Hello all"


def test_review_is_per_line_and_never_implied_by_an_edit(ws: Workspace, sid: int) -> None:
    transcript = transcripts.load(ws, sid)
    assert len(transcripts.not_reviewed(transcript)) == 3
    editing.set_text(ws, sid, transcript.utterances[0].key, transcript.utterances[0].text)
    assert len(transcripts.not_reviewed(transcripts.load(ws, sid))) == 3
    assert transcripts.mark_reviewed(ws, sid, [transcript.utterances[0].key]) == 1
    after = transcripts.load(ws, sid)
    assert [u.reviewed for u in after.utterances] == [True, False, False] and not after.reviewed
    with pytest.raises(NotFoundError, match="Line 999"):
        transcripts.mark_reviewed(ws, sid, [999])
    transcripts.mark_reviewed(ws, sid)
    assert transcripts.load(ws, sid).reviewed
    # Words typed into a line someone already checked count as checked.
    first = line(ws, sid, 0)
    editing.set_text(ws, sid, first.key, "Welcome everybody to our workshop")
    assert transcripts.load(ws, sid).reviewed


def test_every_edit_changes_the_fingerprint_and_voids_earlier_consent(ws: Workspace, sid: int) -> None:
    transcript = transcripts.load(ws, sid)
    extract = extracts.add(ws, sid, segments=(transcript.utterances[0].key, transcript.utterances[1].key))
    seen = {decisions.status(ws, extract).fingerprint}
    everyone_agrees(ws, extract)
    a, b = line(ws, sid, 0), line(ws, sid, 1)
    for change in (
        lambda: editing.set_text(ws, sid, b.key, "I arrived in Lagos three years ago"),
        lambda: editing.set_speaker(ws, sid, b.key, "Fatou"),
        lambda: editing.split(ws, sid, b.key, line(ws, sid, 1).words[3].id),
        lambda: editing.merge(ws, sid, a.key, b.key),
    ):
        change()
        now = decisions.status(ws, extract)
        assert now.fingerprint not in seen
        assert not now.cleared and "yes" not in now.states.values()
        seen.add(now.fingerprint)


def test_find_takes_the_speakers_whole_turn_and_segments_take_exactly_the_lines(
    ws: Workspace, sid: int
) -> None:
    blessing = line(ws, sid, 1)
    editing.split(ws, sid, blessing.key, blessing.words[3].id)  # "I arrived in" | "Paris three years ago"
    extract = extracts.add(ws, sid, find="years ago")
    inside = extracts.utterances_in(transcripts.load(ws, sid), extract)
    assert [u.text for u in inside] == ["I arrived in", "Paris three years ago"]
    keys = [u.key for u in transcripts.load(ws, sid).utterances]
    only = extracts.add(ws, sid, segments=(keys[1], keys[2]))
    assert [u.speaker for u in extracts.utterances_in(transcripts.load(ws, sid), only)] == [
        "Blessing",
        "Blessing",
    ]


def test_the_displays_audio_memo_never_hides_a_changed_take(ws: Workspace, sid: int) -> None:
    import os

    import numpy as np
    import soundfile as sf

    from sessions import sessions

    keys = [u.key for u in transcripts.load(ws, sid).utterances]
    extract = extracts.add(ws, sid, segments=(keys[0], keys[1]))
    memo: dict[tuple[object, ...], str] = {}
    shown = decisions.status(ws, extract, memo=memo).fingerprint
    assert shown == decisions.status(ws, extract).fingerprint and memo
    path = ws.absolute(sessions.get(ws, sid).takes[0].relpath)
    data, rate = sf.read(str(path), always_2d=True)
    sf.write(
        str(path),
        np.flip(data, axis=1),
        rate,
        subtype=sf.info(str(path)).subtype,
        format=sf.info(str(path)).format,
    )
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert (
        decisions.status(ws, extract, memo=memo).fingerprint
        == decisions.status(ws, extract).fingerprint
        != shown
    )
