"""Signed checkpoints of the consent ledger (entry count + head hash, Ed25519).

Kept in a file beside the ledger and printed on receipts, like Certificate Transparency's
signed tree heads: they catch the deletion of the last entries, which a hash chain alone
cannot. The private key stays in the workspace's keys/ folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from consent.ledger import Ledger, LedgerError, Verdict, canonical, line_hash
from podcast.clock import now_iso
from podcast.fsutil import atomic_write_bytes
from podcast.workspace import Workspace

KEY_FILE = "consent-ed25519.pem"


@dataclass(frozen=True)
class Checkpoint:
    count: int
    head: str
    time: str
    key: str  # public key, hex
    sig: str  # hex

    def signed_part(self) -> bytes:
        return canonical({"count": self.count, "head": self.head, "time": self.time})


def ledger(ws: Workspace) -> Ledger:
    return Ledger(ws.consent_dir / "ledger.jsonl")


def _checkpoints_path(ws: Workspace) -> Path:
    return ws.consent_dir / "checkpoints.jsonl"


def private_key(ws: Workspace) -> Ed25519PrivateKey:
    """The workspace signing key, created on first use (readable by its owner only)."""
    path = ws.keys_dir / KEY_FILE
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise LedgerError(f"{path} is not an Ed25519 key.", hint="Restore keys/ from a backup.")
        return key
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


def sign(ws: Workspace) -> Checkpoint | None:
    """Sign a checkpoint of the ledger as it is now (None if the ledger is empty)."""
    lines = ledger(ws).complete_lines()
    if not lines:
        return None
    key = private_key(ws)
    unsigned = Checkpoint(len(lines), line_hash(lines[-1]), now_iso(), public_hex(key.public_key()), "")
    checkpoint = Checkpoint(
        unsigned.count,
        unsigned.head,
        unsigned.time,
        unsigned.key,
        key.sign(unsigned.signed_part()).hex(),
    )
    path = _checkpoints_path(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, canonical(checkpoint.__dict__) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    return checkpoint


def load(ws: Workspace) -> tuple[list[Checkpoint], list[str]]:
    """Checkpoints whose signature is valid under this workspace's key, and problems found."""
    path = _checkpoints_path(ws)
    if not path.exists():
        return [], []
    expected = public_hex(private_key(ws).public_key())
    valid, problems = [], []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            checkpoint = Checkpoint(**json.loads(raw))
            if checkpoint.key != expected:
                raise InvalidSignature
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(checkpoint.key)).verify(
                bytes.fromhex(checkpoint.sig), checkpoint.signed_part()
            )
        except (ValueError, TypeError, InvalidSignature):
            problems.append(f"checkpoint {number} has an invalid signature (forged or damaged)")
            continue
        valid.append(checkpoint)
    return valid, problems


def verify(ws: Workspace) -> tuple[Verdict, Checkpoint | None]:
    """Verify the ledger against every validly signed checkpoint; forged ones are reported."""
    valid, problems = load(ws)
    verdict = ledger(ws).verify([(c.count, c.head) for c in valid])
    if problems:
        verdict = Verdict("tampered", verdict.entries, (*verdict.problems, *problems), verdict.torn_bytes)
    return verdict, (valid[-1] if valid else None)
