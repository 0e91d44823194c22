"""Keeping the show safe and raw voices short: the archive key, backups, closing a session
(sealed or destroyed), a withdrawal after closing, and `doctor`.

The published show of three cleared extracts (tests/publish/conftest.py) is the workspace.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from consent import checkpoints, decisions, participants
from podcast import backup, doctor, settings, vault
from podcast.cli import app
from podcast.errors import InvalidInputError, NotFoundError
from podcast.models import ModelStore
from podcast.workspace import Workspace
from publish import episodes, site
from sessions import retention, sessions, transcripts
from tests.publish.conftest import VOICES

DAY0 = "2026-03-01T10:00:00Z"


@pytest.fixture
def key(ws: Workspace, tmp_path: Path) -> Path:
    """The association's key: public half in the settings, secret half in a file outside."""
    secret, public = vault.new_identity()
    settings.save(dataclasses.replace(ws.settings(), archive_key=public), ws.settings_path)
    path = tmp_path / "usb" / "key.txt"
    path.parent.mkdir()
    path.write_text(secret + "\n")
    return path


@pytest.fixture
def published(ws: Workspace, cleared: list[int]) -> list[int]:
    episodes.create(ws, "Arrivals", cleared)
    site.publish(ws, voices=VOICES)
    return cleared


