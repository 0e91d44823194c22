"""Transcript files: WebVTT (voice spans), SRT, plain text and Podcasting 2.0 JSON.

Everything works on `Phrase`s (a speaker and timed words), so episodes can reuse it with
times shifted to episode time and redactions applied.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import srt

from podcast.text import printable

VTT_LINE_CHARS = 65
SRT_LINE_CHARS = 42
MAX_LINES = 2


@dataclass(frozen=True)
class TimedWord:
    start_s: float
    end_s: float
    text: str


@dataclass(frozen=True)
class Phrase:
    speaker: str
    words: tuple[TimedWord, ...]
    language: str = ""  # ISO 639 code of the line ("" when unknown)


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    speaker: str
    lines: tuple[str, ...]
    language: str = ""

    @property
    def text(self) -> str:
        return " ".join(self.lines)


def clean(phrases: Iterable[Phrase]) -> list[Phrase]:
    """Phrases with control and invisible characters removed from names and words."""
    result = []
    for phrase in phrases:
        words = tuple(
            TimedWord(w.start_s, w.end_s, text) for w in phrase.words if (text := printable(w.text).strip())
        )
        result.append(Phrase(printable(phrase.speaker), words, phrase.language))
    return result


def _wrap(text: str, first_width: int, width: int) -> list[str]:
    lines = textwrap.wrap(text, width=max(1, first_width), break_long_words=False, break_on_hyphens=False)
    if len(lines) <= 1:
        return lines
    rest = textwrap.wrap(" ".join(lines[1:]), width=width, break_long_words=False, break_on_hyphens=False)
    return [lines[0], *rest]


def cues(phrases: Iterable[Phrase], *, width: int, prefix_chars: int) -> list[Cue]:
    """Split phrases into cues of at most two lines of *width* characters.

    A new cue always starts when the speaker changes. *prefix_chars* is how many characters
    the speaker label takes on a cue's first line (plus the name's length).
    """
    result: list[Cue] = []
    for phrase in clean(phrases):
        first_width = width - (prefix_chars + len(phrase.speaker) if prefix_chars else 0)
        current: list[TimedWord] = []
        for word in phrase.words:
            trial = " ".join(w.text for w in [*current, word])
            if current and len(_wrap(trial, first_width, width)) > MAX_LINES:
                result.append(_cue(phrase, current, first_width, width))
                current = []
            current.append(word)
        if current:
            result.append(_cue(phrase, current, first_width, width))
    return result


def _cue(phrase: Phrase, words: Sequence[TimedWord], first_width: int, width: int) -> Cue:
    text = " ".join(w.text for w in words)
    return Cue(
        words[0].start_s,
        max(words[-1].end_s, words[0].start_s + 0.01),
        phrase.speaker,
        tuple(_wrap(text, first_width, width)),
        phrase.language,
    )


def _vtt_time(seconds: float) -> str:
    millis = round(max(0.0, seconds) * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(phrases: Iterable[Phrase]) -> str:
    """WebVTT with a <v Pseudonym> voice span per cue; no line longer than 65 characters."""
    out = ["WEBVTT", ""]
    # "<v " + ">" take 4 characters on the first line of each cue.
    for cue in cues(phrases, width=VTT_LINE_CHARS, prefix_chars=4):
        out.append(f"{_vtt_time(cue.start_s)} --> {_vtt_time(cue.end_s)}")
        lines = [_vtt_escape(line) for line in cue.lines]
        lines[0] = f"<v {_vtt_escape(cue.speaker)}>{lines[0]}"
        out.extend(lines)
        out.append("")
    return "\n".join(out)


def to_srt(phrases: Iterable[Phrase]) -> str:
    """SRT: at most two lines per cue, a new cue on every change of speaker."""
    items = []
    # "Name: " prefix on the first line.
    for index, cue in enumerate(cues(phrases, width=SRT_LINE_CHARS, prefix_chars=2), start=1):
        lines = list(cue.lines)
        lines[0] = f"{cue.speaker}: {lines[0]}"
        items.append(
            srt.Subtitle(
                index,
                timedelta(seconds=cue.start_s),
                timedelta(seconds=cue.end_s),
                "\n".join(lines),
            )
        )
    return srt.compose(items, reindex=False)


def to_json(phrases: Iterable[Phrase]) -> str:
    """Podcasting 2.0 JSON transcript (version 1.0.0), one segment per cue, each with the
    language it is spoken in when known (an extra key, which readers of the format ignore)."""
    segments = [
        {
            "speaker": cue.speaker,
            "startTime": round(cue.start_s, 3),
            "endTime": round(cue.end_s, 3),
            "body": cue.text,
            **({"language": cue.language} if cue.language else {}),
        }
        for cue in cues(phrases, width=VTT_LINE_CHARS, prefix_chars=0)
    ]
    return json.dumps({"version": "1.0.0", "segments": segments}, ensure_ascii=False, indent=2) + "\n"


def to_txt(phrases: Iterable[Phrase]) -> str:
    """Plain text: one paragraph per phrase with its start time and speaker."""
    lines = []
    for phrase in clean(phrases):
        if phrase.words:
            start = _vtt_time(phrase.words[0].start_s)[:-4]
            lines.append(f"[{start}] {phrase.speaker}: " + " ".join(w.text for w in phrase.words))
    return "\n".join(lines) + "\n"


FORMATS = {"vtt": to_vtt, "srt": to_srt, "json": to_json, "txt": to_txt}
