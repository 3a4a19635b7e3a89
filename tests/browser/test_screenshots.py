"""Pictures of the board and a cycle workspace, from the demo organisation.

They land in tests/browser/artifacts/ (not committed): the README's screenshots are
taken from there, and a reviewer can look at what the pages really look like.
"""

import struct

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from pdca.demo import DEMO_PASSWORD, email_of, load_demo
from pdca.models import Cycle, User
from pdca.services.catalog import WorkflowCatalog
from tests.browser.conftest import artifact, idle, sign_in
from tests.conftest import Clock

pytestmark = pytest.mark.browser
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG header (the IHDR chunk comes first)."""
    assert data.startswith(PNG_SIGNATURE), "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def shoot(page: Page, name: str) -> None:
    path = artifact(name)
    page.screenshot(path=path, full_page=True)
    width, height = png_size(path.read_bytes())
    assert path.stat().st_size > 20_000, f"{name} looks empty"
    assert width >= 1200 and height >= 600, f"{name} is {width}×{height}"


def test_screenshots_of_the_board_and_a_cycle_workspace_from_the_demo(
    open_browser, session: Session, catalog: WorkflowCatalog, clock: Clock
) -> None:
    load_demo(session, catalog, clock.now)
    # A PDCA cycle in Do: actions under way, and a next step that waits for them.
    cycle = session.exec(
        select(Cycle).where(Cycle.workflow == "pdca", Cycle.state == "do").order_by(Cycle.id)
    ).first()
    assert cycle is not None, "the demo has no PDCA cycle in Do"
    sarah, wang = (
        session.exec(select(User).where(User.email == email_of(login))).one()
        for login in ("sarah.chen", "admin")
    )
    idle(session)

    page = open_browser(js=True)
    sign_in(page, sarah, "/board", password=DEMO_PASSWORD)
    expect(page.locator("#board article.card-item").first).to_be_visible()
    shoot(page, "board.png")

    page.goto(f"/cycles/{cycle.id}")
    expect(page.get_by_test_id("cycle-state")).to_be_visible()
    expect(page.locator("#transitions .reasons").first).to_be_visible()
    shoot(page, "cycle-workspace.png")

    # The same board for a reader of Chinese: the demo's administrator chose it in his profile.
    chinese = open_browser(js=True)
    sign_in(chinese, wang, "/board", password=DEMO_PASSWORD)
    expect(chinese.locator("html[lang=zh-CN]")).to_have_count(1)
    shoot(chinese, "board-zh_CN.png")
