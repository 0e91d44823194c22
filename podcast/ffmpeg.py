"""The one wrapper around the ffmpeg program. Failures become AudioError naming the file."""

from __future__ import annotations

import logging
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
