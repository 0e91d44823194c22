"""Rendering each extract's protected audio: revoiced or disguised per speaker, redacted,
checked by a second transcription pass, cached under a key that covers its exact content
and settings (so what the room heard is exactly what is published)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf

from consent import fingerprint, participants, protection, sensitive
from podcast.errors import InvalidInputError, PodcastError
from podcast.fsutil import atomic_write_text, private_dir, temp_path_beside
from podcast.models import ModelStore
from podcast.workspace import Workspace
from publish import redaction, revoice
from publish.disguise import disguise
from publish.voices import LANGUAGE_NAMES, VoiceStore
from sessions import extracts, sessions, transcripts, whisper
from sessions.extracts import Extract

log = logging.getLogger(__name__)

RATE_HZ = 48_000
PAD_S = 0.1
TURN_GAP_S = 0.15
SOURCE_BLOCK_FRAMES = 1 << 16
LEAK_CHECK_WORKERS = 2


class RedactionLeak(PodcastError):
    """A sensitive word is still recognisable in a rendering."""


@dataclass(frozen=True)
class RenderedWord:
    start_s: float  # extract time
    end_s: float
    text: str


@dataclass(frozen=True)
class RenderedLine:
    speaker: str  # pseudonym, resolved when loaded (so a renamed participant shows her new name)
    mode: str
    words: tuple[RenderedWord, ...]
    speaker_id: str = ""
    language: str = ""  # the line's language as tagged when it was rendered ("" if unknown)


@dataclass(frozen=True)
class Rendering:
    extract_id: int
    render_key: str
    path: Path
    duration_s: float
    lines: tuple[RenderedLine, ...]
    cached: bool


def _sidecar(path: Path) -> Path:
    return path.with_suffix(".json")


def _load_cached(ws: Workspace, extract: Extract, key: str, path: Path) -> Rendering:
    data = json.loads(_sidecar(path).read_text(encoding="utf-8"))
    people = participants.list_all(ws, include_retired=True)
    names = {p.id: p.pseudonym for p in people}
    # Sidecars written before speaker IDs were kept name their speaker by pseudonym.
    ids = {p.pseudonym: p.id for p in people}
    lines = []
    for item in data["lines"]:
        speaker_id = item.get("speaker_id") or ids.get(item.get("speaker", ""), "")
        words = tuple(RenderedWord(*w) for w in item["words"])
        language = str(item.get("language", ""))  # renderings made before languages were kept: ""
        lines.append(
            RenderedLine(names.get(speaker_id, "unknown"), item["mode"], words, speaker_id, language)
        )
    return Rendering(extract.id, key, path, sf.info(str(path)).duration, tuple(lines), True)


def _source(ws: Workspace, extract: Extract, speaker_id: str) -> np.ndarray:
    """Her own microphone channel over the extract (the mix if she has none), mono float.

    Read a block at a time, keeping only her channel: the take's other channels are never
    all in memory (a 5-minute extract of a 6-microphone take is 345 MB as float)."""
    take = next(t for t in sessions.get(ws, extract.session_id).takes if t.id == extract.take_id)
    start = round(max(0.0, extract.start_s - PAD_S) * take.sample_rate_hz)
    stop = round((extract.end_s + PAD_S) * take.sample_rate_hz)
    channel = next(
        (o.channel - 1 for o in take.owners if o.participant and o.participant.id == speaker_id), None
    )
    with sf.SoundFile(str(sessions.raw_path(ws, take))) as audio:
        rate = audio.samplerate
        stop = min(stop, audio.frames)
        mono = np.zeros(max(0, stop - start), dtype=np.float32)
        audio.seek(min(start, audio.frames))
        done = 0
        while done < len(mono):
            block = audio.read(min(SOURCE_BLOCK_FRAMES, len(mono) - done), dtype="float32", always_2d=True)
            if not len(block):
                break
            mono[done : done + len(block)] = block[:, channel] if channel is not None else block.mean(axis=1)
            done += len(block)
    if rate != RATE_HZ:
        from scipy.signal import resample_poly

        mono = resample_poly(mono, RATE_HZ, rate).astype(np.float32)
    return mono


def _check_voice_languages(ws: Workspace, extract: Extract, voices: VoiceStore) -> None:
    """Refuse to revoice a line in a language its synthetic voice does not speak (a French line
    read by an English voice is gibberish that its correct French transcript would hide)."""
    transcript = transcripts.load(ws, extract.session_id)
    for utterance in extracts.utterances_in(transcript, extract):
        if utterance.speaker_id is None:
            continue
        choice = protection.get(ws, utterance.speaker_id)
        if choice.mode not in protection.SYNTHETIC:
            continue
        voice = voices.get(choice.voice_for(utterance.language))
        needed = protection.READ_AS.get(utterance.language, utterance.language)
        if needed != voice.speaks:
            said = LANGUAGE_NAMES.get(utterance.language, utterance.language)
            raise InvalidInputError(
                f"Extract {extract.id}: a line of {utterance.speaker} is in {said}, and her synthetic "
                f"voice {voice.name!r} only speaks {LANGUAGE_NAMES.get(voice.speaks, voice.speaks)}.",
                hint=f"Add a voice that speaks {said} (podcast voices add --mbrola fr1, or a Piper "
                f"FILE.onnx), give it to her (podcast participant protect {utterance.speaker} revoice "
                f"--voice {needed}=NAME), or "
                f"correct the line's language (podcast room {extract.session_id} --transcript).",
            )


def render(
    ws: Workspace,
    extract: Extract,
    *,
    voices: VoiceStore,
    models: ModelStore | None,
    on_step: Callable[[str], None] | None = None,
    content: fingerprint.ExtractContent | None = None,
) -> Rendering:
    """Render (or reuse) the protected audio of an extract.

    Raises InvalidInputError if a speaker is unknown or a revoiced transcript is not
    reviewed, RedactionLeak if a sensitive word stays recognisable (checked with *models*).
    """
    content = content or fingerprint.content(ws, extract)
    _check_voice_languages(ws, extract, voices)  # also for a cached rendering: tags can be corrected
    path = ws.renderings_dir / f"{content.render_key}.wav"
    if path.exists() and _sidecar(path).exists():
        cached = _load_cached(ws, extract, content.render_key, path)
        # The same content has the same lines; their language tags may have been corrected
        # since (the audio is the same: with one voice, a language does not change it).
        now = extracts.utterances_in(transcripts.load(ws, extract.session_id), extract)
        if len(now) == len(cached.lines):
            tagged = tuple(
                replace(line, language=u.language) for line, u in zip(cached.lines, now, strict=True)
            )
            cached = replace(cached, lines=tagged)
        return cached
    if any(speaker == "unknown" for speaker, _ in content.lines):
        raise InvalidInputError(
            f"Extract {extract.id} has words whose speaker is unknown, so their protection is unknown.",
            hint=f"Set the speakers with: podcast transcript edit {extract.session_id}",
        )
    transcript = transcripts.load(ws, extract.session_id)
    utterances = extracts.utterances_in(transcript, extract)
    modes = {speaker: protection.get(ws, speaker) for speaker in content.speakers}
    if any(p.mode in protection.SYNTHETIC for p in modes.values()) and not content.reviewed:
        raise InvalidInputError(
            f"Extract {extract.id} has lines not reviewed yet: a synthetic voice would read "
            "uncorrected words.",
            hint=f"Listen and correct them (podcast room {extract.session_id} --transcript), then mark "
            f"them reviewed there or with: podcast transcript review {extract.session_id}",
        )
    for utterance in utterances:
        revoiced = modes[utterance.speaker_id or ""].mode in protection.SYNTHETIC
        if revoiced and any(w.text == whisper.NOT_UNDERSTOOD for w in utterance.words):
            raise InvalidInputError(
                f"Extract {extract.id}: line {utterance.key} of {utterance.speaker} is marked "
                f"{whisper.NOT_UNDERSTOOD}: a synthetic voice cannot read what nobody has written.",
                hint=f"Listen to it and write what she said (podcast room {extract.session_id} "
                "--transcript), or remove the marker if it was not speech.",
            )
    phrases = [p.phrase for p in sensitive.list_for(ws, extract.session_id)]
    names = {p.id: p.pseudonym for p in participants.list_all(ws, include_retired=True)}
    total = int((extract.duration_s + 2 * PAD_S) * RATE_HZ)
    out = np.zeros(total + RATE_HZ * 30, dtype=np.float32)  # room for slower synthetic speech
    lines: list[RenderedLine] = []
    sources: dict[str, np.ndarray] = {}
    cursor = 0.0
    step = on_step or (lambda _m: None)
    for number, utterance in enumerate(utterances, start=1):
        speaker = utterance.speaker_id or ""
        choice = modes[speaker]
        step(f"line {number}/{len(utterances)}: {choice.mode}")
        timed = [
            (
                utterance.offset_s + w.start_s - extract.session_start_s + PAD_S,
                utterance.offset_s + w.end_s - extract.session_start_s + PAD_S,
                w.text,
            )
            for w in utterance.words
        ]
        spans = redaction.find(timed, phrases)
        shown = redaction.redact_words([t for _s, _e, t in timed], spans)
        if choice.mode == "revoice":
            hidden = redaction.redacted_indexes(spans)
            spoken = [t for i, (_s, _e, t) in enumerate(timed) if i not in hidden]
            voice = voices.get(choice.voice_for(utterance.language))
            speech = revoice.read(spoken, voice, choice.colour_st, RATE_HZ)
            start = max(timed[0][0], cursor)
            first = int(start * RATE_HZ)
            out[first : first + len(speech)] += speech
            length = len(speech) / RATE_HZ
            cursor = start + length + TURN_GAP_S
            words = _spread(shown, start, length)
        elif choice.mode == "retell":
            # Her channel is read for its pitch contour only; none of its sound is used.
            if speaker not in sources:
                sources[speaker] = _source(ws, extract, speaker)
            hidden = redaction.redacted_indexes(spans)
            said = [word for i, word in enumerate(timed) if i not in hidden]
            voice = voices.get(choice.voice_for(utterance.language))
            # Only her line's stretch of the channel is analysed (her melody is normalised per
            # line, as measured; and the work stays proportional to the line, not the extract).
            low = max(0.0, (said[0][0] if said else 0.0) - PAD_S)
            high = (said[-1][1] if said else 0.0) + PAD_S
            stretch = sources[speaker][int(low * RATE_HZ) : int(high * RATE_HZ)]
            local = [(s - low, e - low, text) for s, e, text in said]
            speech, placed = revoice.retell(local, stretch, RATE_HZ, voice, choice.colour_st, RATE_HZ)
            start = max(said[0][0] if said else timed[0][0], cursor)
            first = int(start * RATE_HZ)
            out[first : first + len(speech)] += speech
            cursor = max(cursor, start + len(speech) / RATE_HZ)
            words = _retold_times(timed, spans, shown, placed, start)
        else:
            if speaker not in sources:
                secret = protection.disguise_params(ws, speaker)
                stretches = _her_spans(utterances, speaker, extract)
                sources[speaker] = _disguise_spans(_source(ws, extract, speaker), stretches, secret)
            own = sources[speaker]
            first = max(0, int((timed[0][0] - PAD_S) * RATE_HZ))
            last = min(len(own), int((timed[-1][1] + PAD_S) * RATE_HZ))
            piece = redaction.bleep(
                own[first:last],
                RATE_HZ,
                [(s.start_s - first / RATE_HZ, s.end_s - first / RATE_HZ) for s in spans],
            )
            out[first:last] += piece
            cursor = max(cursor, last / RATE_HZ)
            words = _keep_times(timed, spans, shown)
        lines.append(
            RenderedLine(
                names.get(speaker, "unknown"), choice.mode, tuple(words), speaker, utterance.language
            )
        )
    sources.clear()  # each speaker's disguised channel is in the output now (or no longer needed)
    end = max(cursor, total / RATE_HZ)
    audio = out[: int(end * RATE_HZ)]
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    if peak > 0:
        audio = audio * (10 ** (-1 / 20) / peak)
    if content.sensitive_words and models is not None:
        step("checking that no sensitive word is still audible")
        _check_no_leak(audio, content.sensitive_words, models, ws.settings().spoken_languages, extract)
    private_dir(ws.renderings_dir)
    partial = temp_path_beside(path, ".wav")
    try:
        sf.write(str(partial), audio, RATE_HZ, subtype="PCM_16", format="WAV")
        atomic_write_text(
            _sidecar(path),
            json.dumps(
                {
                    "lines": [
                        {
                            "speaker_id": line.speaker_id,
                            "mode": line.mode,
                            "language": line.language,
                            "words": [[w.start_s, w.end_s, w.text] for w in line.words],
                        }
                        for line in lines
                    ]
                },
                ensure_ascii=False,
            ),
        )
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    log.info("extract %d rendered (%d lines)", extract.id, len(lines))
    return Rendering(extract.id, content.render_key, path, len(audio) / RATE_HZ, tuple(lines), False)


def _her_spans(
    utterances: list[transcripts.Utterance], speaker: str, extract: Extract
) -> list[tuple[int, int]]:
    """The stretches of the extract (samples, from the start of its source) where she speaks,
    with the padding each line is cut with; stretches less than a second apart are joined."""
    spans: list[tuple[int, int]] = []
    for utterance in utterances:
        if utterance.speaker_id != speaker or not utterance.words:
            continue
        start = utterance.offset_s + utterance.words[0].start_s - extract.session_start_s
        end = utterance.offset_s + utterance.words[-1].end_s - extract.session_start_s
        first, last = max(0, int(start * RATE_HZ)), int((end + 2 * PAD_S) * RATE_HZ)
        if spans and first - spans[-1][1] < RATE_HZ:
            spans[-1] = (spans[-1][0], max(spans[-1][1], last))
        else:
            spans.append((first, last))
    return spans


def _disguise_spans(
    source: np.ndarray, spans: list[tuple[int, int]], secret: protection.DisguiseParams
) -> np.ndarray:
    """Her channel disguised where she speaks, silence elsewhere: her stretches are joined
    (as one recording, so her timbre is evened out over all of them) and disguised together.
    Her microphone is not disguised where nobody uses it: a third of the work or less."""
    pieces = [(a, min(b, len(source))) for a, b in spans if a < len(source)]
    if not pieces:
        return np.zeros_like(source)
    joined = disguise(np.concatenate([source[a:b] for a, b in pieces]), RATE_HZ, secret)
    own = np.zeros_like(source)
    at = 0
    for a, b in pieces:
        own[a:b] = joined[at : at + b - a]
        at += b - a
    del joined
    whisper.release_free_memory()  # the disguise's large temporary arrays, before the next step
    return own


def _spread(texts: list[str], start: float, length: float) -> list[RenderedWord]:
    """Word times for synthetic speech: proportional to their length in characters."""
    weights = [len(t) + 1 for t in texts]
    total = sum(weights) or 1
    words, at = [], start
    for text, weight in zip(texts, weights, strict=True):
        span = length * weight / total
        words.append(RenderedWord(round(at, 3), round(at + span, 3), text))
        at += span
    return words


def _retold_times(
    timed: list[tuple[float, float, str]],
    spans: list[redaction.Span],
    shown: list[str],
    placed: list[revoice.Placed],
    start: float,
) -> list[RenderedWord]:
    """Word times of a retold line: where the synthetic voice said each word; a redacted word
    keeps her duration, after the word before it (nothing is said there)."""
    moved: list[tuple[float, float, str]] = []
    spoken = iter(placed)
    shift = start - timed[0][0]
    hidden = redaction.redacted_indexes(spans)
    for index, (word_start, word_end, text) in enumerate(timed):
        if index in hidden:
            moved.append((word_start + shift, word_end + shift, text))
            continue
        said = next(spoken, None)
        if said is None:  # nothing left to place it by (a word too short to be synthesised)
            moved.append((word_start + shift, word_end + shift, text))
            continue
        moved.append((start + said.start_s, start + said.end_s, text))
        shift = start + said.end_s - word_end
    return _keep_times(moved, spans, shown)


def _keep_times(
    timed: list[tuple[float, float, str]], spans: list[redaction.Span], shown: list[str]
) -> list[RenderedWord]:
    hidden = redaction.redacted_indexes(spans)
    words: list[RenderedWord] = []
    for index, (start, end, text) in enumerate(timed):
        if index in hidden:
            if words and words[-1].text == redaction.REDACTED:
                words[-1] = RenderedWord(words[-1].start_s, round(end, 3), redaction.REDACTED)
            else:
                words.append(RenderedWord(round(start, 3), round(end, 3), redaction.REDACTED))
        else:
            words.append(RenderedWord(round(start, 3), round(end, 3), text))
    assert [w.text for w in words] == shown
    return words


def _check_no_leak(
    audio: np.ndarray,
    words: tuple[str, ...],
    models: ModelStore,
    languages: tuple[str, ...],
    extract: Extract,
) -> None:
    from scipy.signal import resample_poly

    mono16 = resample_poly(audio, whisper.SAMPLE_RATE_HZ, RATE_HZ).astype(np.float32)
    recogniser = _recogniser(models, languages)
    duration = len(mono16) / whisper.SAMPLE_RATE_HZ
    chunks = whisper.fixed_windows(duration)
    # One 30-s window per decoding call, two at once (one per core, as transcription does):
    # memory stays flat however long the extract (all its windows in one call took 1 GB more
    # for a 5-minute extract).
    with ThreadPoolExecutor(max_workers=LEAK_CHECK_WORKERS) as pool:
        decoded = pool.map(lambda chunk: recogniser.transcribe_batch(mono16, [chunk], None), chunks)
        pieces = [
            w.text for results in decoded for segments in results for seg in segments for w in seg.words
        ]
    heard = extracts.normalise(" ".join(pieces)).split()
    leaked = [w for w in words if extracts.says(heard, w)]
    if leaked:
        raise RedactionLeak(
            f"Extract {extract.id}: {len(leaked)} sensitive word(s) can still be understood after redaction.",
            hint="Widen the extract's redaction (check the word timings with 'podcast transcript edit'), "
            "or choose another extract.",
        )


_RECOGNISERS: dict[tuple[str, tuple[str, ...]], whisper.Recogniser] = {}


def _recogniser(models: ModelStore, languages: tuple[str, ...]) -> whisper.Recogniser:
    key = (str(models.data_dir), languages)
    if key not in _RECOGNISERS:
        _RECOGNISERS[key] = whisper.Recogniser(
            models.ready().path, allowed_languages=languages, workers=LEAK_CHECK_WORKERS
        )
    return _RECOGNISERS[key]


def render_session(
    ws: Workspace,
    session_id: int,
    *,
    voices: VoiceStore,
    models: ModelStore | None,
    extract_ids: list[int] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[Rendering]:
    """Render every extract of a session (or the listed ones); reports progress per extract."""
    items = [e for e in extracts.list_all(ws, session_id) if extract_ids is None or e.id in extract_ids]
    if not items:
        raise InvalidInputError(
            f"Session {session_id} has no extract to render.",
            hint=f'Define one: podcast extract add {session_id} --find "..."',
        )
    results = []
    for index, extract in enumerate(items):
        results.append(render(ws, extract, voices=voices, models=models))
        if on_progress:
            on_progress(index + 1, len(items))
    return results
