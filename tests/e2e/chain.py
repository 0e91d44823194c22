"""The whole chain through the CLI, run by test_end_to_end.py inside `unshare -rn`.

usage: chain.py WORKSPACE SOURCE_WAV   (prints a JSON summary on stdout)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ws, source = sys.argv[1], sys.argv[2]


def podcast(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    command = [sys.executable, "-m", "podcast", "-q", "-w", ws, *args]
    result = subprocess.run(command, input=stdin, text=True, capture_output=True, env=env, check=False)
    if result.returncode != 0:
        sys.exit(f"FAILED: podcast {' '.join(args)}\n{result.stdout}\n{result.stderr}")
    return result.stdout


steps: dict[str, float] = {}
started = time.monotonic()
subprocess.run(
    [
        sys.executable,
        "-m",
        "podcast",
        "init",
        ws,
        "--title",
        "End to end",
        "--language",
        "en",
        "--base-url",
        "https://podcast.example.org/e2e/",
        "--owner-email",
        "o@example.org",
    ],
    check=True,
    capture_output=True,
)
podcast("participant", "add", "Amara", "Blessing", "Chidinma", "Dounia", "Fatou")
podcast(
    "session",
    "new",
    "Work",
    "-p",
    "Amara",
    "-p",
    "Blessing",
    "-p",
    "Chidinma",
    "-p",
    "Dounia",
    "--facilitator",
    "Fatou",
)
recorder = subprocess.Popen(
    [
        sys.executable,
        "-m",
        "podcast",
        "-q",
        "-w",
        ws,
        "session",
        "record",
        "1",
        "--device",
        "podcast_quad_in",
        "--channels",
        "1,2,3,4",
    ],
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
    text=True,
)
deadline = time.monotonic() + 20
while not list(Path(ws).glob("takes/session-0001/take-*.wav")) and time.monotonic() < deadline:
    time.sleep(0.1)
time.sleep(0.5)
subprocess.run(
    ["paplay", "--device=podcast_quad", "--channel-map=front-left,front-right,rear-left,rear-right", source],
    check=True,
)
time.sleep(0.5)
recorder.send_signal(signal.SIGINT)
out, err = recorder.communicate(timeout=30)
if recorder.returncode != 0:
    sys.exit(f"FAILED: record\n{out}\n{err}")
steps["record"] = time.monotonic() - started
podcast("transcribe", "1")
podcast("transcript", "edit", "1", env={**os.environ, "EDITOR": "true"})
podcast("transcript", "review", "1")
podcast("extract", "add", "1", "--find", "finding work", "--title", "Work")
podcast("extract", "add", "1", "--find", "braiding", "--title", "Business")
podcast("participant", "protect", "Amara", "retell")
podcast("participant", "protect", "Chidinma", "disguise", "--reduced-protection")
podcast("redact", "add", "--session", "1", "new city")
podcast("anonymise", "session", "1")
podcast("consent", "review", "1", "--no-play", stdin="y\ny\ny\ny\ny\nn\ny\ny\n")
podcast("episode", "new", "Finding work", "-e", "1", "-e", "2", "--number", "1")
first = podcast("publish")
steps["first publish"] = time.monotonic() - started
verify = podcast("consent", "verify")
feed_first = (Path(ws) / "publish" / "feed.xml").read_text()
audio_first = sorted(p.name for p in (Path(ws) / "publish").glob("*.mp3"))
second = ""
if not os.environ.get("E2E_STOP_BEFORE_WITHDRAWAL"):
    podcast("consent", "withdraw", "--participant", "Amara", "--all")
    second = podcast("publish")
steps["second publish"] = time.monotonic() - started
print(
    json.dumps(
        {
            "first": first,
            "second": second,
            "verify": verify,
            "feed_first": feed_first,
            "audio_first": audio_first,
            "steps": steps,
        }
    )
)
