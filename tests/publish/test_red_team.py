"""The issue's red-team list, case by case, through the command line on a published workspace.

Each test reproduces an attack or a careless mistake that broke the consent promise before
the single gate, and checks that it now fails closed with a one-line error and a hint.
"""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest
from typer.testing import CliRunner

from consent import checkpoints, decisions, participants
from consent.ledger import canonical, entry_hash, line_hash
from podcast.cli import app
from podcast.workspace import Workspace
from publish import episodes, site
from publish import state as publish_state
from tests.conftest import needs_root
from tests.publish.conftest import VOICES


def run(runner: CliRunner, ws: Workspace, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["-w", str(ws.root), *args], input=input)


@pytest.fixture
def refused(ws: Workspace, cleared: list[int]) -> int:
    """The demo's situation: one episode of three extracts, and Blessing refuses the second."""
    episodes.create(ws, "Arrivals", cleared)
    decisions.record(
        ws,
        cleared[1],
        participants.get(ws, "Blessing"),
        "refuse",
        witness=participants.get(ws, "Fatou"),
        method="phone",
        language="en",
    )
    site.publish(ws, voices=VOICES)
    return cleared[1]


def published_extracts(ws: Workspace) -> set[int]:
    return {x for ep in publish_state.load(ws).episodes.values() for x, _fp in ep.extracts}


def forge(ws: Workspace, **changes: object) -> None:
    """Append an entry the way an attacker without the key can: chain recomputed, no checkpoint."""
    ledger = checkpoints.ledger(ws)
    lines = ledger.complete_lines()
    fields = json.loads(lines[-1])
    fields.update(seq=len(lines) + 1, prev=line_hash(lines[-1]), **changes)
    fields["hash"] = entry_hash(fields)
    with ledger.path.open("ab") as handle:
        handle.write(canonical(fields) + b"\n")


def rechain(lines: list[bytes]) -> bytes:
    """Rewrite a ledger so its hash chain verifies again (what a careful forger does)."""
    out, prev = [], "0" * 64
    for number, raw in enumerate(lines, start=1):
        fields = json.loads(raw)
        fields.update(seq=number, prev=prev)
        fields["hash"] = entry_hash(fields)
        line = canonical(fields) + b"\n"
        out.append(line)
        prev = line_hash(line)
    return b"".join(out)


def test_a_forged_yes_is_not_counted(runner: CliRunner, ws: Workspace, refused: int) -> None:
    blessing = participants.get(ws, "Blessing")
    forge(ws, event="grant", participant=blessing.id, extract=refused)
    verify = run(runner, ws, "consent", "verify")
    assert verify.exit_code == 1 and "without a signed checkpoint" in verify.output
    assert not decisions.status(ws, __import__("sessions").extracts.get(ws, refused)).cleared
    assert run(runner, ws, "publish").exit_code == 0
    assert refused not in published_extracts(ws)
    assert run(runner, ws, "publish", "--check").exit_code == 0


def test_deleting_a_withdrawal_does_not_bring_the_extract_back(
    runner: CliRunner, ws: Workspace, refused: int, cleared: list[int]
) -> None:
    ledger = checkpoints.ledger(ws)
    before = ledger.complete_lines()
    assert (
        run(
            runner, ws, "consent", "withdraw", "--participant", "Amara", "--extract", str(cleared[0])
        ).exit_code
        == 0
    )
    assert run(runner, ws, "publish").exit_code == 0
    assert cleared[0] not in published_extracts(ws)
    ledger.path.write_bytes(b"".join(before))  # the withdrawal's lines deleted
    assert "TAMPERED" in run(runner, ws, "consent", "verify").output
    again = run(runner, ws, "publish")
    assert again.exit_code == 1 and "does not verify" in again.output
    assert published_extracts(ws) == set(), "fail closed: nothing is cleared"
    feed = feedparser.parse((ws.publish_dir / "feed.xml").read_bytes())
    assert feed.entries == []
    assert "does not verify" in run(runner, ws, "status").output
    assert run(runner, ws, "episode", "build", "1").exit_code == 1


def test_a_refusal_rewritten_in_place_and_rechained_is_caught(
    runner: CliRunner, ws: Workspace, refused: int
) -> None:
    ledger = checkpoints.ledger(ws)
    lines = [line.replace(b'"event":"refuse"', b'"event":"grant"') for line in ledger.complete_lines()]
    ledger.path.write_bytes(rechain(lines))
    assert checkpoints.verify(ws)[0].status == "tampered"
    assert run(runner, ws, "publish").exit_code == 1
    assert refused not in published_extracts(ws)
    status = run(runner, ws, "consent", "status")
    assert "ledger does not verify" in status.output and "cleared" not in status.output.replace("not ", "")


def test_removing_the_checkpoints_or_the_key_fails_closed(
    runner: CliRunner, ws: Workspace, refused: int
) -> None:
    (ws.consent_dir / "checkpoints.jsonl").unlink()
    result = run(runner, ws, "consent", "verify")
    assert result.exit_code == 1 and "checkpoints are missing" in result.output
    assert run(runner, ws, "publish").exit_code == 1 and published_extracts(ws) == set()


def test_removing_the_key_never_makes_a_new_one(runner: CliRunner, ws: Workspace, refused: int) -> None:
    key = ws.keys_dir / checkpoints.KEY_FILE
    key.unlink()
    result = run(runner, ws, "consent", "verify")
    assert result.exit_code == 1 and "signing key" in result.output and not key.exists()
    give = run(runner, ws, "consent", "give", "1", str(refused), "--participant", "Blessing")
    assert give.exit_code == 1 and "Hint:" in give.output and not key.exists()


