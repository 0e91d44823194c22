"""One encrypted archive of the whole workspace, and its restoration, checked end to end.

`make` writes a tar stream straight into age encryption (to the show's archive key): the
database through SQLite's online backup API (a consistent copy even while the room is
open), then every other file of the workspace (ledger, checkpoints, signing key, settings,
takes, renderings, the published folder), then a manifest of their SHA-256 sums. Nothing
clear is written outside the workspace; the archive appears under its name only once it is
complete (written beside it, fsynced, renamed).

`restore` decrypts and unpacks into a folder beside the target, checks every file against the
manifest (nothing missing, nothing extra, nothing changed), opens the database and verifies
the consent ledger, and only then renames the folder into place.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import pyrage

from podcast import vault
from podcast.clock import now_iso
from podcast.errors import InvalidInputError, PodcastError, WorkspaceError
from podcast.fsutil import check_writable_target, private_dir
from podcast.workspace import DB_FILE, Workspace

MANIFEST = "MANIFEST.json"
FORMAT = 1
SKIPPED_FOLDERS = ("tmp", "cache")  # recomputable or scratch
SKIPPED_SUFFIXES = (".lock", "-wal", "-shm", ".part")


@dataclass(frozen=True)
class Backup:
    path: Path
    files: int
    bytes_in: int
    seconds: float


@dataclass(frozen=True)
class Restored:
    root: Path
    files: int
    ledger_entries: int


class _Hashing:
    """A file reader that hashes what is read through it."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _files(ws: Workspace) -> list[Path]:
    found = []
    for folder, dirs, names in os.walk(ws.root):
        here = Path(folder)
        if here == ws.root:
            dirs[:] = [d for d in dirs if d not in SKIPPED_FOLDERS]
        dirs.sort()
        for name in sorted(names):
            path = here / name
            if path.is_symlink() or not path.is_file():
                continue
            if here == ws.root and name.startswith(DB_FILE):
                continue  # the database goes in through the online backup API
            if name.endswith(SKIPPED_SUFFIXES):
                continue
            found.append(path)
    return found


def _target(destination: Path) -> Path:
    if destination.is_dir():
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        return destination / f"podcast-backup-{stamp}.tar.age"
    if not destination.name.endswith(".age"):
        raise InvalidInputError(
            f"{destination.name} is not a folder, and an archive's name ends in .age.",
            hint="Give a folder (e.g. a USB stick) or a name like backup.tar.age.",
        )
    return destination


def make(ws: Workspace, destination: Path) -> Backup:
    """Write an encrypted archive of the workspace into *destination* (a folder or a .age path)."""
    recipient = ws.settings().archive_key
    if not recipient:
        raise InvalidInputError(
            "The show has no archive key yet, so a backup cannot be encrypted.",
            hint="Make the association's key once: podcast keys new",
        )
    target = _target(destination)
    if target.exists():
        raise InvalidInputError(f"{target.name} already exists.", hint="Give another name or folder.")
    if ws.root == target.parent.resolve() or ws.root in target.parent.resolve().parents:
        raise InvalidInputError(
            "The backup would be written inside the workspace it saves.",
            hint="Write it to another disk, e.g. a USB stick: podcast backup /media/usb",
        )
    check_writable_target(target)
    began = time.perf_counter()
    manifest: dict[str, str] = {}
    total = 0
    private_dir(ws.tmp_dir)
    with ws.exclusive("backup", "a backup"):
        database = ws.tmp_dir / f"backup-{os.getpid()}.db"
        try:
            copy = sqlite3.connect(database)
            with copy:
                ws.conn.backup(copy)
            copy.close()
            os.chmod(database, 0o600)
            items = [(database, DB_FILE), *((p, p.relative_to(ws.root).as_posix()) for p in _files(ws))]
            with (
                vault.encrypting(target, recipient) as stream,
                tarfile.open(fileobj=stream, mode="w|") as tar,
            ):
                for path, name in items:
                    info = tar.gettarinfo(str(path), arcname=name)
                    info.uid = info.gid = 0
                    info.uname = info.gname = ""
                    with path.open("rb") as handle:
                        reader = _Hashing(handle)
                        tar.addfile(info, reader)
                    manifest[name] = reader.digest.hexdigest()
                    total += info.size
                data = json.dumps(
                    {"format": FORMAT, "made_at": now_iso(), "files": manifest}, indent=1, sort_keys=True
                ).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(data)
                info.mtime = int(time.time())
                tar.addfile(info, _Bytes(data))
        finally:
            database.unlink(missing_ok=True)
        ws.conn.execute(
            "INSERT INTO backups (made_at, file_name, files, bytes) VALUES (?, ?, ?, ?)",
            (now_iso(), target.name, len(manifest), total),
        )
    return Backup(target, len(manifest), total, time.perf_counter() - began)


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.at + size
        chunk = self.data[self.at : end]
        self.at += len(chunk)
        return chunk


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise InvalidInputError(
            f"The archive holds an unsafe path {name!r}.", hint="It was not made by podcast backup."
        )
    return path


