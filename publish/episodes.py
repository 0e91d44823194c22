"""Episodes: an ordered list of extracts, with a title and a stable guid."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from podcast.clock import now_iso
from podcast.db import transaction
from podcast.errors import InvalidInputError, NotFoundError
from podcast.text import check_paragraph, check_title
from podcast.workspace import Workspace
from sessions import extracts
from sessions.extracts import Extract


@dataclass(frozen=True)
class Episode:
    id: int
    guid: str
    title: str
    description: str
    number: int | None
    season: int | None
    created_at: str
    extracts: tuple[Extract, ...]


def create(
    ws: Workspace,
    title: str,
    extract_ids: list[int],
    *,
    description: str = "",
    number: int | None = None,
    season: int | None = None,
) -> Episode:
    """Create an episode from extracts, in the order given."""
    clean_title = check_title(title, what="episode title")
    clean_description = check_paragraph(description, what="episode description", max_bytes=4000)
    if not extract_ids:
        raise InvalidInputError("An episode needs at least one extract.", hint="Pass --extract ID (repeat).")
    if len(set(extract_ids)) != len(extract_ids):
        raise InvalidInputError("An extract is listed twice.", hint="List each extract once.")
    for extract_id in extract_ids:
        extracts.get(ws, extract_id)
    for value, what in ((number, "number"), (season, "season")):
        if value is not None and value < 1:
            raise InvalidInputError(f"The episode {what} must be 1 or more.", hint=f"Check --{what}.")
    with transaction(ws.conn):
        cursor = ws.conn.execute(
            "INSERT INTO episodes (guid, title, description, number, season, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (str(uuid.uuid4()), clean_title, clean_description, number, season, now_iso()),
        )
        episode_id = int(cursor.lastrowid or 0)
        ws.conn.executemany(
            "INSERT INTO episode_extracts VALUES (?, ?, ?)",
            [(episode_id, extract_id, position) for position, extract_id in enumerate(extract_ids)],
        )
    return get(ws, episode_id)


def get(ws: Workspace, episode_id: int) -> Episode:
    row = ws.conn.execute(
        "SELECT * FROM episodes WHERE id = ? AND removed_at IS NULL", (episode_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"There is no episode {episode_id}.", hint="See 'podcast episode list'.")
    items = []
    for link in ws.conn.execute(
        "SELECT extract_id FROM episode_extracts WHERE episode_id = ? ORDER BY position", (episode_id,)
    ):
        try:
            items.append(extracts.get(ws, link[0]))
        except NotFoundError:
            continue  # a removed extract simply leaves the episode
    return Episode(
        row["id"],
        row["guid"],
        row["title"],
        row["description"],
        row["number"],
        row["season"],
        row["created_at"],
        tuple(items),
    )


def list_all(ws: Workspace) -> list[Episode]:
    return [
        get(ws, r[0]) for r in ws.conn.execute("SELECT id FROM episodes WHERE removed_at IS NULL ORDER BY id")
    ]


def remove(ws: Workspace, episode_id: int) -> Episode:
    episode = get(ws, episode_id)
    ws.conn.execute("UPDATE episodes SET removed_at = ? WHERE id = ?", (now_iso(), episode_id))
    return episode
