"""Filtering the board: by the filter form, or by typing in the search box.

The story's cards: A-1 in Customer Service (overdue), A-2 in IT (due soon) and
A-3 in IT (overdue). Filters end up in the URL, so a filtered board can be shared.
"""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Story, column_count, expect_cards, local_part, sign_in

pytestmark = pytest.mark.browser


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_the_filter_form_narrows_the_board_by_department_and_by_overdue(
    open_browser, story: Story, js: bool
) -> None:
    a1, a2, a3 = f"A-{story.rota}", f"A-{story.ivr}", f"A-{story.prompt}"
    page = open_browser(js=js)
    sign_in(page, story.org.hanna)
    expect_cards(page, [a1, a2, a3])

    page.get_by_label("Department").select_option("IT")
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(r"dept=IT"))
    assert query_of(page)["dept"] == ["IT"]
    expect(page.locator("#lane-CS")).to_have_count(0)
    expect_cards(page, [a2, a3])
    expect(column_count(page, "open")).to_have_text("2")

    page.get_by_role("link", name="Clear").click()
    expect(page).to_have_url(re.compile(r"/board$"))
    page.get_by_label("Overdue only").check()
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(r"overdue=1"))
    assert query_of(page)["overdue"] == ["1"]
    expect_cards(page, [a1, a3])
    for card in page.locator("#board article.card-item").all():
        expect(card.locator(".due")).to_contain_text("overdue")

    # Both together; and the URL, opened afresh, shows the same board to anyone.
    page.get_by_label("Department").select_option("IT")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"dept=IT"))
    expect_cards(page, [a3])
    shared = open_browser(js=js)
    sign_in(shared, story.org.ivan, next=local_part(page.url))
    expect_cards(shared, [a3])
    expect(shared.get_by_label("Overdue only")).to_be_checked()
    expect(shared.get_by_label("Department")).to_have_value("IT")


def test_the_search_box_understands_the_query_language(
    open_browser, story: Story, js: bool
) -> None:
    page = open_browser(js=js)
    sign_in(page, story.org.hanna)

    search = page.get_by_label("Search")
    search.fill("dept:IT overdue")
    search.press("Enter")

    expect(page).to_have_url(re.compile(r"[?&]q=dept"))
    assert query_of(page)["q"] == ["dept:IT overdue"]
    expect_cards(page, [f"A-{story.prompt}"])
    expect(page.get_by_label("Search")).to_have_value("dept:IT overdue")

    # Words without a filter search the titles; a filter it does not know is explained.
    search = page.get_by_label("Search")
    search.fill("owner:me IVR")
    search.press("Enter")
    expect(page.locator("#board")).to_contain_text("No action matches these filters.")
    expect_cards(page, [])  # Hanna owns no action

    search = page.get_by_label("Search")
    search.fill("colour:red")
    search.press("Enter")
    expect(page.locator("#q-error")).to_contain_text("Unknown filter 'colour:'")
    expect(page.get_by_label("Search")).to_have_attribute("aria-invalid", "true")
