"""Deploy to a folder (a mounted share, a USB disk) through the system rsync; targets parsed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from consent import decisions, participants
from podcast.cli import app
from podcast.errors import InvalidInputError
from podcast.workspace import Workspace
from publish import deploy, episodes
from publish import state as publish_state


def run(runner: CliRunner, ws: Workspace, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["-w", str(ws.root), *args])


def test_targets_are_a_folder_or_an_ssh_destination() -> None:
    assert deploy.parse_target("/media/usb/podcast") == deploy.Target("folder", "/media/usb/podcast")
    assert deploy.parse_target("amie@example.org:/var/www/show") == deploy.Target(
        "ssh", "/var/www/show", "amie", "example.org", 22
    )
    assert deploy.parse_target("ssh://amie@example.org:2222/srv/show").port == 2222
    for bad in ("relative/folder", "example.org:/x", "amie@exa mple.org:/x", ""):
        with pytest.raises(InvalidInputError):
            deploy.parse_target(bad)


def test_deploy_to_a_folder_and_withdraw(
    runner: CliRunner, ws: Workspace, cleared: list[int], tmp_path: Path
) -> None:
    usb = tmp_path / "usb"
    (usb / "someone-elses").mkdir(parents=True)
    (usb / "someone-elses" / "notes.txt").write_text("not ours")
    episodes.create(ws, "Arrivals", cleared)
    setup = ["publish", "setup", "--base-url", "https://podcast.example.org/show/", "--target", str(usb)]
    assert run(runner, ws, *setup).exit_code == 0
    assert ws.settings().deploy_target == str(usb)
    first = run(runner, ws, "publish", "--deploy")
    assert first.exit_code == 0, first.output
    state = publish_state.load(ws)
    assert {p.name for p in usb.iterdir() if p.is_file()} == set(state.files)
    before = {p.name for p in usb.glob("*.mp3")}
    decisions.withdraw(ws, participants.get(ws, "Amara"), extract_id=cleared[1])
    assert run(runner, ws, "publish").exit_code == 0
    plan = deploy.plan(ws, deploy.load_manifest(ws))
    assert plan.send[-1] in ("feed.xml", "index.html"), "the feed goes last"
    assert plan.delete[0].endswith(".mp3"), "withdrawn audio is deleted first"
    second = run(runner, ws, "deploy")
    assert second.exit_code == 0, second.output
    after = {p.name for p in usb.glob("*.mp3")}
    assert not before & after, "the old cut is gone"
    assert (usb / "someone-elses" / "notes.txt").read_text() == "not ours", "only our own files are deleted"
    again = run(runner, ws, "deploy")
    assert again.exit_code == 0 and "0 file(s) sent, 0 deleted" in again.output


def test_deploy_needs_a_target(runner: CliRunner, ws: Workspace, cleared: list[int]) -> None:
    episodes.create(ws, "Arrivals", cleared)
    assert run(runner, ws, "publish").exit_code == 0
    result = run(runner, ws, "deploy")
    assert result.exit_code == 1 and "publish setup" in result.output
