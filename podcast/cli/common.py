"""What every command shares: the console, option aliases, workspace lookup, error handling."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from typer.core import TyperGroup

from podcast.errors import PodcastError
from podcast.models import ModelStore, default_data_dir
from podcast.workspace import Workspace

ENV_WORKSPACE = "PODCAST_WORKSPACE"


def console() -> Console:
    """Standard output console (resolved per call, so test runners can capture it)."""
    return Console(highlight=False)


def err_console() -> Console:
    return Console(stderr=True, highlight=False)


@dataclass
class AppState:
    """Global options, resolved once by the root callback and passed to every command."""

    workspace_arg: Path | None = None
    debug: bool = False
    quiet: bool = False

    def workspace(self) -> Workspace:
        """The workspace from --workspace / $PODCAST_WORKSPACE, else found upwards from cwd.

        Paths holding voices, transcripts or secrets that others could read are made
        owner-only again, and the user is told once.
        """
        if self.workspace_arg is not None:
            ws = Workspace.open(self.workspace_arg)
        else:
            ws = Workspace.find(Path.cwd())
        repaired = ws.secure()
        if repaired:
            shown = ", ".join(ws.relative(p) or "." for p in repaired[:3])
            more = f" and {len(repaired) - 3} more" if len(repaired) > 3 else ""
            err_console().print(
                f"[yellow]Note:[/] {len(repaired)} private path(s) were readable by others "
                f"({escape(shown)}{more}); they are now readable by you only."
            )
        return ws

    def model_store(self) -> ModelStore:
        """Models live per user: $PODCAST_DATA_DIR, else the XDG data folder."""
        return ModelStore(default_data_dir())


def state(ctx: typer.Context) -> AppState:
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj


class PodcastGroup(TyperGroup):
    """Turns PodcastError into one line + hint + exit 1 (a traceback only with --debug)."""

    def invoke(self, ctx: Any) -> Any:  # typer vendors click; its Context type is private
        try:
            return super().invoke(ctx)
        except PodcastError as exc:
            app_state = ctx.obj if isinstance(ctx.obj, AppState) else AppState()
            if app_state.debug:
                raise
            show_error(exc)
            raise typer.Exit(1) from None


def show_error(exc: PodcastError) -> None:
    out = err_console()
    out.print(f"[bold red]Error:[/] {escape(exc.message)}")
    if exc.hint:
        out.print(f"[yellow]Hint:[/] {escape(exc.hint)}")


def escape(text: str) -> str:
    """Escape rich markup in user-controlled text."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def setup_logging(debug: bool) -> None:
    level = logging.DEBUG if debug else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)


@contextmanager
def progress_bar(ctx: typer.Context, description: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar driven by an on_progress(done, total) callback; silent with --quiet."""
    if state(ctx).quiet:
        yield lambda _done, _total: None
        return
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=err_console(),
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


# Option aliases declared once and reused by every command that needs them.
WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar=ENV_WORKSPACE,
        help="Workspace folder (default: found upwards from the current folder).",
        show_default=False,
    ),
]
SessionArg = Annotated[int, typer.Argument(help="Session ID (see 'podcast session list').", min=1)]
