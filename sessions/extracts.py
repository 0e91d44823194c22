"""Extracts: stretches of a session the group may agree to broadcast.

An extract lies inside one take. Its edges snap to word edges (with a short margin in the
surrounding silence), so nobody is cut mid-word. Extracts need a complete transcript.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

from podcast.clock import now_iso
from podcast.errors import InvalidInputError, NotFoundError
from podcast.text import check_title, skeleton
from podcast.workspace import Workspace
from sessions import sessions, transcripts
from sessions.transcripts import Transcript, Utterance

EDGE_MARGIN_S = 0.15
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)$|^(\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class Extract:
    id: int
    session_id: int
    take_id: int
    title: str
    start_s: float  # take time
    end_s: float
    offset_s: float  # where the take starts in session time

    @property
    def session_start_s(self) -> float:
        return self.offset_s + self.start_s

    @property
    def session_end_s(self) -> float:
        return self.offset_s + self.end_s

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def parse_clock(text: str) -> float:
    """'12:03', '1:02:03.5' or '723.5' to seconds."""
    match = _CLOCK.match(text.strip())
    if not match:
        raise InvalidInputError(
            f"Cannot read the time {text!r}.", hint="Write it as MM:SS, H:MM:SS or seconds."
        )
    if match.group(4) is not None:
        return float(match.group(4))
    hours = int(match.group(1) or 0)
    return hours * 3600 + int(match.group(2)) * 60 + float(match.group(3))


@functools.lru_cache(maxsize=1 << 16)
def normalise(text: str) -> str:
    """Case-, accent-, punctuation- and look-alike-insensitive form of a word or phrase
    (the Unicode skeleton: one matcher for extracts, redaction and the publish audit)."""
    bare = "".join(c for c in skeleton(text) if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w']+", " ", bare).replace("'", " ").split())


def _take_offsets(ws: Workspace, session_id: int) -> dict[int, float]:
    offsets, position = {}, 0.0
    for take in sessions.get(ws, session_id).takes:
        offsets[take.id] = position
        position += take.duration_s
    return offsets


def _utterance_take(ws: Workspace, session_id: int, utterance: Utterance) -> int:
    for take in sessions.get(ws, session_id).takes:
        if take.position == utterance.take_position:
            return take.id
    raise NotFoundError("A transcript line has no take.", hint="Run podcast status.")


def _snap(transcript: Transcript, start_s: float, end_s: float) -> tuple[Utterance, Utterance, float, float]:
    """Snap a session-time range to word edges; returns first/last utterances and the range."""
    words = [(u, w) for u in transcript.utterances for w in u.words]
    inside = [(u, w) for u, w in words if u.offset_s + w.end_s > start_s and u.offset_s + w.start_s < end_s]
    if not inside:
        raise InvalidInputError(
            "No speech lies in that range.", hint="Check the times with 'podcast transcript show'."
        )
    first_u, first_w = inside[0]
    last_u, last_w = inside[-1]
    if first_u.take_position != last_u.take_position:
        raise InvalidInputError("An extract cannot span two takes.", hint="Make one extract per take.")
    before = [
        u.offset_s + w.end_s for u, w in words if u.offset_s + w.end_s <= first_u.offset_s + first_w.start_s
    ]
    after = [
        u.offset_s + w.start_s for u, w in words if u.offset_s + w.start_s >= last_u.offset_s + last_w.end_s
    ]
    start = first_u.offset_s + first_w.start_s - EDGE_MARGIN_S
    end = last_u.offset_s + last_w.end_s + EDGE_MARGIN_S
    if before:
        start = max(start, (before[-1] + first_u.offset_s + first_w.start_s) / 2)
    if after:
        end = min(end, (after[0] + last_u.offset_s + last_w.end_s) / 2)
    return first_u, last_u, max(first_u.offset_s, start), end


def says(tokens: list[str], phrase: str) -> bool:
    """Whether normalised *tokens* contain the normalised *phrase* as consecutive words."""
    target = normalise(phrase).split()
    return bool(target) and any(
        tokens[i : i + len(target)] == target for i in range(len(tokens) - len(target) + 1)
    )


def find_phrase(transcript: Transcript, phrase: str) -> list[tuple[Utterance, Utterance]]:
    """Every place the phrase is said, as (first utterance, last utterance) pairs."""
    target = normalise(phrase).split()
    if not target:
        raise InvalidInputError("The phrase to find is empty.", hint='Use --find "some words".')
    tokens: list[tuple[str, Utterance]] = []
    for utterance in transcript.utterances:
        for word in utterance.words:
            tokens.extend((token, utterance) for token in normalise(word.text).split())
    found = []
    for i in range(len(tokens) - len(target) + 1):
        if [t for t, _ in tokens[i : i + len(target)]] == target:
            found.append((tokens[i][1], tokens[i + len(target) - 1][1]))
    return found


def whole_turn(transcript: Transcript, first: Utterance, last: Utterance) -> tuple[Utterance, Utterance]:
    """Widen lines to the speaker's whole turn: the lines next to them by the same speaker,
    up to the first line by someone else (or the take's edge)."""
    lines = list(transcript.utterances)
    start, end = lines.index(first), lines.index(last)
    while start > 0 and _same_turn(lines[start - 1], lines[start]):
        start -= 1
    while end + 1 < len(lines) and _same_turn(lines[end], lines[end + 1]):
        end += 1
    return lines[start], lines[end]


def _same_turn(a: Utterance, b: Utterance) -> bool:
    return a.speaker_id == b.speaker_id and a.take_position == b.take_position


def add(
    ws: Workspace,
    session_id: int,
    *,
    from_s: float | None = None,
    to_s: float | None = None,
    segments: tuple[int, int] | None = None,
    find: str | None = None,
    title: str | None = None,
) -> Extract:
    """Define an extract by times (session time), transcript line numbers or a phrase (the
    speaker's whole turn in which it is said). Raises InvalidInputError if ambiguous.

    Line numbers are the stable ones `transcript show` prints (and the edit form's `#`): a
    line keeps its number when others are corrected or deleted.
    """
    sessions.require_open(ws, session_id)
    transcript = transcripts.require_transcript(ws, session_id)
    chosen = [x is not None for x in (from_s if to_s is not None else None, segments, find)]
    if sum(chosen) != 1:
        raise InvalidInputError(
            "Say which part to extract in one way.",
            hint='Use --from MM:SS --to MM:SS, or --segments 12-18, or --find "phrase".',
        )
    utterances = transcript.utterances
    if segments is not None:
        by_number = {u.key: u for u in utterances}
        missing = [n for n in segments if n not in by_number]
        if missing:
            raise InvalidInputError(
                f"Line {missing[0]} does not exist.",
                hint="Use the line numbers 'podcast transcript show' prints in its first column.",
            )
        first_u, last_u = by_number[segments[0]], by_number[segments[1]]
        if last_u.start_s < first_u.start_s:
            raise InvalidInputError(
                f"Line {segments[1]} comes before line {segments[0]}.", hint="Give the first line first."
            )
        from_s, to_s = first_u.start_s, last_u.end_s
    elif find is not None:
        matches = find_phrase(transcript, find)
        if not matches:
            raise InvalidInputError(
                f"{find!r} is not in the transcript.",
                hint="Check the spelling, or use --from/--to.",
            )
        if len(matches) > 1:
            raise InvalidInputError(
                f"{find!r} is said {len(matches)} times.",
                hint="Give a longer phrase, or use --from/--to.",
            )
        first_u, last_u = whole_turn(transcript, *matches[0])
        from_s, to_s = first_u.start_s, last_u.end_s
    assert from_s is not None and to_s is not None
    if to_s <= from_s:
        raise InvalidInputError("The end comes before the start.", hint="Check --from and --to.")
    first_u, _last_u, start, end = _snap(transcript, from_s, to_s)
    take_id = _utterance_take(ws, session_id, first_u)
    offset = _take_offsets(ws, session_id)[take_id]
    label = check_title(title, what="extract title") if title else _default_title(transcript, start, end)
    cursor = ws.conn.execute(
        "INSERT INTO extracts (session_id, take_id, start_s, end_s, title, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (session_id, take_id, round(start - offset, 3), round(end - offset, 3), label, now_iso()),
    )
    return get(ws, int(cursor.lastrowid or 0))


def _default_title(transcript: Transcript, start: float, end: float) -> str:
    words = [w.text for u in transcript.utterances for w in u.words if start <= u.offset_s + w.start_s < end]
    text = " ".join(words[:8]).strip(" ,.;:")
    return (text + "…") if len(words) > 8 else text or "Extract"


def get(ws: Workspace, extract_id: int) -> Extract:
    row = ws.conn.execute(
        "SELECT * FROM extracts WHERE id = ? AND removed_at IS NULL", (extract_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"There is no extract {extract_id}.", hint="See 'podcast extract list'.")
    offsets = _take_offsets(ws, row["session_id"])
    return Extract(
        row["id"],
        row["session_id"],
        row["take_id"],
        row["title"],
        row["start_s"],
        row["end_s"],
        offsets[row["take_id"]],
    )


def list_all(ws: Workspace, session_id: int | None = None) -> list[Extract]:
    query = "SELECT id FROM extracts WHERE removed_at IS NULL"
    args: tuple[int, ...] = ()
    if session_id is not None:
        sessions.get(ws, session_id)
        query += " AND session_id = ?"
        args = (session_id,)
    return [get(ws, r[0]) for r in ws.conn.execute(query + " ORDER BY id", args).fetchall()]


def remove(ws: Workspace, extract_id: int) -> Extract:
    """Remove an extract from the list (the ledger keeps its history)."""
    extract = get(ws, extract_id)
    ws.conn.execute("UPDATE extracts SET removed_at = ? WHERE id = ?", (now_iso(), extract_id))
    return extract


def utterances_in(transcript: Transcript, extract: Extract) -> list[Utterance]:
    """The transcript lines of an extract, cut to the words inside it."""
    out = []
    for utterance in transcript.utterances:
        words = tuple(
            w
            for w in utterance.words
            if extract.session_start_s
            <= utterance.offset_s + (w.start_s + w.end_s) / 2
            <= extract.session_end_s
        )
        if words:
            out.append(
                Utterance(
                    words[0].id,
                    utterance.take_position,
                    utterance.speaker_id,
                    utterance.speaker,
                    utterance.language,
                    words,
                    utterance.offset_s,
                    utterance.segment_id,
                )
            )
    return out
