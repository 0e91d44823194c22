"""podcast participant protect, podcast voices list|add, podcast anonymise session|extract|preview"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import soundfile as sf
import typer
from rich.table import Table

from consent import participants, protection
from podcast import audio, sound
from podcast.cli.common import PodcastGroup, SessionArg, console, err_console, escape, progress_bar, state
from podcast.errors import InvalidInputError, ToolMissingError
from podcast.models import default_data_dir
from publish.voices import LANGUAGE_NAMES, VoiceStore
from sessions import extracts, sessions

if TYPE_CHECKING:
    from publish.anonymise import Rendering


def _voices() -> VoiceStore:
    return VoiceStore(default_data_dir())


def protect(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Her pseudonym.")],
    mode: Annotated[
        str,
        typer.Argument(
            help="revoice (a synthetic voice reads her words), retell (the same, with her melody "
            "and timing) or disguise (her own voice changed: reduced protection, needs "
            "--reduced-protection)."
        ),
    ],
    voice: Annotated[
        list[str] | None,
        typer.Option(
            help="Synthetic voice for revoice and retell (see 'podcast voices list'); one per "
            "language she speaks: --voice en=joe --voice fr=siwis. Pidgin lines use her English voice.",
        ),
    ] = None,
    reduced_protection: Annotated[
        bool,
        typer.Option(
            "--reduced-protection",
            help="Disguise only: she chose it knowing it is reduced protection and may be hard to "
            "understand.",
        ),
    ] = False,
) -> None:
    """Choose how a participant's voice is protected (part of what she consents to)."""
    ws = state(ctx).workspace()
    chosen = _chosen_voices(voice or [])
    choice = protection.set_mode(
        ws, name, mode, protection.format_voices(chosen) if chosen else None, reduced=reduced_protection
    )
    person = participants.get_by_id(ws, choice.participant_id)
    out = console()
    if choice.mode == "disguise":
        out.print(f"[bold yellow]{escape(person.pseudonym)}: disguise.[/] {protection.DISGUISE_WARNING}")
    else:
        readers = ", ".join(
            f"{escape(v)} ({language})" if language else escape(v) for language, v in choice.voices.items()
        )
        manner = "with her melody and timing" if choice.mode == "retell" else "in its own manner"
        out.print(
            f"{escape(person.pseudonym)}: {choice.mode} — {readers} "
            f"(colour {choice.colour_st:+.0f} semitones) reads her reviewed words {manner}."
        )
        if choice.mode == "retell":
            out.print(protection.RETELL_NOTE)
    out.print("Extracts with her voice must be rendered and agreed again.")


def _chosen_voices(items: list[str]) -> dict[str, str]:
    """--voice values as {language: name}, each voice checked to exist and speak its language."""
    chosen = protection.parse_voices(",".join(items))
    store = _voices()
    for language, voice_name in chosen.items():
        found = store.get(voice_name)
        if language and found.speaks != protection.READ_AS.get(language, language):
            raise InvalidInputError(
                f"The voice {voice_name!r} speaks {LANGUAGE_NAMES.get(found.speaks, found.speaks)}, "
                f"not {LANGUAGE_NAMES.get(language, language)}.",
                hint="See the languages in 'podcast voices list'.",
            )
    return chosen


voices_app = typer.Typer(
    cls=PodcastGroup, no_args_is_help=True, help="Synthetic voices for revoicing (Piper, MBROLA)."
)


@voices_app.command("list")
def voices_list(ctx: typer.Context) -> None:
    """List the synthetic voices."""
    table = Table("Name", "Speaks", "Kind", "Model", "Origin")
    for v in _voices().list():
        table.add_row(v.name, v.language, v.kind, escape(str(v.model)), "bundled" if v.bundled else "added")
    console().print(table)


