"""Transcribe a session's takes locally, resumably, with speakers from microphone channels.

Each take is mixed to mono and transcribed once (not once per channel); each word is then
given to the participant whose channel is loudest at that moment. Work is saved after every
batch of chunks, so an interrupted run continues where it stopped with the same result.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
import sqlite3
from collections import deque
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from podcast.clock import now_iso
from podcast.db import transaction
from podcast.errors import InvalidInputError
from podcast.fsutil import disk_space
from podcast.models import BUNDLED, ModelStore
from podcast.workspace import Workspace
from sessions import channels, levels, sessions, whisper
from sessions.sessions import Take

log = logging.getLogger(__name__)

ProgressFn = Callable[[float, float], None]
LOW_CONFIDENCE = 0.5
# A take is read, planned and decoded ten minutes at a time (read a minute further, so that
# speech crossing a window's end stays whole): memory holds one window, whatever the length.
WINDOW_S = 600.0
WINDOW_MARGIN_S = 60.0


def default_workers() -> int:
    """Two decodings at once when there are two cores or more: beam search alone keeps about
    1.3 of 2 cores busy, two workers keep both busy (measured: 7 % faster on 2 cores)."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1


@dataclass(frozen=True)
class TranscribeOptions:
    model: str = BUNDLED
    language: str | None = None  # None: the session's language ('auto' = detect per chunk)
    device: str = "cpu"
    compute_type: str = "int8"
    # Chunks per decoding call; None: 1 with several workers (more is no faster and uses more
    # memory), 2 with one worker alone (it keeps both cores busier; measured).
    batch_size: int | None = None
    cpu_threads: int = 0  # per worker; 0: the cores shared between the workers
    workers: int = field(default_factory=default_workers)  # decodings at once
    spoken_languages: tuple[str, ...] = ()  # detection chooses among these ('auto' mode)
    # Common Nigerian Pidgin words and spellings, given to the recogniser before English
    # speech when Pidgin ("pcm") is among the spoken languages.
    pidgin_words: tuple[str, ...] = ()

    @property
    def prompts(self) -> dict[str, str]:
        if "pcm" in self.spoken_languages and self.pidgin_words:
            return {"en": " ".join(self.pidgin_words)}
        return {}

    @property
    def chunks_per_call(self) -> int:
        return self.batch_size or (1 if self.workers > 1 else 2)


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
    uncertain_lines: int = 0  # segments whose language detection was unsure


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
    # Words and segments go into state.db (WAL included): a few hundred bytes per second.
    needed = int(total_s * 400) + 2_000_000
    with disk_space(ws.root, needed, "transcribing"):
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
                    allowed_languages=options.spoken_languages,
                    workers=options.workers,
                    prompts=options.prompts,
                )
            path = sessions.raw_path(ws, take)
            plan = _saved_plan(row) if same else None
            if plan is not None:
                chunks, planned_until, window_start = plan
                first = int(row["chunks_done"])
                resumed = resumed or first > 0
            else:
                chunks, planned_until, first, window_start = [], 0.0, 0, 0.0
                with transaction(ws.conn):
                    ws.conn.execute("DELETE FROM segments WHERE take_id = ?", (take.id,))
                    ws.conn.execute(
                        "INSERT OR REPLACE INTO transcripts (take_id, model, language_option, "
                        "chunks_json, "
                        "chunks_done, status, updated_at) VALUES (?, ?, ?, ?, 0, 'running', ?)",
                        (take.id, model.name, language, _plan_json(chunks, planned_until, 0.0), now_iso()),
                    )
            owners = {o.channel - 1: (o.participant.id if o.participant else None) for o in take.owners}
            log.info("take %d: resuming at chunk %d, planned up to %.0f s", take.id, first, planned_until)
            with ThreadPoolExecutor(max_workers=1) as pool:
                # Each channel's energy (who speaks when), measured while the first window decodes.
                measuring = pool.submit(channels.energy_map, path) if take.channels > 1 else None
                energies: channels.EnergyMap | None = None
                # One window at a time, so memory holds one window whatever the take's length:
                # first the chunks planned but not decoded yet (a resumed run: read as when they
                # were planned, so the result is the same), then each window still to plan.
                while first < len(chunks) or planned_until < take.duration_s - 0.01:
                    offset_s = window_start if first < len(chunks) else planned_until
                    whole = planned_until == float("inf")  # planned before windows: the whole take
                    audio = whisper.load_audio(path, offset_s, None if whole else WINDOW_S + WINDOW_MARGIN_S)
                    if measuring is not None and energies is None:
                        energies = measuring.result()
                        with contextlib.suppress(OSError):  # the workbench's level strip (a cache)
                            levels.save(ws, take, levels.from_energy(energies))
                    if first < len(chunks):
                        pending = chunks[first:]
                    else:  # a new window: plan it
                        pending, planned_until = _plan_window(
                            audio,
                            offset_s,
                            take.duration_s,
                            energies,
                            recogniser,
                            None if language == "auto" else language,
                        )
                        chunks, window_start = [*chunks, *pending], offset_s
                        ws.conn.execute(
                            "UPDATE transcripts SET chunks_json = ?, updated_at = ? WHERE take_id = ?",
                            (_plan_json(chunks, planned_until, window_start), now_iso(), take.id),
                        )
                    batches_of_take = [
                        (index, chunks[index : index + options.chunks_per_call])
                        for index in range(first, first + len(pending), options.chunks_per_call)
                    ]
                    decoded = _decode_in_order(
                        recogniser,
                        audio,
                        offset_s,
                        batches_of_take,
                        None if language == "auto" else language,
                        options.workers,
                    )
                    try:
                        for index, batch, results in decoded:
                            fallback = session.language if session.language != "auto" else "en"
                            results = [
                                whisper.with_nothing_missing(
                                    chunk, segments, segments[0].language if segments else fallback
                                )
                                for chunk, segments in zip(batch, results, strict=True)
                            ]
                            _save_batch(ws, take, index, results, energies, owners, index + len(batch))
                            batches += 1
                            if on_progress:
                                # Chunks come in order of their start (one speaker's
                                # chunk may end after the next one starts).
                                on_progress(min(total_s, done_s + batch[-1].start_s), total_s)
                            if stop_after_batches is not None and batches >= stop_after_batches:
                                raise KeyboardInterrupt("stopped on request")
                    finally:
                        decoded.close()
                    first += len(pending)
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
    uncertain = ws.conn.execute(
        "SELECT count(*) FROM segments s JOIN takes t ON t.id = s.take_id "
        "WHERE t.session_id = ? AND s.language_p < ?",
        (session_id, whisper.LANGUAGE_SURE),
    ).fetchone()[0]
    return TranscribeResult(
        session_id,
        transcribed,
        skipped,
        resumed,
        int(stats[0] or 0),
        int(stats[1] or 0),
        languages,
        total_s,
        int(uncertain),
    )


