"""Recovering takes a crash left open: sizes taken from the file length. Never deletes audio."""

from __future__ import annotations

import fcntl
import logging
import os
import struct
from dataclasses import dataclass
from typing import BinaryIO

from podcast.errors import PodcastError
from podcast.workspace import Workspace
from sessions import sessions

log = logging.getLogger(__name__)


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