def test_keys_new_shows_the_secret_once_and_keeps_only_the_public_half(
    runner: CliRunner, ws: Workspace, tmp_path: Path
) -> None:
    w = ["-w", str(ws.root)]
    inside = runner.invoke(app, [*w, "keys", "new", "--output", str(ws.root / "key.txt")])
    assert inside.exit_code != 0 and "inside the workspace" in inside.output
    result = runner.invoke(
        app, [*w, "keys", "new", "--output", str(tmp_path / "key.txt"), "--qr", str(tmp_path / "k.png")]
    )
    assert result.exit_code == 0, result.output
    secret = (tmp_path / "key.txt").read_text().split()[-1]
    assert secret.startswith("AGE-SECRET-KEY-1") and secret in result.output
    assert stat.S_IMODE((tmp_path / "key.txt").stat().st_mode) == 0o600
    assert (tmp_path / "k.png").read_bytes()[:4] == b"\x89PNG"
    public = ws.settings().archive_key
    assert public.startswith("age1") and public in result.output
    leaked = [p for p in ws.root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    assert leaked == [], "the secret half is never stored in the workspace"
    again = runner.invoke(app, [*w, "keys", "new"])
    assert again.exit_code != 0 and "--replace" in again.output


def test_backup_restores_onto_a_fresh_folder_that_verifies_and_passes_the_publish_check(
    runner: CliRunner, ws: Workspace, published: list[int], key: Path, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["-w", str(ws.root), "backup", str(key.parent)])
    assert result.exit_code == 0, result.output
    (archive,) = key.parent.glob("podcast-backup-*.tar.age")
    assert vault.header_length(archive) > 0
    assert b"Amara" not in archive.read_bytes() and b"SQLite format" not in archive.read_bytes()
    restored = tmp_path / "restored"
    done = runner.invoke(app, ["restore", str(archive), str(restored), "--identity", str(key)])
    assert done.exit_code == 0, done.output
    again = Workspace.open(restored)
    verdict, _ = checkpoints.verify(again)
    assert verdict.ok and verdict.entries == checkpoints.verify(ws)[0].entries
    assert site.check(again) == []
    assert [s.cleared for s in decisions.session_status(again)] == [True, True, True]
    assert transcripts.load(again, 1) == transcripts.load(ws, 1)
    assert not again.private_paths_too_wide()
    again.close()


def test_a_wrong_key_a_truncated_archive_or_a_full_folder_restore_nothing(
    ws: Workspace, published: list[int], key: Path, tmp_path: Path
) -> None:
    made = backup.make(ws, tmp_path / "b.tar.age")
    other, _ = vault.new_identity()
    wrong = tmp_path / "other.txt"
    wrong.write_text(other)
    with pytest.raises(InvalidInputError, match="another key"):
        backup.restore(made.path, tmp_path / "r1", wrong)
    cut = tmp_path / "cut.tar.age"
    cut.write_bytes(made.path.read_bytes()[: made.path.stat().st_size * 2 // 3])
    with pytest.raises(InvalidInputError, match=r"cut short|damaged"):
        backup.restore(cut, tmp_path / "r2", key)
    (tmp_path / "r3").mkdir()
    (tmp_path / "r3" / "x").write_text("x")
    with pytest.raises(InvalidInputError, match="not empty"):
        backup.restore(made.path, tmp_path / "r3", key)
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [], "no staging left behind"
    with pytest.raises(InvalidInputError, match="inside the workspace"):
        backup.make(ws, ws.root)


def test_without_an_archive_key_a_backup_says_how_to_make_one(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="no archive key") as caught:
        backup.make(ws, tmp_path)
    assert caught.value.hint == "Make the association's key once: podcast keys new"


def test_retention_counts_from_the_last_answer_with_an_injected_clock(
    ws: Workspace, published: list[int]
) -> None:
    from datetime import timedelta

    from podcast.overview import overview

    (due,) = retention.plan(ws, DAY0)
    assert due.complete_at is not None

    def later(days: int) -> str:
        return (
            (retention._parse(str(due.complete_at)) + timedelta(days=days)).isoformat().replace("+00:00", "Z")
        )

    assert not retention.plan(ws, later(29))[0].due
    assert retention.plan(ws, later(31))[0].due
    assert "kept until" in overview(ws, now=later(29)).raw[0]
    assert "podcast session close 1" in overview(ws, now=later(31)).raw[0]
    settings.save(dataclasses.replace(ws.settings(), retention="keep"), ws.settings_path)
    assert not retention.plan(ws, later(3650))[0].due
    assert "for ever" in overview(ws, now=later(3650)).raw[0]


def test_closing_seals_takes_and_transcript_keeps_what_was_cleared_and_a_withdrawal_still_recuts(
    runner: CliRunner, ws: Workspace, published: list[int], key: Path
) -> None:
    session = sessions.get(ws, 1)
    raw = [ws.absolute(t.relpath) for t in session.takes]
    full = transcripts.load(ws, 1)
    result = runner.invoke(app, ["-w", str(ws.root), "session", "close", "1"], input="y\n")
    assert result.exit_code == 0, result.output
    assert "sealed to the association's key" in result.output
    assert all(not p.exists() and vault.header_length(p.with_name(p.name + ".age")) for p in raw)
    assert [t.archived for t in sessions.get(ws, 1).takes] == ["sealed"]
    assert all(s.cleared for s in decisions.session_status(ws, 1)), "fingerprints still compute"
    with pytest.raises(NotFoundError, match="sealed"):
        sessions.raw_path(ws, sessions.get(ws, 1).takes[0])
    # A withdrawal after closing still re-cuts what was published.
    decisions.withdraw(ws, participants.get(ws, "Amara"), extract_id=published[1])
    again = site.publish(ws, voices=VOICES)
    assert any("re-cut" in change for change in again.changes)
    assert site.check(ws) == []
    # The paper key brings everything back, the whole transcript too.
    count = retention.unseal(ws, 1, key)
    assert count == 1 and all(p.exists() for p in raw)
    assert transcripts.load(ws, 1) == full
    assert sessions.get(ws, 1).closed_at is None


def test_closing_without_a_key_destroys_raw_takes_and_words_nobody_cleared(
    runner: CliRunner, ws: Workspace, published: list[int]
) -> None:
    from sessions import extracts

    decisions.withdraw(ws, participants.get(ws, "Blessing"), extract_id=published[2])
    kept = {
        u.text
        for e in extracts.list_all(ws, 1)[:2]
        for u in extracts.utterances_in(transcripts.load(ws, 1), e)
    }
    nothing = runner.invoke(app, ["-w", str(ws.root), "session", "close", "--due"])
    assert nothing.exit_code == 0 and "No session is past" in nothing.output, "30 days have not passed"
    refused = runner.invoke(app, ["-w", str(ws.root), "session", "close", "1"], input="n\n")
    assert refused.exit_code == 1 and ws.absolute(sessions.get(ws, 1).takes[0].relpath).exists()
    result = runner.invoke(app, ["-w", str(ws.root), "session", "close", "1", "--yes"])
    assert result.exit_code == 0 and "destroyed" in result.output
    assert not any(ws.session_dir(1).glob("*")), "no raw take, sealed or clear"
    texts = {u.text for u in transcripts.load(ws, 1).utterances}
    assert texts == kept and "Thank you Blessing" not in texts, "words outside cleared extracts are gone"
    history = ws.conn.execute("SELECT COUNT(*) FROM transcript_history").fetchone()[0]
    assert history == 0
    with pytest.raises(NotFoundError, match="destroyed"):
        sessions.raw_path(ws, sessions.get(ws, 1).takes[0])


def test_a_seal_killed_midway_leaves_the_clear_take_untouched(
    ws: Workspace, published: list[int], key: Path
) -> None:
    take = sessions.get(ws, 1).takes[0]
    source = ws.absolute(take.relpath)
    before = source.read_bytes()
    big = source.with_name("big.bin")
    big.write_bytes(os.urandom(64 << 20))  # long enough to be killed while sealing
    code = (
        "import sys; from pathlib import Path; from podcast import vault; "
        f"vault.seal_file(Path({str(big)!r}), Path({str(big)!r} + '.age'), {ws.settings().archive_key!r})"
    )
    child = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 30
    while not list(big.parent.glob(".big.bin.age.*.part")) and time.monotonic() < deadline:
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not big.with_name("big.bin.age").exists(), "no sealed file under its name until complete"
    assert source.read_bytes() == before
    leftover = list(big.parent.glob(".big.bin.age.*.part"))
    assert all(not vault.check_sealed(p, big.stat().st_size) for p in leftover)
    big.unlink()
    for part in leftover:
        part.unlink()


def test_doctor_on_a_healthy_and_on_a_broken_workspace(
    runner: CliRunner, ws: Workspace, published: list[int], key: Path, model_store: ModelStore, tmp_path: Path
) -> None:
    backup.make(ws, tmp_path / "b.tar.age")
    env = {"PODCAST_DATA_DIR": str(model_store.data_dir)}
    result = runner.invoke(app, ["-w", str(ws.root), "doctor", "--json"], env=env)
    report = json.loads(result.output)
    levels = {c["check"]: c["level"] for c in report["checks"]}
    assert levels["consent record"] == levels["file modes"] == levels["backup"] == levels["offline"] == "ok"
    assert levels["transcription model"] == levels["voices"] == levels["retention"] == "ok"
    assert (
        result.exit_code
        == report["exit_code"]
        == doctor.exit_code([doctor.Finding(c["check"], c["level"], c["message"]) for c in report["checks"]])
    )
    # Break it: a folder others can read (every command repairs that on opening, so the
    # check is asked directly), then a tampered consent record.
    (ws.root / "takes").chmod(0o755)
    modes = doctor.check_modes(ws)
    assert modes.level == doctor.ERROR and modes.fix == f"chmod -R go-rwx {ws.root}"
    ledger = ws.consent_dir / "ledger.jsonl"
    ledger.write_bytes(ledger.read_bytes().replace(b'"grant"', b'"grunt"', 1))
    broken = runner.invoke(app, ["-w", str(ws.root), "doctor"], env=env)
    assert broken.exit_code == 2, broken.output
    assert "✗ consent record: The consent record does not verify" in broken.output
    assert "fix: podcast consent verify" in broken.output


def test_erasure_leaves_no_word_of_hers_anywhere_and_her_channel_silent(
    runner: CliRunner, ws: Workspace, published: list[int], tmp_path: Path
) -> None:
    import numpy as np
    import soundfile as sf

    from sessions import extracts

    blessing = participants.get(ws, "Blessing")
    take = sessions.get(ws, 1).takes[0]
    channel = next(o.channel for o in take.owners if o.participant and o.participant.id == blessing.id)
    before = sf.read(str(ws.absolute(take.relpath)), always_2d=True)[0]
    assert np.abs(before[:, channel - 1]).max() > 0
    result = runner.invoke(app, ["-w", str(ws.root), "participant", "erase", "Blessing", "--yes"])
    assert result.exit_code == 0, result.output
    assert "now 'erased-1'" in result.output
    again = site.publish(ws, voices=VOICES)
    # Every participant decides on every extract of her session: her consent withdrawn
    # everywhere blocks them all, and the episode leaves the feed.
    assert again.changes == ("Episode 'Arrivals' was removed from the feed: no extract is cleared.",)
    assert list(again.out_dir.glob("*.mp3")) == []
    # Her words: nowhere in the workspace or the published folder, in any file.
    said = [b"arrived", b"three years", b"Paris"]
    files = [p for p in ws.root.rglob("*") if p.is_file()]
    found = [(p.relative_to(ws.root), w) for p in files for w in said if w in p.read_bytes()]
    assert found == []
    # Her microphone is digital silence, and every microphone during her turn.
    after, rate = sf.read(str(ws.absolute(take.relpath)), always_2d=True)
    assert not after[:, channel - 1].any()
    assert not after[int(3.2 * rate) : int(5.6 * rate)].any()
    assert np.array_equal(after[: int(2.5 * rate), 0], before[: int(2.5 * rate), 0]), "Amara's own turn kept"
    # Others' answers stay as they were (the raw take's silence does not outdate them); hers
    # is "withdrawn" on every extract.
    amara = participants.get(ws, "Amara").id
    for status in decisions.session_status(ws, 1):
        assert status.states[blessing.id] == "withdrawn" and not status.cleared
        assert status.states[amara] == ("outdated" if status.extract.id == published[1] else "yes")
    assert "Blessing" not in {p.pseudonym for p in participants.list_all(ws, include_retired=True)}
    assert [
        u.speaker for u in extracts.utterances_in(transcripts.load(ws, 1), extracts.get(ws, published[1]))
    ] == []
    events = [e.event for e in checkpoints.ledger(ws).entries()]
    assert events[-1] == "erase" and checkpoints.verify(ws)[0].ok
    assert site.check(ws) == []


def test_doctor_notices_a_changed_voice(tmp_path: Path) -> None:
    from publish.voices import VoiceStore

    model = tmp_path / "fr_FR-test.onnx"
    model.write_bytes(b"onnx model bytes")
    model.with_name(model.name + ".json").write_text(
        '{"language": {"code": "fr_FR"}, "audio": {"sample_rate": 22050}}'
    )
    store = VoiceStore(tmp_path / "data")
    store.add(model)
    assert doctor.check_voices(store).level == doctor.OK
    model.write_bytes(b"another model")
    changed = doctor.check_voices(store)
    assert changed.level == doctor.ERROR and "sha256 differs" in changed.message


def test_a_closed_sessions_transcript_and_extracts_no_longer_change(
    ws: Workspace, published: list[int], key: Path
) -> None:
    from consent import sensitive
    from sessions import editing, extracts

    retention.close(ws, 1, DAY0)
    line = transcripts.load(ws, 1).utterances[0]
    for change in (
        lambda: editing.set_text(ws, 1, line.key, "changed"),
        lambda: editing.set_speaker(ws, 1, line.key, "unknown"),
        lambda: transcripts.mark_reviewed(ws, 1),
        lambda: extracts.add(ws, 1, segments=(line.key, line.key)),
        lambda: sensitive.add(ws, ["Lagos"], 1),
    ):
        with pytest.raises(InvalidInputError, match="is closed") as caught:
            change()
        assert "podcast session unseal 1" in (caught.value.hint or "")
    assert all(s.cleared for s in decisions.session_status(ws, 1))


def test_a_show_wide_sensitive_word_said_in_a_closed_session_is_flagged(
    runner: CliRunner, ws: Workspace, published: list[int], key: Path
) -> None:
    retention.close(ws, 1, DAY0)
    result = runner.invoke(app, ["-w", str(ws.root), "redact", "add", "Paris"])
    assert result.exit_code == 0 and "Session 1 is closed" in result.output
    assert "podcast session unseal 1" in result.output.replace("\n", " ")
    quiet = runner.invoke(app, ["-w", str(ws.root), "redact", "add", "Lagos"])
    assert quiet.exit_code == 0 and "closed" not in quiet.output
