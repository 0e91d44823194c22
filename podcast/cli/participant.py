"""podcast participant add|list|rename|retire"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from consent import participants
from podcast.cli.common import PodcastGroup, console, escape, state
from podcast.errors import InvalidInputError

app = typer.Typer(
    cls=PodcastGroup,
    no_args_is_help=True,
    help="Participants, known by pseudonyms only (never real names).",
)

NameArg = Annotated[str, typer.Argument(help="Pseudonym (1-40 printable characters).")]


LanguageOption = Annotated[
    str | None, typer.Option(help="The language she is asked in (one of the show's, e.g. fr or en).")
]


@app.command("add")
def add(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(help="One or more pseudonyms.")],
    language: LanguageOption = None,
) -> None:
    """Register participants by pseudonym."""
    ws = state(ctx).workspace()
    if language:
        participants.check_language(ws, language)
    for name in names:
        person = participants.add(ws, name)
        if language:
            participants.set_language(ws, person.pseudonym, language)
        console().print(f"Added [bold]{escape(person.pseudonym)}[/]")


@app.command("set")
def set_(ctx: typer.Context, name: NameArg, language: LanguageOption = None) -> None:
    """Change a participant's settings: the language the review room speaks to her in."""
    ws = state(ctx).workspace()
    if not language:
        raise InvalidInputError("Nothing to change.", hint="Pass --language fr (or another of the show's).")
    person = participants.set_language(ws, name, language)
    console().print(f"{escape(person.pseudonym)} is asked in {person.language}.")


@app.command("list")
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Include retired participants.")] = False,
) -> None:
    """List participants."""
    ws = state(ctx).workspace()
    people = participants.list_all(ws, include_retired=all_)
    if not people:
        console().print("No participants yet. Add one with: podcast participant add NAME")
        return
    table = Table("Pseudonym", "ID", "Language", "Status")
    for person in people:
        table.add_row(
            escape(person.pseudonym),
            person.id,
            participants.language_of(ws, person),
            "retired" if person.retired else "active",
        )
    console().print(table)


@app.command("rename")
def rename(ctx: typer.Context, old: NameArg, new: NameArg) -> None:
    """Change a pseudonym (her history follows her)."""
    ws = state(ctx).workspace()
    person = participants.rename(ws, old, new)
    console().print(f"Renamed to [bold]{escape(person.pseudonym)}[/]")


@app.command("retire")
def retire(ctx: typer.Context, name: NameArg) -> None:
    """Retire a participant: she joins no new session; her history and decisions are kept."""
    ws = state(ctx).workspace()
    person = participants.retire(ws, name)
    console().print(f"Retired [bold]{escape(person.pseudonym)}[/]")


@app.command("erase")
def erase(
    ctx: typer.Context,
    name: NameArg,
    witness: Annotated[str | None, typer.Option(help="Who took the request (default: herself).")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do it without asking.")] = False,
) -> None:
    """Erase a participant on her request: her consent withdrawn everywhere, her words and voice
    removed from every transcript, take and rendering; her pseudonym replaced by a neutral label.

    The consent record keeps its opaque entries and gains an erasure entry. Run 'podcast publish'
    (and 'podcast deploy') afterwards: the episodes she was in are re-cut without her.
    """
    from consent import erasure

    ws = state(ctx).workspace()
    person = participants.get(ws, name) if not name.lower().startswith("erased-") else None
    if person is None:
        raise InvalidInputError(f"{name!r} was already erased.", hint="Nothing left to do.")
    out = console()
    out.print(
        f"This erases {escape(person.pseudonym)} everywhere on this laptop: her consent is withdrawn from "
        "every extract, her words leave every transcript, her microphone and her turns become silence "
        "in every raw take, her protected renderings and voice settings are deleted. It cannot be undone."
    )
    if not yes and not typer.confirm("Erase her?", default=False):
        raise typer.Exit(1)
    helper = participants.get(ws, witness) if witness else None
    with out.status("Erasing…"):
        done = erasure.erase(ws, name, witness=helper)
    out.print(
        f"Erased: now '{done.label}'. {done.withdrawn} agreement(s) withdrawn, {done.words_removed} word(s) "
        f"removed, {done.takes_silenced} take(s) silenced, {done.renderings_removed} rendering(s) deleted."
    )
    out.print("Next: podcast publish (the episodes she was in are re-cut), then podcast deploy.")
