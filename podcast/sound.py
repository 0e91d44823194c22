"""The one wrapper around sounddevice (PortAudio): devices, input streams, playback.

sounddevice is imported lazily, so every other command works without PortAudio, and a
missing library becomes a clear error with the command that installs it.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from podcast.errors import PodcastError, ToolMissingError

log = logging.getLogger(__name__)
MIN_LATENCY_S = 0.1  # lower underflows on PulseAudio null sinks and USB interfaces


class DeviceError(PodcastError):
    """An audio device is missing or failed."""


@dataclass(frozen=True)
class Device:
    index: int
    name: str
    host_api: str
    input_channels: int
    output_channels: int
    default_rate_hz: int
    default_input: bool
    default_output: bool


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


def devices() -> list[Device]:
    """Every audio device PortAudio sees."""
    sd = sounddevice()
    try:
        found = sd.query_devices()
        apis = sd.query_hostapis()
        default_in, default_out = sd.default.device
    except sd.PortAudioError as exc:
        raise DeviceError(f"Cannot list audio devices: {exc}.", hint="Check the sound system.") from None
    return [
        Device(
            i,
            d["name"],
            apis[d["hostapi"]]["name"],
            int(d["max_input_channels"]),
            int(d["max_output_channels"]),
            int(d["default_samplerate"]),
            i == default_in,
            i == default_out,
        )
        for i, d in enumerate(found)
    ]


def find_device(wanted: int | str | None, *, kind: str) -> Device:
    """A device by index or (part of its) name; None means the default one. kind: input|output."""
    available = [d for d in devices() if (d.input_channels if kind == "input" else d.output_channels) > 0]
    hint = "See 'podcast devices' for the device names and numbers."
    if not available:
        raise DeviceError(f"No audio {kind} device was found.", hint="Plug in the audio interface.")
    if wanted is None:
        chosen = [d for d in available if (d.default_input if kind == "input" else d.default_output)]
        return chosen[0] if chosen else available[0]
    if isinstance(wanted, int) or str(wanted).isdigit():
        for device in available:
            if device.index == int(wanted):
                return device
        raise DeviceError(f"There is no audio {kind} device number {wanted}.", hint=hint)
    exact = [d for d in available if d.name == wanted]
    partial = [d for d in available if str(wanted).casefold() in d.name.casefold()]
    matches = exact or partial
    if not matches:
        raise DeviceError(f"No audio {kind} device is called {wanted!r}.", hint=hint)
    if len(matches) > 1:
        raise DeviceError(
            f"{wanted!r} matches {len(matches)} devices: " + ", ".join(d.name for d in matches) + ".",
            hint="Use the device number instead.",
        )
    return matches[0]


def input_stream(
    device: Device,
    channels: int,
    rate_hz: int,
    callback: Callable[..., None],
    finished: Callable[[], None] | None = None,
) -> Any:
    """An opened (not started) 32-bit integer input stream; raises DeviceError."""
    sd = sounddevice()
    try:
        return sd.InputStream(
            device=device.index,
            channels=channels,
            samplerate=rate_hz,
            dtype="int32",
            latency=MIN_LATENCY_S,
            callback=callback,
            finished_callback=finished,
            blocksize=rate_hz // 10,  # 100 ms blocks: few wake-ups, meters still at 10 Hz
        )
    except (sd.PortAudioError, ValueError) as exc:
        raise DeviceError(
            f"Cannot record from {device.name}: {exc}.",
            hint="Check the number of channels and the rate the device supports ('podcast devices').",
        ) from None


def play(samples: np.ndarray, rate_hz: int, *, device: int | str | None = None) -> None:
    """Play samples (frames x channels, or mono) and wait until they have been heard."""
    sd = sounddevice()
    target = find_device(device, kind="output")
    try:
        sd.play(samples, rate_hz, device=target.index, latency=MIN_LATENCY_S, blocking=True)
    except (sd.PortAudioError, ValueError) as exc:
        raise DeviceError(
            f"Cannot play audio: {exc}.",
            hint="Check the output device with 'podcast devices', or use --no-play.",
        ) from None


def play_file_to_pulse_sink(path: Path, sink: str, channel_map: str) -> None:
    """Play a file into a PulseAudio sink with paplay (used to feed the virtual sound server)."""
    paplay = shutil.which("paplay")
    if paplay is None:
        raise ToolMissingError("paplay is not installed.", hint="sudo apt-get install pulseaudio-utils")
    result = subprocess.run(
        [paplay, f"--device={sink}", f"--channel-map={channel_map}", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise DeviceError(
            f"Cannot play into {sink}: {result.stderr.strip()[-200:]}",
            hint="Is the virtual sound server running? scripts/audio-server start DIR",
        )
