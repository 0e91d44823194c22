"""Local-server hygiene for the room: loopback only, a token, a Host check, CSRF, strict headers.

The token is in the address the CLI prints (as Jupyter does); the first request trades it
for a cookie (HttpOnly, SameSite=Strict) and is redirected to the same page without it, so
it does not stay in the address bar. Every state-changing request carries a CSRF value
derived from the token and, when the browser sends one, an Origin equal to the room's.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

COOKIE = "podcast_room"
HEADERS = (
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
        b"script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # "no-referrer" makes form posts say Origin: null
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_value(token: str) -> str:
    """The CSRF value forms carry: derived from the token, unknowable to other sites."""
    return hmac.new(token.encode(), b"csrf", hashlib.sha256).hexdigest()


def csrf_ok(token: str, value: str | None) -> bool:
    return value is not None and hmac.compare_digest(csrf_value(token), value)


class Guard:
    """ASGI middleware: refuses foreign hosts and calls without the token; adds headers."""

    def __init__(self, app: ASGIApp, *, token: str, port: int) -> None:
        self.app = app
        self.token = token
        self.hosts = {f"127.0.0.1:{port}".encode(), f"localhost:{port}".encode()}
        self.origins = {b"http://" + host for host in self.hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if headers.get(b"host") not in self.hosts:
            await _plain(send, 400, "This page is only served to this computer's own address.")
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        if "token" in query:
            if not hmac.compare_digest(query["token"], self.token):
                await _plain(send, 403, "Wrong address: open the one 'podcast room' printed.")
                return
            rest = urlencode({k: v for k, v in query.items() if k != "token"})
            location = scope["path"] + (f"?{rest}" if rest else "")
            await _redirect(send, location, cookie=self.token)
            return
        cookie = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1"))
        sent = cookie[COOKIE].value if COOKIE in cookie else ""
        if not hmac.compare_digest(sent, self.token):
            await _plain(send, 403, "Open the address that 'podcast room' printed (it holds a key).")
            return
        if scope["method"] not in ("GET", "HEAD"):
            origin = headers.get(b"origin")
            if origin is not None and origin not in self.origins:
                await _plain(send, 403, "Refused: this request did not come from the room's page.")
                return

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *(h for h in message.get("headers", []) if h[0].lower() != b"cache-control"),
                    *HEADERS,
                ]
            await send(message)

        await self.app(scope, receive, secured)


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), *HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Send, location: str, *, cookie: str) -> None:
    set_cookie = f"{COOKIE}={cookie}; HttpOnly; SameSite=Strict; Path=/".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", location.encode("latin-1")), (b"set-cookie", set_cookie), *HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": b""})
