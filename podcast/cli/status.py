"""podcast status"""

from __future__ import annotations

import typer

from podcast.cli.common import console, escape, state
from podcast.cli.render import overview_table
from podcast.overview import overview


def status(ctx: typer.Context) -> None:
    """Overview of sessions and episodes, and what blocks publication."""
    ws = state(ctx).workspace()
    view = overview(ws)
    out = console()
    out.print(overview_table(view))
    if view.blockers:
        out.print("[bold]Before publishing:[/]")
        for blocker in view.blockers:
            out.print(f"  • {escape(blocker)}")


def register(app: typer.Typer) -> None:
    app.command("status")(status)
