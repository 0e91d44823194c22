"""The one wrapper around faster-whisper. Failures become TranscriptionError.

The VAD finds the stretches of speech; they are packed, pauses left out, into chunks of at
most 30 s of speech (Whisper's window), so no window is spent on silence. Each chunk is
decoded on its own (batched), so a transcription can stop after any batch and resume with
exactly the same result, and each chunk gets its own detected language (speakers switch).
Times are mapped back from the packed audio to the take.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import queue
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

import podcast  # noqa: F401 - the offline switches must be set before faster-whisper loads
from podcast.errors import AudioError, PodcastError

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16_000
MAX_CHUNK_S = 30.0
# A speaker turn whose words average below this probability is decoded again on its own.
DOUBTFUL_TURN = 0.6
# ... and a turn of speech at least this long that came out with no word at all.
MISSING_TURN_S = 1.0
# What a stretch of speech that came out as no word at all becomes: a line with its times,
# for a person to listen to, never nothing.
NOT_UNDERSTOOD = "[not understood]"


class TranscriptionError(PodcastError):
    """The speech recogniser failed."""


@dataclass(frozen=True)
class WordResult:
    start_s: float
    end_s: float
    text: str
    probability: float


@dataclass(frozen=True)
class SegmentResult:
    start_s: float
    end_s: float
    text: str
    language: str
    words: tuple[WordResult, ...]


Span = tuple[float, float]


@dataclass(frozen=True)
class Chunk:
    """Audio decoded at once: the stretches of speech (*pieces*, take times) joined without
    the pauses between them, at most 30 s in all; no pieces means the whole span from
    *start_s* to *end_s*. *turns* lists its speaker turns, if there are several."""

    start_s: float
    end_s: float
    turns: tuple[Span, ...] = ()
    pieces: tuple[Span, ...] = ()

    @property
    def spans(self) -> tuple[Span, ...]:
        return self.pieces or ((self.start_s, self.end_s),)

    def within(self, start_s: float, end_s: float) -> Chunk:
        """The part of this chunk whose pieces lie in a time range (a speaker turn)."""
        kept = tuple((a, b) for a, b in self.spans if start_s <= (a + b) / 2 <= end_s)
        return Chunk(kept[0][0], kept[-1][1], (), kept) if kept else Chunk(start_s, end_s)

    def as_json(self) -> list[object]:
        return [self.start_s, self.end_s, [list(t) for t in self.turns], [list(p) for p in self.pieces]]

    @classmethod
    def from_json(cls, item: Any) -> Chunk:
        """Read back as_json(); raises ValueError on any other shape (a plan from an older version)."""
        if not isinstance(item, list) or len(item) != 4:
            raise ValueError("not a chunk")
        start, end, turns, pieces = item
        return cls(
            float(start),
            float(end),
            tuple((float(a), float(b)) for a, b in turns),
            tuple((float(a), float(b)) for a, b in pieces),
        )


def fixed_windows(duration_s: float) -> list[Chunk]:
    """Consecutive 30-s chunks over the whole audio, silence included (nothing is skipped)."""
    return [
        Chunk(float(start), float(min(duration_s, start + MAX_CHUNK_S)))
        for start in np.arange(0.0, duration_s, MAX_CHUNK_S)
    ]


def load_audio(path: Path, start_s: float = 0.0, duration_s: float | None = None) -> np.ndarray:
    """Decode a file (or the part of it from *start_s*, *duration_s* long) to 16 kHz mono
    float32, all channels mixed with equal weight.

    ffmpeg does the decoding and resampling in its own process (fast, and it runs while
    Python measures the channels)."""
    from podcast import ffmpeg

    try:
        channels = sf.info(str(path)).channels
    except (sf.LibsndfileError, RuntimeError):
        channels = 0  # a format libsndfile does not read: let ffmpeg mix it down
    mix = (
        ["-af", "pan=mono|c0=" + "+".join(f"{1 / channels!r}*c{i}" for i in range(channels))]
        if channels > 1
        else ["-ac", "1"]
    )
    part = [] if start_s <= 0 else ["-ss", f"{start_s:.6f}"]
    if duration_s is not None:
        part += ["-t", f"{duration_s:.6f}"]
    args = [*part, "-i", str(path), *mix, "-ar", str(SAMPLE_RATE_HZ), "-f", "f32le", "-"]
    try:
        data = ffmpeg.capture(args, subject=path)
    except AudioError as exc:
        raise TranscriptionError(exc.message, hint="Check the take file.") from None
    # Read-only, without a copy: the recogniser only reads it (a copy doubled the peak).
    return np.frombuffer(data, dtype="<f4")


def plan_chunks(
    audio: np.ndarray, turn_of: Callable[[float, float], int | None] | None = None
) -> list[Chunk]:
    """Find the speech (Silero VAD) and pack it, pauses left out, into chunks of at most 30 s.

    With *turn_of* (who speaks in a time range, e.g. from microphone channels), each chunk
    also lists its speaker turns, so a turn in another language can be decoded on its own.
    """
    return chunks_of(speech_spans(audio), turn_of)


def speech_spans(audio: np.ndarray, offset_s: float = 0.0) -> list[Span]:
    """The stretches of speech in 16 kHz audio (Silero VAD), as times from *offset_s*."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    speech = get_speech_timestamps(
        audio,
        # A stretch longer than 29 s is cut, so that with its padding it still fits in a window.
        VadOptions(max_speech_duration_s=MAX_CHUNK_S - 1, min_silence_duration_ms=300, speech_pad_ms=300),
    )
    release_free_memory()  # the VAD's large temporary buffers
    return [
        (
            round(offset_s + item["start"] / SAMPLE_RATE_HZ, 3),
            round(offset_s + item["end"] / SAMPLE_RATE_HZ, 3),
        )
        for item in speech
    ]


