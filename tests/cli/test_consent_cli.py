"""The consent step through the CLI, with scripted stdin."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from consent import checkpoints
from podcast.cli import app
from podcast.models import ModelStore
from podcast.workspace import Workspace
from sessions import transcripts


@pytest.fixture(autouse=True)
def reviewed(ws: Workspace, sid: int) -> None:
    """A corrected transcript: revoiced extracts can be rendered before the review asks."""
    transcripts.mark_reviewed(ws, sid)


def run(runner: CliRunner, ws: Workspace, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["-w", str(ws.root), *args], input=input)


def test_extracts_redactions_review_status_verify_receipt(
    runner: CliRunner, ws: Workspace, sid: int, tmp_path: Path
) -> None:
    result = run(runner, ws, "extract", "add", str(sid), "--find", "arrived in Paris", "--title", "Arrival")
    assert result.exit_code == 0, result.output
    assert run(runner, ws, "extract", "add", str(sid), "--from", "0:06", "--to", "0:08").exit_code == 0
    listed = run(runner, ws, "extract", "list").output
    assert "Arrival" in listed and "2 to ask" in listed
    assert "Blessing: I arrived" in run(runner, ws, "extract", "show", "1").output.replace("\n", " ").replace(
        "  ", " "
    )
    assert run(runner, ws, "redact", "add", "--session", str(sid), "Gare du Nord").exit_code == 0
    assert "Gare du Nord" in run(runner, ws, "redact", "list").output
    assert run(runner, ws, "redact", "remove", "--session", str(sid), "gare du nord").exit_code == 0

    review = run(runner, ws, "consent", "review", str(sid), "--no-play", input="y\nmaybe\ny\nn\ny\n")
    assert review.exit_code == 0, review.output
    assert "Please type y (yes)" in review.output
    assert "Thank you. Your answer is saved." in review.output
    # Never an answer on screen: the typed letters are not echoed, nothing names the reply.
    assert "Recorded" not in review.output
    assert "4 answer(s) recorded" in review.output
    status = run(runner, ws, "consent", "status").output
    assert "cleared" in status and "blocked" in status
    assert "Amara" not in status, "the group view does not say who refused"
    detail = run(runner, ws, "consent", "status", "--detail").output
    assert "Amara" in detail and "no" in detail

    assert "Ledger intact: 4 entries" in run(runner, ws, "consent", "verify").output
    page = tmp_path / "receipt.html"
    printed = run(runner, ws, "consent", "receipt", str(sid), "--html", str(page))
    assert printed.exit_code == 0 and "CONSENT RECEIPT" in printed.output
    assert "Blessing" in page.read_text()


def test_closed_stdin_is_an_error_not_a_hang(runner: CliRunner, ws: Workspace, sid: int) -> None:
    run(runner, ws, "extract", "add", str(sid), "--find", "arrived in Paris")
    result = run(runner, ws, "consent", "review", str(sid), "--no-play", input="y\n")
    assert result.exit_code == 1
    assert "no more answers" in result.output and "saved" in result.output
    assert len(checkpoints.ledger(ws).entries()) == 1


def test_give_refuse_withdraw(runner: CliRunner, ws: Workspace, sid: int) -> None:
    run(runner, ws, "extract", "add", str(sid), "--find", "arrived in Paris")
    for name in ("Amara", "Blessing"):
        result = run(runner, ws, "consent", "give", str(sid), "1", "--participant", name)
        assert result.exit_code == 0, result.output
    assert "cleared" in run(runner, ws, "consent", "status").output
    withdrawn = run(runner, ws, "consent", "withdraw", "--participant", "Amara", "--all")
    assert withdrawn.exit_code == 0 and "cannot be recalled" in withdrawn.output
    assert "cleared" not in run(runner, ws, "consent", "status").output
    assert run(runner, ws, "consent", "refuse", str(sid), "1", "--participant", "Blessing").exit_code == 0
    nothing = run(runner, ws, "consent", "withdraw", "--participant", "Blessing", "--extract", "1")
    assert "nothing to withdraw" in nothing.output
    bad = run(runner, ws, "consent", "give", str(sid), "1", "--participant", "Amara", "--method", "pigeon")
    assert bad.exit_code == 1 and "Hint:" in bad.output


def test_verify_reports_tampering_and_torn_tails(runner: CliRunner, ws: Workspace, sid: int) -> None:
    run(runner, ws, "extract", "add", str(sid), "--find", "arrived in Paris")
    run(runner, ws, "consent", "review", str(sid), "--no-play", input="y\ny\n")
    path = checkpoints.ledger(ws).path
    original = path.read_bytes()
    path.write_bytes(original + b'{"seq":3,"ti')
    torn = run(runner, ws, "consent", "verify")
    assert torn.exit_code == 1 and "Torn tail" in torn.output and "TAMPERED" not in torn.output
    assert "Set aside 12 byte(s)" in run(runner, ws, "consent", "repair").output
    assert run(runner, ws, "consent", "verify").exit_code == 0
    path.write_bytes(original.replace(b'"event":"grant"', b'"event":"grunt"', 1))
    tampered = run(runner, ws, "consent", "verify")
    assert tampered.exit_code == 1 and "TAMPERED" in tampered.output
    receipt = run(runner, ws, "consent", "receipt", str(sid))
    assert receipt.exit_code == 1 and "does not verify" in receipt.output


@pytest.mark.parametrize(
    "args",
    [
        ["extract", "add", "1", "--from", "0:01"],
        ["extract", "add", "1", "--segments", "x-y"],
        ["extract", "show", "99"],
        ["consent", "review", "1", "--no-play"],
        ["redact", "remove", "nothing"],
    ],
)
def test_errors_have_hints(runner: CliRunner, ws: Workspace, sid: int, args: list[str]) -> None:
    result = run(runner, ws, *args)
    assert result.exit_code == 1 and "Hint:" in result.output, result.output


@pytest.mark.slow
def test_the_terminal_review_speaks_her_language_and_shows_what_would_be_published(
    ws: Workspace, sid: int, model_store: ModelStore
) -> None:
    runner = CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1", "PODCAST_DATA_DIR": str(model_store.data_dir)})
    assert run(runner, ws, "participant", "set", "Blessing", "--language", "fr").exit_code == 0
    assert run(runner, ws, "extract", "add", str(sid), "--find", "arrived in Paris").exit_code == 0
    assert run(runner, ws, "redact", "add", "--session", str(sid), "Paris").exit_code == 0
    result = run(runner, ws, "consent", "review", str(sid), "--no-play", input="y\no\n")
    assert result.exit_code == 0, result.output
    assert "Blessing: I arrived in […] three years ago" in result.output, "redacted as published"
    review_screens = result.output.split("┏")[0]  # before the facilitator's summary table
    assert "Paris" not in review_screens
    assert "Donnez l'ordinateur à" in result.output and "Tapez o pour OUI" in result.output  # Blessing
    assert "Please give the laptop to" in result.output  # Amara, in the show's language
    entries = checkpoints.ledger(ws).entries()
    assert [(e.event, e.language) for e in entries] == [("grant", "en"), ("grant", "fr")]
    assert all(e.method == "in_room" for e in entries)


def test_line_numbers_are_stable_and_segments_use_exactly_them(
    runner: CliRunner, ws: Workspace, sid: int
) -> None:
    from sessions import transcripts

    lines = transcripts.load(ws, sid).utterances
    shown = run(runner, ws, "transcript", "show", str(sid)).output
    numbers = [line.split()[0] for line in shown.splitlines() if line.strip()[:1].isdigit()]
    assert numbers == [str(u.key) for u in lines]
    # Delete the first line: the others keep their numbers.
    text = transcripts.render_for_edit(transcripts.load(ws, sid))
    transcripts.apply_edit(ws, sid, "\n".join(x for x in text.splitlines() if f"#{lines[0].key}]" not in x))
    after = run(runner, ws, "transcript", "show", str(sid)).output
    assert [line.split()[0] for line in after.splitlines() if line.strip()[:1].isdigit()] == numbers[1:]
    added = run(runner, ws, "extract", "add", str(sid), "--segments", f"{lines[2].key}-{lines[2].key}")
    assert added.exit_code == 0, added.output
    assert "Thank you Blessing" in run(runner, ws, "extract", "show", "1").output
    assert "arrived" not in run(runner, ws, "extract", "show", "1").output, "exactly that line"
    gone = run(runner, ws, "extract", "add", str(sid), "--segments", f"{lines[0].key}-{lines[2].key}")
    assert gone.exit_code == 1 and "does not exist" in gone.output and "Hint:" in gone.output
