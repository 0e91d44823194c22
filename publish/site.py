"""Publishing: a static folder any web server can serve (feed, audio, transcripts,
chapters, artwork, index.html), rebuilt from cleared extracts only, re-cut after
withdrawals, and audited before it is put in place.

Publishing can never destroy: the target must be the workspace's publish/ folder or a
folder outside the workspace that is empty or was made by `podcast publish` (it holds the
marker file); one publish at a time per workspace; the folder is built aside and swapped
in only after its audit passes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import html
import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from consent import checkpoints, decisions, gate, participants
from consent.decisions import ExtractStatus
from podcast import settings
from podcast.clock import now_iso
from podcast.errors import InvalidInputError, PodcastError
from podcast.fsutil import atomic_write_bytes, atomic_write_text, disk_space, sha256_file
from podcast.settings import ShowSettings
from podcast.workspace import Workspace
from publish import artwork, audit, build, episodes, feed
from publish import state as publish_state
from publish.state import PublishedEpisode, PublishState
from publish.voices import VoiceStore

log = logging.getLogger(__name__)

COVER = "cover.png"
MARKER = publish_state.MARKER
_MARKER_TEXT = "Made by podcast publish. This folder is replaced whole at every publish.\n"
AuditFailed = audit.AuditFailed


@dataclass(frozen=True)
class PublishResult:
    out_dir: Path
    feed_url: str
    published: tuple[str, ...]  # episode titles in the feed
    changes: tuple[str, ...]
    problems: tuple[str, ...]
    ledger_problem: str | None = None  # when the ledger does not verify, nothing was cleared


def _base(url: str | None, show: ShowSettings) -> str:
    base = url or show.base_url
    if not base:
        raise InvalidInputError(
            "No public address for the podcast.",
            hint="Pass --base-url https://... or set base_url in podcast.toml.",
        )
    if not base.startswith(("https://", "http://")):
        raise InvalidInputError(f"{base!r} is not a web address.", hint="Use https://example.org/podcast/")
    return base if base.endswith("/") else base + "/"


def check_target(ws: Workspace, out_dir: Path | None) -> Path:
    """The folder to publish into, or InvalidInputError if writing there could destroy anything."""
    if out_dir is None:
        return ws.publish_dir
    raw = Path(out_dir).expanduser()
    target = raw.resolve()
    hint = "Publish into the workspace's publish/ folder (the default) or an empty folder outside it."
    if raw.is_symlink():
        raise InvalidInputError(f"{raw} is a symbolic link, not a plain folder.", hint=hint)
    if target == ws.publish_dir:
        return target
    if target == ws.root or ws.root in target.parents:
        raise InvalidInputError(
            f"{target} is inside the workspace: publishing there would replace it.", hint=hint
        )
    if target in ws.root.parents:
        raise InvalidInputError(
            f"{target} contains the workspace: publishing there would replace it.", hint=hint
        )
    try:
        info = os.lstat(raw)
    except FileNotFoundError:
        return target
    if not stat.S_ISDIR(info.st_mode):
        raise InvalidInputError(f"{raw} is not a plain folder.", hint=hint)
    if any(target.iterdir()) and not (target / MARKER).is_file():
        raise InvalidInputError(
            f"{target} is not empty and was not made by 'podcast publish': its files would be lost.",
            hint=hint,
        )
    return target


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


def _build_key(
    show: ShowSettings,
    episode: episodes.Episode,
    cleared: list[ExtractStatus],
    names: Mapping[str, str],
    bitrate_kbps: int,
    cover: bytes,
) -> str:
    """Everything an episode's files depend on: equal key, the previous files can be reused.
    Pseudonyms are in it, so a renamed participant's transcripts are rebuilt."""
    parts = [
        show.title,
        show.author,
        show.language,
        episode.title,
        str(episode.number),
        str(bitrate_kbps),
        hashlib.sha256(cover).hexdigest(),
        *(f"{s.extract.id}:{s.fingerprint}:{s.extract.title}" for s in cleared),
        *(f"{pid}={names.get(pid, '')}" for s in cleared for pid in s.content.speakers),
    ]
    return hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def _reusable(before: PublishedEpisode | None, key: str, target: Path, previous: PublishState) -> bool:
    if before is None or before.build_key != key:
        return False
    return all(
        (target / name).is_file() and previous.files.get(name) == sha256_file(target / name)
        for name in before.files
    )


