"""Shared fixtures: a fresh workspace, a CLI runner with a pinned width, audio makers."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from consent import participants
from podcast.models import ModelStore
from podcast.settings import ShowSettings
from podcast.workspace import Workspace
from sessions import sessions


@pytest.fixture
def ws(tmp_path: Path) -> Iterator[Workspace]:
    show = ShowSettings(
        title="Test show",
        language="en",
        author="Test collective",
        base_url="https://podcast.example.org/show/",
        owner_email="owner@example.org",
    )
    workspace = Workspace.create(tmp_path / "ws", show)
    yield workspace
    workspace.close()


@pytest.fixture
def session_id(ws: Workspace) -> int:
    for name in ("Amara", "Blessing", "Chidinma"):
        participants.add(ws, name)
    return sessions.create(ws, "Test session", ["Amara", "Blessing", "Chidinma"]).id


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1", "PODCAST_WORKSPACE": None})


def tone(freq_hz: float, seconds: float, rate_hz: int = 48_000, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def multichannel_tones(channels: int, seconds: float = 1.0, rate_hz: int = 48_000) -> np.ndarray:
    """One distinct tone per channel, so channel order can be checked."""
    return np.stack([tone(220.0 * (c + 1), seconds, rate_hz) for c in range(channels)], axis=1)


@pytest.fixture
def wav_file(tmp_path: Path) -> Path:
    path = tmp_path / "ZOOM0001_Amara-real-name.wav"
    sf.write(str(path), multichannel_tones(3), 48_000, subtype="PCM_16")
    return path


def ffmpeg_encode(source: Path, target: Path, *args: str) -> Path:
    subprocess.run(
        [
            "ffmpeg",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(source),
            *args,
            str(target),
        ],
        check=True,
    )
    return target


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody can write in: a read-only tmpfs as root, chmod 555 otherwise."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    if os.geteuid() == 0:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)], check=True)
        try:
            yield folder
        finally:
            subprocess.run(["umount", str(folder)], check=False)
    else:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)


@pytest.fixture(scope="session")
def mbrola_folder() -> Path:
    """The MBROLA voices scripts/mbrola-voices unpacks under .cache/ (from this machine's own
    package mirror; `make test` fetches them first, so this only checks they are there)."""
    root = Path(__file__).resolve().parents[1]
    folder = root / ".cache" / "mbrola"
    result = subprocess.run(
        ["sh", str(root / "scripts" / "mbrola-voices"), str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return folder


@pytest.fixture(scope="session")
def model_store(tmp_path_factory: pytest.TempPathFactory) -> ModelStore:
    """The bundled Whisper base model, assembled once for the whole test run."""
    store = ModelStore(tmp_path_factory.mktemp("data"))
    store.ready()
    return store


@pytest.fixture
def sid(ws: Workspace, tmp_path: Path) -> int:
    """A transcribed two-person session (Amara, Blessing) with Fatou as facilitator."""
    from tests.sessions.transcript_data import make_transcribed_session

    session_id = make_transcribed_session(ws, tmp_path)
    fatou = participants.add(ws, "Fatou")
    ws.conn.execute("INSERT INTO session_members VALUES (?, ?, 'facilitator', 9)", (session_id, fatou.id))
    return session_id


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def audio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A private PulseAudio server with null sinks (scripts/audio-server), for real recording."""
    folder = tmp_path_factory.mktemp("pulse")
    started = subprocess.run(
        [str(ROOT / "scripts" / "audio-server"), "start", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    env = dict(line.split("=", 1) for line in started.stdout.split() if "=" in line)
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    import sounddevice as sd

    # PortAudio scans devices once; make it see the server's ALSA devices.
    sd._terminate()
    sd._initialize()
    try:
        yield env
    finally:
        subprocess.run([str(ROOT / "scripts" / "audio-server"), "stop", str(folder)], check=False)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        sd._terminate()
        sd._initialize()


needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="mounting a small disk needs root (CI runs as root)"
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB disk (tmpfs) that a step can fill; mounting it needs root, as CI is."""
    folder = tmp_path / "small"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=700", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
