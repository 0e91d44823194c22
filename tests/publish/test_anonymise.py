"""Voice protection and redaction: deterministic renders, bleeps in place, secrets kept."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import parselmouth
import pytest
import soundfile as sf

from consent import decisions, fingerprint, participants, protection, sensitive
from podcast.errors import InvalidInputError
from podcast.models import ModelStore
from podcast.workspace import Workspace
from publish import anonymise, redaction
from publish.anonymise import RedactionLeak
from publish.voices import VoiceStore
from sessions import extracts, transcripts

VOICES = VoiceStore(Path("/nonexistent-data-dir"))  # only the bundled voice is needed


def _review(ws: Workspace, sid: int) -> None:
    transcripts.mark_reviewed(ws, sid)


def _band_energy(samples: np.ndarray, rate: int, low: float, high: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(spectrum[(freqs >= low) & (freqs <= high)].sum() / max(1, len(samples)))


def test_disguise_is_deterministic_differs_from_the_input_and_bleeps_in_place(
    ws: Workspace, sid: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Her voice here is a 440 Hz tone: a fixed draw whose pitch keeps its harmonics away from
    # the 1 kHz bleep (a random one can put the second harmonic on it).
    fixed = protection.DisguiseParams(1.12, 0.85, 0.8, "5eed" * 8)
    monkeypatch.setattr(protection, "draw_disguise_params", lambda: fixed)
    protection.set_mode(ws, "Blessing", "disguise", reduced=True)
    sensitive.add(ws, ["Paris"], sid)
    extract = extracts.add(ws, sid, find="arrived in paris")
    first = anonymise.render(ws, extract, voices=VOICES, models=None)
    data = first.path.read_bytes()
    rendered, rate = sf.read(str(first.path), dtype="float32")
    # Deterministic: the same content renders to the same bytes.
    first.path.unlink()
    first.path.with_suffix(".json").unlink()
    again = anonymise.render(ws, extract, voices=VOICES, models=None)
    assert again.path.read_bytes() == data and not again.cached
    assert anonymise.render(ws, extract, voices=VOICES, models=None).cached
    # Not the input.
    take = next(t for t in ws.conn.execute("SELECT relpath FROM takes"))
    original, orig_rate = sf.read(str(ws.absolute(take[0])), dtype="float32")
    start = round((extract.start_s - anonymise.PAD_S) * orig_rate)
    piece = original[start : start + len(rendered), 1]  # Blessing's channel
    assert abs(np.corrcoef(piece[: len(rendered)], rendered[: len(piece)])[0, 1]) < 0.5
    # The bleep sits on "Paris" (word 4 of her line: 3.0 + 0.4 * 3 = 4.2 s to 4.5 s) and nowhere else.
    word_start = 4.2 - extract.start_s + anonymise.PAD_S
    inside = rendered[int((word_start + 0.02) * rate) : int((word_start + 0.28) * rate)]
    before = rendered[int((word_start - 0.8) * rate) : int((word_start - 0.2) * rate)]

    def tone_share(x: np.ndarray) -> float:
        return _band_energy(x, rate, 950, 1050) / _band_energy(x, rate, 20, rate / 2)

    assert tone_share(inside) > 0.9
    assert tone_share(before) < 0.2
    line = first.lines[0]
    assert [w.text for w in line.words] == ["I", "arrived", "in", redaction.REDACTED, "three", "years", "ago"]


def test_redacted_transcripts_never_contain_a_listed_word(ws: Workspace, sid: int) -> None:
    sensitive.add(ws, ["paris", "THANK YOU"])
    _review(ws, sid)
    for query in ("arrived in paris", "thank you blessing"):
        rendering = anonymise.render(ws, extracts.add(ws, sid, find=query), voices=VOICES, models=None)
        text = " ".join(w.text for line in rendering.lines for w in line.words).lower()
        assert "paris" not in text and "thank you" not in text
        sidecar = rendering.path.with_suffix(".json").read_text().lower()
        assert "paris" not in sidecar and "thank you" not in sidecar


def test_revoice_refuses_an_unreviewed_transcript(ws: Workspace, sid: int) -> None:
    extract = extracts.add(ws, sid, find="arrived in paris")
    with pytest.raises(InvalidInputError, match="not reviewed") as info:
        anonymise.render(ws, extract, voices=VOICES, models=None)
    assert "--transcript" in (info.value.hint or "") and "transcript review" in (info.value.hint or "")
    assert list(ws.renderings_dir.iterdir()) == []
    # Checking the extract's own lines is enough; the rest of the transcript can wait.
    inside = extracts.utterances_in(transcripts.load(ws, sid), extract)
    transcripts.mark_reviewed(ws, sid, [u.key for u in inside])
    assert not transcripts.load(ws, sid).reviewed
    assert anonymise.render(ws, extract, voices=VOICES, models=None).lines


def test_unknown_speakers_cannot_be_protected(ws: Workspace, sid: int) -> None:
    text = transcripts.render_for_edit(transcripts.load(ws, sid)).replace("] Blessing:", "] unknown:")
    transcripts.apply_edit(ws, sid, text)
    extract = extracts.add(ws, sid, find="arrived in paris")
    assert not decisions.status(ws, extract).protected
    with pytest.raises(InvalidInputError, match="unknown"):
        anonymise.render(ws, extract, voices=VOICES, models=None)


def test_disguise_parameters_appear_in_no_output_and_no_log(
    ws: Workspace, sid: int, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("Amara", "Blessing"):
        protection.set_mode(ws, name, "disguise", reduced=True)
    with caplog.at_level("DEBUG"):
        for query in ("arrived in paris", "welcome everybody"):
            anonymise.render(ws, extracts.add(ws, sid, find=query), voices=VOICES, models=None)
    secrets_seen = []
    for name in ("Amara", "Blessing"):
        params = protection.disguise_params(ws, participants.get(ws, name).id)
        secrets_seen += [
            repr(params.formant_ratio),
            repr(params.pitch_ratio),
            repr(params.mcadams_alpha),
            params.salt,
            f"{params.formant_ratio:.4f}",
            f"{params.mcadams_alpha:.4f}",
        ]
    outputs = b"".join(p.read_bytes() for p in ws.renderings_dir.iterdir())
    ledger_and_logs = caplog.text
    for secret in secrets_seen:
        assert secret.encode() not in outputs
        assert secret not in ledger_and_logs
    fp = fingerprint.content(ws, extracts.list_all(ws)[0])
    assert all(secret not in json.dumps(fp.settings) for secret in secrets_seen)


def _pitch(path: Path) -> float:
    data, rate = sf.read(str(path), dtype="float64")
    pitch = parselmouth.Sound(data, sampling_frequency=rate).to_pitch()
    values = pitch.selected_array["frequency"]
    return float(np.median(values[values > 0]))


def test_each_participant_keeps_one_distinct_synthetic_voice(ws: Workspace, sid: int) -> None:
    _review(ws, sid)
    amara_1 = anonymise.render(
        ws, extracts.add(ws, sid, find="welcome everybody"), voices=VOICES, models=None
    )
    amara_2 = anonymise.render(ws, extracts.add(ws, sid, find="thank you"), voices=VOICES, models=None)
    blessing = anonymise.render(
        ws, extracts.add(ws, sid, find="arrived in paris"), voices=VOICES, models=None
    )
    a1, a2, b = _pitch(amara_1.path), _pitch(amara_2.path), _pitch(blessing.path)
    # Different sentences move the median pitch a little; a colour step (4 semitones) a lot.
    assert abs(a1 - a2) / a1 < 0.12, "her voice changed between extracts"
    assert b / max(a1, a2) > 1.15, "two participants share a voice"


def test_a_new_protection_choice_changes_the_fingerprint(ws: Workspace, sid: int) -> None:
    _review(ws, sid)
    extract = extracts.add(ws, sid, find="arrived in paris")
    unrendered = fingerprint.fingerprint(ws, extract)
    anonymise.render(ws, extract, voices=VOICES, models=None)
    revoiced = fingerprint.fingerprint(ws, extract)
    assert revoiced != unrendered and decisions.status(ws, extract).protected
    protection.set_mode(ws, "Blessing", "disguise", reduced=True)
    changed = fingerprint.fingerprint(ws, extract)
    assert changed not in (unrendered, revoiced)
    assert not decisions.status(ws, extract).protected, "needs rendering again"


@pytest.mark.slow
def test_a_word_still_audible_after_redaction_blocks_the_extract(
    tmp_path: Path, model_store: ModelStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sessions.transcribe import TranscribeOptions, transcribe_session
    from tests.sessions.test_transcribe import ENGLISH, _session
    from tests.sessions.test_transcribe import VOICES as SPEAKERS

    ws, session_id, _ = _session(tmp_path / "leak", ENGLISH[:3], SPEAKERS)
    transcribe_session(ws, session_id, model_store, TranscribeOptions(spoken_languages=("en",)))
    _review(ws, session_id)
    sensitive.add(ws, ["workshop"], session_id)
    extract = extracts.add(ws, session_id, find="coming to the workshop")
    rendering = anonymise.render(ws, extract, voices=VOICES, models=model_store)  # the check passes
    rendering.path.unlink()
    # A redaction that fails to find the word: the synthetic voice then says it clearly.
    monkeypatch.setattr(redaction, "find", lambda _words, _phrases: [])
    with pytest.raises(RedactionLeak, match="still be understood"):
        anonymise.render(ws, extract, voices=VOICES, models=model_store)
    assert not rendering.path.exists()


def test_revoice_refuses_a_line_in_a_language_its_voice_does_not_speak(
    ws: Workspace, sid: int, tmp_path: Path
) -> None:
    from sessions import editing

    transcripts.mark_reviewed(ws, sid)
    extract = extracts.add(ws, sid, find="arrived in paris")
    blessing = extracts.utterances_in(transcripts.load(ws, sid), extract)[0]
    editing.set_language(ws, sid, blessing.key, "fr")
    with pytest.raises(InvalidInputError, match="is in French") as caught:
        anonymise.render(ws, extract, voices=VOICES, models=None)
    assert "podcast voices add" in (caught.value.hint or "") and "--transcript" in (caught.value.hint or "")
    assert list(ws.renderings_dir.glob("*.wav")) == []
    # Nigerian Pidgin is read by the English voice.
    editing.set_language(ws, sid, blessing.key, "pcm")
    assert anonymise.render(ws, extract, voices=VOICES, models=None).lines
    # A rendering made before the tag was corrected is not reused for a French line.
    editing.set_language(ws, sid, blessing.key, "fr")
    with pytest.raises(InvalidInputError, match="is in French"):
        anonymise.render(ws, extract, voices=VOICES, models=None)
    # With a voice that speaks French chosen for her, the check passes.
    model = tmp_path / "fr_FR-test-medium.onnx"
    model.write_bytes(b"model")
    model.with_name(model.name + ".json").write_text(
        '{"language": {"code": "fr_FR"}, "audio": {"sample_rate": 22050}}'
    )
    store = VoiceStore(tmp_path / "data")
    store.add(model, "french")
    protection.set_mode(ws, "Blessing", "revoice", "french")
    anonymise._check_voice_languages(ws, extract, store)
    # One voice per language: her French lines read by the French voice, the others by joe.
    protection.set_mode(ws, "Blessing", "revoice", "en=joe,fr=french")
    choice = protection.get(ws, participants.get(ws, "Blessing").id)
    assert [choice.voice_for(lang) for lang in ("fr", "en", "pcm")] == ["french", "joe", "joe"]
    anonymise._check_voice_languages(ws, extract, store)
    editing.set_language(ws, sid, blessing.key, "en")
    anonymise._check_voice_languages(ws, extract, store)
    # A French voice alone cannot read her English line.
    protection.set_mode(ws, "Blessing", "revoice", "french")
    with pytest.raises(InvalidInputError, match="is in English") as caught:
        anonymise._check_voice_languages(ws, extract, store)
    assert "--voice en=NAME" in (caught.value.hint or "")
    # The digest of a single voice is what it was before voices per language (no consent lost).
    protection.set_mode(ws, "Blessing", "revoice", None)
    assert protection.digest(ws, choice.participant_id).startswith("revoice:joe:")


def test_disguise_works_only_where_she_speaks() -> None:
    """Her microphone is disguised over her own lines, not over the whole extract: a third of
    the work or less in a group, and her channel stays silent where she is silent."""
    rate = anonymise.RATE_HZ
    t = np.arange(20 * rate) / rate
    source = (0.2 * np.sin(2 * np.pi * 180 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    params = protection.DisguiseParams(1.1, 1.15, 0.85, "00112233445566778899aabbccddeeff")
    spans = [(2 * rate, 5 * rate), (12 * rate, 14 * rate)]
    own = anonymise._disguise_spans(source, spans, params)
    assert len(own) == len(source)
    assert not own[: 2 * rate].any() and not own[5 * rate : 12 * rate].any() and not own[14 * rate :].any()
    for a, b in spans:
        assert np.abs(own[a:b]).max() > 0.05
        assert not np.allclose(own[a:b], source[a:b], atol=0.01)  # changed, not copied
    assert not anonymise._disguise_spans(source, [], params).any()


def test_a_bleep_covers_the_pauses_around_a_word_whose_times_are_short() -> None:
    """The recogniser's word times can be too short for a long word: the bleep also covers the
    pause before and after it (up to 0.25 s), never the neighbouring words."""
    words = [(0.0, 0.4, "the"), (1.0, 1.24, "hospital"), (1.9, 2.2, "was"), (2.3, 2.5, "far")]
    (span,) = redaction.find(words, ["hospital"])
    assert (span.start_s, span.end_s) == (0.75, 1.49)  # 0.25 s into each pause
    close = [(0.0, 0.9, "the"), (1.0, 1.24, "hospital"), (1.3, 1.6, "was")]
    (span,) = redaction.find(close, ["hospital"])
    assert (span.start_s, span.end_s) == (0.9, 1.3)  # up to the neighbours, not into them
    (alone,) = redaction.find([(5.0, 5.3, "Paris")], ["paris"])
    assert (alone.start_s, alone.end_s) == (4.75, 5.55)


def test_retell_says_her_words_at_her_times_without_her_sound(ws: Workspace, sid: int) -> None:
    _review(ws, sid)
    sensitive.add(ws, ["Paris"], sid)
    extract = extracts.add(ws, sid, find="arrived in paris")
    revoiced = fingerprint.fingerprint(ws, extract)
    protection.set_mode(ws, "Blessing", "retell")
    assert fingerprint.fingerprint(ws, extract) != revoiced, "retell is other content, agreed again"
    rendering = anonymise.render(ws, extract, voices=VOICES, models=None)
    assert [line.mode for line in rendering.lines] == ["retell"]
    her = extracts.utterances_in(transcripts.load(ws, sid), extract)[0]
    said = [
        her.offset_s + w.start_s - extract.session_start_s + anonymise.PAD_S
        for w in her.words
        if w.text.strip(".,").lower() != "paris"
    ]
    shown = [w for w in rendering.lines[0].words if w.text != redaction.REDACTED]
    assert len(shown) == len(said)
    assert max(abs(w.start_s - t) for w, t in zip(shown, said, strict=True)) < 0.3, "at her times"
    assert redaction.REDACTED in [w.text for w in rendering.lines[0].words]
    rendered, _rate = sf.read(str(rendering.path), dtype="float32")
    take = next(t for t in ws.conn.execute("SELECT relpath FROM takes"))
    original, orig_rate = sf.read(str(ws.absolute(take[0])), dtype="float32")
    start = round((extract.start_s - anonymise.PAD_S) * orig_rate)
    piece = original[start : start + len(rendered), 1]  # Blessing's channel
    assert abs(np.corrcoef(piece[: len(rendered)], rendered[: len(piece)])[0, 1]) < 0.2, "not her sound"
    data = rendering.path.read_bytes()
    rendering.path.unlink()
    rendering.path.with_suffix(".json").unlink()
    again = anonymise.render(ws, extract, voices=VOICES, models=None)
    assert not again.cached and again.path.read_bytes() == data, "what the room heard is what is published"


def test_only_a_revoiced_extract_with_a_laugh_in_it_is_agreed_again(ws: Workspace, sid: int) -> None:
    from sessions import editing

    _review(ws, sid)
    extract = extracts.add(ws, sid, find="arrived in paris")
    line = next(
        u for u in extracts.utterances_in(transcripts.load(ws, sid), extract) if u.speaker == "Blessing"
    )
    speaker = line.speaker_id or ""
    before = dict(fingerprint.content(ws, extract).settings)[speaker]
    assert before == protection.digest(ws, speaker), "without a laugh: as before the change"
    editing.set_text(ws, sid, line.key, line.text + " [laughs]")
    transcripts.mark_reviewed(ws, sid)
    after = dict(fingerprint.content(ws, extract).settings)[speaker]
    assert after == before + ":marks-v2", "revoice no longer reads it out: other content"