def evaluate(ws: Workspace, evidence: gate.Evidence) -> dict[int, ExtractStatus]:
    """The gate's answer for every extract of every episode: each extract's content once."""
    found: dict[int, ExtractStatus] = {}
    for episode in episodes.list_all(ws):
        for extract in episode.extracts:
            if extract.id not in found:
                found[extract.id] = decisions.status(ws, extract, evidence)
    return found


def publish(
    ws: Workspace,
    *,
    voices: VoiceStore,
    base_url: str | None = None,
    out_dir: Path | None = None,
    bitrate_kbps: int = 96,
    on_step: Callable[[str], None] | None = None,
) -> PublishResult:
    """Write the published folder from cleared, protected extracts only, then audit it.

    Raises InvalidInputError for a target that could destroy data, WorkspaceError if another
    publish runs, AuditFailed (nothing changed) if the result breaks a promise.
    """
    with ws.exclusive("publish", "podcast publish"):
        return _publish(ws, voices, base_url, out_dir, bitrate_kbps, on_step or (lambda _m: None))


def _publish(
    ws: Workspace,
    voices: VoiceStore,
    base_url: str | None,
    out_dir: Path | None,
    bitrate_kbps: int,
    step: Callable[[str], None],
) -> PublishResult:
    show = ws.settings()
    base = _base(base_url, show)
    target = check_target(ws, out_dir)
    try:
        previous = publish_state.load(ws)
    except PodcastError:
        previous = PublishState()  # unreadable: everything is rebuilt
    evidence = checkpoints.evidence(ws)
    statuses = evaluate(ws, evidence)
    names = {p.id: p.pseudonym for p in participants.list_all(ws, include_retired=True)}
    cover = artwork.prepare(ws.absolute(show.artwork) if show.artwork else None, show.title)
    # The new folder is built beside the old one: MP3s (twice, while encoding), texts, cover.
    seconds = sum(s.extract.duration_s for s in statuses.values() if s.publishable)
    needed = int(seconds * bitrate_kbps * 125 * 2) + 8_000_000
    with disk_space(target.parent, needed, "publishing"):
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.staging-"))
        return _write(
            ws,
            show,
            voices,
            base,
            target,
            staging,
            previous,
            evidence,
            statuses,
            names,
            cover,
            bitrate_kbps,
            step,
        )


