"""podcast devices, podcast session record|recover, podcast play"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import termios
import threading
import time
import tty
from collections.abc import Iterator
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.table import Table
from rich.text import Text

from podcast import audio, sound
from podcast.cli.common import SessionArg, console, err_console, escape, state
from podcast.cli.render import hms
from podcast.errors import InvalidInputError
from sessions import extracts, importer, recovery, sessions
from sessions.recorder import Recorder, RecordingStatus, RecordOptions

_REASONS = {
    "stopped": "Stopped.",
    "duration": "Reached the requested duration.",
    "disk_full": "Stopped: the disk is almost full. Everything recorded is kept.",
    "error": "Stopped by an error. Everything recorded is kept.",
}


def devices(ctx: typer.Context) -> None:
    """List audio input and output devices (index, name, host API, channels, default rate)."""
    table = Table("#", "Name", "Host API", "Inputs", "Outputs", "Default rate", "Default")
    for d in sound.devices():
        default = ", ".join(k for k, v in (("input", d.default_input), ("output", d.default_output)) if v)
        table.add_row(
            str(d.index),
            escape(d.name),
            d.host_api,
            str(d.input_channels),
            str(d.output_channels),
            f"{d.default_rate_hz} Hz",
            default,
        )
    console().print(table)


def _bar(dbfs: float, width: int = 30) -> Text:
    filled = max(0, min(width, int((dbfs + 60) / 60 * width)))
    colour = "red" if dbfs > -1 else ("yellow" if dbfs > -12 else "green")
    return Text("█" * filled + "·" * (width - filled), style=colour)


def _screen(status: RecordingStatus) -> Table:
    head = "[bold white on red] !!! NO SIGNAL !!! [/]" if status.signal_lost else "● REC"
    table = Table(
        title=f"{head} {hms(status.elapsed_s)}   dropouts: {status.dropouts}   "
        f"disk: {hms(status.disk_left_s) if status.disk_left_s != float('inf') else '-'} left",
        caption="m = marker    q = stop",
        expand=False,
    )
    table.add_column("Microphone")
    table.add_column("Level (peak)")
    table.add_column("Peak")
    table.add_column("RMS")
    table.add_column("Clip")
    for meter in status.meters:
        table.add_row(
            escape(meter.label),
            _bar(meter.peak_dbfs),
            f"{meter.peak_dbfs:6.1f}",
            f"{meter.rms_dbfs:6.1f}",
            Text("CLIP", style="bold red") if meter.clipped else "",
        )
    if status.warning:
        style = "bold white on red" if status.signal_lost else "bold yellow"
        table.add_row("", Text(status.warning, style=style), "", "", "")
    return table


class _Alarm:
    """Rings the terminal bell once when the signal is lost (and once more every 10 s)."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.rung_at = -1e9

    def __call__(self, status: RecordingStatus) -> None:
        if status.signal_lost and time.monotonic() - self.rung_at >= 10:
            self.rung_at = time.monotonic()
            self.out.file.write("\a")
            self.out.file.flush()
        elif not status.signal_lost:
            self.rung_at = -1e9


