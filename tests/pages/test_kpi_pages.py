"""The KPI pages as people use them: the scorecard, one KPI with its charts, CSV upload,
a problem a KPI raised, a cycle aimed at a KPI, and the Pareto of problems.

Data is set up through the services; the people in the tests only speak HTTP, as a
browser without JavaScript does. "Now" is the test clock (2026-11-25 09:00 UTC).
"""

import html
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from pdca.models import Kpi, Measurement, Problem, User
from pdca.services import actions, cycles, kpis, problems
from pdca.services.context import Ctx
from pdca.services.kpis import RowIn
from tests.conftest import NOW, Clock, Org
from tests.services.builders_services import a_planned_cycle
from tests.services.test_kpis import close_effective_cycle_on

AsUser = Callable[[User | None], Ctx]


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def a_kpi(ctx: Ctx, org: Org, code: str = "CS-SL", **values: Any) -> Kpi:
    return kpis.create_kpi(
        ctx,
        **{
            "code": code,
            "name": "Service level",
            "unit": "%",
            "department_id": org.cs,
            "perspective": "customer",
            "direction": "higher",
            "target": 80.0,
            "warning_limit": 75.0,
            "breach_limit": 70.0,
            "rules": ["limit_breach"],
            **values,
        },
    )


def feed(ctx: Ctx, code: str, values: list[float], start: datetime) -> kpis.IngestResult:
    rows = [RowIn(i + 1, code, start + timedelta(days=i), v) for i, v in enumerate(values)]
    return kpis.ingest(ctx, rows)


def stored(session: Session) -> int:
    session.rollback()  # read what the app committed, not this session's snapshot
    return session.exec(select(func.count()).select_from(Measurement)).one()


def kpi_problem(session: Session, kpi: Kpi) -> Problem:
    session.rollback()  # read what the app committed, not this session's snapshot
    return session.exec(
        select(Problem)
        .where(Problem.kpi_id == kpi.id)
        .order_by(col(Problem.id))
        .execution_options(populate_existing=True)
    ).first()


def svg(html: str, css: str) -> str:
    """The <svg> of one chart in a page (by its class)."""
    match = re.search(rf'<svg class="chart {css}".*?</svg>', html, re.S)
    assert match, f"no {css} chart in the page"
    return match.group(0)


# --- the scorecard ------------------------------------------------------------------------


def test_the_scorecard_lists_kpis_by_perspective_with_their_status(org, as_user, client_for):
    fiona = as_user(org.fiona)
    for code, perspective, values in (
        ("CS-SL", "customer", [82, 85]),
        ("CS-CSAT", "customer", [85, 72]),
        ("FIN-CPC", "financial", [85, 65]),
        ("QA-TRAIN", "learning_growth", []),
    ):
        a_kpi(fiona, org, code=code, perspective=perspective)
        if values:
            feed(fiona, code, values, days_ago(2))
    a_kpi(fiona, org, code="IT-AVAIL", department_id=org.it, perspective="internal_process")
    feed(fiona, "IT-AVAIL", [78], days_ago(1))

    page = client_for("vera").client.get("/kpis")

    assert page.status_code == 200
    html = page.text
    headings = re.findall(r'<h2 id="p-(\w+)">', html)
    assert headings == ["financial", "customer", "internal_process", "learning_growth"]
    found = dict(re.findall(r'data-testid="status-([\w-]+)">([^<]+)<', html))
    # The composite indexes have their rows above the perspectives (tested with them).
    assert {"QSI", "QCI", "PCI"} <= set(found)
    statuses = {code: s for code, s in found.items() if code not in ("QSI", "QCI", "PCI")}
    assert statuses == {
        "FIN-CPC": "Breach",
        "CS-CSAT": "Warning",
        "CS-SL": "On target",
        "IT-AVAIL": "Below target",
        "QA-TRAIN": "No data",
    }
    customer = html[html.index('id="p-customer"') : html.index('id="p-internal_process"')]
    assert customer.index("CS-CSAT") < customer.index("CS-SL")
    assert "1 open problem" in html  # FIN-CPC breached
    assert html.count('<svg class="chart sparkline') == 5 + 3  # five KPIs, three indexes

    only_it = client_for("hanna").client.get("/kpis?dept=IT").text
    assert "IT-AVAIL" in only_it and "CS-SL" not in only_it


# --- one KPI ----------------------------------------------------------------------------


