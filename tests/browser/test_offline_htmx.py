"""htmx comes from the app's own copy of the pinned file, and the browser checks its hash.

The vendored file is byte for byte the one the SRI hash in settings was computed from,
so pointing `htmx_url` at it changes where the browser fetches htmx, not what it trusts.
"""

import pytest
from playwright.sync_api import Browser, expect

from pdca.settings import HTMX_SRI, HTMX_VERSION
from tests.browser.conftest import HTMX_LOCAL, LiveServer, Story, sign_in

pytestmark = pytest.mark.browser


def test_pages_load_htmx_from_the_vendored_copy_and_its_integrity_checks_out(
    open_browser, story: Story
) -> None:
    page = open_browser(js=True)
    with page.expect_response(lambda r: r.url.endswith(HTMX_LOCAL)) as fetched:
        sign_in(page, story.org.mia)

    assert fetched.value.status == 200
    script = page.locator("script[integrity]")
    expect(script).to_have_attribute("src", HTMX_LOCAL)
    expect(script).to_have_attribute("integrity", HTMX_SRI)
    expect(script).to_have_attribute("crossorigin", "anonymous")
    # The browser ran it, so the hash matched.
    assert page.evaluate("window.htmx && htmx.version") == HTMX_VERSION


def test_a_copy_of_htmx_that_does_not_match_the_pinned_hash_is_not_run(
    chromium: Browser, live_server: LiveServer
) -> None:
    context = chromium.new_context(base_url=live_server.url)
    try:
        page = context.new_page()
        complaints: list[str] = []
        page.on("console", lambda message: complaints.append(message.text))

        def tampered(route) -> None:
            original = route.fetch()
            route.fulfill(response=original, body=original.body() + b"\n/* changed */\n")

        page.route(f"**{HTMX_LOCAL}", tampered)
        page.goto("/login")
        page.wait_for_load_state("load")

        assert page.evaluate("typeof window.htmx") == "undefined"
        assert any("integrity" in text for text in complaints), complaints
    finally:
        context.close()


def test_with_the_cdn_out_of_reach_the_vendored_copy_takes_over_and_filters_swap(
    chromium: Browser, settings, engine, clock, story: Story
) -> None:
    """The app as deployed (htmx from the pinned CDN URL), in a browser that cannot reach it."""
    from pdca.web.app import create_app
    from tests.live import serving

    assert settings.htmx_url.startswith("https://cdn.jsdelivr.net/")
    with serving(create_app(settings, clock=clock)) as server:
        context = chromium.new_context(base_url=server.url)
        context.set_default_timeout(5_000)
        try:
            blocked: list[str] = []

            def offline(route) -> None:  # type: ignore[no-untyped-def]
                if route.request.url.startswith(server.url):
                    route.continue_()
                else:
                    blocked.append(route.request.url)
                    route.abort()

            context.route("**/*", offline)
            page = context.new_page()
            sign_in(page, story.org.hanna, next="/problems")

            assert any("cdn.jsdelivr.net" in url for url in blocked)
            assert page.evaluate("window.htmx && htmx.version") == HTMX_VERSION
            # The filters swap the list in place (htmx), not by reloading the page.
            page.evaluate("window.notReloaded = true")
            with page.expect_response(lambda r: "/problems?" in r.url):
                page.get_by_label("Search").press_sequentially("lunchtime")
            expect(page.locator("#problem_list")).to_contain_text("lunchtime")
            assert page.evaluate("window.notReloaded") is True
        finally:
            context.close()
