"""The one wrapper around faster-whisper. Failures become TranscriptionError.

Audio is cut into chunks of at most 30 s at pauses found by the VAD; each chunk is decoded
on its own (batched), so a transcription can stop after any batch and resume with exactly
the same result, and each chunk gets its own detected language (speakers switch).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import podcast  # noqa: F401 - the offline switches must be set before faster-whisper loads
from podcast.errors import PodcastError

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 16_000
MAX_CHUNK_S = 30.0
# A speaker turn whose words average below this probability is decoded again on its own.
DOUBTFUL_TURN = 0.6
# ... and a turn of speech at least this long that came out with no word at all.
MISSING_TURN_S = 1.0


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


@dataclass(frozen=True)
class Chunk:
    """A stretch of audio decoded at once (at most 30 s) and its speaker turns, if several."""

    start_s: float
    end_s: float
    turns: tuple[tuple[float, float], ...] = ()


def load_audio(path: Path) -> np.ndarray:
    """Decode a file to 16 kHz mono float32 (all channels mixed)."""
    from faster_whisper.audio import decode_audio

    try:
        return np.asarray(decode_audio(str(path), sampling_rate=SAMPLE_RATE_HZ), dtype=np.float32)
    except Exception as exc:  # PyAV raises many types
        raise TranscriptionError(
            f"Cannot decode {path.name} for transcription: {exc}.", hint="Check the take file."
        ) from None


def plan_chunks(
    audio: np.ndarray, turn_of: Callable[[float, float], int | None] | None = None
) -> list[Chunk]:
    """Split speech into contiguous chunks of at most 30 s, cut at pauses (Silero VAD).

    With *turn_of* (who speaks in a time range, e.g. from microphone channels), each chunk
    also lists its speaker turns, so a turn in another language can be decoded on its own.
    """
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    speech = get_speech_timestamps(
        audio,
        VadOptions(max_speech_duration_s=MAX_CHUNK_S, min_silence_duration_ms=300, speech_pad_ms=200),
    )
    groups: list[list[tuple[float, float, int | None]]] = []
    for item in speech:
        start, end = item["start"] / SAMPLE_RATE_HZ, item["end"] / SAMPLE_RATE_HZ
        speaker = turn_of(start, end) if turn_of else None
        if groups and end - groups[-1][0][0] <= MAX_CHUNK_S:
            groups[-1].append((start, end, speaker))
        else:
            groups.append([(start, end, speaker)])
    chunks = []
    for regions in groups:
        turns: list[list[float]] = []
        previous: object = object()
        for start, end, speaker in regions:
            if turns and speaker == previous:
                turns[-1][1] = end
            else:
                turns.append([start, end])
            previous = speaker
        chunks.append(
            Chunk(
                round(regions[0][0], 3),
                round(regions[-1][1], 3),
                tuple((round(a, 3), round(b, 3)) for a, b in turns) if len(turns) > 1 else (),
            )
        )
    return chunks


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
    """A loaded Whisper model. Load once, transcribe many batches."""

    def __init__(
        self,
        model_dir: Path,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 0,
        batch_size: int = 2,
        beam_size: int = 5,
        allowed_languages: Sequence[str] = (),
    ) -> None:
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        try:
            # A folder path: faster-whisper never contacts a model hub for one.
            model = WhisperModel(
                str(model_dir),
                device=device,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                local_files_only=True,
            )
        except Exception as exc:
            raise TranscriptionError(
                f"The speech model in {model_dir} cannot be loaded: {exc}.",
                hint="Run 'podcast models verify' or 'podcast models repair'.",
            ) from None
        self.model = model
        self.batch_size = batch_size
        self.beam_size = beam_size
        self._filter = _LanguageFilter(model.model, frozenset(allowed_languages or ()))
        self._pipeline = BatchedInferencePipeline(_ModelView(model, self._filter))

    def _decode(
        self, audio: np.ndarray, chunks: Sequence[Chunk], language: str | None
    ) -> list[list[SegmentResult]]:
        """One batched pass: each chunk decoded on its own, its language detected if None."""
        self._filter.detected = []
        try:
            segments, _info = self._pipeline.transcribe(
                audio,
                language=language or "en",  # placeholder token, replaced per chunk when detecting
                multilingual=language is None,
                task="transcribe",
                beam_size=self.beam_size,
                batch_size=len(chunks),
                word_timestamps=True,
                vad_filter=False,
                clip_timestamps=[{"start": c.start_s, "end": c.end_s} for c in chunks],
                without_timestamps=False,
            )
            raw = list(segments)
        except Exception as exc:
            raise TranscriptionError(
                f"Transcription failed: {exc}.", hint="Run again with --debug."
            ) from None
        languages = self._filter.detected or [language or "en"] * len(chunks)
        results: list[list[SegmentResult]] = [[] for _ in chunks]
        for segment in raw:
            index = _chunk_of(chunks, float(segment.start), float(segment.end))
            words = _whole_words(segment.words or [])
            if words:
                results[index].append(
                    SegmentResult(
                        round(float(segment.start), 3),
                        round(float(segment.end), 3),
                        segment.text.strip(),
                        languages[index] if index < len(languages) else "en",
                        words,
                    )
                )
        return results

    def transcribe_batch(
        self, audio: np.ndarray, chunks: Sequence[Chunk], language: str | None
    ) -> list[list[SegmentResult]]:
        """Transcribe chunks independently; returns the segments of each chunk, in order.

        *language* None means: detect it per chunk, then decode again on its own any speaker
        turn whose words came out doubtful (she probably spoke another language than the rest
        of the chunk), keeping whichever reading is more confident. The task is always
        "transcribe" (Whisper otherwise translates when speakers switch language).
        """
        if not chunks:
            return []
        results = self._decode(audio, chunks, language)
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
                    doubtful.append((index, Chunk(start, end)))
        if doubtful:
            retried = self._decode(audio, [turn for _, turn in doubtful], None)
            for (index, turn), segments in zip(doubtful, retried, strict=True):
                before = _mean_probability(results[index], turn.start_s, turn.end_s) or 0.0
                after = _mean_probability(segments, turn.start_s, turn.end_s)
                if after is not None and after > before:
                    kept = _without_range(results[index], turn.start_s, turn.end_s)
                    results[index] = sorted([*kept, *segments], key=lambda seg: seg.start_s)
        return results


def _whole_words(pieces: Sequence[Any]) -> tuple[WordResult, ...]:
    """Whisper's words, with pieces that belong to the previous word joined to it."""
    words: list[WordResult] = []
    for piece in pieces:
        text = piece.word
        if not text.strip():
            continue
        start, end = round(float(piece.start), 3), round(float(piece.end), 3)
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


def _chunk_of(chunks: Sequence[Chunk], start_s: float, end_s: float) -> int:
    middle = (start_s + end_s) / 2
    for index, chunk in enumerate(chunks):
        if chunk.start_s - 0.05 <= middle <= chunk.end_s + 0.05:
            return index
    return min(range(len(chunks)), key=lambda i: abs(chunks[i].start_s - start_s))


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
