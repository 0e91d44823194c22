"""The review room: the group hears each protected extract together, then each participant
answers alone, in her language, by large pictured buttons; the screen after her answer is the
same whatever she said.

Server-rendered pages (Starlette + Jinja2), one small script, every asset served from this
package. Every decision goes through the consent domain (`consent.review.answer`), which
signs a checkpoint before the room moves on. Each request opens its own connection to the
workspace (SQLite connections stay in their thread).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from consent import decisions, participants, protection, review, sensitive
from consent.decisions import ExtractStatus
from consent.participants import Participant
from podcast.errors import NotFoundError, PodcastError
from podcast.models import ModelStore
from podcast.phrases import COLOURS, SYMBOLS, phrases
from podcast.room import prompts, security, workbench
from podcast.workspace import Workspace
from publish import anonymise, redaction
from publish.voices import VoiceStore
from sessions import extracts, sessions

HERE = Path(__file__).resolve().parent
ANSWERS = {"yes": review.Answer.YES, "no": review.Answer.NO, "later": review.Answer.LATER}


@dataclass
class RoomConfig:
    root: Path  # the workspace
    token: str
    port: int
    voices: VoiceStore
    models: ModelStore | None  # for the check that redacted words are no longer audible
    rendering: dict[int, str] = field(default_factory=dict)  # extract ID -> progress text
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextlib.contextmanager
def _workspace(config: RoomConfig) -> Iterator[Workspace]:
    ws = Workspace.open(config.root)
    try:
        yield ws
    finally:
        ws.close()


def _person_view(index: int, person: Participant, ws: Workspace) -> dict[str, object]:
    return {
        "index": index,
        "name": person.pseudonym,
        "colour": COLOURS[index % len(COLOURS)],
        "symbol": SYMBOLS[index % len(SYMBOLS)],
        "language": participants.language_of(ws, person),
        "mode": protection.get(ws, person.id).mode,
    }


@dataclass(frozen=True)
class Turn:
    """One person's turn in the round of an extract (by her place in the round)."""

    session_id: int
    status: ExtractStatus
    index: int
    people: tuple[Participant, ...]

    @property
    def person(self) -> Participant:
        return self.people[self.index]

    def language(self, ws: Workspace) -> str:
        return participants.language_of(ws, self.person)


def _turn(request: Request, ws: Workspace) -> Turn:
    session_id, extract_id = int(request.path_params["session"]), int(request.path_params["extract"])
    status = _status(ws, session_id, extract_id)
    people = review.round_of(status)
    index = int(request.path_params["n"])
    if not 0 <= index < len(people):
        raise NotFoundError("Nobody is at that place in the round.", hint="Go back to the extract.")
    return Turn(session_id, status, index, people)


def _title(ws: Workspace, status: ExtractStatus) -> str:
    """The extract's title as it would be published (sensitive words as […])."""
    hidden = [p.phrase for p in sensitive.list_for(ws, status.extract.session_id)]
    return redaction.redact_text(status.extract.title, hidden)


def _status(ws: Workspace, session_id: int, extract_id: int) -> ExtractStatus:
    extract = extracts.get(ws, extract_id)
    if extract.session_id != session_id:
        raise NotFoundError(f"Extract {extract_id} is not in session {session_id}.", hint="Go back.")
    return decisions.status(ws, extract)


