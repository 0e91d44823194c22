"""Import recordings from a standalone recorder into a session as lossless takes.

The source file name is never stored: takes are named by session and position only, and
the database keeps just a hash of the source (to refuse importing the same file twice).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from podcast import audio, ffmpeg, fsutil
from podcast.audio import AudioInfo
from podcast.clock import now_iso
from podcast.db import transaction
from podcast.errors import AudioError, InvalidInputError, PodcastError
from podcast.fsutil import disk_full, free_bytes, fsync_dir, private_dir, sha256_file, temp_path_beside
from podcast.workspace import Workspace
from sessions import sessions
from sessions.sessions import Session, Take

log = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]
BLOCK_FRAMES = 1 << 16
_FLAC_MAX_CHANNELS = 8
_MAP_ITEM = re.compile(r"^\s*(\d+)\s*=\s*(.+?)\s*$")


def parse_channel_map(text: str) -> dict[int, str]:
    """Parse '1=Amie,2=Blessing' into {1: 'Amie', 2: 'Blessing'} (channels are 1-based)."""
    mapping: dict[int, str] = {}
    hint = "Write it as 1=NAME,2=NAME (channel numbers start at 1)."
    for item in filter(None, (part.strip() for part in text.split(","))):
        match = _MAP_ITEM.match(item)
        if not match:
            raise InvalidInputError(f"Cannot read the channel map entry {item!r}.", hint=hint)
        channel = int(match.group(1))
        if channel < 1:
            raise InvalidInputError(f"Channel {channel} does not exist.", hint=hint)
        if channel in mapping:
            raise InvalidInputError(f"Channel {channel} is mapped twice.", hint=hint)
        mapping[channel] = match.group(2)
    if not mapping:
        raise InvalidInputError("The channel map is empty.", hint=hint)
    return mapping


@dataclass(frozen=True)
class _Prepared:
    source: Path
    readable: Path  # the source itself, or a decoded temporary WAV
    info: AudioInfo
    sha256: str
    owners: dict[int, str | None]  # channel -> participant id


def resolve_owners(
    session: Session, channels: int, channel_map: dict[int, str] | None
) -> dict[int, str | None]:
    """Decide which participant speaks on each channel (participant IDs; None = unknown).

    Without a map, channels are given to the session's participants in order when the
    counts match (a mono file with one participant too); otherwise speakers stay unknown.
    """
    owners: dict[int, str | None] = dict.fromkeys(range(1, channels + 1))
    speakers = session.speakers
    by_name = {p.pseudonym.casefold(): p for p in speakers}
    if channel_map is None:
        if channels == len(session.participants):
            for channel, member in enumerate(session.participants, start=1):
                owners[channel] = member.id
        return owners
    for channel, name in channel_map.items():
        if channel > channels:
            raise InvalidInputError(
                f"The channel map names channel {channel}, but the file has {channels}.",
                hint="Use channel numbers from 1 to the number of channels in the file.",
            )
        person = by_name.get(name.strip().casefold())
        if person is None:
            raise InvalidInputError(
                f"{name!r} is not in session {session.id}.",
                hint="Map channels to the session's people: " + ", ".join(p.pseudonym for p in speakers),
            )
        owners[channel] = person.id
    return owners


def _prepare(
    ws: Workspace,
    session: Session,
    source: Path,
    channel_map: dict[int, str] | None,
    temps: list[Path],
) -> _Prepared:
    audio.check_readable_file(source)
    audio.check_wav_structure(source)
    try:
        info = audio.probe(source)
        readable = source
    except AudioError:
        # Not something libsndfile reads (M4A, AAC, ...): let ffmpeg decode it.
        readable = temp_path_beside(ws.tmp_dir / "import.wav")
        temps.append(readable)
        ffmpeg.decode_to_wav(source, readable)
        info = audio.probe(readable)
    return _Prepared(
        source, readable, info, sha256_file(source), resolve_owners(session, info.channels, channel_map)
    )


def _copy_lossless(
    prepared: _Prepared, target: Path, done: int, total: int, on_progress: ProgressFn | None
) -> int:
    info = prepared.info
    subtype = "PCM_16" if info.subtype in ("PCM_16", "PCM_S8", "PCM_U8") else "PCM_24"
    fmt = "FLAC" if info.channels <= _FLAC_MAX_CHANNELS else "RF64"
    written = 0
    with sf.SoundFile(str(target), "w", info.sample_rate_hz, info.channels, subtype, format=fmt) as out:
        for block in sf.blocks(str(prepared.readable), blocksize=BLOCK_FRAMES, dtype="int32", always_2d=True):
            out.write(block)
            written += len(block)
            if on_progress:
                on_progress(done + written, total)
    return written


def _remove(paths: list[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)


def import_files(
    ws: Workspace,
    session_id: int,
    sources: list[Path],
    *,
    channel_map: dict[int, str] | None = None,
    on_progress: ProgressFn | None = None,
) -> list[Take]:
    """Import audio files as new takes of a session; all of them or none.

    Raises AudioError for unreadable, damaged or duplicate files, InvalidInputError for a
    bad channel map. Progress is reported in frames.
    """
    session = sessions.get(ws, session_id)
    if not sources:
        raise InvalidInputError("No file to import.", hint="Name one or more audio files.")
    known = {
        r[0] for r in ws.conn.execute("SELECT source_sha256 FROM takes WHERE session_id = ?", (session_id,))
    }
    temps: list[Path] = []
    written: list[Path] = []
    needed = sum(source.stat().st_size for source in sources if source.is_file())
    try:
        prepared: list[_Prepared] = []
        for source in sources:
            item = _prepare(ws, session, source, channel_map, temps)
            if item.sha256 in known or item.sha256 in {p.sha256 for p in prepared}:
                raise AudioError(
                    f"{source.name} is already imported into session {session_id}.",
                    hint="Each recording needs importing once only.",
                )
            prepared.append(item)
        total = sum(p.info.frames for p in prepared)
        # Takes are stored at 16 or 24 bits; FLAC usually halves that, RF64 does not.
        needed = sum(p.info.frames * p.info.channels * 3 for p in prepared)
        folder = ws.session_dir(session_id)
        if free_bytes(ws.root) < needed:
            raise disk_full(ws.root, needed, "importing")
        private_dir(folder)
        position = len(session.takes)
        done = 0
        rows = []
        for item in prepared:
            position += 1
            suffix = ".flac" if item.info.channels <= _FLAC_MAX_CHANNELS else ".wav"
            target = folder / f"take-{position:03d}{suffix}"
            if target.exists():
                raise PodcastError(
                    f"A take file for position {position} already exists but is not registered.",
                    hint="Run 'podcast status' to check the workspace; never delete audio by hand.",
                )
            partial = temp_path_beside(target)
            written.append(partial)
            frames = _copy_lossless(item, partial, done, total, on_progress)
            if frames != item.info.frames:
                raise AudioError(
                    f"{item.source.name}: read {frames} frames but expected {item.info.frames}.",
                    hint="The file looks damaged; copy it again from the recorder.",
                )
            partial.replace(target)
            written[-1] = target
            done += frames
            rows.append((item, position, target))
        fsync_dir(folder)
        with transaction(ws.conn):
            for item, pos, target in rows:
                cursor = ws.conn.execute(
                    "INSERT INTO takes (session_id, position, origin, relpath, channels, "
                    "sample_rate_hz, frames, source_sha256, created_at) "
                    "VALUES (?, ?, 'import', ?, ?, ?, ?, ?, ?)",
                    (
                        session_id,
                        pos,
                        ws.relative(target),
                        item.info.channels,
                        item.info.sample_rate_hz,
                        item.info.frames,
                        item.sha256,
                        now_iso(),
                    ),
                )
                take_id = cursor.lastrowid
                ws.conn.executemany(
                    "INSERT INTO take_channels VALUES (?, ?, ?)",
                    [(take_id, ch, owner) for ch, owner in item.owners.items()],
                )
    except OSError as exc:
        _remove(written)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise disk_full(ws.root, needed, "importing") from None
        raise PodcastError(
            f"Import stopped: {exc.strerror or exc}.",
            hint="Check free disk space and permissions of the workspace; nothing was imported.",
        ) from None
    except (sqlite3.OperationalError, AudioError, sf.LibsndfileError) as exc:
        _remove(written)
        # libsndfile says only "System error." when the disk fills up: look at the disk.
        if "full" in str(exc) or "No space left" in str(exc) or fsutil.free_bytes(ws.root) < 1 << 20:
            raise disk_full(ws.root, needed, "importing") from None
        if isinstance(exc, sf.LibsndfileError):
            raise AudioError(
                f"Writing the take failed: {exc}.", hint="Check the disk; nothing was imported."
            ) from None
        raise
    except BaseException:
        _remove(written)
        raise
    finally:
        for path in temps:
            with contextlib.suppress(OSError):
                path.unlink()
    log.info("imported %d file(s) into session %d", len(sources), session_id)
    return [t for t in sessions.get(ws, session_id).takes if t.position > len(session.takes)]
