"""Retell: a synthetic voice says her words with her timing and her melody, never her sound.

Her speech is espeak-ng with a pause and a rising end; her word times come from the bundled
Whisper model, as a transcript's do. The bundled Piper voice retells English (PSOLA after the
voice); an MBROLA voice retells French (her timing and melody in MBROLA's own input)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import jiwer
import numpy as np
import pytest
from scipy.signal import resample_poly

from podcast import speech
from podcast.models import ModelStore
from publish import revoice
from publish.anonymise import _spread
from publish.voices import Voice, VoiceStore, _bundled
from sessions import whisper

pytestmark = pytest.mark.slow

RATE = 16_000
SAID = "Yesterday we walked to the old market together and the baker gave us fresh bread"
HER = (
    '<speak>Yesterday we walked to the old market together <break time="800ms"/> '
    "and the baker gave us fresh bread?</speak>"
)


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]", " ", text.lower().replace("’", "'")).split())


@pytest.fixture(scope="module")
def recogniser(model_store: ModelStore) -> whisper.Recogniser:
    return whisper.Recogniser(model_store.ready().path, allowed_languages=("en", "fr"))


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
    # A sound written over two words is one marker over both, neither read out.
    softly = [*words, (end + 0.3, end + 0.7, "[laughs"), (end + 0.7, end + 1.1, "softly]")]
    out_softly, placed_softly = revoice.retell(softly, her, RATE, _bundled(), 0.0, RATE)
    assert [p.text for p in placed_softly[-2:]] == ["[laughs", "softly]"]
    assert placed_softly[-2].start_s == marker.start_s and placed_softly[-1].end_s == marker.end_s
    assert np.array_equal(out_softly, out)


FRENCH_SAID = "Hier nous avons parlé avec nos voisines et tout le monde était content"
FRENCH_PAUSE_AFTER = 6  # she pauses 0.8 s after "voisines"


@pytest.fixture(scope="module")
def french_voice(mbrola_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Voice:
    return VoiceStore(tmp_path_factory.mktemp("voices")).add_mbrola(mbrola_folder, "fr1")


def _french_her(mbrola_folder: Path, tmp_path: Path) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Her French (another MBROLA speaker, fr4) with a melody no reading voice has: each word
    low or high in turn (espeak-ng ignores SSML pitch for MBROLA voices, so her phones are
    given to MBROLA directly), and a pause. Returns her audio and the span of each phrase."""
    voice = VoiceStore(tmp_path).add_mbrola(mbrola_folder, "fr4")
    words = FRENCH_SAID.split()
    phones: list[revoice.Phone] = []
    phrases = []
    for part in (words[: FRENCH_PAUSE_AFTER + 1], words[FRENCH_PAUSE_AFTER + 1 :]):
        said = [p for p in revoice._phones(" ".join(part), voice) if p.name != "_"]
        owners = revoice._words_of(said, part, voice)
        for phone, owner in zip(said, owners, strict=True):
            hertz = 130.0 if (owner or 0) % 2 else 230.0
            phones.append(revoice.Phone(phone.name, round(phone.ms * 1.1), [(0.0, hertz), (100.0, hertz)]))
        start = sum(p.ms for p in phones[: len(phones) - len(said)]) / 1000
        phrases.append((start, start + sum(p.ms for p in phones[-len(said) :]) / 1000))
        phones.append(revoice.Phone("_", 800.0, []))
    audio, rate = revoice._run_mbrola(phones, voice)
    return resample_poly(audio, RATE, rate).astype(np.float32), phrases


def test_each_phone_of_a_french_phrase_belongs_to_its_word_liaisons_included(french_voice: Voice) -> None:
    words = ["nous", "avons", "vu", "3", "amis,", "et", "les", "enfants"]
    phones = revoice._phones(" ".join(words), french_voice)
    labels = revoice._words_of(phones, words, french_voice)
    said = [p.name for p in phones]
    owners = [label for label in labels if label is not None]
    assert owners == sorted(owners), "words in order"
    assert {label for label in labels if label is not None} == set(range(len(words))), "every word is said"
    assert all((label is None) == (name == "_") for label, name in zip(labels, said, strict=True))
    # "nous_z_avons": the liaison goes with the word before it; "3" is read as a number.
    first_vowel_of_avons = said.index("a")
    assert said[first_vowel_of_avons - 1] == "z" and labels[first_vowel_of_avons - 1] == 0
    assert {"t", "R", "w", "a"} <= {n for n, label in zip(said, labels, strict=True) if label == 3}


