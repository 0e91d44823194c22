"""podcast deploy, podcast publish setup: where the show lives, and sending it there."""

from __future__ import annotations

import dataclasses
from typing import Annotated

import typer

from podcast import settings
from podcast.cli.common import console, err_console, escape, state
from podcast.workspace import Workspace


def setup(
    ctx: typer.Context,
    base_url: Annotated[str | None, typer.Option(help="The podcast's public address (https://...).")] = None,
    target: Annotated[
        str | None, typer.Option(help="Where deploy sends it: a folder, or user@host:/path over SSH.")
    ] = None,
    key: Annotated[str | None, typer.Option(help="The SSH private key's full path (SSH targets).")] = None,
) -> None:
    """Say once where the show lives: its public address and where deploy sends it (checked now)."""
    from publish import deploy

    ws = state(ctx).workspace()
    show = ws.settings()
    base = base_url or show.base_url or typer.prompt("Public address of the podcast (https://...)")
    where = target or show.deploy_target or typer.prompt("Where to send it (a folder, or user@host:/path)")
    ssh = deploy.parse_target(where).kind == "ssh"
    if key is None:
        key = show.deploy_key or (typer.prompt("SSH private key file (full path)") if ssh else "")
    new = dataclasses.replace(show, base_url=base, deploy_target=where, deploy_key=key if ssh else "")
    found = deploy.check_setup(ws, new)
    settings.save(new, ws.settings_path)
    console().print(f"[green]✓[/] Reached {escape(where)} ({found} file(s) there). Saved in podcast.toml.")
    console().print("Next: podcast publish, then podcast deploy.")


def deploy_command(ctx: typer.Context) -> None:
    """Send the published folder to the show's host: new files, then the feed, then deletions."""
    run_deploy(ctx, state(ctx).workspace())


def run_deploy(ctx: typer.Context, ws: Workspace) -> None:
    from publish import deploy

    quiet = state(ctx).quiet
    result = deploy.deploy(ws, on_step=None if quiet else lambda m: err_console().print(f"→ {m}"))
    out = console()
    out.print(
        f"Deployed to {escape(result.target)}: {len(result.sent)} file(s) sent, "
        f"{len(result.deleted)} deleted; {result.live_files} file(s) live, checked."
    )
    for name in result.deleted:
        out.print(f"  • removed {escape(name)}")


def register(root: typer.Typer, publish_app: typer.Typer) -> None:
    root.command("deploy")(deploy_command)
    publish_app.command("setup")(setup)
