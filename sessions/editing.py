"""Line by line changes to a transcript, as the browser workbench makes them.

Each change is one transaction and one history entry (undo is `history.undo`), and is
checked against the line's revision the page last saw: if the line changed since (another
tab, the command line), the change is refused with the line as it is now, never applied
over someone else's edit.

A line is a run of one speaker's words inside one segment (`transcripts.Utterance`), named
by its first word's ID (its stable number). Timings are never typed: edited words keep the
old word timings (`transcripts.realign`).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from podcast.db import transaction
from podcast.errors import ConflictError, InvalidInputError, NotFoundError
from podcast.text import check_line_text
from podcast.workspace import Workspace
from sessions import channels, history, importer, sessions, transcripts
from sessions.transcripts import Transcript, Utterance

_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def revision(utterance: Utterance) -> str:
    """A short digest of what a line is now: its words, speaker and language."""
    data = [utterance.speaker_id, utterance.language, [[w.id, w.text] for w in utterance.words]]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:16]


class LineChanged(ConflictError):
    """The line changed since the page showed it; carries the line as it is now."""

    def __init__(self, current: Utterance | None) -> None:
        super().__init__(
            "Someone else changed this line in the meantime; nothing was saved.",
            hint="Look at the line as it is now, then make your change again.",
        )
        self.current = current


def _line(transcript: Transcript, key: int, base: str | None) -> Utterance:
    line = next((u for u in transcript.utterances if u.key == key), None)
    if line is None:
        if base is not None:
            raise LineChanged(None)
        raise NotFoundError(f"Line {key} does not exist.", hint="Reload the transcript.")
    if base is not None and revision(line) != base:
        raise LineChanged(line)
    return line


def _speaker(ws: Workspace, session_id: int, name_or_id: str | None) -> str | None:
    """A speaker given by pseudonym or ID: the session's participants or its facilitator."""
    if name_or_id is None or name_or_id.casefold() == transcripts.UNKNOWN:
        return None
    people = sessions.get(ws, session_id).speakers
    for person in people:
        if name_or_id in (person.id,) or name_or_id.casefold() == person.pseudonym.casefold():
            return person.id
    raise InvalidInputError(
        f"{name_or_id!r} is not in session {session_id}.",
        hint="Choose one of: " + ", ".join(p.pseudonym for p in people) + ", unknown.",
    )


def set_text(
    ws: Workspace, session_id: int, key: int, text: str, *, base: str | None = None, source: str = "room"
) -> None:
    """Replace a line's words (timings kept); an empty text deletes the line."""
    clean = check_line_text(text, where=f"Line {key}")
    with transaction(ws.conn):
        sessions.require_open(ws, session_id)
        transcript = transcripts.require_transcript(ws, session_id)
        line = _line(transcript, key, base)
        with history.recording(ws, session_id, "text", source, {line.segment_id}):
            transcripts._replace_words(ws, line, clean.split(), line.speaker_id)


def set_speaker(
    ws: Workspace,
    session_id: int,
    key: int,
    speaker: str | None,
    *,
    base: str | None = None,
    source: str = "room",
) -> None:
    """Give a line to another of the session's people (facilitator included) or 'unknown'."""
    speaker_id = _speaker(ws, session_id, speaker)
    with transaction(ws.conn):
        sessions.require_open(ws, session_id)
        transcript = transcripts.require_transcript(ws, session_id)
        line = _line(transcript, key, base)
        with history.recording(ws, session_id, "speaker", source, {line.segment_id}):
            ws.conn.executemany(
                "UPDATE words SET participant_id = ? WHERE id = ?", [(speaker_id, w.id) for w in line.words]
            )