def create_app(config: RoomConfig) -> security.Guard:
    """The room as an ASGI application, wrapped in its guard."""
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
    csrf = security.csrf_value(config.token)

    def page(name: str, language: str, **values: object) -> HTMLResponse:
        template = env.get_template(name)
        html = template.render(t=phrases(language), lang=language, csrf=csrf, **values)
        return HTMLResponse(html)

    def show_language(ws: Workspace) -> str:
        return ws.settings().language.split("-")[0]

    def home(request: Request) -> Response:
        with _workspace(config) as ws:
            listed = sessions.list_all(ws)
            if len(listed) == 1:
                return RedirectResponse(f"/session/{listed[0].id}", status_code=303)
            return page("sessions.html", show_language(ws), sessions=listed)

    def group(request: Request) -> Response:
        session_id = int(request.path_params["session"])
        with _workspace(config) as ws:
            session = sessions.get(ws, session_id)
            items = [
                {"id": s.extract.id, "title": _title(ws, s), "state": review.group_state(s)}
                for s in decisions.session_status(ws, session_id)
            ]
            return page("group.html", show_language(ws), session=session, items=items)

    def together(request: Request) -> Response:
        session_id, extract_id = int(request.path_params["session"]), int(request.path_params["extract"])
        with _workspace(config) as ws:
            status = _status(ws, session_id, extract_id)
            if not status.content.rendered:
                _start_rendering(config, extract_id)
                progress = config.rendering.get(extract_id, "")
                return page(
                    "preparing.html",
                    show_language(ws),
                    session_id=session_id,
                    title=_title(ws, status),
                    extract=status.extract,
                    progress=progress,
                )
            rendering = anonymise.render(
                ws, status.extract, voices=config.voices, models=config.models, content=status.content
            )
            lines = [(line.speaker, " ".join(w.text for w in line.words)) for line in rendering.lines]
            people = [_person_view(i, p, ws) for i, p in enumerate(review.round_of(status))]
            return page(
                "together.html",
                show_language(ws),
                session_id=session_id,
                title=_title(ws, status),
                extract=status.extract,
                lines=lines,
                people=people,
                state=review.group_state(status),
                changed=request.query_params.get("changed") == "1",
            )

    def audio(request: Request) -> Response:
        session_id, extract_id = int(request.path_params["session"]), int(request.path_params["extract"])
        with _workspace(config) as ws:
            status = _status(ws, session_id, extract_id)
            if not status.content.rendered:
                return Response(status_code=404)
            path = ws.renderings_dir / f"{status.content.render_key}.wav"
        # FileResponse answers HTTP ranges; the guard adds Cache-Control: no-store.
        return FileResponse(path, media_type="audio/wav")

    def her_screen(template: str) -> Callable[[Request], Response]:
        """A screen of one person's turn, in her language (pass, ask, more, thanks)."""

        def screen(request: Request) -> Response:
            with _workspace(config) as ws:
                turn = _turn(request, ws)
                last = turn.index == len(turn.people) - 1
                return page(
                    template,
                    turn.language(ws),
                    session_id=turn.session_id,
                    extract=turn.status.extract,
                    person=_person_view(turn.index, turn.person, ws),
                    heard=turn.status.fingerprint,
                    last=last,
                    following=None if last else turn.index + 1,
                    recommended=protection.RECOMMENDED,
                )

        return screen

    async def choose(request: Request) -> Response:
        """Her choice of protection, made on her own screen (disguise only with its warning
        acknowledged). It changes what would be broadcast: the group listens again."""
        form = await request.form()
        if not security.csrf_ok(config.token, _text(form.get("csrf"))):
            return Response("Refused: the form's security value is missing or wrong.", status_code=403)
        mode = _text(form.get("mode")) or ""
        if mode not in protection.MODES:
            return Response("Unknown protection.", status_code=400)
        return await run_in_threadpool(_choose, request, mode, _text(form.get("reduced")) == "yes")

    def _choose(request: Request, mode: str, reduced: bool) -> Response:
        with _workspace(config) as ws:
            turn = _turn(request, ws)
            where = f"/session/{turn.session_id}/extract/{turn.status.extract.id}"
            current = protection.get(ws, turn.person.id)
            if current.mode == mode:
                return RedirectResponse(f"{where}/ask/{turn.index}", status_code=303)
            voice = current.voice if current.chosen else None
            protection.set_mode(ws, turn.person.pseudonym, mode, voice, reduced=reduced)
        return RedirectResponse(f"{where}?changed=1", status_code=303)

    async def record(request: Request) -> Response:
        form = await request.form()
        if not security.csrf_ok(config.token, _text(form.get("csrf"))):
            return Response("Refused: the form's security value is missing or wrong.", status_code=403)
        reply = ANSWERS.get(_text(form.get("answer")) or "")
        heard = _text(form.get("heard")) or ""
        if reply is None:
            return Response("Unknown answer.", status_code=400)
        return await run_in_threadpool(_record, request, reply, heard)

    def _record(request: Request, reply: review.Answer, heard: str) -> Response:
        with _workspace(config) as ws:
            turn = _turn(request, ws)
            where = f"/session/{turn.session_id}/extract/{turn.status.extract.id}"
            witness = decisions.resolve_witness(ws, turn.session_id, None)
            try:
                review.answer(ws, turn.status.extract.id, turn.person, reply, heard=heard, witness=witness)
            except decisions.ExtractChanged:
                return RedirectResponse(f"{where}?changed=1", status_code=303)
        # The same next screen whatever she answered; her answer is in no address.
        return RedirectResponse(f"{where}/thanks/{turn.index}", status_code=303)

    def prompt(request: Request) -> Response:
        language, key = request.path_params["language"], request.path_params["key"]
        if language not in ("en", "fr"):
            return Response(status_code=404)
        try:
            data = prompts.prompt_wav(config.voices, language, key)
        except KeyError:
            return Response(status_code=404)
        return Response(data, media_type="audio/wav")

    routes = [
        Route("/", home),
        Route("/session/{session:int}", group),
        Route("/session/{session:int}/extract/{extract:int}", together),
        Route("/session/{session:int}/extract/{extract:int}/audio", audio),
        Route("/session/{session:int}/extract/{extract:int}/pass/{n:int}", her_screen("pass.html")),
        Route("/session/{session:int}/extract/{extract:int}/ask/{n:int}", her_screen("ask.html")),
        Route("/session/{session:int}/extract/{extract:int}/ask/{n:int}", record, methods=["POST"]),
        Route("/session/{session:int}/extract/{extract:int}/ask/{n:int}/more", her_screen("more.html")),
        Route(
            "/session/{session:int}/extract/{extract:int}/ask/{n:int}/protection", her_screen("protect.html")
        ),
        Route(
            "/session/{session:int}/extract/{extract:int}/ask/{n:int}/protection", choose, methods=["POST"]
        ),
        Route("/session/{session:int}/extract/{extract:int}/thanks/{n:int}", her_screen("thanks.html")),
        Route("/prompt/{language}/{key}", prompt),
        *workbench.routes(lambda: _workspace(config), config.token, page),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]

    async def error(request: Request, exc: Exception) -> Response:
        message = exc.message if isinstance(exc, PodcastError) else "Something went wrong."
        hint = exc.hint if isinstance(exc, PodcastError) else "Go back and try again."
        return HTMLResponse(
            env.get_template("error.html").render(message=message, hint=hint, lang="en", t=phrases("en")),
            status_code=404 if isinstance(exc, NotFoundError) else 400,
        )

    app = Starlette(routes=routes, exception_handlers={PodcastError: error})
    return security.Guard(app, token=config.token, port=config.port)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _start_rendering(config: RoomConfig, extract_id: int) -> None:
    """Render the extract's protected audio in the background (once), reporting its progress."""
    with config.lock:
        if extract_id in config.rendering:
            return
        config.rendering[extract_id] = "…"

    def work() -> None:
        try:
            with _workspace(config) as ws:
                anonymise.render(
                    ws,
                    extracts.get(ws, extract_id),
                    voices=config.voices,
                    models=config.models,
                    on_step=lambda text: config.rendering.__setitem__(extract_id, text),
                )
        except PodcastError as exc:
            config.rendering[extract_id] = f"{exc.message} {exc.hint or ''}"
            return
        with config.lock:
            config.rendering.pop(extract_id, None)

    threading.Thread(target=work, name=f"render-{extract_id}", daemon=True).start()