def test_a_kpi_page_shows_its_run_chart_control_chart_and_period_comparison(
    org, as_user, client_for
):
    fiona = as_user(org.fiona)
    kpi = a_kpi(
        fiona,
        org,
        rules=["limit_breach", "spc_beyond_3_sigma"],
        warning_limit=None,
        breach_limit=60.0,
        target=70.0,
    )
    quiet = [100, 102, 99, 101, 98, 100, 103, 99, 100, 101, 98, 102, 100, 99, 101, 100, 97, 102]
    feed(fiona, "CS-SL", [*quiet, 101, 99, 100, 80, 100, 101], days_ago(30))
    feed(fiona, "CS-SL", [99, 101, 100], days_ago(400))  # the same period a year before

    page = client_for("mia").client.get(f"/kpis/{kpi.id}?days=90")

    assert page.status_code == 200
    html = page.text
    assert "CS-SL · Service level" in html
    assert 'data-testid="kpi-status"' in html
    run = svg(html, "run-chart")
    assert 'role="img"' in run and "Target" in run
    control = svg(html, "control-chart")
    assert "UCL" in control and "LCL" in control and "CL " in control
    [ringed] = re.findall(r'<g class="signal" data-index="(\d+)"><title>([^<]*)</title>', control)
    # the 80 at day -9, its rule named in words (a code never reaches a page)
    assert ringed[0] == "21" and "A point beyond 3 sigma" in ringed[1]
    comparison = svg(html, "period-comparison")
    assert "This period" in comparison and "A year before" in comparison
    listed = html.split("Problems raised by this KPI")[1]
    assert re.search(r'<a href="/problems/(\d+)">P-\1</a>', listed), "the 3-sigma problem"


def test_a_kpi_without_points_says_so_instead_of_drawing(org, as_user, client_for):
    kpi = a_kpi(as_user(org.fiona), org)
    html = client_for("vera").client.get(f"/kpis/{kpi.id}").text
    assert '<svg class="chart run-chart chart-empty"' in html
    assert "Not enough baseline points for control limits yet." in html
    assert "No problem raised yet." in html


def test_an_unknown_kpi_page_is_404(client_for):
    assert client_for("vera").client.get("/kpis/999999").status_code == 404


# --- CSV upload --------------------------------------------------------------------------


def upload(signed, text: str, **kw):
    return signed.client.post(
        "/kpis/upload",
        data={"csrf_token": signed.csrf, **kw},
        files={"file": ("points.csv", text.encode(), "text/csv")},
        follow_redirects=False,
    )


def test_a_good_csv_file_is_stored_and_the_scorecard_says_so(org, as_user, client_for, session):
    kpi = a_kpi(as_user(org.fiona), org)
    mia = client_for("mia")
    text = (
        "kpi,at,value\n"
        f"CS-SL,{days_ago(3).isoformat()},81\n"
        f"cs-sl,{days_ago(2).isoformat()},82.5\n"
        "\n"
        f"CS-SL,{days_ago(1).isoformat()},65\n"
    )

    response = upload(mia, text, back=f"/kpis/{kpi.id}")

    assert response.status_code == 303
    assert response.headers["location"] == f"/kpis/{kpi.id}"
    assert stored(session) == 3
    landed = mia.client.get(response.headers["location"]).text
    assert "Stored 3 points (0 were already there); 1 problems raised." in landed
    again = upload(mia, text)
    assert again.headers["location"] == "/kpis"
    assert "Stored 0 points (3 were already there)" in mia.client.get("/kpis").text
    assert stored(session) == 3


def test_a_csv_file_with_bad_lines_lists_every_one_and_stores_nothing(
    org, as_user, client_for, session
):
    a_kpi(as_user(org.fiona), org)
    text = (
        "kpi,at,value\n"
        f"CS-SL,{days_ago(4).isoformat()},81\n"
        "CS-SL,last tuesday,81\n"
        "CS-SL,2026-11-22T09:00:00,81\n"
        f"CS-SL,{days_ago(2).isoformat()},lots\n"
        f"XX-NONE,{days_ago(1).isoformat()},81\n"
    )

    response = upload(client_for("mia"), text)

    assert response.status_code == 422
    html = response.text
    assert "Nothing was stored" in html
    reasons = re.findall(r"<li>(line \d+:[^<]*)</li>", html)
    assert [r.split(":")[0] for r in reasons] == ["line 3", "line 4", "line 5", "line 6"]
    assert "is not a date and time" in reasons[0]
    assert "has no time zone" in reasons[1]
    assert "is not a number" in reasons[2]
    assert "there is no KPI" in reasons[3]
    assert stored(session) == 0


def test_a_chinese_reader_sees_each_bad_line_of_a_csv_file_in_chinese(
    org, as_user, client_for, session
):
    a_kpi(as_user(org.fiona), org)
    mia = client_for("mia")
    mia.client.post("/language", data={"lang": "zh_CN", "next": "/", "csrf_token": mia.csrf})
    text = (
        f"kpi,at,value\nCS-SL,{days_ago(4).isoformat()},81\nCS-SL,{days_ago(2).isoformat()},lots\n"
    )

    response = upload(mia, text)

    assert response.status_code == 422
    page = html.unescape(response.text)
    assert "第 3 行：值 'lots' 不是数字。" in page
    assert "is not a number" not in page and "line 3" not in page
    assert stored(session) == 0


