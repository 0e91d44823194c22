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


def capture(args: Sequence[str], *, subject: Path) -> bytes:
    """Run ffmpeg with an output to "-" and return what it wrote there."""
    command = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-loglevel", "error", *args]
    log.debug("running %s", " ".join(command))
    result = subprocess.run(command, capture_output=True, check=False)
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        tail = " | ".join(lines[-3:]) or f"exit code {result.returncode}"
        raise AudioError(
            f"ffmpeg could not decode {subject.name}: {tail}",
            hint="Check that it is an audio file and is not damaged.",
        )
    return result.stdout


def _run_capture(args: list[str], *, subject: Path) -> str:
    command = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-nostats", *args]
    log.debug("running %s", " ".join(command))
    result = subprocess.run(command, capture_output=True, text=True, errors="replace", check=False)
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-3:]) or f"exit code {result.returncode}"
        raise AudioError(f"ffmpeg could not process {subject.name}: {tail}", hint="Check the file.")
    return result.stderr


def measure_loudness(path: Path, *, true_peak: bool = True) -> tuple[float, float]:
    """Integrated loudness (LUFS) and peak (true peak in dBTP, or sample peak in dBFS when
    *true_peak* is False, which is twice as fast), measured by ffmpeg's EBU R128 meter."""
    meter = "ebur128=peak=true" if true_peak else "ebur128=peak=sample"
    text = _run_capture(["-i", str(path), "-af", meter, "-f", "null", "-"], subject=path)
    summary = text[text.rfind("Summary:") :]
    integrated = re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary)
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary)
    if not integrated or not peak:
        raise AudioError(f"Cannot measure the loudness of {path.name}.", hint="Check the file.")
    return float(integrated.group(1)), float(peak.group(1))


def encode_mp3(
    source: Path, target: Path, *, bitrate_kbps: int = 96, channels: int = 1
) -> tuple[float, float]:
    """Encode MP3 (44.1 kHz) through ffmpeg with no metadata at all (tags are written
    afterwards, by one module); returns the encoded file's (LUFS, dBTP) measured by ffmpeg."""
    run(
        [
            "-i",
            str(source),
            "-ar",
            "44100",
            "-ac",
            str(channels),
            "-c:a",
            "libmp3lame",
            "-b:a",
            f"{bitrate_kbps}k",
            # LAME -q 7: half the encoding time of the default, and fine for speech.
            "-compression_level",
            "7",
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
    return measure_loudness(target)