def _split_segment(ws: Workspace, segment_id: int, word_id: int) -> int:
    """Move the words from *word_id* on into a new segment; returns the new segment's ID."""
    segment = ws.conn.execute("SELECT * FROM segments WHERE id = ?", (segment_id,)).fetchone()
    words = ws.conn.execute(
        "SELECT id, start_s, end_s FROM words WHERE segment_id = ? ORDER BY position, id", (segment_id,)
    ).fetchall()
    at = next(i for i, w in enumerate(words) if w["id"] == word_id)
    moved, kept = words[at:], words[:at]
    cursor = ws.conn.execute(
        "INSERT INTO segments (take_id, chunk, start_s, end_s, language, language_p) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            segment["take_id"],
            segment["chunk"],
            moved[0]["start_s"],
            segment["end_s"],
            segment["language"],
            segment["language_p"],
        ),
    )
    new_id = int(cursor.lastrowid or 0)
    ws.conn.executemany(
        "UPDATE words SET segment_id = ?, position = ? WHERE id = ?",
        [(new_id, i, w["id"]) for i, w in enumerate(moved)],
    )
    ws.conn.execute("UPDATE segments SET end_s = ? WHERE id = ?", (kept[-1]["end_s"], segment_id))
    return new_id


def _segment_word_ids(ws: Workspace, segment_id: int) -> list[int]:
    return [
        r[0]
        for r in ws.conn.execute(
            "SELECT id FROM words WHERE segment_id = ? ORDER BY position, id", (segment_id,)
        ).fetchall()
    ]


def split(
    ws: Workspace,
    session_id: int,
    key: int,
    word_id: int,
    *,
    base: str | None = None,
    source: str = "room",
) -> int:
    """Split a line before one of its words; returns the new line's number (that word's ID)."""
    with transaction(ws.conn):
        sessions.require_open(ws, session_id)
        transcript = transcripts.require_transcript(ws, session_id)
        line = _line(transcript, key, base)
        ids = [w.id for w in line.words]
        if word_id not in ids or word_id == ids[0]:
            raise InvalidInputError(
                "A line can only be split before one of its own words, not its first.",
                hint="Click the word that should start the new line.",
            )
        with history.recording(ws, session_id, "split", source, {line.segment_id}) as touched:
            touched.add(_split_segment(ws, line.segment_id, word_id))
    return word_id


def merge(
    ws: Workspace,
    session_id: int,
    key: int,
    next_key: int,
    *,
    base: str | None = None,
    next_base: str | None = None,
    source: str = "room",
) -> None:
    """Join a line with the line that follows it; the joined line keeps the first one's
    speaker and language."""
    with transaction(ws.conn):
        sessions.require_open(ws, session_id)
        transcript = transcripts.require_transcript(ws, session_id)
        first = _line(transcript, key, base)
        second = _line(transcript, next_key, next_base)
        order = [u.key for u in transcript.utterances]
        if order.index(next_key) != order.index(key) + 1:
            raise InvalidInputError(
                "Only a line and the one just after it can be joined.", hint="Reload the page."
            )
        if first.take_position != second.take_position:
            raise InvalidInputError("Lines of two different takes cannot be joined.", hint="Keep them apart.")
        touched = {first.segment_id, second.segment_id}
        with history.recording(ws, session_id, "merge", source, touched) as touched:
            if first.segment_id != second.segment_id:
                ids = _segment_word_ids(ws, first.segment_id)
                if ids[-1] != first.words[-1].id:  # other words follow the first line: split them off
                    touched.add(_split_segment(ws, first.segment_id, ids[ids.index(first.words[-1].id) + 1]))
                top = ws.conn.execute(
                    "SELECT MAX(position) FROM words WHERE segment_id = ?", (first.segment_id,)
                ).fetchone()[0]
                ws.conn.executemany(
                    "UPDATE words SET segment_id = ?, position = ? WHERE id = ?",
                    [(first.segment_id, top + 1 + i, w.id) for i, w in enumerate(second.words)],
                )
                _fit_segment(ws, first.segment_id)
                _fit_segment(ws, second.segment_id)
            ws.conn.executemany(
                "UPDATE words SET participant_id = ? WHERE id = ?",
                [(first.speaker_id, w.id) for w in second.words],
            )


def _fit_segment(ws: Workspace, segment_id: int) -> None:
    """Make a segment's times span its words again (or drop it if it has none left)."""
    row = ws.conn.execute(
        "SELECT MIN(start_s), MAX(end_s), COUNT(*) FROM words WHERE segment_id = ?", (segment_id,)
    ).fetchone()
    if row[2] == 0:
        ws.conn.execute("DELETE FROM segments WHERE id = ?", (segment_id,))
    else:
        ws.conn.execute(
            "UPDATE segments SET start_s = ?, end_s = ? WHERE id = ?", (row[0], row[1], segment_id)
        )


