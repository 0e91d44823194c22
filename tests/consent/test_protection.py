"""Disguise parameters: drawn from the public ranges, never close to her own voice."""

from __future__ import annotations

from consent import protection


def test_disguise_draws_change_timbre_and_pitch_together_and_stay_in_range() -> None:
    draws = [protection.draw_disguise_params() for _ in range(500)]
    for params in draws:
        low, high = protection.FORMANT_RANGE
        assert low <= params.formant_ratio <= high
        assert not protection.FORMANT_AVOID[0] <= params.formant_ratio <= protection.FORMANT_AVOID[1]
        low, high = protection.PITCH_RANGE
        assert low <= params.pitch_ratio <= high
        assert not protection.PITCH_AVOID[0] <= params.pitch_ratio <= protection.PITCH_AVOID[1]
        assert protection.ALPHA_RANGE[0] <= params.mcadams_alpha <= protection.ALPHA_RANGE[1]
        assert len(params.salt) == 32
    # Secure and fresh: no two draws alike, both directions used.
    assert len({p.salt for p in draws}) == len(draws)
    assert any(p.formant_ratio < 1 for p in draws) and any(p.formant_ratio > 1 for p in draws)
    assert any(p.pitch_ratio < 1 for p in draws) and any(p.pitch_ratio > 1 for p in draws)


def test_two_participants_never_get_the_same_voice_in_the_same_colour(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Colours go round after twelve participants: the thirteenth cannot be given the voice
    the first already reads with, in the same language; another voice is fine."""
    import pytest

    from consent import participants
    from podcast.errors import InvalidInputError
    from podcast.settings import ShowSettings
    from podcast.workspace import Workspace

    ws = Workspace.create(tmp_path / "ws", ShowSettings(title="T"))
    names = [f"P{i:02d}" for i in range(13)]
    for name in names:
        participants.add(ws, name)
    protection.set_mode(ws, names[0], "revoice", "en=joe,fr=mb-fr1")
    protection.set_mode(ws, names[1], "revoice", "en=joe,fr=mb-fr1")  # another colour
    with pytest.raises(InvalidInputError, match="P00 already has the voice 'mb-fr1' for fr") as info:
        protection.set_mode(ws, names[12], "revoice", "fr=mb-fr1")
    assert "voices add --mbrola" in (info.value.hint or "")
    chosen = protection.set_mode(ws, names[12], "revoice", "en=mb-us1,fr=mb-fr4")
    assert chosen.voices == {"en": "mb-us1", "fr": "mb-fr4"}
    protection.set_mode(ws, names[12], "disguise", reduced=True)  # disguise has no synthetic voice


def test_disguise_is_recorded_only_when_chosen_knowing_it_is_reduced(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from consent import participants
    from podcast.errors import InvalidInputError
    from podcast.settings import ShowSettings
    from podcast.workspace import Workspace

    ws = Workspace.create(tmp_path / "ws", ShowSettings(title="T"))
    person = participants.add(ws, "Ada")
    with pytest.raises(InvalidInputError, match="reduced protection") as info:
        protection.set_mode(ws, "Ada", "disguise")
    assert "--reduced-protection" in (info.value.hint or "")
    assert not protection.get(ws, person.id).chosen, "nothing recorded"
    assert protection.set_mode(ws, "Ada", "disguise", reduced=True).mode == "disguise"


def test_retell_is_its_own_protection_in_every_fingerprint(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from consent import participants
    from podcast.settings import ShowSettings
    from podcast.workspace import Workspace

    ws = Workspace.create(tmp_path / "ws", ShowSettings(title="T"))
    person = participants.add(ws, "Ada")
    protection.set_mode(ws, "Ada", "revoice", "joe")
    revoiced = protection.digest(ws, person.id)
    chosen = protection.set_mode(ws, "Ada", "retell", "joe")
    assert chosen.mode == "retell" and chosen.voice == "joe"
    retold = protection.digest(ws, person.id)
    assert retold != revoiced and retold.startswith(f"retell-v{protection.RETELL_METHOD}:")


def test_schema_11_keeps_every_choice_and_accepts_retell(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from podcast import db

    path = tmp_path / "state.db"
    old = sqlite3.connect(path, isolation_level=None)
    for script in db.MIGRATIONS[:10]:
        for statement in db._split_sql(script):
            old.execute(statement)
    old.execute("PRAGMA user_version = 10")
    old.execute("INSERT INTO participants (id, pseudonym, created_at) VALUES ('p1', 'Ada', 'now')")
    old.execute("INSERT INTO protection VALUES ('p1', 'disguise', NULL, 'then')")
    old.close()
    conn = db.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION >= 11
    assert tuple(conn.execute("SELECT * FROM protection").fetchone()) == ("p1", "disguise", None, "then")
    conn.execute("UPDATE protection SET mode = 'retell'")
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    conn.close()


def test_disguise_is_never_the_show_default(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from podcast.errors import SettingsError
    from podcast.settings import ShowSettings, validate

    validate(ShowSettings(title="T", protection_default="retell"))
    with pytest.raises(SettingsError, match="never a default"):
        validate(ShowSettings(title="T", protection_default="disguise"))
