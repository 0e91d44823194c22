"""Recording a workshop from the audio interface: one channel per microphone, crash-safe.

The audio callback only hands blocks to a queue; a writer thread writes them to WAV files
whose header libsndfile keeps current after every write (any WAV reader can open a take
while it is recorded, and a kill loses only what was in flight), fsyncs about once a
second, and rolls over to a new take before WAV's 4 GiB limit (by time, and by size for
the number of inputs). Each segment is a take registered in the database as 'recording'
until it is closed; `recover` repairs takes a crash left open.

A pulled cable is noticed: exact digital silence on every input for 2 s (real microphones
never give exact zeros), the stream ending, or no audio at all. The alarm is raised, the take
is closed cleanly, nothing is written during the gap, the device is opened again every 2 s,
and recording goes on in a new take as soon as a signal is back, with the gap marked.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from podcast import db, sound
from podcast.clock import now_iso
from podcast.errors import InvalidInputError, PodcastError
from podcast.fsutil import free_bytes, private_dir, private_file
from podcast.workspace import Workspace
from sessions import importer, sessions

log = logging.getLogger(__name__)

_UPDATE_HEADER_AUTO = 0x1061  # libsndfile SFC_SET_UPDATE_HEADER_AUTO
BYTES_PER_SAMPLE = 3  # PCM_24 takes
WARN_DISK_S = 600.0
STOP_DISK_S = 60.0
DEVICE_SILENT_S = 2.0  # no audio at all from the device for this long: it is gone
SIGNAL_LOST_S = 2.0  # exact digital silence on every input for this long: a cable is out
REOPEN_EVERY_S = 2.0  # while the signal is lost, try the device again this often
MAX_TAKE_BYTES = int(0.95 * 2**32)  # WAV's data size field is 32 bits: roll over well before
SYNC_EVERY_S = 1.0
FULL_SCALE = float(2**31)
CLIP_LEVEL = 0.999


class RecordingError(PodcastError):
    """Recording could not start or had to stop."""


@dataclass(frozen=True)
class RecordOptions:
    device: int | str | None = None
    inputs: tuple[int, ...] | None = None  # 1-based interface inputs; default one per participant
    rate_hz: int = 48_000
    channel_map: dict[int, str] | None = None  # interface input -> pseudonym
    segment_s: float = 45 * 60.0  # a take's length; shorter if WAV's 4 GiB would be reached first
    max_duration_s: float | None = None


@dataclass(frozen=True)
class ChannelMeter:
    label: str
    peak_dbfs: float
    rms_dbfs: float
    clipped: int  # blocks that touched full scale so far


@dataclass(frozen=True)
class RecordingStatus:
    elapsed_s: float
    meters: tuple[ChannelMeter, ...]
    dropouts: int
    disk_left_s: float
    warning: str | None
    takes: int
    running: bool
    stop_reason: str | None
    signal_lost: bool = False  # the alarm: no signal from the interface; waiting for it to come back


@dataclass(frozen=True)
class RecordingResult:
    session_id: int
    take_ids: tuple[int, ...]
    duration_s: float
    dropouts: tuple[float, ...]  # times (s) of input overflows
    markers: int
    stop_reason: str  # stopped, duration, disk_full, error
    gaps: int = 0  # times the signal was lost and came back (each marked in the session)


def _dbfs(value: float) -> float:
    return 20 * np.log10(max(value, 1e-10))


@dataclass
class _Segment:
    take_id: int
    path: Path
    handle: sf.SoundFile
    sync_fd: int
    frames: int = 0


@dataclass
class _State:
    peaks: np.ndarray
    rms: np.ndarray
    clipped: np.ndarray
    dropouts: list[float] = field(default_factory=list)
    frames: int = 0
    disk_left_s: float = float("inf")
    warning: str | None = None
    stop_reason: str | None = None
    last_block_at: float = 0.0
    silent_frames: int = 0  # consecutive frames of exact zeros on every input
    signal_lost: bool = False
    lost_at: float = 0.0  # clock time the signal was lost
    gaps: int = 0


class Recorder:
    """One recording of a session. start(), then status()/mark(), then stop() or wait()."""

    def __init__(
        self,
        ws: Workspace,
        session_id: int,
        options: RecordOptions = RecordOptions(),
        *,
        free_space: Callable[[Path], int] = free_bytes,
        clock: Callable[[], float] = time.monotonic,
        stream_factory: Callable[..., Any] | None = None,
    ) -> None:
        """*stream_factory* replaces the sound device; only for tests of situations a virtual
        sound server cannot produce (input overflows, a device unplugged mid-take)."""
        self.stream_factory = stream_factory
        self.ws = ws
        self.session = sessions.get(ws, session_id)
        self.options = options
        self.free_space = free_space
        self.clock = clock
        count = len(self.session.participants)
        self.inputs = options.inputs or tuple(range(1, count + 1))
        if not self.inputs or min(self.inputs) < 1 or len(set(self.inputs)) != len(self.inputs):
            raise InvalidInputError(
                "The input channels must be distinct numbers from 1.", hint="e.g. --channels 1,2,4"
            )
        self.channels = len(self.inputs)
        self._columns = [n - 1 for n in self.inputs]
        self.owners = self._owners()
        self.labels = tuple(
            next((p.pseudonym for p in self.session.participants if p.id == self.owners[i + 1]), f"input {n}")
            for i, n in enumerate(self.inputs)
        )
        self.bytes_per_s = options.rate_hz * self.channels * BYTES_PER_SAMPLE
        self._queue: queue.Queue[tuple[np.ndarray, bool] | None] = queue.Queue(maxsize=2000)
        self._state = _State(np.zeros(self.channels), np.zeros(self.channels), np.zeros(self.channels, int))
        self._lock = threading.RLock()  # feed() may request a stop while holding it
        self._stop = threading.Event()
        self._segment: _Segment | None = None
        self._take_ids: list[int] = []
        self._markers = 0
        self._stream: Any = None
        self._writer: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock_fd: int | None = None
        self._started_at = 0.0
        self._error: BaseException | None = None
        self._device: Any = None
        self._generation = 0  # which stream is current (a replaced one's end is not a loss)
        self._stream_ended = threading.Event()
        self._next_reopen = 0.0

    # -- set-up ------------------------------------------------------------------------------
    def _owners(self) -> dict[int, str | None]:
        """Take channel (1-based) -> participant ID, from interface inputs."""
        by_take_channel = None
        if self.options.channel_map is not None:
            unknown = set(self.options.channel_map) - set(self.inputs)
            if unknown:
                raise InvalidInputError(
                    f"The map names input(s) {sorted(unknown)} that are not recorded.",
                    hint="Map only the inputs given with --channels.",
                )
            by_take_channel = {self.inputs.index(n) + 1: name for n, name in self.options.channel_map.items()}
        return importer.resolve_owners(self.session, len(self.inputs), by_take_channel)

    def start(self) -> None:
        """Open the device and start writing. Raises DeviceError or RecordingError."""
        if self.stream_factory is not None:
            device = sound.Device(
                -1, "test stream", "test", max(self.inputs), 0, self.options.rate_hz, True, False
            )
        else:
            device = sound.find_device(self.options.device, kind="input")
        if max(self.inputs) > device.input_channels:
            raise InvalidInputError(
                f"{device.name} has {device.input_channels} inputs; input {max(self.inputs)} does not exist.",
                hint="Choose inputs with --channels, e.g. --channels 1,2.",
            )
        folder = self.ws.session_dir(self.session.id)
        private_dir(folder)
        self._lock_fd = os.open(folder / ".recording.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise RecordingError(
                f"Session {self.session.id} is being recorded already.",
                hint="Stop the other recording first.",
            ) from None
        self._device = device
        self._stream = self._open_stream()
        self._conn = db.connect(self.ws.db_path, one_thread=False)  # handed to the writer thread
        try:
            self._open_segment()
            self._started_at = self.clock()
            self._state.last_block_at = self._started_at
            self._writer = threading.Thread(target=self._write_loop, name="take-writer", daemon=True)
            self._writer.start()
            self._stream.start()
        except BaseException:
            self._stop.set()
            self._finish()
            self._forget_empty_takes()
            raise
        log.info(
            "recording session %d: %d channels at %d Hz", self.session.id, self.channels, self.options.rate_hz
        )

    # -- the audio thread: hand blocks over, nothing else --------------------------------------
    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        block = indata[:, self._columns]  # fancy indexing copies: the buffer is reused by PortAudio
        try:
            self._queue.put_nowait((block, bool(status.input_overflow)))
        except queue.Full:  # the writer is stuck: count it as a dropout rather than block audio
            with self._lock:
                self._state.dropouts.append(self._state.frames / self.options.rate_hz)

    def _open_stream(self) -> Any:
        """Open (not start) an input stream on the device; its end is reported as a loss
        only while it is the current one."""
        self._generation += 1
        generation = self._generation
        factory = self.stream_factory or sound.input_stream

        def finished() -> None:
            if generation == self._generation and not self._stop.is_set():
                self._stream_ended.set()  # the writer thread closes the take and raises the alarm

        return factory(self._device, max(self.inputs), self.options.rate_hz, self._callback, finished)

    def _reopen(self) -> None:
        """While the signal is lost: close the stream and open the device again (a replugged
        interface, or a sound server that moved the stream elsewhere, comes back this way)."""
        old = self._stream
        self._generation += 1  # the old stream's end is not news
        with contextlib.suppress(Exception):
            old.abort()
        with contextlib.suppress(Exception):
            old.close()
        try:
            stream = self._open_stream()
            stream.start()
        except Exception as exc:
            log.info("the audio interface is not back yet: %s", exc)
            return
        self._stream = stream
        self._stream_ended.clear()
        with self._lock:
            self._state.last_block_at = self.clock()

    # -- the writer thread ---------------------------------------------------------------------
    def _write_loop(self) -> None:
        last_sync = self.clock()
        try:
            while True:
                try:
                    item = self._queue.get(timeout=0.2)
                except queue.Empty:
                    item = None
                    if self._stop.is_set():
                        break
                if item is not None:
                    self.feed(*item)
                now = self.clock()
                if self._stream_ended.is_set() or now - self._state.last_block_at > DEVICE_SILENT_S:
                    self._stream_ended.clear()
                    self._lose_signal("the audio interface stopped sending sound")
                if self._state.signal_lost and now >= self._next_reopen:
                    self._next_reopen = now + REOPEN_EVERY_S
                    self._reopen()
                if now - last_sync >= SYNC_EVERY_S:
                    self._sync()
                    last_sync = now
                if self._stop.is_set() and self._queue.empty():
                    break
        except BaseException as exc:  # keep what was written; say what happened
            self._error = exc
            log.error("recording stopped by an error: %s", exc)
            self._request_stop("error")
        finally:
            self._close_segment()

    def feed(self, block: np.ndarray, overflow: bool = False) -> None:
        """Write one block (frames x channels, int32) and update meters; also used by tests."""
        rate = self.options.rate_hz
        silent = not block.any()
        with self._lock:
            state = self._state
            state.last_block_at = self.clock()
            state.silent_frames = state.silent_frames + len(block) if silent else 0
            lost, back = state.signal_lost, state.signal_lost and not silent
            starts_loss = not lost and silent and state.silent_frames >= SIGNAL_LOST_S * rate
        if lost and not back:
            return  # nothing is written while there is no signal: the gap is marked instead
        if starts_loss:
            self._lose_signal("every input is digital silence (a cable pulled?)")
            return
        if back:
            self._regain_signal()
        with self._lock:
            if overflow:
                state.dropouts.append(state.frames / rate)
                log.warning("input overflow (dropout) at %.2f s", state.frames / rate)
            if len(block):
                level = block.astype(np.float32) * np.float32(1 / FULL_SCALE)
                state.peaks = np.max(np.abs(level), axis=0)
                state.rms = np.sqrt(np.einsum("ij,ij->j", level, level) / len(level))
                state.clipped += (state.peaks >= CLIP_LEVEL).astype(int)
        written = 0
        while written < len(block):
            segment = self._segment
            assert segment is not None
            room = self.segment_frames - segment.frames
            if room <= 0:
                self._roll_over()
                continue
            part = block[written : written + room]
            segment.handle.write(part)
            segment.frames += len(part)
            written += len(part)
        with self._lock:
            self._state.frames += len(block)
            if self.options.max_duration_s and self._state.frames >= self.options.max_duration_s * rate:
                self._request_stop("duration")

    def _sync(self) -> None:
        segment = self._segment
        if segment is None:
            return
        segment.handle.flush()
        os.fsync(segment.sync_fd)
        if self._conn is not None:
            self._conn.execute("UPDATE takes SET frames = ? WHERE id = ?", (segment.frames, segment.take_id))
        left = self.free_space(segment.path.parent) / self.bytes_per_s
        with self._lock:
            self._state.disk_left_s = left
            if left < STOP_DISK_S:
                self._state.warning = "Disk almost full: recording stopped, everything is kept."
                self._request_stop("disk_full")
            elif left < WARN_DISK_S:
                self._state.warning = f"Disk almost full: {left / 60:.0f} minutes of recording left."

    def _open_segment(self) -> None:
        assert self._conn is not None
        position = (
            (
                self._conn.execute(
                    "SELECT COALESCE(MAX(position), 0) FROM takes WHERE session_id = ?", (self.session.id,)
                ).fetchone()[0]
            )
            + 1
        )
        folder = self.ws.session_dir(self.session.id)
        # Never reuse a file name, even one a crash left unregistered.
        while any(folder.glob(f"take-{position:03d}.*")):
            position += 1
        path = folder / f"take-{position:03d}.wav"
        handle = sf.SoundFile(
            str(private_file(path)), "w", self.options.rate_hz, self.channels, "PCM_24", format="WAV"
        )
        sf._snd.sf_command(handle._file, _UPDATE_HEADER_AUTO, sf._ffi.NULL, 1)
        with db.transaction(self._conn):
            cursor = self._conn.execute(
                "INSERT INTO takes (session_id, position, origin, relpath, channels, sample_rate_hz, frames, "
                "state, created_at) VALUES (?, ?, 'recording', ?, ?, ?, 0, 'recording', ?)",
                (
                    self.session.id,
                    position,
                    self.ws.relative(path),
                    self.channels,
                    self.options.rate_hz,
                    now_iso(),
                ),
            )
            take_id = int(cursor.lastrowid or 0)
            self._conn.executemany(
                "INSERT INTO take_channels VALUES (?, ?, ?)",
                [(take_id, channel, owner) for channel, owner in self.owners.items()],
            )
        self._segment = _Segment(take_id, path, handle, os.open(path, os.O_RDONLY))
        self._take_ids.append(take_id)

    def _close_segment(self) -> None:
        segment, self._segment = self._segment, None
        if segment is None:
            return
        segment.handle.close()
        os.fsync(segment.sync_fd)
        os.close(segment.sync_fd)
        if self._conn is not None:
            self._conn.execute(
                "UPDATE takes SET frames = ?, state = 'complete' WHERE id = ?",
                (segment.frames, segment.take_id),
            )

    def _forget_empty_takes(self) -> None:
        """After a failed start: unregister takes that never received audio (nothing is lost)."""
        for take_id in self._take_ids:
            row = self.ws.conn.execute(
                "SELECT relpath, frames FROM takes WHERE id = ?", (take_id,)
            ).fetchone()
            if row is not None and row["frames"] == 0:
                self.ws.conn.execute("DELETE FROM takes WHERE id = ?", (take_id,))
                path = self.ws.absolute(row["relpath"])
                if path.exists() and path.stat().st_size <= 44:
                    path.unlink()

    @property
    def segment_frames(self) -> int:
        """A take's length in frames: the option, but never past WAV's 4 GiB at this width."""
        by_size = MAX_TAKE_BYTES // (self.channels * BYTES_PER_SAMPLE)
        return min(int(self.options.segment_s * self.options.rate_hz), by_size)

    def _lose_signal(self, why: str) -> None:
        """The alarm: close the take cleanly, then wait for the signal to come back (writer thread)."""
        if self._state.signal_lost:
            return
        self._close_segment()  # before the alarm shows: whoever sees it finds the take complete
        with self._lock:
            self._state.signal_lost = True
            self._state.lost_at = self.clock()
            self._state.warning = (
                f"NO SIGNAL: {why}. Check the cable and the interface; recording resumes by itself."
            )
        log.warning("signal lost at %.1f s: %s", self._state.frames / self.options.rate_hz, why)
        self._next_reopen = self.clock() + REOPEN_EVERY_S

    def _regain_signal(self) -> None:
        """The signal is back: a new take, with a marker saying how long the gap was."""
        with self._lock:
            gap = self.clock() - self._state.lost_at
            self._state.signal_lost = False
            self._state.gaps += 1
            self._state.warning = f"Signal back after a gap of {gap:.0f} s (marked in the session)."
        self._open_segment()
        assert self._conn is not None and self._segment is not None
        self._conn.execute(
            "INSERT INTO markers (take_id, time_s, label) VALUES (?, 0, ?)",
            (self._segment.take_id, f"gap: {gap:.0f} s without signal before this take"),
        )
        self._markers += 1
        log.warning("signal back after %.1f s", gap)

    def _roll_over(self) -> None:
        self._close_segment()
        self._open_segment()

    # -- control -------------------------------------------------------------------------------
    def _request_stop(self, reason: str) -> None:
        with self._lock:
            if self._state.stop_reason is None:
                self._state.stop_reason = reason
        self._stop.set()

    def stop(self, reason: str = "stopped") -> None:
        """Ask the recording to stop; `wait` finishes it."""
        self._request_stop(reason)

    def mark(self, label: str = "") -> float:
        """Drop a marker at the current time (seconds into the session's recording)."""
        with self._lock:
            segment = self._segment
            take_time = segment.frames / self.options.rate_hz if segment else 0.0
            take_id = segment.take_id if segment else (self._take_ids[-1] if self._take_ids else None)
        if take_id is None:
            raise RecordingError("Nothing is being recorded.", hint="Start the recording first.")
        self.ws.conn.execute(
            "INSERT INTO markers (take_id, time_s, label) VALUES (?, ?, ?)", (take_id, take_time, label)
        )
        self._markers += 1
        return take_time

    def status(self) -> RecordingStatus:
        with self._lock:
            state = self._state
            meters = tuple(
                ChannelMeter(
                    label, _dbfs(float(state.peaks[i])), _dbfs(float(state.rms[i])), int(state.clipped[i])
                )
                for i, label in enumerate(self.labels)
            )
            return RecordingStatus(
                state.frames / self.options.rate_hz,
                meters,
                len(state.dropouts),
                state.disk_left_s,
                state.warning,
                len(self._take_ids),
                not self._stop.is_set(),
                state.stop_reason,
                state.signal_lost,
            )

    def wait(
        self, poll: Callable[[RecordingStatus], None] | None = None, interval_s: float = 0.1
    ) -> RecordingResult:
        """Run until stopped (by stop(), the duration, the disk or the device), then close."""
        try:
            while not self._stop.wait(interval_s):
                if poll:
                    poll(self.status())
        finally:
            self._finish()
        state = self._state
        if self._error is not None and not isinstance(self._error, PodcastError):
            raise RecordingError(
                f"Recording stopped by an error: {self._error}. Everything written so far is kept.",
                hint=f"Run 'podcast session recover {self.session.id}' if a take is flagged.",
            )
        return RecordingResult(
            self.session.id,
            tuple(self._take_ids),
            state.frames / self.options.rate_hz,
            tuple(state.dropouts),
            self._markers,
            state.stop_reason or "stopped",
            state.gaps,
        )

    def _finish(self) -> None:
        self._stop.set()
        if self._stream is not None:
            with contextlib.suppress(Exception):
                self._stream.abort()  # stop() waits for buffers and can hang on a lost device
            with contextlib.suppress(Exception):
                self._stream.close()
        if self._writer is not None:
            self._writer.join(timeout=30)
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
