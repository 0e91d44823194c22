"""A real session's size, from take to feed: `make bench-session`.

Generates a 6-microphone workshop at 48 kHz, 24-bit (one voice per microphone, the others
bleeding in at -20 dB, pauses and overlaps, about 45 % speech), then runs each step of the
chain as the facilitator would, each in its own `podcast` process: import -> transcribe ->
6 extracts of 2-5 minutes -> anonymise (three speakers revoiced, three disguised, one
sensitive word bleeped) -> one episode -> publish. The consent step is recorded in-process
(everyone agrees): the room is a person's time, not the machine's.

Prints per step: wall time, CPU time, peak RSS (the process and its children, ffmpeg
included) and the ratio of wall time to the audio's duration; then, for two lengths (30 and
90 minutes by default), the peak per step at each length and the 90/30 ratio of each step's
time. Voices: MBROLA diphone voices with `--mbrola DIR` (the folder scripts/mbrola-voices
makes), else espeak-ng variants. `--keep DIR` keeps (and reuses) the generated sessions.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import Run, measure, sentences  # noqa: E402
from consent import participants, review  # noqa: E402
from podcast import speech  # noqa: E402
from podcast.settings import ShowSettings  # noqa: E402
from podcast.workspace import Workspace  # noqa: E402
from sessions import extracts, sessions  # noqa: E402

RATE_HZ = 48_000
BLEED = 10 ** (-20 / 20)
NOISE = 10 ** (-62 / 20)  # room and preamp noise: real microphones never give exact zeros
BLOCK_S = 10
NAMES = ("Amara", "Blessing", "Chidinma", "Dounia", "Efua", "Fatima")
ESPEAK_VOICES = (
    ("en+f3", 55),
    ("en-us+f4", 70),
    ("en+m3", 35),
    ("en+f2", 60),
    ("en-us+f1", 45),
    ("en+m1", 40),
)
MBROLA_VOICES = (
    ("mb-en1", 50),
    ("mb-us1", 50),
    ("mb-us2", 50),
    ("mb-us3", 50),
    ("mb-fr1-en", 50),
    ("mb-de1-en", 50),
)
SENTENCES_PER_VOICE = 24


@dataclass(frozen=True)
class Turn:
    start: int  # frame
    speaker: int
    audio: np.ndarray


def _voice_pool(voices: tuple[tuple[str, int], ...]) -> list[list[np.ndarray]]:
    """A few dozen sentences per voice at 48 kHz, reused across the session."""
    pool = []
    for index, (voice, pitch) in enumerate(voices):
        own = []
        for text in sentences(SENTENCES_PER_VOICE, seed=100 + index):
            mono, rate = speech.synthesize(text, voice=voice, pitch=pitch)
            count = round(len(mono) * RATE_HZ / rate)
            mono = np.interp(np.linspace(0, len(mono) - 1, count), np.arange(len(mono)), mono)
            own.append((mono * 0.6).astype(np.float32))
        pool.append(own)
    return pool


def _timeline(minutes: float, pool: list[list[np.ndarray]], seed: int) -> list[Turn]:
    """Turns of one to three sentences; short pauses, some overlaps, some long silences."""
    rng = random.Random(seed)
    total = int(minutes * 60 * RATE_HZ)
    turns: list[Turn] = []
    cursor = int(1.0 * RATE_HZ)
    previous = -1
    while True:
        speaker = rng.choice([s for s in range(len(pool)) if s != previous])
        previous = speaker
        at = cursor
        for _ in range(rng.choice((1, 1, 2, 2, 3))):
            audio = rng.choice(pool[speaker])
            if at + len(audio) > total - RATE_HZ:
                return turns
            turns.append(Turn(at, speaker, audio))
            at += len(audio) + int(rng.uniform(0.2, 0.6) * RATE_HZ)
        kind = rng.random()
        if kind < 0.15:
            gap = -rng.uniform(0.3, 1.0)  # the next one starts before she ends
        elif kind < 0.65:
            gap = rng.uniform(0.3, 2.5)
        else:
            gap = rng.uniform(10.0, 45.0)  # a silence: thinking, passing the tissues
        cursor = max(cursor + RATE_HZ // 2, at + int(gap * RATE_HZ))


def generate(path: Path, minutes: float, pool: list[list[np.ndarray]], seed: int = 1) -> float:
    """Write the session block by block (never whole in memory); returns the speech fraction."""
    turns = _timeline(minutes, pool, seed)
    total = int(minutes * 60 * RATE_HZ)
    channels = len(pool)
    speaking = np.zeros(total // RATE_HZ + 1, dtype=bool)
    rng = np.random.default_rng(seed)
    partial = path.with_suffix(".part.flac")
    with sf.SoundFile(str(partial), "w", RATE_HZ, channels, "PCM_24", format="FLAC") as out:
        first = 0
        for start in range(0, total, BLOCK_S * RATE_HZ):
            stop = min(total, start + BLOCK_S * RATE_HZ)
            block = rng.normal(0, NOISE, (stop - start, channels)).astype(np.float32)
            while first < len(turns) and turns[first].start + len(turns[first].audio) <= start:
                first += 1
            for turn in turns[first:]:
                if turn.start >= stop:
                    break
                a, b = max(start, turn.start), min(stop, turn.start + len(turn.audio))
                if a >= b:
                    continue
                piece = turn.audio[a - turn.start : b - turn.start]
                gains = np.full(channels, BLEED, dtype=np.float32)
                gains[turn.speaker] = 1.0
                block[a - start : b - start] += piece[:, None] * gains
            out.write(np.clip(block, -1, 1))
        for turn in turns:
            speaking[turn.start // RATE_HZ : (turn.start + len(turn.audio)) // RATE_HZ + 1] = True
    partial.replace(path)
    return float(speaking.mean())


@dataclass
class Step:
    name: str
    run: Run


class Yes:
    def show(self, view: object, number: int, total: int) -> None:
        return None

    def ask(self, person: object, view: object) -> review.Answer:
        return review.Answer.YES


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60):02d}:{int(seconds % 60):02d}"


def chain(source: Path, folder: Path) -> tuple[float, list[Step]]:
    """Run the chain on a generated session; the audio's duration and the measured steps."""
    duration_s = sf.info(str(source)).duration
    ws = Workspace.create(
        folder / "ws",
        ShowSettings(
            title="Bench",
            language="en",
            author="Collective",
            base_url="https://podcast.example.org/",
        ),
    )
    for name in (*NAMES, "Grace"):
        participants.add(ws, name)
    session = sessions.create(ws, "Workshop", list(NAMES), facilitator="Grace", language="en")
    ws.close()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ORT_DISABLE_TELEMETRY": "1", "COLUMNS": "200"}
    podcast = shutil.which("podcast") or str(Path(sys.executable).with_name("podcast"))
    base = [podcast, "-q", "-w", str(folder / "ws")]
    sid = str(session.id)
    steps: list[Step] = []

    def step(name: str, *args: str) -> None:
        run = measure([*base, *args], env=env)
        if run.returncode != 0:
            raise SystemExit(f"{name} failed (exit {run.returncode})")
        steps.append(Step(name, run))

    def quiet(*args: str) -> None:  # set-up commands, not measured
        run = measure([*base, *args], env=env)
        if run.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed (exit {run.returncode})")

    step("import", "session", "import", sid, str(source))
    step("transcribe", "transcribe", sid)
    # Six extracts of 2 to 5 minutes spread over the session.
    lengths = [120, 300, 180, 240, 150, 270]
    spacing = (duration_s - 60) / len(lengths)
    for index, length in enumerate(lengths):
        start = 30 + index * spacing
        end = min(duration_s - 5, start + min(length, spacing - 10))
        quiet(
            "extract",
            "add",
            sid,
            "--from",
            _clock(start),
            "--to",
            _clock(end),
            "--title",
            f"Part {index + 1}",
        )
    quiet("transcript", "review", sid)
    for index, name in enumerate(NAMES):
        quiet("participant", "protect", name, "revoice" if index % 2 == 0 else "disguise")
    quiet("redact", "add", "hospital", "--session", sid)
    # The redaction check may refuse an extract (a sensitive word still understood after its
    # bleep: it depends on her random disguise draw): the facilitator drops it, as the hint
    # says, and renders the rest; the time of both runs is counted.
    dropped: list[str] = []
    runs: list[Run] = []
    for _attempt in range(len(lengths)):
        runs.append(measure([*base, "anonymise", "session", sid], env=env))
        refused = re.search(r"Extract (\d+): \d+ sensitive word", runs[-1].stderr)
        if runs[-1].returncode == 0 or refused is None:
            break
        dropped.append(refused.group(1))
        quiet("extract", "remove", refused.group(1))
    if runs[-1].returncode != 0:
        raise SystemExit(f"anonymise failed (exit {runs[-1].returncode})")
    if dropped:
        print(f"extracts refused by the redaction check and dropped: {', '.join(dropped)}")
    together = Run(
        sum(r.wall_s for r in runs), sum(r.cpu_s for r in runs), max(r.peak_rss_mib for r in runs), 0
    )
    steps.append(Step("anonymise", together))
    # The group listens to the protected extracts and everyone agrees.
    ws = Workspace.open(folder / "ws")
    review.run(ws, session.id, Yes(), witness=participants.get(ws, "Grace"))  # type: ignore[arg-type]
    extract_ids = [str(e.id) for e in extracts.list_all(ws, session.id)]
    ws.close()
    quiet("episode", "new", "The whole workshop", *[a for e in extract_ids for a in ("-e", e)])
    step("build", "episode", "build", "1")
    step("publish", "publish")
    return duration_s, steps


