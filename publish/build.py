"""Building an episode: the consented renderings, joined with short fades and pauses,
normalised to -16 LUFS (true peak under -1 dBTP), MP3 through ffmpeg, ID3v2.4 tags with a
chapter per extract, and transcripts and chapters shifted to episode time."""

from __future__ import annotations

import contextlib
import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from consent import checkpoints, decisions, gate, sensitive
from consent.decisions import ExtractStatus
from podcast import ffmpeg
from podcast.errors import PodcastError
from podcast.fsutil import atomic_write_bytes, atomic_write_text, private_dir
from podcast.settings import ShowSettings
from podcast.workspace import Workspace
from publish import anonymise, episodes, loudness, redaction, tags
from publish.anonymise import RATE_HZ
from publish.episodes import Episode
from publish.voices import VoiceStore
from sessions.formats import Phrase, TimedWord, to_json, to_srt, to_vtt

GAP_S = 0.8
FADE_S = 0.02


class GateRefused(PodcastError):
    """An episode contains extracts that may not be published."""


@dataclass(frozen=True)
class ChapterInfo:
    start_s: float
    end_s: float
    title: str
    extract_id: int
    fingerprint: str


@dataclass(frozen=True)
class BuiltEpisode:
    episode_id: int
    guid: str
    audio: Path
    audio_bytes: int
    audio_sha256: str
    duration_s: float
    loudness_lufs: float
    true_peak_dbtp: float
    chapters: tuple[ChapterInfo, ...]
    files: dict[str, Path]  # vtt, srt, json, chapters
    language: str = ""  # the language most of its words are in ("" if no line says)


def blockers(items: list[ExtractStatus]) -> list[str]:
    """Why each extract may not be published, as the gate says (never naming who refused)."""
    return [
        f"Extract {item.extract.id} ({item.extract.title}): {item.reason}."
        for item in items
        if item.reason is not None
    ]


def check_gate(ws: Workspace, episode: Episode, evidence: gate.Evidence | None = None) -> list[ExtractStatus]:
    """The episode's extracts, if the gate clears every one; else GateRefused listing why."""
    found = evidence if evidence is not None else checkpoints.evidence(ws)
    items = decisions.statuses(ws, episode.extracts, found)
    reasons = blockers(items)
    if not found.trusted:
        raise GateRefused(
            f"Episode {episode.id} cannot be built: the consent ledger does not verify "
            f"({found.problems[0]}).",
            hint=found.hint,
        )
    if reasons or not items:
        raise GateRefused(
            f"Episode {episode.id} cannot be built: " + (" ".join(reasons) or "it has no extract."),
            hint="Complete the consent review (podcast consent status) and render protected audio.",
        )
    return items


def prune_builds(ws: Workspace, episode_id: int | None = None, keep: tuple[Path, ...] = ()) -> int:
    """Remove listening copies no longer referenced: every file of *episode_id*'s build folder
    but *keep*, and the build folders of removed episodes. Returns how many files went."""
    root = ws.root / "builds"
    if not root.is_dir():
        return 0
    live = {f"episode-{e.id:04d}" for e in episodes.list_all(ws)}
    removed = 0
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        stale = folder.name not in live
        mine = episode_id is not None and folder.name == f"episode-{episode_id:04d}"
        for path in folder.iterdir():
            if path.is_file() and (stale or (mine and path not in keep)):
                path.unlink()
                removed += 1
        if stale:
            with contextlib.suppress(OSError):
                folder.rmdir()
    return removed


def _fade(samples: np.ndarray) -> None:
    """Fade in and out, in place."""
    ramp = int(FADE_S * RATE_HZ)
    if len(samples) > 2 * ramp:
        samples[:ramp] *= np.linspace(0, 1, ramp, dtype=np.float32)
        samples[-ramp:] *= np.linspace(1, 0, ramp, dtype=np.float32)


