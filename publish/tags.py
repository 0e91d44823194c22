"""The one wrapper around mutagen: ID3v2.4 tags and chapters, and nothing else.

Allowed frames are declared once; everything else is removed, so no encoder path, source
name or place can ride along.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from mutagen import MutagenError
from mutagen.id3 import APIC, CHAP, CTOC, ID3, TALB, TIT2, TPE1, TRCK, CTOCFlags, ID3NoHeaderError

from podcast.errors import AudioError

ALLOWED_FRAMES = ("TIT2", "TALB", "TPE1", "TRCK", "APIC", "CHAP", "CTOC")


@dataclass(frozen=True)
class Chapter:
    start_ms: int
    end_ms: int
    title: str


def write(
    path: Path,
    *,
    title: str,
    show: str,
    artist: str,
    number: int | None,
    artwork: bytes | None,
    artwork_mime: str,
    chapters: list[Chapter],
) -> None:
    """Replace every tag of an MP3 with exactly these."""
    try:
        with contextlib.suppress(ID3NoHeaderError):
            ID3(str(path)).delete()
        tags = ID3()
        tags.add(TIT2(encoding=3, text=title))
        tags.add(TALB(encoding=3, text=show))
        if artist:
            tags.add(TPE1(encoding=3, text=artist))
        if number is not None:
            tags.add(TRCK(encoding=3, text=str(number)))
        if artwork:
            tags.add(APIC(encoding=3, mime=artwork_mime, type=3, desc="Cover", data=artwork))
        ids = [f"chp{i}" for i in range(len(chapters))]
        if chapters:
            tags.add(
                CTOC(
                    element_id="toc",
                    flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                    child_element_ids=ids,
                    sub_frames=[TIT2(encoding=3, text="Chapters")],
                )
            )
        for element_id, chapter in zip(ids, chapters, strict=True):
            tags.add(
                CHAP(
                    element_id=element_id,
                    start_time=chapter.start_ms,
                    end_time=chapter.end_ms,
                    sub_frames=[TIT2(encoding=3, text=chapter.title)],
                )
            )
        tags.save(str(path), v2_version=4)
    except MutagenError as exc:
        raise AudioError(
            f"Cannot write the tags of {path.name}: {exc}.", hint="Rebuild the episode."
        ) from None


def read_frames(path: Path) -> dict[str, list[object]]:
    """Every ID3 frame in a file, by frame ID (for the audit and tests)."""
    try:
        tags = ID3(str(path))
    except ID3NoHeaderError:
        return {}
    except MutagenError as exc:
        raise AudioError(
            f"Cannot read the tags of {path.name}: {exc}.", hint="Rebuild the episode."
        ) from None
    frames: dict[str, list[object]] = {}
    for frame in tags.values():
        frames.setdefault(frame.FrameID, []).append(frame)
    return frames
