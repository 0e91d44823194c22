"""podcast demo"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated

import typer

from consent import checkpoints, decisions, participants
from podcast import sound
from podcast.cli.common import console, err_console, escape, progress_bar, state
from podcast.cli.consent import consent_table
from podcast.cli.render import hms, overview_table
from podcast.errors import PodcastError
from podcast.models import default_data_dir
from podcast.overview import overview
from podcast.workspace import Workspace
from publish.voices import VoiceStore


def demo(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Folder for the demo workspace.")] = Path("podcast-demo"),
    record_through: Annotated[
        str | None,
        typer.Option(
            help="Record from a virtual sound server's sink (e.g. podcast_quad, from "
            "scripts/audio-server) instead of importing. Default: when one is running."
        ),
    ] = None,
    no_record: Annotated[bool, typer.Option("--import-only", help="Always import, never record.")] = False,
) -> None:
    """Run the toolkit on a generated sample workshop (synthetic voices) in a new workspace."""
    from podcast.demo import run_demo  # heavy (audio, TTS, DSP): only when needed

    quiet = state(ctx).quiet

    def step(message: str) -> None:
        if not quiet:
            err_console().print(f"[cyan]→[/] {message}")

    if record_through is None and not no_record and os.environ.get("PULSE_SERVER"):
        with contextlib.suppress(PodcastError):
            if any(d.name == "podcast_quad_in" for d in sound.devices()):
                record_through = "podcast_quad"
    with progress_bar(ctx, "Transcribing") as on_progress:
        result = run_demo(
            directory,
            state(ctx).model_store(),
            VoiceStore(default_data_dir()),
            record_through=None if no_record else record_through,
            on_step=step,
            on_progress=lambda done, total: on_progress(int(done), int(total)),
        )
    out = console()
    duration = hms(result.duration_s)
    how = "Recorded" if result.recorded else "Imported"
    out.print(f"{how} session {result.session_id}: {result.channels} channels, {duration}")
    languages = ", ".join(result.languages)
    out.print(f"Transcribed {result.words} words (languages: {languages}).")
    ws = Workspace.open(result.workspace)
    out.print(overview_table(overview(ws)))
    names = {p.id: p.pseudonym for p in participants.list_all(ws, include_retired=True)}
    out.print("Consent (scripted review of the protected extracts):")
    out.print(consent_table(decisions.session_status(ws, result.session_id), names, detail=False))
    verdict, _ = checkpoints.verify(ws)
    out.print(f"Consent ledger: {verdict.status} ({verdict.entries} entries, each with a signed checkpoint).")
    out.print(f"Workspace: {escape(str(result.workspace))}")
    out.print(f"Feed:      {escape(str(result.feed))}")
    out.print(f"Episode:   {escape(str(result.episode_audio))}")
    out.print(f"Receipt:   {escape(str(result.receipt))}")
    out.print(f"Preview it in a browser: podcast -w {escape(str(result.workspace))} serve")
    out.print(
        f"Next, correct the transcript while listening, in the browser "
        f"(http://127.0.0.1:8765/session/{result.session_id}/transcript): "
        f"podcast -w {escape(str(result.workspace))} room {result.session_id} --transcript",
        soft_wrap=True,
    )
    out.print(
        f"Then the review room (the group listens, each one answers alone): "
        f"podcast -w {escape(str(result.workspace))} room {result.session_id}",
        soft_wrap=True,
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
