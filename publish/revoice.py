"""Revoice and retell (strong protection): a synthetic voice reads her reviewed words.

Revoice reads them in the voice's own flat manner. Retell (`retell`) reads them with her
timing and her melody: each stretch of speech between her pauses is synthesised whole (so
the words keep their natural joins) and made as long as hers, and each of its words is given
her pitch contour over that word, normalised (her median and range replaced by the synthetic
voice's). Her pauses are kept. Nothing of her audio is in the output: only the shape of her
pitch and her timing.

Timing follows her phrase by phrase, not word by word: a transcript's word times are the
recogniser's guesses (a pause is often counted into a word next to it, a short word given
0.05 s), and stretching each word to them made French retell misheard twice as often as
stretching the phrase (docs/privacy.md has the figures).

An MBROLA voice is given her timing and melody in its own input (the phones espeak-ng reads
the words as, with new durations and pitch points), so each word's place is exact; a Piper
voice's speech is changed afterwards by Praat's PSOLA (a Manipulation with a duration tier and
a pitch tier), its words placed in proportion to their letters.

Piper runs offline from local files; noise scales are zero so the same text always gives
the same audio. Each participant's colour (a pitch and formant shift of the *synthetic*
voice, harmless since it is not hers) keeps her distinct across the show.
"""

from __future__ import annotations

import difflib
import logging
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import parselmouth
import soundfile as sf
from parselmouth.praat import call, run
from scipy.signal import resample_poly

from podcast import speech
from podcast.errors import AudioError
from publish.disguise import praat_change_gender
from publish.voices import Voice
from sessions.transcripts import non_speech

log = logging.getLogger(__name__)


@lru_cache(maxsize=4)
def _load(model: Path, config: Path) -> Any:
    import json

    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig
    from piper.voice import ESPEAK_DATA_DIR

    # As PiperVoice.load does, but without ONNX Runtime's memory arena: the arena keeps the
    # largest buffers any line ever needed (about 250 MB after a few long lines), next to the
    # speech model an extract's redaction check loads. Measured: the same speed without it.
    options = onnxruntime.SessionOptions()
    options.enable_cpu_mem_arena = False
    return PiperVoice(
        config=PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8"))),
        session=onnxruntime.InferenceSession(
            str(model), sess_options=options, providers=["CPUExecutionProvider"]
        ),
        espeak_data_dir=Path(ESPEAK_DATA_DIR),
        # Piper would otherwise use the current folder; nothing is downloaded.
        download_dir=Path(tempfile.gettempdir()),
    )


def speak(text: str, voice: Voice, colour_st: float, rate_hz: int) -> np.ndarray:
    """Mono float32 speech at *rate_hz* (empty for empty text)."""
    audio, native = _synthesise(text, voice)
    if not len(audio):
        return np.zeros(0, dtype=np.float32)
    return _coloured(audio, native, colour_st, rate_hz)


def read(texts: Sequence[str], voice: Voice, colour_st: float, rate_hz: int) -> np.ndarray:
    """Revoice: her words read in the voice's own manner, a laugh or sigh in brackets
    ("[laughs]", "[laughs softly]") as a short neutral sound, never read out. Without such a
    sound, the same audio as speak() of the words joined."""
    parts: list[np.ndarray] = []
    said: list[str] = []
    sound = [*non_speech(texts), False]
    for index, text in enumerate([*texts, None]):
        if text is not None and not sound[index]:
            said.append(text)
            continue
        if said:
            parts.append(speak(" ".join(said), voice, colour_st, rate_hz))
            said = []
        if text is not None and (index == 0 or not sound[index - 1]):  # a sound begins
            parts.append(_marker(READ_MARKER_S, rate_hz).astype(np.float32))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def _synthesise(text: str, voice: Voice) -> tuple[np.ndarray, int]:
    """The voice's own speech for *text* (float64, its native rate; empty for no speech)."""
    if not text.strip():
        return np.zeros(0), 16_000
    if voice.kind == "mbrola":
        return _mbrola(text, voice)
    from piper import SynthesisConfig

    engine = _load(voice.model, voice.config)
    config = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0, normalize_audio=True)
    chunks = [chunk.audio_float_array for chunk in engine.synthesize(text, syn_config=config)]
    native = engine.config.sample_rate
    return (np.concatenate(chunks).astype(np.float64) if chunks else np.zeros(0)), native


