"""Transcript file formats against golden files, and read back by real parsers."""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

import pytest
import srt
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st

from sessions.formats import Phrase, TimedWord, to_json, to_srt, to_txt, to_vtt

GOLDEN = Path(__file__).parent / "golden"


def _phrase(speaker: str, start_s: float, text: str, step_s: float = 0.4) -> Phrase:
    words = tuple(
        TimedWord(round(start_s + i * step_s, 3), round(start_s + i * step_s + 0.3, 3), w)
        for i, w in enumerate(text.split())
    )
    return Phrase(speaker, words)


PHRASES = [
    _phrase("Amara", 0.5, "Welcome everybody. Today we talk about finding work in a new city."),
    _phrase(
        "Blessing",
        6.0,
        "When I arrived I did not know anybody and the first months were very hard, "
        "so I went to the association every single day to learn French and to meet people "
        "who understood what I had lived through.",
    ),
    _phrase("Chidinma", 30.0, "Me I talk say <wahala> & palava no good."),
    _phrase("Dounia", 34.0, "C'est ça, ensemble on est plus fortes."),
]


@pytest.mark.parametrize(("name", "render"), [("sample.vtt", to_vtt), ("sample.srt", to_srt)])
def test_golden_files(name: str, render: object) -> None:
    text = render(PHRASES)  # type: ignore[operator]
    golden = GOLDEN / name
    assert text == golden.read_text(encoding="utf-8"), f"regenerate {golden} if the change is intended"


def test_vtt_is_read_by_a_webvtt_parser_with_voices_and_short_lines() -> None:
    text = to_vtt(PHRASES)
    captions = webvtt.from_buffer(io.StringIO(text))
    assert len(captions) >= 5
    assert captions[0].voice == "Amara"
    assert all(len(line) <= 65 for line in text.splitlines())
    assert "&lt;wahala&gt; &amp; palava" in text
    assert "<wahala>" not in text


def test_srt_has_two_lines_at_most_and_a_new_cue_per_speaker() -> None:
    subtitles = list(srt.parse(to_srt(PHRASES)))
    assert all(len(s.content.splitlines()) <= 2 for s in subtitles)
    speakers = [s.content.split(":", 1)[0] for s in subtitles]
    assert speakers[0] == "Amara" and speakers[-1] == "Dounia"
    assert all(s.content.count(":") >= 1 for s in subtitles)
    assert [s.start for s in subtitles] == sorted(s.start for s in subtitles)


def test_json_has_the_podcasting_20_shape() -> None:
    data = json.loads(to_json(PHRASES))
    assert data["version"] == "1.0.0"
    first = data["segments"][0]
    assert set(first) == {"speaker", "startTime", "endTime", "body"}
    assert first["speaker"] == "Amara" and first["startTime"] == 0.5
    assert "<wahala> & palava" in " ".join(s["body"] for s in data["segments"])


def test_txt() -> None:
    assert to_txt(PHRASES).splitlines()[0].startswith("[00:00:00] Amara: Welcome everybody.")


words = st.text(
    # Control and invisible format characters are filtered out of exports (tested elsewhere).
    alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zs", "Zl", "Zp")),
    min_size=1,
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["Amara", "B <&>", "Chí"]), st.lists(words, min_size=1, max_size=40)),
        min_size=1,
        max_size=5,
    )
)
def test_any_text_gives_parseable_files(items: list[tuple[str, list[str]]]) -> None:
    phrases = [_phrase(speaker, 10.0 * i, " ".join(ws)) for i, (speaker, ws) in enumerate(items)]
    vtt = to_vtt(phrases)
    # Line length counts what is shown (entities unescaped); one over-long word may stand alone.
    for line in vtt.splitlines():
        shown = html.unescape(line)
        assert len(shown) <= 65 or " " not in shown.split(">", 1)[-1].strip(), line
    assert len(webvtt.from_buffer(io.StringIO(vtt))) >= len(phrases)
    assert len(list(srt.parse(to_srt(phrases)))) >= len(phrases)
    json.loads(to_json(phrases))