def test_french_is_retold_by_an_mbrola_voice_with_her_phrases_melody_and_pause(
    recogniser: whisper.Recogniser, mbrola_folder: Path, french_voice: Voice, tmp_path: Path
) -> None:
    her, phrases = _french_her(mbrola_folder, tmp_path)
    chunks = whisper.fixed_windows(len(her) / RATE)
    heard = [w for chunk in recogniser.transcribe_batch(her, chunks, "fr") for s in chunk for w in s.words]
    assert jiwer.wer(_words(FRENCH_SAID), _words(" ".join(w.text for w in heard))) <= 0.2, "the test's own"
    # Her reviewed words, at the times the transcriber heard them.
    words = [(w.start_s, w.end_s, said) for w, said in zip(heard, FRENCH_SAID.split(), strict=True)]

    out, placed = revoice.retell(words, her, RATE, french_voice, 0.0, RATE)
    again, _ = revoice.retell(words, her, RATE, french_voice, 0.0, RATE)
    assert np.array_equal(out, again), "the same line always gives the same audio"
    assert [p.text for p in placed] == [w for _s, _e, w in words]
    # Each word's place is where MBROLA said it: in order, touching within a phrase.
    assert all(a.end_s <= b.start_s + 1e-6 and a.start_s < a.end_s for a, b in itertools.pairwise(placed))

    # Her timing: her pause kept as silence (the transcriber counted it into "et": her channel
    # shows where she spoke), each phrase as long as hers.
    origin = words[0][0]
    pause = FRENCH_PAUSE_AFTER + 1
    gap = (placed[pause - 1].end_s, placed[pause].start_s)
    assert abs((gap[1] - gap[0]) - (phrases[1][0] - phrases[0][1])) < 0.15, (gap, phrases)
    silent = out[int((gap[0] + 0.05) * RATE) : int((gap[1] - 0.05) * RATE)]
    assert np.sqrt(np.mean(silent**2)) < 0.01 * np.max(np.abs(out)), "her pause is silence"
    for (first, last), (start, end) in zip(((0, pause - 1), (pause, len(words) - 1)), phrases, strict=True):
        retold = placed[last].end_s - placed[first].start_s
        assert abs(retold - (end - start)) < 0.15 * (end - start), (first, retold, start, end)

    # Her melody, word by word, where the voice reading alone does not follow it.
    spans = [(s, e) for s, e, _w in words]
    kept = revoice.melody_correlation(
        her, RATE, spans, out, RATE, [(p.start_s + origin, p.end_s + origin) for p in placed]
    )
    plain = revoice.speak(FRENCH_SAID, french_voice, 0.0, RATE)
    spread = [(w.start_s, w.end_s) for w in _spread([w for _s, _e, w in words], 0.0, len(plain) / RATE)]
    flat = revoice.melody_correlation(her, RATE, spans, plain, RATE, spread)
    print(f"French melody kept: retell r = {kept:.2f}, plain revoice r = {flat}")
    assert kept is not None and kept >= 0.7
    assert flat is None or flat < kept - 0.2

    # Understood as French, as what she said.
    back = [
        s
        for chunk in recogniser.transcribe_batch(out, whisper.fixed_windows(len(out) / RATE), "fr")
        for s in chunk
    ]
    said_back = " ".join(s.text for s in back)
    print(f"French retold, heard back: {said_back}")
    assert {s.language for s in back} == {"fr"}
    assert jiwer.wer(_words(FRENCH_SAID), _words(said_back)) <= 0.1, said_back


def test_a_pause_counted_into_a_word_is_found_on_her_channel_unless_another_voice_fills_it() -> None:
    rng = np.random.default_rng(3)
    said = (
        np.concatenate([rng.standard_normal(RATE // 2), np.zeros(RATE), rng.standard_normal(RATE // 4)]) * 0.3
    )
    # The transcriber put the end of her first word late, and the pause into the second word.
    words = [(0.0, 0.45, "we"), (0.45, 1.75, "waited")]
    assert revoice._tightened(words, said.astype(np.float32), RATE) == [
        (0.0, 0.45, "we"),
        (1.5, 1.75, "waited"),
    ]
    # Another speaker's bleed in the pause, 20 dB down: not a pause on her channel, times kept.
    bleed = said.copy()
    bleed[RATE // 2 : RATE // 2 * 3] = rng.standard_normal(RATE) * 0.03
    assert revoice._tightened(words, bleed.astype(np.float32), RATE) == words
    # A bracketed marker keeps its times.
    marker = [(0.0, 0.45, "we"), (0.45, 1.75, "[laughs]")]
    assert revoice._tightened(marker, said.astype(np.float32), RATE) == marker


def test_revoice_never_reads_a_laugh_out_and_sounds_as_before_without_one(
    recogniser: whisper.Recogniser,
) -> None:
    voice = _bundled()
    plain = ["I", "told", "her", "the", "news"]
    assert np.array_equal(
        revoice.read(plain, voice, 0.0, RATE), revoice.speak(" ".join(plain), voice, 0.0, RATE)
    )
    laughing = ["I", "told", "her", "[laughs]", "the", "news"]
    out = revoice.read(laughing, voice, 0.0, RATE)
    first = revoice.speak("I told her", voice, 0.0, RATE)
    marker = out[len(first) : len(first) + int(revoice.READ_MARKER_S * RATE)]
    assert np.array_equal(out[: len(first)], first)
    assert 0.005 < np.sqrt(np.mean(marker**2)) < 0.1, "a soft sound where she laughed"
    back = _words(" ".join(w.text for w in _heard(recogniser, out)))
    assert "laugh" not in back and "told" in back and "news" in back, back
    # Over two words: one sound, neither word read out.
    softly = revoice.read(["I", "told", "her", "[laughs", "softly]", "the", "news"], voice, 0.0, RATE)
    assert np.array_equal(softly, out)


def test_an_mbrola_voice_whose_database_is_gone_fails_with_a_hint(
    french_voice: Voice, tmp_path: Path
) -> None:
    from dataclasses import replace

    from podcast.errors import AudioError

    gone = replace(french_voice, model=tmp_path / "moved" / "fr1")
    her = np.zeros(RATE, dtype=np.float32)
    with pytest.raises(AudioError) as info:
        revoice.retell([(0.1, 0.5, "bonjour")], her, RATE, gone, 0.0, RATE)
    assert "MBROLA failed" in info.value.message and "voices add --mbrola fr1" in (info.value.hint or "")
