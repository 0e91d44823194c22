"""Bad input and hostile places: one line with a hint, exit code 1, nothing half-written.

Each case was a traceback, a hang or a destroyed file before (see the CHANGELOG's red-team list).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
from typer.testing import CliRunner

from podcast.cli import app
from podcast.models import ModelStore
from podcast.settings import ShowSettings
from podcast.workspace import Workspace
from sessions import importer, transcripts
from sessions.formats import Phrase, TimedWord, to_json, to_srt, to_txt, to_vtt
from tests.conftest import multichannel_tones, needs_root

PODCAST = [sys.executable, "-m", "podcast"]


def run(runner: CliRunner, ws: Workspace, *args: str, **kwargs):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["-w", str(ws.root), *args], **kwargs)


def one_clean_error(result) -> None:  # type: ignore[no-untyped-def]
    output = result.output if hasattr(result, "output") else result.stderr
    code = result.exit_code if hasattr(result, "exit_code") else result.returncode
    assert code == 1, output
    assert "Error:" in output and "Hint:" in output, output
    assert "Traceback" not in output, output


def test_an_argument_that_is_not_utf8_is_one_clean_line(ws: Workspace) -> None:
    result = subprocess.run(
        [*map(os.fsencode, PODCAST), b"-w", os.fsencode(ws.root), b"session", b"new", b"caf\xe9 \xff"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1 and "not valid UTF-8" in result.stderr and "Hint:" in result.stderr
    assert "Traceback" not in result.stderr
    assert ws.conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 0


def _editor(tmp_path: Path, body: str) -> str:
    script = tmp_path / "editor.py"
    script.write_text(f"import sys\npath = sys.argv[1]\n{body}\n")
    return f"{sys.executable} {script}"


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("data = open(path, 'rb').read() + b'\\n[0:00:09.0 #1] Amara: caf\\xe9\\n'", "not valid UTF-8 (line"),
        ("data = open(path, 'rb').read().replace(b'three years', b'three\\x00years')", "U+0000"),
        ("data = open(path, 'rb').read().replace(b'three years', b'three \\x1b[2Jyears')", "U+001B"),
        ("data = open(path, 'rb').read().replace(b'Paris', 'Pa\\u202eris'.encode())", "U+202E"),
    ],
)
def test_a_bad_edit_changes_nothing(
    runner: CliRunner, ws: Workspace, sid: int, tmp_path: Path, change: str, said: str
) -> None:
    before = transcripts.render_for_edit(transcripts.load(ws, sid))
    editor = _editor(tmp_path, f"{change}\nopen(path, 'wb').write(data)")
    result = run(runner, ws, "transcript", "edit", str(sid), env={"EDITOR": editor})
    one_clean_error(result)
    assert said in result.output
    if said != "not valid UTF-8 (line":
        assert "Line " in result.output, "the message names the line"
    assert transcripts.render_for_edit(transcripts.load(ws, sid)) == before
    assert not transcripts.load(ws, sid).reviewed


def test_published_and_exported_texts_carry_no_control_or_direction_characters() -> None:
    hostile = Phrase(
        "Am\u202eara\x1b", (TimedWord(0.0, 0.5, "three\x1b[2J"), TimedWord(0.5, 1.0, "\u2066years\x00"))
    )
    for writer in (to_vtt, to_srt, to_json, to_txt):
        text = writer([hostile])
        assert not any(c in text for c in "\x1b\x00\u202e\u2066"), writer.__name__
        assert "three[2J" in text and "years" in text


@pytest.mark.parametrize("kind", ["folder", "fifo", "symlink", "device"])
def test_export_never_replaces_what_is_not_a_file(
    runner: CliRunner, ws: Workspace, sid: int, tmp_path: Path, kind: str
) -> None:
    target = tmp_path / f"target-{kind}"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    if kind == "folder":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    elif kind == "symlink":
        target.symlink_to(victim)
    else:
        if os.geteuid() != 0:
            pytest.skip("making a device node needs root (CI runs as root)")
        os.mknod(target, stat.S_IFCHR | 0o666, os.makedev(1, 7))  # what /dev/full is
    before = os.lstat(target)
    result = run(runner, ws, "transcript", "export", str(sid), "-o", str(target))
    one_clean_error(result)
    after = os.lstat(target)
    assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode) and after.st_ino == before.st_ino
    assert victim.read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


def test_importing_a_pipe_is_refused_at_once(
    runner: CliRunner, ws: Workspace, sid: int, tmp_path: Path
) -> None:
    fifo = tmp_path / "recording.wav"
    os.mkfifo(fifo)
    result = subprocess.run(
        [*PODCAST, "-w", str(ws.root), "session", "import", str(sid), str(fifo)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1 and "not a regular file" in result.stderr and "Hint:" in result.stderr


@needs_root
def test_a_full_disk_during_import_says_how_much_is_needed(small_disk: Path, tmp_path: Path) -> None:
    ws = Workspace.create(small_disk / "ws", ShowSettings(title="Small"))
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert run(runner, ws, "participant", "add", "Amara", "Blessing", "Chidinma").exit_code == 0
    assert (
        run(runner, ws, "session", "new", "S", "-p", "Amara", "-p", "Blessing", "-p", "Chidinma").exit_code
        == 0
    )
    source = tmp_path / "long.wav"
    sf.write(str(source), multichannel_tones(3, 30.0), 48_000, subtype="PCM_16")  # 8.6 MB
    result = run(runner, ws, "session", "import", "1", str(source))
    one_clean_error(result)
    assert "Disk full: importing needs about" in result.output and "MB" in result.output
    assert "backup" not in result.output
    assert not list(ws.takes_dir.rglob("*.flac")) and not list(ws.takes_dir.rglob(".tmp-*"))
    assert ws.conn.execute("SELECT count(*) FROM takes").fetchone()[0] == 0


@needs_root
def test_a_disk_that_fills_during_import_leaves_nothing(
    small_disk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = Workspace.create(small_disk / "ws", ShowSettings(title="Small"))
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1"})
    run(runner, ws, "participant", "add", "Amara")
    run(runner, ws, "session", "new", "S", "-p", "Amara")
    source = tmp_path / "noise.flac"
    import numpy as np

    noise = np.random.default_rng(1).uniform(-0.5, 0.5, (48_000 * 10, 1)).astype("float32")
    sf.write(str(source), noise, 48_000, subtype="PCM_16")  # FLAC cannot shrink noise
    # The check before writing passed; then another program took the space (the import's
    # own look at free space is made to see the disk as it was before).
    monkeypatch.setattr(importer, "free_bytes", lambda _path: 10**12)
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    (small_disk / "filler").write_bytes(bytes(max(0, free - 300_000)))
    result = run(runner, ws, "session", "import", "1", str(source))
    one_clean_error(result)
    assert "Disk full" in result.output
    assert not [p for p in ws.takes_dir.rglob("*") if p.is_file()]
    assert ws.conn.execute("SELECT count(*) FROM takes").fetchone()[0] == 0


@needs_root
def test_a_full_disk_before_transcription_says_so(
    small_disk: Path, tmp_path: Path, model_store: ModelStore
) -> None:
    ws = Workspace.create(small_disk / "ws", ShowSettings(title="Small"))
    runner = CliRunner(env={"COLUMNS": "200", "NO_COLOR": "1", "PODCAST_DATA_DIR": str(model_store.data_dir)})
    run(runner, ws, "participant", "add", "Amara")
    run(runner, ws, "session", "new", "S", "-p", "Amara")
    source = tmp_path / "short.wav"
    sf.write(str(source), multichannel_tones(1, 2.0), 48_000, subtype="PCM_16")
    assert run(runner, ws, "session", "import", "1", str(source)).exit_code == 0
    stats = os.statvfs(small_disk)
    (small_disk / "filler").write_bytes(bytes(max(0, stats.f_bavail * stats.f_frsize - 200_000)))
    result = run(runner, ws, "transcribe", "1")
    one_clean_error(result)
    assert "Disk full: transcribing needs about" in result.output and "backup" not in result.output
