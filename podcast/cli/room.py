"""podcast room: the review room in the laptop's browser, served on 127.0.0.1 only."""

from __future__ import annotations

import shutil
import subprocess
import webbrowser
from typing import Annotated

import typer

from consent import decisions
from podcast.cli.common import console, escape, state
from podcast.errors import InvalidInputError
from podcast.models import default_data_dir
from sessions import sessions, transcripts


def room(
    ctx: typer.Context,
    session_id: Annotated[int | None, typer.Argument(help="Open this session's extracts.", min=1)] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.", min=1024, max=65535)] = 8765,
    browser: Annotated[
        bool, typer.Option("--browser/--no-browser", help="Open the room in the browser, full screen.")
    ] = True,
    transcript: Annotated[
        bool,
        typer.Option(
            "--transcript",
            help="Open the facilitator's workbench: correct the transcript while listening, choose "
            "extracts and sensitive words (in a normal window).",
        ),
    ] = False,
) -> None:
    """The review room: the group listens together, then each participant answers alone.

    With --transcript, the facilitator's workbench for the same session instead.
    """
    import uvicorn

    from podcast.room.app import RoomConfig, create_app
    from podcast.room.security import new_token
    from publish.voices import VoiceStore

    app_state = state(ctx)
    ws = app_state.workspace()
    if transcript:
        if session_id is None:
            raise InvalidInputError(
                "Say which session's transcript to open.", hint="podcast room 1 --transcript"
            )
        transcripts.require_transcript(ws, session_id)
    elif session_id is not None:
        sessions.get(ws, session_id)
        decisions.resolve_witness(ws, session_id, None)
    elif not sessions.list_all(ws):
        raise InvalidInputError(
            "There is no session yet.", hint="Create one: podcast session new TITLE -p NAME"
        )
    token = new_token()
    config = RoomConfig(ws.root, token, port, VoiceStore(default_data_dir()), app_state.model_store())
    path = f"/session/{session_id}" if session_id else "/"
    if transcript:
        path += "/transcript"
    url = f"http://127.0.0.1:{port}{path}?token={token}"
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    # One unbroken line, so that the address can be copied whatever the terminal's width.
    console().print(f"The room is open at {escape(url)}", soft_wrap=True)
    console().print("Only this computer can open it. Press Ctrl-C to close it.")
    if browser:
        if transcript:
            webbrowser.open(url)  # her own window, with its tabs and zoom: she works there a while
        else:
            _open(url)
    server.run()
    console().print("The room is closed.")


def _open(url: str) -> None:
    """Full screen in Chromium when it is installed (kiosk style), else the default browser."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        binary = shutil.which(name)
        if binary:
            subprocess.Popen(
                [binary, "--kiosk", "--no-first-run", "--disable-background-networking", url],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
            return
    webbrowser.open(url)


def register(app: typer.Typer) -> None:
    app.command("room")(room)