def restore(archive: Path, target: Path, identity_file: Path) -> Restored:
    """Restore an archive into *target* (a new or empty folder), checked before it is kept."""
    identity = vault.load_identity(identity_file)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInputError(f"{target} is not empty.", hint="Restore into a new folder.")
    if not archive.is_file():
        raise InvalidInputError(
            f"{archive} does not exist.", hint="Give the .tar.age file that 'podcast backup' wrote."
        )
    staging = target.parent / f".{target.name}.restoring-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    private_dir(staging)
    try:
        digests, manifest = _unpack(archive, identity, staging)
        expected = manifest.get("files") if isinstance(manifest, dict) else None
        if not isinstance(expected, dict):
            raise InvalidInputError(
                f"The archive {archive.name} has no manifest (cut short?); nothing was restored.",
                hint="Use another copy of the backup.",
            )
        missing = sorted(set(expected) - set(digests))
        extra = sorted(set(digests) - set(expected))
        changed = sorted(n for n in set(expected) & set(digests) if expected[n] != digests[n])
        if missing or extra or changed:
            first = (missing or extra or changed)[0]
            raise InvalidInputError(
                f"The archive does not match its manifest ({len(missing)} missing, {len(extra)} extra, "
                f"{len(changed)} changed, e.g. {first}); nothing was restored.",
                hint="Use another copy of the backup.",
            )
        entries = _verify(staging)
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Restored(target, len(digests), entries)


def _unpack(
    archive: Path, identity: pyrage.x25519.Identity, staging: Path
) -> tuple[dict[str, str], dict[str, object] | None]:
    """Decrypt and unpack the archive into *staging*: each file's SHA-256, and the manifest."""
    digests: dict[str, str] = {}
    manifest = None
    try:
        with (
            archive.open("rb") as source,
            vault.decrypted(source, identity) as clear,
            tarfile.open(fileobj=clear, mode="r|") as tar,
        ):
            for member in tar:
                name = _safe_name(member.name)
                handle = tar.extractfile(member) if member.isfile() else None
                if handle is None:
                    raise InvalidInputError(
                        f"The archive holds {member.name!r}, which is not a plain file.",
                        hint="It was not made by podcast backup.",
                    )
                if member.name == MANIFEST:
                    manifest = json.loads(handle.read())
                    continue
                path = staging.joinpath(*name.parts)
                private_dir(path.parent)
                digest = hashlib.sha256()
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as out:
                    while chunk := handle.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
                digests[member.name] = digest.hexdigest()
    except (tarfile.TarError, EOFError, ValueError, pyrage.DecryptError) as exc:
        raise InvalidInputError(
            f"The archive {archive.name} is damaged or cut short ({exc}); nothing was restored.",
            hint="Use another copy of the backup.",
        ) from None
    return digests, manifest if isinstance(manifest, dict) else None


def _verify(root: Path) -> int:
    from consent import checkpoints

    ws = Workspace.open(root)
    try:
        verdict, _ = checkpoints.verify(ws)
        if not verdict.ok:
            raise WorkspaceError(
                f"The restored consent record does not verify ({verdict.status}); nothing was restored.",
                hint="Use another copy of the backup.",
            )
        return int(verdict.entries)
    except PodcastError:
        raise
    finally:
        with contextlib.suppress(Exception):
            ws.close()


def last(ws: Workspace) -> str | None:
    """When the last backup was made (ISO time), or None."""
    row = ws.conn.execute("SELECT made_at FROM backups ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else str(row[0])
