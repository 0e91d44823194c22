"""The consent ledger: append-only, hash-chained JSON lines, fsync'ed, verifiable.

Each line is canonical JSON (sorted keys, no spaces, ASCII) holding: seq, time, prev (the
SHA-256 of the previous line's exact bytes), hash (the SHA-256 of this entry without it),
event, participant (an opaque ID), session, extract, fingerprint, witness, method and
language. No names and no free text: the ledger can never be edited, so it holds no
personal data. A chain alone still verifies after its last lines are deleted; signed
checkpoints kept in another file (and on paper receipts) catch that.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from podcast.clock import now_iso
from podcast.errors import PodcastError

GENESIS = "0" * 64
EVENTS = ("grant", "refuse", "defer", "withdraw", "erase")  # erase: session 0, extract 0
# Closed vocabularies: nothing free-form ever enters the ledger (it can never be edited).
METHODS = ("in_room", "room", "phone", "paper")
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


class LedgerError(PodcastError):
    """The ledger cannot be read or written."""


@dataclass(frozen=True)
class Entry:
    seq: int
    time: str
    prev: str
    hash: str
    event: str
    participant: str
    session: int
    extract: int
    fingerprint: str
    witness: str
    method: str
    language: str


def canonical(data: Mapping[str, object]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def entry_hash(fields: dict[str, object]) -> str:
    return hashlib.sha256(canonical({k: v for k, v in fields.items() if k != "hash"})).hexdigest()


def line_hash(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


@dataclass(frozen=True)
class Verdict:
    """What `verify` found. status: intact, torn_tail or tampered."""

    status: str
    entries: int
    problems: tuple[str, ...] = ()
    torn_bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "intact"


class Ledger:
    """The ledger file. One writer at a time (file lock); one write + fsync per entry."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield fd
        finally:
            os.close(fd)

    def _tail(self, fd: int) -> tuple[int, bytes]:
        """(seq, bytes) of the last complete line, or (0, b'') for an empty ledger."""
        size = os.fstat(fd).st_size
        if size == 0:
            return 0, b""
        chunk = 4096
        while True:
            start = max(0, size - chunk)
            data = os.pread(fd, size - start, start)
            if not data.endswith(b"\n"):
                raise LedgerError(
                    "The consent ledger ends with an incomplete entry (torn tail).",
                    hint="Run 'podcast consent verify', then 'podcast consent repair'.",
                )
            body = data[:-1]
            cut = body.rfind(b"\n")
            if cut >= 0 or start == 0:
                last = body[cut + 1 :] + b"\n"
                try:
                    seq = int(json.loads(last)["seq"])
                except (ValueError, KeyError, TypeError):
                    raise LedgerError(
                        "The last consent ledger entry cannot be read.",
                        hint="Run 'podcast consent verify'.",
                    ) from None
                return seq, last
            chunk *= 4

    def append(
        self,
        *,
        event: str,
        participant: str,
        session: int,
        extract: int,
        fingerprint: str,
        witness: str,
        method: str,
        language: str,
        seal: Callable[[int, str], object] | None = None,
    ) -> Entry:
        """Append one decision and fsync it before returning (it is then acknowledged).

        *seal* is called with (entry count, head hash) while the ledger is still locked, so
        a checkpoint signed there covers exactly this entry.
        """
        if event not in EVENTS:
            raise LedgerError(f"Unknown consent event {event!r}.", hint="This is a bug; please report it.")
        if method not in METHODS:
            raise LedgerError(f"Unknown method {method!r}.", hint="Use one of: " + ", ".join(METHODS))
        if not LANGUAGE_CODE.match(language):
            raise LedgerError(f"{language!r} is not a language code.", hint="Use a code such as fr or en.")
        for name, value in (("participant", participant), ("witness", witness), ("fingerprint", fingerprint)):
            if not re.fullmatch(r"[0-9a-z-]{1,64}", value):
                raise LedgerError(f"The {name} is not an opaque ID.", hint="This is a bug; please report it.")
        with self._locked() as fd:
            seq, last = self._tail(fd)
            fields: dict[str, object] = {
                "seq": seq + 1,
                "time": now_iso(),
                "prev": line_hash(last) if last else GENESIS,
                "event": event,
                "participant": participant,
                "session": session,
                "extract": extract,
                "fingerprint": fingerprint,
                "witness": witness,
                "method": method,
                "language": language,
            }
            fields["hash"] = entry_hash(fields)
            line = canonical(fields) + b"\n"
            try:
                written = os.write(fd, line)
                if written != len(line):
                    raise OSError(28, "short write")
                os.fsync(fd)
            except OSError as exc:
                raise LedgerError(
                    f"The decision could not be saved: {exc.strerror or exc}.",
                    hint="Free disk space, then run 'podcast consent verify' and record it again.",
                ) from None
            if seal is not None:
                seal(seq + 1, line_hash(line))
        return Entry(**fields)  # type: ignore[arg-type]

    def read_bytes(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""

    def entries(self) -> list[Entry]:
        """All entries, checked; raises LedgerError unless the ledger is intact."""
        verdict, entries = self._scan()
        if verdict.status != "intact":
            raise LedgerError(
                f"The consent ledger is {verdict.status.replace('_', ' ')}: {'; '.join(verdict.problems)}",
                hint="Run 'podcast consent verify' (and 'podcast consent repair' for a torn tail).",
            )
        return entries

    def _scan(self, data: bytes | None = None) -> tuple[Verdict, list[Entry]]:
        return scan(self.read_bytes() if data is None else data)

    def complete_lines(self) -> list[bytes]:
        data = self.read_bytes()
        return [raw + b"\n" for raw in data.split(b"\n")[:-1]]

    def verify(self, checkpoints: list[tuple[int, str]]) -> Verdict:
        """Check the chain and every (count, head hash) checkpoint whose signature is valid."""
        return verify_bytes(self.read_bytes(), checkpoints)

    def repair(self) -> int:
        """Cut a torn last line off (after saving it aside); returns the bytes removed.

        Refuses when the ledger is tampered: that needs a person, not a repair.
        """
        verdict, _ = self._scan()
        if verdict.status == "tampered":
            raise LedgerError(
                "The consent ledger is tampered with, not torn; it cannot be repaired.",
                hint="Restore it from a backup and compare with the paper receipts.",
            )
        if verdict.status == "intact":
            return 0
        with self._locked() as fd:
            size = os.fstat(fd).st_size
            keep = size - verdict.torn_bytes
            torn = os.pread(fd, verdict.torn_bytes, keep)
            aside = self.path.with_name(f"{self.path.name}.torn-{now_iso().replace(':', '')}")
            aside_fd = os.open(aside, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(aside_fd, torn)
                os.fsync(aside_fd)
            finally:
                os.close(aside_fd)
            os.ftruncate(fd, keep)
            os.fsync(fd)
        return verdict.torn_bytes


def scan(data: bytes) -> tuple[Verdict, list[Entry]]:
    """Check every line of a ledger's bytes: form, hash chain, sequence, self-hash."""
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the data ends with a newline
    entries: list[Entry] = []
    problems: list[str] = []
    prev = GENESIS
    for index, raw in enumerate(lines):
        line = raw + b"\n"
        number = index + 1
        try:
            fields = json.loads(line)
            entry = Entry(**fields)
        except (ValueError, TypeError):
            problems.append(f"entry {number} is not a valid entry")
            prev = line_hash(line)
            continue
        if canonical(fields) + b"\n" != line:
            problems.append(f"entry {number} is not in canonical form")
        if entry.seq != number:
            problems.append(f"entry {number} has sequence number {entry.seq}")
        if entry.prev != prev:
            problems.append(f"entry {number} does not follow entry {number - 1}")
        if entry.hash != entry_hash(fields):
            problems.append(f"entry {number} was changed")
        if entry.event not in EVENTS or entry.method not in METHODS:
            problems.append(f"entry {number} has an unknown event or method")
        entries.append(entry)
        prev = line_hash(line)
    if problems:
        return Verdict("tampered", len(lines), tuple(problems)), entries
    if tail:
        return Verdict("torn_tail", len(lines), ("the last entry is incomplete",), len(tail)), entries
    return Verdict("intact", len(lines)), entries


def _prev_field(line: bytes) -> bytes:
    at = line.find(b'"prev":"')
    return line[at + 8 : at + 72] if at >= 0 else b""


def verify_bytes(data: bytes, checkpoints: list[tuple[int, str]], *, detail: bool = True) -> Verdict:
    """Check a ledger's bytes against itself and (count, head hash) checkpoints.

    The hash chain and the checkpoints are checked on raw bytes first (fast, and enough to
    detect any change); then, with *detail*, every entry is parsed to say what is wrong.
    """
    raw_lines = data.split(b"\n")
    tail = raw_lines.pop()
    lines = [raw + b"\n" for raw in raw_lines]
    problems: list[str] = []
    expected = GENESIS.encode()
    for number, line in enumerate(lines, start=1):
        if _prev_field(line) != expected:
            problems.append(f"entry {number} does not follow entry {number - 1}")
        expected = line_hash(line).encode()
    for count, head in checkpoints:
        if count > len(lines):
            problems.append(
                f"a signed checkpoint covers {count} entries but only {len(lines)} are complete: "
                "entries were removed"
            )
        elif count and line_hash(lines[count - 1]) != head:
            problems.append(f"entry {count} differs from the one a signed checkpoint recorded")
    if problems and not detail:
        return Verdict("tampered", len(lines), tuple(problems), len(tail))
    verdict, _entries = scan(data)
    if verdict.status == "tampered":
        problems = [*verdict.problems, *problems]
    if problems:
        return Verdict("tampered", verdict.entries, tuple(dict.fromkeys(problems)), verdict.torn_bytes)
    return verdict
