"""A member on a 390 × 844 phone: the board, her card on the first screen, started with a tap."""

import re

import pytest
from playwright.sync_api import expect

from pdca.services import actions
from tests.browser.conftest import Story, accessibility_problems, card_in, idle, sign_in

pytestmark = pytest.mark.browser
PHONE_HEIGHT = 844


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_member_starts_her_action_from_the_board_on_a_phone(
    open_browser, story: Story, js: bool
) -> None:
    page = open_browser(js=js, phone=True)
    sign_in(page, story.org.mia, next="/board")

    # Nothing is wider than the screen, and the filters are folded away.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_label("Search")).to_be_hidden()
    card = card_in(page, "open", story.rota)
    box = card.bounding_box()
    assert box is not None and box["y"] + 40 < PHONE_HEIGHT, "her card is on the first screen"
    start = card.get_by_role("button", name="Start")
    size = start.bounding_box()
    assert size is not None and size["width"] >= 24 and size["height"] >= 24

    start.click()

    expect(card_in(page, "in_progress", story.rota)).to_be_visible()
    if js:  # axe-core runs in the page: it needs JavaScript
        assert accessibility_problems(page) == []


def test_the_filters_unfold_on_a_phone_and_stay_open_on_a_filtered_board(
    open_browser, story: Story
) -> None:
    page = open_browser(js=True, phone=True)
    sign_in(page, story.org.hanna, next="/board")

    page.get_by_text("Filters", exact=True).click()
    page.get_by_label("Overdue only").check()
    page.get_by_role("button", name="Filter").click()

    expect(page).to_have_url(re.compile(r"overdue=1"))
    expect(page.get_by_label("Search")).to_be_visible()


def test_on_a_phone_the_cycle_page_and_the_scorecard_fit_the_width(
    open_browser, story: Story
) -> None:
    page = open_browser(js=True, phone=True)
    sign_in(page, story.org.fiona, next=f"/cycles/{story.cycle_id}")

    for path in (f"/cycles/{story.cycle_id}", "/scorecard"):
        page.goto(path)
        # Nothing sideways: the page is as wide as the phone, so nobody scrolls to read it.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    page.goto(f"/cycles/{story.cycle_id}")
    # The workflow diagram keeps a readable size and scrolls sideways inside its card.
    card = page.locator(".diagram-box").bounding_box()
    diagram = page.locator(".diagram-box svg").bounding_box()
    assert card is not None and card["x"] + card["width"] <= 390
    assert diagram is not None and diagram["width"] >= 600


def test_the_boards_column_headings_stay_in_view_while_its_lanes_scroll(
    open_browser, story: Story
) -> None:
    page = open_browser(js=True)
    page.set_viewport_size({"width": 1440, "height": 400})
    sign_in(page, story.org.fiona, next="/board")
    heading = page.locator("#col-open")
    top = heading.bounding_box()["y"]

    scrolled = page.evaluate(
        "() => { const box = document.querySelector('.board-scroll');"
        " box.scrollTop = box.scrollHeight; return box.scrollTop; }"
    )

    assert scrolled > 0, "the lanes are taller than the box: it scrolls"
    assert heading.bounding_box()["y"] == pytest.approx(top, abs=1)


@pytest.mark.parametrize("width", [1440, 390])
def test_the_a3_pages_short_columns_in_chinese_keep_each_word_on_one_line(
    open_browser, story: Story, as_user, session, width: int
) -> None:
    """A long countermeasure once squeezed kind and status to a character a line."""
    actions.add_action(
        as_user(story.org.fiona),
        story.cycle_id,
        title="Put a temporary second gateway in front of the queue and reroute "
        "every campaign mailing through it until the replacement is certified",
        department_id=story.org.it,
        owner_id=story.org.max.id,
        kind="containment",
    )
    idle(session)
    page = open_browser(js=True, phone=width == 390)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, story.org.fiona, next=f"/cycles/{story.cycle_id}/a3")
    page.get_by_label("Language").select_option("zh_CN")  # a Chinese reader
    expect(page.locator("html[lang=zh-CN]")).to_have_count(1)
    expect(page.locator(".a3-actions")).to_be_visible()

    # Lines each short cell's text takes: one, however long the countermeasure beside it.
    lines = page.evaluate(
        "() => [...document.querySelectorAll('.a3-actions tr')].flatMap(row =>"
        " [0, 2, 4, 5].map(i => { const r = document.createRange();"
        " r.selectNodeContents(row.children[i]);"
        " return [row.children[i].textContent.trim(),"
        " new Set([...r.getClientRects()].map(b => Math.round(b.top))).size]; }))"
    )
    assert len(lines) >= 4 * 5  # the heading and four actions
    assert [text for text, count in lines if count != 1] == []
    # The page stays as wide as the screen: a wide table scrolls in its own box.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
