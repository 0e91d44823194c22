"""Fixed phrases read aloud, for participants who read little: spoken offline by the bundled
English Piper voice, or by espeak-ng for French (no French Piper voice ships; see
docs/privacy.md). Made once per phrase and kept in memory while the room is open."""

from __future__ import annotations

import io
import shutil
import subprocess
import threading

import soundfile as sf

from podcast.errors import ToolMissingError
from podcast.phrases import phrases
from publish import revoice
from publish.voices import BUNDLED, VoiceStore

# The phrases of the participant screens that can be read aloud.
SPOKEN = (
    "pass_to",
    "private",
    "question",
    "yes",
    "no",
    "later",
    "revoice",
    "retell",
    "disguise",
    "protect_title",
    "thanks",
    "give_back",
)
RATE_HZ = 22_050

_cache: dict[tuple[str, str], bytes] = {}
_lock = threading.Lock()


def prompt_wav(voices: VoiceStore, language: str, key: str) -> bytes:
    """WAV bytes of the phrase *key* in *language* (KeyError for a phrase that is not spoken)."""
    if key not in SPOKEN:
        raise KeyError(key)
    text = phrases(language)[key]
    with _lock:
        if (language, key) not in _cache:
            _cache[(language, key)] = _speak(voices, language, text)
        return _cache[(language, key)]


def _speak(voices: VoiceStore, language: str, text: str) -> bytes:
    if language == "en":
        audio = revoice.speak(text, voices.get(BUNDLED), 0.0, RATE_HZ)
        out = io.BytesIO()
        sf.write(out, audio, RATE_HZ, format="WAV", subtype="PCM_16")
        return out.getvalue()
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise ToolMissingError("espeak-ng is not installed.", hint="Install it: apt-get install espeak-ng")
    voice = {"fr": "fr"}.get(language, "en")
    return subprocess.run(
        [binary, "-v", voice, "-s", "140", "--stdout", text], capture_output=True, check=True, timeout=60
    ).stdout
