"""The wheel, installed without extras into a fresh virtual environment, runs the demo.

Proves that every run-time dependency is declared (none hides among the dev extras) and that
nothing reads files from the checkout. Installing needs the package registry (pip's cache
usually answers); the demo itself then runs with no network at all (`unshare -rn`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{args[:3]}: {result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


def test_the_wheel_without_extras_runs_the_demo(tmp_path: Path) -> None:
    source = tmp_path / "source"
    # A copy of the tracked files only: the build never sees .venv, caches or workspaces.
    files = _run(["git", "ls-files", "-z"], cwd=ROOT).stdout.split("\0")
    for name in filter(None, files):
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target)
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)])
    (wheel,) = wheels.glob("podcast_workshop-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], timeout=1200)
    installed = _run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"]).stdout.lower()
    for dev_only in ("pytest", "hypothesis", "podcastparser", "jiwer", "ruff"):
        assert f"\n{dev_only}==" not in f"\n{installed}", f"{dev_only} is installed without the dev extra"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "PODCAST_DATA_DIR": str(tmp_path / "data"),
        "LANG": "C.UTF-8",
    }
    demo = _run(
        ["unshare", "-rn", str(venv / "bin" / "podcast"), "demo", str(elsewhere / "demo")],
        cwd=elsewhere,
        env=env,
        timeout=1200,
    )
    assert "Feed:" in demo.stdout
    feed = (elsewhere / "demo" / "publish" / "feed.xml").read_text()
    assert feed.count("<item>") == 1
    assert str(ROOT) not in demo.stdout + demo.stderr, "nothing is read from the checkout"
    check = _run(
        [str(venv / "bin" / "podcast"), "-w", str(elsewhere / "demo"), "publish", "--check"], env=env
    )
    assert "keeps every promise" in check.stdout
    assert os.stat(elsewhere / "demo" / "state.db").st_mode & 0o077 == 0
