"""Anonymisation benchmark: speaker-verification and prosody attackers against revoice,
retell and disguise, in English and in French.

Speakers: MBROLA diphone voices (recorded from real people; `--mbrola DIR` with the folder
made by scripts/mbrola-voices, as `make bench-anon` does): 16 that read English by default
(of 20) and 6 French ones; 10 sentences each. MBROLA voices share espeak-ng's intonation and
timing rules, so each speaker is given prosodic habits of her own, drawn once and kept for
all her sentences: pitch base, speaking rate, pitch range, the length of a pause she makes
before the sentence's news, and whether she ends sentences rising. The prosody figures come
from these synthetic habits: a lower bound on what a real person's melody gives away.

Attackers:
- voice (resemblyzer's bundled encoder; needs torch: `pip install torch==2.13.0 resemblyzer`):
  ignorant (enrols on her unprotected voice), lazy-informed (on her voice protected with a
  fresh random draw), same-parameters (with her own secret draw; for revoice and retell, her
  own protected clips), inversion (the inverse of disguise over a grid of its public ranges,
  best match kept), forward grid (disguise: enrols on her voice disguised at every grid
  point, best match kept);
- prosody: a classifier on pitch and timing statistics (pitch median and range, slope, end
  slope, voiced stretches per second, pause lengths), trained on her unprotected speech: the
  honest bound on what her melody and timing still give away.
Utility: WER of the local transcriber on each mode's output (reviewed text is what revoice and
retell read), and how much of her melody survives: the correlation, per sentence, between her
pitch contour and the output's, word by word (her word times from the transcriber).

Each EER comes with a 90 % interval from resampling the speakers (the spread). Disguise
trials are pooled over `--draws` independent draws of every speaker's secret parameters.
Every trial score is saved (`--scores`, JSON) so that runs can be pooled later (`--pool
FILE...` prints the table of several runs together, without synthesising anything).
A language's run is invalid unless the voice attacker's EER on unprotected speech is <= 5 %.
"""

from __future__ import annotations

import argparse
import difflib
import itertools
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jiwer
import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import french_sentences, sentences  # noqa: E402
from consent import protection  # noqa: E402
from consent.protection import DisguiseParams, draw_disguise_params  # noqa: E402
from podcast.models import ModelStore, default_data_dir  # noqa: E402
from publish.anonymise import _spread as revoiced_word_times  # noqa: E402
from publish.disguise import WORK_RATE_HZ, disguise, mcadams, praat_change_gender  # noqa: E402
from publish.revoice import melody_correlation, pitch_track, retell, speak  # noqa: E402
from publish.voices import Voice, _bundled  # noqa: E402
from sessions import whisper  # noqa: E402

RATE = 16_000
# MBROLA voices that read English: English and American speakers, and speakers of other
# languages with espeak-ng's English phoneme mapping.
ENGLISH_READERS = [
    "mb-en1",
    "mb-us1",
    "mb-us2",
    "mb-us3",
    "mb-fr1-en",
    "mb-fr4-en",
    "mb-de1-en",
    "mb-de2-en",
    "mb-de3-en",
    "mb-de4-en",
    "mb-de5-en",
    "mb-de6-en",
    "mb-nl2-en",
    "mb-sw1-en",
    "mb-sw2-en",
    "mb-pl1-en",
    "mb-af1-en",
    "mb-gr2-en",
    "mb-hu1-en",
    "mb-ro1-en",
]
FRENCH_SPEAKERS = ["mb-fr1", "mb-fr3", "mb-fr4", "mb-fr5", "mb-fr6", "mb-fr7"]
FRENCH_READER = "fr2"  # the synthetic voice that revoices and retells French (not a speaker)
MBROLA_PACKAGES = sorted({v.split("-")[1] for v in ENGLISH_READERS + FRENCH_SPEAKERS} | {FRENCH_READER})
MODES = ("none", "disguise", "revoice", "retell")
ATTACKS = ("ignorant", "lazy", "same", "inversion", "forward grid", "prosody")


def _grid(span: tuple[float, float], avoid: tuple[float, float] | None = None) -> tuple[float, ...]:
    """The inversion attacker's grid over one public range: two points on each side."""
    parts = [(span[0], avoid[0]), (avoid[1], span[1])] if avoid else [span]
    return tuple(round(low + (high - low) * f, 3) for low, high in parts for f in (0.25, 0.75))


