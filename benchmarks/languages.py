"""Languages benchmark: a mixed English / Nigerian Pidgin / French workshop through `podcast
transcribe`, next to the same audio decoded turn by turn by whisper-ctranslate2.

A generated session of about 10 minutes: six MBROLA voices of real speakers (two read English,
two read Pidgin in its usual English-based spelling, two read French), one microphone each with
-20 dB bleed, turns alternating English, Pidgin and French. Prints, per language: turns tagged
with the right language, WER, words given to the right speaker, words timed inside their turn,
vanished and translated turns; the same for `podcast transcribe` without the Pidgin words; the
peer's WER turn by turn; and the language detection probabilities of single turns (how the
LANGUAGE_SURE threshold was chosen). Run with `make bench-languages` (needs the MBROLA voices
that scripts/mbrola-voices unpacks).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import jiwer
import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import Run, french_sentences, measure, pidgin_sentences, sentences  # noqa: E402
from consent import participants  # noqa: E402
from podcast.demo import generate_workshop  # noqa: E402
from podcast.models import ModelStore, default_data_dir  # noqa: E402
from podcast.settings import ShowSettings  # noqa: E402
from podcast.workspace import Workspace  # noqa: E402
from sessions import importer, sessions, transcripts, whisper  # noqa: E402

# (name, voice, pitch), and the language each reads.
VOICES = (
    ("Amara", "mb-us1", 50),
    ("Blessing", "mb-us2", 50),
    ("Chidinma", "mb-en1", 50),
    ("Efua", "mb-us3", 50),
    ("Dounia", "mb-fr1", 50),
    ("Fatou", "mb-fr4", 50),
)
READS = {"Amara": "en", "Blessing": "en", "Chidinma": "pcm", "Efua": "pcm", "Dounia": "fr", "Fatou": "fr"}
ORDER = ("en", "pcm", "fr")
EXPECTED_TAG = {"en": "en", "pcm": "en", "fr": "fr"}  # Whisper has no Pidgin: it is English
ENGLISH_ONLY = {"the", "and", "to", "of", "we", "you", "is", "was", "that", "with", "but", "so"}
FRENCH_ONLY = {"je", "le", "la", "les", "et", "de", "des", "une", "est", "que", "nous", "mais", "alors"}
SLACK_S = 0.5


@dataclass(frozen=True)
class Turn:
    speaker: str
    language: str
    start_s: float
    end_s: float
    text: str


def normalise(text: str) -> str:
    text = text.lower().replace("’", "'")
    return " ".join(re.sub(r"[^\w' ]", " ", text).split())


def tolerant(text: str) -> str:
    """Pidgin spelled as Whisper spells English: 'di' is 'the'."""
    return " ".join("the" if word == "di" else word for word in normalise(text).split())


def script(minutes: float, seed: int) -> list[tuple[str, str]]:
    """Turns alternating English, Pidgin and French, each speaker of a language in turn."""
    count = int(minutes * 60 / 6.5)
    banks = {
        "en": sentences(count, seed=seed),
        "pcm": pidgin_sentences(count, seed=seed + 1),
        "fr": french_sentences(count, seed=seed + 2),
    }
    speakers = {code: [name for name, reads in READS.items() if reads == code] for code in ORDER}
    lines = []
    for index in range(count):
        code = ORDER[index % 3]
        round_ = index // 3
        lines.append((speakers[code][round_ % 2], banks[code][round_]))
    return lines


def generate(folder: Path, minutes: float, seed: int) -> tuple[Path, list[Turn]]:
    lines = script(minutes, seed)
    audio, timeline = generate_workshop(tuple(lines), VOICES, gap_s=0.8, seed=seed)
    source = folder / "session.wav"
    sf.write(str(source), audio, 48_000, subtype="PCM_16")
    turns = [Turn(speaker, READS[speaker], start, end, text) for speaker, start, end, text in timeline]
    (folder / "turns.json").write_text(json.dumps([t.__dict__ for t in turns], ensure_ascii=False))
    print(f"session: {len(audio) / 48_000 / 60:.1f} min, {len(turns)} turns, 6 microphones")
    return source, turns


def transcribe(folder: Path, source: Path, settings: ShowSettings) -> tuple[Run, transcripts.Transcript]:
    ws = Workspace.create(folder / "ws", settings)
    names = [v[0] for v in VOICES]
    for name in names:
        participants.add(ws, name)
    session = sessions.create(ws, "Bench", names, language="auto")
    importer.import_files(ws, session.id, [source])
    ws.close()
    podcast = shutil.which("podcast") or str(Path(sys.executable).with_name("podcast"))
    run = measure([podcast, "-q", "-w", str(ws.root), "transcribe", str(session.id)])
    if run.returncode != 0:
        raise SystemExit(f"podcast transcribe failed: {run.stderr[-2000:]}")
    ws = Workspace.open(ws.root)
    transcript = transcripts.load(ws, session.id)
    ws.close()
    return run, transcript


@dataclass
class Scores:
    turns: int = 0
    tagged: int = 0
    vanished: int = 0
    translated: int = 0
    words: int = 0
    attributed: int = 0
    said: list[str] | None = None
    heard: list[str] | None = None


def score(turns: list[Turn], transcript: transcripts.Transcript) -> tuple[dict[str, Scores], int]:
    """Per language, how the transcript heard each turn; and the words timed outside any turn."""
    per: dict[str, Scores] = {code: Scores(said=[], heard=[]) for code in ORDER}
    words = [
        (u.offset_s + (w.start_s + w.end_s) / 2, w.text, u.speaker, u.language)
        for u in transcript.utterances
        for w in u.words
    ]
    used: set[int] = set()
    for turn in turns:
        mine = [
            (i, item)
            for i, item in enumerate(words)
            if turn.start_s - SLACK_S <= item[0] <= turn.end_s + SLACK_S
        ]
        used.update(i for i, _ in mine)
        scores = per[turn.language]
        scores.turns += 1
        if not mine:
            scores.vanished += 1
        heard = normalise(" ".join(item[1] for _, item in mine if item[1] != whisper.NOT_UNDERSTOOD))
        assert scores.said is not None and scores.heard is not None
        scores.said.append(normalise(turn.text))
        scores.heard.append(heard)
        tags = [item[3] for _, item in mine]
        if tags and max(set(tags), key=tags.count) == EXPECTED_TAG[turn.language]:
            scores.tagged += 1
        scores.words += len(mine)
        scores.attributed += sum(1 for _, item in mine if item[2] == turn.speaker)
        if _translated(heard, turn.language):
            scores.translated += 1
    return per, len(words) - len(used)


def _translated(heard: str, language: str) -> bool:
    """Heard as the other language: more of its own function words than of the spoken one's."""
    words = heard.split()
    english = sum(1 for w in words if w in ENGLISH_ONLY)
    french = sum(1 for w in words if w in FRENCH_ONLY)
    return french > english if language != "fr" else english > french


