"""Browser tests: the real app on a real port, driven by Debian's Chromium through Playwright.

Everything stays on this machine. Chromium is the system's (never a downloaded one),
started without its background services; htmx comes from the vendored copy under
/static, checked against the same pinned SRI hash the CDN copy would be; and every
request a page makes to another host is aborted and fails the test.

Each test gets its own database (tests/conftest.py), its own server on a free port
(uvicorn in a thread, telling the time by the test clock) and fresh browser
contexts, one per person, with or without JavaScript. Chromium itself is shared.
"""

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, sync_playwright
from sqlalchemy.engine import Engine
from sqlmodel import Session

from pdca.models import User
from pdca.services import actions
from pdca.settings import HTMX_VERSION, Settings
from pdca.web.app import create_app
from tests.conftest import Clock, Org
from tests.live import LiveServer, serving
from tests.personas import PASSWORD
from tests.services.builders_services import a_cycle_in_do

CHROMIUM = os.environ.get("PDCA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HTMX_LOCAL = f"/static/vendor/htmx-{HTMX_VERSION}.min.js"
ARTIFACTS = Path(__file__).parent / "artifacts"
# A browser test that waits longer than this for one thing has found a bug, not a slow page
# (with both database passes side by side on two cores, a page can take a few seconds).
TIMEOUT_MS = 10_000


# --- Chromium, once for all the browser tests -----------------------------------------


@pytest.fixture(scope="package")  # closed when the browser tests are done
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"no Chromium at {CHROMIUM} (apt-get install chromium, or set PDCA_TEST_CHROMIUM)"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# --- the server -------------------------------------------------------------------------


@pytest.fixture
def live_settings(settings: Settings) -> Settings:
    """The test's settings, with htmx served by the app itself (same file, same SRI hash)."""
    return settings.model_copy(update={"htmx_url": HTMX_LOCAL})


@pytest.fixture
def live_server(live_settings: Settings, engine: Engine, clock: Clock) -> Iterator[LiveServer]:
    """The app on 127.0.0.1 and a free port, on the test's own (migrated) database."""
    with serving(create_app(live_settings, clock=clock)) as server:
        yield server


# --- browsers, one context per person ---------------------------------------------------


@dataclass
class Visit:
    """What one browser context saw: requests that tried to leave the machine, script errors."""

    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def open_browser(chromium: Browser, live_server: LiveServer) -> Iterator[Callable[..., Page]]:
    """open_browser(js=True) -> a page in a fresh browser context (its own cookies).

    `js=False` is a browser with JavaScript switched off: forms post, answers redirect.
    """
    contexts: list[tuple[BrowserContext, Visit]] = []
    here = urlsplit(live_server.url).netloc

    def open_(js: bool = True, locale: str = "en-GB", phone: bool = False) -> Page:
        context = chromium.new_context(
            base_url=live_server.url,
            java_script_enabled=js,
            locale=locale,
            viewport={"width": 390, "height": 844} if phone else {"width": 1440, "height": 900},
            has_touch=phone,
            is_mobile=phone,
        )
        context.set_default_timeout(TIMEOUT_MS)
        # A first page load in a fresh browser on a busy two-core machine (both database
        # passes at once) can take longer than any wait inside a page should.
        context.set_default_navigation_timeout(4 * TIMEOUT_MS)
        visit = Visit()

        def stay_local(route: Any) -> None:
            if urlsplit(route.request.url).netloc == here:
                route.continue_()
            else:
                visit.outside.append(route.request.url)
                route.abort()

        context.route("**/*", stay_local)
        page = context.new_page()
        page.on("pageerror", lambda error: visit.errors.append(str(error)))
        page.on(
            "console",
            lambda message: (
                visit.errors.append(message.text) if "integrity" in message.text.lower() else None
            ),
        )
        contexts.append((context, visit))
        return page

    yield open_
    for context, _visit in contexts:
        context.close()
    outside = [url for _context, visit in contexts for url in visit.outside]
    errors = [error for _context, visit in contexts for error in visit.errors]
    assert not outside, f"the page tried to leave the machine: {outside}"
    assert not errors, f"errors in the page: {errors}"


@pytest.fixture(params=[True, False], ids=["js", "no-js"])
def js(request: pytest.FixtureRequest) -> bool:
    """Run the test twice: with htmx swapping fragments, and with JavaScript switched off."""
    return bool(request.param)


def sign_in(page: Page, user: User, next: str = "/board", password: str = PASSWORD) -> None:
    """Sign in through /login as a person would, and land on `next` (a path and query)."""
    page.goto("/login?" + urlencode({"next": next}))
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: local_part(url) == next)


def local_part(url: str) -> str:
    """/board?dept=IT of http://127.0.0.1:1234/board?dept=IT"""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def card_keys(page: Page) -> list[str]:
    """The keys of the cards on the board, in the order shown (A-1, A-3, …)."""
    return page.locator("#board article.card-item .key").all_inner_texts()


def expect_cards(page: Page, keys: list[str], timeout_ms: int = 10_000) -> None:
    """Wait until the board shows exactly these cards, in any order: after htmx swaps a
    board, the address can change a moment before the new cards are in place."""
    waited = 0
    while sorted(card_keys(page)) != sorted(keys) and waited < timeout_ms:
        page.wait_for_timeout(100)
        waited += 100
    assert sorted(card_keys(page)) == sorted(keys)


def column_count(page: Page, status: str) -> Locator:
    return page.locator(f"[data-testid=count-{status}]")


def card_in(page: Page, status: str, action_id: int) -> Locator:
    """The card of action `action_id`, if it sits in the column of `status`."""
    return page.locator(f'#board td[data-status="{status}"] #card-{action_id}')


# --- data --------------------------------------------------------------------------------


@dataclass
class Story:
    """Fiona leads a PDCA cycle in Do with three actions in two departments.

    Customer Service: `rota` (Mia), three days overdue.
    IT: `ivr` (Max), due in four days, and `prompt` (Max), seven days overdue.
    """

    org: Org
    cycle_id: int
    rota: int
    ivr: int
    prompt: int


@pytest.fixture
def story(org: Org, as_user: Any, clock: Clock, session: Session) -> Story:
    built = a_cycle_in_do(org, as_user, clock)  # deadlines in 7 (CS) and 14 (IT) days
    prompt = actions.add_action(
        as_user(org.fiona),
        built.cycle.id,  # type: ignore[arg-type]
        title="Shorten the IVR prompt",
        department_id=org.it,
        owner_id=org.max.id,
        deadline=clock.today() + timedelta(days=3),
    )
    clock.advance(days=10)  # ten days later: two actions are overdue, one is due soon
    idle(session)
    return Story(org, built.cycle.id, built.rota.id, built.ivr.id, prompt.id)  # type: ignore[arg-type]


def idle(session: Session) -> None:
    """End the test's own transaction: on SQLite a BEGIN takes the write lock (BEGIN
    IMMEDIATE), which would make the server's writes wait."""
    session.close()


def artifact(name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / name


# --- accessibility: axe-core, vendored from its npm package (tests stay offline) ----------

AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"


def accessibility_problems(page: Page) -> list[str]:
    """Serious and critical WCAG 2 A/AA violations axe-core finds on the page as it stands.

    Run through page.evaluate (not a <script> tag) so a strict Content-Security-Policy
    does not stop the checker itself. Needs a browser with JavaScript.
    """
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa']}})"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
