"""The whole chain, recording from the virtual sound server included, with no network at
all (inside `unshare -rn`), then checks on what was published."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import numpy as np
import pytest
import soundfile as sf

from podcast.demo import generate_workshop
from podcast.models import ModelStore
from podcast.workspace import Workspace
from publish import site
from sessions import whisper
from sessions.extracts import normalise

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = (
    ("Amara", "Welcome everybody. Today we talk about finding work in a new city."),
    ("Blessing", "When I arrived, I did not know anybody."),
    ("Chidinma", "I started a small business with braiding, and now I have customers."),
    ("Dounia", "Le plus important, c'est de ne pas rester seule."),
)
VOICES = (
    ("Amara", "en+f3", 55),
    ("Blessing", "en-us+f4", 70),
    ("Chidinma", "en+m3", 35),
    ("Dounia", "fr+f2", 60),
)

pytestmark = [pytest.mark.slow, pytest.mark.audio_server]


def _heard(path: Path, models: ModelStore) -> list[str]:
    audio = whisper.load_audio(path)
    recogniser = whisper.Recogniser(models.ready().path, allowed_languages=("en", "fr"))
    chunks = whisper.fixed_windows(len(audio) / whisper.SAMPLE_RATE_HZ)
    words = [
        w.text for segs in recogniser.transcribe_batch(audio, chunks, None) for seg in segs for w in seg.words
    ]
    return normalise(" ".join(words)).split()


def _offline(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["unshare", "-rn", sys.executable, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
        timeout=900,
    )


def test_the_whole_chain_offline(
    tmp_path: Path, audio_server: dict[str, str], model_store: ModelStore
) -> None:
    audio, _ = generate_workshop(SCRIPT, VOICES, gap_s=0.7)
    pad = np.zeros((int(0.3 * 48_000), 4), dtype=np.float32)
    source = tmp_path / "e2e-source-RECORDER01.wav"
    sf.write(str(source), np.concatenate([pad, audio, pad]), 48_000, subtype="PCM_16")
    ws_dir = tmp_path / "ws"
    env = {
        **os.environ,
        **audio_server,
        "PODCAST_DATA_DIR": str(model_store.data_dir),
        "PYTHONPATH": str(ROOT),
        "E2E_STOP_BEFORE_WITHDRAWAL": "1",
    }
    started = time.monotonic()
    run = _offline(str(ROOT / "tests" / "e2e" / "chain.py"), str(ws_dir), str(source), env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"end-to-end chain (offline): {time.monotonic() - started:.0f} s; steps {summary['steps']}")

    # One episode in a feed that parses; the ledger verifies.
    publish_dir = ws_dir / "publish"
    parsed = feedparser.parse((publish_dir / "feed.xml").read_bytes())
    assert not parsed.bozo and len(parsed.entries) == 1
    assert "Ledger intact" in summary["verify"]
    # Listening to the episode: the cleared extract is there, the refused one is not.
    (mp3,) = publish_dir.glob("*.mp3")
    heard = _heard(mp3, model_store)
    assert {"finding", "work"} <= set(heard), heard
    assert "braiding" not in heard and "business" not in heard
    # Nothing raw, no source file name, no workspace path, no sensitive word.
    ws = Workspace.open(ws_dir)
    assert site.check(ws, publish_dir) == []
    takes = [p.read_bytes() for p in (ws_dir / "takes").rglob("take-*")]
    for path in publish_dir.iterdir():
        data = path.read_bytes()
        assert b"RECORDER01" not in data and b"e2e-source" not in data
        assert str(ws_dir).encode() not in data and str(tmp_path).encode() not in data
        assert data not in takes
        if path.suffix in (".xml", ".vtt", ".srt", ".json", ".html"):
            assert "new city" not in f" {normalise(data.decode())} "
    ws.close()

    # A withdrawal and a second publish, still offline: the episode is re-cut or removed.
    cli = ["-m", "podcast", "-q", "-w", str(ws_dir)]
    assert _offline(*cli, "consent", "withdraw", "--participant", "Amara", "--all", env=env).returncode == 0
    second = _offline(*cli, "publish", env=env)
    assert second.returncode == 0, second.stderr
    assert "removed from the feed" in second.stdout
    assert feedparser.parse((publish_dir / "feed.xml").read_bytes()).entries == []
    assert not mp3.exists()
    print(f"with the withdrawal: {time.monotonic() - started:.0f} s")