def wer(said: list[str], heard: list[str], norm=normalise) -> float:  # type: ignore[no-untyped-def]
    pairs = [(norm(s), norm(h)) for s, h in zip(said, heard, strict=True) if norm(s)]
    return jiwer.wer([s for s, _ in pairs], [h for _, h in pairs])


def peer(
    folder: Path, source: Path, turns: list[Turn], model_path: Path
) -> tuple[Run | None, list[str], list[str]]:
    """whisper-ctranslate2 on each turn alone (cut from the mix at its true times): the text and
    language it gives each turn."""
    name = "whisper-ctranslate2"
    program = shutil.which(name) or str(Path(sys.executable).with_name(name))
    if not Path(program).exists():
        print("whisper-ctranslate2 is not installed: pip install whisper-ctranslate2==0.5.8")
        return None, [], []
    audio, rate = sf.read(str(source), dtype="float32", always_2d=True)
    mix = audio.mean(axis=1)
    clips = folder / "turns"
    clips.mkdir()
    files = []
    for index, turn in enumerate(turns):
        part = mix[max(0, int((turn.start_s - 0.2) * rate)) : int((turn.end_s + 0.2) * rate)]
        path = clips / f"turn-{index:03d}.wav"
        sf.write(str(path), part, rate, subtype="PCM_16")
        files.append(path)
    out = folder / "peer"
    run = measure(
        [
            program,
            *map(str, files),
            "--model_directory",
            str(model_path),
            "--device",
            "cpu",
            "--compute_type",
            "int8",
            "--output_dir",
            str(out),
            "--output_format",
            "json",
            "--verbose",
            "False",
        ]
    )
    texts, languages = [], []
    for path in files:
        result = out / f"{path.stem}.json"
        data = json.loads(result.read_text()) if result.exists() else {}
        texts.append(normalise(str(data.get("text", ""))))
        languages.append(str(data.get("language", "?")))
    return run, texts, languages


SHORT = {  # the short turns of a real conversation, where detection has least to go on
    "en": ["Yes.", "Thank you.", "Okay, go on.", "Me too.", "Exactly.", "I agree with her."],
    "pcm": ["Na so.", "Abeg.", "E don do.", "Wetin?", "Oya, talk am.", "I gree."],
    "fr": ["Oui.", "Merci.", "D'accord.", "Moi aussi.", "Exactement.", "Je suis d'accord avec elle."],
}


