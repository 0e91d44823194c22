"""Workshop sessions: who took part, in which language, and the takes recorded or imported."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from consent import participants
from consent.participants import Participant
from podcast.clock import now_iso
from podcast.db import transaction
from podcast.errors import InvalidInputError, NotFoundError
from podcast.text import check_title
from podcast.workspace import Workspace

_LANGUAGE = re.compile(r"^(auto|[a-z]{2,3})$")


@dataclass(frozen=True)
class ChannelOwner:
    channel: int  # 1-based, as printed on the audio interface
    participant: Participant | None


@dataclass(frozen=True)
class Take:
    id: int
    session_id: int
    position: int
    origin: str
    relpath: str
    channels: int
    sample_rate_hz: int
    frames: int
    state: str
    owners: tuple[ChannelOwner, ...]
    archived: str | None = None  # "sealed" or "destroyed" once the session is closed

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate_hz if self.sample_rate_hz else 0.0


@dataclass(frozen=True)
class Session:
    id: int
    title: str
    language: str
    created_at: str
    participants: tuple[Participant, ...]
    facilitator: Participant | None
    takes: tuple[Take, ...]
    closed_at: str | None = None  # raw takes sealed or destroyed (`session close`)

    @property
    def duration_s(self) -> float:
        return sum(t.duration_s for t in self.takes)

    @property
    def speakers(self) -> tuple[Participant, ...]:
        """Everyone who may speak in it: its participants, then its facilitator."""
        return self.participants + ((self.facilitator,) if self.facilitator else ())


def create(
    ws: Workspace,
    title: str,
    participant_names: list[str],
    *,
    facilitator: str | None = None,
    language: str = "auto",
) -> Session:
    """Create a session. Participants must already exist and not be retired."""
    clean_title = check_title(title, what="session title")
    if not participant_names:
        raise InvalidInputError(
            "A session needs at least one participant.",
            hint="Pass --participant NAME once per person.",
        )
    if not _LANGUAGE.match(language):
        raise InvalidInputError(
            f"Unknown language {language!r}.",
            hint="Use 'auto' or an ISO 639 code such as en or fr.",
        )
    members: list[Participant] = []
    for name in participant_names:
        person = participants.get(ws, name)
        if person.retired:
            raise InvalidInputError(f"{person.pseudonym} is retired.", hint="Choose an active participant.")
        if person.id in {m.id for m in members}:
            raise InvalidInputError(f"{person.pseudonym} is listed twice.", hint="Name each person once.")
        members.append(person)
    lead = participants.get(ws, facilitator) if facilitator else None
    if lead is not None and lead.id in {m.id for m in members}:
        raise InvalidInputError(
            f"{lead.pseudonym} cannot be both facilitator and participant.",
            hint="A facilitator who also speaks should be listed as a participant.",
        )
    with transaction(ws.conn):
        cursor = ws.conn.execute(
            "INSERT INTO sessions (title, language, created_at) VALUES (?, ?, ?)",
            (clean_title, language, now_iso()),
        )
        session_id = int(cursor.lastrowid or 0)
        for position, person in enumerate(members):
            ws.conn.execute(
                "INSERT INTO session_members VALUES (?, ?, 'participant', ?)",
                (session_id, person.id, position),
            )
        if lead is not None:
            ws.conn.execute(
                "INSERT INTO session_members VALUES (?, ?, 'facilitator', ?)",
                (session_id, lead.id, len(members)),
            )
    return get(ws, session_id)


def _takes(ws: Workspace, session_id: int) -> tuple[Take, ...]:
    takes = []
    for row in ws.conn.execute(
        "SELECT * FROM takes WHERE session_id = ? ORDER BY position", (session_id,)
    ).fetchall():
        owners = tuple(
            ChannelOwner(
                r["channel"],
                participants.get_by_id(ws, r["participant_id"]) if r["participant_id"] else None,
            )
            for r in ws.conn.execute(
                "SELECT * FROM take_channels WHERE take_id = ? ORDER BY channel", (row["id"],)
            )
        )
        takes.append(
            Take(
                row["id"],
                session_id,
                row["position"],
                row["origin"],
                row["relpath"],
                row["channels"],
                row["sample_rate_hz"],
                row["frames"],
                row["state"],
                owners,
                row["archived"],
            )
        )
    return tuple(takes)


def get(ws: Workspace, session_id: int) -> Session:
    """Load a session with its members and takes, or raise NotFoundError."""
    row = ws.conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise NotFoundError(
            f"There is no session {session_id}.", hint="See 'podcast session list' for the IDs."
        )
    members = ws.conn.execute(
        "SELECT participant_id, role FROM session_members WHERE session_id = ? ORDER BY position",
        (session_id,),
    ).fetchall()
    people = tuple(
        participants.get_by_id(ws, m["participant_id"]) for m in members if m["role"] == "participant"
    )
    leads = [participants.get_by_id(ws, m["participant_id"]) for m in members if m["role"] == "facilitator"]
    return Session(
        row["id"],
        row["title"],
        row["language"],
        row["created_at"],
        people,
        leads[0] if leads else None,
        _takes(ws, session_id),
        row["closed_at"],
    )


def list_all(ws: Workspace) -> list[Session]:
    ids = [r["id"] for r in ws.conn.execute("SELECT id FROM sessions ORDER BY id").fetchall()]
    return [get(ws, i) for i in ids]


def raw_path(ws: Workspace, take: Take) -> Path:
    """Where a take's raw audio is; raises NotFoundError once its session was closed."""
    if take.archived == "sealed":
        raise NotFoundError(
            f"Take {take.position} of session {take.session_id} is sealed (its session is closed).",
            hint=f"Open it with the paper key: podcast session unseal {take.session_id} --identity KEYFILE",
        )
    if take.archived == "destroyed":
        raise NotFoundError(
            f"Take {take.position} of session {take.session_id} was destroyed when its session was closed.",
            hint="Only what was cleared and rendered remains; a new recording is needed for anything else.",
        )
    return ws.absolute(take.relpath)


def require_open(ws: Workspace, session_id: int) -> Session:
    """The session, if it is not closed: a closed session's transcript and extracts stay as
    they were agreed (its raw takes are sealed or gone, so nothing could be rendered again)."""
    session = get(ws, session_id)
    if session.closed_at:
        raise InvalidInputError(
            f"Session {session_id} is closed: its transcript and extracts can no longer change.",
            hint=f"Open it again with the paper key: podcast session unseal {session_id} --identity KEYFILE",
        )
    return session