def test_a_csv_upload_without_a_header_or_a_file_is_refused(org, as_user, client_for, session):
    a_kpi(as_user(org.fiona), org)
    mia = client_for("mia")
    no_header = upload(mia, f"CS-SL,{days_ago(1).isoformat()},81\n")
    assert no_header.status_code == 422
    assert "expected the header kpi,at,value" in no_header.text
    no_file = mia.client.post(
        "/kpis/upload",
        data={"csrf_token": mia.csrf},
        files={"file": ("", b"", "text/csv")},
    )
    assert no_file.status_code == 422
    assert "Choose a CSV file to upload." in no_file.text
    assert stored(session) == 0


def test_a_csv_field_past_the_csv_limit_is_a_reason_not_a_crash(org, as_user, client_for, session):
    a_kpi(as_user(org.fiona), org)
    huge = "x" * 140_000  # the csv module refuses fields over 131,072 characters
    text = f"kpi,at,value\nCS-SL,{days_ago(1).isoformat()},81\nCS-SL,{huge},81\n"

    response = upload(client_for("mia"), text)

    assert response.status_code == 422
    assert "line 3: field larger than field limit" in response.text
    assert stored(session) == 0


def test_an_upload_for_a_kpi_of_another_department_is_refused(org, as_user, client_for, session):
    a_kpi(as_user(org.fiona), org)
    response = upload(client_for("max"), f"kpi,at,value\nCS-SL,{days_ago(1).isoformat()},81\n")
    assert response.status_code == 403
    assert "Only the KPI&#39;s owner, its department" in response.text
    assert stored(session) == 0


# --- a problem raised by a KPI ----------------------------------------------------------------


def test_the_problem_page_shows_the_kpi_its_occurrences_and_offers_resolve_once_recovered(
    org, as_user, client_for, session
):
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org, recovery_periods=2)
    feed(fiona, "CS-SL", [64, 66], days_ago(6))
    problem = kpi_problem(session, kpi)
    browser = client_for("fiona")

    page = browser.client.get(f"/problems/{problem.id}").text
    assert "Raised by KPI monitoring" in page
    assert f'<a href="/kpis/{kpi.id}">CS-SL · Service level</a>' in page
    assert "fired 2 times" in page
    occurrences = page.split("Each time it fired")[1]
    assert "64 is below the breach limit (70)." in occurrences
    assert "66 is below the breach limit (70)." in occurrences
    assert "Within limits for 0 of the 2 periods needed" in page
    assert "resolve-recovered" not in page

    feed(fiona, "CS-SL", [81, 83], days_ago(3))
    page = browser.client.get(f"/problems/{problem.id}").text
    assert 'data-testid="recovered"' in page
    assert f'action="/problems/{problem.id}/resolve-recovered"' in page
    member_view = client_for("mia").client.get(f"/problems/{problem.id}").text
    assert 'data-testid="recovered"' in member_view and "resolve-recovered" not in member_view

    problem = kpi_problem(session, kpi)
    done = browser.client.post(
        f"/problems/{problem.id}/resolve-recovered",
        data={"csrf_token": browser.csrf, "version": problem.version},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert kpi_problem(session, kpi).status == "resolved"
    after = browser.client.get(done.headers["location"]).text
    assert "Resolved: the KPI stayed within its limits." in after
    assert "resolve-recovered" not in after


def test_resolving_before_the_kpi_recovered_is_refused_with_the_reason(
    org, as_user, client_for, session
):
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org, recovery_periods=3)
    feed(fiona, "CS-SL", [64, 81], days_ago(3))
    problem = kpi_problem(session, kpi)
    browser = client_for("fiona")
    response = browser.client.post(
        f"/problems/{problem.id}/resolve-recovered",
        data={"csrf_token": browser.csrf, "version": problem.version},
    )
    assert response.status_code == 409
    assert "only 1 of the 3 latest periods are within limits" in response.text
    assert kpi_problem(session, kpi).status == "new"


