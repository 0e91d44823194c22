"""Transcription benchmark: `podcast transcribe` against whisper-ctranslate2 on the same model.

A generated 10-minute, 4-speaker session (espeak-ng voices, one microphone channel each,
-20 dB bleed) is transcribed in one run by each tool. Prints wall time, real-time factor,
CPU time, peak RSS and WER, and the WER difference between `podcast transcribe` and each peer
with a 95 % confidence interval (paired bootstrap over sentences): on a few thousand words,
differences of a few tenths of a point are within the noise. Run with `make bench-transcribe`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import jiwer
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import Run, measure, sentences  # noqa: E402
from consent import participants  # noqa: E402
from podcast.demo import generate_workshop  # noqa: E402
from podcast.models import ModelStore, default_data_dir  # noqa: E402
from podcast.settings import ShowSettings  # noqa: E402
from podcast.workspace import Workspace  # noqa: E402
from sessions import importer, sessions, transcripts  # noqa: E402

VOICES = (
    ("Amara", "en+f3", 55),
    ("Blessing", "en-us+f4", 70),
    ("Chidinma", "en+m3", 35),
    ("Dounia", "en+f2", 60),
)


def normalise(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9' ]", " ", text.lower()).split())


def sentence_errors(sentence_words: list[int], reference: str, hypothesis: str) -> np.ndarray:
    """Word errors (substitutions, deletions, insertions) charged to each reference sentence;
    they add up to the errors jiwer counts."""
    owner = np.repeat(np.arange(len(sentence_words)), sentence_words)
    errors = np.zeros(len(sentence_words))
    alignment = jiwer.process_words(reference, hypothesis or "-").alignments[0]
    for chunk in alignment:
        if chunk.type in ("substitute", "delete"):
            np.add.at(errors, owner[chunk.ref_start_idx : chunk.ref_end_idx], 1)
        elif chunk.type == "insert":
            errors[owner[min(chunk.ref_start_idx, len(owner) - 1)]] += chunk.hyp_end_idx - chunk.hyp_start_idx
    return errors


def wer_difference(words: np.ndarray, ours: np.ndarray, peer: np.ndarray) -> tuple[float, float, float]:
    """Our WER minus the peer's, with a 95 % interval from a paired bootstrap over sentences."""
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(words), size=(2000, len(words)))
    diffs = (ours[picks].sum(axis=1) - peer[picks].sum(axis=1)) / words[picks].sum(axis=1)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return float((ours.sum() - peer.sum()) / words.sum()), float(low), float(high)


