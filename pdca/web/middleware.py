"""Pure ASGI middleware: back-pressure (503 at once rather than an unbounded queue) and
the security headers of every answer, and the limit on request bodies."""

import json
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pdca.web.errors import type_uri

RETRY_AFTER_SECONDS = 2


class InFlightLimit:
    """At most `limit` requests in progress; the next ones get 503 with Retry-After.

    Pure ASGI (no BaseHTTPMiddleware): it only counts, so it costs nothing per request
    and never touches the database.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            await _busy(send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


async def _busy(send: Send) -> None:
    body = json.dumps(
        {
            "type": type_uri("busy"),
            "title": "Service unavailable",
            "status": 503,
            "detail": "The server is busy; try again in a moment.",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _off_site(url: str) -> str:
    """An absolute URL without its query or fragment ('' for a path on this site)."""
    parts = urlsplit(url)
    if not (parts.scheme and parts.netloc):
        return ""
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def content_security_policy(htmx_url: str) -> str:
    # Scripts only from this site and the one pinned htmx file (its SRI hash pins the
    # bytes); no inline scripts, handlers or style attributes anywhere in the templates.
    # The whole URL, not its origin: a CDN such as jsDelivr serves any npm package, so
    # allowing its origin would let an injected <script src> load whatever it likes.
    scripts = " ".join(filter(None, ["'self'", _off_site(htmx_url)]))
    return (
        f"default-src 'self'; script-src {scripts}; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )


class SecurityHeaders:
    """Security headers on every answer (pure ASGI, no BaseHTTPMiddleware).

    CSP, no framing, no MIME sniffing, referrers only to this site, HSTS when the
    cookies are Secure (the site is served over HTTPS), and `Cache-Control: no-store`
    on what depends on who asks: signed-in pages, fragments and the API (unless the
    route set its own Cache-Control). Static files keep their caching.
    """

    def __init__(self, app: ASGIApp, htmx_url: str, hsts: bool) -> None:
        self.app = app
        self.fixed = [
            (b"content-security-policy", content_security_policy(htmx_url).encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
        ]
        if hsts:
            self.fixed.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        static = path.startswith("/static/")
        # FastAPI's Swagger page is inline script from a CDN: it keeps the other headers.
        fixed = self.fixed[1:] if path == "/api/v1/docs" else self.fixed

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in fixed if h[0] not in present)
                if not static and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class BodyTooLarge(HTTPException):
    """Raised while a body streams in past its limit (FastAPI passes HTTPExceptions on)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than the limit of {limit} bytes.")


class BodyLimit:
    """Bodies past a limit get 413 before they are read (Content-Length) or as soon as
    the streamed chunks pass it, so no request can fill the memory (pure ASGI).

    Evidence uploads (paths ending in /evidence) have their own, the file limit plus
    room for the multipart framing.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, upload_max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes + 64 * 1024

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "").rstrip("/")
        limit = self.upload_max_bytes if path.endswith("/evidence") else self.max_bytes
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(send, limit)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if started:
                raise
            await _too_large(send, limit)


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "type": type_uri("too-large"),
            "title": "Content too large",
            "status": 413,
            "detail": f"The request body is larger than the limit of {limit} bytes.",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


RouteTable = list[tuple[re.Pattern[str], frozenset[str]]]


def route_table(routes: Sequence[Any]) -> RouteTable:
    """(path regex, methods) of every route, those of included routers too."""
    table = []
    for context in iter_route_contexts(routes):
        methods = getattr(context.original_route, "methods", None)
        if methods and context.path:
            regex, _format, _convertors = compile_path(context.path)
            table.append((regex, frozenset(methods)))
    return table


class Methods:
    """HEAD wherever GET is, and a 405 whose `Allow` names every method of the path.

    Starlette answers a method a path does not take from the first route it matched:
    GET /problems and POST /problems are two routes, so `Allow` said only GET. FastAPI
    routes do not answer HEAD at all. This looks at every route on the path instead.
    The routes are read on the first request, once the app is complete.
    """

    def __init__(self, app: ASGIApp, routes: Callable[[], Sequence[Any]]) -> None:
        self.app = app
        self.routes = routes
        self.table: RouteTable | None = None

    def allowed(self, path: str) -> set[str]:
        if self.table is None:
            self.table = route_table(self.routes())
        methods: set[str] = set()
        for regex, route_methods in self.table:
            if regex.match(path):
                methods |= route_methods
        if "GET" in methods:
            methods.add("HEAD")
        return methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowed = self.allowed(scope["path"])
        if scope["method"] == "HEAD" and "GET" in allowed:
            # The GET answer with its headers, without its body.
            await self.app({**scope, "method": "GET"}, receive, _bodiless(send))
            return
        if not allowed or scope["method"] in allowed:
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _with_allow(send, ", ".join(sorted(allowed))))


def _bodiless(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b"", "more_body": message.get("more_body", False)}
        await send(message)

    return sending


def _with_allow(send: Send, allow: str) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 405:
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
            message = {**message, "headers": [*headers, (b"allow", allow.encode())]}
        await send(message)

    return sending
