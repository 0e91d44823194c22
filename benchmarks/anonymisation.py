"""Anonymisation benchmark: a speaker-verification attacker against revoice and disguise.

Speakers: 8 MBROLA diphone voices (recorded from real people; `--mbrola DIR` with the folder
made by scripts/mbrola-voices, as `make bench-anon` does), else espeak-ng variants; 10
sentences each. Attacker: resemblyzer's bundled encoder (needs torch: `pip install
torch==2.13.0 resemblyzer`). Prints, per mode, the EER for four attackers:
- ignorant: enrols on her unprotected voice;
- lazy-informed: enrols on her voice protected with a fresh random draw of the method;
- same-parameters: enrols on her voice protected with her own (secret) parameters;
- inversion: applies the inverse transform for every point of a parameter grid covering
  the method's public ranges, and keeps the best-matching one for each trial;
- forward grid (disguise): enrols on her voice disguised with every point of the same grid
  (and a fixed salt: the salt only seeds noise), and keeps the best-matching enrolment for
  each trial. Disguise throws information away (her timbre and her excitation), so no
  inverse gives her voice back; this attacker does not need one;
then the share of true-speaker trials accepted at 1 % false positives (worst attacker), WER
of the local transcriber on the output and on the original, and CPU seconds per audio
second. Disguise trials are pooled over several independent draws of every speaker's secret
parameters (`--draws`, default 3): with one draw of 8 speakers, two runs differed by 5
points. The run is invalid unless the attacker's EER on unprotected speech is <= 5 %.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import jiwer
import numpy as np
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import sentences  # noqa: E402
from benchmarks.transcribe import normalise  # noqa: E402
from consent import protection  # noqa: E402
from consent.protection import DisguiseParams, draw_disguise_params  # noqa: E402
from podcast import speech  # noqa: E402
from podcast.models import ModelStore, default_data_dir  # noqa: E402
from publish.disguise import WORK_RATE_HZ, disguise, mcadams, praat_change_gender  # noqa: E402
from publish.revoice import speak  # noqa: E402
from publish.voices import _bundled  # noqa: E402
from sessions import whisper  # noqa: E402

# MBROLA voices that read English: four English and American speakers, and French and
# German speakers with espeak-ng's English phoneme mapping.
MBROLA_VOICES = ["mb-en1", "mb-us1", "mb-us2", "mb-us3", "mb-fr1-en", "mb-fr4-en", "mb-de1-en", "mb-de2-en"]


def _grid(span: tuple[float, float], avoid: tuple[float, float] | None = None) -> tuple[float, ...]:
    """The inversion attacker's grid over one public range: two points on each side."""
    parts = [(span[0], avoid[0]), (avoid[1], span[1])] if avoid else [span]
    return tuple(round(low + (high - low) * f, 3) for low, high in parts for f in (0.25, 0.75))


GRID_FORMANT = _grid(protection.FORMANT_RANGE, protection.FORMANT_AVOID)
GRID_PITCH = _grid(protection.PITCH_RANGE, protection.PITCH_AVOID)
GRID_ALPHA = _grid(protection.ALPHA_RANGE)

VOICES = [
    "en+f1",
    "en+f2",
    "en+f3",
    "en+f4",
    "en+m1",
    "en+m2",
    "en+m3",
    "en+m4",
    "en-us+f2",
    "en-us+m5",
    "en-gb-x-rp+f3",
    "en-gb-scotland+m2",
]


def eer(genuine: np.ndarray, impostor: np.ndarray) -> tuple[float, float]:
    """Equal error rate, and the share of genuine trials accepted at 1 % false positives."""
    thresholds = np.unique(np.concatenate([genuine, impostor]))
    best = (1.0, 0.0)
    for t in thresholds:
        far = float(np.mean(impostor >= t))
        frr = float(np.mean(genuine < t))
        if abs(far - frr) < abs(best[0] - best[1]):
            best = (far, frr)
    at_1 = np.quantile(impostor, 0.99)
    return (best[0] + best[1]) / 2, float(np.mean(genuine > at_1))


def invert(audio: np.ndarray, formant: float, pitch: float, alpha: float) -> np.ndarray:
    """The attacker's inverse of disguise for one grid point: undo the McAdams warping, then
    the formant and pitch change (16 kHz in and out)."""
    work = resample_poly(audio, WORK_RATE_HZ, 16000)
    unwarped = mcadams(work, WORK_RATE_HZ, 1.0 / alpha)
    back = praat_change_gender(unwarped, WORK_RATE_HZ, 1.0 / formant, 1.0 / pitch, seed=1)
    return resample_poly(back, 16000, WORK_RATE_HZ).astype(np.float32)


def disguise_at(audio: np.ndarray, point: tuple[float, float, float]) -> np.ndarray:
    """Her clip disguised at one grid point, with a public salt (run in a worker process)."""
    return disguise(audio, 16000, DisguiseParams(*point, salt="0" * 32))


