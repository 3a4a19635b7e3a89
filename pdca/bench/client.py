"""HTTP for the bench: keep-alive connections (standard library only), timed requests, load.

Only URLs and headers are relied on, never the markup, except two regular expressions
that find the CSRF token (a hidden `csrf_token` field or the `hx-headers` JSON).
"""

import http.client
import json
import re
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

CSRF_PATTERNS = (
    re.compile(r'name="csrf_token"\s+value="([^"]+)"'),
    re.compile(r'value="([^"]+)"\s+name="csrf_token"'),
    re.compile(r'X-CSRF-Token(?:"|&#34;|&quot;)\s*:\s*(?:"|&#34;|&quot;)([^"&]+)'),
)


class BenchError(Exception):
    """The app answered in a way the bench cannot measure (a failed sign-in, a 500)."""


@dataclass
class Answer:
    status: int
    body: bytes
    seconds: float
    headers: http.client.HTTPMessage

    def json(self) -> Any:
        return json.loads(self.body)


class Http:
    """One keep-alive connection to the bench server, with the cookies and headers it was given."""

    def __init__(self, port: int, headers: dict[str, str] | None = None) -> None:
        self.port = port
        self.headers = dict(headers or {})
        self.cookies: dict[str, str] = {}
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = {**self.headers, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        began = time.perf_counter()
        try:
            self._conn.request(method, path, body=body, headers=sent)
            response = self._conn.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            # The server closed a kept-alive connection: once more on a new one.
            self._conn.close()
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
            began = time.perf_counter()
            self._conn.request(method, path, body=body, headers=sent)
            response = self._conn.getresponse()
            data = response.read()
        seconds = time.perf_counter() - began
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value in ("", '""'):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return Answer(response.status, data, seconds, response.headers)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return self.request("GET", path, headers=headers)

    def post_form(
        self, path: str, fields: dict[str, str], headers: dict[str, str] | None = None
    ) -> Answer:
        return self.request(
            "POST",
            path,
            body=urlencode(fields).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        )

    def post_json(self, path: str, data: Any, headers: dict[str, str] | None = None) -> Answer:
        return self.request(
            "POST",
            path,
            body=json.dumps(data).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )

    def close(self) -> None:
        self._conn.close()


def sign_in(port: int, email: str, password: str) -> tuple[Http, str]:
    """A signed-in browser (its cookies) and its CSRF token, found in the board page."""
    browser = Http(port)
    answer = browser.post_form("/login", {"email": email, "password": password, "next": "/board"})
    if answer.status != 303 or not browser.cookies:
        raise BenchError(f"signing in as {email} answered {answer.status}, not 303 with a cookie")
    page = browser.get("/board")
    if page.status != 200:
        raise BenchError(f"GET /board answered {page.status} after signing in")
    return browser, csrf_token(page.body.decode())


def csrf_token(html: str) -> str:
    for pattern in CSRF_PATTERNS:
        found = pattern.search(html)
        if found:
            return found.group(1)
    raise BenchError("no CSRF token in the board page (hidden csrf_token field or hx-headers)")


def expect(answer: Answer, what: str, statuses: tuple[int, ...] = (200,)) -> Answer:
    if answer.status not in statuses:
        raise BenchError(f"{what} answered {answer.status}: {answer.body[:300]!r}")
    return answer


@dataclass
class Timing:
    """Repeated single requests: the median time and the size of the last answer."""

    seconds: float
    bytes: int
    samples: int


def timed(
    call: Callable[[int], Answer], what: str, *, at_least: int, budget: float, at_most: int = 50
) -> Timing:
    """Call `call(i)` at least `at_least` times and until `budget` seconds, each checked OK."""
    times, size, began = [], 0, time.monotonic()
    for i in range(at_most):
        answer = expect(call(i), what)
        times.append(answer.seconds)
        size = len(answer.body)
        if i + 1 >= at_least and time.monotonic() - began >= budget:
            break
    return Timing(statistics.median(times), size, len(times))


@dataclass
class Load:
    """Requests answered OK per second by a few client threads over a fixed duration."""

    ok: int
    errors: int
    seconds: float

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def load(
    port: int,
    step: Callable[[Http, int, int], bool],
    *,
    seconds: float,
    threads: int = 4,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
) -> Load:
    """`step(http, thread, i)` in a loop on each thread's own keep-alive connection.

    The loop is bounded by time: every thread stops at the same deadline; the count
    is of answers that `step` judged OK.
    """
    counts = [[0, 0] for _ in range(threads)]
    ready = threading.Barrier(threads + 1)
    deadline = [0.0]

    def worker(n: int) -> None:
        client = Http(port, headers)
        client.cookies.update(cookies or {})
        ready.wait()
        i = 0
        try:
            while time.perf_counter() < deadline[0]:
                try:
                    ok = step(client, n, i)
                except (OSError, http.client.HTTPException, ValueError):
                    ok = False
                counts[n][0 if ok else 1] += 1
                i += 1
        finally:
            client.close()

    workers = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(threads)]
    for w in workers:
        w.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    ready.wait()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - began
    return Load(sum(c[0] for c in counts), sum(c[1] for c in counts), elapsed)
