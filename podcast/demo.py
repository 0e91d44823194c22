"""A generated sample workshop, so a newcomer can run the whole chain in one command.

Four participants speak with distinct espeak-ng voices, each on her own microphone channel
with a little of the others' speech bleeding in (as around a real table).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from consent import participants, protection, receipt, review, sensitive
from consent.participants import Participant
from podcast import sound, speech
from podcast.errors import InvalidInputError, WorkspaceError
from podcast.fsutil import atomic_write_text
from podcast.models import ModelStore
from podcast.settings import ShowSettings
from podcast.workspace import Workspace
from publish import anonymise, episodes, site
from publish.voices import VoiceStore
from sessions import extracts, importer, sessions, transcripts
from sessions.recorder import Recorder, RecordOptions
from sessions.sessions import Take
from sessions.transcribe import TranscribeOptions, transcribe_session

DEMO_RATE_HZ = 48_000
BLEED_DB = -20.0

# (pseudonym, espeak-ng voice, pitch)
DEMO_VOICES = (
    ("Amara", "en+f3", 55),
    ("Blessing", "en-us+f4", 70),
    ("Chidinma", "en+m3", 35),
    ("Dounia", "fr+f2", 60),
)

DEMO_SCRIPT = (
    ("Amara", "Welcome everybody. Today we talk about finding work in a new city."),
    ("Blessing", "When I arrived, I did not know anybody. The first months were very hard."),
    ("Chidinma", "For me the language was the biggest problem. I learned English at the market."),
    ("Dounia", "Moi, j'ai appris le français avec les autres femmes de l'association."),
    ("Amara", "What helped you the most to find your first job?"),
    ("Blessing", "A friend showed me how to write a curriculum. Then I found work in a kitchen."),
    ("Chidinma", "I started a small business with braiding. Now I have regular customers."),
    ("Dounia", "Le plus important, c'est de ne pas rester seule. Ensemble on est plus fortes."),
    ("Blessing", "Some days I was tired, but I knew that I was building something for my daughter."),
    ("Dounia", "Au début, je ne comprenais pas les papiers. Une bénévole m'a aidée chaque semaine."),
    ("Chidinma", "My customers come from the whole neighbourhood, and some of them became my friends."),
    ("Amara", "What would you say to a woman who arrives today and feels alone?"),
    ("Blessing", "I would tell her to come to the association. Nobody here will judge her."),
    ("Chidinma", "Take your time. You do not have to tell your story before you are ready."),
    ("Dounia", "Et surtout, garder l'espoir. Moi, aujourd'hui, je suis fière de mon chemin."),
    ("Blessing", "We learned to cook together, to laugh together, and to plan for tomorrow."),
    ("Amara", "Thank you all. Let us choose together what we want to share."),
)


class _DemoAnswers:
    """The demo's scripted review: everyone agrees, except one person on one extract."""

    def __init__(self, refused_extract: int, refuser: str) -> None:
        self.refused_extract = refused_extract
        self.refuser = refuser

    def show(self, view: review.ExtractView, number: int, total: int) -> None:
        return None

    def ask(self, person: Participant, view: review.ExtractView) -> review.Answer:
        if view.extract_id == self.refused_extract and person.pseudonym == self.refuser:
            return review.Answer.NO
        return review.Answer.YES


def _record(
    ws: Workspace, session_id: int, source: Path, stem: str, channel_map: dict[int, str]
) -> list[Take]:
    """Play the generated workshop into a virtual sink while recording its monitor."""
    recorder = Recorder(
        ws, session_id, RecordOptions(device=f"{stem}_in", inputs=(1, 2, 3, 4), channel_map=channel_map)
    )
    recorder.start()
    try:
        deadline = time.monotonic() + 10
        while recorder.status().elapsed_s < 0.3 and time.monotonic() < deadline:
            time.sleep(0.05)
        sound.play_file_to_pulse_sink(source, stem, "front-left,front-right,rear-left,rear-right")
        time.sleep(0.3)
    finally:
        recorder.stop()
        result = recorder.wait()
    return [t for t in sessions.get(ws, session_id).takes if t.id in result.take_ids]


def _demo_extracts(ws: Workspace, session_id: int) -> tuple[int, int]:
    """Two extracts found by text search (by speaker if the recogniser misheard the words)."""
    ids = []
    for phrase, speaker in (("finding work", "Amara"), ("braiding", "Chidinma")):
        try:
            ids.append(extracts.add(ws, session_id, find=phrase).id)
        except InvalidInputError:
            lines = transcripts.load(ws, session_id).utterances
            key = next(u.key for u in lines if u.speaker == speaker)  # its stable line number
            ids.append(extracts.add(ws, session_id, segments=(key, key)).id)
    return ids[0], ids[1]


@dataclass(frozen=True)
class DemoResult:
    workspace: Path
    session_id: int
    duration_s: float
    channels: int
    words: int
    languages: dict[str, int]
    feed: Path
    episode_audio: Path
    receipt: Path
    recorded: bool


def _resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    if rate_in == rate_out:
        return samples
    count = round(len(samples) * rate_out / rate_in)
    positions = np.linspace(0, len(samples) - 1, count)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


