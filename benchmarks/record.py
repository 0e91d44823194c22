"""Recording benchmark: 8 channels x 48 kHz for 60 s through the virtual sound server, with
the live meters drawn in a terminal. Prints the recorder's CPU (% of one core), dropouts and
memory at start and end. Run with `make bench-record`.
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from consent import participants  # noqa: E402
from podcast.settings import ShowSettings  # noqa: E402
from podcast.workspace import Workspace  # noqa: E402
from sessions import sessions  # noqa: E402

CHANNELS = 8
MAP = "front-left,front-right,rear-left,rear-right,front-center,lfe,side-left,side-right"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-record-"))
    server = tmp / "pulse"
    started = subprocess.run(
        [str(ROOT / "scripts" / "audio-server"), "start", str(server)],
        capture_output=True,
        text=True,
        check=True,
    )
    env = {**os.environ, **dict(line.split("=", 1) for line in started.stdout.split() if "=" in line)}
    try:
        ws = Workspace.create(tmp / "ws", ShowSettings(title="Bench"))
        names = [f"Mic {i}" for i in range(1, CHANNELS + 1)]
        for name in names:
            participants.add(ws, name)
        session = sessions.create(ws, "Bench", names)
        ws.close()
        rng = np.random.default_rng(0)
        noise = (rng.normal(0, 0.1, (int((args.seconds + 5) * 48_000), CHANNELS))).astype(np.float32)
        sf.write(str(tmp / "noise.wav"), noise, 48_000, subtype="PCM_16")
        player = subprocess.Popen(
            ["paplay", "--device=podcast_octo", f"--channel-map={MAP}", str(tmp / "noise.wav")], env=env
        )
        podcast = shutil.which("podcast") or str(Path(sys.executable).with_name("podcast"))
        master, slave = pty.openpty()
        process = subprocess.Popen(
            [
                podcast,
                "-w",
                str(ws.root),
                "session",
                "record",
                str(session.id),
                "--device",
                "podcast_octo_in",
                "--channels",
                ",".join(str(i) for i in range(1, CHANNELS + 1)),
                "--max-duration",
                str(args.seconds),
            ],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env={**env, "COLUMNS": "120", "TERM": "xterm"},
        )
        os.close(slave)
        watched = psutil.Process(process.pid)
        output = bytearray()
        rss_start = rss_end = 0.0
        cpu_start = None
        t_start = time.monotonic()
        while process.poll() is None:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    output += os.read(master, 65536)
                except OSError:
                    break
            elapsed = time.monotonic() - t_start
            try:
                if cpu_start is None and elapsed > 3:
                    times = watched.cpu_times()
                    cpu_start = (time.monotonic(), times.user + times.system)
                    rss_start = watched.memory_info().rss / 2**20
                if elapsed > 3:
                    rss_end = watched.memory_info().rss / 2**20
                    times = watched.cpu_times()
                    cpu_now = (time.monotonic(), times.user + times.system)
            except psutil.Error:
                pass
        process.wait()
        player.terminate()
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.decode(errors="replace"))
        dropouts = re.search(r"(\d+) dropout\(s\)", text)
        assert cpu_start is not None
        cpu_percent = 100 * (cpu_now[1] - cpu_start[1]) / (cpu_now[0] - cpu_start[0])
        print(f"{CHANNELS} channels x 48 kHz for {args.seconds:.0f} s with live meters (rich, in a terminal)")
        print(f"recorder CPU: {cpu_percent:.1f} % of one core (steady state, target <= 5 %)")
        print(f"dropouts: {dropouts.group(1) if dropouts else '?'} (target 0)")
        print(f"memory: {rss_start:.0f} MiB after 3 s, {rss_end:.0f} MiB at the end (target: flat)")
    finally:
        subprocess.run([str(ROOT / "scripts" / "audio-server"), "stop", str(server)], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
