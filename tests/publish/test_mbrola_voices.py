"""A French participant revoiced by a French voice: MBROLA's fr1 from the distribution's
packages (scripts/mbrola-voices unpacks it from this machine's own apt mirror into .cache/),
read through espeak-ng, and heard back by the bundled Whisper model."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import jiwer
import numpy as np
import pytest
from scipy.signal import resample_poly
from typer.testing import CliRunner

from consent import protection
from podcast.cli import app
from podcast.models import ModelStore
from podcast.workspace import Workspace
from publish import anonymise
from publish.voices import VoiceStore
from sessions import editing, extracts, transcripts, whisper

pytestmark = pytest.mark.slow

FRENCH = (
    "Je suis arrivée à Paris il y a trois ans avec ma petite fille. Les femmes de l'association "
    "m'ont aidée chaque semaine. Le plus important, c'est de ne pas rester seule. Au début, je ne "
    "comprenais pas les papiers. Aujourd'hui, je suis fière de mon chemin."
)

SHORT_FRENCH = "Les femmes de l'association m'ont beaucoup aidée."


def _words(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]", " ", text.lower().replace("’", "'")).split())


def test_a_french_line_is_revoiced_by_a_french_mbrola_voice_and_heard_as_french(
    ws: Workspace, sid: int, tmp_path: Path, mbrola_folder: Path, model_store: ModelStore
) -> None:
    data = tmp_path / "data"
    shutil.copytree(model_store.data_dir, data, copy_function=lambda s, d: Path(d).symlink_to(s))
    cli = CliRunner(env={"COLUMNS": "150", "PODCAST_DATA_DIR": str(data)})
    base = ["-q", "-w", str(ws.root)]
    refused = cli.invoke(
        app, [*base, "voices", "add", "--mbrola", "fr1", "--from", str(mbrola_folder)], input="n\n"
    )
    assert refused.exit_code == 1 and "licence" in refused.output.lower()  # shown, and not accepted
    added = cli.invoke(
        app, [*base, "voices", "add", "--mbrola", "fr1", "--from", str(mbrola_folder), "--accept-licence"]
    )
    assert added.exit_code == 0, added.output
    listed = cli.invoke(app, [*base, "voices", "list"])
    assert "mb-fr1" in listed.output and "fr_FR" in listed.output and "mbrola" in listed.output
    chosen = cli.invoke(
        app,
        [*base, "participant", "protect", "Blessing", "revoice", "--voice", "fr=mb-fr1", "--voice", "en=joe"],
    )
    assert chosen.exit_code == 0, chosen.output

    # Her line, corrected to what she said in French, tagged French and reviewed.
    line = next(u for u in transcripts.load(ws, sid).utterances if u.speaker == "Blessing")
    editing.set_text(ws, sid, line.key, FRENCH)
    editing.set_language(ws, sid, line.key, "fr")
    transcripts.mark_reviewed(ws, sid)
    extract = extracts.add(ws, sid, find="petite fille")
    rendering = anonymise.render(ws, extract, voices=VoiceStore(data), models=None)
    assert [line.mode for line in rendering.lines] == ["revoice"]

    import soundfile as sf

    audio, rate = sf.read(str(rendering.path), dtype="float32")
    mono16 = resample_poly(audio, whisper.SAMPLE_RATE_HZ, rate).astype(np.float32)
    recogniser = whisper.Recogniser(model_store.ready().path, allowed_languages=("en", "fr", "pcm"))
    results = recogniser.transcribe_batch(
        mono16, whisper.fixed_windows(len(mono16) / whisper.SAMPLE_RATE_HZ), None
    )
    segments = [segment for chunk in results for segment in chunk]
    heard = " ".join(segment.text for segment in segments)
    wer = jiwer.wer(_words(FRENCH), _words(heard))
    languages = [segment.language for segment in segments]
    print(f"French line revoiced by mb-fr1, heard back: WER {wer:.0%}, languages {languages}")
    assert {segment.language for segment in segments} == {"fr"}  # French, never translated
    assert wer <= 0.20, heard
    # Her voice for French is part of what the group agrees to.
    assert "fr=mb-fr1" in protection.digest(ws, protection.get(ws, line.speaker_id or "").participant_id)

    # Retold in French: the same voice with her timing and melody, still heard as French. Her
    # line here lasts 2.8 s: what she could have said in it.
    editing.set_text(ws, sid, line.key, SHORT_FRENCH)
    transcripts.mark_reviewed(ws, sid)
    extract = extracts.add(ws, sid, find="beaucoup")
    retold = cli.invoke(
        app,
        [*base, "participant", "protect", "Blessing", "retell", "--voice", "fr=mb-fr1", "--voice", "en=joe"],
    )
    assert retold.exit_code == 0, retold.output
    rendering = anonymise.render(ws, extract, voices=VoiceStore(data), models=None)
    assert [line.mode for line in rendering.lines] == ["retell"]
    audio, rate = sf.read(str(rendering.path), dtype="float32")
    mono16 = resample_poly(audio, whisper.SAMPLE_RATE_HZ, rate).astype(np.float32)
    results = recogniser.transcribe_batch(
        mono16, whisper.fixed_windows(len(mono16) / whisper.SAMPLE_RATE_HZ), None
    )
    segments = [segment for chunk in results for segment in chunk]
    heard = " ".join(segment.text for segment in segments)
    wer = jiwer.wer(_words(SHORT_FRENCH), _words(heard))
    print(f"French line retold by mb-fr1, heard back: WER {wer:.0%}")
    assert {segment.language for segment in segments} == {"fr"}
    assert wer <= 0.3, heard


def test_an_mbrola_voice_needs_its_unpacked_files(tmp_path: Path) -> None:
    from publish.voices import VoiceError

    store = VoiceStore(tmp_path / "data")
    with pytest.raises(VoiceError, match="not unpacked"):
        store.add_mbrola(tmp_path / "empty", "fr1")
    with pytest.raises(VoiceError, match="No MBROLA voice"):
        store.add_mbrola(tmp_path / "empty", "xx9")
    assert os.listdir(tmp_path) == []  # nothing registered, nothing written
