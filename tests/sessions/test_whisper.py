"""How speech is packed into Whisper windows and how times map back to the take (no model)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from podcast import speech
from sessions import whisper
from sessions.whisper import Chunk

RATE = whisper.SAMPLE_RATE_HZ


def _speech_with_pauses(pauses_s: list[float]) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """espeak-ng sentences separated by silences of the given lengths; returns the 16 kHz audio
    and each sentence's (start, end)."""
    from scipy.signal import resample_poly

    parts: list[np.ndarray] = [np.zeros(RATE // 2, dtype=np.float32)]
    spans = []
    cursor = RATE // 2
    for index, pause in enumerate([*pauses_s, 0.5]):
        mono, rate = speech.synthesize(f"This is sentence number {index + 1} of the test.", voice="en")
        mono = resample_poly(mono, RATE, rate).astype(np.float32) * 0.7
        spans.append((cursor / RATE, (cursor + len(mono)) / RATE))
        parts += [mono, np.zeros(int(pause * RATE), dtype=np.float32)]
        cursor += len(mono) + int(pause * RATE)
    return np.concatenate(parts), spans


def test_plan_leaves_long_pauses_out_and_keeps_every_sentence() -> None:
    audio, spans = _speech_with_pauses([8.0, 0.8, 12.0, 0.8, 6.0])
    chunks = whisper.plan_chunks(audio)
    assert len(chunks) == 1, "20 s of speech spread over 45 s fits in one window"
    pieces = chunks[0].pieces
    assert sum(b - a for a, b in pieces) <= whisper.MAX_CHUNK_S
    for start, end in spans:  # every sentence is inside a piece (espeak ends on near-silence)
        assert any(a <= start and end - 0.15 <= b for a, b in pieces), (start, end)
    for (_, end), (start, _) in itertools.pairwise(spans):
        if start - end > 5:  # a long pause is not decoded
            assert not any(a < end + 1.0 and start - 1.0 < b for a, b in pieces)


def test_chunks_never_hold_more_than_30_seconds_of_speech() -> None:
    audio, _ = _speech_with_pauses([0.5] * 20)
    chunks = whisper.plan_chunks(audio)
    assert len(chunks) >= 2
    for chunk in chunks:
        assert sum(b - a for a, b in chunk.spans) <= whisper.MAX_CHUNK_S + 1e-6
    planned = [p for c in chunks for p in c.spans]
    assert planned == sorted(planned)


def test_packed_times_map_back_to_the_take() -> None:
    audio = np.arange(60 * RATE, dtype=np.float32)  # sample value = its index in the take
    chunks = [Chunk(2.0, 20.0, (), ((2.0, 5.0), (15.0, 20.0))), Chunk(30.0, 40.0)]
    packed, clips, maps = whisper._pack(audio, chunks)
    assert len(packed) == (3 + 5 + 10) * RATE
    assert clips == [{"start": 0.0, "end": 8.0}, {"start": 8.0, "end": 18.0}]
    # The first sample of each piece in the packed audio is the take's sample at its start.
    assert packed[0] == 2 * RATE and packed[3 * RATE] == 15 * RATE and packed[8 * RATE] == 30 * RATE
    assert whisper._to_take(maps[0], 1.0) == 3.0
    assert whisper._to_take(maps[0], 3.5) == 15.5
    assert whisper._to_take(maps[1], 9.25) == 31.25


def test_segments_are_cut_where_the_speech_paused() -> None:
    mapping = [(0.0, 2.0, 3.0), (3.0, 15.0, 5.0)]
    words = [
        whisper.WordResult(2.1, 2.5, "Hello", 0.9),
        whisper.WordResult(2.6, 4.8, "there.", 0.9),
        whisper.WordResult(15.1, 15.4, "Yes", 0.8),
        whisper.WordResult(15.5, 16.0, "indeed.", 0.8),
    ]
    segments = whisper._segments_at_pauses(words, mapping, "en")
    assert [(s.text, s.start_s, s.end_s) for s in segments] == [
        ("Hello there.", 2.1, 4.8),
        ("Yes indeed.", 15.1, 16.0),
    ]


def test_a_turn_inside_a_chunk_keeps_only_its_pieces() -> None:
    chunk = Chunk(0.0, 20.0, ((0.0, 6.0), (9.0, 20.0)), ((0.0, 3.0), (4.0, 6.0), (9.0, 12.0), (15.0, 20.0)))
    assert chunk.within(9.0, 20.0).pieces == ((9.0, 12.0), (15.0, 20.0))
    assert Chunk.from_json(chunk.as_json()) == chunk


@pytest.mark.parametrize("old", [[0.0, 20.0, []], "x", [1, 2, 3, 4, 5]])
def test_a_plan_from_an_older_version_is_not_read_as_a_chunk(old: object) -> None:
    with pytest.raises((ValueError, TypeError)):
        Chunk.from_json(old)


def test_fixed_windows_cover_the_whole_audio() -> None:
    windows = whisper.fixed_windows(65.0)
    assert [(c.start_s, c.end_s) for c in windows] == [(0.0, 30.0), (30.0, 60.0), (60.0, 65.0)]
