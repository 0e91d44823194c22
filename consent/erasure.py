"""Erasure on request: a participant's words and voice removed from everything but the
consent record's opaque IDs.

`erase` does, in this order (each step safe to run again if one is interrupted):
1. withdraws her consent everywhere, through the consent domain (signed): every participant
   decides on every extract of her sessions, so all of them are blocked and the next publish
   re-cuts or removes every episode they were in;
2. keeps the audio digests of every extract of the takes it will change, so the others'
   answers are not made "outdated" by the silence put into the raw take (an extract she spoke
   in changes anyway: her words leave it);
3. silences her in every raw take still on the laptop: her own microphone entirely, and every
   microphone during her turns (her voice bleeds into the neighbours'), rewritten beside the
   take, fsynced, then renamed over it;
4. deletes her words from every transcript, the edit history of those sessions (it holds
   text), every protected rendering with a line of hers, the level strips, her voice
   settings; the database overwrites what it deletes (SQLite secure_delete) and its
   write-ahead log is emptied;
5. gives a neutral title to every extract she spoke in (a default title is its first words),
   replaces her pseudonym by a neutral label and retires her;
6. appends an `erase` entry to the consent record (opaque IDs only), signed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import soundfile as sf

from consent import checkpoints, decisions, fingerprint, participants
from consent.participants import Participant
from podcast.db import transaction
from podcast.errors import NotFoundError
from podcast.fsutil import fsync_dir
from podcast.workspace import Workspace
from sessions import extracts, sessions, transcripts
from sessions.sessions import Take

TURN_MARGIN_S = 0.15
BLOCK_FRAMES = 1 << 16


@dataclass(frozen=True)
class Erased:
    label: str
    withdrawn: int
    words_removed: int
    takes_silenced: int
    renderings_removed: int


def _find(ws: Workspace, pseudonym: str) -> Participant:
    for person in participants.list_all(ws, include_retired=True):
        if person.pseudonym.casefold() == pseudonym.strip().casefold():
            return person
    raise NotFoundError(f"There is no participant {pseudonym!r}.", hint="See 'podcast participant list'.")


def _turns(ws: Workspace, take: Take, person_id: str) -> list[tuple[float, float]]:
    """Her speaking turns in a take (word times merged, with a small margin), in take time."""
    rows = ws.conn.execute(
        "SELECT w.start_s, w.end_s FROM words w JOIN segments s ON s.id = w.segment_id "
        "WHERE s.take_id = ? AND w.participant_id = ? ORDER BY w.start_s",
        (take.id, person_id),
    ).fetchall()
    merged: list[list[float]] = []
    for start, end in rows:
        start, end = start - TURN_MARGIN_S, end + TURN_MARGIN_S
        if merged and start <= merged[-1][1] + 0.5:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([max(0.0, start), end])
    return [(a, b) for a, b in merged]


def silence(path_in: os.PathLike[str] | str, channels: list[int], turns: list[tuple[float, float]]) -> None:
    """Rewrite a take with *channels* (0-based) all zeros, and every channel zero in *turns*."""
    source = os.fspath(path_in)
    info = sf.info(source)
    temp = f"{source}.{os.getpid()}.erasing"
    spans = [(round(a * info.samplerate), round(b * info.samplerate)) for a, b in turns]
    try:
        with (
            sf.SoundFile(source) as reader,
            sf.SoundFile(
                temp, "w", info.samplerate, info.channels, info.subtype, format=info.format
            ) as writer,
        ):
            at = 0
            while True:
                block = reader.read(BLOCK_FRAMES, dtype="int32", always_2d=True)
                if not len(block):
                    break
                block[:, channels] = 0
                for first, last in spans:
                    lo, hi = max(first - at, 0), min(last - at, len(block))
                    if lo < hi:
                        block[lo:hi, :] = 0
                writer.write(block)
                at += len(block)
        os.chmod(temp, 0o600)
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, source)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    fsync_dir(os.path.dirname(source))  # type: ignore[arg-type]


def _renderings_with(ws: Workspace, person_id: str) -> list[str]:
    found = []
    for sidecar in ws.renderings_dir.glob("*.json"):
        try:
            data = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if any(line.get("speaker_id") == person_id for line in data.get("lines", [])):
            found.append(sidecar.stem)
    return found


def erase(
    ws: Workspace, pseudonym: str, *, witness: Participant | None = None, method: str = "in_room"
) -> Erased:
    person = _find(ws, pseudonym)
    withdrawn = decisions.withdraw(ws, person, everything=True, witness=witness, method=method)
    takes = [t for s in sessions.list_all(ws) for t in s.takes if not t.archived]
    silenced = 0
    for take in takes:
        mine = [o.channel - 1 for o in take.owners if o.participant and o.participant.id == person.id]
        turns = _turns(ws, take, person.id)
        if not mine and not turns:
            continue
        with transaction(ws.conn):
            for extract in extracts.list_all(ws, take.session_id):
                if extract.take_id == take.id:
                    fingerprint.keep_audio_digest(ws, extract)
        silence(sessions.raw_path(ws, take), mine, turns)
        silenced += 1
        for cached in (ws.cache_dir / "levels").glob(f"take-{take.id}-*"):
            cached.unlink(missing_ok=True)
    gone = _renderings_with(ws, person.id)
    for key in gone:
        for suffix in (".wav", ".json"):
            (ws.renderings_dir / f"{key}{suffix}").unlink(missing_ok=True)
    label = _neutral_label(ws)
    # An extract she spoke in may carry her words in its title (the default title is its
    # first words): it gets a neutral one.
    spoken_in = []
    for session in sessions.list_all(ws):
        transcript = transcripts.load(ws, session.id)
        for extract in extracts.list_all(ws, session.id):
            if any(u.speaker_id == person.id for u in extracts.utterances_in(transcript, extract)):
                spoken_in.append(extract.id)
    with transaction(ws.conn):
        ws.conn.executemany(
            "UPDATE extracts SET title = ? WHERE id = ?", [(f"Extract {i}", i) for i in spoken_in]
        )
        affected = [
            r[0]
            for r in ws.conn.execute(
                "SELECT DISTINCT t.session_id FROM words w JOIN segments s ON s.id = w.segment_id "
                "JOIN takes t ON t.id = s.take_id WHERE w.participant_id = ?",
                (person.id,),
            )
        ]
        removed = ws.conn.execute("DELETE FROM words WHERE participant_id = ?", (person.id,)).rowcount
        ws.conn.execute("DELETE FROM segments WHERE id NOT IN (SELECT segment_id FROM words)")
        ws.conn.executemany("DELETE FROM transcript_history WHERE session_id = ?", [(s,) for s in affected])
        ws.conn.execute("DELETE FROM protection WHERE participant_id = ?", (person.id,))
        ws.conn.execute("DELETE FROM voice_params WHERE participant_id = ?", (person.id,))
        ws.conn.execute(
            "UPDATE participants SET pseudonym = ?, language = NULL, retired_at = COALESCE(retired_at, "
            "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')) WHERE id = ?",
            (label, person.id),
        )
    ws.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # no old page of hers left in the log
    checkpoints.record(
        ws,
        event="erase",
        participant=person.id,
        session=0,
        extract=0,
        fingerprint="erased",
        witness=(witness or person).id,
        method=method,
        language=decisions.default_language(ws, None),
    )
    return Erased(label, len(withdrawn), removed, silenced, len(gone))


def _neutral_label(ws: Workspace) -> str:
    taken = {p.pseudonym.casefold() for p in participants.list_all(ws, include_retired=True)}
    number = 1
    while f"erased-{number}" in taken:
        number += 1
    return f"erased-{number}"
