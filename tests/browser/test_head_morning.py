"""A department head's morning, in Chromium, with htmx and with JavaScript switched off.

Hanna heads Customer Service. She signs in and lands on My work, opens the overdue
action, reassigns and re-dates it from the board filtered to her department (the
filter stays), re-dates three cards in one go, attaches evidence to an action and
downloads it again. Then Fiona, the checker, mistypes her signature password, sees
why nothing happened, and signs with the right one.
"""

import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from pdca.services import actions
from tests.browser.conftest import Story, card_in, idle, local_part, sign_in
from tests.personas import PASSWORD

EVIDENCE = b"Rota for week 49, signed off by the shift leads.\n"


def _more_cs_work(story: Story, as_user, clock, session) -> tuple[int, int, int]:
    """Two more CS actions (Mia), and one that Mia has finished for Fiona to check."""
    fiona = as_user(story.org.fiona)
    made = [
        actions.add_action(
            fiona,
            story.cycle_id,
            title=title,
            department_id=story.org.cs,
            owner_id=story.org.mia.id,
            deadline=clock.today() + timedelta(days=days),
        )
        for title, days in (
            ("Call-back script for missed calls", 5),
            ("Weekly queue report to the team", 9),
            ("Headset check at shift start", 2),
        )
    ]
    mia = as_user(story.org.mia)
    finished = made[2]
    started = actions.fire_action(mia, finished.id, trigger="start", version=finished.version)
    actions.fire_action(mia, finished.id, trigger="complete", version=started.version)
    idle(session)
    return made[0].id, made[1].id, finished.id  # type: ignore[return-value]


def _wait_for_board(page: Page, js: bool) -> None:
    if not js:
        page.wait_for_load_state()


def _open(page: Page, path: str, js: bool) -> None:
    """Go to a page; with JavaScript, wait until htmx has taken over its links and forms
    (it loads deferred: a click before that would be a plain navigation)."""
    page.goto(path)
    if js:
        page.wait_for_function("() => window.htmx !== undefined")
        page.wait_for_load_state("load")


def test_a_heads_morning(open_browser, story: Story, as_user, clock, session, js: bool) -> None:
    second, third, finished = _more_cs_work(story, as_user, clock, session)
    hanna = open_browser(js=js)

    # She lands on My work, where the overdue action waits for her.
    sign_in(hanna, story.org.hanna, next="/my-work")
    overdue = hanna.locator(f'a[href="/actions/{story.rota}"]').first
    expect(overdue).to_be_visible()
    overdue.click()
    expect(hanna).to_have_url(re.compile(rf"/actions/{story.rota}$"))
    expect(hanna.get_by_role("heading", level=1)).to_contain_text(f"A-{story.rota}")

    # From the board filtered to her department she reassigns it to herself and re-dates it.
    _open(hanna, "/board?dept=CS", js)
    new_deadline = clock.today() + timedelta(days=14)
    card_in(hanna, "open", story.rota).get_by_role("link", name="Reassign or re-date").click()
    form = hanna.locator("form.card-form")
    form.get_by_label("Owner").select_option(label=story.org.hanna.name)
    form.get_by_label("Deadline").fill(new_deadline.isoformat())
    form.get_by_label("Reason").fill("Mia is on leave this week")
    form.get_by_role("button", name="Save").click()
    _wait_for_board(hanna, js)

    assert local_part(hanna.url) == "/board?dept=CS"
    expect(hanna.locator("#lane-IT")).to_have_count(0)  # the filter stayed
    rota = card_in(hanna, "open", story.rota)
    expect(rota).to_contain_text(story.org.hanna.name)
    expect(rota).not_to_have_class(re.compile(r"\blate\b"))  # no longer overdue
    expect(hanna.locator("#flash")).to_contain_text(f"A-{story.rota}")

    # Three cards re-dated in one go, each its own change.
    bulk_deadline = clock.today() + timedelta(days=30)
    for action_id in (story.rota, second, third):
        hanna.locator(f"#card-{action_id} input[name=pick]").check()
    hanna.get_by_label("Do", exact=True).select_option("redate")
    hanna.get_by_label("New deadline").fill(bulk_deadline.isoformat())
    hanna.get_by_role("button", name="Apply to selected").click()
    _wait_for_board(hanna, js)

    expect(hanna.locator("#flash")).to_contain_text(f"Done: A-{story.rota}, A-{second}, A-{third}.")
    assert local_part(hanna.url) == "/board?dept=CS"
    expect(hanna.locator("#lane-IT")).to_have_count(0)

    # Evidence on the action: uploaded, listed with its hash, downloaded byte for byte.
    _open(hanna, f"/actions/{story.rota}", js)
    hanna.locator("#evidence-file").set_input_files(
        files=[{"name": "rota-week-49.txt", "mimeType": "text/plain", "buffer": EVIDENCE}]
    )
    hanna.get_by_role("button", name="Upload").click()
    listed = hanna.locator("[data-testid=evidence-file]")
    expect(listed).to_contain_text("rota-week-49.txt")
    with hanna.expect_download() as download:
        listed.get_by_role("link", name="rota-week-49.txt").click()
    assert download.value.path().read_bytes() == EVIDENCE

    # The checker mistypes her signature, sees why, then signs.
    fiona = open_browser(js=js)
    sign_in(fiona, story.org.fiona)
    _open(fiona, "/board?dept=CS", js)
    card_in(fiona, "done", finished).get_by_role("link", name="Verify").click()
    form = fiona.locator("form.card-form")
    if js:  # the form opens inside the card, on the board
        expect(fiona.locator(f"#card-{finished} form.card-form")).to_be_visible()
    form.get_by_label("Note").fill("Checked three shifts")
    form.get_by_label("Your password (signature)").fill("not-my-password")
    form.get_by_role("button", name="Sign and verify").click()

    refusal = fiona.locator("form.card-form [role=alert]")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("password")
    form = fiona.locator("form.card-form")
    expect(form.get_by_label("Note")).to_have_value("Checked three shifts")  # kept
    form.get_by_label("Your password (signature)").fill(PASSWORD)
    form.get_by_role("button", name="Sign and verify").click()
    _wait_for_board(fiona, js)

    expect(card_in(fiona, "verified", finished)).to_be_visible()
    expect(fiona.locator("#flash")).to_contain_text(f"A-{finished}")
