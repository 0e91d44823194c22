"""Episodes, the feed and the published folder, read back by real parsers and meters."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import feedparser
import podcastparser
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutagen.id3 import ID3

from consent import decisions, participants, sensitive
from podcast import ffmpeg
from podcast.settings import ShowSettings
from podcast.text import xml_safe
from podcast.workspace import Workspace
from publish import audit, build, episodes, feed, site, tags
from publish.feed import FeedItem
from tests.publish.conftest import VOICES


def test_podcast_guid_matches_the_specification_vectors() -> None:
    assert feed.podcast_guid("https://podnews.net/rss") == "9b024349-ccf0-5f69-a609-6b82873eab3c"
    assert (
        feed.podcast_guid("http://mp3s.nashownotes.com/pc20rss.xml/")
        == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    )


def test_publish_writes_a_feed_real_clients_read(ws: Workspace, cleared: list[int]) -> None:
    episode = episodes.create(ws, "Arrivals", cleared, description="Three voices.", number=1, season=1)
    result = site.publish(ws, voices=VOICES)
    out = result.out_dir
    data = (out / "feed.xml").read_bytes()
    parsed = feedparser.parse(data)
    assert not parsed.bozo
    channel = parsed.feed
    assert channel.title == "Test show" and channel.language == "en"
    # feedparser maps only yes/clean/no; "false" (what Apple now asks for) reads as not explicit.
    assert channel.get("itunes_explicit") is not True
    (entry,) = parsed.entries
    assert entry.id == episode.guid and entry.title == "Arrivals"
    (enclosure,) = entry.enclosures
    audio = out / enclosure.href.rsplit("/", 1)[-1]
    assert int(enclosure.length) == audio.stat().st_size and enclosure.type == "audio/mpeg"
    assert enclosure.href.startswith("https://podcast.example.org/show/")
    text = data.decode()
    for required in (
        "<itunes:image",
        "<itunes:category",
        "<itunes:explicit>false</itunes:explicit>",
        '<atom:link href="https://podcast.example.org/show/feed.xml" rel="self"',
        f"<podcast:guid>{feed.podcast_guid('https://podcast.example.org/show/feed.xml')}</podcast:guid>",
        "<podcast:locked",
        "<podcast:transcript",
        "<podcast:chapters",
        "<itunes:duration>",
        "<pubDate>",
        "<enclosure",
    ):
        assert required in text, required
    assert "podcast:location" not in text
    gpodder = podcastparser.parse("https://podcast.example.org/show/feed.xml", io.BytesIO(data))
    assert gpodder["title"] == "Test show"
    assert gpodder["episodes"][0]["enclosures"][0]["file_size"] == audio.stat().st_size
    # The audio: loudness, true peak, format, tags and chapters.
    loudness, peak = ffmpeg.measure_loudness(audio)
    assert -17.0 <= loudness <= -15.0 and peak <= -1.0
    frames = tags.read_frames(audio)
    assert set(frames) <= set(tags.ALLOWED_FRAMES)
    # No Xing frame (the MP3 is encoded through a pipe): players take the duration of this
    # constant-bitrate file from its size, and it matches the feed's.
    from mutagen.mp3 import MP3

    duration_s = 0
    for part in entry.itunes_duration.split(":"):  # seconds, or [hh:]mm:ss
        duration_s = duration_s * 60 + int(part)
    assert duration_s > 5 and abs(MP3(str(audio)).info.length - duration_s) <= 1.0
    id3 = ID3(str(audio))
    assert id3.version[:2] == (2, 4)
    chapters = sorted(id3.getall("CHAP"), key=lambda c: c.start_time)
    assert len(chapters) == 3 and len(id3.getall("CTOC")) == 1
    assert [c.sub_frames["TIT2"].text[0] for c in chapters][1].startswith("I arrived")
    assert str(id3["TALB"]) == "Test show" and str(id3["TPE1"]) == "Test collective"
    chapters_doc = (
        json.loads((out / entry.podcast_chapters["url"].rsplit("/", 1)[-1]).read_text())
        if hasattr(entry, "podcast_chapters")
        else json.loads(next(out.glob("*.chapters.json")).read_text())
    )
    assert chapters_doc["version"] == "1.2.0" and next(c["startTime"] for c in chapters_doc["chapters"]) == 0
    vtt = next(out.glob("*.vtt")).read_text()
    assert "<v Amara>" in vtt and "<v Blessing>" in vtt
    assert all(oct(p.stat().st_mode)[-3:] == "644" for p in out.iterdir())
    assert site.check(ws, out) == []


def test_npm_podcast_partytime_reads_the_podcasting_20_tags(
    ws: Workspace, cleared: list[int], tmp_path: Path
) -> None:
    node = shutil.which("node")
    partytime = Path(__file__).resolve().parents[2] / "node_modules" / "podcast-partytime"
    if node is None or not partytime.exists():
        pytest.skip("podcast-partytime (npm) is installed by 'make test' where Node is present")
    episodes.create(ws, "Arrivals", cleared)
    out = site.publish(ws, voices=VOICES).out_dir
    script = (
        "const {parseFeed}=require('podcast-partytime');const fs=require('fs');"
        "const f=parseFeed(fs.readFileSync(process.argv[1],'utf8'));"
        "console.log(JSON.stringify({guid:f.guid,locked:f.locked,items:f.items.map(i=>({t:i.podcastTranscripts,"
        "c:i.podcastChapters,e:i.enclosure}))}));"
    )
    result = subprocess.run(
        [node, "-e", script, str(out / "feed.xml")],
        capture_output=True,
        text=True,
        cwd=partytime.parents[1],
        check=True,
    )
    parsed = json.loads(result.stdout)
    assert parsed["guid"] == feed.podcast_guid("https://podcast.example.org/show/feed.xml")
    item = parsed["items"][0]
    types = {t["type"] for t in item["t"]}
    # partytime reports application/x-subrip as application/srt
    assert types in (
        {"text/vtt", "application/x-subrip", "application/json"},
        {"text/vtt", "application/srt", "application/json"},
    )
    assert item["c"]["type"] == "application/json+chapters"


def test_build_refuses_uncleared_extracts_without_naming_who(ws: Workspace, cleared: list[int]) -> None:
    blessing = participants.get(ws, "Blessing")
    decisions.record(
        ws,
        cleared[1],
        blessing,
        "refuse",
        witness=participants.get(ws, "Fatou"),
        method="phone",
        language="en",
    )
    episode = episodes.create(ws, "Arrivals", cleared)
    with pytest.raises(build.GateRefused) as info:
        build.check_gate(ws, episode)
    assert f"Extract {cleared[1]}" in info.value.message and "not everyone agreed" in info.value.message
    assert "Blessing" not in info.value.message and "Amara" not in info.value.message


def test_withdrawal_recuts_the_episode_keeping_its_guid(ws: Workspace, cleared: list[int]) -> None:
    sensitive.add(ws, ["nothing said"])
    episode = episodes.create(ws, "Arrivals", cleared)
    first = site.publish(ws, voices=VOICES)
    before = feedparser.parse((first.out_dir / "feed.xml").read_bytes()).entries[0]
    amara = participants.get(ws, "Amara")
    decisions.withdraw(ws, amara, extract_id=cleared[1])
    second = site.publish(ws, voices=VOICES)
    assert any("re-cut" in change for change in second.changes)
    after = feedparser.parse((second.out_dir / "feed.xml").read_bytes()).entries[0]
    assert after.id == before.id == episode.guid
    assert after.enclosures[0].href != before.enclosures[0].href
    assert not (second.out_dir / before.enclosures[0].href.rsplit("/", 1)[-1]).exists()
    vtt = next(second.out_dir.glob("*.vtt")).read_text()
    assert "Paris" not in vtt and "Blessing" not in vtt.split("<v Amara>")[0] + "".join(
        re.findall(r"<v Blessing>.*", vtt)
    )
    chapters = json.loads(next(second.out_dir.glob("*.chapters.json")).read_text())["chapters"]
    assert len(chapters) == 2
    assert ID3(str(next(second.out_dir.glob("*.mp3")))).getall("CHAP").__len__() == 2
    # Everyone withdraws: the episode leaves the feed.
    for name in ("Amara", "Blessing"):
        decisions.withdraw(ws, participants.get(ws, name), everything=True)
    third = site.publish(ws, voices=VOICES)
    assert any("removed from the feed" in change for change in third.changes)
    assert feedparser.parse((third.out_dir / "feed.xml").read_bytes()).entries == []
    assert list(third.out_dir.glob("*.mp3")) == []


def test_the_audit_catches_a_raw_take_and_a_sensitive_word(ws: Workspace, cleared: list[int]) -> None:
    episodes.create(ws, "Arrivals", cleared)
    out = site.publish(ws, voices=VOICES).out_dir
    take = next(ws.takes_dir.rglob("take-*"))
    shutil.copy(take, out / "leak.flac")
    (out / "notes.vtt").write_text("WEBVTT\n\n00:00.000 --> 00:01.000\nGare du Nord\n")
    sensitive.add(ws, ["Gare du Nord"])
    problems = site.check(ws, out)
    assert any("raw take" in p for p in problems)
    assert any("sensitive word" in p for p in problems)
    assert any("unexpected file leak.flac" in p for p in problems)


def test_a_failed_audit_changes_nothing(
    ws: Workspace, cleared: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    episodes.create(ws, "Arrivals", cleared)
    first = site.publish(ws, voices=VOICES).out_dir
    snapshot = {p.name: p.read_bytes() for p in first.iterdir()}
    monkeypatch.setattr(audit, "audit", lambda *_a, **_k: ["simulated problem"])
    episodes.create(ws, "Second", cleared[:1])
    with pytest.raises(site.AuditFailed):
        site.publish(ws, voices=VOICES)
    assert {p.name: p.read_bytes() for p in first.iterdir()} == snapshot
    assert [p.name for p in first.parent.iterdir() if "staging" in p.name or ".old" in p.name] == []


def test_publish_needs_a_base_url(tmp_path: Path) -> None:
    from podcast.errors import InvalidInputError

    bare = Workspace.create(tmp_path / "bare", ShowSettings(title="T"))
    with pytest.raises(InvalidInputError, match="public address"):
        site.publish(bare, voices=VOICES)


text = st.text(min_size=1, max_size=80)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=text, description=st.text(max_size=300), show_title=text, author=text)
def test_any_text_gives_a_feed_that_parses_and_round_trips(
    title: str, description: str, show_title: str, author: str
) -> None:
    from datetime import UTC, datetime

    show = ShowSettings.__new__(ShowSettings)  # bypass validation: hostile text must still be safe
    object.__setattr__(
        show,
        "__dict__",
        dict(ShowSettings(title="x").__dict__, title=show_title, author=author, description=description),
    )
    item = FeedItem(
        "guid-1",
        title,
        description,
        1,
        None,
        datetime(2026, 1, 1, tzinfo=UTC),
        "https://e.org/a.mp3",
        10,
        1.0,
        "https://e.org/a.vtt",
        "https://e.org/a.srt",
        "https://e.org/a.json",
        "https://e.org/c.json",
    )
    data = feed.feed_xml(
        show,
        feed_url="https://e.org/feed.xml",
        site_url="https://e.org/",
        image_url="https://e.org/c.png",
        items=[item],
    )
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.bozo_exception
    # The exact text, read by a strict XML parser (feedparser "repairs" some text, e.g. mojibake).
    root = ElementTree.fromstring(data)
    assert root.findtext("channel/item/title") == (xml_safe(title).strip() or "Episode")
    assert root.findtext("channel/title") == (xml_safe(show_title).strip() or "Podcast")
    expected = xml_safe(description).strip() or xml_safe(title).strip() or "Episode"
    assert root.findtext("channel/item/description") == expected


def test_publish_computes_each_extract_and_the_ledger_once(
    ws: Workspace, cleared: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from consent import checkpoints, fingerprint

    episodes.create(ws, "Arrivals", cleared)
    episodes.create(ws, "Again", cleared[:2])  # the same extracts in a second episode
    contents: list[int] = []
    readings: list[int] = []
    real_content, real_evidence = fingerprint.content, checkpoints.evidence
    monkeypatch.setattr(
        fingerprint, "content", lambda w, e, *a: contents.append(e.id) or real_content(w, e, *a)
    )
    monkeypatch.setattr(checkpoints, "evidence", lambda w: readings.append(1) or real_evidence(w))
    site.publish(ws, voices=VOICES)
    assert sorted(contents) == sorted(cleared) and len(readings) == 1


def test_published_transcripts_say_each_lines_language_and_the_feed_the_episodes(
    ws: Workspace, sid: int
) -> None:
    """An episode said in Nigerian Pidgin in a show whose language is English: each segment of
    the published JSON transcript gives its language, and the feed's transcript tags give the
    episode's (most of its words), not the show's."""
    from consent import review
    from publish import anonymise
    from sessions import editing, extracts, transcripts
    from tests.consent.test_consent import Scripted

    lines = transcripts.load(ws, sid).utterances
    for line in lines[1:]:
        editing.set_language(ws, sid, line.key, "pcm", source="cli")
    transcripts.mark_reviewed(ws, sid)
    ids = [extracts.add(ws, sid, find=q).id for q in ("welcome everybody", "arrived in paris", "thank you")]
    for extract_id in ids:
        anonymise.render(ws, extracts.get(ws, extract_id), voices=VOICES, models=None)
    review.run(
        ws, sid, Scripted([review.Answer.YES] * 6), witness=participants.get(ws, "Fatou"), language="en"
    )
    episodes.create(ws, "Wetin happen", ids)
    out = site.publish(ws, voices=VOICES).out_dir
    segments = json.loads(next(out.glob("*.transcript.json")).read_text())["segments"]
    assert {s["language"] for s in segments} == {"en", "pcm"}
    assert next(s for s in segments if "Paris" in s["body"])["language"] == "pcm"
    data = (out / "feed.xml").read_text()
    tags_ = re.findall(r"<podcast:transcript [^>]*>", data)
    assert len(tags_) == 3 and all('language="pcm"' in tag for tag in tags_), tags_
    assert "<language>en</language>" in data  # the show's own language is unchanged
    assert not feedparser.parse(data.encode()).bozo
