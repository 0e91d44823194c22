"""podcast transcribe, podcast transcript show|edit|export"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from podcast.cli.common import PodcastGroup, SessionArg, console, escape, progress_bar, state
from podcast.errors import InvalidInputError
from podcast.fsutil import atomic_write_text
from sessions import transcripts
from sessions.transcribe import TranscribeOptions, default_workers, transcribe_session


def transcribe(
    ctx: typer.Context,
    session_id: SessionArg,
    model: Annotated[str, typer.Option(help="Model name (see 'podcast models list').")] = "base",
    language: Annotated[
        str | None, typer.Option(help="auto, en, fr, ... (default: the session's language).")
    ] = None,
    device: Annotated[str, typer.Option(help="cpu or cuda.")] = "cpu",
    compute_type: Annotated[str, typer.Option(help="int8, int8_float16, float16, float32.")] = "int8",
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=32,
            help="Chunks per decoding call; more uses more memory [default: 1, or 2 with one worker].",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=16, help="Decodings at once [default: 2 with two cores or more]."),
    ] = None,
) -> None:
    """Transcribe a session locally (resumes where an interrupted run stopped)."""
    app_state = state(ctx)
    ws = app_state.workspace()
    options = TranscribeOptions(
        model,
        language,
        device,
        compute_type,
        batch_size,
        spoken_languages=ws.settings().spoken_languages,
        workers=workers or default_workers(),
    )
    with progress_bar(ctx, "Transcribing") as on_progress:
        result = transcribe_session(
            ws,
            session_id,
            app_state.model_store(),
            options,
            on_progress=lambda done, total: on_progress(int(done), int(total)),
        )
    out = console()
    if result.takes_transcribed == 0:
        out.print(f"Session {session_id} is already transcribed with these settings.")
    else:
        verb = "Resumed and finished" if result.resumed else "Transcribed"
        out.print(f"{verb} {result.takes_transcribed} take(s) of session {session_id}.")
    languages = ", ".join(f"{k} ({v})" for k, v in result.languages.items()) or "none"
    out.print(
        f"{result.words} words, {result.low_confidence_words} to check; languages (segments): {languages}."
    )
    out.print(f"Next: podcast transcript show {session_id}, then podcast transcript edit {session_id}")


app = typer.Typer(cls=PodcastGroup, no_args_is_help=True, help="Review, correct and export transcripts.")


@app.command("show")
def show(ctx: typer.Context, session_id: SessionArg) -> None:
    """Show the transcript: time, pseudonym, text; words to check are highlighted."""
    ws = state(ctx).workspace()
    transcript = transcripts.load(ws, session_id)
    out = console()
    if not transcript.utterances:
        out.print(f"Session {session_id} has no transcript yet. Run: podcast transcribe {session_id}")
        return
    status = "reviewed" if transcript.reviewed else "not reviewed yet"
    out.print(f"[bold]Session {session_id}[/] transcript ({status}); [reverse]highlighted[/] = check")
    table = Table("Time", "Speaker", "Text", show_lines=False, box=None)
    markers = list(transcript.markers)
    for utterance in transcript.utterances:
        while markers and markers[0].time_s <= utterance.start_s:
            marker = markers.pop(0)
            table.add_row(
                transcripts.clock(marker.time_s), "", Text(f"▶ marker {marker.label}", style="bold")
            )
        line = Text()
        for index, word in enumerate(utterance.words):
            if index:
                line.append(" ")
            line.append(word.text, style="reverse" if word.low_confidence else "")
        language = "" if utterance.language in ("en",) else f" [{utterance.language}]"
        table.add_row(transcripts.clock(utterance.start_s), Text(utterance.speaker + language), line)
    out.print(table)


@app.command("edit")
def edit(ctx: typer.Context, session_id: SessionArg) -> None:
    """Correct words and speakers in $EDITOR; timings are kept and it is marked reviewed."""
    ws = state(ctx).workspace()
    text = transcripts.render_for_edit(transcripts.require_transcript(ws, session_id))
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "nano"
    with tempfile.TemporaryDirectory(dir=ws.tmp_dir) as tmp:
        path = Path(tmp) / f"session-{session_id}-transcript.txt"
        path.write_text(text, encoding="utf-8")
        try:
            code = subprocess.run([*shlex.split(editor), str(path)], check=False).returncode
        except FileNotFoundError:
            raise InvalidInputError(
                f"The editor {editor!r} was not found.", hint="Set EDITOR, e.g. EDITOR=nano"
            ) from None
        if code != 0:
            raise InvalidInputError(
                f"The editor exited with code {code}; nothing changed.",
                hint="Save and quit normally to apply your corrections.",
            )
        try:
            edited = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            line = path.read_bytes()[: exc.start].count(b"\n") + 1
            raise InvalidInputError(
                f"The edited transcript is not valid UTF-8 (line {line}); nothing changed.",
                hint="Save it as UTF-8 in your editor (nano, gedit and vi do by default).",
            ) from None
    result = transcripts.apply_edit(ws, session_id, edited)
    console().print(
        f"Saved: {result.utterances_changed} line(s) changed, {result.words_changed} word(s), "
        f"{result.speakers_changed} speaker(s). The transcript is marked reviewed."
    )


@app.command("export")
def export(
    ctx: typer.Context,
    session_id: SessionArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help="vtt, srt, txt or json.")] = "vtt",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: print).")
    ] = None,
) -> None:
    """Export the transcript as WebVTT, SRT, text or Podcasting 2.0 JSON (pseudonyms only)."""
    ws = state(ctx).workspace()
    text = transcripts.export(ws, session_id, fmt)
    if output is None:
        typer.echo(text, nl=False)
    else:
        atomic_write_text(output, text)
        console().print(f"Wrote {escape(str(output))}")


def register(root: typer.Typer) -> None:
    root.command("transcribe")(transcribe)
    root.add_typer(app, name="transcript")
