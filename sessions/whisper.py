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
import zlib
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
# A language detected with a lower probability (among the show's spoken languages) is
# uncertain: the speech is decoded in each candidate language, the more confident reading is
# kept and the line is flagged for a person to check. Measured by `make bench-languages`.
LANGUAGE_SURE = 0.9
# Candidates: the other languages at least this probable (at most two of them).
LANGUAGE_CANDIDATE = 0.05
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
    # How sure language detection was of *language* (1.0: it was given, not detected).
    language_p: float = 1.0


Span = tuple[float, float]


@dataclass(frozen=True)
class Chunk:
    """Audio decoded at once: the stretches of speech (*pieces*, take times) joined without
    the pauses between them, at most 30 s in all; no pieces means the whole span from
    *start_s* to *end_s*. *turns* lists its speaker turns, if there are several. *language*:
    the language its speakers were found to speak when it was planned (None: not known)."""

    start_s: float
    end_s: float
    turns: tuple[Span, ...] = ()
    pieces: tuple[Span, ...] = ()
    language: str | None = None

    @property
    def spans(self) -> tuple[Span, ...]:
        return self.pieces or ((self.start_s, self.end_s),)

    def within(self, start_s: float, end_s: float) -> Chunk:
        """The part of this chunk whose pieces lie in a time range (a speaker turn)."""
        kept = tuple((a, b) for a, b in self.spans if start_s <= (a + b) / 2 <= end_s)
        if not kept:
            return Chunk(start_s, end_s, language=self.language)
        return Chunk(kept[0][0], kept[-1][1], (), kept, self.language)

    def as_json(self) -> list[object]:
        turns, pieces = [list(t) for t in self.turns], [list(p) for p in self.pieces]
        return [self.start_s, self.end_s, turns, pieces, *([self.language] if self.language else [])]

    @classmethod
    def from_json(cls, item: Any) -> Chunk:
        """Read back as_json(); raises ValueError on any other shape (a plan from an older version)."""
        if not isinstance(item, list) or len(item) not in (4, 5):
            raise ValueError("not a chunk")
        start, end, turns, pieces = item[:4]
        language = item[4] if len(item) == 5 else None
        if language is not None and not isinstance(language, str):
            raise ValueError("not a language")
        return cls(
            float(start),
            float(end),
            tuple((float(a), float(b)) for a, b in turns),
            tuple((float(a), float(b)) for a, b in pieces),
            language,
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


def plan_chunks(audio: np.ndarray) -> list[Chunk]:
    """Find the speech (Silero VAD) and pack it, pauses left out, into chunks of at most 30 s
    (one speaker, or speakers not told apart; chunks_by_group() for several microphones)."""
    return pack(speech_spans(audio))


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


SpeakerPiece = tuple[float, float, "int | None"]  # a stretch of one speaker's speech: start, end, who


def chunks_by_group(
    pieces: Sequence[SpeakerPiece], group_of: Callable[[int | None], object] = lambda speaker: speaker
) -> list[Chunk]:
    """Pack stretches of speech into chunks that never mix two groups of speakers (by
    default each speaker is her own group; transcription groups the speakers of one
    language, and a group that is a language code gives its chunks that language): each
    group's stretches in time order, the others' left out. Each chunk lists
    its speaker turns (a turn: one speaker's consecutive stretches, nobody else speaking
    between them), so a turn in another language than the rest of the chunk can be decoded
    on its own. Chunks come in order of their start."""
    turn_of: list[int] = []
    for index, (_start, _end, speaker) in enumerate(pieces):
        same = index > 0 and pieces[index - 1][2] == speaker
        turn_of.append(turn_of[-1] if same else (turn_of[-1] + 1 if turn_of else 0))
    groups_of: dict[object, list[int]] = {}
    for index, (_start, _end, speaker) in enumerate(pieces):
        groups_of.setdefault(group_of(speaker), []).append(index)
    chunks: list[Chunk] = []
    for key, indices in groups_of.items():
        groups: list[list[int]] = []
        length = 0.0
        for i in indices:
            size = pieces[i][1] - pieces[i][0]
            if groups and length + size <= MAX_CHUNK_S:
                groups[-1].append(i)
                length += size
            else:
                groups.append([i])
                length = size
        for group in groups:
            turns: dict[int, list[float]] = {}
            for i in group:
                turns.setdefault(turn_of[i], [pieces[i][0], pieces[i][1]])[1] = pieces[i][1]
            spans = tuple((a, b) for a, b in turns.values())
            chunks.append(
                Chunk(
                    pieces[group[0]][0],
                    pieces[group[-1]][1],
                    spans if len(spans) > 1 else (),
                    tuple((pieces[i][0], pieces[i][1]) for i in group),
                    key if isinstance(key, str) else None,
                )
            )
    return sorted(chunks, key=lambda c: (c.start_s, c.end_s))


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


def release_free_memory() -> None:
    """Give memory freed by large temporary buffers back to the system (glibc only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


Ranking = list[tuple[str, float]]  # languages and their probabilities, most probable first


class _LanguageFilter:
    """Wraps the CTranslate2 model so that language detection picks among allowed languages
    and remembers, for each chunk, the allowed languages with their probabilities (scaled to
    add up to one among them); everything else passes through."""

    def __init__(self, inner: Any, allowed: frozenset[str]) -> None:
        self._inner = inner
        self.allowed = allowed
        self.detected: list[Ranking] = []

    def detect_language(self, features: Any) -> list[list[tuple[str, float]]]:
        results = self._inner.detect_language(features)
        chosen = []
        for ranking in results:
            kept = [(token, p) for token, p in ranking if token.strip("<|>") in self.allowed]
            chosen.append(kept or ranking)
            total = sum(p for _, p in (kept or ranking)) or 1.0
            self.detected.append([(token.strip("<|>"), p / total) for token, p in (kept or ranking)])
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
        prompts: dict[str, str] | None = None,
    ) -> None:
        """*workers* decodings can run at once, from as many threads, each with *cpu_threads*
        threads (0: the cores shared between the workers). *prompts*: text given to the
        decoder before the speech of chunks planned in a language (e.g. Pidgin words for
        English chunks)."""
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
        self.allowed = frozenset(allowed_languages or ())
        self.prompts = dict(prompts or {})
        self.workers = max(1, workers)
        # One pipeline per worker: each remembers the languages its last call detected.
        self._idle: queue.SimpleQueue[tuple[_LanguageFilter, Any]] = queue.SimpleQueue()
        for _ in range(workers):
            language_filter = _LanguageFilter(model.model, frozenset(allowed_languages or ()))
            self._idle.put((language_filter, BatchedInferencePipeline(_ModelView(model, language_filter))))

    def languages_of(
        self, audio: np.ndarray, chunks: Sequence[Chunk], offset_s: float = 0.0
    ) -> list[Ranking]:
        """language_of() each chunk, as many at once as the recogniser has workers."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="language") as pool:
            return list(pool.map(lambda chunk: self.language_of(audio, chunk, offset_s), chunks))

    def language_of(self, audio: np.ndarray, chunk: Chunk, offset_s: float = 0.0) -> Ranking:
        """The allowed languages by probability (scaled to add up to one among them) of the
        first 30 s of a chunk's speech: one pass of the encoder, no decoding."""
        packed, _clips, _maps = _pack(audio, [chunk], offset_s)
        try:
            _language, _p, ranking = self.model.detect_language(audio=packed[: SAMPLE_RATE_HZ * 30])
        except Exception as exc:
            raise TranscriptionError(
                f"Language detection failed: {exc}.", hint="Run again with --debug."
            ) from None
        kept = [(code, p) for code, p in ranking if code in self.allowed] or list(ranking)
        total = sum(p for _, p in kept) or 1.0
        return [(code, p / total) for code, p in kept]

    def _decode(
        self, audio: np.ndarray, chunks: Sequence[Chunk], language: str | None, offset_s: float = 0.0
    ) -> tuple[list[list[SegmentResult]], list[Ranking]]:
        """Each chunk decoded on its own, its language detected if None, in one batched pass
        per prompt. Returns each chunk's segments and its language ranking ([(language, 1.0)]
        if given)."""
        prompt_of = [self.prompts.get(chunk.language or "") for chunk in chunks]
        if len(set(prompt_of)) > 1:
            results: list[list[SegmentResult]] = [[] for _ in chunks]
            rankings: list[Ranking] = [[] for _ in chunks]
            for prompt in set(prompt_of):
                indices = [i for i, p in enumerate(prompt_of) if p == prompt]
                part, part_rankings = self._decode_batch(
                    audio, [chunks[i] for i in indices], language, offset_s, prompt
                )
                for i, segments, ranking in zip(indices, part, part_rankings, strict=True):
                    results[i], rankings[i] = segments, ranking
            return results, rankings
        return self._decode_batch(audio, chunks, language, offset_s, prompt_of[0] if prompt_of else None)

    def _decode_batch(
        self,
        audio: np.ndarray,
        chunks: Sequence[Chunk],
        language: str | None,
        offset_s: float,
        prompt: str | None,
    ) -> tuple[list[list[SegmentResult]], list[Ranking]]:
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
                # Parts decoded again come many at once: two at a time keeps memory flat.
                batch_size=min(len(chunks), 2),
                word_timestamps=True,
                vad_filter=False,
                clip_timestamps=clips,
                initial_prompt=prompt,
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
        rankings = list(language_filter.detected)
        rankings += [[(language or "en", 1.0)]] * (len(chunks) - len(rankings))
        results: list[list[SegmentResult]] = [[] for _ in chunks]
        for segment in raw:
            middle = (float(segment.start) + float(segment.end)) / 2
            index = next((i for i, c in enumerate(clips) if middle <= c["end"]), len(clips) - 1)
            words = _whole_words(segment.words or [], maps[index])
            code, probability = rankings[index][0]
            results[index].extend(_segments_at_pauses(words, maps[index], code, probability))
        return results, rankings

    def transcribe_batch(
        self, audio: np.ndarray, chunks: Sequence[Chunk], language: str | None, offset_s: float = 0.0
    ) -> list[list[SegmentResult]]:
        """Transcribe chunks independently; returns the segments of each chunk, in order.

        *audio* starts at *offset_s* in the take (chunk times are take times).

        *language* None means: detect it per chunk (among the allowed languages), then:
        - decode again on its own each turn of a chunk whose language was uncertain, and any
          turn whose words came out doubtful or as nothing (she probably spoke another
          language than the rest of the chunk), keeping whichever reading is more confident;
        - decode what is still of uncertain language (a chunk of one turn, a turn decoded on
          its own) in each candidate language as well, keep the most confident reading and
          leave its language probability on its lines (below LANGUAGE_SURE: a person checks).
        The task is always "transcribe": Whisper never translates.
        """
        if not chunks:
            return []
        results, rankings = self._decode(audio, chunks, language, offset_s)
        results = self._without_runaways(audio, chunks, results, language, offset_s)
        if language is not None:
            return results
        # Parts still of uncertain language: (chunk index, the part, its ranking, its reading
        # in the language detected first).
        unsure: list[tuple[int, Chunk, Ranking, list[SegmentResult]]] = [
            (index, chunk, rankings[index], results[index])
            for index, chunk in enumerate(chunks)
            if not chunk.turns and rankings[index][0][1] < LANGUAGE_SURE
        ]
        doubtful: list[tuple[int, Chunk]] = []
        for index, chunk in enumerate(chunks):
            for start, end in chunk.turns:
                # A turn decoded as nothing at all is doubtful too: Whisper sometimes stops
                # decoding a window after a change of language.
                confidence = _mean_probability(results[index], start, end)
                missing = confidence is None and end - start >= MISSING_TURN_S
                mixed = rankings[index][0][1] < LANGUAGE_SURE
                if mixed or missing or (confidence is not None and confidence < DOUBTFUL_TURN):
                    doubtful.append((index, chunk.within(start, end)))
        if doubtful:
            retried, turn_rankings = self._decode(audio, [turn for _, turn in doubtful], None, offset_s)
            for (index, turn), segments, ranking in zip(doubtful, retried, turn_rankings, strict=True):
                before = _mean_probability(results[index], turn.start_s, turn.end_s) or 0.0
                after = _mean_probability(segments, turn.start_s, turn.end_s)
                if after is not None and after > before and not _runaway(segments, turn):
                    results[index] = _replaced(results[index], turn, segments)
                    if ranking[0][1] < LANGUAGE_SURE:
                        unsure.append((index, turn, ranking, segments))
                elif rankings[index][0][1] < LANGUAGE_SURE:
                    mine = _in_range_only(results[index], turn.start_s, turn.end_s)
                    unsure.append((index, turn, rankings[index], mine))
        for index, unit, ranking, first in unsure:
            results[index] = _replaced(
                results[index], unit, self._most_confident(audio, unit, ranking, first, offset_s)
            )
        return results

    def _without_runaways(
        self,
        audio: np.ndarray,
        chunks: Sequence[Chunk],
        results: list[list[SegmentResult]],
        language: str | None,
        offset_s: float,
    ) -> list[list[SegmentResult]]:
        """Whisper sometimes runs away: it repeats itself, or writes other speech than the
        chunk's, with every word squeezed at one instant (the batched decoder has no
        temperature fallback to catch it). A chunk decoded with a prompt is decoded again
        whole without it (measured: the Pidgin words set one chunk in 17 running away);
        otherwise, or if it runs away again, turn by turn (or stretch by stretch). A part
        that runs away again keeps no word, so it becomes a [not understood] line for a
        person to listen to, never invented text."""
        results = list(results)
        prompted = [
            index
            for index, chunk in enumerate(chunks)
            if self.prompts.get(chunk.language or "") and _runaway(results[index], chunk)
        ]
        if prompted:
            log.info("%d chunk(s) ran away: decoded again without the prompt", len(prompted))
            plain = [replace(chunks[index], language=None) for index in prompted]
            for index, segments in zip(
                prompted, self._decode(audio, plain, language, offset_s)[0], strict=True
            ):
                results[index] = segments
        again: list[tuple[int, Chunk]] = []
        for index, chunk in enumerate(chunks):
            if _runaway(results[index], chunk):
                log.info("chunk at %.1f s ran away: decoded again in parts", chunk.start_s)
                parts = chunk.turns or chunk.spans
                again += [(index, replace(chunk.within(a, b), language=None)) for a, b in parts]
        if not again:
            return results
        retried, _rankings = self._decode(audio, [unit for _, unit in again], language, offset_s)
        for (index, unit), segments in zip(again, retried, strict=True):
            results[index] = _replaced(results[index], unit, [] if _runaway(segments, unit) else segments)
        return results

    def _most_confident(
        self,
        audio: np.ndarray,
        unit: Chunk,
        ranking: Ranking,
        first: list[SegmentResult],
        offset_s: float,
    ) -> list[SegmentResult]:
        """*unit* decoded in each other candidate language of its ranking (*first*: its reading
        in the most probable one): the reading whose words are the most confident, its lines
        carrying the detected probability of its language."""
        candidates = [(code, p) for code, p in ranking[1:3] if p >= LANGUAGE_CANDIDATE]
        best: list[SegmentResult] = []
        best_score = -1.0
        for code, probability in [ranking[0], *candidates]:
            if code == ranking[0][0]:
                segments = [replace(seg, language=code) for seg in first]
            else:
                segments = self._decode(audio, [unit], code, offset_s)[0][0]
            score = _mean_probability(segments, unit.start_s, unit.end_s)
            if score is not None and score > best_score and not _runaway(segments, unit):
                best_score = score
                best = [replace(seg, language_p=probability) for seg in segments]
        return best


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


def _segments_at_pauses(
    words: Sequence[WordResult], mapping: PieceMap, language: str, language_p: float = 1.0
) -> list[SegmentResult]:
    """Cut a chunk's words into segments where the speech paused (between two pieces)."""
    starts = [take_start for _packed, take_start, _length in mapping[1:]]
    segments: list[SegmentResult] = []
    current: list[WordResult] = []
    for word in words:
        if current and any(current[-1].start_s < cut <= word.start_s + 0.05 for cut in starts):
            segments.append(_segment(current, language, language_p))
            current = []
        current.append(word)
    if current:
        segments.append(_segment(current, language, language_p))
    return segments


def _segment(words: Sequence[WordResult], language: str, language_p: float = 1.0) -> SegmentResult:
    return SegmentResult(
        words[0].start_s, words[-1].end_s, " ".join(w.text for w in words), language, tuple(words), language_p
    )


def _in_range(word: WordResult, start_s: float, end_s: float) -> bool:
    return start_s <= (word.start_s + word.end_s) / 2 <= end_s


def _mean_probability(segments: Sequence[SegmentResult], start_s: float, end_s: float) -> float | None:
    probabilities = [w.probability for seg in segments for w in seg.words if _in_range(w, start_s, end_s)]
    return sum(probabilities) / len(probabilities) if probabilities else None


# A reading with more words than this per second of speech has run away (speech is 2-4
# words a second) ...
RUNAWAY_WORDS_PER_S = 6.0
# ... and so has a long one that compresses this well (Whisper's own test for repeated text,
# whose 2.4 is for a sentence: a chunk of 30 s of real-looking speech reached 2.3, a chunk
# that ran away 4.5).
RUNAWAY_COMPRESSION = 3.0


def _runaway(segments: Sequence[SegmentResult], unit: Chunk) -> bool:
    words = [w.text for seg in segments for w in seg.words]
    if not words:
        return False
    speech_s = sum(b - a for a, b in unit.spans)
    if len(words) > max(8.0, RUNAWAY_WORDS_PER_S * speech_s):
        return True
    text = " ".join(words).encode()
    return len(text) > 120 and len(text) / len(zlib.compress(text)) > RUNAWAY_COMPRESSION


def _without_range(
    segments: Sequence[SegmentResult], start_s: float, end_s: float, inside: bool = False
) -> list[SegmentResult]:
    """The segments without their words in a time range (only those words if *inside*)."""
    kept = []
    for seg in segments:
        words = tuple(w for w in seg.words if _in_range(w, start_s, end_s) == inside)
        if words:
            text = " ".join(w.text for w in words)
            kept.append(replace(seg, start_s=words[0].start_s, end_s=words[-1].end_s, text=text, words=words))
    return kept


def _in_range_only(segments: Sequence[SegmentResult], start_s: float, end_s: float) -> list[SegmentResult]:
    return _without_range(segments, start_s, end_s, inside=True)


def _replaced(
    segments: Sequence[SegmentResult], unit: Chunk, instead: Sequence[SegmentResult]
) -> list[SegmentResult]:
    """A chunk's segments with those of a part of it (*unit*'s time range) replaced."""
    kept = _without_range(segments, unit.start_s, unit.end_s)
    return sorted([*kept, *instead], key=lambda seg: seg.start_s)


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
