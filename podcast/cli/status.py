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
    if view.published:
        shown = view.published
        out.print("[bold]Published:[/]")
        if shown.deployed:
            out.print(
                f"  Live at {escape(shown.target or 'the last target')}: "
                f"{shown.live_files} file(s), sent {shown.deployed}."
            )
        else:
            out.print(f"  Nothing sent yet to {escape(shown.target)}.")
        out.print(f"  Next 'podcast deploy': {shown.to_send} file(s) to send, {shown.to_delete} to delete.")
        for extract_id in shown.live_not_cleared:
            out.print(f"  [bold red]Extract {extract_id} is live but no longer cleared.[/]")
    if view.raw:
        out.print("[bold]Raw recordings:[/]")
        for note in view.raw:
            style = "yellow" if "due" in note or "for ever" in note else ""
            out.print(f"  [{style}]• {escape(note)}[/]" if style else f"  • {escape(note)}")
    if view.blockers:
        out.print("[bold]Before publishing:[/]")
        for blocker in view.blockers:
            out.print(f"  • {escape(blocker)}")


def register(app: typer.Typer) -> None:
    app.command("status")(status)
