"""What the last publish put in the published folder: each episode's build and the sha256 of
every file, so that `publish --check` can tell any byte that changed since."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podcast.errors import PodcastError
from podcast.fsutil import atomic_write_text
from podcast.workspace import Workspace

STATE_FILE = "publish-state.json"
VERSION = 2
# Marks a folder as made by `podcast publish` (it may then be replaced); holds no data.
MARKER = ".podcast-publish"


@dataclass(frozen=True)
class PublishedEpisode:
    """One episode as published: which extract versions, which files, and how it measured."""

    guid: str
    episode_id: int
    published: str  # first publication time (ISO 8601, UTC); kept across re-cuts
    build_key: str  # everything the files depend on; equal key, same files
    extracts: tuple[tuple[int, str], ...]  # (extract ID, fingerprint) in order
    audio: str
    audio_bytes: int
    duration_s: float
    loudness_lufs: float
    true_peak_dbtp: float
    vtt: str
    srt: str
    json: str
    chapters: str
    language: str = ""  # its transcript's main language ("" before languages were kept)

    @property
    def files(self) -> tuple[str, ...]:
        return (self.audio, self.vtt, self.srt, self.json, self.chapters)


@dataclass(frozen=True)
class PublishState:
    episodes: Mapping[str, PublishedEpisode] = field(default_factory=dict)  # by guid
    files: Mapping[str, str] = field(default_factory=dict)  # every published file -> sha256

    def to_json(self) -> str:
        data = {
            "version": VERSION,
            "episodes": {
                guid: {**ep.__dict__, "extracts": [list(x) for x in ep.extracts]}
                for guid, ep in sorted(self.episodes.items())
            },
            "files": dict(sorted(self.files.items())),
        }
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _episode(guid: str, data: Mapping[str, Any]) -> PublishedEpisode:
    return PublishedEpisode(
        guid=guid,
        episode_id=int(data["episode_id"]),
        published=str(data["published"]),
        build_key=str(data["build_key"]),
        extracts=tuple((int(i), str(fp)) for i, fp in data["extracts"]),
        audio=str(data["audio"]),
        audio_bytes=int(data["audio_bytes"]),
        duration_s=float(data["duration_s"]),
        loudness_lufs=float(data["loudness_lufs"]),
        true_peak_dbtp=float(data["true_peak_dbtp"]),
        vtt=str(data["vtt"]),
        srt=str(data["srt"]),
        json=str(data["json"]),
        chapters=str(data["chapters"]),
        language=str(data.get("language", "")),
    )


def _legacy(data: Mapping[str, Any]) -> PublishState:
    """A state written before version 2 (a dict by guid, no file hashes): kept for the
    publication dates; every episode is rebuilt (its build key is unknown)."""
    episodes = {}
    for guid, info in data.items():
        episodes[guid] = PublishedEpisode(
            guid,
            int(info["episode"]),
            str(info["published"]),
            "",
            tuple((int(i), str(fp)) for i, fp in info["extracts"]),
            str(info["audio"]),
            int(info["bytes"]),
            float(info["duration_s"]),
            float(info["loudness"][0]),
            float(info["loudness"][1]),
            str(info["vtt"]),
            str(info["srt"]),
            str(info["json"]),
            str(info["chapters"]),
        )
    return PublishState(episodes, {})


def path(ws: Workspace) -> Path:
    return ws.root / STATE_FILE


def load(ws: Workspace) -> PublishState:
    """The last publish's state (empty before the first publish)."""
    try:
        data = json.loads(path(ws).read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            return _legacy(data)
        return PublishState(
            {guid: _episode(guid, info) for guid, info in data["episodes"].items()},
            {str(k): str(v) for k, v in data["files"].items()},
        )
    except FileNotFoundError:
        return PublishState()
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        raise PodcastError(
            f"{STATE_FILE} cannot be read.",
            hint="Publish again ('podcast publish'): the folder is rebuilt and the state rewritten.",
        ) from None


def save(ws: Workspace, state: PublishState) -> None:
    atomic_write_text(path(ws), state.to_json())
