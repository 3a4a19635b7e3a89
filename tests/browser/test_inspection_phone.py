"""An inspector on a 390 px phone: opens a due inspection from My work, answers every
item, fails two with a photo as evidence and submits; two problems name the clauses.
Next month the plan's next inspection fails the same two: occurrences, not new problems."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from pdca.demo_inspections import SERVICE_DESK_AUDIT
from pdca.engine import checklist
from pdca.models import Inspection, Problem
from pdca.services import inspection_plans, inspections
from tests.browser.conftest import accessibility_problems, sign_in

pytestmark = pytest.mark.browser

ITEMS = {i.id: i for i in checklist.items_of(SERVICE_DESK_AUDIT)}
# Not a real photo: the evidence store keeps any file; the name and type say "photo".
PHOTO = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@contextmanager
def saved(page: Page, js: bool) -> Iterator[None]:
    """With JavaScript each answer is saved as it changes: wait for that save to return,
    so that no two saves carry the same version."""
    if not js:
        yield
        return
    with page.expect_response(lambda r: r.request.method == "POST" and "/inspections/" in r.url):
        yield


def fill_in(page: Page, js: bool, failing: set[str]) -> None:
    """Every item answered; the `failing` yes/no items answered no."""
    for item in ITEMS.values():
        group = page.get_by_role("group", name=item.question["en"])
        if item.kind == "yes_no":
            with saved(page, js):
                group.get_by_label("No" if item.id in failing else "Yes", exact=True).check()
        elif item.kind == "score":
            with saved(page, js):
                group.get_by_label("5", exact=True).check()
        elif item.kind == "number":
            field = group.get_by_label("Value")
            field.fill("20")
            with saved(page, js):
                field.press("Tab")
    if not js:
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#flash")).to_contain_text("Answers saved.")


def inspect_from_my_work(page: Page, js: bool, inspection_id: int, photo: bool) -> None:
    page.goto("/my-work")
    page.locator("[data-testid=due-inspection]").get_by_role(
        "link", name=f"I-{inspection_id}", exact=False
    ).click()
    expect(page.get_by_role("heading", name="Service desk quality audit")).to_be_visible()
    # htmx watches the answers once the page has loaded; an answer ticked before that
    # is never saved as it changes.
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    fill_in(page, js, {"logged", "complaints_recorded"})
    if photo:
        page.locator("#evidence-file").set_input_files(
            files=[{"name": "unlogged-calls.png", "mimeType": "image/png", "buffer": PHOTO}]
        )
        page.get_by_role("button", name="Upload").click()
        expect(page.locator("[data-testid=evidence-file]")).to_contain_text("unlogged-calls.png")
    submit = page.get_by_role("button", name="Submit")
    # Measured once the page has loaded: after the upload's redirect the parsed page is
    # there before its stylesheet, and an unstyled button is the text's height.
    page.wait_for_load_state("load")
    height = submit.evaluate("button => button.getBoundingClientRect().height")
    assert height >= 44, "a button a thumb can hit"
    submit.click()
    expect(page.locator("#flash")).to_contain_text("Inspection submitted.")
    expect(page.get_by_test_id("inspection-score")).to_contain_text("2 items failed")


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_an_inspector_fails_two_items_on_a_phone_and_a_repeat_adds_occurrences(
    open_browser, org, as_user, clock, session, js: bool
) -> None:
    desk = inspections.create_template(
        as_user(org.fiona),
        code="SD-AUDIT",
        title="Service desk quality audit",
        title_zh="服务台质量审核",
        body=SERVICE_DESK_AUDIT,
    )
    # Max (IT) inspects Customer Service every month: independent.
    inspection_plans.create_plan(
        as_user(org.fiona),
        title="Monthly service desk audit",
        checklist_id=desk.id,
        department_ids=[org.cs],
        frequency="monthly",
        starts_on=clock.today(),
        inspector_ids=[org.max.id],
        independent=True,
    )
    inspection_plans.schedule(as_user(None))
    session.commit()
    (first,) = session.exec(select(Inspection)).all()

    page = open_browser(js=js, phone=True)
    sign_in(page, org.max, next="/my-work")
    if js:
        page.goto(f"/inspections/{first.id}")
        assert accessibility_problems(page) == []
    inspect_from_my_work(page, js, first.id, photo=True)

    session.rollback()
    raised = session.exec(select(Problem).where(Problem.source == "inspection")).all()
    assert sorted(p.title.split(" failed")[0] for p in raised) == [
        "ISO 9001 8.2.1",
        "ISO 9001 9.1.2",
    ]
    assert all("unlogged-calls.png" in p.evidence for p in raised)

    # A month on, the plan's next inspection is due and fails the same two clauses.
    clock.advance(days=31)
    inspection_plans.schedule(as_user(None))
    session.commit()
    second = session.exec(select(Inspection).where(Inspection.id != first.id)).one()
    assert second.due_on == first.due_on + timedelta(days=30)
    sign_in(page, org.max, next="/my-work")  # a month on, the session has expired
    inspect_from_my_work(page, js, second.id, photo=False)

    session.rollback()
    again = session.exec(select(Problem).where(Problem.source == "inspection")).all()
    assert {p.id for p in again} == {p.id for p in raised}
    assert [session.get(Problem, p.id, populate_existing=True).occurrences for p in again] == [
        2,
        2,
    ]