GRID_FORMANT = _grid(protection.FORMANT_RANGE, protection.FORMANT_AVOID)
GRID_PITCH = _grid(protection.PITCH_RANGE, protection.PITCH_AVOID)
GRID_ALPHA = _grid(protection.ALPHA_RANGE)
GRID = list(itertools.product(GRID_FORMANT, GRID_PITCH, GRID_ALPHA))


# --- speakers with prosodic habits -------------------------------------------------------


@dataclass(frozen=True)
class Habit:
    """A speaker's prosody, kept across her sentences."""

    pitch: int  # espeak-ng -p (0-99)
    rate_wpm: int
    range_pct: int  # SSML <prosody range>, relative
    pause_ms: int  # before the news of the sentence
    rising: bool  # ends her sentences rising


def draw_habit(rng: random.Random) -> Habit:
    return Habit(
        pitch=rng.randint(25, 75),
        rate_wpm=rng.randint(125, 185),
        range_pct=rng.choice([-60, -30, 0, 40, 80]),
        pause_ms=rng.choice([0, 150, 300, 500]),
        rising=rng.random() < 0.4,
    )


def say(text: str, voice: str, habit: Habit) -> np.ndarray:
    """Her sentence as she says it (16 kHz): her voice, her habits."""
    body = text.rstrip(".")
    for joint in (" that ", " que "):
        if joint in body:
            head, tail = body.split(joint, 1)
            body = f'{head}{joint}<break time="{habit.pause_ms}ms"/>{tail}'
            break
    body += "?" if habit.rising else "."
    ssml = f'<speak><prosody range="{habit.range_pct:+d}%">{body}</prosody></speak>'
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "s.wav"
        subprocess.run(
            [
                "espeak-ng",
                "-m",
                "-v",
                voice,
                "-p",
                str(habit.pitch),
                "-s",
                str(habit.rate_wpm),
                "-w",
                str(wav),
            ],
            input=ssml.encode(),
            check=True,
            capture_output=True,
        )
        audio, rate = sf.read(str(wav), dtype="float32")
    return resample_poly(audio, RATE, rate).astype(np.float32)


# --- scores --------------------------------------------------------------------------------


def eer(genuine: np.ndarray, impostor: np.ndarray) -> tuple[float, float]:
    """Equal error rate, and the share of genuine trials accepted at 1 % false positives."""
    genuine, impostor = np.sort(genuine), np.sort(impostor)
    thresholds = np.unique(np.concatenate([genuine, impostor]))
    far = 1.0 - np.searchsorted(impostor, thresholds, side="left") / len(impostor)  # >= t
    frr = np.searchsorted(genuine, thresholds, side="left") / len(genuine)  # < t
    best = int(np.argmin(np.abs(far - frr)))
    at_1 = np.quantile(impostor, 0.99)
    return float(far[best] + frr[best]) / 2, float(np.mean(genuine > at_1))


@dataclass
class Trials:
    """Scores of (enrolled speaker, tested speaker) pairs; genuine when they are the same."""

    enrolled: list[int] = field(default_factory=list)
    tested: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def add(self, enrolled: int, tested: int, score: float) -> None:
        self.enrolled.append(enrolled)
        self.tested.append(tested)
        self.scores.append(score)

    def extend(self, other: Trials, offset: int = 0) -> None:
        self.enrolled += [s + offset for s in other.enrolled]
        self.tested += [s + offset for s in other.tested]
        self.scores += other.scores

    def eer(self, weights: np.ndarray | None = None) -> tuple[float, float]:
        enrolled, tested, scores = np.array(self.enrolled), np.array(self.tested), np.array(self.scores)
        if weights is not None:  # a resampling of speakers: each trial counted as often as both are drawn
            times = (weights[enrolled] * weights[tested]).astype(int)
            enrolled, tested, scores = (np.repeat(a, times) for a in (enrolled, tested, scores))
        same = enrolled == tested
        return eer(scores[same], scores[~same])

    def spread(self, rounds: int = 200, seed: int = 0) -> tuple[float, float]:
        """5th and 95th percentiles of the EER over resamplings of the speakers."""
        speakers = max(max(self.enrolled), max(self.tested)) + 1
        rng = np.random.default_rng(seed)
        values = []
        for _ in range(rounds):
            weights = np.bincount(rng.integers(0, speakers, speakers), minlength=speakers)
            if np.count_nonzero(weights) < 2:
                continue
            values.append(self.eer(weights)[0])
        low, high = np.quantile(values, [0.05, 0.95])
        return float(low), float(high)


