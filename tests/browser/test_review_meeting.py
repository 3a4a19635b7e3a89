"""The weekly review meeting from the demo, in Chromium, in English and then in Chinese.

Sarah chairs. She starts the prepared meeting, walks the agenda with the keyboard,
decides on the room's screen (a new action, a new deadline for an overdue action, a
cycle moved to Act), leaves a problem undecided, ends the meeting and signs the
minutes. The decisions are on the board and in the trail with the meeting named.
Then, in Chinese, the next meeting has the undecided problem back on its agenda.
"""

import re
from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlmodel import select

from pdca.demo import DEMO_PASSWORD, load_demo
from pdca.models import Action, Event, Meeting
from tests.browser.conftest import accessibility_problems, idle

SARAH = "sarah.chen@demo.pdca"


def _sign_in(page: Page, lang: str) -> None:
    page.goto("/login?next=/meetings")
    page.locator("#email").fill(SARAH)
    page.locator("#password").fill(DEMO_PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/meetings$"))
    if lang != "en":
        with page.expect_navigation():
            page.select_option("#lang-switch", lang)


def _current(page: Page) -> str:
    return page.locator(".run-item.current, #end.current").first.get_attribute("id") or ""


def _department_of_current(page: Page) -> str:
    return page.evaluate(
        "() => document.querySelector('.run-item.current, #end.current').closest('[data-department]').id"
    )


def _decide(page: Page, item: str, summary: str, fill: dict[str, str]) -> None:
    """Open the decision on the item, fill it in and record it: htmx swaps the item in
    place (no page load), ticks it in the agenda and says so in the flash."""
    article = page.locator(f"#{item}")
    details = article.locator("details", has=page.locator("summary", has_text=summary))
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    form = details.locator("form")
    for selector, value in fill.items():
        field = form.locator(selector)
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
    url = page.url
    with page.expect_response(lambda r: r.url.endswith("/decide")) as answer:
        form.locator("button[type=submit]").click()
    assert answer.value.status == 200
    expect(page.locator(f"#{item}.decided")).to_be_visible()
    expect(page.locator(f"#nav-{item}.done")).to_be_visible()
    expect(page.locator(".flash")).to_be_visible()
    assert page.url.split("#")[0] == url.split("#")[0]  # the same page, not a reload


def test_a_chair_runs_the_weekly_review_from_the_demo_in_english_and_chinese(
    open_browser, session, catalog, clock
):
    load_demo(session, catalog, clock())
    ready = session.exec(select(Meeting).where(Meeting.status == "planned")).one()
    idle(session)
    page = open_browser()
    _sign_in(page, "en")

    page.get_by_role("link", name=ready.title).first.click()
    page.get_by_test_id("start-meeting").click()
    page.wait_for_url(re.compile(rf"/meetings/{ready.id}/run"))
    assert accessibility_problems(page) == []

    # Walk the first department item by item, then the next department, with the keys.
    first_department = _department_of_current(page)
    start = _current(page)
    page.keyboard.press("j")
    assert _current(page) != start
    page.keyboard.press("k")
    assert _current(page) == start
    page.keyboard.press("n")
    second_department = _department_of_current(page)
    assert second_department != first_department
    page.keyboard.press("p")
    assert _department_of_current(page) == first_department

    # A new action, decided on an item of Customer Service.
    cs_item = page.locator("#dept-1 [data-agenda-item]").first.get_attribute("id")
    deadline = (clock.today() + timedelta(days=12)).isoformat()
    _decide(
        page,
        cs_item,
        "New action",
        {
            "input[name=title]": "Call back every lost caller the same day",
            "select[name=owner_id]": "Olivia Brown",
            "input[name=deadline]": deadline,
        },
    )
    # A new deadline for an overdue action.
    overdue = page.locator("[data-kind=overdue_action]").first
    overdue_id = overdue.get_attribute("id")
    overdue_action = int(overdue.get_attribute("data-entity").split("-")[1])
    _decide(page, overdue_id, "New deadline", {"input[name=deadline]": deadline})
    # The Operations cycle whose check is done moves to Act.
    cycle = page.locator("[data-kind=cycle_decision]", has_text="Handover checklist").first
    cycle_id = int(cycle.get_attribute("data-entity").split("-")[1])
    _decide(
        page, cycle.get_attribute("id"), "Move the cycle", {"select[name=trigger]": "start_act"}
    )
    # An untriaged problem is left without a decision.
    undecided = page.locator("[data-kind=untriaged_problem]").first.get_attribute("data-entity")

    page.locator("#end input[type=radio][value=present]").first.check()
    # Saved with htmx: the end of the agenda comes back with the meeting's new version.
    with page.expect_response(lambda r: r.url.endswith("/attendance")):
        page.get_by_role("button", name="Save attendance").click()
    expect(page.get_by_test_id("quorum-line")).to_contain_text("1 present")
    page.get_by_test_id("end-meeting").click()
    page.wait_for_url(re.compile(rf"/meetings/{ready.id}/minutes"))
    expect(page.locator(".minutes")).to_contain_text("Call back every lost caller the same day")
    expect(page.locator(".minutes")).to_contain_text("moved from Check to Act")
    page.locator("#sign-pw").fill(DEMO_PASSWORD)
    page.get_by_test_id("sign-minutes").click()
    expect(page.get_by_test_id("minutes-status")).to_have_text("Minutes signed")

    # On the board, and in the trail with the meeting named.
    page.goto("/board?q=lost+caller")
    expect(page.locator("body")).to_contain_text("Call back every lost caller the same day")
    page.goto(f"/actions/{overdue_action}")
    expect(page.get_by_test_id("decided-in-meeting").first).to_contain_text(f"M-{ready.id}")
    page.goto(f"/cycles/{cycle_id}")
    expect(page.get_by_test_id("decided-in-meeting").first).to_contain_text(f"M-{ready.id}")
    made = session.exec(select(Action).where(Action.title.startswith("Call back every"))).one()
    created = session.exec(
        select(Event).where(Event.entity_type == "action", Event.entity_id == made.id)
    ).first()
    assert created.data["meeting_id"] == ready.id
    idle(session)

    # The next meeting, in Chinese: the undecided problem is back on its agenda.
    page.goto("/meetings")
    with page.expect_navigation():
        page.select_option("#lang-switch", "zh_CN")
    page.get_by_role("button", name="安排下次会议").click()
    page.get_by_test_id("start-meeting").click()
    page.wait_for_url(re.compile(r"/meetings/\d+/run"))
    back = page.locator(f"[data-entity={undecided}]")
    expect(back).to_contain_text("遗留议题")
    page.keyboard.press("n")
    page.keyboard.press("j")
    _decide(
        page,
        page.locator("#dept-1 [data-agenda-item]").first.get_attribute("id"),
        "新措施",
        {"input[name=title]": "每天下午复盘未接来电", "input[name=deadline]": deadline},
    )
    page.get_by_test_id("end-meeting").click()
    expect(page.locator(".minutes")).to_contain_text("每天下午复盘未接来电")
    page.locator("#sign-pw").fill(DEMO_PASSWORD)
    page.get_by_test_id("sign-minutes").click()
    expect(page.get_by_test_id("minutes-status")).to_have_text("纪要已签署")
