"""A head hears of an overdue action: the bell in the navigation, the inbox, her choices.

The ladder has escalated Mia's overdue rota action to Hanna, head of Customer Service.
She sees the unread count in the navigation, opens the inbox, follows the line to the
action (which says where the ladder took it), marks everything read, then chooses her
digest hour and time zone and makes a calendar address in her profile; with htmx and
with JavaScript switched off, and axe-core finds nothing serious on either page.
"""

import re

from playwright.sync_api import expect

from pdca.services import jobs
from pdca.services.jobs import JobConfig
from tests.browser.conftest import Story, accessibility_problems, idle, sign_in


def test_a_head_reads_her_inbox_and_sets_her_preferences(
    open_browser, story: Story, as_user, session, js: bool
) -> None:
    jobs.run_all(as_user(None), JobConfig(mail=None), "test")
    idle(session)
    page = open_browser(js=js)
    sign_in(page, story.org.hanna, next="/my-work")

    inbox_link = page.get_by_test_id("nav-inbox")
    expect(inbox_link).to_contain_text("Inbox")
    expect(inbox_link.locator(".nav-count")).to_have_text("1")
    inbox_link.click()
    line = page.locator(".inbox-line.unread")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("escalated to you")
    if js:
        assert accessibility_problems(page) == []

    line.get_by_role("link").click()
    expect(page.get_by_test_id("escalation")).to_contain_text("Escalated to the head of CS")

    page.goto("/notifications")
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator(".flash, [role=status]").first).to_contain_text(
        "Everything is marked read."
    )
    expect(page.locator(".inbox-line.unread")).to_have_count(0)
    if not js:
        expect(page.get_by_test_id("nav-inbox").locator(".nav-count")).to_have_count(0)

    page.goto("/profile")
    page.get_by_label("Digest hour").select_option("8")
    page.get_by_label("Your time zone").select_option("Asia/Shanghai")
    page.get_by_role("button", name="Save notification preferences").click()
    expect(page.get_by_text("Your notification preferences are saved.")).to_be_visible()
    page.goto("/profile")
    expect(page.get_by_label("Your time zone")).to_have_value("Asia/Shanghai")

    page.get_by_role("button", name="Make my calendar address").click()
    expect(page.get_by_label("Your calendar address")).to_have_value(
        re.compile(r"/calendar/pdcacal_.+\.ics$")
    )
    if js:
        assert accessibility_problems(page) == []
