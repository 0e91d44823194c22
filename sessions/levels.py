"""Each microphone's level over a take, ten values a second: the workbench's level strip.

Derived from the per-channel energy envelope that transcription measures anyway
(`channels.energy_map`), so a transcribed take has its strip for free; otherwise it is
measured once by streaming the take. Cached in the workspace's cache folder (recomputable,
private like everything derived from raw voices).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from podcast.fsutil import private_dir
from podcast.workspace import Workspace
from sessions import channels, sessions
from sessions.sessions import Take

PER_SECOND = 10


def _path(ws: Workspace, take: Take) -> Path:
    return ws.cache_dir / "levels" / f"take-{take.id}-{take.frames}.npy"


def from_energy(energy: channels.EnergyMap) -> np.ndarray:
    """Levels (0-255, uint8) per 1/PER_SECOND s and channel, from an energy envelope."""
    per = max(1, round(1 / (PER_SECOND * energy.hop_s)))
    rms = np.sqrt(energy.energy)
    rows = -(-len(rms) // per)
    padded = np.zeros((rows * per, energy.channels), dtype=np.float32)
    padded[: len(rms)] = rms
    peaks = padded.reshape(rows, per, energy.channels).max(axis=1)
    top = float(peaks.max()) if peaks.size else 0.0
    scaled = peaks / top if top > 0 else peaks
    return np.round(np.sqrt(scaled) * 255).astype(np.uint8)  # square root: quiet speech stays visible


def save(ws: Workspace, take: Take, levels: np.ndarray) -> None:
    path = _path(ws, take)
    private_dir(path.parent)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
        np.save(handle, levels)
    partial.replace(path)


def cached(ws: Workspace, take: Take) -> np.ndarray | None:
    path = _path(ws, take)
    return np.load(path) if path.exists() else None


def measure(ws: Workspace, take: Take) -> np.ndarray:
    """Measure a take's levels by streaming it (memory stays small) and cache them."""
    levels = from_energy(channels.energy_map(sessions.raw_path(ws, take)))
    save(ws, take, levels)
    return levels
