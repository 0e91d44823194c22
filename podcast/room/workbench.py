"""The facilitator's workbench: the transcript in the browser, corrected while listening.

`/session/<id>/transcript` shows the lines (time, speaker, language, words to check); a click
on a word plays the take from there, through `listen.VirtualWav` (HTTP ranges over the take,
all microphones or one). Every change is one call to the domain (`sessions.editing`,
`transcripts.mark_reviewed`, `extracts.add`, `consent.sensitive`), saved at once, in the same
undo history as `transcript edit`, and checked against the line's revision the page showed.

The page speaks the show's language. Consent states shown are the group's view
(`review.group_state`): cleared, waiting or not broadcast, never who said what.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from consent import decisions, review, sensitive
from consent.fingerprint import AudioMemo
from podcast.errors import ConflictError, NotFoundError, PodcastError
from podcast.phrases import COLOURS
from podcast.room import listen, security
from podcast.workspace import Workspace
from sessions import editing, extracts, history, sessions, transcripts
from sessions import levels as levels_
from sessions.sessions import Take
from sessions.transcripts import Transcript, Utterance

Page = Callable[..., HTMLResponse]
Opener = Callable[[], Any]  # a context manager giving a Workspace


def _sensitive_words(transcript: Transcript, phrases_: list[str]) -> set[int]:
    """IDs of the words that are (part of) a sensitive phrase, within one line."""
    targets = [extracts.normalise(p).split() for p in phrases_]
    marked: set[int] = set()
    if not any(targets):
        return marked
    for line in transcript.utterances:
        tokens: list[tuple[str, int]] = [
            (token, w.id) for w in line.words for token in extracts.normalise(w.text).split()
        ]
        texts = [t for t, _ in tokens]
        for target in filter(None, targets):
            for i in range(len(texts) - len(target) + 1):
                if texts[i : i + len(target)] == target:
                    marked.update(word for _, word in tokens[i : i + len(target)])
    return marked


def _words_html(line: Utterance, marked: set[int]) -> Markup:
    """A line's words as spans (written here, not in the template: an hour holds ~15,000)."""
    spans = []
    for w in line.words:
        kind = "w" + (" doubt" if w.low_confidence else "") + (" sensitive" if w.id in marked else "")
        spans.append(
            f'<span class="{kind}" data-id="{w.id}" data-t="{w.start_s:.2f}">{escape(w.text)}</span>'
        )
    return Markup(" ".join(spans))


def _take_view(take: Take, offset: float, colours: dict[str, int]) -> dict[str, object]:
    return {
        "position": take.position,
        "offset": offset,
        "duration": take.duration_s,
        "channels": [
            {
                "channel": o.channel,
                "speaker": o.participant.id if o.participant else None,
                "name": o.participant.pseudonym if o.participant else "?",
                "colour": COLOURS[colours[o.participant.id] % len(COLOURS)]
                if o.participant and o.participant.id in colours
                else "#777777",
            }
            for o in take.owners
        ],
    }


