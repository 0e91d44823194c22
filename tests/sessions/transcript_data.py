"""A small transcript written straight into the database (for edit/export tests)."""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from consent import decisions, participants
from podcast.workspace import Workspace
from sessions import extracts, importer, sessions
from tests.conftest import multichannel_tones

LINES = (
    ("Amara", 0.5, "Welcome everybody to the workshop"),
    ("Blessing", 3.0, "I arrived in Paris three years ago"),
    ("Amara", 6.0, "Thank you Blessing"),
)


def make_transcribed_session(ws: Workspace, tmp_path: Path) -> int:
    for name in ("Amara", "Blessing"):
        participants.add(ws, name)
    session = sessions.create(ws, "Edit me", ["Amara", "Blessing"])
    source = tmp_path / "two.wav"
    sf.write(str(source), multichannel_tones(2, 8.0), 48_000)
    (take,) = importer.import_files(ws, session.id, [source])
    ids = {p.pseudonym: p.id for p in participants.list_all(ws)}
    conn = ws.conn
    conn.execute(
        "INSERT INTO transcripts (take_id, model, language_option, chunks_json, chunks_done, "
        "status, updated_at) VALUES (?, 'base', 'auto', '[]', 0, 'done', 'now')",
        (take.id,),
    )
    for chunk, (speaker, start, text) in enumerate(LINES):
        words = text.split()
        end = start + 0.4 * len(words)
        segment = conn.execute(
            "INSERT INTO segments (take_id, chunk, start_s, end_s, language) VALUES (?, ?, ?, ?, 'en')",
            (take.id, chunk, start, end),
        ).lastrowid
        for i, word in enumerate(words):
            conn.execute(
                "INSERT INTO words (segment_id, position, start_s, end_s, text, probability, "
                "participant_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    segment,
                    i,
                    start + 0.4 * i,
                    start + 0.4 * i + 0.3,
                    word,
                    0.3 if word == "Paris" else 0.9,
                    ids[speaker],
                ),
            )
    return session.id


def everyone_agrees(ws: Workspace, extract: extracts.Extract) -> None:
    """Every participant says yes to the extract as it is now (in the room, in English)."""
    status = decisions.status(ws, extract)
    for person in status.people:
        decisions.record(
            ws,
            extract.id,
            person,
            "grant",
            witness=person,
            method="in_room",
            language="en",
            heard=status.fingerprint,
        )
    assert set(decisions.status(ws, extract).states.values()) == {"yes"}
