"""The workspace's SQLite state database: WAL mode, versioned schema, migrations."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from podcast.errors import DiskFullError, WorkspaceError

# Each entry migrates the schema from version N to N+1 (index N). Never edit a released
# migration: append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE participants (
        id          TEXT PRIMARY KEY,
        pseudonym   TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        retired_at  TEXT
    );
    CREATE UNIQUE INDEX participants_pseudonym ON participants (pseudonym COLLATE NOCASE);

    CREATE TABLE sessions (
        id          INTEGER PRIMARY KEY,
        title       TEXT NOT NULL,
        language    TEXT NOT NULL,
        created_at  TEXT NOT NULL
    );

    CREATE TABLE session_members (
        session_id      INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        participant_id  TEXT NOT NULL REFERENCES participants (id),
        role            TEXT NOT NULL CHECK (role IN ('participant', 'facilitator')),
        position        INTEGER NOT NULL,
        PRIMARY KEY (session_id, participant_id)
    );

    CREATE TABLE takes (
        id              INTEGER PRIMARY KEY,
        session_id      INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        position        INTEGER NOT NULL,
        origin          TEXT NOT NULL CHECK (origin IN ('import', 'recording')),
        relpath         TEXT NOT NULL UNIQUE,
        channels        INTEGER NOT NULL,
        sample_rate_hz  INTEGER NOT NULL,
        frames          INTEGER NOT NULL,
        source_sha256   TEXT,
        state           TEXT NOT NULL DEFAULT 'complete'
                        CHECK (state IN ('complete', 'recording', 'needs_recovery')),
        created_at      TEXT NOT NULL
    );

    CREATE TABLE take_channels (
        take_id         INTEGER NOT NULL REFERENCES takes (id) ON DELETE CASCADE,
        channel         INTEGER NOT NULL,
        participant_id  TEXT REFERENCES participants (id),
        PRIMARY KEY (take_id, channel)
    );
    """,
    # 2: transcripts (per take, resumable by chunk), their segments and words; markers.
    """
    CREATE TABLE transcripts (
        take_id         INTEGER PRIMARY KEY REFERENCES takes (id) ON DELETE CASCADE,
        model           TEXT NOT NULL,
        language_option TEXT NOT NULL,
        chunks_json     TEXT NOT NULL,
        chunks_done     INTEGER NOT NULL DEFAULT 0,
        status          TEXT NOT NULL CHECK (status IN ('running', 'done')),
        reviewed_at     TEXT,
        updated_at      TEXT NOT NULL
    );

    CREATE TABLE segments (
        id          INTEGER PRIMARY KEY,
        take_id     INTEGER NOT NULL REFERENCES takes (id) ON DELETE CASCADE,
        chunk       INTEGER NOT NULL,
        start_s     REAL NOT NULL,
        end_s       REAL NOT NULL,
        language    TEXT NOT NULL
    );
    CREATE INDEX segments_take ON segments (take_id, start_s);

    CREATE TABLE words (
        id              INTEGER PRIMARY KEY,
        segment_id      INTEGER NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
        position        INTEGER NOT NULL,
        start_s         REAL NOT NULL,
        end_s           REAL NOT NULL,
        text            TEXT NOT NULL,
        probability     REAL NOT NULL,
        participant_id  TEXT REFERENCES participants (id)
    );
    CREATE INDEX words_segment ON words (segment_id, position);

    CREATE TABLE markers (
        id          INTEGER PRIMARY KEY,
        take_id     INTEGER NOT NULL REFERENCES takes (id) ON DELETE CASCADE,
        time_s      REAL NOT NULL,
        label       TEXT NOT NULL DEFAULT ''
    );
    """,
    # 3: sensitive words and extracts.
    """
    CREATE TABLE redactions (
        id          INTEGER PRIMARY KEY,
        session_id  INTEGER REFERENCES sessions (id) ON DELETE CASCADE,
        phrase      TEXT NOT NULL,
        created_at  TEXT NOT NULL
    );
    CREATE UNIQUE INDEX redactions_unique
        ON redactions (IFNULL(session_id, 0), phrase COLLATE NOCASE);

    CREATE TABLE extracts (
        id          INTEGER PRIMARY KEY,
        session_id  INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        take_id     INTEGER NOT NULL REFERENCES takes (id),
        start_s     REAL NOT NULL,
        end_s       REAL NOT NULL,
        title       TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        removed_at  TEXT
    );
    """,
    # 4: voice protection chosen by each participant; secret disguise parameters.
    """
    CREATE TABLE protection (
        participant_id  TEXT PRIMARY KEY REFERENCES participants (id),
        mode            TEXT NOT NULL CHECK (mode IN ('revoice', 'disguise')),
        voice           TEXT,
        updated_at      TEXT NOT NULL
    );

    CREATE TABLE voice_params (
        participant_id  TEXT NOT NULL REFERENCES participants (id),
        mode            TEXT NOT NULL,
        params_json     TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        PRIMARY KEY (participant_id, mode)
    );
    """,
    # 5: episodes.
    """
    CREATE TABLE episodes (
        id          INTEGER PRIMARY KEY,
        guid        TEXT NOT NULL UNIQUE,
        title       TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        number      INTEGER,
        season      INTEGER,
        created_at  TEXT NOT NULL,
        removed_at  TEXT
    );

    CREATE TABLE episode_extracts (
        episode_id  INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
        extract_id  INTEGER NOT NULL REFERENCES extracts (id),
        position    INTEGER NOT NULL,
        PRIMARY KEY (episode_id, extract_id)
    );
    """,
    # 6: the consent ledger's anchor: the signing key's public half and the last signed
    # checkpoint, pinned here so that removing keys/ or checkpoints.jsonl is detected.
    """
    CREATE TABLE consent_anchor (
        id          INTEGER PRIMARY KEY CHECK (id = 1),
        public_key  TEXT NOT NULL,
        count       INTEGER NOT NULL,
        head        TEXT NOT NULL,
        signed_at   TEXT NOT NULL
    );
    """,
    # 7: the language each participant is asked in (NULL: the show's language).
    """
    ALTER TABLE participants ADD COLUMN language TEXT;
    """,
    # 8: which words a person has listened to and checked (per word, so review can go line by
    # line), and the history of transcript changes (CLI and browser alike) for undo.
    """
    ALTER TABLE words ADD COLUMN reviewed_at TEXT;
    UPDATE words SET reviewed_at = (
        SELECT t.reviewed_at FROM transcripts t JOIN segments s ON s.take_id = t.take_id
        WHERE s.id = words.segment_id
    );
    CREATE TABLE transcript_history (
        id          INTEGER PRIMARY KEY,
        session_id  INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        action      TEXT NOT NULL,
        source      TEXT NOT NULL,
        before_json TEXT NOT NULL,
        after_json  TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        undone_at   TEXT
    );
    CREATE INDEX transcript_history_session ON transcript_history (session_id, id);
    """,
    # 9: encrypted backups made (for `doctor`: how old the last one is), and what happened to
    # each take's raw audio when a session was closed (sealed or destroyed) with the audio
    # digests its extracts' fingerprints need afterwards.
    """
    CREATE TABLE backups (
        id          INTEGER PRIMARY KEY,
        made_at     TEXT NOT NULL,
        file_name   TEXT NOT NULL,
        files       INTEGER NOT NULL,
        bytes       INTEGER NOT NULL
    );
    ALTER TABLE sessions ADD COLUMN closed_at TEXT;
    ALTER TABLE takes ADD COLUMN archived TEXT CHECK (archived IN ('sealed', 'destroyed'));
    CREATE TABLE audio_digests (
        take_id     INTEGER NOT NULL REFERENCES takes (id) ON DELETE CASCADE,
        start_frame INTEGER NOT NULL,
        stop_frame  INTEGER NOT NULL,
        sha256      TEXT NOT NULL,
        PRIMARY KEY (take_id, start_frame, stop_frame)
    );
    """,
    # 10: how sure language detection was of each line's language (NULL: given or set by a
    # person); lines below whisper.LANGUAGE_SURE are shown for checking.
    """
    ALTER TABLE segments ADD COLUMN language_p REAL;
    """,
    # 11: a third protection, retell (a synthetic voice with her timing and melody). SQLite
    # cannot change a CHECK constraint in place: the table is rebuilt.
    """
    CREATE TABLE protection_11 (
        participant_id  TEXT PRIMARY KEY REFERENCES participants (id),
        mode            TEXT NOT NULL CHECK (mode IN ('revoice', 'retell', 'disguise')),
        voice           TEXT,
        updated_at      TEXT NOT NULL
    );
    INSERT INTO protection_11 SELECT participant_id, mode, voice, updated_at FROM protection;
    DROP TABLE protection;
    ALTER TABLE protection_11 RENAME TO protection;
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path, *, one_thread: bool = True) -> sqlite3.Connection:
    """Open the state database, migrating it to the current schema.

    *one_thread* False lets a connection be handed over to another thread (never shared).

    Raises WorkspaceError if the file is not a database or was made by a newer version.
    """
    try:
        conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=one_thread)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA secure_delete=ON")  # deleted words are overwritten, not left in free pages
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        if "full" in str(exc):
            raise DiskFullError(
                f"Disk full: the state database {path.name} cannot be opened.",
                hint=f"Free some space on the disk holding {path.parent}, then run it again.",
            ) from None
        raise WorkspaceError(
            f"The state database {path.name} cannot be opened: {exc}.",
            hint="Restore state.db from a backup, or check the disk.",
        ) from exc
    if version > SCHEMA_VERSION:
        conn.close()
        raise WorkspaceError(
            f"The state database has schema version {version}; this program knows {SCHEMA_VERSION}.",
            hint="Upgrade the podcast toolkit to open this workspace.",
        )
    for target in range(version, SCHEMA_VERSION):
        with transaction(conn):
            for statement in _split_sql(MIGRATIONS[target]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {target + 1}")
    return conn


def _split_sql(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
