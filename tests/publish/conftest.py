from __future__ import annotations

from pathlib import Path

import pytest

from consent import participants, review
from podcast.workspace import Workspace
from publish import anonymise
from publish.voices import VoiceStore
from sessions import extracts, transcripts
from tests.consent.test_consent import Scripted

VOICES = VoiceStore(Path("/nonexistent-data-dir"))


@pytest.fixture
def cleared(ws: Workspace, sid: int) -> list[int]:
    """Three extracts of the fake session, reviewed, protected, rendered and cleared by all."""
    transcripts.mark_reviewed(ws, sid)
    ids = [extracts.add(ws, sid, find=q).id for q in ("welcome everybody", "arrived in paris", "thank you")]
    for extract_id in ids:
        anonymise.render(ws, extracts.get(ws, extract_id), voices=VOICES, models=None)
    answers = [review.Answer.YES] * 6
    review.run(ws, sid, Scripted(answers), witness=participants.get(ws, "Fatou"), language="en")
    return ids
