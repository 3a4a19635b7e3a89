"""Pure ASGI middleware: back-pressure (503 at once rather than an unbounded queue) and
the security headers of every answer."""

import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
            "type": "about:blank",
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


def _origin(url: str) -> str:
    """The scheme and host of an absolute URL ('' for a path on this site)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(htmx_url: str) -> str:
    # Scripts only from this site and the pinned htmx's origin (its SRI hash pins the
    # file); no inline scripts, handlers or style attributes anywhere in the templates.
    scripts = " ".join(filter(None, ["'self'", _origin(htmx_url)]))
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
