"""`session map`: who speaks on which channel, said again after import, facilitator included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
from typer.testing import CliRunner

from consent import participants
from podcast.cli import app
from podcast.workspace import Workspace
from sessions import history, importer, sessions, transcripts
from tests.conftest import tone

RATE = 16_000


def _session(ws: Workspace, tmp_path: Path) -> int:
    """Three microphones: Fatou (facilitator) loud on channel 3 for 0-3 s, Amara on 1 for 3-6 s."""
    for name in ("Amara", "Blessing", "Fatou"):
        participants.add(ws, name)
    session = sessions.create(ws, "Map me", ["Amara", "Blessing"], facilitator="Fatou")
    audio = np.zeros((6 * RATE, 3), dtype=np.float32)
    audio[: 3 * RATE, 2] = tone(300, 3.0, RATE)
    audio[3 * RATE :, 0] = tone(500, 3.0, RATE)
    audio[:, 1] = 0.001 * tone(700, 6.0, RATE)
    path = tmp_path / "three.wav"
    sf.write(str(path), audio, RATE)
    (take,) = importer.import_files(ws, session.id, [path], channel_map={1: "Amara", 2: "Blessing"})
    ws.conn.execute(
        "INSERT INTO transcripts (take_id, model, language_option, chunks_json, chunks_done, status, "
        "updated_at) VALUES (?, 'base', 'auto', '[]', 0, 'done', 'now')",
        (take.id,),
    )
    amara = participants.get(ws, "Amara").id
    for chunk, (start, speaker, text) in enumerate([(0.5, None, "welcome all"), (3.5, amara, "thank you")]):
        segment = ws.conn.execute(
            "INSERT INTO segments (take_id, chunk, start_s, end_s, language) VALUES (?, ?, ?, ?, 'en')",
            (take.id, chunk, start, start + 1.0),
        ).lastrowid
        for i, word in enumerate(text.split()):
            ws.conn.execute(
                "INSERT INTO words (segment_id, position, start_s, end_s, text, probability, participant_id) "
                "VALUES (?, ?, ?, ?, ?, 0.9, ?)",
                (segment, i, start + 0.5 * i, start + 0.5 * i + 0.4, word, speaker),
            )
    return session.id


def test_import_accepts_the_facilitator_in_the_channel_map(ws: Workspace, tmp_path: Path) -> None:
    session_id = _session(ws, tmp_path)
    path = tmp_path / "again.wav"
    sf.write(str(path), 0.1 * np.ones((RATE, 3), dtype=np.float32) * np.array([1, 2, 3]), RATE)
    (take,) = importer.import_files(ws, session_id, [path], channel_map={3: "Fatou"})
    assert [o.participant.pseudonym if o.participant else None for o in take.owners] == [None, None, "Fatou"]


def test_map_moves_the_channel_and_its_words_then_undo_puts_them_back(
    runner: CliRunner, ws: Workspace, tmp_path: Path
) -> None:
    session_id = _session(ws, tmp_path)
    assert [u.speaker for u in transcripts.load(ws, session_id).utterances] == ["unknown", "Amara"]
    w = ["-w", str(ws.root)]
    result = runner.invoke(app, [*w, "session", "map", str(session_id), "3=Fatou"])
    assert result.exit_code == 0, result.output
    assert "channel 3: Fatou (2 transcribed word(s) moved)" in result.output
    assert [u.speaker for u in transcripts.load(ws, session_id).utterances] == ["Fatou", "Amara"]
    shown = runner.invoke(app, [*w, "session", "show", str(session_id)]).output
    assert "3=Fatou" in shown
    again = runner.invoke(app, [*w, "session", "map", str(session_id), "3=Fatou"])
    assert again.exit_code == 0 and "Nothing changed" in again.output
    # Amara's channel given to Blessing: Amara's transcribed words move with it.
    runner.invoke(app, [*w, "session", "map", str(session_id), "1=Blessing"])
    assert [u.speaker for u in transcripts.load(ws, session_id).utterances] == ["Fatou", "Blessing"]
    history.undo(ws, session_id)
    history.undo(ws, session_id)
    assert [u.speaker for u in transcripts.load(ws, session_id).utterances] == ["unknown", "Amara"]


def test_map_refuses_strangers_and_missing_channels(runner: CliRunner, ws: Workspace, tmp_path: Path) -> None:
    session_id = _session(ws, tmp_path)
    participants.add(ws, "Stranger")
    w = ["-w", str(ws.root)]
    stranger = runner.invoke(app, [*w, "session", "map", str(session_id), "3=Stranger"])
    assert stranger.exit_code != 0 and "not in session" in stranger.output and "Fatou" in stranger.output
    missing = runner.invoke(app, [*w, "session", "map", str(session_id), "9=Fatou"])
    assert missing.exit_code != 0 and "has 3" in missing.output
    assert [u.speaker for u in transcripts.load(ws, session_id).utterances] == ["unknown", "Amara"]
