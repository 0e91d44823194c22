"""podcast session new|list|show|import"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from podcast.cli.common import PodcastGroup, SessionArg, console, escape, progress_bar, state
from podcast.cli.render import hms
from podcast.errors import InvalidInputError
from sessions import editing, importer, sessions
from sessions.sessions import Take

app = typer.Typer(cls=PodcastGroup, no_args_is_help=True, help="Workshop sessions and their takes.")


@app.command("new")
def new(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="Session title.")],
    participant: Annotated[
        list[str], typer.Option("--participant", "-p", help="A participant's pseudonym (repeat).")
    ],
    facilitator: Annotated[str | None, typer.Option(help="The facilitator's pseudonym.")] = None,
    language: Annotated[str, typer.Option(help="Spoken language: auto, en, fr, ...")] = "auto",
) -> None:
    """Create a session with its participants."""
    ws = state(ctx).workspace()
    session = sessions.create(ws, title, participant, facilitator=facilitator, language=language)
    console().print(f"Created session [bold]{session.id}[/]: {escape(session.title)}")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List sessions."""
    ws = state(ctx).workspace()
    items = sessions.list_all(ws)
    if not items:
        console().print("No sessions yet. Create one with: podcast session new TITLE --participant NAME")
        return
    table = Table("ID", "Title", "Language", "Participants", "Takes", "Duration")
    for item in items:
        table.add_row(
            str(item.id),
            escape(item.title),
            item.language,
            escape(", ".join(p.pseudonym for p in item.participants)),
            str(len(item.takes)),
            hms(item.duration_s),
        )
    console().print(table)


def _takes_table(takes: tuple[Take, ...] | list[Take]) -> Table:
    table = Table("Take", "Origin", "Channels", "Rate", "Duration", "Speakers", "State")
    for take in takes:
        speakers = ", ".join(
            f"{o.channel}={o.participant.pseudonym if o.participant else '?'}" for o in take.owners
        )
        table.add_row(
            str(take.position),
            take.origin,
            str(take.channels),
            f"{take.sample_rate_hz} Hz",
            hms(take.duration_s),
            escape(speakers),
            take.state,
        )
    return table


@app.command("show")
def show(ctx: typer.Context, session_id: SessionArg) -> None:
    """Show a session: participants and takes."""
    ws = state(ctx).workspace()
    session = sessions.get(ws, session_id)
    out = console()
    out.print(f"[bold]Session {session.id}[/]: {escape(session.title)}")
    out.print(f"Language: {session.language}   Created: {session.created_at}")
    out.print("Participants: " + escape(", ".join(p.pseudonym for p in session.participants)))
    if session.facilitator:
        out.print("Facilitator: " + escape(session.facilitator.pseudonym))
    if session.takes:
        out.print(_takes_table(session.takes))
    else:
        out.print("No takes yet: podcast session import ID FILE...")


@app.command("import")
def import_(
    ctx: typer.Context,
    session_id: SessionArg,
    files: Annotated[list[Path], typer.Argument(help="Audio files (WAV, FLAC, MP3, M4A, OGG, ...).")],
    channel_map: Annotated[
        str | None,
        typer.Option(
            "--channel-map", help="Who speaks on which channel: 1=NAME,2=NAME (the facilitator too)."
        ),
    ] = None,
) -> None:
    """Import recordings from a standalone recorder as lossless takes."""
    ws = state(ctx).workspace()
    mapping = importer.parse_channel_map(channel_map) if channel_map else None
    with progress_bar(ctx, "Importing") as on_progress:
        takes = importer.import_files(ws, session_id, files, channel_map=mapping, on_progress=on_progress)
    console().print(f"Imported {len(takes)} take(s) into session {session_id}:")
    console().print(_takes_table(takes))


@app.command("map")
def map_(
    ctx: typer.Context,
    session_id: SessionArg,
    channel_map: Annotated[str, typer.Argument(help="Who speaks on which channel: 4=NAME or 1=NAME,2=NAME.")],
    take: Annotated[int | None, typer.Option(help="Only this take (default: every take).")] = None,
) -> None:
    """Say again who speaks on which channel (the facilitator too), after import or recording.

    Transcribed words move with the channel; a speaker you corrected by hand stays as you set it.
    Undo with: podcast transcript undo SESSION.
    """
    ws = state(ctx).workspace()
    mapping = importer.parse_channel_map(channel_map)
    with console().status("Finding each channel's words…"):
        done = editing.remap_channels(ws, session_id, mapping, take=take)
    out = console()
    if not done:
        out.print("Nothing changed: the channels were already mapped that way.")
        return
    for item in done:
        out.print(
            f"Take {item.take_position}, channel {item.channel}: {escape(item.speaker)}"
            f" ({item.words_moved} transcribed word(s) moved)."
        )


@app.command("close")
def close(
    ctx: typer.Context,
    session_id: Annotated[
        int | None, typer.Argument(help="Session ID (see 'podcast session list').", min=1)
    ] = None,
    due: Annotated[
        bool, typer.Option("--due", help="Close every session past the show's retention.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Do it without asking (e.g. from a daily job).")] = False,
) -> None:
    """Close a session: seal (or destroy) its raw takes and the words nobody agreed to publish.

    What was cleared stays: its protected renderings, its words, what was published, and the
    consent record, so a withdrawal still re-cuts the episode. With --due, every session whose
    retention has expired (see 'podcast status').
    """
    from podcast.clock import now_iso
    from sessions import retention

    ws = state(ctx).workspace()
    now = now_iso()
    if due == (session_id is not None):
        raise InvalidInputError("Name one session, or give --due.", hint="podcast session close 3, or --due")
    chosen = (
        [session_id] if session_id is not None else [d.session_id for d in retention.plan(ws, now) if d.due]
    )
    out = console()
    if not chosen:
        out.print("No session is past the show's retention.")
        return
    for number in chosen:
        closing = retention.prepare(ws, number)
        verb = (
            "sealed to the association's key"
            if closing.seal
            else "[bold red]destroyed[/] (the show has no archive key: podcast keys new)"
        )
        out.print(f"Closing session {number}:")
        out.print(f"  {len(closing.takes)} raw take(s), {closing.raw_bytes / 1e6:.1f} MB: {verb}")
        out.print(
            f"  transcript: {closing.words_removed} word(s) outside cleared extracts removed"
            + (" (the whole transcript sealed first)" if closing.seal else "")
            + f"; {closing.words_kept} kept"
        )
        out.print(
            f"  {len(closing.renderings_removed)} protected rendering(s) nothing needs any more removed"
        )
        out.print(
            f"  kept: {len(closing.cleared)} cleared extract(s) and their renderings, the consent record, "
            "the published show"
        )
        if not yes and not typer.confirm("Go ahead?", default=False):
            raise typer.Exit(1)
        retention.close(ws, number, now)
        out.print(f"Session {number} is closed.")


@app.command("unseal")
def unseal(
    ctx: typer.Context,
    session_id: SessionArg,
    identity: Annotated[Path, typer.Option(help="The file holding the association's secret key.")],
) -> None:
    """Open a sealed session again (for a new cut): its takes and its whole transcript come back."""
    from sessions import retention

    ws = state(ctx).workspace()
    count = retention.unseal(ws, session_id, identity)
    console().print(f"Session {session_id} is open again: {count} take(s) and its transcript are back.")
    console().print(f"Close it again when done: podcast session close {session_id}")