def test_a_recurring_problem_names_the_cycle_whose_standardisation_did_not_hold(
    org, as_user, clock, client_for, session
):
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org)
    feed(fiona, "CS-SL", [64], days_ago(20))
    first = kpi_problem(session, kpi)
    cycle = close_effective_cycle_on(org, as_user, clock, first.id)
    feed(fiona, "CS-SL", [66], days_ago(1))
    again = session.exec(select(Problem).where(col(Problem.id) != first.id)).one()

    page = client_for("vera").client.get(f"/problems/{again.id}").text
    assert f'<a href="/cycles/{cycle.id}">C-{cycle.id}</a>' in page
    assert "its standardisation did not hold" in page
    kpi_page = client_for("vera").client.get(f"/kpis/{kpi.id}").text
    assert f"recurred after C-{cycle.id}" in kpi_page


# --- a cycle aimed at a KPI ----------------------------------------------------------------


def test_the_workspace_of_a_cycle_on_a_kpi_problem_shows_the_kpi_numbers_and_chart(
    org, as_user, clock: Clock, client_for, session
):
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org)
    feed(fiona, "CS-SL", [72, 74, 73, 65], days_ago(4))
    problem = kpi_problem(session, kpi)
    cycle = cycles.open_cycle(
        fiona,
        title="Lift the service level",
        workflow="pdca",
        lead_id=org.fiona.id,
        problem_ids=[problem.id],
        fields={"objective": "80 %", "root_cause": "Breaks overlap at noon"},
    )
    rota = actions.add_action(
        fiona,
        cycle.id,
        title="Stagger breaks",
        department_id=org.cs,
        owner_id=org.mia.id,
        deadline=clock.today() + timedelta(days=7),
    )
    cycles.fire_transition(fiona, cycle.id, trigger="start_do", version=cycle.version)
    browser = client_for("fiona")

    before = browser.client.get(f"/cycles/{cycle.id}").text
    numbers = before.split('data-testid="kpi-numbers"')[1].split("</div>")[0]
    assert f'<a href="/kpis/{kpi.id}">CS-SL</a>' in numbers
    assert "before the cycle" in numbers and "71" in numbers and "(4 points)" in numbers
    assert "(0 points)" in numbers  # nothing after Do yet
    assert "Use " not in numbers

    actions.fire_action(as_user(org.mia), rota.id, trigger="complete", version=rota.version)
    clock.advance(days=4)
    feed(fiona, "CS-SL", [82, 86], NOW + timedelta(days=1))
    browser = client_for("fiona")  # four days later: she signs in again
    after = browser.client.get(f"/cycles/{cycle.id}").text
    numbers = after.split('data-testid="kpi-numbers"')[1]
    assert "84" in numbers.split("since the last action was done")[1].split("</span>")[0]
    assert "The change moved the KPI to target." in numbers
    assert 'name="result" value="84.0"' in numbers
    chart = svg(numbers, "run-chart")
    assert "CS-SL" in chart


def test_a_cycle_without_a_kpi_offers_to_link_one(org, as_user, clock, client_for, session):
    kpi = a_kpi(as_user(org.fiona), org)
    built = a_planned_cycle(org, as_user, clock)
    browser = client_for("fiona")
    page = browser.client.get(f"/cycles/{built.cycle.id}").text
    assert f'<option value="{kpi.id}">CS-SL · Service level</option>' in page

    linked = browser.client.post(
        f"/cycles/{built.cycle.id}/kpi",
        data={"csrf_token": browser.csrf, "version": built.cycle.version, "kpi_id": kpi.id},
        follow_redirects=False,
    )
    assert linked.status_code == 303
    assert 'data-testid="kpi-numbers"' in browser.client.get(f"/cycles/{built.cycle.id}").text


# --- the Pareto ------------------------------------------------------------------------------


def test_the_pareto_page_renders_problems_by_source_department_and_kpi(org, as_user, client_for):
    fiona = as_user(org.fiona)
    a_kpi(fiona, org)
    a_kpi(fiona, org, code="IT-AVAIL", department_id=org.it)
    feed(fiona, "CS-SL", [64], days_ago(2))
    feed(fiona, "IT-AVAIL", [64], days_ago(2))
    problems.report_problem(as_user(org.mia), title="Rude answer", source="complaint")
    browser = client_for("vera").client

    by_source = browser.get("/problems-pareto").text
    # Sources in words, never their codes.
    assert "<td>KPI</td><td>2</td>" in by_source and "<td>Complaint</td><td>1</td>" in by_source
    assert '<svg class="chart pareto"' in by_source
    by_kpi = browser.get("/problems-pareto?by=kpi&days=30").text
    assert "<td>CS-SL</td><td>1</td>" in by_kpi and "<td>IT-AVAIL</td><td>1</td>" in by_kpi
    by_department = browser.get("/problems-pareto?by=department").text
    assert "<td>IT</td><td>1</td>" in by_department
    nonsense = browser.get("/problems-pareto?by=weather&days=lots")
    assert nonsense.status_code == 200 and "<td>KPI</td><td>2</td>" in nonsense.text
