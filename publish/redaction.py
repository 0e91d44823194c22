"""Redaction: sensitive words found by word timestamps, removed from audio and text.

Matching is case-, accent- and punctuation-insensitive and handles multi-word phrases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sessions.extracts import normalise

REDACTED = "[…]"
MARGIN_S = 0.06
# A sensitive word's own times may be short (the recogniser's alignment cuts long words: a
# 0.24-s "hospital" was heard again after its bleep, in a 90-minute benchmark session): the
# bleep also covers the pause before and after it, up to this much, never the next word.
GAP_FILL_S = 0.25
BLEEP_HZ = 1000.0
BLEEP_DBFS = -20.0


@dataclass(frozen=True)
class Span:
    first: int  # index of the first redacted word
    last: int  # index of the last redacted word (inclusive)
    start_s: float
    end_s: float


def find(words: Sequence[tuple[float, float, str]], phrases: Sequence[str]) -> list[Span]:
    """Where the phrases are said among timed words (start_s, end_s, text)."""
    tokens: list[tuple[str, int]] = []
    for index, (_s, _e, text) in enumerate(words):
        tokens.extend((token, index) for token in normalise(text).split())
    spans: list[Span] = []
    for phrase in phrases:
        target = normalise(phrase).split()
        if not target:
            continue
        for i in range(len(tokens) - len(target) + 1):
            if [t for t, _ in tokens[i : i + len(target)]] == target:
                first, last = tokens[i][1], tokens[i + len(target) - 1][1]
                before = words[first - 1][1] if first > 0 else float("-inf")
                after = words[last + 1][0] if last + 1 < len(words) else float("inf")
                start = min(words[first][0], max(before, words[first][0] - GAP_FILL_S))
                end = max(words[last][1], min(after, words[last][1] + GAP_FILL_S))
                spans.append(Span(first, last, start, end))
    return sorted(set(spans), key=lambda s: s.first)


def redacted_indexes(spans: Sequence[Span]) -> set[int]:
    return {i for span in spans for i in range(span.first, span.last + 1)}


def redact_words(texts: Sequence[str], spans: Sequence[Span]) -> list[str]:
    """Words with each redacted run replaced by one '[…]'."""
    hidden = redacted_indexes(spans)
    out: list[str] = []
    for index, text in enumerate(texts):
        if index in hidden:
            if not out or out[-1] != REDACTED:
                out.append(REDACTED)
        else:
            out.append(text)
    return out


def redact_text(text: str, phrases: Sequence[str]) -> str:
    """A title or line with every sensitive phrase replaced by '[…]' (as it is published)."""
    words = text.split()
    spans = find([(0.0, 0.0, w) for w in words], phrases)
    return " ".join(redact_words(words, spans))


def bleep(
    samples: np.ndarray, rate_hz: int, windows: Sequence[tuple[float, float]], *, silence: bool = False
) -> np.ndarray:
    """Replace each (start_s, end_s) window, widened by a small margin, by a tone or silence."""
    out = samples.copy()
    for start_s, end_s in windows:
        first = max(0, int((start_s - MARGIN_S) * rate_hz))
        last = min(len(out), int((end_s + MARGIN_S) * rate_hz))
        if last <= first:
            continue
        if silence:
            out[first:last] = 0.0
            continue
        t = np.arange(last - first) / rate_hz
        tone = (10 ** (BLEEP_DBFS / 20)) * np.sin(2 * np.pi * BLEEP_HZ * t)
        ramp = min(len(tone) // 4, int(0.005 * rate_hz))
        if ramp:
            fade = np.linspace(0, 1, ramp)
            tone[:ramp] *= fade
            tone[-ramp:] *= fade[::-1]
        out[first:last] = tone.astype(out.dtype)
    return out
