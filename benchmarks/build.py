"""Build benchmark: a 30-minute episode from 8 rendered extracts -> MP3, tags, transcripts,
feed. Target: <= 30 s wall on 2 cores. Run with `make bench-build`.

The extracts are real renderings (the protected audio files publish uses), written here
directly from generated speech so the benchmark measures building, not rendering.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from consent import checkpoints, fingerprint, participants, review  # noqa: E402
from podcast import speech  # noqa: E402
from podcast.settings import ShowSettings  # noqa: E402
from podcast.workspace import Workspace  # noqa: E402
from publish import episodes, site  # noqa: E402
from publish.anonymise import RATE_HZ  # noqa: E402
from publish.voices import VoiceStore  # noqa: E402
from sessions import extracts, importer, sessions, transcripts  # noqa: E402


class Yes:
    def show(self, view: object, number: int, total: int) -> None:
        return None

    def ask(self, person: object, view: object) -> review.Answer:
        return review.Answer.YES


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--extracts", type=int, default=8)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-build-"))
    try:
        ws = Workspace.create(
            tmp / "ws",
            ShowSettings(
                title="Bench", language="en", author="Collective", base_url="https://podcast.example.org/"
            ),
        )
        for name in ("Amara", "Blessing", "Fatou"):
            participants.add(ws, name)
        session = sessions.create(ws, "Bench", ["Amara", "Blessing"], facilitator="Fatou")
        per_extract_s = args.minutes * 60 / args.extracts
        # A take long enough for 8 extracts, with a transcript of one line per extract.
        source = tmp / "take.wav"
        sf.write(
            str(source), np.zeros((int(args.extracts * (per_extract_s + 1) * 8000), 2), np.float32), 8000
        )
        (take,) = importer.import_files(ws, session.id, [source])
        ws.conn.execute(
            "INSERT INTO transcripts VALUES (?, 'base', 'auto', '[]', 0, 'done', 'now', 'now')", (take.id,)
        )
        amara = participants.get(ws, "Amara").id
        for i in range(args.extracts):
            start = i * (per_extract_s + 1)
            segment = ws.conn.execute(
                "INSERT INTO segments (take_id, chunk, start_s, end_s, language) VALUES (?, ?, ?, ?, 'en')",
                (take.id, i, start, start + per_extract_s),
            ).lastrowid
            for k, word in enumerate(f"extract number {i} about work and life".split()):
                ws.conn.execute(
                    "INSERT INTO words (segment_id, position, start_s, end_s, text, probability, "
                    "participant_id) VALUES (?, ?, ?, ?, ?, 0.9, ?)",
                    (
                        segment,
                        k,
                        start + k * per_extract_s / 7,
                        start + (k + 0.9) * per_extract_s / 7,
                        word,
                        amara,
                    ),
                )
        ids = [
            extracts.add(ws, session.id, find=f"extract number {i}", title=f"Part {i + 1}").id
            for i in range(args.extracts)
        ]
        # Renderings: speech-like audio (espeak-ng sentences looped) for each extract.
        voice, rate = speech.synthesize("We talk about work, about life, and about what comes next.")
        voice = np.interp(
            np.linspace(0, len(voice) - 1, int(len(voice) * RATE_HZ / rate)), np.arange(len(voice)), voice
        ).astype(np.float32)
        for extract_id in ids:
            extract = extracts.get(ws, extract_id)
            content = fingerprint.content(ws, extract)
            length = int(extract.duration_s * RATE_HZ)
            audio = np.tile(voice, length // len(voice) + 1)[:length] * 0.5
            sf.write(str(ws.renderings_dir / f"{content.render_key}.wav"), audio, RATE_HZ, subtype="PCM_16")
            line = transcripts.load(ws, session.id).utterances[0]
            words = [[w.start_s, w.end_s, w.text] for w in line.words]
            (ws.renderings_dir / f"{content.render_key}.json").write_text(
                json.dumps({"lines": [{"speaker": "Amara", "mode": "revoice", "words": words}]})
            )
        review.run(ws, session.id, Yes(), witness=participants.get(ws, "Fatou"))  # type: ignore[arg-type]
        assert all(s.publishable for s in __import__("consent.decisions", fromlist=["x"]).session_status(ws))
        episodes.create(ws, "Long episode", ids, number=1)
        started = time.perf_counter()
        result = site.publish(ws, voices=VoiceStore(tmp / "data"))
        wall = time.perf_counter() - started
        (mp3,) = result.out_dir.glob("*.mp3")
        info = sf.info(str(mp3))
        print(
            f"episode: {info.duration / 60:.1f} min from {args.extracts} extracts, "
            f"{mp3.stat().st_size / 1e6:.1f} MB"
        )
        print(f"build + tags + transcripts + feed + audit: {wall:.1f} s wall (target <= 30 s)")
        print(f"checkpoints signed: {checkpoints.verify(ws)[1] is not None}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
