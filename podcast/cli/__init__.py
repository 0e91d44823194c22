"""The `podcast` command line: parses, calls one domain function, renders the result."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from podcast import __version__
from podcast.cli import (
    consent,
    demo,
    extract,
    init,
    keep,
    models,
    participant,
    protect,
    publish,
    record,
    room,
    session,
    status,
    transcribe,
)
from podcast.cli.common import AppState, PodcastGroup, WorkspaceOption, setup_logging, show_error
from podcast.errors import PodcastError

app = typer.Typer(
    cls=PodcastGroup,
    name="podcast",
    help="Record, transcribe, consent, protect and publish podcast workshops — offline.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"podcast {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    workspace: WorkspaceOption = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks and debug logs.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Record, transcribe, consent, protect and publish podcast workshops — offline."""
    ctx.obj = AppState(workspace_arg=Path(workspace) if workspace else None, debug=debug, quiet=quiet)
    setup_logging(debug)


init.register(app)
status.register(app)
demo.register(app)
app.add_typer(participant.app, name="participant")
app.add_typer(session.app, name="session")
app.add_typer(models.app, name="models")
transcribe.register(app)
extract.register(app)
record.register(app, session.app)
protect.register(app, participant.app)
publish.register(app)
consent.register(app)
room.register(app)
keep.register(app)


def main() -> None:
    """Console-script entry point."""
    # Everything the toolkit creates (takes, transcripts, keys) is for the owner only.
    os.umask(0o077)
    for number, arg in enumerate(sys.argv[1:], start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            show_error(
                PodcastError(
                    f"Argument {number} is not valid UTF-8 text.",
                    hint="Set your terminal to UTF-8 (e.g. LANG=C.UTF-8) and type it again.",
                )
            )
            sys.exit(1)
    app()
