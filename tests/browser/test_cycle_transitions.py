"""A cycle step the guards refuse says why, in words, before and after someone tries it."""

import re

import pytest
from playwright.sync_api import Page, expect

from pdca.services import actions
from tests.browser.conftest import Story, idle, sign_in

pytestmark = pytest.mark.browser


def step(page: Page, trigger: str):
    return page.locator(f"#transitions [data-trigger={trigger}]")


def test_a_step_whose_guards_fail_is_shown_with_its_reasons(
    open_browser, story: Story, js: bool
) -> None:
    fiona = open_browser(js=js)
    sign_in(fiona, story.org.fiona, next=f"/cycles/{story.cycle_id}")

    expect(fiona.get_by_test_id("cycle-state")).to_have_text("Do")
    check = step(fiona, "start_check")
    expect(check.get_by_role("button", name="Start Check")).to_be_disabled()
    # The button says what stands in the way (and points screen readers at it).
    keys = f"A-{story.rota}, A-{story.ivr}, A-{story.prompt}"
    expect(check.locator(".reasons")).to_have_text(f"3 actions are not done: {keys}")
    expect(check.get_by_role("button", name="Start Check")).to_have_attribute(
        "aria-describedby", "why-start_check"
    )
    # Cancelling is possible, with a reason.
    cancel = step(fiona, "cancel")
    expect(cancel.get_by_role("button", name="Cancel the cycle")).to_be_enabled()
    expect(cancel.get_by_label("Reason")).to_be_visible()


def test_trying_a_step_that_became_impossible_shows_the_refusal_and_its_reasons(
    open_browser, story: Story, js: bool, as_user, session
) -> None:
    org = story.org
    # Every action is done: the workspace offers Check.
    for action_id, owner in ((story.rota, org.mia), (story.ivr, org.max), (story.prompt, org.max)):
        ctx = as_user(owner)
        version = actions.get_action(ctx, action_id).version
        actions.fire_action(ctx, action_id, trigger="complete", version=version)
    idle(session)
    fiona = open_browser(js=js)
    sign_in(fiona, org.fiona, next=f"/cycles/{story.cycle_id}")
    check = step(fiona, "start_check").get_by_role("button", name="Start Check")
    expect(check).to_be_enabled()

    # While Fiona looks at the page, Ivan (head of IT) finds the IVR change broken and reopens it.
    ivan = as_user(org.ivan)
    actions.fire_action(
        ivan,
        story.ivr,
        trigger="reopen",
        version=actions.get_action(ivan, story.ivr).version,
        note="Callbacks fail for mobile numbers",
    )
    idle(session)
    with fiona.expect_response(lambda r: r.request.method == "POST") as answer:
        check.click()

    assert answer.value.status == 409
    assert answer.value.request.headers.get("hx-request") == ("true" if js else None)
    refusal = fiona.get_by_test_id("refusal")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text(f"C-{story.cycle_id}: “Start Check” is not possible yet.")
    expect(refusal.locator("li")).to_have_text([f"1 action is not done: A-{story.ivr}"])
    # The workspace is current again: still in Do, and Check is refused for the same reason.
    expect(fiona.get_by_test_id("cycle-state")).to_have_text("Do")
    expect(step(fiona, "start_check").get_by_role("button", name="Start Check")).to_be_disabled()
    expect(step(fiona, "start_check").locator(".reasons")).to_have_text(
        f"1 action is not done: A-{story.ivr}"
    )
    if js:
        # htmx swapped the workspace in place; the address is still the workspace's.
        expect(fiona).to_have_url(re.compile(rf"/cycles/{story.cycle_id}$"))


def test_after_a_step_the_whole_workspace_is_drawn_again_with_a_confirmation(
    open_browser, story: Story, js: bool, as_user, session
) -> None:
    org = story.org
    for action_id, owner in ((story.rota, org.mia), (story.ivr, org.max), (story.prompt, org.max)):
        ctx = as_user(owner)
        version = actions.get_action(ctx, action_id).version
        actions.fire_action(ctx, action_id, trigger="complete", version=version)
    idle(session)
    fiona = open_browser(js=js)
    sign_in(fiona, org.fiona, next=f"/cycles/{story.cycle_id}")
    fiona.evaluate("window.sameDocument = true") if js else None

    step(fiona, "start_check").get_by_role("button", name="Start Check").click()

    expect(fiona.get_by_test_id("cycle-state")).to_have_text("Check")
    current = fiona.locator("svg [aria-current=step]")
    expect(current).to_have_count(1)
    expect(current).to_contain_text("Check")
    expect(fiona.locator("#flash")).not_to_be_empty()
    expect(step(fiona, "start_act")).to_be_visible()  # the next steps are Check's
    expect(fiona.locator("#history li").first).to_contain_text("Check")
    if js:  # swapped in place, not loaded again
        assert fiona.evaluate("window.sameDocument") is True
