"""The audit of a published folder: every promise checked on the files themselves.

Run on the folder being built (before it is put in place) and again by `publish --check`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import feedparser

from consent import sensitive
from consent.decisions import ExtractStatus
from podcast import ffmpeg
from podcast.errors import PodcastError
from podcast.fsutil import sha256_file
from podcast.workspace import Workspace
from publish import tags
from publish.state import MARKER, PublishState
from sessions.extracts import normalise

_RAW_SUFFIXES = (".wav", ".flac", ".ogg", ".m4a", ".aiff", ".caf", ".rf64")
_TEXT_SUFFIXES = (".xml", ".html", ".vtt", ".srt", ".json")


class AuditFailed(PodcastError):
    """The published folder breaks a promise; nothing was put in place."""


def audit(
    ws: Workspace, folder: Path, state: PublishState, statuses: Mapping[int, ExtractStatus]
) -> list[str]:
    """Everything wrong with a published folder (empty when it keeps every promise).

    *statuses* are the gate's answers, computed once by the caller for this command.
    """
    problems: list[str] = []
    # 1. Only cleared, protected content, exactly as consented.
    for episode in state.episodes.values():
        for extract_id, fp in episode.extracts:
            status = statuses.get(extract_id)
            if status is None or not status.publishable or status.fingerprint != fp:
                problems.append(
                    f"extract {extract_id} is published but not cleared for this version: "
                    "run 'podcast publish' to take it down"
                )
    # 2. Exactly the files the publish recorded, byte for byte.
    paths = sorted(p for p in folder.rglob("*") if not p.is_dir() or p.is_symlink())
    hashes: dict[Path, str] = {}
    for path in paths:
        name = path.relative_to(folder).as_posix()
        if name == MARKER and path.is_file() and not path.is_symlink():
            continue
        if path.is_symlink() or not path.is_file():
            problems.append(f"unexpected file {name} (not a regular file)")
            continue
        hashes[path] = sha256_file(path)
        if name not in state.files:
            problems.append(f"unexpected file {name}")
        elif hashes[path] != state.files[name]:
            problems.append(f"{name} is not the file that was published (sha256 differs)")
        if path.suffix.lower() in _RAW_SUFFIXES:
            problems.append(f"raw or unencoded audio {name}")
    problems += [f"{name} is missing" for name in state.files if not (folder / name).is_file()]
    # 3. No raw take or rendering, byte for byte (only same-sized files need hashing).
    sizes = {path.stat().st_size for path in hashes}
    raw = [*ws.takes_dir.rglob("*"), *ws.renderings_dir.glob("*")]
    private = {sha256_file(p) for p in raw if p.is_file() and p.stat().st_size in sizes}
    problems += [
        f"{path.name} is a raw take or rendering" for path, digest in hashes.items() if digest in private
    ]
    # 4. No sensitive word, workspace path or take name in any text or tag.
    phrases = [normalise(p.phrase) for p in sensitive.list_for(ws)]
    for path in hashes:
        data = path.read_bytes()
        if str(ws.root).encode() in data or b"take-0" in data or b"session-0" in data:
            problems.append(f"{path.name} names a workspace path or a raw take")
        if path.suffix in _TEXT_SUFFIXES:
            text = f" {normalise(data.decode('utf-8', 'replace'))} "
            for phrase in phrases:
                if phrase and f" {phrase} " in text:
                    problems.append(f"{path.name} contains a sensitive word (check titles and descriptions)")
    # 5. Audio: allowed tags only, loudness and true peak in range (as measured at build
    # time when the file is the one built, measured again otherwise).
    measured = {
        state.files.get(e.audio, ""): (e.loudness_lufs, e.true_peak_dbtp) for e in state.episodes.values()
    }
    for path, digest in hashes.items():
        if path.suffix != ".mp3":
            continue
        try:
            extra = sorted(set(tags.read_frames(path)) - set(tags.ALLOWED_FRAMES))
            loudness, peak = measured.get(digest) or ffmpeg.measure_loudness(path)
        except PodcastError:
            problems.append(f"{path.name} cannot be read as MP3 audio")
            continue
        if extra:
            problems.append(f"{path.name} carries tags {', '.join(extra)}")
        if abs(loudness - ffmpeg.LOUDNESS_TARGET_LUFS) > 1.0 or peak > -1.0:
            problems.append(f"{path.name} is at {loudness} LUFS / {peak} dBTP")
    # 6. The feed parses and its enclosures are exact.
    feed_path = folder / "feed.xml"
    if not feed_path.is_file():
        problems.append("feed.xml is missing")
    else:
        parsed = feedparser.parse(feed_path.read_bytes())
        if parsed.bozo:
            problems.append(f"feed.xml does not parse: {parsed.bozo_exception}")
        for entry in parsed.entries:
            for enclosure in entry.get("enclosures", []):
                name = enclosure.get("href", "").rsplit("/", 1)[-1]
                local = folder / name
                if not local.is_file() or str(local.stat().st_size) != str(enclosure.get("length")):
                    problems.append(f"enclosure {name} is missing or its length is wrong")
    return list(dict.fromkeys(problems))
