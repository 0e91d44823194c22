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
from podcast.models import default_data_dir
from publish.voices import VoiceStore
from sessions import extracts, sessions

if TYPE_CHECKING:
    from publish.anonymise import Rendering


def _voices() -> VoiceStore:
    return VoiceStore(default_data_dir())


def protect(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Her pseudonym.")],
    mode: Annotated[str, typer.Argument(help="revoice (strong) or disguise (reduced).")],
    voice: Annotated[
        list[str] | None,
        typer.Option(
            help="Synthetic voice for revoice (see 'podcast voices list'); one per language she "
            "speaks: --voice en=joe --voice fr=siwis. Pidgin lines use her English voice.",
        ),
    ] = None,
) -> None:
    """Choose how a participant's voice is protected (part of what she consents to)."""
    ws = state(ctx).workspace()
    chosen = _chosen_voices(voice or [])
    choice = protection.set_mode(ws, name, mode, protection.format_voices(chosen) if chosen else None)
    person = participants.get_by_id(ws, choice.participant_id)
    out = console()
    if choice.mode == "disguise":
        out.print(f"[bold yellow]{escape(person.pseudonym)}: disguise.[/] {protection.DISGUISE_WARNING}")
    else:
        readers = ", ".join(
            f"{escape(v)} ({language})" if language else escape(v) for language, v in choice.voices.items()
        )
        out.print(
            f"{escape(person.pseudonym)}: revoice — {readers} "
            f"(colour {choice.colour_st:+.0f} semitones) reads her reviewed words."
        )
    out.print("Extracts with her voice must be rendered and agreed again.")


def _chosen_voices(items: list[str]) -> dict[str, str]:
    """--voice values as {language: name}, each voice checked to exist and speak its language."""
    from podcast.errors import InvalidInputError
    from publish.anonymise import LANGUAGE_NAMES, speaks

    chosen = protection.parse_voices(",".join(items))
    store = _voices()
    for language, voice_name in chosen.items():
        found = store.get(voice_name)
        if language and speaks(found) != protection.READ_AS.get(language, language):
            raise InvalidInputError(
                f"The voice {voice_name!r} speaks {LANGUAGE_NAMES.get(speaks(found), speaks(found))}, "
                f"not {LANGUAGE_NAMES.get(language, language)}.",
                hint="See the languages in 'podcast voices list'.",
            )
    return chosen


voices_app = typer.Typer(
    cls=PodcastGroup, no_args_is_help=True, help="Synthetic voices for revoicing (Piper)."
)


@voices_app.command("list")
def voices_list(ctx: typer.Context) -> None:
    """List the synthetic voices."""
    table = Table("Name", "Language", "Model", "Origin")
    for v in _voices().list():
        table.add_row(v.name, v.language, escape(str(v.model)), "bundled" if v.bundled else "added")
    console().print(table)


@voices_app.command("add")
def voices_add(
    ctx: typer.Context,
    model: Annotated[Path, typer.Argument(help="A Piper voice .onnx file (with its .onnx.json beside it).")],
    name: Annotated[str | None, typer.Option(help="Name to use with --voice.")] = None,
) -> None:
    """Register a Piper voice copied onto this machine (e.g. a French or female voice)."""
    voice = _voices().add(model, name)
    console().print(f"Registered voice [bold]{escape(voice.name)}[/] ({voice.language}).")


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
