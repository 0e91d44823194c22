from __future__ import annotations

from pathlib import Path

import pytest

from podcast import settings
from podcast.errors import SettingsError
from podcast.settings import ShowSettings


def test_round_trip(tmp_path: Path) -> None:
    show = ShowSettings(
        title="Nos voix",
        language="fr",
        description="Deux lignes\net un accent: é",
        author="Collectif",
        explicit=True,
        base_url="https://example.org/p/",
        owner_email="a@example.org",
        artwork="assets/cover.png",
    )
    settings.save(show, tmp_path / "podcast.toml")
    assert settings.load(tmp_path / "podcast.toml") == show


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("language", "french", "language"),
        ("category", "Cooking", "category"),
        ("base_url", "ftp://x", "base_url"),
        ("owner_email", "not-an-email", "owner_email"),
        ("artwork", "/etc/passwd", "artwork"),
        ("artwork", "../outside.png", "artwork"),
        ("title", "", "empty"),
        ("title", "a\x00b", "U+0000"),
        ("description", "x" * 4001, "bytes"),
    ],
)
def test_invalid_values_name_the_field(field: str, value: str, fragment: str) -> None:
    kwargs: dict[str, str] = {"title": "T", field: value}
    with pytest.raises(SettingsError) as info:
        ShowSettings(**kwargs)  # type: ignore[arg-type]
    assert fragment in info.value.message
    assert info.value.hint


def test_unknown_key_and_wrong_type_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "podcast.toml"
    path.write_text('[show]\ntitle = "T"\ncolour = "red"\n')
    with pytest.raises(SettingsError, match="colour"):
        settings.load(path)
    path.write_text('[show]\ntitle = "T"\nexplicit = "yes"\n')
    with pytest.raises(SettingsError, match="explicit"):
        settings.load(path)


def test_broken_toml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "podcast.toml"
    path.write_text("[show\ntitle=")
    with pytest.raises(SettingsError, match="cannot be read"):
        settings.load(path)


def test_the_groups_pidgin_words_are_kept_and_checked(tmp_path: Path) -> None:
    show = ShowSettings(title="Nos voix", pidgin_words=("Wetin dey happen?", "Oga Lekki", "Na Mama Ngozi"))
    settings.save(show, tmp_path / "podcast.toml")
    assert settings.load(tmp_path / "podcast.toml").pidgin_words == show.pidgin_words
    assert "pcm" in ShowSettings(title="T").spoken_languages  # the association speaks Pidgin
    with pytest.raises(SettingsError, match="pidgin_words"):
        ShowSettings(title="T", pidgin_words=("abeg " * 100,))
    with pytest.raises(SettingsError, match="U\\+001B"):
        ShowSettings(title="T", pidgin_words=("wetin\x1b[2J",))
