"""Transcription benchmark: `podcast transcribe` against whisper-ctranslate2 on the same model.

A generated 10-minute, 4-speaker session (espeak-ng voices, one microphone channel each,
-20 dB bleed) is transcribed in one run by each tool. Prints wall time, real-time factor,
CPU time, peak RSS and WER. Run with `make bench-transcribe`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

import jiwer
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


def run_session(
    seed: int, minutes: float, tmp: Path, model_path: Path
) -> list[tuple[str, Run, str, str, str]]:
    """Generate one session and transcribe it with each tool; rows of (tool, run, reference,
    hypothesis, speakers)."""
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
    reference = normalise(" ".join(t for _, t in script))
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
    hypothesis = normalise(" ".join(u.text for u in transcript.utterances))
    attributed = sum(len(u.words) for u in transcript.utterances if u.speaker != "unknown")
    total_words = sum(len(u.words) for u in transcript.utterances)
    rows.append(("podcast transcribe", ours, reference, hypothesis, f"{attributed}/{total_words} words"))

    peer = shutil.which("whisper-ctranslate2") or str(Path(sys.executable).with_name("whisper-ctranslate2"))
    if not Path(peer).exists():
        print("whisper-ctranslate2 is not installed: pip install whisper-ctranslate2==0.5.8")
        return rows
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
        rows.append((label, run, reference, normalise(text), "no"))
    return rows


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
    results: dict[str, list[tuple[Run, str, str, str]]] = {}
    audio_s = 0.0
    for seed in range(1, args.sessions + 1):
        folder = tmp / f"session-{seed}"
        folder.mkdir()
        for label, run, reference, hypothesis, speakers in run_session(
            seed, args.minutes, folder, model.path
        ):
            results.setdefault(label, []).append((run, reference, hypothesis, speakers))
        audio_s += sf.info(str(folder / "mix.wav")).duration

    print()
    header = f"{'tool':34} {'wall s':>8} {'x real time':>12} {'CPU s':>8} {'peak RSS MiB':>13}"
    print(f"{header} {'WER':>7}  speakers")
    for label, runs in results.items():
        wall = sum(r.wall_s for r, *_ in runs)
        cpu = sum(r.cpu_s for r, *_ in runs)
        rss = max(r.peak_rss_mib for r, *_ in runs)
        # Word errors pooled over the sessions.
        wer = jiwer.wer([ref for _, ref, _, _ in runs], [hyp or "-" for _, _, hyp, _ in runs])
        speakers = ", ".join(s for *_, s in runs)
        print(f"{label:34} {wall:8.1f} {wall / audio_s:12.3f} {cpu:8.1f} {rss:13.0f} {wer:7.2%}  {speakers}")
    ours = results.get("podcast transcribe")
    if ours and len(results) == 4:
        ours_s = sum(r.wall_s for r, *_ in ours)
        print()
        for label in list(results)[1:]:
            peer_s = sum(r.wall_s for r, *_ in results[label])
            print(f"wall-time ratio podcast / {label}: {ours_s / peer_s:.2f}")
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
