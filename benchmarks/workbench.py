"""How fast the facilitator's workbench opens a long take and plays from any word.

Generates a 60-minute, 4-microphone, 48 kHz 24-bit take (2 GB as WAV: turns of tones and noise,
one microphone per speaker with bleed), imports it, writes a transcript of the same length
into the database (about 9,000 words in 900 lines: transcribing an hour is the transcription
benchmark's job, not this one's), adds two extracts, serves the room on 127.0.0.1 and drives
Debian's Chromium with Playwright:

- page open: from the request to every line on screen (target: under 2 s);
- level strip: first computation (streams the whole take once) and from its cache;
- play from a word 50 minutes in: time until the audio plays there, and how many bytes of
  audio the browser fetched against the take's size (it must not load the whole file).

Usage: python benchmarks/workbench.py [--minutes 60] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import sentences  # noqa: E402
from consent import participants  # noqa: E402
from podcast.room.app import RoomConfig  # noqa: E402
from podcast.settings import ShowSettings  # noqa: E402
from podcast.workspace import Workspace  # noqa: E402
from publish.voices import VoiceStore  # noqa: E402
from sessions import extracts, importer, sessions, transcripts  # noqa: E402

RATE = 48_000
CHANNELS = 4
NAMES = ("Amara", "Blessing", "Chidinma", "Dounia")
TURN_S = 4.0


def make_take(path: Path, minutes: float) -> None:
    """Turns of 4 s, each on the next microphone, with -20 dB bleed on the others."""
    rng = np.random.default_rng(1)
    frames = int(minutes * 60 * RATE)
    block = int(TURN_S * RATE)
    with sf.SoundFile(str(path), "w", RATE, CHANNELS, subtype="PCM_24") as out:
        for index, start in enumerate(range(0, frames, block)):
            count = min(block, frames - start)
            t = np.arange(count) / RATE
            voice = (
                0.2 * np.sin(2 * np.pi * (180 + 40 * (index % CHANNELS)) * t) * (0.6 + 0.4 * np.sin(3 * t))
            )
            chunk = rng.normal(0, 0.002, (count, CHANNELS)).astype(np.float32)
            speaker = index % CHANNELS
            for channel in range(CHANNELS):
                chunk[:, channel] += voice * (1.0 if channel == speaker else 0.1)
            out.write(chunk)


def write_transcript(ws: Workspace, take_id: int, minutes: float) -> int:
    ids = [participants.get(ws, name).id for name in NAMES]
    texts = sentences(int(minutes * 60 / TURN_S), seed=3)
    conn = ws.conn
    conn.execute(
        "INSERT INTO transcripts (take_id, model, language_option, chunks_json, chunks_done, status, "
        "updated_at) VALUES (?, 'base', 'auto', '[]', 0, 'done', 'now')",
        (take_id,),
    )
    words = 0
    for turn, text in enumerate(texts):
        start = turn * TURN_S + 0.2
        segment = conn.execute(
            "INSERT INTO segments (take_id, chunk, start_s, end_s, language) VALUES (?, ?, ?, ?, 'en')",
            (take_id, turn // 8, start, start + 3.5),
        ).lastrowid
        tokens = text.split()
        step = 3.5 / len(tokens)
        conn.executemany(
            "INSERT INTO words (segment_id, position, start_s, end_s, text, probability, participant_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    segment,
                    i,
                    start + i * step,
                    start + (i + 0.8) * step,
                    w,
                    0.4 if i == 3 else 0.9,
                    ids[turn % 4],
                )
                for i, w in enumerate(tokens)
            ],
        )
        words += len(tokens)
    return words


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--keep", type=Path, help="Keep the generated workspace in this folder.")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from tests.room.conftest import CHROMIUM, free_port, serve

    folder = Path(tempfile.mkdtemp(prefix="bench-workbench-"))
    try:
        began = time.perf_counter()
        source = folder / "long.wav"
        make_take(source, args.minutes)
        generated = time.perf_counter() - began
        ws = Workspace.create(
            folder / "ws",
            ShowSettings(
                title="Bench",
                language="en",
                author="Bench",
                base_url="https://example.org/",
                owner_email="bench@example.org",
            ),
        )
        for name in NAMES:
            participants.add(ws, name)
        session = sessions.create(ws, "A long workshop", list(NAMES))
        began = time.perf_counter()
        (take,) = importer.import_files(ws, session.id, [source])
        imported = time.perf_counter() - began
        source.unlink()
        words = write_transcript(ws, take.id, args.minutes)
        lines = transcripts.load(ws, session.id).utterances
        for first, last in ((10, 25), (len(lines) - 40, len(lines) - 30)):
            extracts.add(ws, session.id, segments=(lines[first].key, lines[last].key))
        size = ws.absolute(take.relpath).stat().st_size
        target = lines[int(len(lines) * 50 / 60)]
        port = free_port()
        token = "bench-" + "z" * 24
        config = RoomConfig(ws.root, token, port, VoiceStore(folder / "voices"), None)
        with serve(config), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/?token={token}")  # trade the token for the cookie
            url = f"http://127.0.0.1:{port}/session/{session.id}/transcript"
            timed = (
                "async (u) => { const t = performance.now(); const r = await fetch(u); await r.text(); "
                "return [r.status, performance.now() - t]; }"
            )
            levels_url = f"/session/{session.id}/take/1/levels"
            # The level strip, measured once in the background (an untranscribed take; after
            # `podcast transcribe` it is already there).
            began = time.perf_counter()
            while page.evaluate(timed, levels_url)[0] == 202:
                page.wait_for_timeout(200)
            levels_cold = time.perf_counter() - began
            levels_warm = page.evaluate(timed, levels_url)[1] / 1000
            html = [page.evaluate(timed, url)[1] / 1000 for _ in range(3)]
            opens = []
            for _ in range(3):
                began = time.perf_counter()
                page.goto(url)
                page.wait_for_selector(f"#line-{lines[-1].key}", state="attached")
                opens.append(time.perf_counter() - began)
            # Bytes the browser really received (a range request announces the rest of the file
            # but is abandoned once enough is buffered): Chromium's own network events.
            fetched: list[int] = []
            cdp = page.context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.on("Network.dataReceived", lambda event: fetched.append(int(event["dataLength"])))
            word = page.locator(f"#line-{target.key} .w").first
            word.scroll_into_view_if_needed()
            began = time.perf_counter()
            word.click()
            playing = "(t) => !document.getElementById('player').paused && player.currentTime >= t"
            page.wait_for_function(playing, arg=target.words[0].start_s)
            play = time.perf_counter() - began
            page.wait_for_timeout(2000)  # two seconds of listening
            browser.close()
        served = sum(fetched)
        print(f"Workbench benchmark: {args.minutes:.0f}-minute take, {CHANNELS} microphones, 48 kHz 24-bit")
        print(f"  take size                  {size / 1e9:8.2f} GB on disk (FLAC)")
        print(f"  generated, imported        {generated:8.0f} s, {imported:.0f} s")
        print(f"  transcript                 {words:8d} words in {len(lines)} lines")
        print(f"  page open (3 runs)         {', '.join(f'{t:.2f}' for t in opens)} s   target < 2 s")
        print(f"    of which the server      {', '.join(f'{t:.2f}' for t in html)} s (HTML of every line)")
        print(
            f"  level strip, first time    {levels_cold:8.2f} s  (streams the take once, in the background)"
        )
        print(f"  level strip, cached        {levels_warm:8.3f} s")
        print(f"  play from a word at {target.start_s / 60:.0f} min  {play:8.2f} s")
        print(
            f"  audio fetched (incl. 2 s)  {served / 1e6:8.2f} MB of a {2 * take.frames / 1e6:.0f} MB "
            f"listening copy = {100 * served / (2 * take.frames):.2f} %"
        )
        if args.keep:
            shutil.copytree(ws.root, args.keep, dirs_exist_ok=True)
        ws.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