def _coloured(audio: np.ndarray, native: int, colour_st: float, rate_hz: int) -> np.ndarray:
    """Her colour applied to the synthetic voice, at *rate_hz*."""
    if colour_st:
        ratio = 2 ** (colour_st / 12)
        audio = praat_change_gender(audio, native, 1.0 + (ratio - 1.0) * 0.5, ratio, seed=1)
    return resample_poly(audio, rate_hz, native).astype(np.float32)


# Retell: her timing and melody.
PAUSE_S = 0.15  # a gap this long between two of her words is a pause, kept as it is
STRETCH_RANGE = (0.7, 1.8)  # a synthetic phrase is stretched at most this much, so it stays clear
MIN_VOICED_FRAMES = 10  # fewer voiced frames in a line: the voice keeps its own melody there
PITCH_STEP_S = 0.01
PHONE_PITCH_AT = (10, 50, 90)  # MBROLA: her pitch given at these percents of each phone
ANALYSIS_RATE_HZ = 16_000  # her pitch is measured at this rate (enough for 50-800 Hz)
MARKER_MAX_S = 1.0
READ_MARKER_S = 0.6  # revoice: a laugh or sigh in her words is a neutral sound this long
QUIET_DB = 30.0  # her channel this far below its loud speech is not her speaking
REFERENCE_TEXT = {
    "en": "My sister told us that the small kitchen was closed on Monday, and we laughed about it.",
    "fr": "Ma sœur nous a dit que la petite cuisine était fermée lundi, et nous en avons ri.",
}


@dataclass(frozen=True)
class Placed:
    """Where a word of hers was said by the synthetic voice (seconds from the line's start)."""

    start_s: float
    end_s: float
    text: str


def pitch_range(sound: parselmouth.Sound) -> tuple[float, float]:
    """Pitch floor and ceiling suited to this speech (two passes, as De Looze and Hirst: a
    wide first pass, then 0.72 x its 35th percentile to 1.9 x its 65th): a fixed 75-600 Hz
    range halves or doubles low and high voices here and there."""
    first = sound.to_pitch_ac(time_step=PITCH_STEP_S, pitch_floor=50.0, pitch_ceiling=700.0)
    hertz = first.selected_array["frequency"]
    hertz = hertz[hertz > 0]
    if len(hertz) < 5:
        return 75.0, 600.0
    low, high = np.quantile(hertz, [0.35, 0.65])
    return max(40.0, 0.72 * float(low)), min(800.0, 1.9 * float(high))