@contextlib.contextmanager
def _keys(recorder: Recorder) -> Iterator[None]:
    """Read single keys (m, q) from a terminal while recording."""
    if not sys.stdin.isatty():
        yield
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            key = os.read(fd, 1).decode(errors="ignore").lower()
            if key == "q":
                recorder.stop("stopped")
            elif key == "m":
                recorder.mark()

    tty.setcbreak(fd)
    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=1)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _parse_inputs(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise InvalidInputError(
            f"Cannot read the channel list {text!r}.", hint="Write it as 1,2,4."
        ) from None


def record(
    ctx: typer.Context,
    session_id: SessionArg,
    device: Annotated[
        str | None, typer.Option(help="Input device number or name (see 'podcast devices').")
    ] = None,
    channels: Annotated[
        str | None, typer.Option(help="Inputs to record, e.g. 1,2,4 (default: one per participant).")
    ] = None,
    rate: Annotated[int, typer.Option(help="Sample rate in Hz.")] = 48_000,
    map_: Annotated[
        str | None, typer.Option("--map", help="Who is on which input: 1=NAME,2=NAME (the facilitator too).")
    ] = None,
    max_duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    segment_minutes: Annotated[
        float,
        typer.Option(
            help="Start a new take file every N minutes. A WAV take must stay under 4 GiB: at 48 kHz "
            "and 24 bits a new take starts after at most 3 h 56 min with 2 inputs, 1 h 58 min with 4, "
            "59 min with 8 and 39 min with 12, whatever N is."
        ),
    ] = 45.0,
) -> None:
    """Record a session: one channel per microphone, live meters, crash-safe takes."""
    ws = state(ctx).workspace()
    options = RecordOptions(
        device=int(device) if device and device.isdigit() else device,
        inputs=_parse_inputs(channels),
        rate_hz=rate,
        channel_map=importer.parse_channel_map(map_) if map_ else None,
        segment_s=segment_minutes * 60,
        max_duration_s=max_duration,
    )
    recorder = Recorder(ws, session_id, options)
    recorder.start()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def on_signal(_signum: int, _frame: Any) -> None:
        recorder.stop("stopped")

    for sig in previous:
        signal.signal(sig, on_signal)
    out = err_console()
    try:
        if out.is_terminal and not state(ctx).quiet:
            with (
                Live(_screen(recorder.status()), console=out, refresh_per_second=4) as live,
                _keys(recorder),
            ):
                alarm = _Alarm(out)

                def show(status: RecordingStatus) -> None:
                    live.update(_screen(status))
                    alarm(status)

                result = recorder.wait(show, interval_s=0.25)
        else:
            last = [0.0]
            lost = [False]

            def plain(status: RecordingStatus) -> None:
                if status.signal_lost != lost[0]:  # the alarm, and its end, at once
                    lost[0] = status.signal_lost
                    out.print(("\a" if status.signal_lost else "") + escape(status.warning or ""))
                if time.monotonic() - last[0] >= 5 and not state(ctx).quiet:
                    last[0] = time.monotonic()
                    levels = " ".join(f"{m.label}:{m.peak_dbfs:.0f}dB" for m in status.meters)
                    out.print(
                        f"recording {hms(status.elapsed_s)} dropouts={status.dropouts} {escape(levels)}"
                    )
                    if status.warning:
                        out.print(escape(status.warning))

            result = recorder.wait(plain)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console().print(_REASONS.get(result.stop_reason, result.stop_reason))
    console().print(
        f"Recorded {hms(result.duration_s)} in {len(result.take_ids)} take(s); "
        f"{len(result.dropouts)} dropout(s); {result.markers} marker(s)."
    )
    if result.gaps:
        console().print(
            f"[bold]The signal was lost {result.gaps} time(s)[/] (a cable or the interface): each gap "
            "is marked at the start of the take after it ('podcast transcript show' lists markers)."
        )
    if result.dropouts:
        console().print("Dropouts at: " + ", ".join(f"{t:.1f} s" for t in result.dropouts[:20]))


def recover(ctx: typer.Context, session_id: SessionArg) -> None:
    """Repair takes left open by a crash (sizes from the file length); never deletes audio."""
    ws = state(ctx).workspace()
    items = recovery.recover_session(ws, session_id)
    if not items:
        console().print(f"Session {session_id}: no take needs recovery.")
        return
    for item in items:
        what = "header repaired" if item.repaired_header else "header was current"
        console().print(f"Take {item.position}: {hms(item.duration_s)} recovered ({what}).")


def play(
    ctx: typer.Context,
    session_id: SessionArg,
    from_: Annotated[str | None, typer.Option("--from", help="Start (session time).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="End (session time).")] = None,
    device: Annotated[str | None, typer.Option(help="Output device number or name.")] = None,
) -> None:
    """Play part of a session to the room."""
    ws = state(ctx).workspace()
    session = sessions.get(ws, session_id)
    start = extracts.parse_clock(from_) if from_ else 0.0
    end = extracts.parse_clock(to) if to else session.duration_s
    offset = 0.0
    for take in session.takes:
        if offset <= start < offset + take.duration_s:
            samples, rate = audio.read_range(
                sessions.raw_path(ws, take), start - offset, min(end, offset + take.duration_s) - offset
            )
            console().print(f"Playing {hms(len(samples) / rate)} from take {take.position}…")
            sound.play(
                samples.mean(axis=1), rate, device=int(device) if device and device.isdigit() else device
            )
            return
        offset += take.duration_s
    raise InvalidInputError(
        "That time is past the end of the session.", hint=f"The session lasts {hms(offset)}."
    )


def register(root: typer.Typer, session_app: typer.Typer) -> None:
    root.command("devices")(devices)
    root.command("play")(play)
    session_app.command("record")(record)
    session_app.command("recover")(recover)
