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

from benchmarks.common import measure, sentences  # noqa: E402
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    store = ModelStore(default_data_dir())
    model = store.ready()
    tmp = Path(tempfile.mkdtemp(prefix="bench-transcribe-"))
    names = [v[0] for v in VOICES]
    script: list[tuple[str, str]] = []
    texts = sentences(400)
    audio = None
    # Grow the script until the audio is long enough (about 6 s per sentence).
    count = int(args.minutes * 60 / 6.2)
    while True:
        script = [(names[i % 4], texts[i]) for i in range(count)]
        audio, _timeline = generate_workshop(tuple(script), VOICES, gap_s=0.7)
        if len(audio) / 48_000 >= args.minutes * 60 * 0.97 or count >= len(texts):
            break
        count += 8
    duration_s = len(audio) / 48_000
    reference = normalise(" ".join(t for _, t in script))
    source = tmp / "session.wav"
    sf.write(str(source), audio, 48_000, subtype="PCM_16")
    mix = tmp / "mix.wav"
    sf.write(str(mix), audio.mean(axis=1), 48_000, subtype="PCM_16")
    print(f"Generated {duration_s / 60:.1f} min, {len(script)} sentences, 4 channels")

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
    hypothesis = normalise(" ".join(u.text for u in transcript.utterances))
    attributed = sum(len(u.words) for u in transcript.utterances if u.speaker != "unknown")
    total_words = sum(len(u.words) for u in transcript.utterances)
    rows.append(
        (
            "podcast transcribe",
            ours,
            jiwer.wer(reference, hypothesis),
            f"{attributed}/{total_words} words",
        )
    )

    peer = shutil.which("whisper-ctranslate2") or str(Path(sys.executable).with_name("whisper-ctranslate2"))
    if not Path(peer).exists():
        print("whisper-ctranslate2 is not installed: pip install whisper-ctranslate2==0.5.8")
    else:
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
                    str(model.path),
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
            rows.append((label, run, jiwer.wer(reference, normalise(text)) if text else float("nan"), "no"))

    print()
    header = f"{'tool':32} {'wall s':>8} {'x real time':>12} {'CPU s':>8} {'peak RSS MiB':>13}"
    print(f"{header} {'WER':>7}  speakers")
    for label, run, wer, speakers in rows:
        print(
            f"{label:32} {run.wall_s:8.1f} {run.wall_s / duration_s:12.3f} {run.cpu_s:8.1f} "
            f"{run.peak_rss_mib:13.0f} {wer:7.1%}  {speakers}"
        )
    if len(rows) == 4:
        ours_s = rows[0][1].wall_s
        print()
        for index, label in ((1, "default"), (2, "batched"), (3, "batched+words")):
            print(f"wall-time ratio podcast / peer {label}: {ours_s / rows[index][1].wall_s:.2f}")
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
