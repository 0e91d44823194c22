"""podcast models list|verify|add|repair"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from podcast.cli.common import PodcastGroup, console, escape, progress_bar, state

app = typer.Typer(
    cls=PodcastGroup,
    no_args_is_help=True,
    help="Speech-recognition models: local files only, checked by sha256, never downloaded.",
)


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """List the bundled model and the registered local models."""
    store = state(ctx).model_store()
    table = Table("Name", "Folder", "Files", "Origin")
    for model in store.list():
        ready = (model.path / "model.bin").exists()
        origin = "bundled (Whisper base)" if model.bundled else "added"
        if model.bundled and not ready:
            origin += ", assembled at first use"
        table.add_row(model.name, escape(str(model.path)), str(len(model.files)), origin)
    console().print(table)


@app.command("verify")
def verify(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Model name (see 'podcast models list').")] = "base",
) -> None:
    """Check every file of a model against its recorded sha256."""
    store = state(ctx).model_store()
    with progress_bar(ctx, "Verifying") as on_progress:
        model = store.verify(name, lambda done, total: on_progress(done, total))
    console().print(f"Model [bold]{escape(model.name)}[/] is intact ({len(model.files)} files checked).")


@app.command("repair")
def repair(ctx: typer.Context) -> None:
    """Rebuild the bundled model from the installed packages and verify it."""
    store = state(ctx).model_store()
    with progress_bar(ctx, "Assembling") as on_progress:
        model = store.repair(on_progress)
    console().print(f"Bundled model rebuilt and verified in {escape(str(model.path))}")


@app.command("add")
def add(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A local CTranslate2 Whisper model folder.")],
    name: Annotated[str | None, typer.Option(help="Name to use with --model.")] = None,
) -> None:
    """Register a local model folder (e.g. copied from a USB drive) and record its hashes."""
    store = state(ctx).model_store()
    model = store.add(path, name)
    console().print(
        f"Registered [bold]{escape(model.name)}[/] ({len(model.files)} files hashed). "
        f"Use it with: podcast transcribe SESSION --model {escape(model.name)}"
    )