def invert_all(audio: np.ndarray, grid: list[tuple[float, float, float]]) -> list[np.ndarray]:
    """The inverse of one clip for every grid point (run in a worker process)."""
    return [invert(audio, *point) for point in grid]


@dataclass
class Trials:
    genuine: list[float]
    impostor: list[float]

    def extend(self, other: Trials) -> None:
        self.genuine += other.genuine
        self.impostor += other.impostor


def word_error_rate(recogniser: whisper.Recogniser, clips: list[np.ndarray], texts: list[str]) -> float:
    """WER of the local transcriber over clips (each read alone, packed 30 s at a time)."""
    gap = np.zeros(8000, np.float32)
    audio = np.concatenate([part for clip in clips for part in (clip, gap)])
    spans: list[tuple[float, float]] = []
    cursor = 0
    for clip in clips:
        spans.append((cursor / 16000, (cursor + len(clip)) / 16000))
        cursor += len(clip) + len(gap)
    chunks = whisper.pack(spans)
    heard = [
        w.text for segs in recogniser.transcribe_batch(audio, chunks, "en") for s in segs for w in s.words
    ]
    return float(jiwer.wer(normalise(" ".join(texts)), normalise(" ".join(heard))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--speakers", type=int, default=8)
    parser.add_argument("--sentences", type=int, default=10)
    parser.add_argument("--mbrola", type=Path, help="folder made by scripts/mbrola-voices")
    parser.add_argument(
        "--draws", type=int, default=3, help="disguise: independent draws of every speaker's secret"
    )
    parser.add_argument(
        "--no-inversion", action="store_true", help="skip the slow attacks: inversion and forward grid"
    )
    args = parser.parse_args()
    from resemblyzer import VoiceEncoder, preprocess_wav

    if args.mbrola:
        os.environ["PATH"] = f"{args.mbrola / 'root/usr/bin'}{os.pathsep}{os.environ['PATH']}"
        os.environ["ESPEAK_DATA_PATH"] = str(args.mbrola / "home")
        voices = [(v, 50) for v in MBROLA_VOICES[: args.speakers]]
        kind = "MBROLA diphone voices"
    else:
        voices = [(v, 40 + 5 * i) for i, v in enumerate(VOICES[: args.speakers])]
        kind = "espeak-ng variants"
    encoder = VoiceEncoder("cpu", verbose=False)
    recogniser = whisper.Recogniser(ModelStore(default_data_dir()).ready().path)
    texts = sentences(args.sentences, seed=5)
    raw: dict[int, list[np.ndarray]] = {}
    for s, (voice, pitch) in enumerate(voices):
        raw[s] = []
        for text in texts:
            audio, rate = speech.synthesize(text, voice=voice, pitch=pitch)
            raw[s].append(resample_poly(audio, 16000, rate).astype(np.float32))

    def embed(audio: np.ndarray) -> np.ndarray:
        return encoder.embed_utterance(preprocess_wav(audio, source_sr=16000))

    cpu = {"disguise": 0.0, "revoice": 0.0}
    produced = {"disguise": 0.0, "revoice": 0.0}  # seconds of audio each mode rendered

    revoiced: dict[int, np.ndarray] = {}

    def protect(mode: str, s: int, params: DisguiseParams | None, index: int) -> np.ndarray:
        if mode == "revoice" and index in revoiced:
            return revoiced[index]  # deterministic: the same text gives the same audio, whoever said it
        start = time.process_time()
        if mode == "disguise":
            assert params is not None
            out = disguise(raw[s][index], 16000, params)
        else:
            # One colour for everyone: the colour is a per-pseudonym label chosen by the tool,
            # not taken from her voice; what is measured is whether her voice leaks through.
            out = speak(texts[index], _bundled(), 0.0, 16000)
            revoiced[index] = out
        cpu[mode] += time.process_time() - start
        produced[mode] += len(raw[s][index]) / 16000
        return out

    def trials(enrolments: dict[int, np.ndarray], tests: dict[int, list[list[np.ndarray]]]) -> Trials:
        """Genuine and impostor scores. An enrolment is one embedding or several (rows: the
        forward-grid attacker's); each test clip comes with one or more candidate embeddings
        (the inversion attacker's grid). The attacker keeps the best pair."""
        found = Trials([], [])
        for s, t in itertools.product(raw, raw):
            rows = np.atleast_2d(enrolments[s])
            units = rows / np.linalg.norm(rows, axis=1, keepdims=True)
            for candidates in tests[t]:
                score = float(np.max(units @ np.array(candidates).T))
                (found.genuine if s == t else found.impostor).append(score)
        return found

    half = args.sentences // 2
    test_texts = [texts[i] for _ in raw for i in range(half, args.sentences)]
    raw_emb = {s: [embed(a) for a in raw[s]] for s in raw}
    raw_enrol = {s: np.mean(raw_emb[s][:half], axis=0) for s in raw}
    base = trials(raw_enrol, {s: [[e] for e in raw_emb[s][half:]] for s in raw})
    base_eer, base_acc = eer(np.array(base.genuine), np.array(base.impostor))
    base_wer = word_error_rate(
        recogniser, [raw[s][i] for s in raw for i in range(half, args.sentences)], test_texts
    )
    rows: list[tuple[str, list[float | None], float, float]] = [("none", [base_eer], base_acc, base_wer)]
    grid = list(itertools.product(GRID_FORMANT, GRID_PITCH, GRID_ALPHA))
    attacks = ("ignorant", "lazy", "same", "inversion", "forward grid")
    forward_enrol: dict[int, np.ndarray] = {}
    if not args.no_inversion:
        # Her enrolment clips disguised at every grid point (the grid and the salt are public,
        # so these do not depend on the draw): one enrolment per grid point.
        print(f"disguise: forward grid, enrolments at {len(grid)} grid points...", flush=True)
        jobs = [(raw[s][i], point) for s in raw for point in grid for i in range(half)]
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            rendered = list(pool.map(disguise_at, *zip(*jobs, strict=True), chunksize=8))
        embedded = iter([embed(a) for a in rendered])
        forward_enrol = {
            s: np.array([np.mean([next(embedded) for _ in range(half)], axis=0) for _ in grid]) for s in raw
        }
    for mode in ("disguise", "revoice"):
        # Each draw gives every speaker a fresh secret; trials are pooled over the draws.
        # Revoice has no secret: one draw measures it.
        draws = args.draws if mode == "disguise" else 1
        pooled = {attack: Trials([], []) for attack in attacks}
        heard: list[np.ndarray] = []
        for draw in range(draws):
            params = {s: draw_disguise_params() for s in raw}
            other = {s: draw_disguise_params() for s in raw}
            outputs = {s: [protect(mode, s, params[s], i) for i in range(half, args.sentences)] for s in raw}
            heard += [o for s in raw for o in outputs[s]]
            protected = {s: [[embed(o)] for o in outputs[s]] for s in raw}
            lazy_enrol = {
                s: np.mean([embed(protect(mode, s, other[s], i)) for i in range(half)], axis=0) for s in raw
            }
            same_enrol = {
                s: np.mean([embed(protect(mode, s, params[s], i)) for i in range(half)], axis=0) for s in raw
            }
            for attack, enrolments in zip(attacks, (raw_enrol, lazy_enrol, same_enrol), strict=False):
                pooled[attack].extend(trials(enrolments, protected))
            if args.no_inversion:
                continue
            # Inversion: every grid point's inverse of each protected clip; for each trial the
            # attacker keeps the best score over the grid. Revoiced clips are shared: each is
            # inverted once.
            print(f"{mode}, draw {draw + 1}/{draws}: inversion over {len(grid)} grid points...", flush=True)
            clips = {id(o): o for s in raw for o in outputs[s]}
            with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
                done = pool.map(invert_all, clips.values(), [grid] * len(clips))
                inverted = dict(zip(clips, done, strict=True))
            candidates = {s: [[embed(a) for a in inverted[id(o)]] for o in outputs[s]] for s in raw}
            pooled["inversion"].extend(trials(raw_enrol, candidates))
            if mode == "disguise":
                pooled["forward grid"].extend(trials(forward_enrol, protected))
        results = [
            eer(np.array(t.genuine), np.array(t.impostor)) if t.genuine else None for t in pooled.values()
        ]
        wer = word_error_rate(recogniser, heard, test_texts * draws)
        rows.append((mode, [r[0] if r else None for r in results], max(r[1] for r in results if r), wer))
    print(
        f"{len(raw)} speakers x {args.sentences} sentences ({kind}), attacker: resemblyzer; "
        f"disguise pooled over {args.draws} draws of every speaker's secret parameters"
    )
    valid = base_eer <= 0.05
    print(
        f"attacker on unprotected speech: EER {base_eer:.1%} -> run {'VALID' if valid else 'INVALID (> 5 %)'}"
    )
    header = f"{'mode':10} {'ignorant':>9} {'lazy':>9} {'same par.':>10} {'inversion':>10} {'fwd grid':>9}"
    print(f"{header} {'accepted@1%FP':>14} {'WER':>7} {'CPU s/audio s':>14}")
    for mode, eers, accepted, wer in rows:
        cpu_ratio = cpu[mode] / produced[mode] if produced.get(mode) else float("nan")
        cells = [f"{v:.1%}" if v is not None else "-" for v in eers] + ["-"] * (5 - len(eers))
        print(
            f"{mode:10} {cells[0]:>9} {cells[1]:>9} {cells[2]:>10} {cells[3]:>10} {cells[4]:>9} "
            f"{accepted:>14.1%} {wer:>7.1%} {cpu_ratio:>14.3f}"
        )
    print(f"WER on the original voices: {base_wer:.1%} (revoice target: at most 5 points more)")


if __name__ == "__main__":
    main()