Decoded = list[list[whisper.SegmentResult]]  # the segments of each chunk of a batch


def _decode_in_order(
    recogniser: whisper.Recogniser,
    audio: np.ndarray,
    offset_s: float,
    batches: list[tuple[int, list[whisper.Chunk]]],
    language: str | None,
    workers: int,
) -> Generator[tuple[int, list[whisper.Chunk], Decoded], None, None]:
    """Decode batches on *workers* threads, yielding results in order (so each can be saved
    as it comes, and a rerun resumes after the last saved one). Closing the generator
    (Ctrl-C, an error) cancels what has not started and waits for what is running."""
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="whisper")
    upcoming = iter(batches)

    def submit(item: tuple[int, list[whisper.Chunk]]) -> tuple[int, list[whisper.Chunk], Future[Decoded]]:
        return item[0], item[1], pool.submit(recogniser.transcribe_batch, audio, item[1], language, offset_s)

    try:
        pending = deque(submit(item) for item in itertools.islice(upcoming, max(1, workers)))
        while pending:
            index, batch, future = pending.popleft()
            results = future.result()
            following = next(upcoming, None)
            if following is not None:
                pending.append(submit(following))
            yield index, batch, results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _plan_window(
    audio: np.ndarray,
    offset_s: float,
    duration_s: float,
    energies: channels.EnergyMap | None,
    recogniser: whisper.Recogniser,
    language: str | None,
) -> tuple[list[whisper.Chunk], float]:
    """Plan the chunks of one window: the speech that starts within WINDOW_S of its start
    (read WINDOW_MARGIN_S further, so a stretch crossing the window's end stays whole). The
    next window starts where that speech ends, in a pause: no word is cut between windows.
    Returns the chunks and where the next window starts (the take's end after the last).

    With the microphones' energies (several channels), each stretch of speech is cut where
    the speaker changes; when the language is detected (*language* None), each speaker's
    language is detected first and a chunk holds only speakers of one language (a speaker
    whose language is uncertain has chunks of her own)."""
    spans = whisper.speech_spans(audio, offset_s)
    read_until = offset_s + len(audio) / whisper.SAMPLE_RATE_HZ
    last = (
        read_until >= duration_s - 0.05
        or len(audio) < (WINDOW_S + WINDOW_MARGIN_S - 1) * whisper.SAMPLE_RATE_HZ
    )
    kept = spans if last else [span for span in spans if span[0] < offset_s + WINDOW_S]
    until = duration_s if last else max(kept[-1][1] if kept else offset_s + WINDOW_S, offset_s + 1.0)
    if energies is None or energies.channels < 2:
        return whisper.pack(kept), until
    pieces = [piece for a, b in kept for piece in energies.turns(a, b)]
    if language is not None:
        return whisper.chunks_by_group(pieces, lambda _speaker: language), until
    speaker_at = {start: speaker for start, _end, speaker in pieces}
    first: dict[int | None, whisper.Chunk] = {}  # each speaker's first 30 s of speech
    for chunk in whisper.chunks_by_group(pieces):
        first.setdefault(speaker_at[chunk.pieces[0][0]], chunk)
    languages: dict[int | None, object] = {}
    for speaker, ranking in zip(
        first, recogniser.languages_of(audio, list(first.values()), offset_s), strict=True
    ):
        code, probability = ranking[0]
        languages[speaker] = code if probability >= whisper.LANGUAGE_SURE else ("speaker", speaker)
    log.info("languages of the speakers from %.0f s: %s", offset_s, languages)
    return whisper.chunks_by_group(pieces, languages.__getitem__), until


