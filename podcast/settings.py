"""Show settings (podcast.toml): defaults in one place, validated once, passed down."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from podcast.errors import InvalidInputError, SettingsError
from podcast.fsutil import atomic_write_text
from podcast.text import check_paragraph, check_title

# Apple Podcasts top-level categories (the feed needs one).
CATEGORIES = (
    "Arts",
    "Business",
    "Comedy",
    "Education",
    "Fiction",
    "Government",
    "Health & Fitness",
    "History",
    "Kids & Family",
    "Leisure",
    "Music",
    "News",
    "Religion & Spirituality",
    "Science",
    "Society & Culture",
    "Sports",
    "Technology",
    "True Crime",
    "TV & Film",
)

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_URL = re.compile(r"^https?://[^\s<>\"]+$")
_ARCHIVE_KEY = re.compile(r"^age1[02-9ac-hj-np-z]{58}$")
_RETENTION = re.compile(r"^(\d{1,4}d|keep)$")
_DEPLOY = re.compile(r"^(/[^\s]*|(ssh://)?[A-Za-z0-9._-]+@[A-Za-z0-9.-]+(:\d+)?[:/]/?[^\s]*)$")


@dataclass(frozen=True)
class ShowSettings:
    """Everything podcast.toml holds, validated."""

    title: str
    language: str = "fr"
    description: str = ""
    author: str = ""
    category: str = "Society & Culture"
    explicit: bool = False
    base_url: str = ""
    owner_email: str = ""
    artwork: str = ""
    licence: str = "CC BY-NC-ND 4.0"
    # Languages spoken in the workshops: language detection chooses among these. Nigerian
    # Pidgin ("pcm") has no Whisper code; it is transcribed as English, helped by the words
    # below.
    spoken_languages: tuple[str, ...] = ("en", "fr", "pcm")
    # With "pcm" spoken: common Pidgin words and spellings, in short phrases, given to the
    # recogniser before English speech (measured: Pidgin WER 44 % -> 36 %, docs/languages.md).
    # The group can add its own words and spellings.
    pidgin_words: tuple[str, ...] = (
        "Wetin dey happen?",
        "Abeg, make una no vex.",
        "Di pikin sabi am.",
        "Na so e be, we dey manage.",
    )
    # Voice protection until a participant chooses hers: revoice or retell (a synthetic voice
    # reads her words, flat or with her melody). Disguise is never a default.
    protection_default: str = "revoice"
    # Where `podcast deploy` sends the published folder: an absolute folder, or an SSH
    # destination (user@host:/path); the SSH key's path (never a password).
    deploy_target: str = ""
    deploy_key: str = ""
    # The association's archive key (an age public key, `podcast keys new`): backups and
    # sealed sessions are encrypted to it; its private half lives on paper, not here.
    archive_key: str = ""
    # How long raw takes stay after a session's consent step is complete: "30d", or "keep".
    retention: str = "30d"

    def __post_init__(self) -> None:
        validate(self)


def _field_error(name: str, message: str, hint: str) -> SettingsError:
    return SettingsError(f"podcast.toml: '{name}' {message}", hint=hint)


def validate(settings: ShowSettings) -> None:
    """Raise SettingsError naming the first invalid field."""
    try:
        check_title(settings.title, what="show title")
        check_paragraph(settings.description, what="show description", max_bytes=4000)
        if settings.author:
            check_title(settings.author, what="author")
        if settings.licence:
            check_title(settings.licence, what="licence")
    except InvalidInputError as exc:
        raise SettingsError(f"podcast.toml: {exc.message}", hint=exc.hint) from None
    if not _LANGUAGE.match(settings.language):
        raise _field_error(
            "language", f"is {settings.language!r}.", "Use an ISO 639 code such as 'fr' or 'en'."
        )
    for code in settings.spoken_languages:
        if not isinstance(code, str) or not re.match(r"^[a-z]{2,3}$", code):
            raise _field_error(
                "spoken_languages", f"holds {code!r}.", 'List ISO 639-1 codes, e.g. ["en", "fr"].'
            )
    if settings.archive_key and not _ARCHIVE_KEY.match(settings.archive_key):
        raise _field_error("archive_key", "is not an age public key.", "Make one with: podcast keys new")
    if not _RETENTION.match(settings.retention):
        raise _field_error(
            "retention", f"is {settings.retention!r}.", 'Write a number of days, e.g. "30d", or "keep".'
        )
    if len(" ".join(settings.pidgin_words)) > 400:
        raise _field_error(
            "pidgin_words",
            "is too long.",
            "Keep it to a few dozen words: the recogniser reads 200 tokens at most.",
        )
    for phrase in settings.pidgin_words:
        if not isinstance(phrase, str):
            raise _field_error(
                "pidgin_words", f"holds {phrase!r}.", 'List phrases, e.g. ["Wetin dey happen?"].'
            )
        try:
            check_title(phrase, what="Pidgin phrase")
        except InvalidInputError as exc:
            raise _field_error("pidgin_words", exc.message, exc.hint or "") from None
    if not settings.spoken_languages:
        raise _field_error("spoken_languages", "is empty.", 'List at least one language, e.g. ["fr"].')
    if settings.protection_default == "disguise":
        raise _field_error(
            "protection_default",
            "is 'disguise': reduced protection is never a default, each participant chooses it herself.",
            "Use 'revoice' or 'retell'; a participant who wants disguise: "
            "podcast participant protect NAME disguise --reduced-protection",
        )
    if settings.protection_default not in ("revoice", "retell"):
        raise _field_error(
            "protection_default", f"is {settings.protection_default!r}.", "Use 'revoice' or 'retell'."
        )
    if settings.category not in CATEGORIES:
        raise _field_error(
            "category",
            f"is {settings.category!r}.",
            "Use one of: " + ", ".join(CATEGORIES) + ".",
        )
    if settings.base_url and not _URL.match(settings.base_url):
        raise _field_error(
            "base_url",
            f"is {settings.base_url!r}.",
            "Use the public address of the published folder, e.g. https://example.org/podcast/",
        )
    if settings.deploy_target and not _DEPLOY.match(settings.deploy_target):
        raise _field_error(
            "deploy_target",
            f"is {settings.deploy_target!r}.",
            "Use an absolute folder (/media/usb/podcast) or user@host:/var/www/podcast.",
        )
    if settings.deploy_key and not Path(settings.deploy_key).is_absolute():
        raise _field_error(
            "deploy_key",
            f"is {settings.deploy_key!r}.",
            "Give the SSH private key's full path, e.g. /home/me/.ssh/podcast.",
        )
    if settings.owner_email and not _EMAIL.match(settings.owner_email):
        raise _field_error(
            "owner_email", f"is {settings.owner_email!r}.", "Use an address like name@example.org."
        )
    if settings.artwork and (Path(settings.artwork).is_absolute() or ".." in Path(settings.artwork).parts):
        raise _field_error(
            "artwork",
            f"is {settings.artwork!r}.",
            "Give a path inside the workspace, e.g. assets/cover.png.",
        )


_FIELDS = {f.name: f for f in dataclasses.fields(ShowSettings)}


def from_mapping(data: dict[str, Any]) -> ShowSettings:
    """Build settings from a parsed TOML table; unknown keys and wrong types are errors."""
    show = data.get("show", {})
    if not isinstance(show, dict):
        raise SettingsError("podcast.toml: [show] must be a table.", hint="See the README.")
    for key, value in show.items():
        field = _FIELDS.get(key)
        if field is None:
            raise _field_error(key, "is not a known setting.", "Known: " + ", ".join(_FIELDS) + ".")
        expected: type = {"bool": bool, "tuple[str, ...]": list}.get(str(field.type), str)
        if not isinstance(value, expected):
            kind = {bool: "true or false", list: "a list"}.get(expected, "text")
            raise _field_error(key, f"must be {kind}.", "Fix podcast.toml.")
    if "title" not in show:
        raise _field_error("title", "is missing.", 'Add title = "..." under [show].')
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in show.items()}
    return ShowSettings(**values)


def load(path: Path) -> ShowSettings:
    """Read and validate podcast.toml."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(
            f"{path.name} is missing.", hint="Run 'podcast init' to create a workspace."
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"podcast.toml cannot be read: {exc}.", hint="Fix its syntax.") from None
    return from_mapping(data)


def save(settings: ShowSettings, path: Path) -> None:
    """Write podcast.toml atomically."""
    text = "# Podcast workshop settings. Edit with care; 'podcast status' checks them.\n"
    table = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(settings).items()}
    text += tomli_w.dumps({"show": table})
    atomic_write_text(path, text)