def chunks_of(
    spans: Sequence[Span], turn_of: Callable[[float, float], int | None] | None = None
) -> list[Chunk]:
    """Pack stretches of speech into chunks, each with its speaker turns if *turn_of* is given."""
    chunks = pack(spans)
    if turn_of is None:
        return chunks
    return [replace(chunk, turns=_turns(chunk.pieces, turn_of)) for chunk in chunks]


def pack(spans: Sequence[Span]) -> list[Chunk]:
    """Pack consecutive stretches of audio, in order, into chunks of at most 30 s in all."""
    groups: list[list[Span]] = []
    length = 0.0
    for start, end in spans:
        if groups and length + (end - start) <= MAX_CHUNK_S:
            groups[-1].append((start, end))
            length += end - start
        else:
            groups.append([(start, end)])
            length = end - start
    return [Chunk(group[0][0], group[-1][1], (), tuple(group)) for group in groups]


def _turns(pieces: Sequence[Span], turn_of: Callable[[float, float], int | None]) -> tuple[Span, ...]:
    """Consecutive pieces said by the same speaker, joined; () if one speaker only."""
    turns: list[list[float]] = []
    previous: object = object()
    for start, end in pieces:
        speaker = turn_of(start, end)
        if turns and speaker == previous:
            turns[-1][1] = end
        else:
            turns.append([start, end])
        previous = speaker
    return tuple((a, b) for a, b in turns) if len(turns) > 1 else ()