def pitch_track(samples: np.ndarray, rate_hz: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame times and pitch in Hz every 10 ms (0 where unvoiced)."""
    sound = parselmouth.Sound(np.asarray(samples, dtype=np.float64), sampling_frequency=rate_hz)
    floor, ceiling = pitch_range(sound)
    pitch = sound.to_pitch_ac(time_step=PITCH_STEP_S, pitch_floor=floor, pitch_ceiling=ceiling)
    return np.asarray(pitch.xs()), np.asarray(pitch.selected_array["frequency"], dtype=np.float64)


@lru_cache(maxsize=16)
def _voice_melody(voice: Voice) -> tuple[float, float, float, float]:
    """The voice's own pitch: median and spread (semitones re 1 Hz), floor and ceiling (Hz),
    from a reference sentence in its language."""
    audio, native = _synthesise(REFERENCE_TEXT.get(voice.speaks, REFERENCE_TEXT["en"]), voice)
    sound = parselmouth.Sound(audio, sampling_frequency=native)
    floor, ceiling = pitch_range(sound)
    pitch = sound.to_pitch_ac(time_step=PITCH_STEP_S, pitch_floor=floor, pitch_ceiling=ceiling)
    hertz = pitch.selected_array["frequency"]
    semitones = 12 * np.log2(hertz[hertz > 0])
    return float(np.median(semitones)), float(np.std(semitones)), floor, ceiling


def _her_melody(her: np.ndarray, her_rate: int, voice: Voice) -> tuple[np.ndarray, np.ndarray]:
    """Her pitch contour, normalised onto the voice: frame times, and target pitch in Hz (NaN
    where she is unvoiced). Her median and spread are replaced by the voice's: only the shape of
    her melody is kept."""
    if her_rate != ANALYSIS_RATE_HZ:
        her = resample_poly(her, ANALYSIS_RATE_HZ, her_rate)
    times, hertz = pitch_track(her, ANALYSIS_RATE_HZ)
    target = np.full(len(hertz), np.nan)
    voiced = hertz > 0
    if voiced.sum() < MIN_VOICED_FRAMES:
        return times, target
    median, spread, floor, ceiling = _voice_melody(voice)
    hers = 12 * np.log2(hertz[voiced])
    scaled = median + (hers - np.median(hers)) * spread / max(float(np.std(hers)), 0.5)
    low, high = 12 * np.log2(floor * 1.1), 12 * np.log2(ceiling / 1.1)
    target[voiced] = 2 ** (np.clip(scaled, low, high) / 12)
    return times, target


def _tightened(
    words: Sequence[tuple[float, float, str]], her: np.ndarray, her_rate: int
) -> list[tuple[float, float, str]]:
    """Her word times trimmed to where her channel has speech. The recogniser often counts a
    pause into the word after it ("et" given 0.96 s, a 0.8 s pause and 0.1 s of "et"): a word
    with a pause inside starts after it, and silence at a word's edges is not the word. Where
    her channel is not quiet (another voice's bleed), the times stay as they are."""
    hop = max(1, round(her_rate * PITCH_STEP_S))
    frames = len(her) // hop
    if frames < 2:
        return list(words)
    power = np.mean(np.asarray(her[: frames * hop], dtype=np.float64).reshape(frames, hop) ** 2, axis=1)
    level = 10 * np.log10(power + 1e-12)
    speaking = level > np.percentile(level, 95) - QUIET_DB
    pause = round(PAUSE_S / PITCH_STEP_S)
    out = []
    for (start, end, text), sound in zip(words, non_speech([w[2] for w in words]), strict=True):
        first = int(start / PITCH_STEP_S)
        heard = first + np.flatnonzero(speaking[first : int(np.ceil(end / PITCH_STEP_S))])
        if len(heard) and not sound:
            after_pause = np.flatnonzero(np.diff(heard) > pause)
            if len(after_pause):
                heard = heard[after_pause[-1] + 1 :]
            if (heard[-1] + 1 - heard[0]) * PITCH_STEP_S >= 0.04:
                start, end = float(heard[0] * PITCH_STEP_S), float((heard[-1] + 1) * PITCH_STEP_S)
        out.append((start, end, text))
    return out


def _phrases(words: Sequence[tuple[float, float, str]]) -> list[tuple[list[tuple[float, float, str]], bool]]:
    """Her words grouped between her pauses, a sound in brackets ("[laughs softly]") a group of
    its own; each group with whether it is such a sound."""
    groups: list[tuple[list[tuple[float, float, str]], bool]] = []
    for word, sound in zip(words, non_speech([w[2] for w in words]), strict=True):
        if groups and groups[-1][1] == sound and (sound or word[0] - groups[-1][0][-1][1] < PAUSE_S):
            groups[-1][0].append(word)
        else:
            groups.append(([word], sound))
    return groups


def _marker(seconds: float, rate_hz: int) -> np.ndarray:
    """A neutral sound where she laughed or sighed: soft band-limited noise, the same for
    everyone (her own sound is never used)."""
    from scipy.signal import butter, sosfilt

    length = max(1, int(min(max(seconds, 0.2), MARKER_MAX_S) * rate_hz))
    noise = np.random.default_rng(0).standard_normal(length)
    band = sosfilt(butter(2, [400, 2500], btype="bandpass", fs=rate_hz, output="sos"), noise)
    return (band / (np.max(np.abs(band)) or 1.0) * 0.15 * np.hanning(length)).astype(np.float64)


def retell(
    words: Sequence[tuple[float, float, str]],
    her: np.ndarray,
    her_rate: int,
    voice: Voice,
    colour_st: float,
    rate_hz: int,
) -> tuple[np.ndarray, list[Placed]]:
    """Her words read by *voice* with her timing and melody.

    *words*: (start_s, end_s, text) of the words to say, in the time of *her* (her own channel,
    mono, at *her_rate*: only its pitch contour is used). A word in brackets ("[laughs]") is
    a neutral marker. Returns mono float32 audio at *rate_hz* starting at the first word, and
    where each word was placed in it."""
    if not words:
        return np.zeros(0, dtype=np.float32), []
    words = _tightened(words, her, her_rate)
    times, target = _her_melody(her, her_rate, voice)
    origin = words[0][0]
    pieces: list[tuple[float, np.ndarray]] = []
    placed: list[Placed] = []
    native = 0
    cursor = 0.0
    for group, sound in _phrases(words):
        start = max(group[0][0] - origin, cursor)
        said = _say(group, sound, voice, times, target, native)
        if said is None:  # nothing sayable: her words keep their times
            placed += _placed(group, start, group[-1][1] - group[0][0])
            continue
        sound_out, native, spans = said
        pieces.append((start, sound_out))
        placed += [
            Placed(round(start + a, 3), round(start + b, 3), w[2])
            for (a, b), w in zip(spans, group, strict=True)
        ]
        cursor = start + len(sound_out) / native
    out = np.zeros(int((cursor + 0.05) * native) + 1)
    for start, piece in pieces:
        first = int(start * native)
        out[first : first + len(piece)] += piece[: len(out) - first]
    return _coloured(out, native, colour_st, rate_hz), placed


def _say(
    group: Sequence[tuple[float, float, str]],
    sound: bool,
    voice: Voice,
    times: np.ndarray,
    target: np.ndarray,
    native: int,
) -> tuple[np.ndarray, int, list[tuple[float, float]]] | None:
    """One stretch of hers said by the voice with her timing and melody: the audio, its rate,
    and each word's span in it (None: nothing sayable). *sound*: the group is a laugh or sigh in
    brackets, said as a neutral marker. *native*: the voice's rate, if known."""
    if sound:
        native = native or _synthesise("a", voice)[1]
        marker = _marker(group[-1][1] - group[0][0], native)
        spans = [(p.start_s, p.end_s) for p in _placed(group, 0.0, len(marker) / native)]
        return marker, native, spans
    if voice.kind == "mbrola":
        return _follow_phones(group, voice, times, target)
    audio, native = _synthesise(" ".join(w[2] for w in group), voice)
    audio = _trimmed(audio)
    if len(audio) < native * 0.03:
        return None
    _median, _spread, floor, ceiling = _voice_melody(voice)
    sound_out = _follow(audio, native, group, times, target, floor, ceiling)
    # Each word where her melody was given to it.
    bounds = _letter_bounds(group, len(sound_out) / native)
    return sound_out, native, list(zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True))


def _trimmed(audio: np.ndarray) -> np.ndarray:
    """The synthetic speech without its leading and trailing silence."""
    loud = np.flatnonzero(np.abs(audio) > 0.02 * (np.max(np.abs(audio)) if len(audio) else 0.0))
    if not len(loud):
        return audio[:0]
    return audio[loud[0] : loud[-1] + 1]


def _follow(
    audio: np.ndarray,
    native: int,
    group: Sequence[tuple[float, float, str]],
    times: np.ndarray,
    target: np.ndarray,
    floor: float,
    ceiling: float,
) -> np.ndarray:
    """One stretch of a Piper voice's speech made as long as hers and given her (normalised)
    melody word by word, by PSOLA.

    The synthetic words' boundaries are taken in proportion to their length in letters (the
    stretch is read whole, so there is no other boundary to go by)."""
    length = len(audio) / native
    bounds = _letter_bounds(group, length)
    sound = parselmouth.Sound(audio, sampling_frequency=native)
    manipulation = call(sound, "To Manipulation", PITCH_STEP_S, floor, ceiling)
    durations = call("Create DurationTier", "durations", 0.0, length)
    call(durations, "Add point", 0.0, _phrase_stretch(group, length))
    pitches = call("Create PitchTier", "pitches", 0.0, length)
    points = 0
    for (start, end, _text), a, b in zip(group, bounds[:-1], bounds[1:], strict=True):
        span = max(end - start, 1e-3)
        inside = (times >= start) & (times <= end) & ~np.isnan(target)
        for moment, hertz in zip(times[inside], target[inside], strict=True):
            call(pitches, "Add point", a + (moment - start) / span * (b - a), float(hertz))
            points += 1
    call([manipulation, durations], "Replace duration tier")
    if points >= 2:
        call([manipulation, pitches], "Replace pitch tier")
    # Praat draws random numbers while resynthesising: seeded, the same line gives the same audio.
    run("random_initializeWithSeedUnsafelyButPredictably (1)")
    try:
        result = call(manipulation, "Get resynthesis (overlap-add)")
    finally:
        run("random_initializeSafelyAndUnpredictably ()")
    return np.asarray(result.values[0], dtype=np.float64)


def _letter_bounds(group: Sequence[tuple[float, float, str]], length: float) -> np.ndarray:
    """Word boundaries in a stretch of synthetic speech *length* s long, in proportion to the
    words' letters (a Piper voice reads the stretch whole and says nothing of where words are)."""
    weights = np.array([len(w[2]) + 1 for w in group], dtype=np.float64)
    return np.concatenate([[0.0], np.cumsum(weights) / weights.sum() * length])


def _phrase_stretch(group: Sequence[tuple[float, float, str]], synthetic_s: float) -> float:
    """How much a synthetic phrase is stretched to last as long as hers (within STRETCH_RANGE)."""
    hers = max(group[-1][1] - group[0][0], 0.05)
    return float(np.clip(hers / max(synthetic_s, 1e-3), *STRETCH_RANGE))


@dataclass
class Phone:
    """One line of MBROLA input: a phone, its duration, its pitch points (percent, Hz)."""

    name: str
    ms: float
    pitch: list[tuple[float, float]]


def _phones(text: str, voice: Voice) -> list[Phone]:
    """The phones espeak-ng reads *text* as, for an MBROLA voice ("_" is a pause)."""
    phones = []
    for line in speech.phonemes(text, voice=voice.espeak_voice, env=_mbrola_env(voice)).splitlines():
        fields = line.split()
        if not fields or fields[0].startswith(";"):
            continue
        numbers = [float(x) for x in fields[2:]]
        phones.append(
            Phone(fields[0], float(fields[1]), list(zip(numbers[::2], numbers[1::2], strict=False)))
        )
    return phones


def _words_of(phones: Sequence[Phone], words: Sequence[str], voice: Voice) -> list[int | None]:
    """Which word each phone of a phrase belongs to (None for a pause).

    Each word's own phones come from the words read as a list (a pause after each); the
    phrase's phones are matched to them, and a phone the phrase adds (a liaison: "nous_z_avons")
    goes with the word before it."""
    alone = _phones(", ".join(words), voice)
    groups: list[list[str]] = [[]]
    for phone in alone:
        if phone.name != "_":
            groups[-1].append(phone.name)
        elif groups[-1]:
            groups.append([])
    groups = [g for g in groups if g]
    if len(groups) != len(words):  # a word read as nothing, or as two: each read by itself
        groups = [[p.name for p in _phones(word, voice) if p.name != "_"] for word in words]
    names = [name for g in groups for name in g]
    owner = [k for k, g in enumerate(groups) for _name in g]
    labels: list[int | None] = [None] * len(phones)
    matcher = difflib.SequenceMatcher(a=[p.name for p in phones], b=names, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            labels[block.a + k] = owner[block.b + k]
    first = next((label for label in labels if label is not None), 0)
    last: int | None = None
    for i, phone in enumerate(phones):
        label = labels[i]
        if phone.name == "_":
            labels[i] = None
            continue
        if label is None or (last is not None and label < last):
            label = last if last is not None else first
        labels[i] = last = label
    return labels


def _follow_phones(
    group: Sequence[tuple[float, float, str]], voice: Voice, times: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, int, list[tuple[float, float]]] | None:
    """One stretch of an MBROLA voice's speech, as long as hers and with her (normalised)
    melody word by word, made by MBROLA itself from espeak-ng's phones with new durations and
    pitch points. Returns the audio, its rate, and each word's span in it (None: nothing to say)."""
    words = [w[2] for w in group]
    phones = _phones(" ".join(words), voice)
    while phones and phones[-1].name == "_":
        phones.pop()
    if not phones:
        return None
    labels = _words_of(phones, words, voice)
    factor = _phrase_stretch(group, sum(p.ms for p in phones) / 1000)
    for phone in phones:
        phone.ms = max(1.0, round(phone.ms * factor))
    spans: list[tuple[float, float]] = []
    given: list[tuple[Phone, list[tuple[float, float]]]] = []
    for k, (start, end, _text) in enumerate(group):
        mine = [i for i, label in enumerate(labels) if label == k]
        before = sum(p.ms for p in phones[: mine[0]]) if mine else (spans[-1][1] * 1000 if spans else 0.0)
        length = sum(phones[i].ms for i in mine)
        spans.append((before / 1000, (before + length) / 1000))
        done = 0.0
        for i in mine:
            points = []
            for percent in PHONE_PITCH_AT:
                moment = start + (done + phones[i].ms * percent / 100) / max(length, 1.0) * (end - start)
                index = round((moment - times[0]) / PITCH_STEP_S) if len(times) else -1
                if 0 <= index < len(target) and not np.isnan(target[index]):
                    points.append((float(percent), float(target[index])))
            given.append((phones[i], points))
            done += phones[i].ms
    if sum(len(points) for _phone, points in given) >= 2:  # else the voice keeps its own melody
        for phone in phones:
            phone.pitch = []
        for phone, points in given:
            phone.pitch = points
    audio, native = _run_mbrola(phones, voice)
    audio = audio[: round(sum(p.ms for p in phones) / 1000 * native)]
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    return (audio * (0.9 / peak) if peak > 0 else audio), native, spans


def _run_mbrola(phones: Sequence[Phone], voice: Voice) -> tuple[np.ndarray, int]:
    """MBROLA's speech for these phones (float64, the database's rate)."""
    lines = [f"{p.name} {p.ms:.0f} " + " ".join(f"{a:.0f} {h:.0f}" for a, h in p.pitch) for p in phones]
    with tempfile.TemporaryDirectory(prefix="podcast-retell-") as folder:
        source, wav = Path(folder) / "line.pho", Path(folder) / "line.wav"
        source.write_text("\n".join([*lines, "_ 20", ""]), encoding="ascii", errors="replace")
        # -e: a diphone the database lacks is skipped, as espeak-ng has MBROLA do.
        result = subprocess.run(
            [str(voice.mbrola_binary_dir / "mbrola"), "-e", str(voice.model), str(source), str(wav)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0 or not wav.exists():
            raise AudioError(
                f"MBROLA failed for voice {voice.name!r}: {result.stderr.strip()[-200:]}",
                hint=f"Add the voice again: podcast voices add --mbrola {voice.model.name}",
            )
        audio, native = sf.read(str(wav), dtype="float64", always_2d=False)
    return np.asarray(audio, dtype=np.float64), int(native)


def _placed(group: Sequence[tuple[float, float, str]], start: float, length: float) -> list[Placed]:
    """The words of a stretch placed in the output: in proportion to her own durations."""
    total = max(group[-1][1] - group[0][0], 1e-3)
    return [
        Placed(
            round(start + (w[0] - group[0][0]) / total * length, 3),
            round(start + (w[1] - group[0][0]) / total * length, 3),
            w[2],
        )
        for w in group
    ]


def _mbrola_env(voice: Voice) -> dict[str, str]:
    """espeak-ng's environment for an MBROLA voice: its data folder, and the mbrola program."""
    return {
        **os.environ,
        "ESPEAK_DATA_PATH": str(voice.config),
        "PATH": f"{voice.mbrola_binary_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _mbrola(text: str, voice: Voice) -> tuple[np.ndarray, int]:
    """An MBROLA diphone voice read through espeak-ng (deterministic), peak-normalised as
    Piper's output is."""
    audio, rate = speech.synthesize(text, voice=voice.espeak_voice, speed_wpm=150, env=_mbrola_env(voice))
    audio = audio.astype(np.float64)
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    return (audio * (0.9 / peak) if peak > 0 else audio), rate


def melody_correlation(
    her: np.ndarray,
    her_rate: int,
    her_words: Sequence[tuple[float, float]],
    out: np.ndarray,
    out_rate: int,
    out_words: Sequence[tuple[float, float]],
) -> float | None:
    """How much of her melody an output keeps: the correlation between her pitch (semitones)
    and the output's at corresponding moments, a moment of her word i corresponding to the same
    fraction of the output's word i (None with fewer than 10 such voiced moments)."""
    her_t, her_f = pitch_track(her, her_rate)
    out_t, out_f = pitch_track(out, out_rate)
    mine, theirs = [], []
    for (a, b), (c, d) in zip(her_words, out_words, strict=True):
        for moment, hertz in zip(her_t, her_f, strict=True):
            if hertz <= 0 or not a <= moment < b:
                continue
            there = c + (moment - a) / max(b - a, 1e-3) * (d - c)
            index = round((there - out_t[0]) / PITCH_STEP_S) if len(out_t) else -1
            if 0 <= index < len(out_f) and out_f[index] > 0:
                mine.append(12 * np.log2(hertz))
                theirs.append(12 * np.log2(out_f[index]))
    if len(mine) < 10 or np.std(mine) == 0 or np.std(theirs) == 0:
        return None
    return float(np.corrcoef(mine, theirs)[0, 1])