def build(
    ws: Workspace,
    episode: Episode,
    items: list[ExtractStatus],
    out_dir: Path,
    *,
    voices: VoiceStore,
    bitrate_kbps: int = 96,
    artwork: tuple[bytes, str] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    show: ShowSettings | None = None,
) -> BuiltEpisode:
    """Build the episode from these (cleared and protected) extracts into *out_dir*.

    File names derive from content hashes, so a re-cut never reuses a URL.
    """
    show = show or ws.settings()
    chapters: list[ChapterInfo] = []
    phrases: list[Phrase] = []
    position = 0.0
    total_steps = len(items) + 2
    renderings = []
    for item in items:
        if not item.publishable:
            raise GateRefused(
                f"Extract {item.extract.id} may not be published: {item.reason}.",
                hint="This is a bug; please report it.",
            )
        renderings.append(
            anonymise.render(ws, item.extract, voices=voices, models=None, content=item.content)
        )
    # The episode is assembled in one array (no list of pieces beside it, no copy).
    lengths = [sf.info(str(r.path)).frames for r in renderings]
    gap = int(GAP_S * RATE_HZ)
    joined = np.zeros(sum(lengths) + gap * max(0, len(lengths) - 1) or RATE_HZ, dtype=np.float32)
    at = 0
    for index, (item, rendering, length) in enumerate(zip(items, renderings, lengths, strict=True)):
        if index:
            at += gap
            position += GAP_S
        audio, rate = sf.read(str(rendering.path), dtype="float32")
        assert rate == RATE_HZ and len(audio) == length
        joined[at : at + length] = audio
        _fade(joined[at : at + length])
        at += length
        words_for_title = [p.phrase for p in sensitive.list_for(ws, item.extract.session_id)]
        chapters.append(
            ChapterInfo(
                position,
                position + length / RATE_HZ,
                redaction.redact_text(item.extract.title, words_for_title),
                item.extract.id,
                item.fingerprint,
            )
        )
        for line in rendering.lines:
            phrases.append(
                Phrase(
                    line.speaker,
                    tuple(TimedWord(position + w.start_s, position + w.end_s, w.text) for w in line.words),
                    line.language,
                )
            )
        position += length / RATE_HZ
        if on_progress:
            on_progress(index + 1, total_steps)
    joined = loudness.normalise(joined, RATE_HZ)
    private_dir(out_dir)
    short = episode.guid.split("-")[0]
    with tempfile.TemporaryDirectory(dir=ws.tmp_dir) as tmp:
        mp3 = Path(tmp) / "episode.mp3"
        # 44.1 kHz here (faster than ffmpeg's resampler), so ffmpeg only encodes; the MP3 is
        # measured as it is encoded, decoded as a player would.
        meter = loudness.Meter(44_100)
        resampled = loudness.resample(joined, 147, 160)
        duration = len(joined) / RATE_HZ
        del joined  # the 48 kHz episode is not needed any more
        ffmpeg.encode_mp3(
            resampled,
            44_100,
            mp3,
            bitrate_kbps=bitrate_kbps,
            listen=lambda block, _rate: meter.add(block),
        )
        lufs, peak = round(meter.lufs, 2), round(meter.true_peak_dbtp, 2)
        if abs(lufs - loudness.TARGET_LUFS) > 1.0 or peak > -1.0:
            raise PodcastError(
                f"Episode {episode.id} came out at {lufs} LUFS / {peak} dBTP after encoding.",
                hint="Please report this; try another --bitrate meanwhile.",
            )
        if on_progress:
            on_progress(len(items) + 1, total_steps)
        art, mime = artwork if artwork else (None, "image/png")
        tags.write(
            mp3,
            title=episode.title,
            show=show.title,
            artist=show.author,
            number=episode.number,
            artwork=art,
            artwork_mime=mime,
            chapters=[
                tags.Chapter(round(c.start_s * 1000), round(c.end_s * 1000), c.title) for c in chapters
            ],
        )
        data = mp3.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        audio_path = out_dir / f"ep-{short}-{digest[:16]}.mp3"
        atomic_write_bytes(audio_path, data)
    files = {}
    for kind, text in (("vtt", to_vtt(phrases)), ("srt", to_srt(phrases)), ("json", to_json(phrases))):
        name = (
            f"ep-{short}-{digest[:16]}.{kind}"
            if kind != "json"
            else f"ep-{short}-{digest[:16]}.transcript.json"
        )
        atomic_write_text(out_dir / name, text)
        files[kind] = out_dir / name
    chapters_doc = {
        "version": "1.2.0",
        "chapters": [{"startTime": round(c.start_s, 3), "title": c.title} for c in chapters],
    }
    files["chapters"] = out_dir / f"ep-{short}-{digest[:16]}.chapters.json"
    atomic_write_text(files["chapters"], json.dumps(chapters_doc, ensure_ascii=False, indent=2) + "\n")
    if on_progress:
        on_progress(total_steps, total_steps)
    return BuiltEpisode(
        episode.id,
        episode.guid,
        audio_path,
        len(data),
        digest,
        duration,
        lufs,
        peak,
        tuple(chapters),
        files,
        main_language(phrases),
    )


def main_language(phrases: list[Phrase]) -> str:
    """The language most of the words are in ("" if no line is tagged)."""
    counts: dict[str, int] = {}
    for phrase in phrases:
        if phrase.language:
            counts[phrase.language] = counts.get(phrase.language, 0) + len(phrase.words)
    return max(sorted(counts), key=counts.__getitem__) if counts else ""
