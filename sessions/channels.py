"""Who speaks when, from microphone channels: each word goes to the loudest channel.

Channel gains are equalised (every microphone's loud speech level brought to the same
value, with at most +10 dB of boost) so a quiet mic still wins over another's bleed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

HOP_S = 0.02
_MAX_BOOST = 10.0  # power ratio = +10 dB


@dataclass(frozen=True)
class EnergyMap:
    """Per-channel energy every 20 ms, gain-equalised. Shape (hops, channels)."""

    energy: np.ndarray
    hop_s: float = HOP_S

    @property
    def channels(self) -> int:
        return int(self.energy.shape[1])

    def loudest(self, start_s: float, end_s: float) -> int | None:
        """0-based channel carrying the most energy between two times (None if silent)."""
        first = max(0, int(start_s / self.hop_s))
        last = max(first + 1, int(np.ceil(end_s / self.hop_s)))
        window = self.energy[first:last]
        if window.size == 0:
            return None
        totals = window.sum(axis=0)
        if not np.any(totals > 0):
            return None
        return int(np.argmax(totals))


def energy_map(path: Path) -> EnergyMap:
    """Measure a take's per-channel energy envelope (streams the file; memory stays small)."""
    info = sf.info(str(path))
    hop = max(1, round(info.samplerate * HOP_S))
    rows: list[np.ndarray] = []
    for block in sf.blocks(str(path), blocksize=hop * 500, dtype="float32", always_2d=True):
        usable = (len(block) // hop) * hop
        if usable:
            frames = block[:usable].reshape(-1, hop, block.shape[1])
            rows.append(np.mean(frames**2, axis=1))
        if usable < len(block):
            rows.append(np.mean(block[usable:] ** 2, axis=0, keepdims=True))
    energy = np.concatenate(rows) if rows else np.zeros((0, info.channels), dtype=np.float32)
    if energy.size:
        level = np.percentile(energy, 99, axis=0)
        top = float(level.max())
        if top > 0:
            gain = np.clip(top / np.maximum(level, 1e-12), 1.0, _MAX_BOOST)
            energy = energy * gain
    return EnergyMap(energy.astype(np.float32), hop / info.samplerate)
