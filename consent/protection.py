"""Each participant's voice protection: the mode she chose (revoice, retell or disguise) and
its settings. The mode is part of what she consents to, so it is part of every fingerprint.

Disguise parameters are drawn per participant per show from a secure random source, kept
in the workspace database only, and never written into any output or log: the fingerprint
holds a salted hash of them.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from consent import participants
from podcast.clock import now_iso
from podcast.errors import InvalidInputError
from podcast.workspace import Workspace

MODES = ("revoice", "retell", "disguise")
# The modes in which a synthetic voice reads her reviewed words (her voice is never heard).
SYNTHETIC = ("revoice", "retell")
# Retell's version (publish.revoice.retell), part of her protection digest as DISGUISE_METHOD is.
RETELL_METHOD = 2  # 2: phrase timing, her pauses from her channel, MBROLA given her melody itself
# The disguise transform's version (publish.disguise). It is part of her protection digest,
# hence of every fingerprint: when the transform changes, the audio she approved is no longer
# what would be published, so her earlier decisions no longer match and she is asked again.
# 3: her channel is disguised over her own lines only, joined (before: the whole extract).
DISGUISE_METHOD = 3
BUNDLED_VOICE = "joe"

# Figures measured on this machine kind against a speaker-verification attacker
# (docs/privacy.md): what the CLI tells a participant who chooses disguise, and the room at
# review.
DISGUISE_WARNING = (
    "Disguise is REDUCED protection: it is her own voice, transformed; it sounds machine-like "
    "and is hard to understand (the local transcriber missed 53-63 % of the words, against "
    "16-19 % undisguised). People who know her well may still recognise her, and an attacker "
    "with recordings of her and this same software can link it back to her (equal error rate "
    "measured here: 31-36 % for an attacker who only has her undisguised voice, 9-12 % for one "
    "who also has this software, 3-5 % for one who has her parameters; 50 % would mean no "
    "better than chance). Retell and revoice (a synthetic voice says her words) removed her "
    "acoustic identity in every test."
)

# What `participant protect NAME disguise` says before she confirms it (docs/privacy.md).
DISGUISE_FIGURES = (
    "in our tests an attacker with this software linked a disguised voice to the speaker's own "
    "(equal error rate 9-12 %, where 50 % is chance), and the transcriber missed more than half "
    "of the words."
)

# What the review room recommends (docs/privacy.md: the figures behind it).
RECOMMENDED = "retell"
# What `participant protect NAME retell` adds (docs/privacy.md).
RETELL_NOTE = (
    "Retell keeps the shape of her melody and her timing, never her sound: voice-recognition "
    "attacks were at 40-50 % equal error rate in our tests (50 % is chance), and an attacker "
    "comparing melody and timing at 33-39 %: her way of speaking can sometimes give her away, "
    "and people who know it well may notice it (docs/privacy.md)."
)

# A spread of colours (semitones) for the synthetic voice, so each participant keeps a
# distinct voice across the show.
_COLOURS = (0.0, 4.0, -4.0, 7.0, -2.0, 2.0, -6.0, 9.0, -8.0, 5.5, 1.0, -1.0)


READ_AS = {"pcm": "en"}  # Nigerian Pidgin lines are read by her English voice


@dataclass(frozen=True)
class Protection:
    participant_id: str
    mode: str
    chosen: bool  # False: the workspace default applies
    voice: str  # revoice: as stored: a voice name, or one per language ("en=joe,fr=siwis")
    colour_st: float  # revoice: pitch colour of the synthetic voice, in semitones

    @property
    def voices(self) -> dict[str, str]:
        """Her synthetic voice per language; the key "" is a voice for the language it speaks."""
        return parse_voices(self.voice)

    def voice_for(self, language: str) -> str:
        """The voice that reads her lines in this language (Pidgin: her English one)."""
        chosen = self.voices
        return (
            chosen.get(language)
            or chosen.get(READ_AS.get(language, language))
            or chosen.get("")
            or BUNDLED_VOICE
        )


def parse_voices(text: str) -> dict[str, str]:
    """'joe' -> {'': 'joe'}; 'en=joe,fr=siwis' -> {'en': 'joe', 'fr': 'siwis'}."""
    chosen: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        language, _, name = item.rpartition("=")
        chosen[language.strip().lower()] = name.strip()
    return chosen


def format_voices(chosen: dict[str, str]) -> str:
    """The stored form: a bare name if she has one voice for its own language."""
    if set(chosen) == {""}:
        return chosen[""]
    return ",".join(f"{language}={name}" for language, name in sorted(chosen.items()))


@dataclass(frozen=True)
class DisguiseParams:
    """Secret. Never logged, never written outside the workspace database."""

    formant_ratio: float
    pitch_ratio: float
    mcadams_alpha: float
    salt: str


def _draw(low: float, high: float, *, avoid: tuple[float, float] | None = None) -> float:
    rng = secrets.SystemRandom()
    while True:
        value = rng.uniform(low, high)
        if avoid is None or not (avoid[0] <= value <= avoid[1]):
            return value


def set_mode(
    ws: Workspace, pseudonym: str, mode: str, voice: str | None = None, *, reduced: bool = False
) -> Protection:
    """Record her choice of protection (and synthetic voice for revoice and retell: a name, or
    one per language as "en=joe,fr=siwis"). Disguise is reduced protection: it is recorded
    only when *reduced* says she chose it knowing so."""
    if mode not in MODES:
        raise InvalidInputError(f"Unknown protection {mode!r}.", hint="Choose revoice, retell or disguise.")
    if mode == "disguise" and not reduced:
        raise InvalidInputError(
            "Disguise is reduced protection and may be hard to understand: " + DISGUISE_FIGURES,
            hint="If she still chooses it, say so: podcast participant protect NAME disguise "
            "--reduced-protection",
        )
    person = participants.get(ws, pseudonym)
    if mode in SYNTHETIC:
        _check_distinct(ws, person.id, get(ws, person.id).colour_st, parse_voices(voice or BUNDLED_VOICE))
    ws.conn.execute(
        "INSERT INTO protection (participant_id, mode, voice, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (participant_id) DO UPDATE SET mode = excluded.mode, voice = excluded.voice, "
        "updated_at = excluded.updated_at",
        (person.id, mode, voice, now_iso()),
    )
    return get(ws, person.id)


def _check_distinct(ws: Workspace, participant_id: str, colour_st: float, voices: dict[str, str]) -> None:
    """Two participants never sound the same: no one else still taking part who chose revoice
    has the same synthetic voice in a language with the same colour (colours go round after
    12 participants)."""
    for other in participants.list_all(ws):
        if other.id == participant_id:
            continue
        theirs = get(ws, other.id)
        if not theirs.chosen or theirs.mode not in SYNTHETIC or theirs.colour_st != colour_st:
            continue
        for language in {*voices, *theirs.voices} - {""} or {""}:
            mine = voices.get(language) or voices.get("")
            if mine and mine == (theirs.voices.get(language) or theirs.voices.get("")):
                said = f" for {language}" if language else ""
                raise InvalidInputError(
                    f"{other.pseudonym} already has the voice {mine!r}{said} in the same colour: "
                    "listeners could not tell them apart.",
                    hint="Give her another voice (see 'podcast voices list'; add one with "
                    f"'podcast voices add --mbrola us1'), e.g. --voice {language or 'en'}=mb-us1.",
                )


def get(ws: Workspace, participant_id: str) -> Protection:
    row = ws.conn.execute("SELECT * FROM protection WHERE participant_id = ?", (participant_id,)).fetchone()
    mode = row["mode"] if row else ws.settings().protection_default
    voice = (row["voice"] if row else None) or BUNDLED_VOICE
    order = [r[0] for r in ws.conn.execute("SELECT id FROM participants ORDER BY rowid")]
    colour = _COLOURS[order.index(participant_id) % len(_COLOURS)] if participant_id in order else 0.0
    return Protection(participant_id, mode, row is not None, voice, colour)


# The public ranges the secret parameters are drawn from (an attacker knows them).
FORMANT_RANGE = (0.82, 1.2)
FORMANT_AVOID = (0.92, 1.08)  # too close to her own voice
PITCH_RANGE = (0.75, 1.3)
PITCH_AVOID = (0.9, 1.1)
ALPHA_RANGE = (0.7, 0.85)


def draw_disguise_params() -> DisguiseParams:
    """A fresh secret draw (secure random source)."""
    return DisguiseParams(
        formant_ratio=_draw(*FORMANT_RANGE, avoid=FORMANT_AVOID),
        pitch_ratio=_draw(*PITCH_RANGE, avoid=PITCH_AVOID),
        mcadams_alpha=_draw(*ALPHA_RANGE),
        salt=secrets.token_hex(16),
    )


def disguise_params(ws: Workspace, participant_id: str) -> DisguiseParams:
    """Her disguise parameters, drawn once per show with a secure random source."""
    row = ws.conn.execute(
        "SELECT params_json FROM voice_params WHERE participant_id = ? AND mode = 'disguise'",
        (participant_id,),
    ).fetchone()
    if row is not None:
        return DisguiseParams(**json.loads(row[0]))
    params = draw_disguise_params()
    ws.conn.execute(
        "INSERT OR IGNORE INTO voice_params VALUES (?, 'disguise', ?, ?)",
        (participant_id, json.dumps(params.__dict__), now_iso()),
    )
    return disguise_params(ws, participant_id)


def digest(ws: Workspace, participant_id: str) -> str:
    """What the fingerprint records of her protection: mode and a hash of its settings."""
    protection = get(ws, participant_id)
    if protection.mode == "disguise":
        params = disguise_params(ws, participant_id)
        secret = json.dumps(params.__dict__, sort_keys=True).encode()
        return f"disguise-v{DISGUISE_METHOD}:" + hashlib.sha256(secret).hexdigest()[:32]
    if protection.mode == "retell":
        return f"retell-v{RETELL_METHOD}:{protection.voice}:{protection.colour_st:+.1f}"
    return f"revoice:{protection.voice}:{protection.colour_st:+.1f}"
