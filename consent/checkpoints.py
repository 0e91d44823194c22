"""Signed checkpoints of the consent ledger (entry count + head hash, Ed25519), and the
evidence the gate decides on.

Every decision is appended and signed in one step, under the ledger's lock, so each entry
has a checkpoint signed at the moment it was written. Checkpoints are kept in a file beside
the ledger and printed on receipts, like Certificate Transparency's signed tree heads: they
catch the deletion of the last entries, which a hash chain alone cannot. The key's public
half and the last checkpoint are pinned in the state database, so removing keys/ or
checkpoints.jsonl is detected instead of starting afresh.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from consent import gate
from consent.ledger import Entry, Ledger, LedgerError, Verdict, canonical, line_hash, verify_bytes
from podcast.clock import now_iso
from podcast.errors import LedgerNotVerified
from podcast.fsutil import atomic_write_bytes
from podcast.workspace import Workspace

KEY_FILE = "consent-ed25519.pem"
_HINT = (
    "Run 'podcast consent verify' to see why; restore consent/ and keys/ from a backup and "
    "compare with the paper receipts ('podcast consent verify --receipt HASH')."
)
_TORN_HINT = "Run 'podcast consent verify', then 'podcast consent repair'."


@dataclass(frozen=True)
class Checkpoint:
    count: int
    head: str
    time: str
    key: str  # public key, hex
    sig: str  # hex

    def signed_part(self) -> bytes:
        return canonical({"count": self.count, "head": self.head, "time": self.time})


@dataclass(frozen=True)
class Anchor:
    """What the state database pins: the key's public half and the last signed checkpoint."""

    public_key: str
    count: int
    head: str


def ledger(ws: Workspace) -> Ledger:
    return Ledger(ws.consent_dir / "ledger.jsonl")


def _checkpoints_path(ws: Workspace) -> Path:
    return ws.consent_dir / "checkpoints.jsonl"


def _key_path(ws: Workspace) -> Path:
    return ws.keys_dir / KEY_FILE


def anchor(ws: Workspace) -> Anchor | None:
    row = ws.conn.execute("SELECT public_key, count, head FROM consent_anchor WHERE id = 1").fetchone()
    return Anchor(row["public_key"], row["count"], row["head"]) if row else None


def _load_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise LedgerNotVerified(f"{path.name} is not a readable Ed25519 key.", hint=_HINT)
    return key


def private_key(ws: Workspace) -> Ed25519PrivateKey:
    """The workspace signing key. Made on the very first decision only: once a key is pinned,
    a missing or different key is an error, never a reason to start afresh."""
    path = _key_path(ws)
    pinned = anchor(ws)
    if path.exists():
        key = _load_key(path)
        if pinned and public_hex(key.public_key()) != pinned.public_key:
            raise LedgerNotVerified("The consent signing key is not the one pinned in state.db.", hint=_HINT)
        return key
    if pinned or ledger(ws).read_bytes() or _checkpoints_path(ws).exists():
        raise LedgerNotVerified("The consent signing key (keys/) is missing.", hint=_HINT)
    ws.keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    atomic_write_bytes(path, pem)
    os.chmod(path, 0o600)
    return key


def public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def _seal(ws: Workspace, key: Ed25519PrivateKey, count: int, head: str) -> Checkpoint:
    """Sign (count, head), append it to checkpoints.jsonl (fsync'ed) and pin it."""
    time = now_iso()
    public = public_hex(key.public_key())
    unsigned = Checkpoint(count, head, time, public, "")
    checkpoint = Checkpoint(count, head, time, public, key.sign(unsigned.signed_part()).hex())
    path = _checkpoints_path(ws)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, canonical(checkpoint.__dict__) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    ws.conn.execute(
        "INSERT OR REPLACE INTO consent_anchor (id, public_key, count, head, signed_at) "
        "VALUES (1, ?, ?, ?, ?)",
        (public, count, head, time),
    )
    return checkpoint


def record(
    ws: Workspace,
    *,
    event: str,
    participant: str,
    session: int,
    extract: int,
    fingerprint: str,
    witness: str,
    method: str,
    language: str,
) -> Entry:
    """Append one decision and sign a checkpoint covering exactly it, under one lock.

    Refuses (fails closed) when the ledger does not verify: a decision written on top of a
    tampered ledger would be signed together with whatever was forged before it.
    """
    found = evidence(ws)
    if not found.trusted and event == "grant":
        raise LedgerNotVerified(
            "The consent ledger does not verify, so no 'yes' can be recorded: " + found.problems[0],
            hint=found.hint,
        )
    key = private_key(ws)
    return ledger(ws).append(
        event=event,
        participant=participant,
        session=session,
        extract=extract,
        fingerprint=fingerprint,
        witness=witness,
        method=method,
        language=language,
        # A refusal on a damaged ledger is still written (it counts without proof), unsigned.
        seal=(lambda count, head: _seal(ws, key, count, head)) if found.trusted else None,
    )


