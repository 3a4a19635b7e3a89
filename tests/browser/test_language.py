"""Switching the interface to Simplified Chinese from the header, and seeing the board in it."""

import re

import pytest
from playwright.sync_api import expect

from pdca import i18n
from tests.browser.conftest import Story, column_count, sign_in

pytestmark = pytest.mark.browser
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_language_switch_shows_the_board_in_chinese(
    open_browser, story: Story, js: bool
) -> None:
    page = open_browser(js=js)
    sign_in(page, story.org.mia, next="/board?dept=CS")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.get_by_label("Language").select_option("zh_CN")
    if not js:
        # Without JavaScript the choice is sent with the button the page shows instead.
        page.get_by_role("button", name="Switch").click()

    expect(page.locator("html[lang=zh-CN]")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"/board\?dept=CS$"))  # the same board, filters kept
    expect(page.locator("#lang-switch")).to_have_value("zh_CN")
    card = page.locator(f"#card-{story.rota}")
    # The workflow's own words (from its YAML) and dates in the Chinese way.
    expect(card).to_contain_text(f"C-{story.cycle_id} 执行")
    expect(card).to_contain_text("2026年12月2日")
    expect(column_count(page, "open")).to_have_text("1")

    # The interface's own words come from the Chinese catalog (pdca/locale/zh_CN): the
    # column titles are what the catalog says, and they are Chinese (not the English
    # fallback of a missing translation).
    zh = i18n.translations("zh_CN").gettext
    for status, english in (
        ("open", "Open"),
        ("in_progress", "In progress"),
        ("done", "Done, awaiting verification"),
        ("verified", "Verified"),
    ):
        title = page.locator(f"#col-{status}")
        expect(title).to_contain_text(zh(english))
        assert CJK.search(title.inner_text()), f"the {english!r} column is not in Chinese"
    expect(page.get_by_role("heading", level=1)).to_have_text(zh("Action board"))

    # The choice is kept on her profile: on another computer her board is in Chinese too.
    elsewhere = open_browser(js=js)
    sign_in(elsewhere, story.org.mia)
    expect(elsewhere.locator("html[lang=zh-CN]")).to_have_count(1)
