"""Reading, reviewing and editing a session's transcript.

Times are in session time: takes follow one another, so take 2 starts where take 1 ends.
Speakers are participants' IDs in storage and pseudonyms on display; logs never hold text.
"""

from __future__ import annotations

import difflib
import logging
import re
import sqlite3
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from consent import participants
from podcast.clock import now_iso
from podcast.db import transaction
from podcast.errors import InvalidInputError, NotFoundError
from podcast.text import check_line_text
from podcast.workspace import Workspace
from sessions import history, sessions
from sessions.formats import FORMATS, Phrase, TimedWord

log = logging.getLogger(__name__)

UNKNOWN = "unknown"
LOW_CONFIDENCE = 0.5
# A sound she made, kept in the transcript in brackets: "[laughs]", "(sighs)", "*laughter*", or
# over a few words, "[laughs softly]". A synthetic voice never reads it out: it becomes a
# neutral sound.
_CLOSES = {"[": "]", "(": ")", "*": "*"}
MAX_SOUND_WORDS = 6


def non_speech(words: Sequence[str]) -> list[bool]:
    """For each word, whether it is part of a sound written in brackets, not speech."""
    flags = [False] * len(words)
    index = 0
    while index < len(words):
        close = _CLOSES.get(words[index][:1])
        if close:
            for last in range(index, min(len(words), index + MAX_SOUND_WORDS)):
                tail = words[last].rstrip(".,;:!?")
                if tail.endswith(close) and (last > index or len(tail) > 1):
                    flags[index : last + 1] = [True] * (last + 1 - index)
                    index = last
                    break
        index += 1
    return flags


@dataclass(frozen=True)
class Word:
    id: int
    start_s: float
    end_s: float
    text: str
    probability: float
    reviewed: bool = False  # a person listened to it and checked it

    @property
    def low_confidence(self) -> bool:
        return self.probability < LOW_CONFIDENCE


@dataclass(frozen=True)
class Utterance:
    """A run of words by one speaker inside one segment."""

    key: int  # the first word's ID: stable across edits of the text
    take_position: int
    speaker_id: str | None
    speaker: str  # pseudonym, or "unknown"
    language: str
    words: tuple[Word, ...]
    offset_s: float  # where the take starts in session time
    segment_id: int = 0
    # How sure language detection was of *language* (None: given, or set by a person).
    language_p: float | None = None

    @property
    def language_uncertain(self) -> bool:
        """Its language was uncertain: a person should listen and say which it is."""
        from sessions.whisper import LANGUAGE_SURE

        return self.language_p is not None and self.language_p < LANGUAGE_SURE

    @property
    def reviewed(self) -> bool:
        return all(w.reviewed for w in self.words)

    @property
    def start_s(self) -> float:
        return self.offset_s + self.words[0].start_s

    @property
    def end_s(self) -> float:
        return self.offset_s + self.words[-1].end_s

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass(frozen=True)
class Marker:
    time_s: float
    label: str


@dataclass(frozen=True)
class Transcript:
    session_id: int
    utterances: tuple[Utterance, ...]
    markers: tuple[Marker, ...]
    takes_total: int
    takes_transcribed: int
    reviewed: bool

    @property
    def complete(self) -> bool:
        return self.takes_total > 0 and self.takes_transcribed == self.takes_total