def generate_workshop(
    script: tuple[tuple[str, str], ...] = DEMO_SCRIPT,
    voices: tuple[tuple[str, str, int], ...] = DEMO_VOICES,
    *,
    rate_hz: int = DEMO_RATE_HZ,
    gap_s: float = 0.6,
    seed: int = 7,
) -> tuple[np.ndarray, list[tuple[str, float, float, str]]]:
    """Synthesize a multi-channel workshop: one channel per voice, with bleed and room noise.

    Returns (frames x channels float32 audio, [(speaker, start_s, end_s, text)]).
    """
    index = {name: i for i, (name, _, _) in enumerate(voices)}
    pieces: list[tuple[int, np.ndarray]] = []
    timeline = []
    cursor = int(0.5 * rate_hz)
    for speaker, text in script:
        _, voice, pitch = voices[index[speaker]]
        mono, rate = speech.synthesize(text, voice=voice, pitch=pitch)
        mono = _resample(mono, rate, rate_hz) * 0.7
        pieces.append((cursor, mono))
        timeline.append((speaker, cursor / rate_hz, (cursor + len(mono)) / rate_hz, text))
        cursor += len(mono) + int(gap_s * rate_hz)
    total = cursor + int(0.5 * rate_hz)
    audio = np.zeros((total, len(voices)), dtype=np.float32)
    bleed = 10 ** (BLEED_DB / 20)
    for (start, mono), (speaker, *_rest) in zip(pieces, timeline, strict=True):
        for channel in range(len(voices)):
            gain = 1.0 if channel == index[speaker] else bleed
            audio[start : start + len(mono), channel] += mono * gain
    rng = np.random.default_rng(seed)
    audio += rng.normal(0, 10 ** (-60 / 20), audio.shape).astype(np.float32)
    return np.clip(audio, -1, 1), timeline


def run_demo(
    root: Path,
    store: ModelStore,
    voices: VoiceStore,
    *,
    record_through: str | None = None,
    on_step: Callable[[str], None] | None = None,
    on_progress: Callable[[float, float], None] | None = None,
) -> DemoResult:
    """Create a demo workspace in *root*, generate a workshop, import and transcribe it,
    define extracts, protect and render them, and run a scripted consent review."""
    step = on_step or (lambda _message: None)
    if (root / "podcast.toml").exists():
        raise WorkspaceError(
            f"{root} already holds a workspace.",
            hint="Remove it or give the demo another folder: podcast demo DIR",
        )
    step("Creating the demo workspace")
    ws = Workspace.create(
        root,
        ShowSettings(
            title="Voices of the Workshop (demo)",
            language="en",
            description="A generated sample workshop made by 'podcast demo'.",
            author="Workshop collective",
            base_url="https://podcast.example.org/",
            owner_email="podcasts@example.org",
        ),
    )
    for name, voice, _ in DEMO_VOICES:
        participants.add(ws, name)
        if voice.startswith("fr"):
            participants.set_language(ws, name, "fr")  # the room asks her in French
    facilitator = participants.add(ws, "Facilitator")
    session = sessions.create(
        ws,
        "Finding work in a new city",
        [name for name, _, _ in DEMO_VOICES],
        facilitator=facilitator.pseudonym,
        language="auto",
    )
    step("Generating a 4-voice workshop with espeak-ng")
    audio, _timeline = generate_workshop()
    source = ws.tmp_dir / "demo-recorder-output.wav"
    channel_map = {i + 1: name for i, (name, _, _) in enumerate(DEMO_VOICES)}
    try:
        if record_through:
            step(f"Recording it from the virtual sound device {record_through}_in")
            pad = np.zeros((int(0.3 * DEMO_RATE_HZ), audio.shape[1]), dtype=np.float32)
            sf.write(str(source), np.concatenate([pad, audio, pad]), DEMO_RATE_HZ, subtype="PCM_16")
            takes = _record(ws, session.id, source, record_through, channel_map)
        else:
            sf.write(str(source), audio, DEMO_RATE_HZ, subtype="PCM_24")
            step("Importing it as a take")
            takes = importer.import_files(ws, session.id, [source], channel_map=channel_map)
    finally:
        with contextlib.suppress(OSError):
            source.unlink()
    step("Transcribing it locally with the bundled Whisper model")
    transcribed = transcribe_session(
        ws,
        session.id,
        store,
        TranscribeOptions(
            spoken_languages=ws.settings().spoken_languages, pidgin_words=ws.settings().pidgin_words
        ),
        on_progress=on_progress,
    )
    step(
        "Defining two extracts; protecting voices (Amara retold with her melody, Blessing revoiced, "
        "Chidinma disguised: reduced protection, her choice)"
    )
    _cleared_id, refused_id = _demo_extracts(ws, session.id)
    # In a real workshop a person corrects the transcript here; the demo accepts it as is.
    transcripts.mark_reviewed(ws, session.id)
    protection.set_mode(ws, "Amara", "retell")
    protection.set_mode(ws, "Chidinma", "disguise", reduced=True)
    sensitive.add(ws, ["new city"], session.id)
    step("Rendering the protected extracts (and checking the redaction by ear, with Whisper)")
    anonymise.render_session(ws, session.id, voices=voices, models=store)
    step("Running a scripted consent review of the protected extracts")
    review.run(
        ws,
        session.id,
        _DemoAnswers(refused_id, refuser="Blessing"),
        witness=facilitator,
        method="in_room",
    )
    step("Building the episode from the cleared extract and publishing the feed")
    episode = episodes.create(
        ws,
        "Finding work",
        [_cleared_id, refused_id],
        number=1,
        description="Women of the workshop talk about their first jobs.",
    )
    published = site.publish(ws, voices=voices)
    receipt_path = ws.consent_dir / f"receipt-session-{session.id}.html"
    atomic_write_text(receipt_path, receipt.build(ws, session.id).html)
    ws.close()
    return DemoResult(
        ws.root,
        session.id,
        takes[0].duration_s,
        takes[0].channels,
        transcribed.words,
        transcribed.languages,
        published.out_dir / "feed.xml",
        next(published.out_dir.glob(f"ep-{episode.guid.split('-')[0]}-*.mp3")),
        receipt_path,
        record_through is not None,
    )
