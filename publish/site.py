"""Publishing: a static folder any web server can serve (feed, audio, transcripts,
chapters, artwork, index.html), rebuilt from cleared extracts only, re-cut after
withdrawals, and audited before it is put in place."""

from __future__ import annotations

import html
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import feedparser

from consent import checkpoints, decisions, sensitive
from podcast import ffmpeg
from podcast.clock import now_iso
from podcast.errors import InvalidInputError, PodcastError
from podcast.fsutil import atomic_write_bytes, atomic_write_text, sha256_file
from podcast.workspace import Workspace
from publish import artwork, build, episodes, feed, tags
from publish.voices import VoiceStore
from sessions.extracts import normalise

log = logging.getLogger(__name__)

STATE_FILE = "publish-state.json"
COVER = "cover.png"


class AuditFailed(PodcastError):
    """The published folder breaks a promise; nothing was put in place."""


@dataclass(frozen=True)
class PublishResult:
    out_dir: Path
    feed_url: str
    published: tuple[str, ...]  # episode titles in the feed
    changes: tuple[str, ...]
    problems: tuple[str, ...]


def _state_path(ws: Workspace) -> Path:
    return ws.root / STATE_FILE


def _load_state(ws: Workspace) -> dict[str, dict[str, Any]]:
    path = _state_path(ws)
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _base(url: str | None, ws: Workspace) -> str:
    base = url or ws.settings().base_url
    if not base:
        raise InvalidInputError(
            "No public address for the podcast.",
            hint="Pass --base-url https://... or set base_url in podcast.toml.",
        )
    if not base.startswith(("https://", "http://")):
        raise InvalidInputError(f"{base!r} is not a web address.", hint="Use https://example.org/podcast/")
    return base if base.endswith("/") else base + "/"


def _index_html(title: str, description: str, items: list[tuple[str, str, str, str]]) -> str:
    rows = "".join(
        f"<article><h2>{html.escape(t)}</h2><p>{html.escape(d)}</p>"
        f"<audio controls preload='none' src='{html.escape(a)}'></audio>"
        f"<p><a href='{html.escape(v)}'>Transcript</a></p></article>"
        for t, d, a, v in items
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width'>"
        f"<title>{html.escape(title)}</title>"
        "<link rel='alternate' type='application/rss+xml' href='feed.xml'>"
        "<style>body{font-family:sans-serif;max-width:44em;margin:2em auto;padding:0 1em}"
        "audio{width:100%}</style>"
        f"</head><body><img src='{COVER}' alt='' width='200' height='200'><h1>{html.escape(title)}</h1>"
        f"<p>{html.escape(description)}</p><p><a href='feed.xml'>Podcast feed</a></p>{rows}</body></html>\n"
    )


