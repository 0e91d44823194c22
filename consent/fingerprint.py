"""The fingerprint of an extract: what exactly a participant consents to.

SHA-256 over the extract's source samples (all channels), its transcript (speaker IDs and
words, and whether a person reviewed it), the sensitive words applied to it, and the
protection mode and settings of each speaker in it. Change any of these and consent given
to the old fingerprint no longer counts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import soundfile as sf

from consent import sensitive
from consent.ledger import canonical
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
    sensitive_words: tuple[str, ...]
    protection: tuple[tuple[str, str], ...]  # (speaker ID, mode)

    @property
    def protected(self) -> bool:
        return bool(self.protection) and all(mode != NO_PROTECTION for _, mode in self.protection)

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(sorted({speaker for speaker, _ in self.lines if speaker != "unknown"}))


def _audio_sha256(ws: Workspace, extract: Extract) -> str:
    take = next(t for t in sessions.get(ws, extract.session_id).takes if t.id == extract.take_id)
    path = ws.absolute(take.relpath)
    start = round(extract.start_s * take.sample_rate_hz)
    stop = round(extract.end_s * take.sample_rate_hz)
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


def content(ws: Workspace, extract: Extract) -> ExtractContent:
    transcript = transcripts.load(ws, extract.session_id)
    lines = tuple((u.speaker_id or "unknown", u.text) for u in extracts.utterances_in(transcript, extract))
    words = tuple(sorted({extracts.normalise(p.phrase) for p in sensitive.list_for(ws, extract.session_id)}))
    speakers = sorted({speaker for speaker, _ in lines if speaker != "unknown"})
    # Voice protection is not built yet: every speaker is recorded as unprotected, which the
    # publication gate refuses.
    protection = tuple((speaker, NO_PROTECTION) for speaker in speakers)
    return ExtractContent(_audio_sha256(ws, extract), lines, transcript.reviewed, words, protection)


def of_content(item: ExtractContent, extract: Extract) -> str:
    data = {
        "v": FINGERPRINT_VERSION,
        "audio": item.audio_sha256,
        "range": [extract.take_id, extract.start_s, extract.end_s],
        "lines": [list(line) for line in item.lines],
        "reviewed": item.reviewed,
        "sensitive": list(item.sensitive_words),
        "protection": [list(p) for p in item.protection],
    }
    return hashlib.sha256(canonical(data)).hexdigest()


def fingerprint(ws: Workspace, extract: Extract) -> str:
    """The current fingerprint of an extract (hex SHA-256)."""
    return of_content(content(ws, extract), extract)
