from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from podcast import db
from podcast.errors import WorkspaceError
from podcast.settings import ShowSettings
from podcast.workspace import Workspace

SHOW = ShowSettings(title="Show", language="fr")


def test_create_makes_settings_database_and_folders(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "w", SHOW)
    for name in ("podcast.toml", "state.db", "takes", "renderings", "publish", "tmp"):
        assert (ws.root / name).exists(), name
    assert ws.settings() == SHOW
    assert ws.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert ws.conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
    assert (ws.root / "takes").stat().st_mode & 0o077 == 0, "raw takes must be private"


def test_a_second_create_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "w", SHOW)
    before = ws.settings_path.read_bytes()
    with pytest.raises(WorkspaceError, match="already a workspace"):
        Workspace.create(tmp_path / "w", ShowSettings(title="Other"))
    assert ws.settings_path.read_bytes() == before


def test_create_in_a_read_only_folder_fails_cleanly(read_only_dir: Path) -> None:
    with pytest.raises(WorkspaceError) as info:
        Workspace.create(read_only_dir / "w", SHOW)
    assert info.value.hint
    assert list(read_only_dir.iterdir()) == []


def test_create_over_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(WorkspaceError, match="not a folder"):
        Workspace.create(tmp_path / "afile", SHOW)


def test_failed_create_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_save(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("podcast.settings.save", broken_save)
    with pytest.raises(WorkspaceError, match="full"):
        Workspace.create(tmp_path / "new" / "w", SHOW)
    assert list(tmp_path.iterdir()) == []


def test_find_walks_up_like_git(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "w", SHOW)
    deep = ws.root / "takes" / "a" / "b"
    deep.mkdir(parents=True)
    assert Workspace.find(deep).root == ws.root


def test_find_outside_any_workspace_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError) as info:
        Workspace.find(tmp_path)
    assert "podcast init" in (info.value.hint or "")


def test_stored_paths_cannot_escape_the_workspace(ws: Workspace) -> None:
    with pytest.raises(WorkspaceError):
        ws.absolute("../../etc/passwd")
    assert ws.absolute("takes/x.flac") == ws.root / "takes" / "x.flac"


def test_database_from_a_newer_version_is_refused(ws: Workspace) -> None:
    ws.conn.execute(f"PRAGMA user_version = {db.SCHEMA_VERSION + 1}")
    ws.close()
    with pytest.raises(WorkspaceError, match="schema version") as info:
        db.connect(ws.db_path)
    assert "Upgrade" in (info.value.hint or "")


def test_damaged_database_gives_a_clear_error(ws: Workspace) -> None:
    ws.close()
    for suffix in ("-wal", "-shm"):
        Path(str(ws.db_path) + suffix).unlink(missing_ok=True)
    ws.db_path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(WorkspaceError, match="cannot be opened"):
        db.connect(ws.db_path)


def test_migrations_run_from_an_empty_database(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "s.db")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"participants", "sessions", "takes", "take_channels", "session_members"} <= tables
    conn.close()
    # Reopening is a no-op.
    again = db.connect(tmp_path / "s.db")
    assert again.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION


def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    conn = db.connect(tmp_path / "s.db")
    with pytest.raises(sqlite3.IntegrityError), db.transaction(conn):
        conn.execute("INSERT INTO participants (id, pseudonym, created_at) VALUES ('p-1', 'A', 'now')")
        # NOCASE unique: the second pseudonym differs only by case.
        conn.execute("INSERT INTO participants (id, pseudonym, created_at) VALUES ('p-2', 'a', 'now')")
    assert conn.execute("SELECT count(*) FROM participants").fetchone()[0] == 0