def publish(
    ws: Workspace,
    *,
    voices: VoiceStore,
    base_url: str | None = None,
    out_dir: Path | None = None,
    bitrate_kbps: int = 96,
    on_step: Callable[[str], None] | None = None,
) -> PublishResult:
    """Write the published folder from cleared, protected extracts only, then audit it."""
    step = on_step or (lambda _m: None)
    show = ws.settings()
    base = _base(base_url, ws)
    target = (out_dir or ws.publish_dir).resolve()
    staging = target.with_name(f".{target.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    previous = _load_state(ws)
    state: dict[str, dict[str, Any]] = {}
    changes: list[str] = []
    listed: list[tuple[str, str, str, str]] = []
    items: list[feed.FeedItem] = []
    cover = artwork.prepare(ws.absolute(show.artwork) if show.artwork else None, show.title)
    atomic_write_bytes(staging / COVER, cover)
    entries = checkpoints.ledger(ws).entries()
    try:
        for episode in episodes.list_all(ws):
            statuses = [decisions.status(ws, e, entries) for e in episode.extracts]
            cleared = [s for s in statuses if s.publishable]
            before = previous.get(episode.guid)
            if not cleared:
                if before:
                    changes.append(
                        f"Episode '{episode.title}' was removed from the feed: no extract is cleared."
                    )
                continue
            key = [[s.extract.id, s.fingerprint] for s in cleared]
            step(f"Building episode {episode.id}: {episode.title}")
            reused = (
                before is not None
                and before.get("extracts") == key
                and (target / str(before["audio"])).exists()
            )
            if reused and before is not None:
                for name in before["files"]:
                    shutil.copy2(target / str(name), staging / str(name))
                built_info = before
            else:
                built = build.build(
                    ws,
                    episode,
                    cleared,
                    staging,
                    voices=voices,
                    bitrate_kbps=bitrate_kbps,
                    artwork=(cover, "image/png"),
                )
                built_info = {
                    "audio": built.audio.name,
                    "bytes": built.audio_bytes,
                    "duration_s": built.duration_s,
                    "files": [built.audio.name, *(p.name for p in built.files.values())],
                    "vtt": built.files["vtt"].name,
                    "srt": built.files["srt"].name,
                    "json": built.files["json"].name,
                    "sha256": built.audio_sha256,
                    "loudness": [built.loudness_lufs, built.true_peak_dbtp],
                    "chapters": built.files["chapters"].name,
                }
                if before is None:
                    changes.append(f"New episode '{episode.title}'.")
                else:
                    dropped = len(before["extracts"]) - len(key)
                    detail = f" ({dropped} extract(s) fewer)" if dropped > 0 else ""
                    changes.append(
                        f"Episode '{episode.title}' was re-cut{detail}: new audio file, same guid."
                    )
            published_at = str(before["published"]) if before else now_iso()
            state[episode.guid] = {
                **built_info,
                "extracts": key,
                "published": published_at,
                "episode": episode.id,
            }
            url = base + str(built_info["audio"])
            items.append(
                feed.FeedItem(
                    episode.guid,
                    episode.title,
                    episode.description,
                    episode.number,
                    episode.season,
                    datetime.fromisoformat(published_at.replace("Z", "+00:00")),
                    url,
                    int(built_info["bytes"]),
                    float(built_info["duration_s"]),
                    base + str(built_info["vtt"]),
                    base + str(built_info["srt"]),
                    base + str(built_info["json"]),
                    base + str(built_info["chapters"]),
                )
            )
            listed.append(
                (episode.title, episode.description, str(built_info["audio"]), str(built_info["vtt"]))
            )
        remaining = {e.guid for e in episodes.list_all(ws)}
        deleted = [guid for guid in previous if guid not in state and guid not in remaining]
        if deleted:
            changes.append(f"{len(deleted)} deleted episode(s) left the feed.")
        feed_url = base + "feed.xml"
        atomic_write_bytes(
            staging / "feed.xml",
            feed.feed_xml(show, feed_url=feed_url, site_url=base, image_url=base + COVER, items=items),
        )
        atomic_write_text(staging / "index.html", _index_html(show.title, show.description, listed))
        step("Checking the folder before putting it in place")
        problems = audit(ws, staging, state)
        if problems:
            raise AuditFailed(
                "The published folder failed its check: " + "; ".join(problems),
                hint="Nothing was changed in the published folder. Fix the cause and publish again.",
            )
        # Readable by the web server's user; written privately until now.
        staging.chmod(0o755)
        for path in staging.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        old = target.with_name(f".{target.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        staging.rename(target)
        shutil.rmtree(old, ignore_errors=True)
        atomic_write_text(_state_path(ws), json.dumps(state, indent=2, sort_keys=True))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return PublishResult(target, feed_url, tuple(i.title for i in items), tuple(changes), ())


def audit(ws: Workspace, folder: Path, state: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """Everything wrong with a published folder (empty when it keeps every promise)."""
    problems: list[str] = []
    state = state if state is not None else _load_state(ws)
    files = [p for p in folder.rglob("*") if p.is_file()]
    # 1. Only cleared, protected content, exactly as consented.
    entries = checkpoints.ledger(ws).entries()
    statuses = {
        s.extract.id: s
        for s in (decisions.status(ws, e, entries) for ep in episodes.list_all(ws) for e in ep.extracts)
    }
    for info in state.values():
        for extract_id, fp in info["extracts"]:
            status = statuses.get(int(extract_id))
            if status is None or not status.publishable or status.fingerprint != fp:
                problems.append(f"extract {extract_id} is published but not cleared for this version")
    expected = {str(name) for info in state.values() for name in info["files"]} | {
        "feed.xml",
        "index.html",
        COVER,
    }
    for path in files:
        if path.name not in expected:
            problems.append(f"unexpected file {path.name}")
        if path.suffix.lower() in (".wav", ".flac", ".ogg", ".m4a"):
            problems.append(f"raw or unencoded audio {path.name}")
    # 2. No raw take or rendering, byte for byte.
    raw = [*ws.takes_dir.rglob("take-*"), *ws.renderings_dir.glob("*.wav")]
    private = {sha256_file(p) for p in raw if p.is_file()}
    hashes = {path: sha256_file(path) for path in files}
    for path in files:
        if hashes[path] in private:
            problems.append(f"{path.name} is a raw take or rendering")
    # Loudness measured by ffmpeg's R128 meter when this exact file was built.
    measured = {str(i["sha256"]): tuple(i["loudness"]) for i in state.values() if "sha256" in i}
    # 3. No sensitive word, workspace path or take name in any text or tag.
    phrases = [normalise(p.phrase) for p in sensitive.list_for(ws)]
    for path in files:
        data = path.read_bytes()
        if str(ws.root).encode() in data or b"take-0" in data or b"session-0" in data:
            problems.append(f"{path.name} names a workspace path or a raw take")
        if path.suffix in (".xml", ".html", ".vtt", ".srt", ".json"):
            text = f" {normalise(data.decode('utf-8', 'replace'))} "
            for phrase in phrases:
                if phrase and f" {phrase} " in text:
                    problems.append(f"{path.name} contains a sensitive word (check titles and descriptions)")
    # 4. Audio: allowed tags only, loudness and true peak in range.
    for path in files:
        if path.suffix == ".mp3":
            extra = sorted(set(tags.read_frames(path)) - set(tags.ALLOWED_FRAMES))
            if extra:
                problems.append(f"{path.name} carries tags {', '.join(extra)}")
            known = measured.get(hashes[path])
            loudness, peak = known if known else ffmpeg.measure_loudness(path)
            if abs(loudness - ffmpeg.LOUDNESS_TARGET_LUFS) > 1.0 or peak > -1.0:
                problems.append(f"{path.name} is at {loudness} LUFS / {peak} dBTP")
    # 5. The feed parses and its enclosures are exact.
    feed_path = folder / "feed.xml"
    if not feed_path.exists():
        problems.append("feed.xml is missing")
    else:
        parsed = feedparser.parse(feed_path.read_bytes())
        if parsed.bozo:
            problems.append(f"feed.xml does not parse: {parsed.bozo_exception}")
        for entry in parsed.entries:
            for enclosure in entry.get("enclosures", []):
                name = enclosure.get("href", "").rsplit("/", 1)[-1]
                local = folder / name
                if not local.exists() or str(local.stat().st_size) != str(enclosure.get("length")):
                    problems.append(f"enclosure {name} is missing or its length is wrong")
    return problems