def print_table(minutes: float, duration_s: float, steps: list[Step]) -> None:
    print(f"\n{minutes:g}-minute session ({duration_s / 60:.1f} min of audio, {len(NAMES)} microphones)")
    print(f"{'step':12} {'wall s':>8} {'CPU s':>8} {'peak RSS MiB':>13} {'wall / audio':>13}")
    for s in steps:
        r = s.run
        print(
            f"{s.name:12} {r.wall_s:8.1f} {r.cpu_s:8.1f} {r.peak_rss_mib:13.0f} {r.wall_s / duration_s:13.4f}"
        )
    wall = sum(s.run.wall_s for s in steps)
    cpu = sum(s.run.cpu_s for s in steps)
    peak = max(s.run.peak_rss_mib for s in steps)
    print(f"{'total':12} {wall:8.1f} {cpu:8.1f} {peak:13.0f} {wall / duration_s:13.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, action="append", help="session lengths (default: 30 and 90)")
    parser.add_argument("--mbrola", type=Path, help="folder made by scripts/mbrola-voices")
    parser.add_argument("--keep", type=Path, help="keep the generated sessions here, and reuse them")
    args = parser.parse_args()
    lengths = args.minutes or [30.0, 90.0]
    if args.mbrola:
        os.environ["PATH"] = f"{args.mbrola / 'root/usr/bin'}{os.pathsep}{os.environ['PATH']}"
        os.environ["ESPEAK_DATA_PATH"] = str(args.mbrola / "home")
        voices, kind = MBROLA_VOICES, "MBROLA"
    else:
        voices, kind = ESPEAK_VOICES, "espeak-ng"
    tmp = Path(tempfile.mkdtemp(prefix="bench-session-"))
    store = args.keep or tmp
    store.mkdir(parents=True, exist_ok=True)
    pool: list[list[np.ndarray]] | None = None
    results: dict[float, tuple[float, list[Step]]] = {}
    try:
        for minutes in lengths:
            source = store / f"session-{minutes:g}min-{kind}.flac"
            if not source.exists():
                if pool is None:
                    pool = _voice_pool(voices)
                started = time.perf_counter()
                fraction = generate(source, minutes, pool)
                print(
                    f"generated {source.name}: {minutes:g} min, {len(voices)} {kind} voices, "
                    f"{fraction:.0%} speech, {source.stat().st_size / 1e9:.2f} GB, "
                    f"{time.perf_counter() - started:.0f} s"
                )
            folder = tmp / f"run-{minutes:g}"
            folder.mkdir()
            results[minutes] = chain(source, folder)
            print_table(minutes, *results[minutes])
            shutil.rmtree(folder, ignore_errors=True)
        if len(results) >= 2:
            short, long = min(results), max(results)
            (d1, s1), (d2, s2) = results[short], results[long]
            print(
                f"\n{short:g} vs {long:g} minutes (audio ratio {d2 / d1:.2f}; linear growth gives that ratio)"
            )
            print(f"{'step':12} {'peak MiB':>10} {'peak MiB':>10} {'time ratio':>11}")
            for a, b in zip(s1, s2, strict=True):
                print(
                    f"{a.name:12} {a.run.peak_rss_mib:10.0f} {b.run.peak_rss_mib:10.0f} "
                    f"{b.run.wall_s / a.run.wall_s:11.2f}"
                )
            t1 = sum(s.run.wall_s for s in s1)
            t2 = sum(s.run.wall_s for s in s2)
            print(f"{'total':12} {'':10} {'':10} {t2 / t1:11.2f}")
        print("\ntargets: 90-minute chain <= 12 min wall; every step's peak <= 1024 MiB and flat with length")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if args.keep:
            print(f"generated sessions kept in {args.keep}")


if __name__ == "__main__":
    main()
