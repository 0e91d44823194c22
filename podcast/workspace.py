"""The workspace: one folder owning every path the toolkit reads or writes.

Layout::

    podcast.toml     show settings
    state.db         SQLite state (WAL)
    takes/           raw recordings and imports (sensitive: never published)
    renderings/      protected (anonymised) audio
    publish/         what the community manager puts online
    tmp/             scratch space, emptied freely
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

from podcast import db, settings
from podcast.errors import WorkspaceError
from podcast.settings import ShowSettings

SETTINGS_FILE = "podcast.toml"
DB_FILE = "state.db"
_FOLDERS = ("takes", "renderings", "publish", "tmp", "consent", "keys")
# What the web server may read: the published folder. Everything else holds voices,
# transcripts or secrets and is for the owner only (0700 folders, 0600 files).
PUBLIC_FOLDERS = ("publish",)


class Workspace:
    """Paths and state of one workspace. Create with `Workspace.create` or open with `open`."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._conn: sqlite3.Connection | None = None

    # -- paths ------------------------------------------------------------------------
    @property
    def settings_path(self) -> Path:
        return self.root / SETTINGS_FILE

    @property
    def db_path(self) -> Path:
        return self.root / DB_FILE

    @property
    def takes_dir(self) -> Path:
        return self.root / "takes"

    @property
    def renderings_dir(self) -> Path:
        return self.root / "renderings"

    @property
    def publish_dir(self) -> Path:
        return self.root / "publish"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    @property
    def cache_dir(self) -> Path:
        """Things worth keeping but always recomputable (the workbench's level strips)."""
        return self.root / "cache"

    @property
    def consent_dir(self) -> Path:
        """The consent ledger, its signed checkpoints and receipts."""
        return self.root / "consent"

    @property
    def keys_dir(self) -> Path:
        """The workspace's signing key (private: never published, never shared)."""
        return self.root / "keys"

    def session_dir(self, session_id: int) -> Path:
        """Folder holding a session's raw takes (named by ID, never by user text)."""
        return self.takes_dir / f"session-{session_id:04d}"

    def relative(self, path: Path) -> str:
        """Path relative to the workspace root, as stored in the database."""
        return path.resolve().relative_to(self.root).as_posix()

    def absolute(self, relpath: str) -> Path:
        """Resolve a stored relative path, refusing anything that escapes the workspace."""
        path = (self.root / relpath).resolve()
        if self.root not in path.parents:
            raise WorkspaceError(
                f"A stored path points outside the workspace: {relpath!r}.",
                hint="The state database may have been edited by hand; restore it from a backup.",
            )
        return path

    # -- state ------------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:
        """The state database connection (opened and migrated on first use)."""
        if self._conn is None:
            self._conn = db.connect(self.db_path)
        return self._conn

    def migrate(self) -> None:
        """Create the state database if needed and bring its schema up to date."""
        _ = self.conn

    def settings(self) -> ShowSettings:
        return settings.load(self.settings_path)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- privacy and exclusion ----------------------------------------------------------
    def private_paths_too_wide(self) -> list[Path]:
        """Paths others could read or write (wider than 0700 / 0600), outside publish/."""
        wide = []
        for path in self._private_paths():
            try:
                mode = stat.S_IMODE(path.lstat().st_mode)
            except FileNotFoundError:
                continue
            if mode & 0o077:
                wide.append(path)
        return wide

    def _private_paths(self) -> Iterator[Path]:
        yield self.root
        for entry in os.scandir(self.root):
            if entry.name in PUBLIC_FOLDERS or entry.is_symlink():
                continue
            yield Path(entry.path)
            if entry.is_dir(follow_symlinks=False):
                for folder, dirs, files in os.walk(entry.path):
                    for name in dirs + files:
                        path = Path(folder) / name
                        if not path.is_symlink():
                            yield path

    def secure(self) -> list[Path]:
        """Make every private path owner-only; returns the paths that were wider."""
        repaired = self.private_paths_too_wide()
        for path in repaired:
            with contextlib.suppress(OSError):
                path.chmod(0o700 if path.is_dir() else 0o600)
        return repaired

    @contextlib.contextmanager
    def exclusive(self, name: str, what: str) -> Iterator[None]:
        """Hold the workspace's *name* lock, or raise WorkspaceError if another command holds it."""
        # Beside the state, not in tmp/ (which may be emptied while the lock is held).
        fd = os.open(self.root / f".{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise WorkspaceError(
                    f"Another '{what}' is running in this workspace.",
                    hint="Wait for it to finish, then run this again.",
                ) from None
            yield
        finally:
            os.close(fd)

    # -- life cycle ---------------------------------------------------------------------
    @classmethod
    def open(cls, root: Path) -> Workspace:
        """Open an existing workspace, or raise WorkspaceError."""
        if not (root / SETTINGS_FILE).is_file():
            raise WorkspaceError(
                f"No workspace at {root}.",
                hint="Run 'podcast init DIR' to create one, or pass --workspace DIR.",
            )
        return cls(root)

    @classmethod
    def find(cls, start: Path) -> Workspace:
        """Find the workspace containing *start* by walking up, as git does."""
        start = start.resolve()
        for folder in (start, *start.parents):
            if (folder / SETTINGS_FILE).is_file():
                return cls(folder)
        raise WorkspaceError(
            f"No workspace found in {start} or any folder above it.",
            hint="Run 'podcast init DIR', cd into a workspace, or pass --workspace DIR "
            "(or set PODCAST_WORKSPACE).",
        )

    @classmethod
    def create(cls, root: Path, show: ShowSettings) -> Workspace:
        """Create a new workspace in *root* (which may exist, but must not be a workspace).

        Nothing is left behind if creation fails.
        """
        root = root.resolve()
        if (root / SETTINGS_FILE).exists():
            raise WorkspaceError(
                f"{root} is already a workspace.",
                hint="Use it as it is, or choose another folder.",
            )
        if root.exists() and not root.is_dir():
            raise WorkspaceError(f"{root} exists and is not a folder.", hint="Choose another path.")
        created: list[Path] = []
        try:
            missing = [p for p in (root, *root.parents) if not p.exists()]
            root.mkdir(parents=True, exist_ok=True)
            created.extend(reversed(missing))
            for name in _FOLDERS:
                folder = root / name
                if not folder.exists():
                    folder.mkdir()
                    created.append(folder)
            for name in _FOLDERS:
                os.chmod(root / name, 0o755 if name in PUBLIC_FOLDERS else 0o700)
            os.chmod(root, 0o700)
            workspace = cls(root)
            created.append(workspace.db_path)
            workspace.db_path.touch(mode=0o600)
            workspace.migrate()
            workspace.close()
            # Settings last: their presence is what marks a folder as a workspace.
            settings.save(show, workspace.settings_path)
        except OSError as exc:
            _remove_created(created, root)
            raise _os_error(exc, root) from None
        except BaseException:
            _remove_created(created, root)
            raise
        return workspace


def _remove_created(created: list[Path], root: Path) -> None:
    for path in reversed(created):
        with contextlib.suppress(OSError):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(OSError):
            (root / (DB_FILE + suffix)).unlink(missing_ok=True)


def _os_error(exc: OSError, root: Path) -> WorkspaceError:
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return WorkspaceError(
            f"Cannot write in {root}: {exc.strerror}.",
            hint="Choose a folder you can write to, or check its permissions.",
        )
    if exc.errno == errno.ENOSPC:
        return WorkspaceError(f"The disk holding {root} is full.", hint="Free some space first.")
    return WorkspaceError(f"Cannot create the workspace in {root}: {exc.strerror}.", hint="Check the path.")
