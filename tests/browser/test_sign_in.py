"""Signing in: a visitor is sent to /login and, once signed in, back where they were going."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Story
from tests.personas import PASSWORD

pytestmark = pytest.mark.browser


def test_a_signed_out_visitor_opening_the_board_signs_in_and_is_back_on_the_board(
    open_browser, story: Story, js: bool
) -> None:
    page = open_browser(js=js)

    page.goto("/board?dept=IT")

    expect(page).to_have_url(re.compile(r"/login\?next=/board"))
    expect(page.get_by_role("heading", name="Sign in to pdca")).to_be_visible()
    page.get_by_label("E-mail").fill(story.org.mia.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # Back on the board she asked for, filters and all.
    expect(page).to_have_url(re.compile(r"/board\?dept=IT$"))
    expect(page.get_by_role("heading", name="Action board")).to_be_visible()
    expect(page.get_by_role("link", name="Mia Member")).to_be_visible()
    expect(page.locator("#lane-IT")).to_be_visible()
    expect(page.locator("#lane-CS")).to_have_count(0)


def test_a_wrong_password_is_shown_next_to_the_form(open_browser, story: Story, js: bool) -> None:
    page = open_browser(js=js)
    page.goto("/board")

    page.get_by_label("E-mail").fill(story.org.mia.email)
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Sign in").click()

    error = page.get_by_role("alert")
    expect(error).to_have_text("The e-mail or password is wrong.")
    expect(page).to_have_url(re.compile(r"/login"))
    # The message belongs to the form: it is in the same card, and the field points at it.
    expect(page.locator("section.card").get_by_role("alert")).to_be_visible()
    expect(page.get_by_label("E-mail")).to_have_attribute("aria-describedby", "login-error")
    expect(page.get_by_label("E-mail")).to_have_value(story.org.mia.email)
    # She can still go on to sign in, and then lands on the board she asked for.
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/board$"))
