"""Crash-safe file writes: temp file in the same folder, fsync, rename, fsync the folder."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import sqlite3
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from podcast.errors import DiskFullError, InvalidInputError, PodcastError


def fsync_dir(path: Path) -> None:
    """Flush a directory entry (after a rename or create) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_output(path: Path, mode: str = "wb") -> Iterator[IO[bytes]]:
    """Open a temporary file that replaces *path* only if the block finishes.

    On any exception the temporary file is removed and *path* is left untouched. Refuses
    (InvalidInputError) to replace anything but a regular file: a folder, a device such as
    /dev/full, a pipe or a symbolic link stays what it is. A full disk or a folder that
    cannot be written becomes a PodcastError naming the file.
    """
    check_writable_target(path)
    tmp: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        tmp = Path(tmp_name)
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise write_error(exc, path) from None
    except BaseException:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        raise


def check_writable_target(path: Path) -> None:
    """Raise InvalidInputError unless *path* is absent or a regular file (never followed)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise write_error(exc, path) from None
    if stat.S_ISREG(mode):
        return
    kind = (
        "a folder"
        if stat.S_ISDIR(mode)
        else "a symbolic link"
        if stat.S_ISLNK(mode)
        else "a device, a pipe or a socket"
    )
    raise InvalidInputError(
        f"{path} is {kind}, not a file: it is left as it is.",
        hint="Give the name of a file to write, e.g. session-1.vtt.",
    )


def write_error(exc: OSError, path: Path, needed_bytes: int | None = None) -> PodcastError:
    """One clear error for a failed write (a full disk says so, and how much is needed)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return disk_full(path, needed_bytes, "writing " + path.name)
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return PodcastError(
            f"Cannot write {path}: {exc.strerror}.",
            hint="Choose a place you can write to, or check permissions.",
        )
    return PodcastError(f"Cannot write {path}: {exc.strerror or exc}.", hint="Check the path and the disk.")


def _megabytes(count: int) -> str:
    return f"{max(count, 0) / 1e6:.1f} MB" if count < 10**9 else f"{count / 1e9:.2f} GB"


def _existing(path: Path) -> Path:
    for folder in (path, *path.parents):
        if folder.exists():
            return folder
    return Path("/")


def disk_full(path: Path, needed_bytes: int | None, what: str) -> DiskFullError:
    free = free_bytes(_existing(path))
    if needed_bytes is None:
        return DiskFullError(
            f"Disk full while {what} ({_megabytes(free)} free).",
            hint=f"Free space on the disk holding {_existing(path)}, then run it again; "
            "nothing was half-written.",
        )
    missing = needed_bytes - free
    return DiskFullError(
        f"Disk full: {what} needs about {_megabytes(needed_bytes)} and {_megabytes(free)} are free.",
        hint=f"Free at least {_megabytes(max(missing, needed_bytes // 10))} on the disk holding "
        f"{_existing(path)}, then run it again; nothing was half-written.",
    )


@contextlib.contextmanager
def disk_space(path: Path, needed_bytes: int, what: str) -> Iterator[None]:
    """Run a step that writes about *needed_bytes* under *path*: refuse at once if the disk
    cannot hold it, and turn a disk that fills up during the step into DiskFullError."""
    if free_bytes(_existing(path)) < needed_bytes:
        raise disk_full(path, needed_bytes, what)
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise disk_full(path, needed_bytes, what) from None
        raise
    except sqlite3.OperationalError as exc:
        if "full" in str(exc):
            raise disk_full(path, needed_bytes, what) from None
        raise
    except DiskFullError:
        raise
    except PodcastError as exc:
        # A tool (ffmpeg, libsndfile) that met the full disk reports it in its own words.
        if "No space left" in exc.message or "disk is full" in exc.message:
            raise disk_full(path, needed_bytes, what) from None
        raise


def private_dir(path: Path) -> Path:
    """Make *path* and any missing parent folders readable by their owner only (0700)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
    return path


def private_file(path: Path) -> Path:
    """Create *path* empty and owner-only (0600) if it does not exist, for tools that write by name."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Replace *path* with *data* atomically."""
    with atomic_output(path) as handle:
        handle.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    """Replace *path* with UTF-8 *text* atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def temp_path_beside(path: Path, suffix: str = "") -> Path:
    """A fresh, unused temporary file name in the folder of *path* (for tools that write files)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=suffix or path.suffix)
    os.close(fd)
    return Path(name)


def free_bytes(path: Path) -> int:
    """Free space available to this user on the filesystem holding *path*."""
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def sha256_file(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    """Hex SHA-256 of a file, read in blocks; *on_bytes* is told each block's size."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
            if on_bytes:
                on_bytes(len(block))
    return digest.hexdigest()