def run_session(
    seed: int, minutes: float, tmp: Path, model_path: Path
) -> tuple[list[str], list[tuple[str, Run, str, str]]]:
    """Generate one session and transcribe it with each tool: the sentences read, and rows of
    (tool, run, text heard, speakers)."""
    names = [v[0] for v in VOICES]
    texts = sentences(400, seed=seed)
    # Grow the script until the audio is long enough (about 6 s per sentence).
    count = int(minutes * 60 / 6.2)
    while True:
        script = [(names[i % 4], texts[i]) for i in range(count)]
        audio, _timeline = generate_workshop(tuple(script), VOICES, gap_s=0.7)
        if len(audio) / 48_000 >= minutes * 60 * 0.97 or count >= len(texts):
            break
        count += 8
    duration_s = len(audio) / 48_000
    source = tmp / "session.wav"
    sf.write(str(source), audio, 48_000, subtype="PCM_16")
    mix = tmp / "mix.wav"
    sf.write(str(mix), audio.mean(axis=1), 48_000, subtype="PCM_16")
    print(f"session {seed}: {duration_s / 60:.1f} min, {len(script)} sentences, 4 channels")

    ws = Workspace.create(tmp / "ws", ShowSettings(title="Bench", language="en"))
    for name in names:
        participants.add(ws, name)
    session = sessions.create(ws, "Bench", names, language="auto")
    importer.import_files(ws, session.id, [source])
    ws.close()

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ORT_DISABLE_TELEMETRY": "1"}
    podcast = shutil.which("podcast") or str(Path(sys.executable).with_name("podcast"))
    rows = []
    ours = measure([podcast, "-q", "-w", str(ws.root), "transcribe", str(session.id)], env=env)
    ws = Workspace.open(ws.root)
    transcript = transcripts.load(ws, session.id)
    ws.close()
    hypothesis = " ".join(u.text for u in transcript.utterances)
    attributed = sum(len(u.words) for u in transcript.utterances if u.speaker != "unknown")
    total_words = sum(len(u.words) for u in transcript.utterances)
    rows.append(("podcast transcribe", ours, hypothesis, f"{attributed}/{total_words} words"))

    peer = shutil.which("whisper-ctranslate2") or str(Path(sys.executable).with_name("whisper-ctranslate2"))
    if not Path(peer).exists():
        print("whisper-ctranslate2 is not installed: pip install whisper-ctranslate2==0.5.8")
        return [t for _, t in script], rows
    fast = ["--batched", "True", "--vad_filter", "True", "--compute_type", "int8"]
    for label, extra in (
        ("whisper-ctranslate2 default", []),
        ("whisper-ctranslate2 batched", fast),
        # Same work as ours: the transcript needs word times.
        ("whisper-ctranslate2 batched+words", [*fast, "--word_timestamps", "True"]),
    ):
        out = tmp / label.replace(" ", "-")
        run = measure(
            [
                peer,
                str(mix),
                "--model_directory",
                str(model_path),
                "--device",
                "cpu",
                "--output_dir",
                str(out),
                "--output_format",
                "txt",
                *extra,
            ],
            env=env,
        )
        text = " ".join(p.read_text() for p in out.glob("*.txt")) if out.exists() else ""
        rows.append((label, run, text, "no"))
    return [t for _, t in script], rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument(
        "--sessions", type=int, default=1, help="sessions with different sentences (WER is noisy)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    model = ModelStore(default_data_dir()).ready()
    tmp = Path(tempfile.mkdtemp(prefix="bench-transcribe-"))
    results: dict[str, list[tuple[Run, str, str]]] = {}  # per tool: (run, text heard, speakers)
    scripts: list[list[str]] = []  # per session, the sentences read
    audio_s = 0.0
    for seed in range(1, args.sessions + 1):
        folder = tmp / f"session-{seed}"
        folder.mkdir()
        script, rows = run_session(seed, args.minutes, folder, model.path)
        scripts.append(script)
        for label, run, heard, speakers in rows:
            results.setdefault(label, []).append((run, heard, speakers))
        audio_s += sf.info(str(folder / "mix.wav")).duration

    normalisers: dict[str, Callable[[str], str]] = {"simple": normalise}
    try:
        # Whisper's own English normaliser (the usual one for WER): also maps spelling
        # variants such as neighbour/neighbor, which are not recognition errors.
        from whisper_normalizer.english import EnglishTextNormalizer

        normalisers["Whisper"] = lambda text, english=EnglishTextNormalizer(): normalise(english(text))
    except ImportError:
        print("whisper-normalizer is not installed: WER with the simple normaliser only")
    # Per normaliser and tool, the word errors charged to each sentence of all sessions.
    errors: dict[str, dict[str, np.ndarray]] = {}
    words: dict[str, np.ndarray] = {}
    for name, norm in normalisers.items():
        counts = [[len(norm(sentence).split()) for sentence in script] for script in scripts]
        words[name] = np.concatenate(counts)
        errors[name] = {
            label: np.concatenate(
                [
                    sentence_errors(count, " ".join(norm(t) for t in script), norm(heard))
                    for count, script, (_, heard, _) in zip(counts, scripts, runs, strict=True)
                ]
            )
            for label, runs in results.items()
        }

    print()
    header = f"{'tool':34} {'wall s':>8} {'x real time':>12} {'CPU s':>8} {'peak RSS MiB':>13}"
    print(header + "".join(f" {'WER ' + name:>13}" for name in normalisers) + "  speakers")
    for label, runs in results.items():
        wall = sum(r.wall_s for r, *_ in runs)
        cpu = sum(r.cpu_s for r, *_ in runs)
        rss = max(r.peak_rss_mib for r, *_ in runs)
        # Word errors pooled over the sessions.
        wers = "".join(f" {errors[name][label].sum() / words[name].sum():13.2%}" for name in normalisers)
        speakers = ", ".join(s for *_, s in runs)
        print(f"{label:34} {wall:8.1f} {wall / audio_s:12.3f} {cpu:8.1f} {rss:13.0f}{wers}  {speakers}")
    ours = results.get("podcast transcribe")
    if ours and len(results) == 4:
        ours_s = sum(r.wall_s for r, *_ in ours)
        print()
        for label in list(results)[1:]:
            peer_s = sum(r.wall_s for r, *_ in results[label])
            print(f"wall-time ratio podcast / {label}: {ours_s / peer_s:.2f}")
        for name in normalisers:
            print(
                f"\nWER difference, {name} normaliser (paired bootstrap over {len(words[name])} sentences):"
            )
            for label in list(results)[1:]:
                diff, low, high = wer_difference(
                    words[name], errors[name]["podcast transcribe"], errors[name][label]
                )
                print(f"  podcast - {label}: {diff:+.2%} points (95 % interval {low:+.2%} to {high:+.2%})")
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
