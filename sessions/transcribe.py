"""Transcribe a session's takes locally, resumably, with speakers from microphone channels.

Each take is mixed to mono and transcribed once (not once per channel); each word is then
given to the participant whose channel is loudest at that moment. Work is saved after every
batch of chunks, so an interrupted run continues where it stopped with the same result.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from podcast.clock import now_iso
from podcast.db import transaction
from podcast.errors import InvalidInputError
from podcast.models import BUNDLED, ModelStore
from podcast.workspace import Workspace
from sessions import channels, sessions, whisper
from sessions.sessions import Take

log = logging.getLogger(__name__)

ProgressFn = Callable[[float, float], None]
LOW_CONFIDENCE = 0.5


@dataclass(frozen=True)
class TranscribeOptions:
    model: str = BUNDLED
    language: str | None = None  # None: the session's language ('auto' = detect per chunk)
    device: str = "cpu"
    compute_type: str = "int8"
    batch_size: int = 2  # as fast as 4 or 8 on 2 cores, and peak RSS stays under 700 MiB
    cpu_threads: int = 0
    spoken_languages: tuple[str, ...] = ()  # detection chooses among these ('auto' mode)


@dataclass(frozen=True)
class TranscribeResult:
    session_id: int
    takes_transcribed: int
    takes_skipped: int
    resumed: bool
    words: int
    low_confidence_words: int
    languages: dict[str, int] = field(default_factory=dict)
    audio_s: float = 0.0


def _language_option(ws: Workspace, session_id: int, requested: str | None) -> str:
    language = requested or sessions.get(ws, session_id).language
    if language != "auto" and (not language.isalpha() or len(language) not in (2, 3)):
        raise InvalidInputError(f"Unknown language {language!r}.", hint="Use auto, en, fr, ...")
    return language


def transcribe_session(
    ws: Workspace,
    session_id: int,
    store: ModelStore,
    options: TranscribeOptions = TranscribeOptions(),
    *,
    on_progress: ProgressFn | None = None,
    stop_after_batches: int | None = None,
) -> TranscribeResult:
    """Transcribe every take of a session that is not transcribed yet with these settings.

    Progress is reported in seconds of audio. *stop_after_batches* interrupts the run
    (as a crash would) after that many batches; used by tests of resuming.
    """
    session = sessions.get(ws, session_id)
    if not session.takes:
        raise InvalidInputError(
            f"Session {session_id} has no audio yet.",
            hint=f"Record or import a take first: podcast session import {session_id} FILE",
        )
    language = _language_option(ws, session_id, options.language)
    model = store.ready(options.model)
    recogniser: whisper.Recogniser | None = None
    total_s = session.duration_s
    done_s = 0.0
    transcribed = skipped = 0
    resumed = False
    batches = 0
    for take in session.takes:
        row = ws.conn.execute("SELECT * FROM transcripts WHERE take_id = ?", (take.id,)).fetchone()
        same = row is not None and row["model"] == model.name and row["language_option"] == language
        if same and row["status"] == "done":
            skipped += 1
            done_s += take.duration_s
            continue
        if recogniser is None:
            recogniser = whisper.Recogniser(
                model.path,
                device=options.device,
                compute_type=options.compute_type,
                cpu_threads=options.cpu_threads,
                batch_size=options.batch_size,
                allowed_languages=options.spoken_languages,
            )
        path = ws.absolute(take.relpath)
        audio = whisper.load_audio(path)
        energies = channels.energy_map(path) if take.channels > 1 else None
        if same:
            chunks = [
                whisper.Chunk(c[0], c[1], tuple(tuple(t) for t in c[2]))
                for c in json.loads(row["chunks_json"])
            ]
            first = int(row["chunks_done"])
            resumed = resumed or first > 0
        else:
            chunks = whisper.plan_chunks(audio, energies.loudest if energies else None)
            first = 0
            with transaction(ws.conn):
                ws.conn.execute("DELETE FROM segments WHERE take_id = ?", (take.id,))
                ws.conn.execute(
                    "INSERT OR REPLACE INTO transcripts (take_id, model, language_option, "
                    "chunks_json, "
                    "chunks_done, status, updated_at) VALUES (?, ?, ?, ?, 0, 'running', ?)",
                    (
                        take.id,
                        model.name,
                        language,
                        json.dumps([[c.start_s, c.end_s, c.turns] for c in chunks]),
                        now_iso(),
                    ),
                )
        owners = {o.channel - 1: (o.participant.id if o.participant else None) for o in take.owners}
        log.info("take %d: %d chunks, starting at chunk %d", take.id, len(chunks), first)
        for index in range(first, len(chunks), options.batch_size):
            if stop_after_batches is not None and batches >= stop_after_batches:
                raise KeyboardInterrupt("stopped on request")
            batch = chunks[index : index + options.batch_size]
            results = recogniser.transcribe_batch(audio, batch, None if language == "auto" else language)
            _save_batch(ws, take, index, results, energies, owners, index + len(batch))
            batches += 1
            if on_progress:
                on_progress(min(total_s, done_s + batch[-1].end_s), total_s)
        ws.conn.execute(
            "UPDATE transcripts SET status = 'done', updated_at = ? WHERE take_id = ?",
            (now_iso(), take.id),
        )
        transcribed += 1
        done_s += take.duration_s
        if on_progress:
            on_progress(done_s, total_s)
    stats = ws.conn.execute(
        "SELECT count(*), sum(w.probability < ?) FROM words w "
        "JOIN segments s ON s.id = w.segment_id "
        "JOIN takes t ON t.id = s.take_id WHERE t.session_id = ?",
        (LOW_CONFIDENCE, session_id),
    ).fetchone()
    languages = {
        r[0]: r[1]
        for r in ws.conn.execute(
            "SELECT s.language, count(*) FROM segments s JOIN takes t ON t.id = s.take_id "
            "WHERE t.session_id = ? GROUP BY s.language ORDER BY count(*) DESC",
            (session_id,),
        )
    }
    return TranscribeResult(
        session_id,
        transcribed,
        skipped,
        resumed,
        int(stats[0] or 0),
        int(stats[1] or 0),
        languages,
        total_s,
    )


def _save_batch(
    ws: Workspace,
    take: Take,
    first_chunk: int,
    results: list[list[whisper.SegmentResult]],
    energies: channels.EnergyMap | None,
    owners: dict[int, str | None],
    chunks_done: int,
) -> None:
    with transaction(ws.conn):
        for offset, segments in enumerate(results):
            for segment in segments:
                cursor = ws.conn.execute(
                    "INSERT INTO segments (take_id, chunk, start_s, end_s, language) VALUES (?, ?, ?, ?, ?)",
                    (
                        take.id,
                        first_chunk + offset,
                        segment.start_s,
                        segment.end_s,
                        segment.language,
                    ),
                )
                rows = []
                for position, word in enumerate(segment.words):
                    channel = energies.loudest(word.start_s, word.end_s) if energies else None
                    owner = owners.get(channel) if channel is not None else None
                    if energies is None and len(owners) == 1:
                        owner = owners.get(0)
                    rows.append(
                        (
                            cursor.lastrowid,
                            position,
                            word.start_s,
                            word.end_s,
                            word.text,
                            word.probability,
                            owner,
                        )
                    )
                ws.conn.executemany(
                    "INSERT INTO words (segment_id, position, start_s, end_s, text, probability, "
                    "participant_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
        ws.conn.execute(
            "UPDATE transcripts SET chunks_done = ?, updated_at = ? WHERE take_id = ?",
            (chunks_done, now_iso(), take.id),
        )