def set_language(
    ws: Workspace,
    session_id: int,
    key: int,
    language: str,
    *,
    base: str | None = None,
    source: str = "room",
) -> None:
    """Tag a line with the language it is spoken in (the line becomes its own segment)."""
    code = language.strip().lower()
    if not _LANGUAGE.match(code):
        raise InvalidInputError(
            f"{language!r} is not a language code.",
            hint="Use a code such as en, fr or pcm (Nigerian Pidgin).",
        )
    with transaction(ws.conn):
        sessions.require_open(ws, session_id)
        transcript = transcripts.require_transcript(ws, session_id)
        line = _line(transcript, key, base)
        with history.recording(ws, session_id, "language", source, {line.segment_id}) as touched:
            segment_id = line.segment_id
            ids = _segment_word_ids(ws, segment_id)
            if ids[0] != line.words[0].id:
                segment_id = _split_segment(ws, segment_id, line.words[0].id)
                touched.add(segment_id)
            ids = _segment_word_ids(ws, segment_id)
            if ids[-1] != line.words[-1].id:
                touched.add(_split_segment(ws, segment_id, ids[ids.index(line.words[-1].id) + 1]))
            # A person said which language it is: it is no longer uncertain.
            ws.conn.execute(
                "UPDATE segments SET language = ?, language_p = NULL WHERE id = ?", (code, segment_id)
            )


@dataclass(frozen=True)
class Remapped:
    take_position: int
    channel: int
    speaker: str  # pseudonym or "unknown"
    words_moved: int


def remap_channels(
    ws: Workspace, session_id: int, mapping: dict[int, str], *, take: int | None = None, source: str = "cli"
) -> list[Remapped]:
    """Say again who speaks on which channel (facilitator included), after import or recording.

    Transcribed words that were given to a channel's old owner move to the new one when that
    channel is the loudest during the word (as transcription decides); words someone gave to
    another person by hand stay hers. One history entry per take, so it can be undone.
    """
    session = sessions.require_open(ws, session_id)
    takes = [t for t in session.takes if take is None or t.position == take]
    if not takes:
        raise NotFoundError(
            f"Session {session_id} has no take {take}.", hint=f"See: podcast session show {session_id}"
        )
    done: list[Remapped] = []
    for item in takes:
        owners = importer.resolve_owners(session, item.channels, mapping)
        old = {o.channel: (o.participant.id if o.participant else None) for o in item.owners}
        changed = {c: owners[c] for c in mapping if old.get(c) != owners[c]}
        if not changed:
            continue
        segment_ids = {
            r[0] for r in ws.conn.execute("SELECT id FROM segments WHERE take_id = ?", (item.id,)).fetchall()
        }
        rows = ws.conn.execute(
            "SELECT id, start_s, end_s, participant_id FROM words WHERE segment_id IN "
            "(SELECT id FROM segments WHERE take_id = ?)",
            (item.id,),
        ).fetchall()
        moves: dict[int, list[int]] = {c: [] for c in changed}
        if rows:
            energy = channels.energy_map(sessions.raw_path(ws, item))
            for row in rows:
                loudest = energy.loudest(row["start_s"], row["end_s"])
                channel = None if loudest is None else loudest + 1
                if channel in changed and row["participant_id"] == old.get(channel):
                    moves[channel].append(row["id"])
        with transaction(ws.conn), history.recording(ws, session_id, "map", source, segment_ids):
            for channel, person in changed.items():
                ws.conn.execute(
                    "INSERT OR REPLACE INTO take_channels VALUES (?, ?, ?)", (item.id, channel, person)
                )
                ws.conn.executemany(
                    "UPDATE words SET participant_id = ? WHERE id = ?", [(person, w) for w in moves[channel]]
                )
        names = {p.id: p.pseudonym for p in session.speakers}
        done += [
            Remapped(item.position, c, names.get(p or "", transcripts.UNKNOWN), len(moves[c]))
            for c, p in changed.items()
        ]
    return done
