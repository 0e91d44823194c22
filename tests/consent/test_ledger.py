"""The consent ledger: tamper evidence, torn tails, crash safety, no personal data."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from consent import checkpoints
from consent.ledger import GENESIS, Ledger, LedgerError, line_hash, scan, verify_bytes
from podcast.errors import LedgerNotVerified
from podcast.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]


def _decisions(count: int) -> Iterator[dict[str, object]]:
    for i in range(count):
        yield {
            "event": ("grant", "refuse", "defer", "withdraw")[i % 4],
            "participant": f"p-{i % 3:012x}",
            "session": 1,
            "extract": 1 + i % 2,
            "fingerprint": f"{i:064x}",
            "witness": "p-facilitator0",
            "method": "in_room",
            "language": "fr",
        }


def _fill(ledger: Ledger, count: int) -> None:
    """Entries appended to the bare ledger (no checkpoint: as a crash or a forger leaves them)."""
    for fields in _decisions(count):
        ledger.append(**fields)  # type: ignore[arg-type]


def test_entries_are_chained_and_verify(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    _fill(ledger, 5)
    lines = ledger.complete_lines()
    assert json.loads(lines[0])["prev"] == GENESIS
    assert json.loads(lines[3])["prev"] == line_hash(lines[2])
    assert [e.seq for e in ledger.entries()] == [1, 2, 3, 4, 5]
    assert ledger.verify([]).status == "intact"


def test_every_single_bit_flip_is_detected(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    _fill(ledger, 20)
    data = ledger.read_bytes()
    lines = ledger.complete_lines()
    checkpoint = [(20, line_hash(lines[-1]))]
    assert verify_bytes(data, checkpoint).status == "intact"
    missed = []
    start = time.perf_counter()
    for position in range(len(data)):
        for bit in range(8):
            flipped = bytearray(data)
            flipped[position] ^= 1 << bit
            if verify_bytes(bytes(flipped), checkpoint, detail=False).status != "tampered":
                missed.append((position, bit))
    print(f"{len(data) * 8} flips checked in {time.perf_counter() - start:.1f} s")
    assert missed == []
    # The detailed report (what `podcast consent verify` prints) agrees on a sample.
    for position in range(0, len(data), 37):
        flipped = bytearray(data)
        flipped[position] ^= 0x04
        assert verify_bytes(bytes(flipped), checkpoint).status == "tampered"


def test_reordered_duplicated_inserted_and_deleted_entries_are_detected(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    _fill(ledger, 6)
    lines = ledger.complete_lines()
    variants = {
        "reordered": [*lines[:2], lines[3], lines[2], *lines[4:]],
        "duplicated": [*lines[:3], lines[2], *lines[3:]],
        "inserted": [*lines[:3], lines[1].replace(b'"seq":2', b'"seq":4'), *lines[3:]],
        "deleted in the middle": lines[:2] + lines[3:],
    }
    for name, variant in variants.items():
        assert scan(b"".join(variant))[0].status == "tampered", name


def _record(ws: Workspace, count: int) -> None:
    """Decisions written the way every command writes them: appended and signed in one step."""
    for fields in _decisions(count):
        checkpoints.record(ws, **fields)  # type: ignore[arg-type]


def test_every_decision_gets_a_checkpoint_of_its_own(ws: Workspace) -> None:
    _record(ws, 5)
    report = checkpoints.examine(ws)
    assert report.verdict.status == "intact" and report.evidence.trusted
    assert report.evidence.confirmed == frozenset({1, 2, 3, 4, 5})
    assert report.evidence.unconfirmed_grants() == ()


def test_removing_the_last_entries_is_caught_by_a_signed_checkpoint(ws: Workspace) -> None:
    ledger = checkpoints.ledger(ws)
    _record(ws, 10)
    lines = ledger.complete_lines()
    ledger.path.write_bytes(b"".join(lines[:7]))
    assert ledger.verify([]).status == "intact", "the chain alone cannot see it"
    verdict, _ = checkpoints.verify(ws)
    assert verdict.status == "tampered"
    assert any("removed" in p for p in verdict.problems)
    assert not checkpoints.evidence(ws).trusted


def test_a_forged_checkpoint_is_rejected(ws: Workspace) -> None:
    _record(ws, 4)
    path = ws.consent_dir / "checkpoints.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    records[-1]["count"] = 2  # an attacker hiding the last two entries
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    verdict, _ = checkpoints.verify(ws)
    assert verdict.status == "tampered"
    assert any("invalid signature" in p for p in verdict.problems)


def test_a_missing_or_replaced_key_is_detected_never_replaced(ws: Workspace) -> None:
    from consent.checkpoints import KEY_FILE

    _record(ws, 3)
    key = ws.keys_dir / KEY_FILE
    original = key.read_bytes()
    key.unlink()
    verdict, _ = checkpoints.verify(ws)
    assert verdict.status == "tampered" and any("missing" in p for p in verdict.problems)
    assert not key.exists(), "verifying never makes a new key"
    with pytest.raises(LedgerNotVerified, match="missing"):
        _record(ws, 1)
    assert not key.exists(), "recording never makes a new key either"
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key.write_bytes(other)
    verdict, _ = checkpoints.verify(ws)
    assert verdict.status == "tampered" and any("replaced" in p for p in verdict.problems)
    key.write_bytes(original)
    assert checkpoints.verify(ws)[0].status == "intact"


def test_deleting_the_checkpoints_file_is_detected(ws: Workspace) -> None:
    _record(ws, 3)
    (ws.consent_dir / "checkpoints.jsonl").unlink()
    verdict, _ = checkpoints.verify(ws)
    assert verdict.status == "tampered"
    assert any("checkpoints are missing" in p for p in verdict.problems)


def test_a_torn_last_line_is_its_own_verdict_and_repair_keeps_complete_entries(ws: Workspace) -> None:
    ledger = checkpoints.ledger(ws)
    _record(ws, 5)
    data = ledger.read_bytes()
    _fill(ledger, 1)  # written without its checkpoint: the power went at that moment
    full = ledger.read_bytes()
    ledger.path.write_bytes(full[: len(data) + 40])  # power cut in the middle of entry 6
    verdict, _ = checkpoints.verify(ws)
    assert verdict.status == "torn_tail" and verdict.entries == 5
    assert not checkpoints.evidence(ws).trusted, "nothing is cleared until it is repaired"
    with pytest.raises(LedgerError, match="torn"):
        _fill(ledger, 1)
    assert checkpoints.repair(ws) == 40
    assert ledger.read_bytes() == data
    assert list(ws.consent_dir.glob("ledger.jsonl.torn-*"))
    assert checkpoints.verify(ws)[0].status == "intact"


def test_repair_never_cuts_an_acknowledged_entry(ws: Workspace) -> None:
    # The last entry is a signed refusal; cutting into it looks like a torn tail, but a
    # checkpoint covers it: that is tampering, and repair refuses.
    ledger = checkpoints.ledger(ws)
    _record(ws, 2)  # entry 2 is a refusal
    data = ledger.read_bytes()
    ledger.path.write_bytes(data[:-30])
    verdict, _ = checkpoints.verify(ws)
    assert verdict.status == "tampered"
    with pytest.raises(LedgerError, match="tampered"):
        checkpoints.repair(ws)
    assert ledger.read_bytes() == data[:-30], "nothing removed"


def test_repair_refuses_a_tampered_ledger(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.jsonl")
    _fill(ledger, 3)
    ledger.path.write_bytes(ledger.read_bytes().replace(b"refuse", b"grant!"))
    with pytest.raises(LedgerError, match="tampered"):
        ledger.repair()


WRITER = """
import sys
from pathlib import Path
from consent.ledger import Ledger
ledger = Ledger(Path(sys.argv[1]))
i = 0
while True:
    entry = ledger.append(event="grant", participant="p-000000000001", session=1, extract=1,
                          fingerprint="%064x" % i, witness="p-000000000002", method="in_room", language="fr")
    print(entry.seq, flush=True)
    i += 1
