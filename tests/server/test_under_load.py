"""Many people at once: the server answers every request and never locks up.

Wave 1's server stopped answering for good at 15 concurrent signed-in page requests:
a page dependency queried the database on the event loop, and once the connection
pool was taken the loop waited for a connection only the loop could give back.
"""

import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from pdca.services import accounts
from pdca.settings import Settings
from pdca.web.app import create_app
from tests.conftest import Clock, Org
from tests.live import serving
from tests.personas import PASSWORD
from tests.services.builders_services import a_cycle_in_do

CONCURRENT = 64
PAGES = ("/board", "/cycles", "/problems", "/kpis", "/profile")


def _signed_in(url: str, email: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=60, follow_redirects=True)
    response = client.post("/login", data={"email": email, "password": PASSWORD, "next": "/board"})
    response.raise_for_status()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert csrf, "the board carries no CSRF token"
    return client, csrf.group(1)


def test_sixty_four_people_at_once_all_get_an_answer(
    settings: Settings, engine, clock: Clock, org: Org, as_user
) -> None:
    a_cycle_in_do(org, as_user, clock)
    token = accounts.create_token(as_user(None), org.mia.id, name="load").secret
    # A small pool makes the old deadlock certain: far more requests than connections.
    app = create_app(settings.model_copy(update={"db_pool_size": 5}), clock=clock)
    with serving(app) as server:
        browser, csrf = _signed_in(server.url, org.fiona.email)
        cookies = dict(browser.cookies)
        api = {"Authorization": f"Bearer {token}"}

        def one(i: int) -> tuple[str, int]:
            with httpx.Client(base_url=server.url, timeout=60, cookies=cookies) as client:
                kind = i % 4
                if kind == 0:
                    path = PAGES[i % len(PAGES)]
                    return path, client.get(path).status_code
                if kind == 1:
                    # An unsafe page request: the CSRF check reads the posted form.
                    response = client.post(
                        "/board/views", data={"csrf_token": csrf, "name": f"v{i}", "query": ""}
                    )
                    return "POST /board/views", response.status_code
                if kind == 2:
                    return "/api/v1/actions", client.get(
                        "/api/v1/actions?limit=50", headers=api
                    ).status_code
                return "/healthz", client.get("/healthz").status_code

        with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
            answers = list(pool.map(one, range(CONCURRENT)))
        browser.close()
    assert len(answers) == CONCURRENT
    wrong = [(what, status) for what, status in answers if status not in (200, 303)]
    assert not wrong, f"requests that did not succeed: {wrong}"


@pytest.mark.parametrize("limit", [1])
def test_a_saturated_server_says_busy_with_retry_after(
    settings: Settings, engine, clock: Clock, limit: int
) -> None:
    """Past its bound a process answers 503 at once, with when to come back."""
    from pdca.web.middleware import InFlightLimit

    app = create_app(settings.model_copy(update={"max_requests_in_flight": limit}), clock=clock)
    with serving(app) as server:
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200
        middleware = _in_flight_limit(server.server)
        assert isinstance(middleware, InFlightLimit)
        # The first request's own count may still be on its way down after its answer.
        deadline = time.monotonic() + 5
        while middleware.in_flight and time.monotonic() < deadline:
            time.sleep(0.01)
        middleware.in_flight = limit  # as if `limit` requests were still being served
        try:
            response = httpx.get(server.url + "/healthz", timeout=10)
        finally:
            middleware.in_flight = 0
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "2"
        assert response.json()["detail"] == "The server is busy; try again in a moment."
        assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200


def _in_flight_limit(server) -> object:
    layer = server.config.loaded_app
    while layer is not None:
        if type(layer).__name__ == "InFlightLimit":
            return layer
        layer = getattr(layer, "app", None) or getattr(layer, "middleware_stack", None)
    return None


def test_error_pages_are_drawn_off_the_event_loop(settings: Settings, engine) -> None:
    """An error page draws the navigation bar, which queries the database; a handler that
    is a coroutine would run that query on the event loop (habit 11)."""
    import inspect

    app = create_app(settings)
    coroutines = [
        getattr(handler, "__name__", repr(handler))
        for handler in app.exception_handlers.values()
        if inspect.iscoroutinefunction(handler) and handler.__module__.startswith("pdca")
    ]
    assert coroutines == []