def view(ws: Workspace, session_id: int, memo: AudioMemo | None = None) -> dict[str, object]:
    """Everything the workbench page shows, computed once per request (*memo*: audio digests
    of unchanged takes, kept between requests; the page only shows consent states)."""
    session = sessions.get(ws, session_id)
    transcript = transcripts.load(ws, session_id)
    colours = {p.id: i for i, p in enumerate(session.speakers)}
    phrases_ = sensitive.list_for(ws, session_id)
    marked = _sensitive_words(transcript, [p.phrase for p in phrases_])
    statuses = decisions.session_status(ws, session_id, memo, transcript) if transcript.complete else []
    extract_words: list[tuple[dict[str, object], set[int]]] = []
    for status in statuses:
        inside = extracts.utterances_in(transcript, status.extract)
        item = {
            "id": status.extract.id,
            "title": status.extract.title,
            "state": review.group_state(status),
            "first": None,
        }
        extract_words.append((item, {w.id for u in inside for w in u.words}))
    lines = []
    for number, line in enumerate(transcript.utterances):
        ids = {w.id for w in line.words}
        member_of: list[object] = []
        for item, words in extract_words:
            if ids & words:
                member_of.append(item["id"])
                if item["first"] is None:
                    item["first"] = line.key
        lines.append(
            {
                "n": number,
                "key": line.key,
                "rev": editing.revision(line),
                "clock": transcripts.clock(line.start_s),
                "take": line.take_position,
                "offset": line.offset_s,
                "speaker": line.speaker_id or "",
                "name": line.speaker,
                "colour": colours.get(line.speaker_id or "", -1),
                "language": line.language,
                "language_uncertain": line.language_uncertain,
                "reviewed": line.reviewed,
                "text": line.text,
                "extracts": member_of,
                "starts": [item for item, _ in extract_words if item["first"] == line.key],
                "words": _words_html(line, marked),
            }
        )
    offsets, position = [], 0.0
    for take in session.takes:
        offsets.append(_take_view(take, position, colours))
        position += take.duration_s
    languages = sorted({*ws.settings().spoken_languages, "pcm", *(u.language for u in transcript.utterances)})
    return {
        "session": session,
        "transcript": transcript,
        "lines": lines,
        "left": sum(1 for u in transcript.utterances if not u.reviewed),
        "speakers": [
            {"id": p.id, "name": p.pseudonym, "colour": i, "lead": p == session.facilitator}
            for i, p in enumerate(session.speakers)
        ],
        "languages": languages,
        "takes": offsets,
        "extracts": [item for item, _ in extract_words],
        "session_words": [p.phrase for p in phrases_ if p.session_id is not None],
        "show_words": [p.phrase for p in phrases_ if p.session_id is None],
        "can_undo": history.last(ws, session_id) is not None,
    }


def _line_json(line: Utterance | None) -> dict[str, object] | None:
    if line is None:
        return None
    return {"key": line.key, "text": line.text, "speaker": line.speaker, "rev": editing.revision(line)}


def _act(ws: Workspace, session_id: int, body: dict[str, Any]) -> dict[str, object]:
    """Apply one change asked by the page; returns what to tell the facilitator."""
    action = str(body.get("action", ""))
    key = int(body.get("key") or 0)
    base = body.get("base")
    if action == "text":
        editing.set_text(ws, session_id, key, str(body.get("text", "")), base=base)
    elif action == "speaker":
        editing.set_speaker(ws, session_id, key, body.get("speaker") or None, base=base)
    elif action == "language":
        editing.set_language(ws, session_id, key, str(body.get("language", "")), base=base)
    elif action == "split":
        editing.split(ws, session_id, key, int(body.get("word") or 0), base=base)
    elif action == "merge":
        editing.merge(
            ws, session_id, key, int(body.get("next") or 0), base=base, next_base=body.get("next_base")
        )
    elif action == "review":
        keys = [int(k) for k in body.get("keys") or []]
        transcripts.mark_reviewed(ws, session_id, keys or None)
    elif action == "undo":
        change = history.undo(ws, session_id)
        return {"notice": f"undo:{change.action}"}
    elif action == "extract":
        first, last = int(body.get("first") or 0), int(body.get("last") or 0)
        title = str(body.get("title") or "").strip() or None
        extract = extracts.add(ws, session_id, segments=(first, last), title=title)
        return {"notice": f"extract:{extract.id}"}
    elif action in ("sensitive_add", "sensitive_remove"):
        scope = session_id if body.get("scope") == "session" else None
        phrase = str(body.get("phrase", ""))
        if action == "sensitive_add":
            sensitive.add(ws, [phrase], scope)
        else:
            sensitive.remove(ws, [phrase], scope)
    else:
        raise NotFoundError(f"Unknown change {action!r}.", hint="Reload the page.")
    return {"notice": "saved"}