"""


def test_sigkill_during_appends_loses_no_acknowledged_entry(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    acknowledged = 0
    for round_ in range(20):
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, cwd=ROOT, text=True
        )
        assert process.stdout is not None
        seen = 0
        deadline = 3 + round_ % 7  # kill after a few acknowledged entries, at varying moments
        for line in process.stdout:
            seen = int(line)
            if seen >= acknowledged + deadline:
                break
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        acknowledged = max(acknowledged, seen)
        verdict, entries = scan(path.read_bytes())
        if verdict.status == "torn_tail":
            Ledger(path).repair()
            verdict, entries = scan(path.read_bytes())
        assert verdict.status == "intact"
        assert len(entries) >= acknowledged
        acknowledged = len(entries)
    assert acknowledged >= 20 * 3


def test_the_ledger_holds_no_names_and_no_text(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.jsonl")
    _fill(ledger, 4)
    for line in ledger.complete_lines():
        fields = json.loads(line)
        assert set(fields) == {
            "seq",
            "time",
            "prev",
            "hash",
            "event",
            "participant",
            "session",
            "extract",
            "fingerprint",
            "witness",
            "method",
            "language",
        }


def test_unknown_event_or_method_is_refused(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.jsonl")
    with pytest.raises(LedgerError):
        ledger.append(
            event="maybe",
            participant="p",
            session=1,
            extract=1,
            fingerprint="f",
            witness="w",
            method="in_room",
            language="fr",
        )
    with pytest.raises(LedgerError):
        ledger.append(
            event="grant",
            participant="p",
            session=1,
            extract=1,
            fingerprint="f",
            witness="w",
            method="telepathy",
            language="fr",
        )
    assert not ledger.path.exists() or ledger.read_bytes() == b""
