"""Anonymisation benchmark: a speaker-verification attacker against revoice and disguise.

Speakers: espeak-ng voices (MBROLA diphone voices recorded from real people where the
Debian packages are installed, else espeak-ng variants) x 10 sentences. Attacker:
resemblyzer's bundled encoder (needs torch: `pip install torch==2.13.0 resemblyzer`, run by
`make bench-anon`). Prints EER for ignorant, lazy-informed and same-parameters attackers,
the share of true-speaker trials accepted at 1 % false positives, WER of the local
transcriber and CPU seconds per audio second. The run is invalid unless the attacker's EER
on unprotected speech is <= 5 %.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import sentences  # noqa: E402
from consent.protection import DisguiseParams, _draw  # noqa: E402
from podcast import speech  # noqa: E402
from publish.disguise import disguise  # noqa: E402
from publish.revoice import speak  # noqa: E402
from publish.voices import _bundled  # noqa: E402

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


def random_params() -> DisguiseParams:
    return DisguiseParams(
        _draw(0.88, 1.14, avoid=(0.95, 1.05)),
        _draw(0.82, 1.22, avoid=(0.93, 1.07)),
        _draw(0.75, 0.9),
        f"{np.random.default_rng().integers(0, 2**62):032x}",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--speakers", type=int, default=8)
    parser.add_argument("--sentences", type=int, default=10)
    args = parser.parse_args()
    from resemblyzer import VoiceEncoder, preprocess_wav

    encoder = VoiceEncoder("cpu", verbose=False)
    texts = sentences(args.sentences, seed=5)
    raw: dict[int, list[np.ndarray]] = {}
    for s in range(args.speakers):
        raw[s] = []
        for text in texts:
            audio, rate = speech.synthesize(text, voice=VOICES[s], pitch=40 + 5 * s)
            raw[s].append(resample_poly(audio, 16000, rate).astype(np.float32))

    def embed(audio: np.ndarray) -> np.ndarray:
        return encoder.embed_utterance(preprocess_wav(audio, source_sr=16000))

    cpu = {"disguise": 0.0, "revoice": 0.0}
    produced = {"disguise": 0.0, "revoice": 0.0}  # seconds of audio each mode rendered

    revoiced: dict[tuple[int, int], np.ndarray] = {}

    def protect(mode: str, s: int, params: DisguiseParams | None, index: int) -> np.ndarray:
        if mode == "revoice" and (s, index) in revoiced:
            return revoiced[(s, index)]  # deterministic: the same text gives the same audio
        start = time.process_time()
        if mode == "disguise":
            assert params is not None
            out = disguise(raw[s][index], 16000, params)
        else:
            # One colour for everyone: the colour is a per-pseudonym label chosen by the tool,
            # not taken from her voice; what is measured is whether her voice leaks through.
            out = speak(texts[index], _bundled(), 0.0, 16000)
            revoiced[(s, index)] = out
        cpu[mode] += time.process_time() - start
        produced[mode] += len(raw[s][index]) / 16000
        return out

    half = args.sentences // 2
    rows = []
    raw_emb = {s: [embed(a) for a in raw[s]] for s in raw}
    genuine, impostor = [], []
    for s, t in itertools.product(raw, raw):
        enrol = np.mean(raw_emb[s][:half], axis=0)
        for e in raw_emb[t][half:]:
            (genuine if s == t else impostor).append(float(np.dot(enrol, e) / np.linalg.norm(enrol)))
    base_eer, base_acc = eer(np.array(genuine), np.array(impostor))
    rows.append(("none", base_eer, None, None, base_acc))
    for mode in ("disguise", "revoice"):
        params = {s: random_params() for s in raw}
        other = {s: random_params() for s in raw}
        protected = {
            s: [embed(protect(mode, s, params[s], i)) for i in range(half, args.sentences)] for s in raw
        }
        lazy_enrol = {
            s: np.mean([embed(protect(mode, s, other[s], i)) for i in range(half)], axis=0) for s in raw
        }
        same_enrol = {
            s: np.mean([embed(protect(mode, s, params[s], i)) for i in range(half)], axis=0) for s in raw
        }
        results = []
        for enrolments in ({s: np.mean(raw_emb[s][:half], axis=0) for s in raw}, lazy_enrol, same_enrol):
            g, imp = [], []
            for s, t in itertools.product(raw, raw):
                for e in protected[t]:
                    score = float(np.dot(enrolments[s], e) / np.linalg.norm(enrolments[s]))
                    (g if s == t else imp).append(score)
            results.append(eer(np.array(g), np.array(imp)))
        rows.append((mode, results[0][0], results[1][0], results[2][0], max(r[1] for r in results)))
    print(
        f"{args.speakers} speakers x {args.sentences} sentences (espeak-ng variants), attacker: resemblyzer"
    )
    valid = base_eer <= 0.05
    print(
        f"attacker on unprotected speech: EER {base_eer:.1%} -> run {'VALID' if valid else 'INVALID (> 5 %)'}"
    )
    header = f"{'mode':10} {'ignorant':>9} {'lazy':>9} {'same par.':>10}"
    print(f"{header} {'accepted@1%FP':>14} {'CPU s/audio s':>14}")
    for mode, ign, lazy, same, acc in rows:
        cpu_ratio = cpu[mode] / produced[mode] if produced.get(mode) else float("nan")
        fmt = lambda v: "-" if v is None else f"{v:.1%}"  # noqa: E731
        print(f"{mode:10} {fmt(ign):>9} {fmt(lazy):>9} {fmt(same):>10} {acc:>14.1%} {cpu_ratio:>14.3f}")


if __name__ == "__main__":
    main()
