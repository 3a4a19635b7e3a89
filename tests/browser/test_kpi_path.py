"""From the scorecard to a cycle's Check phase, as a quality manager walks it in the demo.

The scorecard shows CS-SL in breach; its page lists the problem monitoring raised;
the problem offers a cycle; the new cycle aims at the KPI. The demo's BIL-ERR
cycle, already in Check, shows the KPI numbers and chart the verdict relies on.
"""

import pytest
from playwright.sync_api import expect
from sqlmodel import Session, col, select

from pdca.demo import DEMO_PASSWORD, email_of, load_demo
from pdca.models import Cycle, Kpi, User
from pdca.services.catalog import WorkflowCatalog
from tests.browser.conftest import idle, sign_in
from tests.conftest import Clock

pytestmark = pytest.mark.browser


def test_a_breached_kpi_leads_to_its_problem_a_new_cycle_and_the_check_phase_chart(
    open_browser, session: Session, catalog: WorkflowCatalog, clock: Clock
) -> None:
    load_demo(session, catalog, clock.now)
    sarah = session.exec(select(User).where(User.email == email_of("sarah.chen"))).one()
    sl = session.exec(select(Kpi).where(Kpi.code == "CS-SL")).one()
    bil = session.exec(select(Kpi).where(Kpi.code == "BIL-ERR")).one()
    in_check = session.exec(
        select(Cycle).where(Cycle.kpi_id == bil.id, Cycle.state == "check")
    ).one()
    cycles_before = len(session.exec(select(Cycle.id)).all())
    idle(session)

    page = open_browser(js=True)
    sign_in(page, sarah, "/kpis", password=DEMO_PASSWORD)
    expect(page.get_by_test_id("status-CS-SL")).to_have_text("Breach")

    page.get_by_role("link", name="CS-SL", exact=True).click()
    expect(page.get_by_test_id("kpi-status")).to_have_text("Breach")
    expect(page.locator("svg.chart, svg[role=img]").first).to_be_visible()
    problem_link = page.locator("table.list a[href^='/problems/']").first
    problem_key = problem_link.inner_text()
    problem_link.click()

    expect(page.locator("#monitoring")).to_contain_text("CS-SL")
    page.get_by_role("link", name="Open a cycle on this problem").click()
    expect(page.locator(f"input[name=problem_ids][value='{problem_key[2:]}']")).to_be_checked()
    page.get_by_role("button", name="Open the cycle").click()

    page.wait_for_url(lambda url: "/cycles/" in url and "/new" not in url)
    expect(page.get_by_test_id("cycle-state")).to_have_text("Plan")
    # The cycle aims at the KPI: its numbers (the baseline before it) are on the page.
    expect(page.get_by_test_id("kpi-numbers")).to_contain_text("CS-SL")
    idle(session)
    opened = session.exec(select(Cycle).order_by(col(Cycle.id).desc())).first()
    assert opened is not None and opened.kpi_id == sl.id
    assert len(session.exec(select(Cycle.id)).all()) == cycles_before + 1
    assert opened.target == sl.target and opened.baseline is not None
    idle(session)

    # A cycle on a KPI problem in its Check phase: did the change move the KPI to target?
    page.goto(f"/cycles/{in_check.id}")
    numbers = page.get_by_test_id("kpi-numbers")
    expect(numbers).to_contain_text("BIL-ERR")
    expect(numbers).to_contain_text("The change moved the KPI to target.")
    expect(numbers.locator("svg[role=img]")).to_be_visible()
