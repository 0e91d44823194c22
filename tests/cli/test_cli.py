"""Every command through typer's CliRunner: output, exit codes, errors with hints."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner

from podcast.cli import app
from podcast.models import ModelStore
from podcast.workspace import Workspace
from sessions import sessions


def run(runner: CliRunner, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input)


@pytest.fixture
def wsdir(runner: CliRunner, tmp_path: Path) -> Path:
    result = run(runner, "init", str(tmp_path / "w"), "--title", "Nos voix", "--language", "fr")
    assert result.exit_code == 0, result.output
    return tmp_path / "w"


def test_init_then_second_init_is_refused(runner: CliRunner, wsdir: Path) -> None:
    assert (wsdir / "podcast.toml").exists()
    before = (wsdir / "podcast.toml").read_bytes()
    result = run(runner, "init", str(wsdir), "--title", "Again")
    assert result.exit_code == 1
    assert "already a workspace" in result.output and "Hint:" in result.output
    assert "Traceback" not in result.output
    assert (wsdir / "podcast.toml").read_bytes() == before


def test_init_with_invalid_settings(runner: CliRunner, tmp_path: Path) -> None:
    result = run(runner, "init", str(tmp_path / "w"), "--language", "French")
    assert result.exit_code == 1
    assert "language" in result.output and "Hint:" in result.output
    assert not (tmp_path / "w").exists()


def test_init_in_read_only_folder(runner: CliRunner, read_only_dir: Path) -> None:
    result = run(runner, "init", str(read_only_dir / "w"))
    assert result.exit_code == 1
    assert "Cannot" in result.output and "Hint:" in result.output


def test_participants_through_the_cli(runner: CliRunner, wsdir: Path) -> None:
    w = ["--workspace", str(wsdir)]
    assert run(runner, *w, "participant", "add", "Amara", "Blessing").exit_code == 0
    listed = run(runner, *w, "participant", "list")
    assert "Amara" in listed.output and "Blessing" in listed.output
    assert run(runner, *w, "participant", "rename", "Amara", "Amie").exit_code == 0
    assert run(runner, *w, "participant", "retire", "Blessing").exit_code == 0
    listed = run(runner, *w, "participant", "list").output
    assert "Amie" in listed and "Blessing" not in listed
    assert "retired" in run(runner, *w, "participant", "list", "--all").output


@pytest.mark.parametrize("name", ["../../etc", "a\x00b", "evil\u202egnp.exe", "x" * 500])
def test_hostile_pseudonyms_give_one_line_and_a_hint(runner: CliRunner, wsdir: Path, name: str) -> None:
    result = run(runner, "-w", str(wsdir), "participant", "add", name)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("Error:") and lines[1].startswith("Hint:")
    assert "Traceback" not in result.output
    assert "No participants" in run(runner, "-w", str(wsdir), "participant", "list").output


def test_duplicate_pseudonym(runner: CliRunner, wsdir: Path) -> None:
    run(runner, "-w", str(wsdir), "participant", "add", "Amara")
    result = run(runner, "-w", str(wsdir), "participant", "add", "amara")
    assert result.exit_code == 1 and "already taken" in result.output


def test_session_new_list_show_import(runner: CliRunner, wsdir: Path, wav_file: Path) -> None:
    w = ["-w", str(wsdir)]
    run(runner, *w, "participant", "add", "Amara", "Blessing", "Chidinma", "Fatou")
    result = run(
        runner,
        *w,
        "session",
        "new",
        "Travail",
        "-p",
        "Amara",
        "-p",
        "Blessing",
        "-p",
        "Chidinma",
        "--facilitator",
        "Fatou",
        "--language",
        "fr",
    )
    assert result.exit_code == 0, result.output
    result = run(
        runner,
        *w,
        "--quiet",
        "session",
        "import",
        "1",
        str(wav_file),
        "--channel-map",
        "1=Blessing,2=Amara,3=Chidinma",
    )
    assert result.exit_code == 0, result.output
    assert "1=Blessing" in result.output and "ZOOM0001" not in result.output
    assert "Travail" in run(runner, *w, "session", "list").output
    shown = run(runner, *w, "session", "show", "1").output
    assert "Fatou" in shown and "0:01" in shown
    status = run(runner, *w, "status")
    assert status.exit_code == 0 and "Travail" in status.output and "Before publishing" in status.output


def test_session_errors(runner: CliRunner, wsdir: Path, tmp_path: Path) -> None:
    w = ["-w", str(wsdir)]
    result = run(runner, *w, "session", "show", "7")
    assert result.exit_code == 1 and "no session 7" in result.output and "Hint:" in result.output
    result = run(runner, *w, "session", "new", "T", "-p", "Ghost")
    assert result.exit_code == 1 and "Ghost" in result.output
    run(runner, *w, "participant", "add", "Amara")
    run(runner, *w, "session", "new", "T", "-p", "Amara")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    result = run(runner, *w, "session", "import", "1", str(bad))
    assert result.exit_code == 1 and "Hint:" in result.output
    result = run(runner, *w, "session", "import", "1", str(bad), "--channel-map", "one=Amara")
    assert result.exit_code == 1 and "channel map" in result.output
    assert sessions.get(Workspace.open(wsdir), 1).takes == ()


def test_usage_errors_exit_2(runner: CliRunner, wsdir: Path) -> None:
    assert run(runner, "-w", str(wsdir), "session", "show", "abc").exit_code == 2
    assert run(runner, "no-such-command").exit_code == 2


def test_no_workspace_found(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(runner, "status")
    assert result.exit_code == 1 and "podcast init" in result.output


def test_workspace_found_from_the_environment_and_from_cwd(
    runner: CliRunner, wsdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_runner = CliRunner(env={"PODCAST_WORKSPACE": str(wsdir), "COLUMNS": "120"})
    assert "Nos voix" in env_runner.invoke(app, ["status"]).output
    monkeypatch.chdir(wsdir / "takes")
    assert "Nos voix" in run(runner, "status").output


def test_debug_shows_the_traceback(runner: CliRunner, wsdir: Path) -> None:
    result = run(runner, "--debug", "-w", str(wsdir), "session", "show", "9")
    assert result.exit_code == 1
    assert result.exception is not None and "no session 9" in str(result.exception)


def test_version(runner: CliRunner) -> None:
    result = run(runner, "--version")
    assert result.exit_code == 0 and result.output.startswith("podcast ")


def _all_commands() -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []

    def walk(command: Any, path: tuple[str, ...]) -> None:
        found.append(path)
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                walk(sub, (*path, name))

    walk(get_command(app), ())
    assert len(found) > 10, "the command walk must reach the sub-commands"
    return found


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p) or "podcast")
def test_every_command_has_help(runner: CliRunner, path: tuple[str, ...]) -> None:
    result = run(runner, *path, "--help")
    assert result.exit_code == 0
    command = get_command(app)
    for name in path:
        assert isinstance(command, TyperGroup)
        command = command.commands[name]
    assert command.help and len(command.help.strip()) > 10


@pytest.mark.slow
def test_demo_imports_and_transcribes_a_four_voice_session(tmp_path: Path, model_store: ModelStore) -> None:
    runner = CliRunner(env={"COLUMNS": "120", "PODCAST_DATA_DIR": str(model_store.data_dir)})
    result = run(runner, "demo", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output
    assert "4 channels" in result.output and "Finding work" in result.output
    assert "languages: en, fr" in result.output
    assert "cleared" in result.output and "blocked" in result.output
    assert "Consent ledger: intact (8 entries" in result.output
    assert "room 1" in result.output, "the demo names the review room as the next step"
    feed_text = (tmp_path / "demo" / "publish" / "feed.xml").read_text()
    assert feed_text.count("<item>") == 1 and "Finding work" in feed_text
    assert (tmp_path / "demo" / "consent" / "receipt-session-1.html").exists()
    shown = run(runner, "-w", str(tmp_path / "demo"), "transcript", "show", "1").output
    for name in ("Amara", "Blessing", "Chidinma", "Dounia"):
        assert name in shown
    ws = Workspace.open(tmp_path / "demo")
    (take,) = sessions.get(ws, 1).takes
    assert take.channels == 4 and take.duration_s > 30
    assert [o.participant.pseudonym for o in take.owners if o.participant] == [
        "Amara",
        "Blessing",
        "Chidinma",
        "Dounia",
    ]
    assert list(ws.tmp_dir.iterdir()) == []
    assert_private(tmp_path / "demo")
    again = run(runner, "demo", str(tmp_path / "demo"))
    assert again.exit_code == 1 and "already holds a workspace" in again.output


@pytest.mark.parametrize("path", [p for p in _all_commands() if p], ids=lambda p: " ".join(p))
def test_every_command_is_mentioned_in_the_docs(path: tuple[str, ...]) -> None:
    root = Path(__file__).resolve().parents[2]
    docs = (root / "README.md").read_text() + "".join(p.read_text() for p in (root / "docs").glob("*.md"))
    assert f"podcast {' '.join(path)}" in docs


def assert_private(root: Path) -> None:
    """Every path of a workspace is owner-only (0700 folders, 0600 files), except the published
    folder, which a web server reads (0755 / 0644, inside a 0700 workspace)."""
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    wide = []
    for path in root.rglob("*"):
        mode = stat.S_IMODE(path.lstat().st_mode)
        public = path.relative_to(root).parts[0] == "publish"
        allowed = (0o755 if path.is_dir() else 0o644) if public else (0o700 if path.is_dir() else 0o600)
        if mode & ~allowed:
            wide.append(f"{path.relative_to(root)} {oct(mode)}")
    assert wide == []


def test_wide_modes_are_repaired_and_said_once(runner: CliRunner, ws: Workspace) -> None:
    (ws.root / "state.db").chmod(0o644)
    ws.takes_dir.chmod(0o755)
    first = run(runner, "-w", str(ws.root), "status")
    assert first.exit_code == 0 and "readable by others" in first.output and "state.db" in first.output
    assert_private(ws.root)
    second = run(runner, "-w", str(ws.root), "status")
    assert "readable by others" not in second.output
