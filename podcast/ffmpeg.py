"""The one wrapper around the ffmpeg program. Failures become AudioError naming the file."""

from __future__ import annotations

import contextlib
import logging
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from subprocess import PIPE

import numpy as np

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


def _tail(stderr: str | bytes, returncode: int | None) -> str:
    """The last lines ffmpeg wrote to stderr, on one line, for an error message."""
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    return " | ".join(text.strip().splitlines()[-3:]) or f"exit code {returncode}"


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
        raise AudioError(
            f"ffmpeg could not process {subject.name}: {_tail(result.stderr, result.returncode)}",
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
        raise AudioError(
            f"ffmpeg could not decode {subject.name}: {_tail(result.stderr, result.returncode)}",
            hint="Check that it is an audio file and is not damaged.",
        )
    return result.stdout


def _run_capture(args: list[str], *, subject: Path) -> str:
    command = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-nostats", *args]
    log.debug("running %s", " ".join(command))
    result = subprocess.run(command, capture_output=True, text=True, errors="replace", check=False)
    if result.returncode != 0:
        raise AudioError(
            f"ffmpeg could not process {subject.name}: {_tail(result.stderr, result.returncode)}",
            hint="Check the file.",
        )
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


_MP3_OPTIONS = [
    "-c:a",
    "libmp3lame",
    # LAME -q 7: half the encoding time of the default, and fine for speech.
    "-compression_level",
    "7",
    "-map_metadata",
    "-1",
    "-id3v2_version",
    "0",
    "-write_id3v1",
    "0",
    # No Xing/Info frame: it is written last, into the start of a seekable file; for
    # constant bitrate, players compute the duration from the size just as well.
    "-write_xing",
    "0",
    "-fflags",
    "+bitexact",
    "-flags:a",
    "+bitexact",
    "-f",
    "mp3",
]


def encode_mp3(
    samples: np.ndarray,
    rate_hz: int,
    target: Path,
    *,
    bitrate_kbps: int = 96,
    listen: Callable[[np.ndarray, int], None] | None = None,
) -> None:
    """Encode mono samples to MP3 at their rate through ffmpeg, with no metadata at all (tags
    are written afterwards, by one module).

    With *listen*, the MP3 is also decoded as it is produced, by a second ffmpeg, and
    *listen* gets the decoded samples block by block (to measure what will be heard without
    waiting for the encoding to end)."""
    base = [ffmpeg_binary(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    encoder_command = [*base, "-f", "f32le", "-ar", str(rate_hz), "-ac", "1", "-i", "pipe:0"]
    encoder_command += ["-b:a", f"{bitrate_kbps}k", *_MP3_OPTIONS, "pipe:1"]
    decoder_command = [*base, "-f", "mp3", "-i", "pipe:0", "-ac", "1", "-f", "f32le", "pipe:1"]
    log.debug("running %s", " ".join(encoder_command))
    data = np.asarray(samples, dtype="<f4")
    failures: list[BaseException] = []
    with contextlib.ExitStack() as stack:
        errors = [stack.enter_context(tempfile.TemporaryFile()) for _ in range(2)]
        encoder = subprocess.Popen(encoder_command, stdin=PIPE, stdout=PIPE, stderr=errors[0])
        decoder = (
            subprocess.Popen(decoder_command, stdin=PIPE, stdout=PIPE, stderr=errors[1]) if listen else None
        )
        assert encoder.stdin and encoder.stdout

        def feed() -> None:
            assert encoder.stdin
            try:
                for first in range(0, len(data), 1 << 20):
                    encoder.stdin.write(data[first : first + (1 << 20)].tobytes())
            except (BrokenPipeError, OSError) as exc:
                failures.append(exc)  # ffmpeg stopped early: its error message says why
            finally:
                encoder.stdin.close()

        def relay() -> None:
            assert encoder.stdout
            try:
                with target.open("wb") as out:
                    while chunk := encoder.stdout.read(1 << 16):
                        out.write(chunk)
                        if decoder and decoder.stdin:
                            decoder.stdin.write(chunk)
            except OSError as exc:
                failures.append(exc)
            finally:
                if decoder and decoder.stdin:
                    with contextlib.suppress(OSError):
                        decoder.stdin.close()

        threads = [threading.Thread(target=feed), threading.Thread(target=relay)]
        for thread in threads:
            thread.start()
        try:
            if decoder and decoder.stdout and listen:
                carry = b""
                while chunk := decoder.stdout.read(1 << 20):
                    chunk = carry + chunk
                    usable = len(chunk) - len(chunk) % 4
                    carry = chunk[usable:]
                    listen(np.frombuffer(chunk[:usable], dtype="<f4"), rate_hz)
        finally:
            for thread in threads:
                thread.join()
            encoder.wait()
            if decoder:
                decoder.wait()
        for process, error_file, what in ((encoder, errors[0], "encode"), (decoder, errors[1], "decode")):
            if process is not None and process.returncode != 0:
                error_file.seek(0)
                raise AudioError(
                    f"ffmpeg could not {what} {target.name}: {_tail(error_file.read(), process.returncode)}",
                    hint="Check the free disk space and that ffmpeg has the libmp3lame encoder.",
                )
        if failures:
            raise AudioError(
                f"Could not write {target.name}: {failures[0]}", hint="Check the free disk space."
            )
