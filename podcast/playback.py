"""Playing audio to the room (the one place below the CLI that touches sounddevice).

sounddevice is imported lazily: every other command works without PortAudio.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from podcast.errors import PodcastError, ToolMissingError

log = logging.getLogger(__name__)
MIN_LATENCY_S = 0.1  # lower underflows on PulseAudio null sinks and USB interfaces


class DeviceError(PodcastError):
    """An audio device is missing or failed."""


def sounddevice() -> Any:
    """The sounddevice module, or a clear error naming the package to install."""
    try:
        import sounddevice as sd
    except OSError:
        raise ToolMissingError(
            "The PortAudio library is not installed.",
            hint="Install it with: sudo apt-get install libportaudio2",
        ) from None
    return sd


def play(samples: np.ndarray, rate_hz: int, *, device: int | str | None = None) -> None:
    """Play samples (frames x channels, or mono) and wait until they have been heard."""
    sd = sounddevice()
    try:
        sd.play(samples, rate_hz, device=device, latency=max(MIN_LATENCY_S, 0.1), blocking=True)
    except (sd.PortAudioError, ValueError) as exc:
        raise DeviceError(
            f"Cannot play audio: {exc}.",
            hint="Check the output device with 'podcast devices', or use --no-play.",
        ) from None
