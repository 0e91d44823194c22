"""The one wrapper around the ffmpeg program. Failures become AudioError naming the file."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from podcast.errors import AudioError, ToolMissingError

log = logging.getLogger(__name__)


def ffmpeg_binary() -> str:
    """Path of the ffmpeg program, or raise ToolMissingError with the install command."""
    binary = shutil.which("ffmpeg")
    if binary is None:
        raise ToolMissingError(
            "ffmpeg is not installed.", hint="Install it with: sudo apt-get install ffmpeg"
        )
    return binary


def run(args: Sequence[str], *, subject: Path, timeout_s: float | None = None) -> None:
    """Run ffmpeg with *args* (without the program name). *subject* names the file for errors."""
    command = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    log.debug("running %s", " ".join(command))
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise AudioError(
            f"ffmpeg took too long on {subject.name}.", hint="Check the file; it may be damaged."
        ) from None
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-3:]) or f"exit code {result.returncode}"
        raise AudioError(
            f"ffmpeg could not process {subject.name}: {tail}",
            hint="Check that it is an audio file and is not damaged.",
        )


def decode_to_wav(source: Path, target: Path) -> None:
    """Decode any audio file ffmpeg understands to a 24-bit WAV, keeping channels and rate.

    The output carries no metadata from the source.
    """
    run(
        [
            "-i",
            str(source),
            "-vn",
            "-map_metadata",
            "-1",
            "-c:a",
            "pcm_s24le",
            "-f",
            "wav",
            str(target),
        ],
        subject=source,
    )


LOUDNESS_TARGET_LUFS = -16.0
TRUE_PEAK_MAX_DBTP = -1.5  # aim under the -1 dBTP ceiling: MP3 encoding adds a little


def _run_capture(args: list[str], *, subject: Path) -> str:
    command = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-nostats", *args]
    log.debug("running %s", " ".join(command))
    result = subprocess.run(command, capture_output=True, text=True, errors="replace", check=False)
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-3:]) or f"exit code {result.returncode}"
        raise AudioError(f"ffmpeg could not process {subject.name}: {tail}", hint="Check the file.")
    return result.stderr


def measure_loudness(path: Path) -> tuple[float, float]:
    """Integrated loudness (LUFS) and true peak (dBTP), measured by ffmpeg's EBU R128 meter."""
    text = _run_capture(["-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"], subject=path)
    summary = text[text.rfind("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    if not integrated or not peak:
        raise AudioError(f"Cannot measure the loudness of {path.name}.", hint="Check the file.")
    return float(integrated.group(1)), float(peak.group(1))


def _encode_with_gain(source: Path, target: Path, gain_db: float, bitrate_kbps: int, channels: int) -> None:
    ceiling = 10 ** (TRUE_PEAK_MAX_DBTP / 20)
    run(
        [
            "-i",
            str(source),
            "-af",
            # Gain, then a true-peak-aware limiter (4x oversampled) under the ceiling.
            f"volume={gain_db:.2f}dB,aresample=192000,alimiter=limit={ceiling:.4f}:level=false:attack=1:"
            "release=50,aresample=44100",
            "-ac",
            str(channels),
            "-c:a",
            "libmp3lame",
            "-b:a",
            f"{bitrate_kbps}k",
            "-map_metadata",
            "-1",
            "-id3v2_version",
            "0",
            "-write_id3v1",
            "0",
            "-fflags",
            "+bitexact",
            "-flags:a",
            "+bitexact",
            "-f",
            "mp3",
            str(target),
        ],
        subject=source,
    )


def encode_mp3(
    source: Path, target: Path, *, bitrate_kbps: int = 96, channels: int = 1
) -> tuple[float, float]:
    """Normalise to -16 LUFS with true peak under -1 dBTP and encode MP3 through ffmpeg, with
    no metadata at all (tags are written afterwards, by one module). Measures the result and
    corrects the gain once if needed; returns the final (LUFS, dBTP)."""
    loudness, _peak = measure_loudness(source)
    if loudness == float("-inf"):
        raise AudioError(f"{source.name} is silent.", hint="Check the extracts of this episode.")
    gain = LOUDNESS_TARGET_LUFS - loudness
    _encode_with_gain(source, target, gain, bitrate_kbps, channels)
    result = measure_loudness(target)
    for _ in range(3):  # the limiter takes some loudness away from peaky speech: correct it
        if abs(result[0] - LOUDNESS_TARGET_LUFS) <= 0.3:
            break
        gain += LOUDNESS_TARGET_LUFS - result[0]
        _encode_with_gain(source, target, gain, bitrate_kbps, channels)
        result = measure_loudness(target)
    return result
