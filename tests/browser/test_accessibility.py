"""The pages a head and a checker use every day, checked by axe-core in both languages."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Story, accessibility_problems, sign_in


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_the_heads_pages_have_no_serious_accessibility_problems(
    open_browser, story: Story, lang: str
) -> None:
    page = open_browser(js=True)
    sign_in(page, story.org.hanna, next="/my-work")
    if lang != "en":
        page.get_by_label("Language").select_option(lang)
        expect(page.locator("html[lang=zh-CN]")).to_have_count(1)
    found = {}
    for path in (
        "/my-work",
        "/board",
        "/board?dept=CS",
        f"/actions/{story.rota}",
        f"/board/actions/{story.rota}/edit",
        "/cycles",
        "/problems",
        "/meetings",
        "/meeting-series/new",
        "/meetings/new",
    ):
        page.goto(path)
        problems = accessibility_problems(page)
        if problems:
            found[path] = problems
    assert not found, "\n".join(f"{path}: {p}" for path, ps in found.items() for p in ps)


def test_the_auditors_trail_page_has_no_serious_accessibility_problems(
    open_browser, story: Story
) -> None:
    page = open_browser(js=True)
    sign_in(page, story.org.vera, next="/trail")
    page.get_by_role("button", name="Verify the whole trail now").click()
    expect(page.get_by_test_id("trail-state")).to_have_text("Intact")
    assert accessibility_problems(page) == []