def test_publish_check_compares_every_byte(runner: CliRunner, ws: Workspace, refused: int) -> None:
    assert run(runner, ws, "publish", "--check").exit_code == 0
    mp3 = next(ws.publish_dir.glob("*.mp3"))
    size = mp3.stat().st_size
    # A raw-voice MP3 of exactly the same size under the episode's own name.
    mp3.write_bytes(b"\xff\xfb\x90\x00" + bytes(size - 4))
    result = run(runner, ws, "publish", "--check")
    assert result.exit_code == 1 and "sha256 differs" in result.output
    (ws.publish_dir / "extra.vtt").write_text("WEBVTT\n")
    assert "unexpected file extra.vtt" in run(runner, ws, "publish", "--check").output


def test_renaming_a_participant_rebuilds_every_published_text(
    runner: CliRunner, ws: Workspace, refused: int
) -> None:
    assert "Amara" in next(ws.publish_dir.glob("*.vtt")).read_text()
    assert run(runner, ws, "participant", "rename", "Amara", "Zed").exit_code == 0
    assert run(runner, ws, "publish").exit_code == 0
    for path in ws.publish_dir.iterdir():
        data = path.read_bytes()
        assert b"Amara" not in data, path.name
    assert "<v Zed>" in next(ws.publish_dir.glob("*.vtt")).read_text()


@pytest.mark.parametrize("disguised", ["new \u0441ity", "new c\u200bity", "ｎｅｗ ｃｉｔｙ", "NEW\u00a0CITY"])
def test_look_alike_sensitive_words_do_not_pass_the_audit(
    runner: CliRunner, ws: Workspace, refused: int, disguised: str
) -> None:
    assert run(runner, ws, "redact", "add", "new city").exit_code == 0
    episode = episodes.create(ws, "Second", [1])
    # Straight into the database: input checks refuse invisible characters, the audit must
    # not depend on them.
    ws.conn.execute(
        "UPDATE episodes SET description = ? WHERE id = ?",
        (f"We met in the {disguised} last year.", episode.id),
    )
    result = run(runner, ws, "publish")
    assert result.exit_code == 1 and "sensitive word" in result.output
    assert "new" not in (ws.publish_dir / "feed.xml").read_text().casefold().split("last year")[0][-30:]


def test_nothing_free_form_enters_the_ledger(runner: CliRunner, ws: Workspace, refused: int) -> None:
    before = checkpoints.ledger(ws).read_bytes()
    for option, value in (
        ("--language", "Amara Okafor +33 6 12 34 56 78"),
        ("--method", "told me at the bar"),
    ):
        result = run(runner, ws, "consent", "give", "1", "1", "--participant", "Amara", option, value)
        assert result.exit_code == 1 and "Hint:" in result.output, result.output
    withdraw = run(runner, ws, "consent", "withdraw", "--participant", "Amara", "--all", "--language", "xx")
    assert withdraw.exit_code == 1
    assert checkpoints.ledger(ws).read_bytes() == before


@pytest.mark.parametrize("where", [".", "takes", "consent", "..", "/", "outside-full", "link"])
def test_publish_never_writes_over_what_it_did_not_make(
    runner: CliRunner,
    ws: Workspace,
    refused: int,
    tmp_path: Path,
    where: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(ws.root)
    outside = tmp_path / "outside-full"
    outside.mkdir()
    (outside / "thesis.odt").write_text("years of work")
    (tmp_path / "link").symlink_to(ws.publish_dir)
    target = {"outside-full": str(outside), "link": str(tmp_path / "link")}.get(where, where)
    everything = sorted(p for p in ws.root.rglob("*") if "publish" not in p.parts)
    result = run(runner, ws, "publish", "--out", target)
    assert result.exit_code == 1 and "Hint:" in result.output and "Traceback" not in result.output
    assert sorted(p for p in ws.root.rglob("*") if "publish" not in p.parts) == everything
    assert (outside / "thesis.odt").read_text() == "years of work"


def test_publish_may_replace_a_folder_it_made(
    runner: CliRunner, ws: Workspace, refused: int, tmp_path: Path
) -> None:
    out = tmp_path / "site"
    assert run(runner, ws, "publish", "--out", str(out)).exit_code == 0
    assert run(runner, ws, "publish", "--out", str(out)).exit_code == 0
    assert (out / "feed.xml").is_file()


def test_two_publishes_at_once_do_not_collide(runner: CliRunner, ws: Workspace, refused: int) -> None:
    live = sorted(p.name for p in ws.publish_dir.iterdir())
    with ws.exclusive("publish", "podcast publish"):
        result = run(runner, ws, "publish")
    assert result.exit_code == 1 and "Another 'podcast publish' is running" in result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in ws.publish_dir.iterdir()) == live
    assert not [p for p in ws.root.iterdir() if "staging" in p.name]


@needs_root
def test_a_full_disk_during_publish_keeps_the_old_folder(
    runner: CliRunner, ws: Workspace, cleared: list[int], small_disk: Path
) -> None:
    from publish import episodes

    episodes.create(ws, "Arrivals", cleared)
    out = small_disk / "site"
    result = run(runner, ws, "publish", "--out", str(out))
    assert result.exit_code == 1 and "Hint:" in result.output and "Traceback" not in result.output
    assert "Disk full: publishing needs about" in result.output
    assert sorted(p.name for p in small_disk.iterdir()) == []
