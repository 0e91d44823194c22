from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podcast.cli import app
from podcast.models import ModelStore
from podcast.workspace import Workspace


@pytest.fixture
def cli(model_store: ModelStore) -> CliRunner:
    return CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1", "PODCAST_DATA_DIR": str(model_store.data_dir)})


def test_show_export(cli: CliRunner, ws: Workspace, sid: int, tmp_path: Path) -> None:
    w = ["-w", str(ws.root)]
    shown = cli.invoke(app, [*w, "transcript", "show", str(sid)])
    assert shown.exit_code == 0 and "Blessing" in shown.output and "Paris" in shown.output
    assert "not reviewed" in shown.output
    out = tmp_path / "t.srt"
    result = cli.invoke(app, [*w, "transcript", "export", str(sid), "-f", "srt", "-o", str(out)])
    assert result.exit_code == 0 and out.read_text().startswith("1\n")
    printed = cli.invoke(app, [*w, "transcript", "export", str(sid), "--format", "json"])
    assert '"version": "1.0.0"' in printed.output


def test_edit_through_the_editor(cli: CliRunner, ws: Workspace, sid: int, tmp_path: Path) -> None:
    editor = tmp_path / "fix-it"
    editor.write_text("#!/bin/sh\nsed -i 's/three years/four years/' \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    result = cli.invoke(
        app, ["-w", str(ws.root), "transcript", "edit", str(sid)], env={"EDITOR": str(editor)}
    )
    assert result.exit_code == 0, result.output
    assert "marked reviewed" in result.output
    assert "four years" in cli.invoke(app, ["-w", str(ws.root), "transcript", "show", str(sid)]).output


def test_edit_with_a_failing_editor_changes_nothing(cli: CliRunner, ws: Workspace, sid: int) -> None:
    result = cli.invoke(app, ["-w", str(ws.root), "transcript", "edit", str(sid)], env={"EDITOR": "false"})
    assert result.exit_code == 1 and "nothing changed" in result.output
    assert "not reviewed" in cli.invoke(app, ["-w", str(ws.root), "transcript", "show", str(sid)]).output


def test_models_list_and_verify(cli: CliRunner) -> None:
    listed = cli.invoke(app, ["models", "list"])
    assert listed.exit_code == 0 and "base" in listed.output
    verified = cli.invoke(app, ["-q", "models", "verify"])
    assert verified.exit_code == 0 and "intact" in verified.output
    missing = cli.invoke(app, ["models", "verify", "large"])
    assert missing.exit_code == 1 and "Hint:" in missing.output


def test_transcribe_without_audio_says_what_to_do(cli: CliRunner, ws: Workspace) -> None:
    from consent import participants
    from sessions import sessions

    participants.add(ws, "Amara")
    session = sessions.create(ws, "Empty", ["Amara"])
    result = cli.invoke(app, ["-w", str(ws.root), "transcribe", str(session.id)])
    assert result.exit_code == 1 and "session import" in result.output