@voices_app.command("add")
def voices_add(
    ctx: typer.Context,
    model: Annotated[
        Path | None, typer.Argument(help="A Piper voice .onnx file (with its .onnx.json beside it).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="Name to use with --voice.")] = None,
    mbrola: Annotated[
        str | None,
        typer.Option(
            help="Instead of a Piper file: an MBROLA voice from the distribution (fr1, fr4: French; "
            "en1, us1-us3: English; de1, de2), fetched from this machine's own package mirror.",
        ),
    ] = None,
    from_: Annotated[
        Path | None,
        typer.Option("--from", help="With --mbrola: a folder scripts/mbrola-voices made (no download)."),
    ] = None,
    accept_licence: Annotated[
        bool, typer.Option("--accept-licence", help="With --mbrola: accept the voice's licence.")
    ] = False,
) -> None:
    """Register a synthetic voice: a Piper voice copied onto this machine (e.g. fr_FR-siwis-medium
    .onnx with its .json), or an MBROLA voice (--mbrola fr1) for French and other languages."""
    if mbrola is None:
        if model is None:
            raise InvalidInputError(
                "Give a Piper voice file or --mbrola NAME.", hint="podcast voices add fr_FR-siwis-medium.onnx"
            )
        voice = _voices().add(model, name)
    else:
        folder = from_ or _fetch_mbrola()
        _accept_mbrola_licence(folder, mbrola, accept_licence)
        voice = _voices().add_mbrola(folder, mbrola, name)
    console().print(f"Registered voice [bold]{escape(voice.name)}[/] ({voice.language}).")


def _fetch_mbrola() -> Path:
    """Unpack the MBROLA voices into the data folder with scripts/mbrola-voices (apt-get
    download from this machine's own mirror; nothing is installed on the system)."""
    import subprocess

    script = Path(__file__).resolve().parents[2] / "scripts" / "mbrola-voices"
    if not script.is_file():
        raise ToolMissingError(
            "scripts/mbrola-voices is not beside this installation.",
            hint="In the toolkit's folder run scripts/mbrola-voices DIR, then add the voice with --from DIR.",
        )
    folder = default_data_dir() / "voices" / "mbrola"
    err_console().print("Fetching the MBROLA voices from this machine's package mirror…")
    result = subprocess.run(["sh", str(script), str(folder)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ToolMissingError(
            "The MBROLA voices could not be fetched: " + (result.stderr.strip().splitlines() or ["?"])[-1],
            hint="Check that apt-get can reach this machine's package mirror, or use --from DIR.",
        )
    return folder


def _accept_mbrola_licence(folder: Path, voice: str, accepted: bool) -> None:
    """Show the voice's licence (from its package) and have it accepted."""
    licence = folder / "root" / "usr" / "share" / "doc" / f"mbrola-{voice}" / "copyright"
    text = licence.read_text(encoding="utf-8", errors="replace") if licence.is_file() else ""
    err_console().print(escape(text[:3000] or f"(no licence file found for mbrola-{voice})"))
    if accepted:
        return
    if not typer.confirm(f"Do you accept the licence of the MBROLA voice {voice}?", default=False):
        raise InvalidInputError(
            f"The licence of the MBROLA voice {voice} was not accepted.",
            hint="Read it above; add --accept-licence to accept it without the question.",
        )


anonymise_app = typer.Typer(
    cls=PodcastGroup,
    no_args_is_help=True,
    help="Render protected (revoiced or disguised, redacted) audio of extracts.",
)


def _report(items: list[Rendering]) -> None:
    table = Table("Extract", "Length", "Protection", "Cached")
    for r in items:
        modes = ", ".join(sorted({f"{escape(line.speaker)}: {line.mode}" for line in r.lines}))
        table.add_row(str(r.extract_id), f"{r.duration_s:.1f} s", modes, "yes" if r.cached else "no")
    console().print(table)
    console().print("Play them to the group in the review: podcast consent review SESSION")


@anonymise_app.command("session")
def anonymise_session(ctx: typer.Context, session_id: SessionArg) -> None:
    """Render every extract of a session."""
    from publish import anonymise  # heavy (TTS, DSP): only when needed

    app_state = state(ctx)
    ws = app_state.workspace()
    with progress_bar(ctx, "Rendering") as on_progress:
        items = anonymise.render_session(
            ws, session_id, voices=_voices(), models=app_state.model_store(), on_progress=on_progress
        )
    _report(items)


@anonymise_app.command("extract")
def anonymise_extract(
    ctx: typer.Context, extract_id: Annotated[int, typer.Argument(help="Extract ID.", min=1)]
) -> None:
    """Render one extract."""
    from publish import anonymise

    app_state = state(ctx)
    ws = app_state.workspace()
    item = anonymise.render(
        ws, extracts.get(ws, extract_id), voices=_voices(), models=app_state.model_store()
    )
    _report([item])


@anonymise_app.command("preview")
def preview(
    ctx: typer.Context,
    extract_id: Annotated[int, typer.Argument(help="Extract ID.", min=1)],
    device: Annotated[str | None, typer.Option(help="Output device number or name.")] = None,
) -> None:
    """Play the original, then the protected version, to the facilitator."""
    from publish import anonymise

    app_state = state(ctx)
    ws = app_state.workspace()
    extract = extracts.get(ws, extract_id)
    rendering = anonymise.render(ws, extract, voices=_voices(), models=app_state.model_store())
    take = next(t for t in sessions.get(ws, extract.session_id).takes if t.id == extract.take_id)
    original, rate = audio.read_range(sessions.raw_path(ws, take), extract.start_s, extract.end_s)
    target = int(device) if device and device.isdigit() else device
    err_console().print("♪ Original (never published)…")
    sound.play(original.mean(axis=1), rate, device=target)
    err_console().print("♪ Protected…")
    protected, rate = sf.read(str(rendering.path), dtype="float32")
    sound.play(protected, rate, device=target)


def register(root: typer.Typer, participant_app: typer.Typer) -> None:
    participant_app.command("protect")(protect)
    root.add_typer(voices_app, name="voices")
    root.add_typer(anonymise_app, name="anonymise")
