"""Listening to a take in the browser without loading it: a mono 16-bit WAV made on the fly.

The take stays where it is (multichannel, 24-bit, possibly hours long). The browser asks for
byte ranges of a virtual mono WAV (all microphones mixed, or one microphone alone); each
range is read from the take with a seek and converted a second at a time, so playing from
any word costs a few reads whatever the take's length, and memory stays flat.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

HEADER_BYTES = 44
BLOCK_FRAMES = 1 << 15


@dataclass(frozen=True)
class VirtualWav:
    path: Path
    channel: int | None  # 0-based microphone, or None for all of them mixed
    rate: int
    frames: int
    channels: int

    @classmethod
    def open(cls, path: Path, channel: int | None) -> VirtualWav:
        info = sf.info(str(path))
        if channel is not None and not 0 <= channel < info.channels:
            raise ValueError("no such channel")
        return cls(path, channel, info.samplerate, info.frames, info.channels)

    @property
    def size(self) -> int:
        return HEADER_BYTES + 2 * self.frames

    def header(self) -> bytes:
        data = 2 * self.frames
        return (
            b"RIFF"
            + struct.pack("<I", 36 + data)
            + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, self.rate, self.rate * 2, 2, 16)
            + b"data"
            + struct.pack("<I", data)
        )

    def _pcm(self, block: np.ndarray) -> bytes:
        if self.channel is not None:
            mono = block[:, self.channel]
        else:  # the sum of the microphones, scaled so that one voice keeps about its level
            mono = block.sum(axis=1) / np.sqrt(block.shape[1])
        return (np.clip(mono, -1.0, 1.0) * 32767).astype("<i2").tobytes()

    def read(self, first: int, last: int) -> Iterator[bytes]:
        """Bytes *first* to *last* (inclusive) of the virtual file, in pieces."""
        if first < HEADER_BYTES:
            yield self.header()[first : last + 1]
            first = HEADER_BYTES
        if last < first:
            return
        lo, hi = first - HEADER_BYTES, last - HEADER_BYTES + 1  # in the PCM data
        frame, stop = lo // 2, min(self.frames, (hi + 1) // 2)
        with sf.SoundFile(str(self.path)) as handle:
            handle.seek(frame)
            while frame < stop:
                block = handle.read(min(BLOCK_FRAMES, stop - frame), dtype="float32", always_2d=True)
                if not len(block):
                    return
                at = 2 * frame  # where this piece starts in the PCM data
                yield self._pcm(block)[max(lo - at, 0) : hi - at]
                frame += len(block)


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (first, last) bytes of a 'bytes=a-b' Range header; None for the whole file.

    Raises ValueError for a range that cannot be served (416).
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        raise ValueError(header)
    start, _, end = spec.strip().partition("-")
    if not start:  # the last N bytes
        length = int(end)
        return max(0, size - length), size - 1
    first = int(start)
    last = min(int(end), size - 1) if end else size - 1
    if first >= size or last < first:
        raise ValueError(header)
    return first, last
