"""Recovering takes a crash left open: sizes taken from the file length. Never deletes audio."""

from __future__ import annotations

import fcntl
import logging
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from podcast.clock import now_iso
from podcast.db import transaction
from podcast.errors import PodcastError
from podcast.workspace import Workspace
from sessions import sessions

log = logging.getLogger(__name__)

MAX_DATA_BYTES = 0xFFFFFFFF - 1024  # a WAV's sizes are 32-bit: keep clear of the limit
_COPY_BYTES = 1 << 22


class RecoveryError(PodcastError):
    """A take cannot be recovered."""


@dataclass(frozen=True)
class Recovered:
    take_id: int
    position: int
    duration_s: float
    repaired_header: bool


def _data_chunk(handle: BinaryIO, size: int) -> tuple[int, int, int]:
    """(offset of the data, declared size, bytes per frame) of a RIFF/WAVE file."""
    read, seek = handle.read, handle.seek
    head = read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise RecoveryError("not a WAV file", hint="Keep the file; ask for help to recover it.")
    offset, block_align = 12, 0
    while offset + 8 <= size:
        seek(offset)
        chunk_id, chunk_size = struct.unpack("<4sI", read(8))
        if chunk_id == b"fmt ":
            fmt = read(16)
            block_align = struct.unpack("<H", fmt[12:14])[0]
        elif chunk_id == b"data":
            return offset + 8, chunk_size, block_align
        offset += 8 + chunk_size + (chunk_size & 1)
    raise RecoveryError("no audio data chunk", hint="The take was stopped before any audio was written.")


def recover_session(ws: Workspace, session_id: int) -> list[Recovered]:
    """Repair every take of the session left in 'recording' state; report what was kept."""
    session = sessions.get(ws, session_id)
    lock_path = ws.session_dir(session_id) / ".recording.lock"
    if lock_path.exists():
        fd = os.open(lock_path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RecoveryError(
                f"Session {session_id} is being recorded right now.", hint="Stop the recording first."
            ) from None
        finally:
            os.close(fd)
    results = []
    for take in session.takes:
        if take.state == "complete":
            continue
        path = ws.absolute(take.relpath)
        if not path.exists() or path.stat().st_size <= 44:
            # Nothing was ever written: forget the take, keep whatever file there is.
            ws.conn.execute("DELETE FROM takes WHERE id = ?", (take.id,))
            log.warning("take %d held no audio; removed from the list", take.id)
            continue
        size = path.stat().st_size
        with path.open("rb") as handle:
            data_at, _declared, block_align = _data_chunk(handle, size)
        if size - data_at > MAX_DATA_BYTES:
            # Past WAV's 4 GiB (a take from before takes rolled over by size): what lies beyond
            # goes into a new take right after it, so both are valid WAV files; nothing is lost.
            results += _split(ws, take, path, data_at, block_align)
            continue
        with path.open("r+b") as handle:
            data_at, declared, block_align = _data_chunk(handle, size)
            frames = (size - data_at) // block_align
            actual = frames * block_align
            repaired = (
                declared != actual or struct.unpack("<I", _read_at(handle, 4, 4))[0] != data_at + actual - 8
            )
            if repaired:
                handle.seek(4)
                handle.write(struct.pack("<I", data_at + actual - 8))
                handle.seek(data_at - 4)
                handle.write(struct.pack("<I", actual))
                handle.flush()
                os.fsync(handle.fileno())
        ws.conn.execute("UPDATE takes SET frames = ?, state = 'complete' WHERE id = ?", (frames, take.id))
        results.append(Recovered(take.id, take.position, frames / take.sample_rate_hz, repaired))
    return results


def _read_at(handle: BinaryIO, offset: int, size: int) -> bytes:
    handle.seek(offset)
    return handle.read(size)


def _split(
    ws: Workspace, take: sessions.Take, source: Path, data_at: int, block_align: int
) -> list[Recovered]:
    """Cut an over-long take at the last whole frame under the WAV limit: the rest is copied
    into a new take placed right after it (fsynced first), then the original is shortened and
    its header made right. Returns both, as recovered."""
    size = source.stat().st_size
    keep_frames = MAX_DATA_BYTES // block_align
    cut = data_at + keep_frames * block_align
    rest_frames = (size - cut) // block_align
    info = sf.info(str(source))
    tail = source.with_name(f"{source.stem}-rest{source.suffix}")
    n = 2
    while tail.exists():
        tail, n = source.with_name(f"{source.stem}-rest{n}{source.suffix}"), n + 1
    # 1. The rest, as its own WAV file (same format), complete and synced before anything changes.
    with (
        source.open("rb") as reader,
        sf.SoundFile(str(tail), "w", info.samplerate, info.channels, info.subtype, format="WAV") as writer,
    ):
        reader.seek(cut)
        left = rest_frames * block_align
        while left > 0:
            chunk = reader.read(min(_COPY_BYTES // block_align * block_align, left))
            if not chunk:
                break
            left -= len(chunk)
            frames = _frames_of(chunk, info.subtype, info.channels)
            writer.write(frames)
    os.chmod(tail, 0o600)
    with tail.open("rb+") as synced:
        os.fsync(synced.fileno())
    # 2. Register it right after the original (later takes move one place on).
    with transaction(ws.conn):
        ws.conn.execute(
            "UPDATE takes SET position = position + 1 WHERE session_id = ? AND position > ?",
            (take.session_id, take.position),
        )
        cursor = ws.conn.execute(
            "INSERT INTO takes (session_id, position, origin, relpath, channels, sample_rate_hz, frames, "
            "state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'complete', ?)",
            (
                take.session_id,
                take.position + 1,
                take.origin,
                ws.relative(tail),
                take.channels,
                take.sample_rate_hz,
                rest_frames,
                now_iso(),
            ),
        )
        new_id = int(cursor.lastrowid or 0)
        ws.conn.execute(
            "INSERT INTO take_channels SELECT ?, channel, participant_id FROM take_channels "
            "WHERE take_id = ?",
            (new_id, take.id),
        )
    # 3. Shorten the original to the limit and make its header right.
    with source.open("r+b") as handle:
        handle.truncate(cut)
        handle.seek(4)
        handle.write(struct.pack("<I", cut - 8))
        handle.seek(data_at - 4)
        handle.write(struct.pack("<I", keep_frames * block_align))
        handle.flush()
        os.fsync(handle.fileno())
    ws.conn.execute("UPDATE takes SET frames = ?, state = 'complete' WHERE id = ?", (keep_frames, take.id))
    log.warning("take %d was past WAV's 4 GiB: split in two takes", take.id)
    return [
        Recovered(take.id, take.position, keep_frames / take.sample_rate_hz, True),
        Recovered(new_id, take.position + 1, rest_frames / take.sample_rate_hz, True),
    ]


def _frames_of(chunk: bytes, subtype: str, channels: int) -> np.ndarray:
    """Raw little-endian PCM bytes as int32 frames (for 16- and 24-bit takes)."""
    if subtype == "PCM_16":
        return np.frombuffer(chunk, dtype="<i2").astype(np.int32).reshape(-1, channels) << 16
    if subtype == "PCM_24":
        raw = np.frombuffer(chunk, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        return ((raw[:, 0] << 8) | (raw[:, 1] << 16) | (raw[:, 2] << 24)).reshape(-1, channels)
    raise RecoveryError(
        f"a {subtype} take cannot be split", hint="Keep the file; ask for help to recover it."
    )