def load(ws: Workspace, expected_key: str | None) -> tuple[list[Checkpoint], list[str]]:
    """Checkpoints whose signature is valid under *expected_key*, and problems found."""
    path = _checkpoints_path(ws)
    if not path.exists():
        return [], []
    valid, problems = [], []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            checkpoint = Checkpoint(**json.loads(raw))
            if checkpoint.key != expected_key:
                raise InvalidSignature
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(checkpoint.key)).verify(
                bytes.fromhex(checkpoint.sig), checkpoint.signed_part()
            )
        except (ValueError, TypeError, InvalidSignature):
            problems.append(f"checkpoint {number} has an invalid signature (forged, damaged or another key)")
            continue
        valid.append(checkpoint)
    return valid, problems


def _readable_entries(data: bytes) -> tuple[tuple[int, Entry], ...]:
    """Every complete line that parses as an entry, with its line number (damage tolerated)."""
    found = []
    for number, raw in enumerate(data.split(b"\n")[:-1], start=1):
        try:
            found.append((number, Entry(**json.loads(raw))))
        except (ValueError, TypeError):
            continue
    return tuple(found)


@dataclass(frozen=True)
class Report:
    """What `consent verify` shows: the verdict, the last valid checkpoint, the evidence."""

    verdict: Verdict
    last: Checkpoint | None
    evidence: gate.Evidence


def examine(ws: Workspace) -> Report:
    """Verify everything the gate relies on: chain, signatures, checkpoints, the pinned key."""
    data = ledger(ws).read_bytes()
    problems: list[str] = []
    pinned = anchor(ws)
    key_path = _key_path(ws)
    public: str | None = None
    if key_path.exists():
        try:
            public = public_hex(_load_key(key_path).public_key())
        except LedgerNotVerified as exc:
            problems.append(exc.message)
    elif pinned:
        problems.append("the signing key (keys/) is missing")
    if pinned and public and public != pinned.public_key:
        problems.append("the signing key in keys/ is not the one pinned in state.db (replaced)")
    expected = pinned.public_key if pinned else public
    valid, bad = load(ws, expected)
    problems += bad
    if pinned and (not valid or max(c.count for c in valid) < pinned.count):
        problems.append(
            f"signed checkpoints are missing: state.db pins one covering {pinned.count} entries "
            "(checkpoints.jsonl removed or cut)"
        )
    if data and not valid and not pinned:
        problems.append("the ledger holds entries but no signed checkpoint")
    verdict = verify_bytes(data, [(c.count, c.head) for c in valid])
    hint = _HINT
    if verdict.status == "torn_tail" and not problems:
        problems.append("the last entry is incomplete (torn, e.g. by a power cut)")
        hint = _TORN_HINT
    elif problems or verdict.status == "tampered":
        problems = [*(p for p in verdict.problems if p != "the last entry is incomplete"), *problems]
        verdict = Verdict("tampered", verdict.entries, tuple(dict.fromkeys(problems)), verdict.torn_bytes)
    found = gate.Evidence(_readable_entries(data), frozenset(c.count for c in valid), tuple(problems), hint)
    return Report(verdict, valid[-1] if valid else None, found)


def evidence(ws: Workspace) -> gate.Evidence:
    """The gate's input, read afresh: every call verifies the whole ledger."""
    return examine(ws).evidence


def verify(ws: Workspace) -> tuple[Verdict, Checkpoint | None]:
    """Verify the ledger (see `examine`); forged checkpoints and a replaced key are tampering."""
    report = examine(ws)
    return report.verdict, report.last


def check_receipt(ws: Workspace, head: str) -> Checkpoint:
    """The valid checkpoint a paper receipt printed (by its head hash), if the ledger still holds it.

    Raises LedgerNotVerified when no signed checkpoint has that head or the ledger no longer
    holds that entry unchanged.
    """
    report = examine(ws)
    head = head.strip().lower()
    path = _checkpoints_path(ws)
    lines = ledger(ws).complete_lines()
    pinned = anchor(ws)
    valid, _ = load(ws, pinned.public_key if pinned else None)
    for checkpoint in valid:
        if checkpoint.head == head:
            if checkpoint.count > len(lines) or line_hash(lines[checkpoint.count - 1]) != head:
                break
            if report.verdict.status == "tampered":
                raise LedgerNotVerified(
                    "The receipt's entry is still there, but the ledger does not verify: "
                    + "; ".join(report.verdict.problems),
                    hint=_HINT,
                )
            return checkpoint
    raise LedgerNotVerified(
        f"No entry of the ledger matches the receipt's head {head[:16]}… ({path.name} or the ledger "
        "was rewritten).",
        hint="Restore consent/ and keys/ from a backup made before the receipt was printed.",
    )


def require_trusted(ws: Workspace) -> gate.Evidence:
    """The evidence, or LedgerNotVerified when the ledger cannot be trusted."""
    found = evidence(ws)
    if not found.trusted:
        raise LedgerNotVerified("The consent ledger does not verify: " + found.problems[0], hint=found.hint)
    return found


__all__ = ["LedgerError"]


def repair(ws: Workspace) -> int:
    """Set aside an unacknowledged torn last line (bytes removed; 0 if none).

    Never removes a complete entry, and refuses on a ledger that is tampered with, including
    one cut inside an entry that a signed checkpoint covers (that entry was acknowledged).
    """
    report = examine(ws)
    if report.verdict.status == "tampered":
        raise LedgerError(
            "The consent ledger is tampered with, not torn, so it cannot be repaired: "
            + report.verdict.problems[0],
            hint=_HINT,
        )
    return ledger(ws).repair()
