"""A meeting-room screen refreshes its board by itself, but never under someone's hands."""

import pytest
from playwright.sync_api import expect

from pdca.settings import Settings
from tests.browser.conftest import HTMX_LOCAL, Story, sign_in


@pytest.fixture
def live_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"htmx_url": HTMX_LOCAL, "board_refresh_seconds": 1})


def test_the_board_refreshes_itself_and_pauses_while_a_card_form_is_open(
    open_browser, story: Story
) -> None:
    page = open_browser(js=True)
    complaints: list[str] = []
    page.on("console", lambda m: complaints.append(m.text) if m.type == "error" else None)
    sign_in(page, story.org.fiona)
    polls: list[str] = []
    page.on(
        "request",
        lambda r: (
            polls.append(r.url) if r.headers.get("hx-request") and "/board" in r.url else None
        ),
    )

    page.wait_for_timeout(2500)
    assert len(polls) >= 1, "the board did not refresh itself"

    page.locator(f"#card-{story.rota}").get_by_role("link", name="Reassign or re-date").click()
    expect(page.locator("form.card-form")).to_be_visible()
    polls.clear()
    page.wait_for_timeout(2500)

    assert [url for url in polls if "/edit" not in url] == [], "it refreshed under an open form"
    expect(page.locator("form.card-form")).to_be_visible()  # still there, nothing lost
    assert not [c for c in complaints if "Content Security Policy" in c], complaints