def score_trials(
    enrolments: dict[int, np.ndarray], tests: dict[int, list[list[np.ndarray]]], similarity: str = "cosine"
) -> Trials:
    """Every enrolment against every test clip. An enrolment is one vector or several (rows:
    the forward-grid attacker's); a test clip comes with one or more candidate vectors (the
    inversion attacker's). The attacker keeps the best pair."""
    found = Trials()
    for s, t in itertools.product(enrolments, tests):
        rows = np.atleast_2d(enrolments[s])
        for candidates in tests[t]:
            points = np.atleast_2d(np.array(candidates))
            if similarity == "cosine":
                units = rows / np.linalg.norm(rows, axis=1, keepdims=True)
                score = float(np.max(units @ (points / np.linalg.norm(points, axis=1, keepdims=True)).T))
            else:  # the prosody attacker: negative distance between standardised features
                score = -float(np.min(np.linalg.norm(rows[:, None, :] - points[None, :, :], axis=2)))
            found.add(s, t, score)
    return found


# --- the prosody attacker -------------------------------------------------------------------


def prosody_features(audio: np.ndarray) -> np.ndarray:
    """Pitch and timing statistics of one clip: pitch median and 10-90 % range (semitones),
    slope over the clip and over its last 400 ms of voicing (semitones per second), voiced
    stretches per second of speech, and the mean and longest pause inside it (seconds)."""
    times, hertz = pitch_track(audio, RATE)
    voiced = hertz > 0
    if voiced.sum() < 5:
        return np.zeros(7)
    semitones = 12 * np.log2(hertz[voiced])
    at = times[voiced]
    slope = float(np.polyfit(at, semitones, 1)[0]) if np.ptp(at) > 0 else 0.0
    last = at >= at[-1] - 0.4
    end_slope = float(np.polyfit(at[last], semitones[last], 1)[0]) if np.ptp(at[last]) > 0.05 else 0.0
    frame = int(0.01 * RATE)
    energy = np.array(
        [np.sqrt(np.mean(audio[i : i + frame] ** 2) + 1e-12) for i in range(0, len(audio), frame)]
    )
    loud = energy > energy.max() * 10 ** (-35 / 20)
    inside = np.flatnonzero(loud)
    pauses: list[float] = []
    if len(inside):
        run = 0
        for is_loud in loud[inside[0] : inside[-1] + 1]:
            if is_loud:
                if run >= 8:  # 80 ms or more of silence between speech
                    pauses.append(run * 0.01)
                run = 0
            else:
                run += 1
    speech_s = max(loud.sum() * 0.01, 0.1)
    runs = np.count_nonzero(np.diff(voiced.astype(int)) == 1) + int(voiced[0])
    return np.array(
        [
            float(np.median(semitones)),
            float(np.percentile(semitones, 90) - np.percentile(semitones, 10)),
            slope,
            end_slope,
            runs / speech_s,
            float(np.mean(pauses)) if pauses else 0.0,
            max(pauses, default=0.0),
        ]
    )


# --- melody ---------------------------------------------------------------------------------


