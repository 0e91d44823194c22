"""podcast keys new, backup, restore, doctor: keeping the show safe, and raw voices short."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Annotated

import typer

from podcast import settings
from podcast.cli.common import PodcastGroup, console, escape, state
from podcast.errors import InvalidInputError

keys_app = typer.Typer(cls=PodcastGroup, no_args_is_help=True, help="The association's archive key.")


@keys_app.command("new")
def keys_new(
    ctx: typer.Context,
    output: Annotated[
        Path | None,
        typer.Option(
            help="Also write the secret key to this file (a USB stick), never inside the workspace."
        ),
    ] = None,
    qr: Annotated[
        Path | None, typer.Option(help="Also save the secret key as a QR code image (.png or .svg).")
    ] = None,
    replace: Annotated[
        bool, typer.Option(help="Replace an existing archive key (old backups keep needing it).")
    ] = False,
) -> None:
    """Make the association's archive key: backups and sealed sessions are encrypted to it.

    The secret half is printed once, as text and as a QR code, to keep on paper or a USB stick;
    it is not kept on this laptop. Without it, nothing sealed can ever be opened again.
    """
    import segno

    from podcast import vault

    ws = state(ctx).workspace()
    show = ws.settings()
    if show.archive_key and not replace:
        raise InvalidInputError(
            "The show already has an archive key.",
            hint="Keep using it; to make a new one anyway: podcast keys new --replace",
        )
    for path in (output, qr):
        if path is not None and (path.resolve() == ws.root or ws.root in path.resolve().parents):
            raise InvalidInputError(
                f"{path} is inside the workspace: the key must not live next to what it protects.",
                hint="Write it to a USB stick, e.g. --output /media/usb/podcast-key.txt",
            )
    secret, public = vault.new_identity()
    code = segno.make(secret, error="m")
    if output is not None:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"# The association's podcast archive key. Keep it safe and private.\n{secret}\n")
    if qr is not None:
        code.save(str(qr), scale=8)
    settings.save(dataclasses.replace(show, archive_key=public), ws.settings_path)
    out = console()
    out.print("[bold]The association's archive key (secret). Write it down or print it now:[/]")
    out.print(secret, soft_wrap=True, highlight=False)
    if os.isatty(1):
        code.terminal(compact=True)
    out.print(f"Public key, saved in podcast.toml: {public}", soft_wrap=True, highlight=False)
    out.print(
        "It is shown only this once and is not kept on this laptop. Without it, sealed sessions and "
        "backups can never be opened again; with it, anyone can open them: keep it like a house key."
    )


def backup_command(
    ctx: typer.Context,
    destination: Annotated[
        Path, typer.Argument(help="A folder (e.g. a USB stick) or a file name ending in .age.")
    ],
) -> None:
    """Write one encrypted archive of the whole show: database, consent record, keys, takes, renderings."""
    from podcast import backup

    ws = state(ctx).workspace()
    with console().status("Writing the encrypted backup…"):
        made = backup.make(ws, destination)
    console().print(
        f"Backup written: {escape(str(made.path))} ({made.files} files, {made.bytes_in / 1e6:.1f} MB, "
        f"{made.seconds:.1f} s), encrypted to the association's key.",
        soft_wrap=True,
    )
    console().print("To restore it: podcast restore ARCHIVE NEW-FOLDER --identity KEYFILE")


def restore_command(
    archive: Annotated[Path, typer.Argument(help="The .tar.age file 'podcast backup' wrote.")],
    folder: Annotated[Path, typer.Argument(help="A new (or empty) folder to restore the workspace into.")],
    identity: Annotated[Path, typer.Option(help="The file holding the association's secret key.")],
) -> None:
    """Restore a backup into a new folder; every file and the consent record are checked first."""
    from podcast import backup

    with console().status("Decrypting and checking…"):
        done = backup.restore(archive, folder, identity)
    console().print(
        f"Restored {done.files} files into {escape(str(done.root))}; every file matches the backup "
        f"and the consent record verifies ({done.ledger_entries} entries).",
        soft_wrap=True,
    )
    console().print(f"Open it with: podcast -w {escape(str(done.root))} status", soft_wrap=True)


def doctor_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON, for scripts.")] = False,
) -> None:
    """Check what is unsafe: disk encryption, file modes, space, model, consent record,
    retention, backups, offline guard. Exit code 0 ok, 1 warnings, 2 errors."""
    from podcast import doctor

    app_state = state(ctx)
    from podcast.models import default_data_dir
    from publish.voices import VoiceStore

    findings = doctor.examine(app_state.workspace(), app_state.model_store(), VoiceStore(default_data_dir()))
    if as_json:
        typer.echo(doctor.as_json(findings))
    else:
        marks = {doctor.OK: "[green]✓[/]", doctor.WARNING: "[yellow]![/]", doctor.ERROR: "[red]✗[/]"}
        out = console()
        for finding in findings:
            out.print(f"{marks[finding.level]} {finding.check}: {escape(finding.message)}")
            if finding.fix:
                out.print(f"    fix: {escape(finding.fix)}", soft_wrap=True)
    raise typer.Exit(doctor.exit_code(findings))


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")
    app.command("backup")(backup_command)
    app.command("restore")(restore_command)
    app.command("doctor")(doctor_command)
