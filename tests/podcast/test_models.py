from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from podcast.models import BUNDLED_FILES, ModelError, ModelStore


def test_bundled_model_is_assembled_and_verified(model_store: ModelStore) -> None:
    model = model_store.verify("base")
    assert model.bundled
    assert (model.path / "model.bin").stat().st_size == 145_217_532
    assert sorted(p.name for p in model.path.iterdir()) == sorted(BUNDLED_FILES)


@pytest.fixture
def private_store(model_store: ModelStore, tmp_path: Path) -> ModelStore:
    """A copy of the assembled model that a test may damage."""
    store = ModelStore(tmp_path / "data")
    shutil.copytree(model_store.bundled_dir, store.bundled_dir)
    return store


def test_a_corrupted_model_file_is_detected_and_repaired(private_store: ModelStore) -> None:
    model_bin = private_store.bundled_dir / "model.bin"
    with model_bin.open("r+b") as handle:
        handle.seek(70_000_000)
        byte = handle.read(1)
        handle.seek(70_000_000)
        handle.write(bytes([byte[0] ^ 0x01]))
    with pytest.raises(ModelError, match="damaged") as info:
        private_store.ready()
    assert "models repair" in (info.value.hint or "")
    private_store.repair()
    assert private_store.verify("base").name == "base"


def test_a_missing_file_is_detected(private_store: ModelStore) -> None:
    (private_store.bundled_dir / "tokenizer.json").unlink()
    with pytest.raises(ModelError, match="incomplete"):
        private_store.verify("base")


def test_first_use_assembles_it(model_store: ModelStore, tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "fresh")
    with pytest.raises(ModelError, match="not assembled"):
        store.verify("base")
    seen: list[int] = []
    store.ready(on_progress=lambda done, total: seen.append(done))
    assert seen[-1] == 145_217_532
    assert not list(store.models_dir.glob(".*partial*"))


def test_add_a_local_model_records_hashes_and_detects_changes(
    model_store: ModelStore, tmp_path: Path
) -> None:
    folder = tmp_path / "usb" / "whisper-large"
    shutil.copytree(model_store.bundled_dir, folder)
    store = ModelStore(tmp_path / "data")
    model = store.add(folder)
    assert model.name == "whisper-large"
    assert model.files["model.bin"] == BUNDLED_FILES["model.bin"]
    assert [m.name for m in store.list()] == ["base", "whisper-large"]
    (folder / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="damaged"):
        store.verify("whisper-large")


@pytest.mark.parametrize("name", ["base", "../x", "a b"])
def test_add_refuses_bad_names(model_store: ModelStore, tmp_path: Path, name: str) -> None:
    with pytest.raises(ModelError, match="cannot be used"):
        ModelStore(tmp_path / "d").add(model_store.bundled_dir, name)


def test_add_refuses_a_folder_that_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("hi")
    with pytest.raises(ModelError, match="not a CTranslate2"):
        ModelStore(tmp_path / "d").add(tmp_path / "notes")
    with pytest.raises(ModelError, match="not a folder"):
        ModelStore(tmp_path / "d").add(tmp_path / "nowhere")


def test_unknown_model_name(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="No model"):
        ModelStore(tmp_path).get("large-v3")