def timed_reference(reference: str, heard: Sequence[whisper.WordResult]) -> list[tuple[float, float, str]]:
    """The reference (reviewed) words with the times the transcriber heard them at; words it
    missed get times between their neighbours'."""
    words = reference.split()
    said = [normalise(w) for w in words]
    got = [normalise(w.text) for w in heard]
    times: list[tuple[float, float] | None] = [None] * len(words)
    matcher = difflib.SequenceMatcher(a=said, b=got, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            times[block.a + k] = (heard[block.b + k].start_s, heard[block.b + k].end_s)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "replace" and a2 - a1 == b2 - b1:
            for k in range(a2 - a1):
                times[a1 + k] = (heard[b1 + k].start_s, heard[b1 + k].end_s)
    known = [i for i, t in enumerate(times) if t is not None]
    if not known:
        return []
    result = []
    for i, word in enumerate(words):
        if times[i] is None:
            before = max((k for k in known if k < i), default=None)
            after = min((k for k in known if k > i), default=None)
            start = times[before][1] if before is not None else max(0.0, times[after][0] - 0.3)  # type: ignore[index]
            end = times[after][0] if after is not None else start + 0.3  # type: ignore[index]
            gap = (end - start) / ((after or i + 1) - (before if before is not None else i - 1))
            first = start + gap * (i - (before if before is not None else i - 1) - 1)
            times[i] = (first, first + max(gap, 0.05))
        result.append((times[i][0], times[i][1], word))  # type: ignore[index]
    return result


# --- utility ---------------------------------------------------------------------------------


def normalise(text: str) -> str:
    text = text.lower().replace("’", "'")
    return " ".join(re.sub(r"[^\w' ]", " ", text).split())


def transcribe_clips(
    recogniser: whisper.Recogniser, clips: list[np.ndarray], language: str
) -> list[list[whisper.WordResult]]:
    """Each clip's words (clip time). Each clip is decoded alone: revoiced clips of one sentence
    are the same for every speaker, and packed together they would read as a decoder's runaway
    repetition (and be dropped as one)."""
    gap = np.zeros(8000, np.float32)
    audio = np.concatenate([part for clip in clips for part in (clip, gap)])
    spans, cursor = [], 0
    for clip in clips:
        spans.append((cursor / RATE, (cursor + len(clip)) / RATE))
        cursor += len(clip) + len(gap)
    words = [
        w
        for segs in recogniser.transcribe_batch(audio, [whisper.pack([span])[0] for span in spans], language)
        for s in segs
        for w in s.words
    ]
    out: list[list[whisper.WordResult]] = [[] for _ in clips]
    for w in words:
        middle = (w.start_s + w.end_s) / 2
        index = next((i for i, (a, b) in enumerate(spans) if a - 0.25 <= middle <= b + 0.25), None)
        if index is not None:
            a = spans[index][0]
            start = max(0.0, w.start_s - a)
            out[index].append(whisper.WordResult(start, max(start, w.end_s - a), w.text, w.probability))
    return out


def word_error_rate(heard: list[list[whisper.WordResult]], texts: list[str]) -> float:
    return float(
        jiwer.wer(normalise(" ".join(texts)), normalise(" ".join(w.text for clip in heard for w in clip)))
    )


# --- attacks on disguise that need a grid (worker processes) ---------------------------------


def invert(audio: np.ndarray, formant: float, pitch: float, alpha: float) -> np.ndarray:
    """The attacker's inverse of disguise for one grid point: undo the McAdams warping, then
    the formant and pitch change (16 kHz in and out)."""
    work = resample_poly(audio, WORK_RATE_HZ, RATE)
    unwarped = mcadams(work, WORK_RATE_HZ, 1.0 / alpha)
    back = praat_change_gender(unwarped, WORK_RATE_HZ, 1.0 / formant, 1.0 / pitch, seed=1)
    return resample_poly(back, RATE, WORK_RATE_HZ).astype(np.float32)


def disguise_at(audio: np.ndarray, point: tuple[float, float, float]) -> np.ndarray:
    """Her clip disguised at one grid point, with a public salt (run in a worker process)."""
    return disguise(audio, RATE, DisguiseParams(*point, salt="0" * 32))


def invert_all(audio: np.ndarray, grid: list[tuple[float, float, float]]) -> list[np.ndarray]:
    return [invert(audio, *point) for point in grid]


# --- one language ------------------------------------------------------------------------------


@dataclass
class ModeResult:
    trials: dict[str, Trials] = field(default_factory=dict)
    wer: float = 0.0
    cpu_s: float = 0.0
    audio_s: float = 0.0
    melody: list[float] = field(default_factory=list)
    words: int = 0  # reference words its WER is counted over


def run_language(
    language: str,
    voices: list[str],
    reader: Voice,
    args: argparse.Namespace,
    recogniser: whisper.Recogniser,
    embed: Callable[[np.ndarray], np.ndarray],
) -> dict[str, ModeResult]:
    rng = random.Random(args.seed)
    habits = [draw_habit(rng) for _ in voices]
    texts = (sentences if language == "en" else french_sentences)(args.sentences, seed=5)
    half = args.sentences // 2
    print(f"[{language}] {len(voices)} speakers x {len(texts)} sentences: synthesising...", flush=True)
    raw = {s: [say(t, v, habits[s]) for t in texts] for s, v in enumerate(voices)}
    heard_raw = {s: transcribe_clips(recogniser, raw[s], language) for s in raw}
    timed = {s: [timed_reference(texts[i], heard_raw[s][i]) for i in range(len(texts))] for s in raw}
    test_texts = [texts[i] for _ in raw for i in range(half, len(texts))]
    results: dict[str, ModeResult] = {m: ModeResult() for m in MODES}

    raw_emb = {s: [embed(a) for a in raw[s]] for s in raw}
    raw_enrol = {s: np.mean(raw_emb[s][:half], axis=0) for s in raw}
    raw_prosody = {s: [prosody_features(a) for a in raw[s]] for s in raw}
    scale = np.std(np.concatenate([np.array(raw_prosody[s][:half]) for s in raw]), axis=0) + 1e-6
    prosody_enrol = {s: np.mean(raw_prosody[s][:half], axis=0) / scale for s in raw}

    def prosody_trials(outputs: dict[int, list[np.ndarray]]) -> Trials:
        tests = {s: [[prosody_features(o) / scale] for o in outputs[s]] for s in outputs}
        return score_trials(prosody_enrol, tests, similarity="distance")

    none = results["none"]
    none.trials["ignorant"] = score_trials(raw_enrol, {s: [[e] for e in raw_emb[s][half:]] for s in raw})
    none.trials["prosody"] = prosody_trials({s: raw[s][half:] for s in raw})
    none.wer = word_error_rate([heard_raw[s][i] for s in raw for i in range(half, len(texts))], test_texts)

    forward_enrol: dict[int, np.ndarray] = {}
    if not args.no_inversion and "disguise" in args.modes:
        print(f"[{language}] disguise: forward grid, enrolments at {len(GRID)} grid points...", flush=True)
        jobs = [(raw[s][i], point) for s in raw for point in GRID for i in range(half)]
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            rendered = list(pool.map(disguise_at, *zip(*jobs, strict=True), chunksize=8))
        embedded = iter([embed(a) for a in rendered])
        forward_enrol = {
            s: np.array([np.mean([next(embedded) for _ in range(half)], axis=0) for _ in GRID]) for s in raw
        }

    words_said = len(normalise(" ".join(test_texts)).split())
    for result in results.values():
        result.words = words_said
    made_once: dict[tuple[str, int, int], tuple[np.ndarray, list[tuple[float, float]]]] = {}

    def protect(
        mode: str, s: int, params: DisguiseParams | None, index: int
    ) -> tuple[np.ndarray, list[tuple[float, float]]]:
        """Her clip protected, and its word spans (for the melody measure). Revoice and retell
        have no secret: the same clip gives the same output, made once."""
        if (mode, s, index) in made_once:
            return made_once[(mode, s, index)]
        result = results[mode]
        start = _cpu()
        if mode == "disguise":
            assert params is not None
            out = disguise(raw[s][index], RATE, params)
            spans = [(a, b) for a, b, _w in timed[s][index]]
        elif mode == "revoice":
            out = speak(texts[index], reader, 0.0, RATE)
            words = [w for _a, _b, w in timed[s][index]]
            spans = [(w.start_s, w.end_s) for w in revoiced_word_times(words, 0.0, len(out) / RATE)]
        else:
            words = timed[s][index]
            out, placed = retell(words, raw[s][index], RATE, reader, 0.0, RATE)
            spans = [(p.start_s + words[0][0], p.end_s + words[0][0]) for p in placed]
            out = np.concatenate([np.zeros(int(words[0][0] * RATE), np.float32), out])  # on her timeline
        result.cpu_s += _cpu() - start
        result.audio_s += len(raw[s][index]) / RATE
        if mode != "disguise":
            made_once[(mode, s, index)] = (out, spans)
        return out, spans

    for mode in [m for m in ("disguise", "revoice", "retell") if m in args.modes]:
        draws = args.draws if mode == "disguise" else 1
        result = results[mode]
        result.trials = {
            attack: Trials() for attack in ATTACKS if attack != "forward grid" or mode == "disguise"
        }
        heard_clips: list[np.ndarray] = []
        for draw in range(draws):
            print(f"[{language}] {mode}, draw {draw + 1}/{draws}...", flush=True)
            params = {s: draw_disguise_params() for s in raw}
            other = {s: draw_disguise_params() for s in raw}
            made = {s: [protect(mode, s, params[s], i) for i in range(half, len(texts))] for s in raw}
            outputs = {s: [o for o, _spans in made[s]] for s in raw}
            for s in raw:
                for k, (out, spans) in enumerate(made[s]):
                    her_spans = [(a, b) for a, b, _w in timed[s][half + k]]
                    if len(spans) == len(her_spans):
                        value = melody_correlation(raw[s][half + k], RATE, her_spans, out, RATE, spans)
                        if value is not None:
                            result.melody.append(value)
            heard_clips += [o for s in raw for o in outputs[s]]
            protected = {s: [[embed(o)] for o in outputs[s]] for s in raw}
            lazy_enrol = {
                s: np.mean([embed(protect(mode, s, other[s], i)[0]) for i in range(half)], axis=0)
                for s in raw
            }
            same_enrol = {
                s: np.mean([embed(protect(mode, s, params[s], i)[0]) for i in range(half)], axis=0)
                for s in raw
            }
            offset = 0  # trials of every draw are pooled: the same speakers, new secrets
            for attack, enrolments in (("ignorant", raw_enrol), ("lazy", lazy_enrol), ("same", same_enrol)):
                result.trials[attack].extend(score_trials(enrolments, protected), offset)
            result.trials["prosody"].extend(prosody_trials(outputs), offset)
            if args.no_inversion:
                continue
            clips = {id(o): o for s in raw for o in outputs[s]}
            with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
                done = pool.map(invert_all, clips.values(), [GRID] * len(clips))
                inverted = dict(zip(clips, done, strict=True))
            candidates = {s: [[embed(a) for a in inverted[id(o)]] for o in outputs[s]] for s in raw}
            result.trials["inversion"].extend(score_trials(raw_enrol, candidates), offset)
            if mode == "disguise":
                result.trials["forward grid"].extend(score_trials(forward_enrol, protected), offset)
        heard = transcribe_clips(recogniser, heard_clips, language)
        result.wer = word_error_rate(heard, test_texts * draws)
    if args.keep:
        folder = args.keep / language
        folder.mkdir(parents=True, exist_ok=True)
        for s in list(raw)[:2]:
            sf.write(str(folder / f"speaker{s}-her.wav"), raw[s][half], RATE)
            for mode in ("revoice", "retell"):
                sf.write(str(folder / f"speaker{s}-{mode}.wav"), protect(mode, s, None, half)[0], RATE)
            sf.write(
                str(folder / f"speaker{s}-disguise.wav"),
                protect("disguise", s, draw_disguise_params(), half)[0],
                RATE,
            )
    return results


def _cpu() -> float:
    """CPU seconds of this process and of the programs it ran (espeak-ng and mbrola)."""
    times = os.times()
    return time.process_time() + times.children_user + times.children_system


# --- report ------------------------------------------------------------------------------------


def report(runs: list[dict[str, object]]) -> None:
    """The table of one run or several pooled (trials concatenated, speakers of each run kept
    apart, so resampling draws whole speakers)."""
    languages = sorted({str(r["language"]) for r in runs}, key=lambda code: code != "en")
    for language in languages:
        mine = [r for r in runs if r["language"] == language]
        speakers = sum(int(r["speakers"]) for r in mine)  # type: ignore[call-overload]
        base = Trials()
        print(f"\n== {language}: {speakers} speakers, {len(mine)} run(s) ==")
        header = f"{'mode':9}" + "".join(f"{a:>22}" for a in ATTACKS)
        print(f"{header} {'acc@1%FP':>9} {'WER':>6} {'melody r':>9} {'CPU s/s':>8}")
        for mode in MODES:
            pooled: dict[str, Trials] = {}
            offset = 0
            wer_words = wer_sum = cpu = audio = 0.0
            melody: list[float] = []
            for r in mine:
                m = r["modes"][mode]  # type: ignore[index]
                for attack, t in m["trials"].items():
                    pooled.setdefault(attack, Trials()).extend(Trials(**t), offset)
                offset += int(r["speakers"])  # type: ignore[call-overload]
                wer_sum += m["wer"] * m["words"]
                wer_words += m["words"]
                cpu += m["cpu_s"]
                audio += m["audio_s"]
                melody += m["melody"]
            if not any(t.scores for t in pooled.values()):
                continue  # not measured in these runs
            cells, accepted = [], 0.0
            for attack in ATTACKS:
                t = pooled.get(attack)
                if not t or not t.scores:
                    cells.append("-")
                    continue
                value, acc = t.eer()
                if attack != "prosody":
                    accepted = max(accepted, acc)
                low, high = t.spread()
                cells.append(f"{value:.1%} ({low:.0%}-{high:.0%})")
                if mode == "none" and attack == "ignorant":
                    base = t
            wer = wer_sum / wer_words if wer_words else float("nan")
            cpu_ratio = cpu / audio if audio else float("nan")
            tune = f"{np.mean(melody):.2f}" if melody else "-"
            print(
                f"{mode:9}"
                + "".join(f"{c:>22}" for c in cells)
                + f" {accepted:>9.1%} {wer:>6.1%} {tune:>9} {cpu_ratio:>8.3f}"
            )
        valid = base.scores and base.eer()[0] <= 0.05
        print(f"voice attacker on unprotected speech: {'VALID' if valid else 'INVALID (> 5 %)'} run")


def _load_runs(path: Path) -> list[dict[str, object]]:
    """The runs saved in a scores file (JSON, or gzipped JSON as kept in benchmarks/results/)."""
    import gzip

    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    runs: list[dict[str, object]] = json.loads(data.decode("utf-8"))
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--speakers", type=int, default=16, help="speakers that read English (at most 20)")
    parser.add_argument("--sentences", type=int, default=10)
    parser.add_argument("--languages", default="en,fr")
    parser.add_argument("--mbrola", type=Path, help="folder made by scripts/mbrola-voices (required)")
    parser.add_argument("--draws", type=int, default=3, help="disguise: independent draws of every secret")
    parser.add_argument("--seed", type=int, default=1, help="the speakers' prosodic habits")
    parser.add_argument("--no-inversion", action="store_true", help="skip inversion and forward grid")
    parser.add_argument(
        "--scores", type=Path, default=ROOT / "test-output" / "bench-anon", help="where to save"
    )
    parser.add_argument("--modes", default="disguise,revoice,retell", help="the protections to measure")
    parser.add_argument("--keep", type=Path, help="write a few clips of each mode here, to listen to")
    parser.add_argument("--pool", type=Path, nargs="+", help="print the table of saved runs, pooled")
    args = parser.parse_args()
    args.modes = args.modes.split(",")
    if args.pool:
        report([run for path in args.pool for run in _load_runs(path)])
        return
    if not args.mbrola:
        parser.error("--mbrola DIR is required (make bench-anon fetches the voices)")
    from resemblyzer import VoiceEncoder, preprocess_wav

    os.environ["PATH"] = f"{args.mbrola / 'root/usr/bin'}{os.pathsep}{os.environ['PATH']}"
    os.environ["ESPEAK_DATA_PATH"] = str(args.mbrola / "home")
    encoder = VoiceEncoder("cpu", verbose=False)
    recogniser = whisper.Recogniser(ModelStore(default_data_dir()).ready().path)

    def embed(audio: np.ndarray) -> np.ndarray:
        return encoder.embed_utterance(preprocess_wav(audio, source_sr=RATE))

    french_reader = Voice(
        "mb-" + FRENCH_READER,
        args.mbrola / "root/usr/share/mbrola" / FRENCH_READER / FRENCH_READER,
        args.mbrola / "home",
        "fr_FR",
        False,
        "mbrola",
    )
    started = time.time()
    runs = []
    for language in args.languages.split(","):
        voices = ENGLISH_READERS[: args.speakers] if language == "en" else FRENCH_SPEAKERS
        reader = _bundled() if language == "en" else french_reader
        results = run_language(language, voices, reader, args, recogniser, embed)
        runs.append(
            {
                "language": language,
                "speakers": len(voices),
                "voices": voices,
                "reader": reader.name,
                "seed": args.seed,
                "draws": args.draws,
                "sentences": args.sentences,
                "modes": {
                    mode: {
                        "trials": {a: asdict(t) for a, t in r.trials.items()},
                        "wer": r.wer,
                        "words": r.words,
                        "cpu_s": r.cpu_s,
                        "audio_s": r.audio_s,
                        "melody": r.melody,
                    }
                    for mode, r in results.items()
                },
            }
        )
    args.scores.mkdir(parents=True, exist_ok=True)
    saved = args.scores / f"scores-{time.strftime('%Y%m%d-%H%M%S')}-seed{args.seed}.json"
    saved.write_text(json.dumps(runs), encoding="utf-8")
    report(runs)
    print(f"\ntrial scores saved in {saved} (pool runs: --pool FILE...); {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
