"""podcast episode new|list|show|remove|build, podcast publish, podcast serve"""

from __future__ import annotations

import functools
import http.server
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from podcast.cli import deploy
from podcast.cli.common import PodcastGroup, console, err_console, escape, progress_bar, state
from podcast.cli.render import hms
from podcast.errors import InvalidInputError
from podcast.models import default_data_dir
from publish import episodes
from publish.voices import VoiceStore

app = typer.Typer(cls=PodcastGroup, no_args_is_help=True, help="Episodes made of cleared extracts.")
EpisodeArg = Annotated[int, typer.Argument(help="Episode ID (see 'podcast episode list').", min=1)]
BitrateOption = Annotated[int, typer.Option(help="MP3 bitrate in kbps (mono).", min=64, max=192)]


@app.command("new")
def new(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="Episode title (no episode number in it).")],
    extract: Annotated[list[int], typer.Option("--extract", "-e", help="Extract IDs, in order (repeat).")],
    description: Annotated[str, typer.Option(help="Episode description.")] = "",
    number: Annotated[int | None, typer.Option(help="Episode number.")] = None,
    season: Annotated[int | None, typer.Option(help="Season number.")] = None,
) -> None:
    """Create an episode from extracts, in order."""
    ws = state(ctx).workspace()
    episode = episodes.create(ws, title, extract, description=description, number=number, season=season)
    console().print(
        f"Created episode [bold]{episode.id}[/]: {escape(episode.title)} ({len(episode.extracts)} extract(s))"
    )


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List episodes."""
    ws = state(ctx).workspace()
    items = episodes.list_all(ws)
    if not items:
        console().print("No episodes yet: podcast episode new TITLE --extract ID ...")
        return
    table = Table("ID", "No.", "Title", "Extracts")
    for item in items:
        table.add_row(
            str(item.id),
            str(item.number or ""),
            escape(item.title),
            ", ".join(str(e.id) for e in item.extracts),
        )
    console().print(table)


@app.command("show")
def show(ctx: typer.Context, episode_id: EpisodeArg) -> None:
    """Show an episode, its extracts and what blocks it."""
    from publish import build

    ws = state(ctx).workspace()
    item = episodes.get(ws, episode_id)
    out = console()
    out.print(f"[bold]Episode {item.id}[/]: {escape(item.title)}   guid {item.guid}")
    for extract in item.extracts:
        out.print(f"  extract {extract.id}: {escape(extract.title)} ({hms(extract.duration_s)})")
    try:
        build.check_gate(ws, item)
        out.print("[green]Every extract is cleared and protected.[/]")
    except build.GateRefused as exc:
        out.print(f"[yellow]{escape(exc.message)}[/]")


@app.command("remove")
def remove(ctx: typer.Context, episode_id: EpisodeArg) -> None:
    """Remove an episode (it leaves the feed at the next publish)."""
    ws = state(ctx).workspace()
    item = episodes.remove(ws, episode_id)
    console().print(f"Removed episode {item.id}: {escape(item.title)}")


@app.command("build")
def build_(ctx: typer.Context, episode_id: EpisodeArg, bitrate: BitrateOption = 96) -> None:
    """Build an episode for listening before publishing (refuses unless every extract is cleared)."""
    from publish import build  # heavy (audio, DSP): only when needed

    ws = state(ctx).workspace()
    item = episodes.get(ws, episode_id)
    statuses = build.check_gate(ws, item)
    out_dir = ws.root / "builds" / f"episode-{item.id:04d}"
    with progress_bar(ctx, "Building") as on_progress:
        built = build.build(
            ws,
            item,
            statuses,
            out_dir,
            voices=VoiceStore(default_data_dir()),
            bitrate_kbps=bitrate,
            on_progress=on_progress,
        )
    # The listening copy replaces the previous one (an old cut may hold withdrawn words).
    build.prune_builds(ws, item.id, keep=(built.audio, *built.files.values()))
    console().print(
        f"Built {escape(str(built.audio))}: {hms(built.duration_s)}, "
        f"{built.loudness_lufs:.1f} LUFS, true peak {built.true_peak_dbtp:.1f} dBTP, "
        f"{len(built.chapters)} chapter(s)"
    )


publish_app = typer.Typer(
    cls=PodcastGroup,
    help="Write the published folder (feed, audio, transcripts, chapters, artwork, index.html).",
)


@publish_app.callback(invoke_without_command=True)
def publish(
    ctx: typer.Context,
    base_url: Annotated[
        str | None, typer.Option(help="Public address of the folder (default: podcast.toml).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder to write (default: the workspace's publish/).")
    ] = None,
    bitrate: BitrateOption = 96,
    check: Annotated[bool, typer.Option("--check", help="Only audit the published folder.")] = False,
    then_deploy: Annotated[
        bool, typer.Option("--deploy", help="Then send it to the show's host (podcast deploy).")
    ] = False,
) -> None:
    """Write the published folder (feed, audio, transcripts, chapters, artwork, index.html)."""
    if ctx.invoked_subcommand is not None:
        return
    from publish import site  # heavy (audio, feed, images): only when needed

    ws = state(ctx).workspace()
    if check:
        folder = (out or ws.publish_dir).resolve()
        problems = site.check(ws, out)
        if problems:
            for problem in problems:
                console().print(f"[red]✗[/] {escape(problem)}")
            raise typer.Exit(1)
        console().print(f"[green]✓[/] {escape(str(folder))} keeps every promise.")
        return
    quiet = state(ctx).quiet
    result = site.publish(
        ws,
        voices=VoiceStore(default_data_dir()),
        base_url=base_url,
        out_dir=out,
        bitrate_kbps=bitrate,
        on_step=None if quiet else lambda m: err_console().print(f"→ {m}"),
    )
    output = console()
    if result.ledger_problem:
        err_console().print(
            f"[bold red]The consent ledger does not verify[/] ({escape(result.ledger_problem)}): "
            "no extract is cleared, so every episode left the feed. Run 'podcast consent verify'."
        )
    output.print(f"Published {len(result.published)} episode(s) to {escape(str(result.out_dir))}")
    output.print(f"Feed: {escape(result.feed_url)}")
    for change in result.changes:
        output.print(f"  • {escape(change)}")
    if any("re-cut" in c or "removed" in c for c in result.changes):
        output.print("[yellow]Copies already downloaded by listeners cannot be recalled.[/]")
    output.print(
        "[green]✓[/] Checked: only cleared, protected extracts; no sensitive word; tags and loudness OK."
    )
    if result.ledger_problem:
        raise typer.Exit(1)
    if then_deploy:
        deploy.run_deploy(ctx, ws)


def serve(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.", min=1024, max=65535)] = 8000,
    out: Annotated[
        Path | None, typer.Option(help="Folder to serve (default: the workspace's publish/).")
    ] = None,
) -> None:
    """Preview the published folder in a browser, on this computer only (127.0.0.1)."""
    ws = state(ctx).workspace()
    folder = (out or ws.publish_dir).resolve()
    if not (folder / "feed.xml").exists():
        raise InvalidInputError(f"Nothing is published in {folder}.", hint="Run 'podcast publish' first.")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        console().print(f"Serving {escape(str(folder))} at http://127.0.0.1:{port}/ (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            console().print("Stopped.")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="episode")
    deploy.register(root, publish_app)
    root.add_typer(publish_app, name="publish")
    root.command("serve")(serve)
