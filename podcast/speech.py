"""The one wrapper around espeak-ng: synthetic speech for the demo and the tests, and the
speech and phones of MBROLA voices (revoice and retell)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from podcast.errors import AudioError, ToolMissingError

log = logging.getLogger(__name__)


def espeak_binary() -> str:
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise ToolMissingError(
            "espeak-ng is not installed.", hint="Install it with: sudo apt-get install espeak-ng"
        )
    return binary


def synthesize(
    text: str,
    *,
    voice: str = "en",
    speed_wpm: int = 150,
    pitch: int = 50,
    env: dict[str, str] | None = None,
    ssml: bool = False,
) -> tuple[np.ndarray, int]:
    """Speak *text* with espeak-ng; returns mono float32 samples and the sample rate. *env*:
    the environment of espeak-ng (an MBROLA voice's data path and program); *ssml*: the text
    is SSML (`<speak>…<break time="500ms"/>…</speak>`)."""
    with tempfile.TemporaryDirectory(prefix="podcast-speech-") as tmp:
        out = Path(tmp) / "speech.wav"
        command = [
            espeak_binary(),
            "-v",
            voice,
            "-s",
            str(speed_wpm),
            "-p",
            str(pitch),
            "-w",
            str(out),
            *(["-m"] if ssml else []),
            "--",
            text,
        ]
        log.debug("running espeak-ng -v %s", voice)
        result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
        if result.returncode != 0 or not out.exists():
            raise AudioError(
                f"espeak-ng failed for voice {voice!r}: {result.stderr.strip()[-200:]}",
                hint="Check the voice name with: espeak-ng --voices",
            )
        data, rate = sf.read(str(out), dtype="float32", always_2d=False)
    return np.asarray(data, dtype=np.float32), int(rate)


def phonemes(text: str, *, voice: str, speed_wpm: int = 150, env: dict[str, str] | None = None) -> str:
    """espeak-ng's reading of *text* as MBROLA input (a .pho text: one phone a line, its
    duration in ms, then pitch points as percent-of-phone and Hz pairs). *voice* is an MBROLA
    voice (mb-fr1); *env* as for synthesize."""
    command = [espeak_binary(), "-q", "--pho", "-v", voice, "-s", str(speed_wpm), "--", text]
    log.debug("running espeak-ng --pho -v %s", voice)
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if result.returncode != 0:
        raise AudioError(
            f"espeak-ng failed for voice {voice!r}: {result.stderr.strip()[-200:]}",
            hint="Check the voice name with: espeak-ng --voices",
        )
    return result.stdout
