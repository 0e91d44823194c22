"""Shared audio I/O helpers: checking, probing and reading audio files safely."""

from __future__ import annotations

import stat
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from podcast.errors import AudioError

_HINT_DAMAGED = "The file looks damaged; copy it again from the recorder."


@dataclass(frozen=True)
class AudioInfo:
    """What a readable audio file holds."""

    channels: int
    sample_rate_hz: int
    frames: int
    subtype: str

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate_hz if self.sample_rate_hz else 0.0


def check_readable_file(path: Path) -> None:
    """Raise AudioError unless *path* is a non-empty regular file we can open."""
    if path.is_dir():
        raise AudioError(f"{path.name} is a folder, not an audio file.", hint="Give the audio file itself.")
    if not path.exists():
        raise AudioError(f"{path} does not exist.", hint="Check the file name.")
    if not stat.S_ISREG(path.stat().st_mode):
        # Opening a pipe would wait for a writer for ever; a device never ends.
        raise AudioError(
            f"{path.name} is not a regular file (a pipe, a device or a socket).",
            hint="Give the recording's file itself, copied from the recorder.",
        )
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as exc:
        raise AudioError(
            f"{path.name} cannot be read: {exc.strerror}.", hint="Check its permissions."
        ) from None
    if size == 0:
        raise AudioError(f"{path.name} is empty (0 bytes).", hint=_HINT_DAMAGED)


def check_wav_structure(path: Path) -> None:
    """For RIFF/WAVE files, compare the header with the real file size.

    libsndfile silently reads a truncated WAV (fewer frames, no error) and a WAV whose data
    size is 0 as empty, so we check ourselves. Non-WAV files are left alone.
    """
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return
        offset = 12
        channels: int | None = None
        while offset + 8 <= size:
            handle.seek(offset)
            chunk_id, chunk_size = struct.unpack("<4sI", handle.read(8))
            if chunk_id == b"fmt ":
                fmt = handle.read(min(chunk_size, 16))
                if len(fmt) < 4:
                    raise AudioError(f"{path.name} has a damaged format header.", hint=_HINT_DAMAGED)
                channels = struct.unpack("<H", fmt[2:4])[0]
                if channels == 0:
                    raise AudioError(f"{path.name} declares zero audio channels.", hint=_HINT_DAMAGED)
            elif chunk_id == b"data":
                available = size - offset - 8
                if channels is None:
                    raise AudioError(f"{path.name} has no format header.", hint=_HINT_DAMAGED)
                if chunk_size in (0, 0xFFFFFFFF) and available > 0:
                    raise AudioError(
                        f"{path.name} was never finalised: its header says {chunk_size} bytes of "
                        f"audio but the file holds {available}.",
                        hint="If it is a take from this toolkit, run 'podcast session recover'; "
                        "otherwise let the recorder repair it first.",
                    )
                if chunk_size == 0:
                    raise AudioError(f"{path.name} holds no audio.", hint="Choose another file.")
                if chunk_size > available:
                    raise AudioError(
                        f"{path.name} is truncated: its header announces {chunk_size} bytes of "
                        f"audio but only {available} are there.",
                        hint=_HINT_DAMAGED,
                    )
                return
            offset += 8 + chunk_size + (chunk_size & 1)
        raise AudioError(f"{path.name} has no audio data chunk.", hint=_HINT_DAMAGED)


def probe(path: Path) -> AudioInfo:
    """Describe an audio file libsndfile can read, or raise AudioError."""
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(f"{path.name} cannot be read as audio: {exc}.", hint=_HINT_DAMAGED) from None
    if info.channels < 1:
        raise AudioError(f"{path.name} has no audio channels.", hint=_HINT_DAMAGED)
    if info.frames <= 0:
        raise AudioError(f"{path.name} holds no audio.", hint="Choose another file.")
    return AudioInfo(info.channels, int(info.samplerate), int(info.frames), info.subtype)


def read_range(path: Path, start_s: float, end_s: float, *, dtype: str = "float32") -> tuple[np.ndarray, int]:
    """Read frames between two times (seconds) as a (frames, channels) array and the rate."""
    info = probe(path)
    start = max(0, round(start_s * info.sample_rate_hz))
    stop = min(info.frames, round(end_s * info.sample_rate_hz))
    data, rate = sf.read(str(path), start=start, stop=max(start, stop), dtype=dtype, always_2d=True)
    return data, int(rate)
