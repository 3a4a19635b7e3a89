"""A card goes from Open to Verified, moved by two people: the owner, then a checker.

Mia owns A-1 (Customer Service). She starts it and completes it on the board; Fiona,
a facilitator who does not own it, verifies it and signs with her password.
With htmx the card and the column counts change in place; without JavaScript the
same buttons are forms that post and are redirected back to the board.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from pdca.models import Event
from tests.browser.conftest import Story, card_in, column_count, idle, sign_in
from tests.personas import PASSWORD
from tests.services.builders_services import events_of

pytestmark = pytest.mark.browser


def counts(page: Page, open_: int, in_progress: int, done: int, verified: int) -> None:
    for status, n in (
        ("open", open_),
        ("in_progress", in_progress),
        ("done", done),
        ("verified", verified),
    ):
        expect(column_count(page, status)).to_have_text(str(n))


def stays_on_the_page(page: Page) -> list[str]:
    """Mark the document, and list every full load of the page from now on."""
    page.evaluate("window.sameDocument = true")
    loads: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: loads.append(frame.url) if frame == page.main_frame else None,
    )
    return loads


def hx_post_to(url_end: str):
    return lambda request: request.method == "POST" and request.url.endswith(url_end)


def the_verification_was_signed(session, story: Story, note: str) -> None:
    """The trail says Fiona verified it, signing with her password for what it means."""
    (verified,) = events_of(session, "action", story.rota, "verify")
    assert isinstance(verified, Event)
    assert (verified.actor_id, verified.to_value) == (story.org.fiona.id, "verified")
    assert verified.signature_meaning == "verified effective"
    assert verified.signature_method == "password"
    assert verified.note == note
    idle(session)


def test_with_htmx_the_owner_and_a_checker_move_a_card_to_verified_in_place(
    open_browser, story: Story, session
) -> None:
    a1 = story.rota
    mia = open_browser(js=True)
    sign_in(mia, story.org.mia)
    counts(mia, open_=3, in_progress=0, done=0, verified=0)
    loads = stays_on_the_page(mia)

    with mia.expect_request(hx_post_to("/board/move")) as start:
        card_in(mia, "open", a1).get_by_role("button", name="Start").click()

    assert start.value.headers.get("hx-request") == "true"
    expect(card_in(mia, "in_progress", a1)).to_be_visible()
    counts(mia, open_=2, in_progress=1, done=0, verified=0)
    expect(mia.locator("#flash")).to_have_text(f"A-{a1}: Start")

    with mia.expect_request(hx_post_to("/board/move")) as complete:
        card_in(mia, "in_progress", a1).get_by_role("button", name="Complete").click()

    assert complete.value.headers.get("hx-request") == "true"
    expect(card_in(mia, "done", a1)).to_be_visible()
    counts(mia, open_=2, in_progress=0, done=1, verified=0)
    # No full page load: the same document, with htmx swapping the board and the flash.
    assert mia.evaluate("window.sameDocument") is True
    assert loads == []
    assert mia.url.endswith("/board")
    # The owner does not get to verify her own work.
    expect(card_in(mia, "done", a1).get_by_text("Verify")).to_have_count(0)

    fiona = open_browser(js=True)
    sign_in(fiona, story.org.fiona)
    loads = stays_on_the_page(fiona)
    card = card_in(fiona, "done", a1)
    card.get_by_text("Verify", exact=True).click()
    card.get_by_label("Note").fill("Breaks are staggered on the rota")
    card.get_by_label("Your password (signature)").fill(PASSWORD)
    with fiona.expect_request(hx_post_to(f"/board/actions/{a1}/verify")):
        card.get_by_role("button", name="Sign and verify").click()

    expect(card_in(fiona, "verified", a1)).to_be_visible()
    counts(fiona, open_=2, in_progress=0, done=0, verified=1)
    expect(fiona.locator("#flash")).to_have_text(f"A-{a1}: Verify")
    assert fiona.evaluate("window.sameDocument") is True
    assert loads == []
    the_verification_was_signed(session, story, "Breaks are staggered on the rota")


def test_without_javascript_the_owner_and_a_checker_move_a_card_to_verified_by_form_posts(
    open_browser, story: Story, session
) -> None:
    a1 = story.rota
    mia = open_browser(js=False)
    sign_in(mia, story.org.mia, next="/board?dept=CS")
    counts(mia, open_=1, in_progress=0, done=0, verified=0)

    with mia.expect_response(lambda r: r.request.method == "POST") as start:
        card_in(mia, "open", a1).get_by_role("button", name="Start").click()

    # The form posted, and the answer sent her back to the board she was on.
    assert start.value.status == 303
    assert start.value.headers["location"] == "/board?dept=CS"
    expect(mia).to_have_url(re.compile(r"/board\?dept=CS$"))
    expect(card_in(mia, "in_progress", a1)).to_be_visible()
    counts(mia, open_=0, in_progress=1, done=0, verified=0)
    expect(mia.locator("#flash")).to_have_text(f"A-{a1}: Start")

    with mia.expect_response(lambda r: r.request.method == "POST") as complete:
        card_in(mia, "in_progress", a1).get_by_role("button", name="Complete").click()

    assert complete.value.status == 303
    expect(card_in(mia, "done", a1)).to_be_visible()
    counts(mia, open_=0, in_progress=0, done=1, verified=0)

    fiona = open_browser(js=False)
    sign_in(fiona, story.org.fiona)
    card_in(fiona, "done", a1).get_by_text("Verify", exact=True).click()
    # Without JavaScript the card's form is a page of its own, and comes back to the board.
    form = fiona.locator("form.card-form")
    form.get_by_label("Note").fill("Checked the rota for next week")
    form.get_by_label("Your password (signature)").fill(PASSWORD)
    with fiona.expect_response(lambda r: r.request.method == "POST") as verify:
        form.get_by_role("button", name="Sign and verify").click()

    assert verify.value.status == 303
    expect(fiona).to_have_url(re.compile(r"/board$"))
    expect(card_in(fiona, "verified", a1)).to_be_visible()
    counts(fiona, open_=2, in_progress=0, done=0, verified=1)
    the_verification_was_signed(session, story, "Checked the rota for next week")
