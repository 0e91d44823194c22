"""podcast transcribe, podcast transcript show|edit|export"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from podcast.cli.common import PodcastGroup, SessionArg, console, escape, progress_bar, state
from podcast.errors import InvalidInputError
from podcast.fsutil import atomic_write_text
from sessions import history, transcripts
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
        pidgin_words=ws.settings().pidgin_words,
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
    if result.uncertain_lines:
        out.print(
            f"{result.uncertain_lines} line(s) of uncertain language, marked '?' in transcript show "
            "and in the workbench: listen and say which it is."
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
    left = len(transcripts.not_reviewed(transcript))
    status = "reviewed" if transcript.reviewed else f"{left} line(s) not reviewed yet, marked ○"
    out.print(f"[bold]Session {session_id}[/] transcript ({status}); [reverse]highlighted[/] = check")
    # Line numbers are stable (they survive corrections and deletions): extract add --segments
    # and the edit form (#number) use the same ones.
    table = Table("Line", "Time", "Speaker", "Text", show_lines=False, box=None)
    markers = list(transcript.markers)
    for utterance in transcript.utterances:
        while markers and markers[0].time_s <= utterance.start_s:
            marker = markers.pop(0)
            table.add_row(
                "", transcripts.clock(marker.time_s), "", Text(f"▶ marker {marker.label}", style="bold")
            )
        line = Text()
        for index, word in enumerate(utterance.words):
            if index:
                line.append(" ")
            line.append(word.text, style="reverse" if word.low_confidence else "")
        if utterance.language_uncertain:
            language = f" [{utterance.language}?]"
        else:
            language = "" if utterance.language in ("en",) else f" [{utterance.language}]"
        number = str(utterance.key) + ("" if utterance.reviewed else " ○")
        table.add_row(number, transcripts.clock(utterance.start_s), Text(utterance.speaker + language), line)
    out.print(table)
    uncertain = [u for u in transcript.utterances if u.language_uncertain]
    if uncertain:
        out.print(
            f"{len(uncertain)} line(s) marked '?': the computer was unsure of the language. Listen, "
            f"then: podcast transcript language {session_id} LINE fr (or en, pcm, ...)"
        )


EDITORS = ("editor", "nano", "vi")


def _editor() -> list[str]:
    """$VISUAL, $EDITOR, then the first of editor, nano, vi that is installed."""
    chosen = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if chosen:
        return shlex.split(chosen)
    for name in EDITORS:
        found = shutil.which(name)
        if found:
            return [found]
    raise InvalidInputError(
        "No text editor was found (tried $VISUAL, $EDITOR, " + ", ".join(EDITORS) + ").",
        hint="Install one (apt-get install nano) or set EDITOR, e.g. EDITOR=nano.",
    )


def _open_editor(command: list[str], path: Path) -> str:
    try:
        code = subprocess.run([*command, str(path)], check=False).returncode
    except FileNotFoundError:
        raise InvalidInputError(
            f"The editor {command[0]!r} was not found.",
            hint="Set EDITOR to an installed editor, e.g. EDITOR=nano.",
        ) from None
    if code != 0:
        raise InvalidInputError(
            f"The editor exited with code {code}; nothing changed.",
            hint="Save and quit normally to apply your corrections.",
        )
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidInputError(
            f"The edited transcript is not valid UTF-8 (line {line}); nothing changed.",
            hint="Save it as UTF-8 in your editor (nano, gedit and vi do by default).",
        ) from None


@app.command("edit")
def edit(ctx: typer.Context, session_id: SessionArg) -> None:
    """Correct words and speakers in a text editor; timings are kept. Delete a line to remove it."""
    ws = state(ctx).workspace()
    text = transcripts.render_for_edit(transcripts.require_transcript(ws, session_id))
    command = _editor()
    with tempfile.TemporaryDirectory(dir=ws.tmp_dir) as tmp:
        path = Path(tmp) / f"session-{session_id}-transcript.txt"
        path.write_text(text, encoding="utf-8")
        while True:
            before = path.read_bytes()
            edited = _open_editor(command, path)
            try:
                result = transcripts.apply_edit(ws, session_id, edited)
                break
            except InvalidInputError as exc:
                if path.read_bytes() == before or not sys.stdin.isatty():
                    raise  # nothing was changed since the error was shown, or nobody to ask
                # As git commit does: the error at the top, her text kept, the editor again.
                kept = "\n".join(line for line in edited.splitlines() if not line.startswith("# ERROR"))
                note = f"# ERROR: {exc.message}\n# ERROR: {exc.hint or ''}\n"
                path.write_text(note + kept + "\n", encoding="utf-8")
    deleted = f", {result.lines_deleted} line(s) deleted" if result.lines_deleted else ""
    console().print(
        f"Saved: {result.utterances_changed} line(s) changed, {result.words_changed} word(s), "
        f"{result.speakers_changed} speaker(s){deleted}."
    )
    if not transcripts.load(ws, session_id).reviewed:
        console().print(
            f"When you have listened to all of it: podcast transcript review {session_id} "
            "(needed before a synthetic voice reads it)."
        )


@app.command("review")
def review(
    ctx: typer.Context,
    session_id: SessionArg,
    lines: Annotated[
        str | None,
        typer.Option("--lines", help="Only these lines, as 'transcript show' numbers them: 12-18 or 12."),
    ] = None,
) -> None:
    """Mark lines reviewed (all of them by default): a person listened to them and corrected them."""
    ws = state(ctx).workspace()
    transcript = transcripts.require_transcript(ws, session_id)
    keys = None
    if lines is not None:
        first, _, last = lines.partition("-")
        try:
            span = (int(first), int(last or first))
        except ValueError:
            raise InvalidInputError(
                f"Cannot read the lines {lines!r}.", hint="Write them as 12-18, or 12 for one line."
            ) from None
        keys = transcripts.keys_between(transcript, *span)
    count = transcripts.mark_reviewed(ws, session_id, keys)
    left = len(transcripts.not_reviewed(transcripts.load(ws, session_id)))
    out = console()
    out.print(f"Marked {count} line(s) of session {session_id} reviewed.")
    if left:
        out.print(f"{left} line(s) not listened to yet (marked ○ in: podcast transcript show {session_id}).")
    else:
        out.print(f"Session {session_id}'s whole transcript is reviewed.")


@app.command("undo")
def undo(ctx: typer.Context, session_id: SessionArg) -> None:
    """Undo the last change to the transcript (made here or in the browser workbench)."""
    ws = state(ctx).workspace()
    change = history.undo(ws, session_id)
    console().print(
        f"Undone: the {change.action} change of {change.created_at} (made in the {change.source})."
    )


@app.command("language")
def language(
    ctx: typer.Context,
    session_id: SessionArg,
    line: Annotated[int, typer.Argument(help="Line number, as 'transcript show' lists it.")],
    code: Annotated[
        str, typer.Argument(help="The language she speaks in it: en, fr, pcm (Nigerian Pidgin)...")
    ],
) -> None:
    """Say which language a line is spoken in (it is exported with it, and a synthetic voice
    that speaks it reads it)."""
    from sessions import editing

    ws = state(ctx).workspace()
    editing.set_language(ws, session_id, line, code, source="cli")
    console().print(f"Line {line} of session {session_id} is now tagged {escape(code.strip().lower())}.")


@app.command("export")
def export(
    ctx: typer.Context,
    session_id: SessionArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help="vtt, srt, txt or json.")] = "vtt",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: print).")
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="Only the lines in this language (e.g. fr): one file per language.")
    ] = None,
) -> None:
    """Export the transcript as WebVTT, SRT, text or Podcasting 2.0 JSON (pseudonyms only; the
    JSON gives each segment's language)."""
    ws = state(ctx).workspace()
    text = transcripts.export(ws, session_id, fmt, language)
    if output is None:
        typer.echo(text, nl=False)
    else:
        atomic_write_text(output, text)
        console().print(f"Wrote {escape(str(output))}")


def register(root: typer.Typer) -> None:
    root.command("transcribe")(transcribe)
    root.add_typer(app, name="transcript")
