"""The fingerprint of an extract: what exactly a participant consents to.

SHA-256 over the extract's source samples (all channels), its transcript (speaker IDs and
words, and whether a person reviewed its lines), the sensitive words applied to it, and the
protection mode and settings of each speaker in it. Change any of these and consent given
to the old fingerprint no longer counts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import soundfile as sf

from consent import protection, sensitive
from consent.ledger import canonical
from consent.protection import digest as protection_digest
from podcast.workspace import Workspace
from sessions import extracts, sessions, transcripts
from sessions.extracts import Extract

FINGERPRINT_VERSION = 1
NO_PROTECTION = "none"


@dataclass(frozen=True)
class ExtractContent:
    """Everything the fingerprint covers, in readable form."""

    audio_sha256: str
    lines: tuple[tuple[str, str], ...]  # (speaker ID or "unknown", text)
    reviewed: bool
    sensitive_words: tuple[str, ...]  # normalised phrases said in the extract
    settings: tuple[tuple[str, str], ...]  # (speaker ID, protection digest or "none")
    render_key: str  # names the protected rendering of exactly this content and settings
    rendered: bool  # whether that rendering exists (what the room heard)

    @property
    def protection(self) -> tuple[tuple[str, str], ...]:
        """What was applied: the settings once rendered; "none" for everyone before."""
        if self.rendered:
            return self.settings
        return tuple((speaker, NO_PROTECTION) for speaker, _ in self.settings)

    @property
    def protected(self) -> bool:
        return bool(self.settings) and all(mode != NO_PROTECTION for _, mode in self.protection)

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(sorted({speaker for speaker, _ in self.lines if speaker != "unknown"}))


AudioMemo = dict[tuple[object, ...], str]


def _audio_sha256(ws: Workspace, extract: Extract, memo: AudioMemo | None = None) -> str:
    take = next(t for t in sessions.get(ws, extract.session_id).takes if t.id == extract.take_id)
    start = round(extract.start_s * take.sample_rate_hz)
    stop = round(extract.end_s * take.sample_rate_hz)
    # A raw take changes only when its session is closed (sealed or destroyed) or a participant
    # is erased (silenced where she spoke): the digests of its extracts' audio were kept just
    # before, and stand for what each extract was when people decided on it. (What she said
    # leaves the transcript too, so an extract she spoke in gets a new fingerprint anyway.)
    row = ws.conn.execute(
        "SELECT sha256 FROM audio_digests WHERE take_id = ? AND start_frame = ? AND stop_frame = ?",
        (take.id, start, stop),
    ).fetchone()
    if row is not None:
        return str(row["sha256"])
    if take.archived:
        sessions.raw_path(ws, take)  # raises, saying how to open the session again
    path = ws.absolute(take.relpath)
    if memo is not None:
        # For display only (the workbench redraws often): the same file, unchanged on disk,
        # gives the same digest. Recording a decision or publishing never passes a memo.
        info = path.stat()
        key = (str(path), info.st_ino, info.st_size, info.st_mtime_ns, start, stop)
        if key not in memo:
            memo[key] = _audio_sha256(ws, extract)
        return memo[key]
    digest = hashlib.sha256(f"{take.channels}ch/{take.sample_rate_hz}Hz/".encode())
    with sf.SoundFile(str(path)) as handle:
        handle.seek(start)
        remaining = stop - start
        while remaining > 0:
            block = handle.read(min(remaining, 1 << 16), dtype="int32", always_2d=True)
            if not len(block):
                break
            digest.update(block.tobytes())
            remaining -= len(block)
    return digest.hexdigest()


def _setting(ws: Workspace, speaker: str, utterances: Sequence[transcripts.Utterance]) -> str:
    """Her protection as the extract is rendered. With one synthetic voice per language, the
    voice that reads each of her lines follows its language: a line whose language is
    corrected is read by another voice, so it is other content, agreed again."""
    if speaker == "unknown":
        return NO_PROTECTION
    digest = protection_digest(ws, speaker)
    chosen = protection.get(ws, speaker)
    if chosen.mode in protection.SYNTHETIC and len(chosen.voices) > 1:
        read_by = ",".join(chosen.voice_for(u.language) for u in utterances if u.speaker_id == speaker)
        digest += ":read-by:" + hashlib.sha256(read_by.encode()).hexdigest()[:16]
    if chosen.mode == "revoice" and any(
        any(transcripts.non_speech(u.text.split())) for u in utterances if u.speaker_id == speaker
    ):
        # Revoice once read "[laughs]" out; it is now a neutral sound. Only such extracts are
        # other content (agreed again); every other revoiced extract sounds as it did.
        digest += ":marks-v2"
    return digest


def content(
    ws: Workspace,
    extract: Extract,
    memo: AudioMemo | None = None,
    transcript: transcripts.Transcript | None = None,
) -> ExtractContent:
    """What the extract is now (*transcript*: the session's, if the caller just loaded it)."""
    if transcript is None or transcript.session_id != extract.session_id:
        transcript = transcripts.load(ws, extract.session_id)
    utterances = extracts.utterances_in(transcript, extract)
    lines = tuple((u.speaker_id or "unknown", u.text) for u in utterances)
    tokens = extracts.normalise(" ".join(text for _, text in lines)).split()
    phrases = {extracts.normalise(p.phrase) for p in sensitive.list_for(ws, extract.session_id)}
    words = tuple(sorted(p for p in phrases if extracts.says(tokens, p)))
    speakers = sorted({speaker for speaker, _ in lines})
    # An unknown speaker cannot be protected (her choice is unknown): the gate refuses it.
    settings = tuple((speaker, _setting(ws, speaker, utterances)) for speaker in speakers)
    audio = _audio_sha256(ws, extract, memo)
    key_data = {
        "audio": audio,
        "range": [extract.take_id, extract.start_s, extract.end_s],
        "lines": [list(x) for x in lines],
        "sensitive": list(words),
        "settings": [list(x) for x in settings],
    }
    render_key = hashlib.sha256(canonical(key_data)).hexdigest()
    rendered = (ws.renderings_dir / f"{render_key}.wav").exists()
    # Reviewed: a person listened to and checked every line of the extract (the whole
    # transcript need not be done for one extract to be read by a synthetic voice).
    reviewed = bool(utterances) and all(u.reviewed for u in utterances)
    return ExtractContent(audio, lines, reviewed, words, settings, render_key, rendered)


def of_content(item: ExtractContent, extract: Extract) -> str:
    data = {
        "v": FINGERPRINT_VERSION,
        "audio": item.audio_sha256,
        "range": [extract.take_id, extract.start_s, extract.end_s],
        "lines": [list(line) for line in item.lines],
        "reviewed": item.reviewed,
        "sensitive": list(item.sensitive_words),
        "protection": [list(p) for p in item.settings],
        # Whether the room heard the protected rendering or the original voices.
        "rendered": item.rendered,
    }
    return hashlib.sha256(canonical(data)).hexdigest()


def fingerprint(ws: Workspace, extract: Extract) -> str:
    """The current fingerprint of an extract (hex SHA-256)."""
    return of_content(content(ws, extract), extract)


def keep_audio_digest(ws: Workspace, extract: Extract) -> None:
    """Store the extract's audio digest, for when its raw take is sealed or destroyed."""
    take = next(t for t in sessions.get(ws, extract.session_id).takes if t.id == extract.take_id)
    start = round(extract.start_s * take.sample_rate_hz)
    stop = round(extract.end_s * take.sample_rate_hz)
    ws.conn.execute(
        "INSERT OR REPLACE INTO audio_digests VALUES (?, ?, ?, ?)",
        (take.id, start, stop, _audio_sha256(ws, extract)),
    )