def load(ws: Workspace, session_id: int) -> Transcript:
    """The session's transcript as utterances in time order (empty if not transcribed)."""
    session = sessions.get(ws, session_id)
    names = {p.id: p.pseudonym for p in participants.list_all(ws, include_retired=True)}
    utterances: list[Utterance] = []
    markers: list[Marker] = []
    offset = 0.0
    done = 0
    reviewed = True
    for take in session.takes:
        state = ws.conn.execute(
            "SELECT status, reviewed_at FROM transcripts WHERE take_id = ?", (take.id,)
        ).fetchone()
        if state is not None and state["status"] == "done":
            done += 1
        if state is None or state["reviewed_at"] is None:
            reviewed = False
        # One query per take: every word with its segment, in segment then word order.
        rows = ws.conn.execute(
            "SELECT w.id, w.start_s, w.end_s, w.text, w.probability, w.reviewed_at, w.participant_id, "
            "s.id AS segment_id, s.language, s.language_p "
            "FROM segments s JOIN words w ON w.segment_id = s.id "
            "WHERE s.take_id = ? ORDER BY s.start_s, s.id, w.position",
            (take.id,),
        ).fetchall()
        run: list[Word] = []
        speaker: str | None = None
        current: sqlite3.Row | None = None
        for row in rows:
            if (
                run
                and current is not None
                and (row["participant_id"] != speaker or row["segment_id"] != current["segment_id"])
            ):
                utterances.append(_utterance(take.position, speaker, names, current, run, offset))
                run = []
            speaker, current = row["participant_id"], row
            run.append(
                Word(
                    row["id"],
                    row["start_s"],
                    row["end_s"],
                    row["text"],
                    row["probability"],
                    row["reviewed_at"] is not None,
                )
            )
        if run and current is not None:
            utterances.append(_utterance(take.position, speaker, names, current, run, offset))
        markers.extend(
            Marker(offset + r["time_s"], r["label"])
            for r in ws.conn.execute("SELECT * FROM markers WHERE take_id = ? ORDER BY time_s", (take.id,))
        )
        offset += take.duration_s
    utterances.sort(key=lambda u: (u.start_s, u.key))
    return Transcript(
        session_id,
        tuple(utterances),
        tuple(markers),
        len(session.takes),
        done,
        reviewed and done == len(session.takes) and done > 0,
    )


def _utterance(
    position: int,
    speaker: str | None,
    names: dict[str, str],
    segment: sqlite3.Row,
    words: list[Word],
    offset: float,
) -> Utterance:
    return Utterance(
        words[0].id,
        position,
        speaker,
        names.get(speaker or "", UNKNOWN),
        segment["language"],
        tuple(words),
        offset,
        segment["segment_id"],
        segment["language_p"],
    )


def require_transcript(ws: Workspace, session_id: int) -> Transcript:
    transcript = load(ws, session_id)
    if not transcript.complete:
        raise InvalidInputError(
            f"Session {session_id} is not fully transcribed yet.",
            hint=f"Run: podcast transcribe {session_id}",
        )
    return transcript


# -- editing ------------------------------------------------------------------------------

_LINE = re.compile(r"^\[(?P<time>[0-9:.]+)\s+#(?P<key>\d+)\]\s*(?P<speaker>[^:]*?)\s*:\s?(?P<text>.*)$")


