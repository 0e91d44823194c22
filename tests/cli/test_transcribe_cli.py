from __future__ import annotations

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from podcast.cli import app
from podcast.models import ModelStore
from podcast.workspace import Workspace
from sessions import transcripts


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
    assert "podcast transcript review" in result.output, "saving is not reviewing; it says what is"
    reviewed = cli.invoke(app, ["-w", str(ws.root), "transcript", "review", str(sid)])
    assert reviewed.exit_code == 0 and "whole transcript is reviewed" in reviewed.output
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


def test_an_edit_with_a_mistake_reopens_the_editor_with_the_error_and_the_text_kept(
    ws: Workspace, sid: int, tmp_path: Path, model_store: ModelStore
) -> None:
    """In a terminal (a pseudo-terminal here), as git commit does."""
    import os
    import pty
    import subprocess
    import sys

    seen = tmp_path / "seen"
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys, pathlib\n"
        "path = pathlib.Path(sys.argv[1]); seen = pathlib.Path(sys.argv[0]).with_name('seen')\n"
        "rounds = seen.read_text().count('round') if seen.exists() else 0\n"
        "text = path.read_text()\n"
        "with seen.open('a') as log: log.write('round\\n' + text)\n"
        "if rounds == 0:\n"
        "    text = text.replace('three years', 'four years').replace('] Blessing:', '] Ghost:')\n"
        "else:\n"
        "    text = text.replace('] Ghost:', '] Blessing:')\n"
        "path.write_text(text)\n"
    )
    primary, secondary = pty.openpty()
    env = {
        **os.environ,
        "EDITOR": f"{sys.executable} {editor}",
        "PODCAST_DATA_DIR": str(model_store.data_dir),
    }
    done = subprocess.run(
        [sys.executable, "-m", "podcast", "-w", str(ws.root), "transcript", "edit", str(sid)],
        stdin=secondary,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    os.close(primary)
    os.close(secondary)
    assert done.returncode == 0, done.stderr
    second_round = seen.read_text().split("round\n")[2]
    assert second_round.startswith("# ERROR: Line ") and "'Ghost' is not a participant" in second_round
    assert "four years" in second_round, "her corrections are kept"
    text = transcripts.render_for_edit(transcripts.load(ws, sid))
    assert "four years" in text and "] Blessing:" in text


def test_without_editor_variables_the_usual_editors_are_tried(
    ws: Workspace, sid: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podcast.cli import transcribe as cli_transcribe

    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # none of editor, nano, vi here
    runner = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1"})
    result = runner.invoke(app, ["-w", str(ws.root), "transcript", "edit", str(sid)])
    assert result.exit_code == 1 and "editor, nano, vi" in result.output and "Hint:" in result.output
    fake = tmp_path / "nano"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    assert cli_transcribe._editor() == [str(fake)]


def test_review_by_line_range_shows_what_is_left_and_undo_reverts_the_last_change(
    cli: CliRunner, ws: Workspace, sid: int
) -> None:
    w = ["-w", str(ws.root)]
    keys = [u.key for u in transcripts.load(ws, sid).utterances]
    result = cli.invoke(app, [*w, "transcript", "review", str(sid), "--lines", f"{keys[0]}-{keys[1]}"])
    assert result.exit_code == 0 and "Marked 2 line(s)" in result.output and "1 line(s) not" in result.output
    shown = cli.invoke(app, [*w, "transcript", "show", str(sid)]).output
    assert f"{keys[2]} ○" in shown and f"{keys[0]} ○" not in shown
    bad = cli.invoke(app, [*w, "transcript", "review", str(sid), "--lines", "two"])
    assert bad.exit_code != 0 and "12-18" in bad.output
    assert cli.invoke(app, [*w, "transcript", "undo", str(sid)]).exit_code != 0, "nothing to undo yet"
    text = transcripts.render_for_edit(transcripts.load(ws, sid)).replace("three years", "five years")
    transcripts.apply_edit(ws, sid, text)
    undone = cli.invoke(app, [*w, "transcript", "undo", str(sid)])
    assert undone.exit_code == 0 and "edit" in undone.output
    assert "three years" in transcripts.load(ws, sid).utterances[1].text


def test_the_workbench_needs_a_transcribed_session(cli: CliRunner, ws: Workspace, sid: int) -> None:
    w = ["-w", str(ws.root)]
    unnamed = cli.invoke(app, [*w, "room", "--transcript", "--no-browser"])
    assert unnamed.exit_code != 0 and "podcast room 1 --transcript" in unnamed.output
    empty = cli.invoke(app, [*w, "session", "new", "Empty", "-p", "Amara"])
    assert empty.exit_code == 0
    untranscribed = cli.invoke(app, [*w, "room", "2", "--transcript", "--no-browser"])
    assert untranscribed.exit_code != 0 and "podcast transcribe 2" in untranscribed.output


def test_export_gives_each_segments_language_and_one_language_on_request(
    cli: CliRunner, ws: Workspace, sid: int
) -> None:
    import json

    from sessions import editing

    line = transcripts.load(ws, sid).utterances[2]
    editing.set_language(ws, sid, line.key, "fr")
    w = ["-w", str(ws.root)]
    data = json.loads(cli.invoke(app, [*w, "transcript", "export", str(sid), "-f", "json"]).output)
    assert [s["language"] for s in data["segments"]] == ["en", "en", "fr"]
    french = cli.invoke(app, [*w, "transcript", "export", str(sid), "-f", "vtt", "--language", "fr"])
    assert french.exit_code == 0 and "Thank you Blessing" in french.output and "Welcome" not in french.output
    missing = cli.invoke(app, [*w, "transcript", "export", str(sid), "--language", "de"])
    assert missing.exit_code != 0 and "en, fr" in missing.output


def test_a_line_of_uncertain_language_is_marked_and_set_by_its_number(
    cli: CliRunner, ws: Workspace, sid: int
) -> None:
    w = ["-w", str(ws.root)]
    first = transcripts.load(ws, sid).utterances[0]
    ws.conn.execute("UPDATE segments SET language_p = 0.6 WHERE id = ?", (first.segment_id,))
    shown = cli.invoke(app, [*w, "transcript", "show", str(sid)]).output
    assert "[en?]" in shown and "unsure of the language" in shown
    assert f"podcast transcript language {sid} LINE" in shown
    result = cli.invoke(app, [*w, "transcript", "language", str(sid), str(first.key), "fr"])
    assert result.exit_code == 0, result.output
    after = transcripts.load(ws, sid).utterances[0]
    assert after.language == "fr" and not after.language_uncertain
    shown = cli.invoke(app, [*w, "transcript", "show", str(sid)]).output
    assert "[fr]" in shown and "?]" not in shown and "unsure of the language" not in shown
    bad = cli.invoke(app, [*w, "transcript", "language", str(sid), str(first.key), "français!"])
    assert bad.exit_code != 0 and "not a language code" in bad.output
