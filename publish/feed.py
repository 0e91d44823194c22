"""The podcast feed: RSS 2.0 with the itunes and Podcasting 2.0 namespaces, via feedgen.

feedgen's podcast extension writes itunes:explicit only as yes/no/clean and knows no
podcast: tags, so a registered extension adds those. Every user text is filtered to XML
characters first; escaping is the serialiser's job, never a template's.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator

from podcast.settings import ShowSettings
from podcast.text import xml_safe

PODCAST_NS = "https://podcastindex.org/namespace/1.0"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_GUID_NS = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")


def podcast_guid(feed_url: str) -> str:
    """podcast:guid: UUIDv5 of the feed URL without scheme and trailing slashes."""
    bare = feed_url.split("://", 1)[-1].rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NS, bare))


@dataclass(frozen=True)
class FeedItem:
    guid: str
    title: str
    description: str
    number: int | None
    season: int | None
    published: datetime
    audio_url: str
    audio_bytes: int
    duration_s: float
    transcript_vtt_url: str
    transcript_srt_url: str
    transcript_json_url: str
    chapters_url: str
    # The language most of the episode is in (its transcript's language; "": the show's).
    language: str = ""


class _PodcastIndex(BaseExtension):
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS, "itunes": ITUNES_NS}

    def extend_rss(self, rss_feed: Any) -> Any:
        from lxml import etree

        channel = rss_feed[0]
        explicit = etree.SubElement(channel, f"{{{ITUNES_NS}}}explicit")
        explicit.text = "true" if self.values["explicit"] else "false"
        guid = etree.SubElement(channel, f"{{{PODCAST_NS}}}guid")
        guid.text = self.values["guid"]
        locked = etree.SubElement(channel, f"{{{PODCAST_NS}}}locked")
        locked.text = "yes" if self.values.get("owner") else "no"
        if self.values.get("owner"):
            locked.set("owner", self.values["owner"])
        return rss_feed

    def extend_atom(self, atom_feed: Any) -> Any:
        return atom_feed


class _PodcastIndexEntry(BaseEntryExtension):
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def extend_rss(self, entry: Any) -> Any:
        from lxml import etree

        for url, kind in self.values.get("transcripts", []):
            element = etree.SubElement(entry, f"{{{PODCAST_NS}}}transcript")
            element.set("url", url)
            element.set("type", kind)
            element.set("language", self.values["language"])
            if kind == "text/vtt":
                element.set("rel", "captions")
        if self.values.get("chapters"):
            element = etree.SubElement(entry, f"{{{PODCAST_NS}}}chapters")
            element.set("url", self.values["chapters"])
            element.set("type", "application/json+chapters")
        for name in ("episode", "season"):
            if self.values.get(name):
                element = etree.SubElement(entry, f"{{{PODCAST_NS}}}{name}")
                element.text = str(self.values[name])
        return entry

    def extend_atom(self, entry: Any) -> Any:
        return entry


def _feed_language(code: str) -> str:
    """A line's language code as a feed attribute (BCP 47 primary subtag), else ""."""
    return code if re.fullmatch(r"[a-z]{2,3}", code) else ""


def _text(value: str, fallback: str) -> str:
    """User text made safe for XML; never empty where a feed needs a value."""
    return xml_safe(value).strip() or fallback


def feed_xml(
    show: ShowSettings, *, feed_url: str, site_url: str, image_url: str, items: list[FeedItem]
) -> bytes:
    """The feed document (UTF-8 bytes). Items keep their guid for ever; URLs change on re-cuts."""
    fg = FeedGenerator()
    fg.load_extension("podcast")
    fg.register_extension("podcastindex", _PodcastIndex, _PodcastIndexEntry)
    fg.title(_text(show.title, "Podcast"))
    fg.description(_text(show.description, _text(show.title, "Podcast")))
    fg.link(href=feed_url, rel="self", type="application/rss+xml")
    fg.link(href=site_url, rel="alternate")
    fg.language(show.language)
    if show.licence:
        fg.copyright(xml_safe(show.licence))
    fg.generator("podcast-workshop")  # no version, no path
    fg.podcast.itunes_author(_text(show.author, _text(show.title, "Podcast")))
    fg.podcast.itunes_category(show.category)
    fg.podcast.itunes_image(image_url)
    fg.podcast.itunes_type("episodic")
    if show.owner_email:
        fg.podcast.itunes_owner(name=_text(show.author, _text(show.title, "Podcast")), email=show.owner_email)
    fg.podcastindex.values.update(explicit=show.explicit, guid=podcast_guid(feed_url), owner=show.owner_email)
    for item in sorted(items, key=lambda i: i.published):
        entry = fg.add_entry(order="append")
        entry.guid(item.guid, permalink=False)
        entry.title(_text(item.title, "Episode"))
        entry.description(_text(item.description, _text(item.title, "Episode")))
        entry.enclosure(item.audio_url, str(item.audio_bytes), "audio/mpeg")
        entry.pubDate(item.published)
        entry.podcast.itunes_duration(round(item.duration_s))
        entry.podcast.itunes_episode_type("full")
        if item.number:
            entry.podcast.itunes_episode(item.number)
        if item.season:
            entry.podcast.itunes_season(item.season)
        entry.podcastindex.values.update(
            language=_feed_language(item.language) or show.language,
            chapters=item.chapters_url,
            episode=item.number,
            season=item.season,
            transcripts=[
                (item.transcript_vtt_url, "text/vtt"),
                (item.transcript_srt_url, "application/x-subrip"),
                (item.transcript_json_url, "application/json"),
            ],
        )
    return bytes(fg.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True))