def _plan_json(chunks: list[whisper.Chunk], planned_until: float, window_start: float) -> str:
    return json.dumps(
        {
            "chunks": [c.as_json() for c in chunks],
            "planned_until": planned_until,
            "window_start": window_start,  # where the last window planned was read from
        }
    )


def _saved_plan(row: sqlite3.Row) -> tuple[list[whisper.Chunk], float, float] | None:
    """The chunks planned by an interrupted run, where its planning stopped and where its last
    window started; None if they were planned differently (by an older version): the take is
    then transcribed again from the start. A plan saved as a plain list (before windows)
    covers the whole take."""
    try:
        saved = json.loads(row["chunks_json"])
        if isinstance(saved, list):
            return [whisper.Chunk.from_json(item) for item in saved], float("inf"), 0.0
        return (
            [whisper.Chunk.from_json(item) for item in saved["chunks"]],
            float(saved["planned_until"]),
            float(saved["window_start"]),
        )
    except (ValueError, TypeError, KeyError):
        return None


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
                    "INSERT INTO segments (take_id, chunk, start_s, end_s, language, language_p) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        take.id,
                        first_chunk + offset,
                        segment.start_s,
                        segment.end_s,
                        segment.language,
                        None if segment.language_p >= 1.0 else round(segment.language_p, 3),
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