def _write(
    ws: Workspace,
    show: ShowSettings,
    voices: VoiceStore,
    base: str,
    target: Path,
    staging: Path,
    previous: PublishState,
    evidence: gate.Evidence,
    statuses: dict[int, ExtractStatus],
    names: Mapping[str, str],
    cover: bytes,
    bitrate_kbps: int,
    step: Callable[[str], None],
) -> PublishResult:
    """Build the new folder in *staging*, audit it, swap it in (staging removed on any failure)."""
    try:
        published: dict[str, PublishedEpisode] = {}
        changes: list[str] = []
        listed: list[tuple[str, str, str, str]] = []
        items: list[feed.FeedItem] = []
        atomic_write_bytes(staging / COVER, cover)
        every = episodes.list_all(ws)
        for episode in every:
            cleared = [statuses[e.id] for e in episode.extracts if statuses[e.id].publishable]
            before = previous.episodes.get(episode.guid)
            if not cleared:
                if before:
                    changes.append(
                        f"Episode '{episode.title}' was removed from the feed: no extract is cleared."
                    )
                continue
            key = _build_key(show, episode, cleared, names, bitrate_kbps, cover)
            if before is not None and _reusable(before, key, target, previous):
                for name in before.files:
                    shutil.copy2(target / name, staging / name)
                entry = before
            else:
                step(f"Building episode {episode.id}: {episode.title}")
                built = build.build(
                    ws,
                    episode,
                    cleared,
                    staging,
                    voices=voices,
                    bitrate_kbps=bitrate_kbps,
                    artwork=(cover, "image/png"),
                    show=show,
                )
                entry = PublishedEpisode(
                    episode.guid,
                    episode.id,
                    before.published if before else now_iso(),
                    key,
                    tuple((s.extract.id, s.fingerprint) for s in cleared),
                    built.audio.name,
                    built.audio_bytes,
                    built.duration_s,
                    built.loudness_lufs,
                    built.true_peak_dbtp,
                    built.files["vtt"].name,
                    built.files["srt"].name,
                    built.files["json"].name,
                    built.files["chapters"].name,
                    built.language,
                )
                if before is None:
                    changes.append(f"New episode '{episode.title}'.")
                elif before.audio != entry.audio:
                    dropped = len(before.extracts) - len(entry.extracts)
                    detail = f" ({dropped} extract(s) fewer)" if dropped > 0 else ""
                    changes.append(
                        f"Episode '{episode.title}' was re-cut{detail}: new audio file, same guid."
                    )
                else:
                    changes.append(f"Episode '{episode.title}': transcripts or chapters rebuilt.")
            published[episode.guid] = entry
            items.append(
                feed.FeedItem(
                    episode.guid,
                    episode.title,
                    episode.description,
                    episode.number,
                    episode.season,
                    datetime.fromisoformat(entry.published.replace("Z", "+00:00")),
                    base + entry.audio,
                    entry.audio_bytes,
                    entry.duration_s,
                    base + entry.vtt,
                    base + entry.srt,
                    base + entry.json,
                    base + entry.chapters,
                    entry.language,
                )
            )
            listed.append((episode.title, episode.description, entry.audio, entry.vtt))
        remaining = {e.guid for e in every}
        deleted = [guid for guid in previous.episodes if guid not in published and guid not in remaining]
        if deleted:
            changes.append(f"{len(deleted)} deleted episode(s) left the feed.")
        feed_url = base + "feed.xml"
        atomic_write_bytes(
            staging / "feed.xml",
            feed.feed_xml(show, feed_url=feed_url, site_url=base, image_url=base + COVER, items=items),
        )
        atomic_write_text(staging / "index.html", _index_html(show.title, show.description, listed))
        atomic_write_text(staging / MARKER, _MARKER_TEXT)
        files = {
            p.name: sha256_file(p) for p in sorted(staging.iterdir()) if p.is_file() and p.name != MARKER
        }
        new_state = PublishState(published, files)
        step("Checking the folder before putting it in place")
        problems = audit.audit(ws, staging, new_state, statuses)
        if problems:
            raise AuditFailed(
                "The published folder failed its check: " + "; ".join(problems),
                hint="Nothing was changed in the published folder. Fix the cause and publish again.",
            )
        _swap(staging, target)
        publish_state.save(ws, new_state)
        build.prune_builds(ws)  # listening copies of removed episodes
        if base != show.base_url:
            # Kept for the next publish (after a withdrawal, run as the guides say).
            settings.save(dataclasses.replace(show, base_url=base), ws.settings_path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return PublishResult(
        target,
        feed_url,
        tuple(i.title for i in items),
        tuple(changes),
        (),
        None if evidence.trusted else evidence.problems[0],
    )


def _swap(staging: Path, target: Path) -> None:
    """Put the audited folder in place of the old one (readable by a web server from now on)."""
    staging.chmod(0o755)
    for path in staging.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    staging.rename(target)
    with contextlib.suppress(OSError):
        shutil.rmtree(old)


def check(ws: Workspace, out_dir: Path | None = None) -> list[str]:
    """Audit the published folder again: every promise, and every byte against the recorded state."""
    folder = (out_dir or ws.publish_dir).resolve()
    if not folder.is_dir():
        return [f"{folder} does not exist: run 'podcast publish'"]
    state = publish_state.load(ws)
    evidence = checkpoints.evidence(ws)
    problems = audit.audit(ws, folder, state, evaluate(ws, evidence))
    if not evidence.trusted:
        problems.insert(0, f"the consent ledger does not verify ({evidence.problems[0]})")
    return problems