def clock(seconds: float) -> str:
    """H:MM:SS.s for display and editing."""
    hours, rest = divmod(max(0.0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{int(hours)}:{int(minutes):02d}:{secs:04.1f}"


def render_for_edit(transcript: Transcript) -> str:
    """The editable text form: one line per utterance, '[time #key] Speaker: text'."""
    lines = [
        f"# Session {transcript.session_id}: correct the words and the speaker names, then save.",
        "# Keep the [time #number] at the start of each line. Timings are kept automatically.",
        "# Speaker names: the session's pseudonyms, or 'unknown'.",
        "# Lines starting with # are ignored.",
        "",
    ]
    lines += [f"[{clock(u.start_s)} #{u.key}] {u.speaker}: {u.text}" for u in transcript.utterances]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class EditResult:
    utterances_changed: int
    words_changed: int
    speakers_changed: int
    lines_deleted: int = 0


def apply_edit(ws: Workspace, session_id: int, text: str, *, source: str = "cli") -> EditResult:
    """Apply an edited text form: words re-aligned to the old timings, speakers reassigned,
    and a line taken out of the form deleted (as it looks).

    Saving is not reviewing: `mark_reviewed` is a separate, explicit step. Raises
    InvalidInputError (changing nothing) for a line that cannot be read, an unknown key, an
    unknown speaker, a control character, or a form with no line left at all.
    """
    transcript = require_transcript(ws, session_id)
    session = sessions.require_open(ws, session_id)
    speakers = {p.pseudonym.casefold(): p.id for p in session.participants}
    if session.facilitator:
        speakers[session.facilitator.pseudonym.casefold()] = session.facilitator.id
    by_key = {u.key: u for u in transcript.utterances}
    edits: list[tuple[Utterance, str | None, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        hint = "Keep each line as '[time #number] Speaker: text'."
        if not match:
            raise InvalidInputError(f"Line {number} cannot be read.", hint=hint)
        utterance = by_key.get(int(match["key"]))
        if utterance is None:
            raise InvalidInputError(f"Line {number} refers to an unknown #{match['key']}.", hint=hint)
        name = match["speaker"].strip()
        if name.casefold() == UNKNOWN:
            speaker_id = None
        elif name.casefold() in speakers:
            speaker_id = speakers[name.casefold()]
        else:
            raise InvalidInputError(
                f"Line {number}: {name!r} is not a participant of this session.",
                hint="Use one of: " + ", ".join(p.pseudonym for p in session.participants) + ", unknown.",
            )
        words = check_line_text(match["text"], where=f"Line {number}").split()
        edits.append((utterance, speaker_id, words))
    if not edits and by_key:
        raise InvalidInputError(
            "The edited transcript has no line left; nothing changed.",
            hint="To remove a line, delete that line only; to stop, quit the editor without saving.",
        )
    kept = {utterance.key for utterance, _speaker, _words in edits}
    deleted = [u for key, u in by_key.items() if key not in kept]
    changed = words_changed = speakers_changed = 0
    touched = {u.segment_id for u in deleted} | {u.segment_id for u, _s, _w in edits}
    with transaction(ws.conn), history.recording(ws, session_id, "edit", source, touched):
        for utterance in deleted:
            words_changed += _replace_words(ws, utterance, [], utterance.speaker_id)
        for utterance, speaker_id, new_words in edits:
            old_words = [w.text for w in utterance.words]
            text_changed = new_words != old_words
            speaker_changed = speaker_id != utterance.speaker_id
            if not (text_changed or speaker_changed):
                continue
            changed += 1
            speakers_changed += speaker_changed
            if text_changed:
                words_changed += _replace_words(ws, utterance, new_words, speaker_id)
            else:
                ws.conn.executemany(
                    "UPDATE words SET participant_id = ? WHERE id = ?",
                    [(speaker_id, w.id) for w in utterance.words],
                )
    log.info(
        "session %d: transcript edited (%d lines changed, %d deleted)", session_id, changed, len(deleted)
    )
    return EditResult(changed, words_changed, speakers_changed, len(deleted))


def mark_reviewed(ws: Workspace, session_id: int, keys: Collection[int] | None = None) -> int:
    """Record that a person listened to these lines (all of them without *keys*) and
    corrected them: what allows a synthetic voice to read them. Never implied by saving an
    edit. A take whose every line is reviewed counts as reviewed. Returns the lines marked.

    Raises NotFoundError for a line number that does not exist.
    """
    sessions.require_open(ws, session_id)
    transcript = require_transcript(ws, session_id)
    by_key = {u.key: u for u in transcript.utterances}
    chosen = list(by_key.values()) if keys is None else []
    for key in keys or ():
        if key not in by_key:
            raise NotFoundError(
                f"Line {key} does not exist.", hint="Use the numbers 'podcast transcript show' prints."
            )
        chosen.append(by_key[key])
    stamp = now_iso()
    with transaction(ws.conn):
        ws.conn.executemany(
            "UPDATE words SET reviewed_at = ? WHERE id = ? AND reviewed_at IS NULL",
            [(stamp, w.id) for u in chosen for w in u.words],
        )
        for take in sessions.get(ws, session_id).takes:
            left = ws.conn.execute(
                "SELECT COUNT(*) FROM words w JOIN segments s ON s.id = w.segment_id "
                "WHERE s.take_id = ? AND w.reviewed_at IS NULL",
                (take.id,),
            ).fetchone()[0]
            ws.conn.execute(
                "UPDATE transcripts SET reviewed_at = CASE WHEN ? THEN IFNULL(reviewed_at, ?) ELSE NULL END "
                "WHERE take_id = ?",
                (left == 0, stamp, take.id),
            )
    log.info("session %d: %d transcript lines marked reviewed", session_id, len(chosen))
    return len(chosen)


def keys_between(transcript: Transcript, first: int, last: int) -> list[int]:
    """The numbers of the lines from line *first* to line *last*, in transcript order."""
    order = [u.key for u in transcript.utterances]
    for key in (first, last):
        if key not in order:
            raise NotFoundError(
                f"Line {key} does not exist.", hint="Use the numbers 'podcast transcript show' prints."
            )
    start, end = order.index(first), order.index(last)
    if end < start:
        raise InvalidInputError(f"Line {last} comes before line {first}.", hint="Give the first line first.")
    return order[start : end + 1]


def not_reviewed(transcript: Transcript) -> list[Utterance]:
    """The lines nobody has listened to and checked yet."""
    return [u for u in transcript.utterances if not u.reviewed]


def realign(old: list[Word], new_texts: list[str]) -> list[tuple[float, float, str, float]]:
    """New words with timings: unchanged words keep theirs, replaced or inserted words share
    the time span of what they replace (or a sliver of the gap they are inserted in)."""
    matcher = difflib.SequenceMatcher(a=[w.text for w in old], b=new_texts, autojunk=False)
    result: list[tuple[float, float, str, float]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            result += [(w.start_s, w.end_s, w.text, w.probability) for w in old[i1:i2]]
            continue
        if j1 == j2:  # deletion
            continue
        if i1 < i2:
            span_start, span_end = old[i1].start_s, old[i2 - 1].end_s
        else:
            span_start = old[i1 - 1].end_s if i1 > 0 else old[0].start_s
            span_end = old[i1].start_s if i1 < len(old) else old[-1].end_s
        step = (span_end - span_start) / (j2 - j1)
        for k, text in enumerate(new_texts[j1:j2]):
            start = span_start + k * step
            result.append((round(start, 3), round(start + step, 3), text, 1.0))  # checked by a person
    return result


def _replace_words(ws: Workspace, utterance: Utterance, new_words: list[str], speaker_id: str | None) -> int:
    segment_id = ws.conn.execute("SELECT segment_id FROM words WHERE id = ?", (utterance.key,)).fetchone()[0]
    positions = [
        r[0]
        for r in ws.conn.execute(
            f"SELECT position FROM words WHERE id IN ({','.join('?' * len(utterance.words))})",
            [w.id for w in utterance.words],
        )
    ]
    first = min(positions)
    # Words typed in a line someone already checked count as checked; otherwise not yet.
    reviewed = now_iso() if utterance.reviewed else None
    aligned = realign(list(utterance.words), new_words)
    ws.conn.execute(
        f"DELETE FROM words WHERE id IN ({','.join('?' * len(utterance.words))})",
        [w.id for w in utterance.words],
    )
    # Make room (or close the gap) in the segment's word order.
    shift = len(aligned) - len(utterance.words)
    if shift:
        ws.conn.execute(
            "UPDATE words SET position = position + ? WHERE segment_id = ? AND position > ?",
            (shift, segment_id, max(positions)),
        )
    for k, (start, end, text, probability) in enumerate(aligned):
        ws.conn.execute(
            "INSERT INTO words (id, segment_id, position, start_s, end_s, text, probability, "
            "participant_id, reviewed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                utterance.key if k == 0 else None,
                segment_id,
                first + k,
                start,
                end,
                text,
                probability,
                speaker_id,
                reviewed,
            ),
        )
    matcher = difflib.SequenceMatcher(a=[w.text for w in utterance.words], b=new_words, autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")


# -- export -------------------------------------------------------------------------------


def phrases(transcript: Transcript, language: str | None = None) -> list[Phrase]:
    """The transcript as phrases in session time, ready for the file formats (only the lines
    in *language* when given)."""
    return [
        Phrase(
            u.speaker,
            tuple(TimedWord(u.offset_s + w.start_s, u.offset_s + w.end_s, w.text) for w in u.words),
            u.language,
        )
        for u in transcript.utterances
        if language is None or u.language == language
    ]


def languages(transcript: Transcript) -> list[str]:
    """The languages its lines are in, most spoken first."""
    counts: dict[str, int] = {}
    for u in transcript.utterances:
        counts[u.language] = counts.get(u.language, 0) + len(u.words)
    return sorted(counts, key=lambda code: (-counts[code], code))


def export(ws: Workspace, session_id: int, fmt: str, language: str | None = None) -> str:
    """The session's transcript as VTT, SRT, JSON or TXT text (one language's lines only, on request)."""
    if fmt not in FORMATS:
        raise InvalidInputError(f"Unknown format {fmt!r}.", hint="Use one of: " + ", ".join(FORMATS) + ".")
    transcript = require_transcript(ws, session_id)
    if language is not None and language not in languages(transcript):
        raise InvalidInputError(
            f"No line of session {session_id} is tagged {language!r}.",
            hint="Its lines are in: " + ", ".join(languages(transcript)) + ".",
        )
    return FORMATS[fmt](phrases(transcript, language))
