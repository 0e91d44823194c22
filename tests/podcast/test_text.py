from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from podcast.errors import InvalidInputError
from podcast.text import check_pseudonym, xml_safe


@pytest.mark.parametrize("name", ["Amara", "Blessing 2", "Chí-dinma", "Dounia ✿", "  Eve  "])
def test_valid_pseudonyms(name: str) -> None:
    assert check_pseudonym(name) == name.strip()


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        "a\x00b",
        "a\nb",
        "evil\u202eexe.mp3",
        "x\u2066y",
        "a" * 41,
        "a" * 500,
        "zero\u200bwidth",
        "../../etc",
        "a\\b",
    ],
)
def test_hostile_pseudonyms_are_refused_with_a_hint(name: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        check_pseudonym(name)
    assert info.value.hint and "real name" in info.value.hint


@given(st.text())
def test_xml_safe_leaves_only_xml_characters(text: str) -> None:
    cleaned = xml_safe(text)
    for char in cleaned:
        code = ord(char)
        assert (
            code in (9, 10, 13)
            or 0x20 <= code <= 0x7E
            or 0xA0 <= code <= 0xD7FF
            or 0xE000 <= code <= 0xFFFD
            or (code >= 0x10000)
        )
