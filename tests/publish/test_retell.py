"""Retell: a synthetic voice says her words with her timing and her melody, never her sound.

Her speech is espeak-ng with a pause and a rising end; her word times come from the bundled
Whisper model, as a transcript's do; the bundled Piper voice retells it."""

from __future__ import annotations

import re

import jiwer
import numpy as np
import pytest
from scipy.signal import resample_poly

from podcast import speech
from podcast.models import ModelStore
from publish import revoice
from publish.anonymise import _spread
from publish.voices import _bundled
from sessions import whisper

pytestmark = pytest.mark.slow

RATE = 16_000
SAID = "Yesterday we walked to the old market together and the baker gave us fresh bread"
HER = (
    '<speak>Yesterday we walked to the old market together <break time="800ms"/> '
    "and the baker gave us fresh bread?</speak>"
)


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())


@pytest.fixture(scope="module")
def recogniser(model_store: ModelStore) -> whisper.Recogniser:
    return whisper.Recogniser(model_store.ready().path, allowed_languages=("en",))


def _heard(recogniser: whisper.Recogniser, audio: np.ndarray) -> list[whisper.WordResult]:
    chunks = whisper.fixed_windows(len(audio) / RATE)
    return [w for chunk in recogniser.transcribe_batch(audio, chunks, "en") for s in chunk for w in s.words]


def test_retell_keeps_her_pauses_timing_and_melody_and_is_understood(recogniser: whisper.Recogniser) -> None:
    audio, rate = speech.synthesize(HER, voice="en-us", pitch=70, speed_wpm=140, ssml=True)
    her = resample_poly(audio, RATE, rate).astype(np.float32)
    heard = _heard(recogniser, her)
    words = [(w.start_s, w.end_s, w.text) for w in heard]
    transcript = " ".join(w for _s, _e, w in words)
    assert jiwer.wer(_words(SAID), _words(transcript)) <= 0.1, "the test's own transcript"

    out, placed = revoice.retell(words, her, RATE, _bundled(), 0.0, RATE)
    again, _ = revoice.retell(words, her, RATE, _bundled(), 0.0, RATE)
    assert np.array_equal(out, again), "the same line always gives the same audio"
    assert [p.text for p in placed] == [w for _s, _e, w in words]

    # Her timing: each word where she said it (from her first word), her pause kept.
    origin = words[0][0]
    starts = np.array([p.start_s for p in placed])
    hers = np.array([s - origin for s, _e, _w in words])
    assert np.max(np.abs(starts - hers)) < 0.25, (starts, hers)
    pause = next(i for i in range(1, len(words)) if words[i][0] - words[i - 1][1] > 0.5)
    gap = (placed[pause - 1].end_s, placed[pause].start_s)
    assert gap[1] - gap[0] > 0.5
    silent = out[int((gap[0] + 0.1) * RATE) : int((gap[1] - 0.1) * RATE)]
    assert np.sqrt(np.mean(silent**2)) < 0.01 * np.max(np.abs(out)), "her pause is silence"

    # Her melody: follows her contour word by word, where plain revoice does not.
    spans = [(s, e) for s, e, _w in words]
    retold = revoice.melody_correlation(
        her, RATE, spans, out, RATE, [(p.start_s + origin, p.end_s + origin) for p in placed]
    )
    plain = revoice.speak(transcript, _bundled(), 0.0, RATE)
    placed_plain = [(w.start_s, w.end_s) for w in _spread([w for _s, _e, w in words], 0.0, len(plain) / RATE)]
    flat = revoice.melody_correlation(her, RATE, spans, plain, RATE, placed_plain)
    print(f"melody kept: retell r = {retold:.2f}, plain revoice r = {flat}")
    assert retold is not None and retold >= 0.7
    assert flat is None or flat < retold - 0.2

    # Understood: the retold line is heard back as what she said.
    back = " ".join(w.text for w in _heard(recogniser, out))
    assert jiwer.wer(_words(transcript), _words(back)) <= 0.15, back


def test_a_laugh_is_a_neutral_marker_not_her_sound_and_not_read_out(recogniser: whisper.Recogniser) -> None:
    audio, rate = speech.synthesize("I told her the news", voice="en-us", pitch=70, speed_wpm=140)
    her = resample_poly(audio, RATE, rate).astype(np.float32)
    words = [(w.start_s, w.end_s, w.text) for w in _heard(recogniser, her)]
    end = words[-1][1]
    laughing = [*words, (end + 0.3, end + 1.1, "[laughs]")]
    out, placed = revoice.retell(laughing, her, RATE, _bundled(), 0.0, RATE)
    marker = placed[-1]
    assert marker.text == "[laughs]" and marker.start_s >= placed[-2].end_s
    piece = out[int(marker.start_s * RATE) : int(marker.end_s * RATE)]
    assert np.sqrt(np.mean(piece**2)) > 0.005, "something is heard where she laughed"
    # The same marker whoever laughed, however: her own sound is never used.
    other = np.random.default_rng(1).standard_normal(len(her)).astype(np.float32) * 0.1
    out_other, placed_other = revoice.retell(laughing, other, RATE, _bundled(), 0.0, RATE)
    theirs = out_other[int(placed_other[-1].start_s * RATE) : int(placed_other[-1].end_s * RATE)]
    assert np.allclose(piece[: len(theirs)], theirs[: len(piece)], atol=1e-4)
    back = _words(" ".join(w.text for w in _heard(recogniser, out)))
    assert "laugh" not in back and "news" in back