def routes(opener: Callable[[], Any], token: str, page: Page) -> list[Route]:
    """The workbench's routes; *opener* opens the workspace for one request."""
    memo: AudioMemo = {}

    def _language(ws: Workspace) -> str:
        return ws.settings().language.split("-")[0]

    def transcript_page(request: Request) -> Response:
        session_id = int(request.path_params["session"])
        with opener() as ws:
            values = view(ws, session_id, memo)
            if not values["lines"]:
                raise NotFoundError(
                    f"Session {session_id} has no transcript yet.",
                    hint=f"Run: podcast transcribe {session_id}",
                )
            data = {"takes": values["takes"], "session": session_id}
            # ?fragment: only the lines and the side panel, to refresh them after a change.
            name = "workbench_main.html" if "fragment" in request.query_params else "workbench.html"
            return page(name, _language(ws), data=json.dumps(data), **values)

    async def act(request: Request) -> Response:
        if not security.csrf_ok(token, request.headers.get("x-csrf")):
            return JSONResponse({"error": "Refused: the page's security value is missing or wrong."}, 403)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "The change could not be read.", "hint": "Reload the page."}, 400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "The change could not be read.", "hint": "Reload the page."}, 400)
        session_id = int(request.path_params["session"])

        def work() -> Response:
            with opener() as ws:
                try:
                    return JSONResponse(_act(ws, session_id, body))
                except editing.LineChanged as exc:
                    return JSONResponse(
                        {"conflict": exc.message, "hint": exc.hint, "current": _line_json(exc.current)}, 409
                    )
                except ConflictError as exc:
                    return JSONResponse({"error": exc.message, "hint": exc.hint}, 409)
                except PodcastError as exc:
                    return JSONResponse({"error": exc.message, "hint": exc.hint}, 400)
                except (TypeError, ValueError):
                    return JSONResponse(
                        {"error": "The change could not be read.", "hint": "Reload the page."}, 400
                    )

        return await run_in_threadpool(work)

    def _take(ws: Workspace, request: Request) -> Take:
        session = sessions.get(ws, int(request.path_params["session"]))
        position = int(request.path_params["take"])
        take = next((t for t in session.takes if t.position == position), None)
        if take is None:
            raise NotFoundError(f"Session {session.id} has no take {position}.", hint="Reload the page.")
        return take

    def audio(request: Request) -> Response:
        with opener() as ws:
            take = _take(ws, request)
            path = sessions.raw_path(ws, take)
        choice = request.query_params.get("channel", "mix")
        try:
            wav = listen.VirtualWav.open(path, None if choice == "mix" else int(choice) - 1)
        except ValueError:
            return Response("No such microphone.", status_code=404)
        try:
            wanted = listen.parse_range(request.headers.get("range"), wav.size)
        except ValueError:
            return Response(status_code=416, headers={"content-range": f"bytes */{wav.size}"})
        first, last = wanted or (0, wav.size - 1)
        headers = {"accept-ranges": "bytes", "content-length": str(last - first + 1)}
        if wanted is not None:
            headers["content-range"] = f"bytes {first}-{last}/{wav.size}"
        if request.method == "HEAD":
            return Response(status_code=206 if wanted else 200, headers=headers, media_type="audio/wav")
        return StreamingResponse(
            wav.read(first, last), status_code=206 if wanted else 200, headers=headers, media_type="audio/wav"
        )

    measuring: set[int] = set()
    failed: dict[int, str] = {}  # take ID -> why its levels could not be measured
    guard = threading.Lock()

    def _measure(take: Take) -> None:
        try:
            with opener() as ws:
                levels_.measure(ws, take)
        except (PodcastError, OSError, RuntimeError) as exc:  # a damaged take: say so, once
            failed[take.id] = str(exc)
        finally:
            with guard:
                measuring.discard(take.id)

    def levels(request: Request) -> Response:
        """The take's level strip, or 202 while it is measured (once, in the background)."""
        with opener() as ws:
            take = _take(ws, request)
            found = levels_.cached(ws, take)
        if found is None and take.archived:
            return JSONResponse({"error": "This take's raw audio is sealed or gone."}, status_code=404)
        if found is None and take.id in failed:
            return JSONResponse({"error": f"The take cannot be read: {failed[take.id]}"}, status_code=404)
        if found is None:
            with guard:
                if take.id not in measuring:
                    measuring.add(take.id)
                    threading.Thread(
                        target=_measure, args=(take,), name=f"levels-{take.id}", daemon=True
                    ).start()
            return JSONResponse({"measuring": True}, status_code=202)
        return JSONResponse(
            {
                "per_second": levels_.PER_SECOND,
                "duration_s": take.duration_s,
                "channels": [found[:, c].tolist() for c in range(found.shape[1])],
            }
        )

    return [
        Route("/session/{session:int}/transcript", transcript_page),
        Route("/session/{session:int}/transcript/change", act, methods=["POST"]),
        Route("/session/{session:int}/take/{take:int}/listen.wav", audio, methods=["GET", "HEAD"]),
        Route("/session/{session:int}/take/{take:int}/levels", levels),
    ]