def release_free_memory() -> None:
    """Give memory freed by large temporary buffers back to the system (glibc only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class _LanguageFilter:
    """Wraps the CTranslate2 model so that language detection picks among allowed languages
    and remembers the language chosen for each chunk; everything else passes through."""

    def __init__(self, inner: Any, allowed: frozenset[str]) -> None:
        self._inner = inner
        self.allowed = allowed
        self.detected: list[str] = []

    def detect_language(self, features: Any) -> list[list[tuple[str, float]]]:
        results = self._inner.detect_language(features)
        chosen = []
        for ranking in results:
            kept = [(token, p) for token, p in ranking if token.strip("<|>") in self.allowed]
            chosen.append(kept or ranking)
        self.detected.extend(item[0][0].strip("<|>") for item in chosen)
        return chosen

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _ModelView:
    """The WhisperModel as the batched pipeline sees it, with the language filter inside."""

    def __init__(self, inner: Any, language_filter: _LanguageFilter) -> None:
        self._inner = inner
        self.model = language_filter

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class Recogniser:
    """A loaded Whisper model. Load once, transcribe many batches (from several threads at
    once if it has several workers)."""

    def __init__(
        self,
        model_dir: Path,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        beam_size: int = 5,
        allowed_languages: Sequence[str] = (),
        workers: int = 1,
    ) -> None:
        """*workers* decodings can run at once, from as many threads, each with *cpu_threads*
        threads (0: the cores shared between the workers)."""
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        if cpu_threads == 0 and workers > 1:
            cpu_threads = max(1, (os.cpu_count() or 1) // workers)

        try:
            # A folder path: faster-whisper never contacts a model hub for one.
            model = WhisperModel(
                str(model_dir),
                device=device,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                num_workers=workers,
                local_files_only=True,
            )
        except Exception as exc:
            raise TranscriptionError(
                f"The speech model in {model_dir} cannot be loaded: {exc}.",
                hint="Run 'podcast models verify' or 'podcast models repair'.",
            ) from None
        self.model = model
        self.beam_size = beam_size
        # One pipeline per worker: each remembers the languages its last call detected.
        self._idle: queue.SimpleQueue[tuple[_LanguageFilter, Any]] = queue.SimpleQueue()
        for _ in range(workers):
            language_filter = _LanguageFilter(model.model, frozenset(allowed_languages or ()))
            self._idle.put((language_filter, BatchedInferencePipeline(_ModelView(model, language_filter))))

    def _decode(
        self, audio: np.ndarray, chunks: Sequence[Chunk], language: str | None, offset_s: float = 0.0
    ) -> list[list[SegmentResult]]:
        """One batched pass: each chunk decoded on its own, its language detected if None."""
        packed, clips, maps = _pack(audio, chunks, offset_s)
        language_filter, pipeline = self._idle.get()
        language_filter.detected = []
        try:
            segments, _info = pipeline.transcribe(
                packed,
                language=language or "en",  # placeholder token, replaced per chunk when detecting
                multilingual=language is None,
                task="transcribe",
                beam_size=self.beam_size,
                batch_size=len(chunks),
                word_timestamps=True,
                vad_filter=False,
                clip_timestamps=clips,
                # Word times come from the alignment; timestamp tokens would only slow decoding.
                without_timestamps=True,
            )
            raw = list(segments)
        except Exception as exc:
            raise TranscriptionError(
                f"Transcription failed: {exc}.", hint="Run again with --debug."
            ) from None
        finally:
            self._idle.put((language_filter, pipeline))
        languages = language_filter.detected or [language or "en"] * len(chunks)
        results: list[list[SegmentResult]] = [[] for _ in chunks]
        for segment in raw:
            middle = (float(segment.start) + float(segment.end)) / 2
            index = next((i for i, c in enumerate(clips) if middle <= c["end"]), len(clips) - 1)
            words = _whole_words(segment.words or [], maps[index])
            language_code = languages[index] if index < len(languages) else "en"
            results[index].extend(_segments_at_pauses(words, maps[index], language_code))
        return results

    def transcribe_batch(
        self, audio: np.ndarray, chunks: Sequence[Chunk], language: str | None, offset_s: float = 0.0
    ) -> list[list[SegmentResult]]:
        """Transcribe chunks independently; returns the segments of each chunk, in order.

        *audio* starts at *offset_s* in the take (chunk times are take times).

        *language* None means: detect it per chunk, then decode again on its own any speaker
        turn whose words came out doubtful (she probably spoke another language than the rest
        of the chunk), keeping whichever reading is more confident. The task is always
        "transcribe" (Whisper otherwise translates when speakers switch language).
        """
        if not chunks:
            return []
        results = self._decode(audio, chunks, language, offset_s)
        if language is not None:
            return results
        doubtful: list[tuple[int, Chunk]] = []
        for index, chunk in enumerate(chunks):
            for start, end in chunk.turns:
                # A turn decoded as nothing at all is doubtful too: Whisper sometimes stops
                # decoding a window after a change of language.
                confidence = _mean_probability(results[index], start, end)
                missing = confidence is None and end - start >= MISSING_TURN_S
                if missing or (confidence is not None and confidence < DOUBTFUL_TURN):
                    doubtful.append((index, chunk.within(start, end)))
        if doubtful:
            retried = self._decode(audio, [turn for _, turn in doubtful], None, offset_s)
            for (index, turn), segments in zip(doubtful, retried, strict=True):
                before = _mean_probability(results[index], turn.start_s, turn.end_s) or 0.0
                after = _mean_probability(segments, turn.start_s, turn.end_s)
                if after is not None and after > before:
                    kept = _without_range(results[index], turn.start_s, turn.end_s)
                    results[index] = sorted([*kept, *segments], key=lambda seg: seg.start_s)
        return results


# A piece of a packed chunk: (start in the packed audio, start in the take, length), seconds.
PieceMap = list[tuple[float, float, float]]


def _pack(
    audio: np.ndarray, chunks: Sequence[Chunk], offset_s: float = 0.0
) -> tuple[np.ndarray, list[dict[str, float]], list[PieceMap]]:
    """Join each chunk's pieces, chunk after chunk, into one array; return it, each chunk's
    range in it (the pipeline's clip timestamps) and how its pieces map back to the take."""
    parts: list[np.ndarray] = []
    clips: list[dict[str, float]] = []
    maps: list[PieceMap] = []
    cursor = 0
    for chunk in chunks:
        first = cursor
        pieces: PieceMap = []
        for start_s, end_s in chunk.spans:
            part = audio[
                round((start_s - offset_s) * SAMPLE_RATE_HZ) : round((end_s - offset_s) * SAMPLE_RATE_HZ)
            ]
            pieces.append((cursor / SAMPLE_RATE_HZ, start_s, len(part) / SAMPLE_RATE_HZ))
            parts.append(part)
            cursor += len(part)
        clips.append({"start": first / SAMPLE_RATE_HZ, "end": cursor / SAMPLE_RATE_HZ})
        maps.append(pieces)
    packed = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return packed, clips, maps


def _piece_of(pieces: PieceMap, packed_s: float) -> int:
    index = 0
    for i, (packed_start, _take_start, _length) in enumerate(pieces):
        if packed_s >= packed_start:
            index = i
    return index


def _to_take(pieces: PieceMap, packed_s: float) -> float:
    """A time in the packed audio, as a time in the take."""
    packed_start, take_start, length = pieces[_piece_of(pieces, packed_s)]
    return round(take_start + min(max(packed_s - packed_start, 0.0), length), 3)


def _whole_words(pieces: Sequence[Any], mapping: PieceMap) -> tuple[WordResult, ...]:
    """Whisper's words in take times, with pieces that belong to the previous word joined to it."""
    words: list[WordResult] = []
    for piece in pieces:
        text = piece.word
        if not text.strip():
            continue
        start = _to_take(mapping, float(piece.start))
        end = max(start, _to_take(mapping, float(piece.end)))
        probability = float(piece.probability)
        # A piece without a leading space continues the word; so does an elided part that
        # the punctuation rules detached (French c + 'est, English it + 's).
        if words and (not text[:1].isspace() or text.strip()[:1] in "'’"):
            last = words[-1]
            words[-1] = WordResult(
                last.start_s,
                max(last.end_s, end),
                last.text + text.strip(),
                min(last.probability, probability),
            )
        else:
            words.append(WordResult(start, end, text.strip(), probability))
    return tuple(words)


def _segments_at_pauses(words: Sequence[WordResult], mapping: PieceMap, language: str) -> list[SegmentResult]:
    """Cut a chunk's words into segments where the speech paused (between two pieces)."""
    starts = [take_start for _packed, take_start, _length in mapping[1:]]
    segments: list[SegmentResult] = []
    current: list[WordResult] = []
    for word in words:
        if current and any(current[-1].start_s < cut <= word.start_s + 0.05 for cut in starts):
            segments.append(_segment(current, language))
            current = []
        current.append(word)
    if current:
        segments.append(_segment(current, language))
    return segments


def _segment(words: Sequence[WordResult], language: str) -> SegmentResult:
    return SegmentResult(
        words[0].start_s, words[-1].end_s, " ".join(w.text for w in words), language, tuple(words)
    )


def _in_range(word: WordResult, start_s: float, end_s: float) -> bool:
    return start_s <= (word.start_s + word.end_s) / 2 <= end_s


def _mean_probability(segments: Sequence[SegmentResult], start_s: float, end_s: float) -> float | None:
    probabilities = [w.probability for seg in segments for w in seg.words if _in_range(w, start_s, end_s)]
    return sum(probabilities) / len(probabilities) if probabilities else None


def _without_range(segments: Sequence[SegmentResult], start_s: float, end_s: float) -> list[SegmentResult]:
    kept = []
    for seg in segments:
        words = tuple(w for w in seg.words if not _in_range(w, start_s, end_s))
        if words:
            text = " ".join(w.text for w in words)
            kept.append(SegmentResult(words[0].start_s, words[-1].end_s, text, seg.language, words))
    return kept


def with_nothing_missing(
    chunk: Chunk, segments: Sequence[SegmentResult], language: str
) -> list[SegmentResult]:
    """The chunk's segments, plus a NOT_UNDERSTOOD line for every stretch of speech (VAD
    piece) of at least MISSING_TURN_S that no word falls in: a turn never vanishes."""
    if not chunk.pieces:  # a fixed window: no stretch of speech was found in it
        return list(segments)
    words = [w for seg in segments for w in seg.words]
    added = []
    for start, end in chunk.pieces:
        if end - start < MISSING_TURN_S:
            continue
        if not any(start - 0.3 <= (w.start_s + w.end_s) / 2 <= end + 0.3 for w in words):
            marker = WordResult(round(start, 3), round(end, 3), NOT_UNDERSTOOD, 0.0)
            added.append(SegmentResult(marker.start_s, marker.end_s, NOT_UNDERSTOOD, language, (marker,)))
    return sorted([*segments, *added], key=lambda seg: seg.start_s) if added else list(segments)
