"""podcast init"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from podcast.cli.common import console, escape
from podcast.settings import ShowSettings
from podcast.workspace import Workspace


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new workspace.")] = Path("."),
    title: Annotated[str, typer.Option("--title", help="Show title.", prompt=False)] = "Our workshop podcast",
    language: Annotated[str, typer.Option("--language", help="Show language: fr, en, ...")] = "fr",
    description: Annotated[str, typer.Option(help="Show description.")] = "",
    author: Annotated[str, typer.Option(help="Organisation or collective shown as author.")] = "",
    base_url: Annotated[str, typer.Option(help="Public address of the published folder.")] = "",
    owner_email: Annotated[str, typer.Option(help="Owner e-mail (for podcast:locked).")] = "",
) -> None:
    """Create a workspace: settings, state database and folders. Refuses to overwrite one."""
    show = ShowSettings(
        title=title,
        language=language,
        description=description,
        author=author,
        base_url=base_url,
        owner_email=owner_email,
    )
    ws = Workspace.create(directory, show)
    out = console()
    out.print(f"Created workspace [bold]{escape(show.title)}[/] in {escape(str(ws.root))}")
    out.print("Next: podcast participant add NAME, then podcast session new TITLE --participant NAME")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
