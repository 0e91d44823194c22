"""podcast extract add|list|show|remove, podcast redact add|list|remove"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from consent import decisions, fingerprint, sensitive
from podcast.cli.common import PodcastGroup, SessionArg, console, escape, state
from podcast.cli.render import hms
from podcast.errors import InvalidInputError
from sessions import extracts, transcripts

app = typer.Typer(cls=PodcastGroup, no_args_is_help=True, help="Extracts the group may agree to broadcast.")
ExtractArg = Annotated[int, typer.Argument(help="Extract ID (see 'podcast extract list').", min=1)]


def _segments(text: str) -> tuple[int, int]:
    try:
        first, _, last = text.partition("-")
        return int(first), int(last or first)
    except ValueError:
        raise InvalidInputError(f"Cannot read {text!r}.", hint="Write transcript lines as 12-18.") from None


@app.command("add")
def add(
    ctx: typer.Context,
    session_id: SessionArg,
    from_: Annotated[str | None, typer.Option("--from", help="Start (session time, MM:SS).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="End (session time, MM:SS).")] = None,
    segments: Annotated[
        str | None,
        typer.Option(
            "--segments", help="Transcript lines, e.g. 12-18 (the numbers 'transcript show' prints)."
        ),
    ] = None,
    find: Annotated[
        str | None, typer.Option("--find", help="A phrase: the speaker's whole turn in which it is said.")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Title (default: its first words).")] = None,
) -> None:
    """Define an extract; its edges snap to word edges."""
    ws = state(ctx).workspace()
    if (from_ is None) != (to is None):
        raise InvalidInputError(
            "--from and --to go together.", hint="Give both, e.g. --from 12:03 --to 14:40."
        )
    extract = extracts.add(
        ws,
        session_id,
        from_s=extracts.parse_clock(from_) if from_ else None,
        to_s=extracts.parse_clock(to) if to else None,
        segments=_segments(segments) if segments else None,
        find=find,
        title=title,
    )
    console().print(
        f"Extract [bold]{extract.id}[/]: {escape(extract.title)} "
        f"({transcripts.clock(extract.session_start_s)} → {transcripts.clock(extract.session_end_s)}, "
        f"{extract.duration_s:.1f} s)"
    )


@app.command("list")
def list_(
    ctx: typer.Context,
    session_id: Annotated[int | None, typer.Argument(help="Only this session.")] = None,
) -> None:
    """List extracts with their consent state (no names: see 'consent status --detail')."""
    ws = state(ctx).workspace()
    items = decisions.session_status(ws, session_id)
    if not items:
        console().print('No extracts yet. Define one with: podcast extract add SESSION --find "..."')
        return
    table = Table("ID", "Session", "Title", "Start", "Length", "Consent", "Protected")
    for item in items:
        e = item.extract
        if item.cleared:
            consent = "cleared"
        elif item.refused or item.decision.ledger_problems:
            consent = "blocked"
        else:
            consent = f"{item.answers_missing} to ask"
        table.add_row(
            str(e.id),
            str(e.session_id),
            escape(e.title),
            transcripts.clock(e.session_start_s),
            hms(e.duration_s),
            consent,
            "yes" if item.protected else "no",
        )
    console().print(table)


@app.command("show")
def show(ctx: typer.Context, extract_id: ExtractArg) -> None:
    """Show an extract's transcript and fingerprint."""
    ws = state(ctx).workspace()
    extract = extracts.get(ws, extract_id)
    out = console()
    out.print(f"[bold]Extract {extract.id}[/]: {escape(extract.title)} (session {extract.session_id})")
    out.print(f"{transcripts.clock(extract.session_start_s)} → {transcripts.clock(extract.session_end_s)}")
    transcript = transcripts.load(ws, extract.session_id)
    for utterance in extracts.utterances_in(transcript, extract):
        out.print(f"  [bold]{escape(utterance.speaker)}[/]: {escape(utterance.text)}")
    out.print(f"Fingerprint: {fingerprint.fingerprint(ws, extract)}")


@app.command("remove")
def remove(ctx: typer.Context, extract_id: ExtractArg) -> None:
    """Remove an extract from the list (decisions about it stay in the ledger)."""
    ws = state(ctx).workspace()
    extract = extracts.remove(ws, extract_id)
    console().print(f"Removed extract {extract.id}: {escape(extract.title)}")


redact = typer.Typer(
    cls=PodcastGroup,
    no_args_is_help=True,
    help="Sensitive words (names, places) to bleep and redact before publishing.",
)
SessionOption = Annotated[int | None, typer.Option("--session", help="Only for this session.")]


@redact.command("add")
def redact_add(
    ctx: typer.Context,
    words: Annotated[list[str], typer.Argument(help="Words or phrases (quote phrases).")],
    session_id: SessionOption = None,
) -> None:
    """Add sensitive words (for every session, or one with --session)."""
    ws = state(ctx).workspace()
    added = sensitive.add(ws, words, session_id)
    console().print(f"Added {len(added)} sensitive word(s); extracts containing them must be heard again.")
    closed = sensitive.closed_sessions_saying(ws, [p.phrase for p in added]) if session_id is None else []
    for number in closed:
        console().print(
            f"[bold yellow]Session {number} is closed[/] and one of its extracts says it: that extract "
            f"leaves the feed at the next publish, until you unseal the session (podcast session unseal "
            f"{number} --identity KEYFILE) and it is rendered and agreed again."
        )


@redact.command("list")
def redact_list(ctx: typer.Context, session_id: SessionOption = None) -> None:
    """List sensitive words."""
    ws = state(ctx).workspace()
    items = sensitive.list_for(ws, session_id)
    if not items:
        console().print("No sensitive words yet: podcast redact add WORD...")
        return
    table = Table("Word or phrase", "Applies to")
    for item in items:
        table.add_row(
            escape(item.phrase),
            f"session {item.session_id}" if item.session_id else "every session",
        )
    console().print(table)


@redact.command("remove")
def redact_remove(
    ctx: typer.Context,
    words: Annotated[list[str], typer.Argument(help="Words or phrases to remove.")],
    session_id: SessionOption = None,
) -> None:
    """Remove sensitive words."""
    ws = state(ctx).workspace()
    count = sensitive.remove(ws, words, session_id)
    console().print(f"Removed {count} sensitive word(s).")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="extract")
    root.add_typer(redact, name="redact")