def detection(source: Path, turns: list[Turn], model_path: Path, allowed: tuple[str, ...]) -> None:
    """Language detection on each turn alone, and on short answers (one to five words, each
    voice of the language): the probability (among the allowed languages) of the right and of
    the wrong answers, which is what LANGUAGE_SURE has to separate."""
    from scipy.signal import resample_poly

    from podcast import speech

    recogniser = whisper.Recogniser(model_path, allowed_languages=allowed)
    audio = whisper.load_audio(source)
    items = [(turn.language, audio, whisper.Chunk(turn.start_s, turn.end_s)) for turn in turns]
    for language, texts in SHORT.items():
        for name, voice, pitch in VOICES:
            if READS[name] != language:
                continue
            for text in texts:
                mono, rate = speech.synthesize(text, voice=voice, pitch=pitch)
                clip = resample_poly(mono, whisper.SAMPLE_RATE_HZ, rate).astype(np.float32)
                items.append((language, clip, whisper.Chunk(0.0, len(clip) / whisper.SAMPLE_RATE_HZ)))
    for label, chosen in (("turns", items[: len(turns)]), ("short answers", items[len(turns) :])):
        right: list[tuple[str, float]] = []
        wrong: list[tuple[str, float]] = []
        for language, clip, chunk in chosen:
            code, probability = recogniser.language_of(clip, chunk)[0]
            (right if code == EXPECTED_TAG[language] else wrong).append((language, probability))
        print(f"\nLanguage detection, {label} alone ({len(chosen)}), probability among {', '.join(allowed)}:")
        for verdict, found in (("right", right), ("wrong", wrong)):
            if not found:
                print(f"  {verdict:5}   0")
                continue
            values = np.array([p for _, p in found])
            by_language = {code: sum(1 for c, _ in found if c == code) for code in ORDER}
            print(
                f"  {verdict:5} {len(found):3} {by_language}: min {values.min():.3f}, "
                f"10th percentile {np.percentile(values, 10):.3f}, median {np.median(values):.3f}"
            )
        for threshold in (0.6, 0.7, 0.8, 0.9, 0.95):
            caught = sum(1 for _, p in wrong if p < threshold)
            again = sum(1 for _, p in right if p < threshold)
            mark = " (LANGUAGE_SURE)" if threshold == whisper.LANGUAGE_SURE else ""
            print(
                f"  below {threshold}: {caught}/{len(wrong)} wrong answers caught, "
                f"{again}/{len(right)} right ones decoded again{mark}"
            )


def report(label: str, run: Run, per: dict[str, Scores], outside: int, audio_s: float) -> None:
    print(
        f"\n{label}: {run.wall_s:.1f} s ({run.wall_s / audio_s:.3f} x real time), "
        f"peak {run.peak_rss_mib:.0f} MiB"
    )
    print(
        f"  {'language':8} {'turns':>5} {'tagged':>8} {'WER':>6} {'WER di=the':>11} {'speaker':>8} "
        f"{'vanished':>9} {'translated':>11}"
    )
    for code in ORDER:
        s = per[code]
        assert s.said is not None and s.heard is not None
        print(
            f"  {code:8} {s.turns:5} {s.tagged / s.turns:8.0%} {wer(s.said, s.heard):6.1%} "
            f"{wer(s.said, s.heard, tolerant):11.1%} {s.attributed / max(1, s.words):8.1%} "
            f"{s.vanished:9} {s.translated:11}"
        )
    words = sum(s.words for s in per.values()) + outside
    print(f"  words timed outside every turn (+/-{SLACK_S} s): {outside} of {words}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mbrola", type=Path, required=True, help="folder made by scripts/mbrola-voices")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--no-peer", action="store_true", help="skip whisper-ctranslate2 (slow)")
    args = parser.parse_args()
    os.environ["PATH"] = f"{args.mbrola / 'root/usr/bin'}{os.pathsep}{os.environ['PATH']}"
    os.environ["ESPEAK_DATA_PATH"] = str(args.mbrola / "home")
    os.environ["HF_HUB_OFFLINE"] = "1"

    model = ModelStore(default_data_dir()).ready()
    tmp = Path(tempfile.mkdtemp(prefix="bench-languages-"))
    source, turns = generate(tmp, args.minutes, args.seed)
    audio_s = sf.info(str(source)).duration
    settings = ShowSettings(title="Bench", language="en", spoken_languages=("en", "fr", "pcm"))
    variants = (
        ("podcast transcribe", settings),
        ("podcast transcribe, no Pidgin words", replace(settings, pidgin_words=())),
    )
    for index, (label, show) in enumerate(variants):
        folder = tmp / f"run-{index}"
        folder.mkdir()
        run, transcript = transcribe(folder, source, show)
        per, outside = score(turns, transcript)
        report(label, run, per, outside, audio_s)

    peer_run, texts, languages = (None, [], []) if args.no_peer else peer(tmp, source, turns, model.path)
    if peer_run is not None:
        print(f"\nwhisper-ctranslate2, turn by turn: {peer_run.wall_s:.1f} s")
        for code in ORDER:
            indices = [i for i, t in enumerate(turns) if t.language == code]
            said = [normalise(turns[i].text) for i in indices]
            heard = [texts[i] for i in indices]
            tagged = sum(1 for i in indices if languages[i] == EXPECTED_TAG[code])
            print(
                f"  {code:8} tagged {tagged / len(indices):5.0%}  WER {wer(said, heard):6.1%}  "
                f"WER di=the {wer(said, heard, tolerant):6.1%}  "
                f"translated {sum(1 for i in indices if _translated(texts[i], code))}"
            )
    detection(source, turns, model.path, ("en", "fr"))
    if args.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
