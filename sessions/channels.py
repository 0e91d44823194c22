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
# Who speaks is judged on energy summed over this long (bleed and plosives do not flip it)...
_SMOOTH_S = 0.4
# ... and a change of speaker is kept only if the new speaker holds at least this long.
MIN_TURN_S = 0.6


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

    def turns(self, start_s: float, end_s: float) -> list[tuple[float, float, int | None]]:
        """A stretch of speech cut where the loudest microphone changes: (start, end, channel)
        of each speaker's part, none shorter than MIN_TURN_S unless the stretch is."""
        first = max(0, int(start_s / self.hop_s))
        last = min(len(self.energy), max(first + 1, int(np.ceil(end_s / self.hop_s))))
        window = self.energy[first:last]
        if len(window) == 0 or not np.any(window > 0):
            return [(start_s, end_s, None)]
        width = max(1, round(_SMOOTH_S / self.hop_s))
        kernel = np.ones(width, dtype=np.float64)
        smoothed = np.stack(
            [np.convolve(window[:, c], kernel, mode="same") for c in range(window.shape[1])], axis=1
        )
        loudest = np.argmax(smoothed, axis=1)
        # Runs of one channel; a run too short to be a turn joins the longer of its neighbours.
        runs = _runs(loudest)
        shortest = max(1, round(MIN_TURN_S / self.hop_s))
        while len(runs) > 1:
            lengths = [b - a for a, b, _ in runs]
            index = int(np.argmin(lengths))
            if lengths[index] >= shortest:
                break
            if index == 0:
                neighbour = 1
            elif index == len(runs) - 1:
                neighbour = index - 1
            else:
                neighbour = index - 1 if lengths[index - 1] >= lengths[index + 1] else index + 1
            a, b, _ = runs[index]
            na, nb, channel = runs[neighbour]
            runs[min(index, neighbour)] = (min(a, na), max(b, nb), channel)
            del runs[max(index, neighbour)]
            runs = _joined(runs)
        cuts = [start_s, *[(first + a) * self.hop_s for a, _, _ in runs[1:]], end_s]
        return [
            (round(cuts[i], 3), round(cuts[i + 1], 3), int(channel)) for i, (_, _, channel) in enumerate(runs)
        ]


def _runs(values: np.ndarray) -> list[tuple[int, int, int]]:
    """(start, stop, value) of each run of equal values."""
    edges = [0, *(np.flatnonzero(np.diff(values)) + 1).tolist(), len(values)]
    return [(edges[i], edges[i + 1], int(values[edges[i]])) for i in range(len(edges) - 1)]


def _joined(runs: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Neighbouring runs of the same value made one."""
    out: list[tuple[int, int, int]] = []
    for a, b, value in runs:
        if out and out[-1][2] == value:
            out[-1] = (out[-1][0], b, value)
        else:
            out.append((a, b, value))
    return out


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
