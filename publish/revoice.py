"""Revoice and retell (strong protection): a synthetic voice reads her reviewed words.

Revoice reads them in the voice's own flat manner. Retell (`retell`) reads them with her
timing and her melody: each stretch of speech between her pauses is synthesised whole (so
the words keep their natural joins), stretched word by word to her word durations, and given
her pitch contour, normalised (her median and range replaced by the synthetic voice's), by
Praat's PSOLA (a Manipulation with a duration tier and a pitch tier). Her pauses are kept.
Nothing of her audio is in the output: only the shape of her pitch and her timing.

Piper runs offline from local files; noise scales are zero so the same text always gives
the same audio. Each participant's colour (a pitch and formant shift of the *synthetic*
voice, harmless since it is not hers) keeps her distinct across the show.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import parselmouth
from parselmouth.praat import call, run
from scipy.signal import resample_poly

from publish.disguise import praat_change_gender
from publish.voices import Voice

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
STRETCH_RANGE = (0.5, 2.5)  # a synthetic word is stretched at most this much, so it stays clear
MIN_VOICED_FRAMES = 10  # fewer voiced frames in a line: the voice keeps its own melody there
PITCH_STEP_S = 0.01
ANALYSIS_RATE_HZ = 16_000  # her pitch is measured at this rate (enough for 50-800 Hz)
NON_SPEECH = re.compile(r"^[\[(*].+[\])*]$")  # "[laughs]", "(sighs)", "*laughter*"
MARKER_MAX_S = 1.0
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


def _phrases(words: Sequence[tuple[float, float, str]]) -> list[list[tuple[float, float, str]]]:
    """Her words grouped between her pauses."""
    groups: list[list[tuple[float, float, str]]] = []
    for word in words:
        joined = groups and word[0] - groups[-1][-1][1] < PAUSE_S
        if joined and not NON_SPEECH.match(word[2]) and not NON_SPEECH.match(groups[-1][-1][2]):
            groups[-1].append(word)
        else:
            groups.append([word])
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
    times, target = _her_melody(her, her_rate, voice)
    _median, _spread, floor, ceiling = _voice_melody(voice)
    origin = words[0][0]
    pieces: list[tuple[float, np.ndarray]] = []
    placed: list[Placed] = []
    native = 0
    cursor = 0.0
    for group in _phrases(words):
        start = max(group[0][0] - origin, cursor)
        if NON_SPEECH.match(group[0][2]):
            native = native or _synthesise("a", voice)[1]
            sound_out = _marker(group[0][1] - group[0][0], native)
        else:
            audio, native = _synthesise(" ".join(w[2] for w in group), voice)
            audio = _trimmed(audio)
            if len(audio) < native * 0.03:  # nothing sayable: her words keep their times
                placed += _placed(group, start, group[-1][1] - group[0][0])
                continue
            sound_out = _follow(audio, native, group, times, target, floor, ceiling)
        length = len(sound_out) / native
        pieces.append((start, sound_out))
        placed += _placed(group, start, length)
        cursor = start + length
    out = np.zeros(int((cursor + 0.05) * native) + 1)
    for start, piece in pieces:
        first = int(start * native)
        out[first : first + len(piece)] += piece[: len(out) - first]
    return _coloured(out, native, colour_st, rate_hz), placed


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
    """One stretch of synthetic speech given her word durations and her (normalised) melody.

    The synthetic words' boundaries are taken in proportion to their length in letters (the
    stretch is read whole, so there is no other boundary to go by); each word is stretched to
    her duration and given her pitch over that word."""
    length = len(audio) / native
    weights = np.array([len(w[2]) + 1 for w in group], dtype=np.float64)
    bounds = np.concatenate([[0.0], np.cumsum(weights) / weights.sum() * length])
    sound = parselmouth.Sound(audio, sampling_frequency=native)
    manipulation = call(sound, "To Manipulation", PITCH_STEP_S, floor, ceiling)
    durations = call("Create DurationTier", "durations", 0.0, length)
    pitches = call("Create PitchTier", "pitches", 0.0, length)
    points = 0
    for (start, end, _text), a, b in zip(group, bounds[:-1], bounds[1:], strict=True):
        span = max(end - start, 1e-3)
        factor = float(np.clip(max(span, 0.05) / max(b - a, 1e-3), *STRETCH_RANGE))
        edge = min(0.005, (b - a) / 4)
        call(durations, "Add point", a + edge, factor)
        call(durations, "Add point", b - edge, factor)
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


def _mbrola(text: str, voice: Voice) -> tuple[np.ndarray, int]:
    """An MBROLA diphone voice read through espeak-ng (deterministic), peak-normalised as
    Piper's output is."""
    import os

    from podcast import speech

    env = {
        **os.environ,
        "ESPEAK_DATA_PATH": str(voice.config),
        "PATH": f"{voice.mbrola_binary_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    audio, rate = speech.synthesize(text, voice=voice.espeak_voice, speed_wpm=150, env=env)
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
