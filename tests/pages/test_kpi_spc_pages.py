"""The KPI page's control charts as a quality manager reads them: signals at the left
edge of a window keep their rings, the moving-range chart stands beside the individuals
chart, SPC that is off or weak says so, a stale KPI says since when, and values no
chart can hold give a picture that says so instead of an error page.
"""

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert

from pdca.models import Measurement
from pdca.services import kpis
from pdca.services.errors import Invalid
from tests.conftest import NOW
from tests.pages.test_kpi_pages import a_kpi, feed, svg


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def alternating(n: int) -> list[float]:
    return [100.0 if i % 2 else 104.0 for i in range(n)]  # centre 102, moving range 4


def test_signals_completed_by_points_before_the_window_keep_their_rings(
    org, as_user, client_for
) -> None:
    fiona = as_user(org.fiona)
    a_kpi(
        fiona,
        org,
        code="CS-SL",
        rules=["spc_8_on_one_side"],
        warning_limit=None,
        breach_limit=None,
        target=90.0,
    )
    # 25 points around 102 (days 60 … 36), 11 below the centre (days 35 … 25): the 8th of
    # them (day 28) and every later one complete "8 in a row", then 24 around 102 again.
    feed(fiona, "CS-SL", [*alternating(25), *[95.0] * 11, *alternating(24)], days_ago(60))

    html = client_for("fiona").client.get("/kpis/1?days=30").text

    control = svg(html, "control-chart")
    rings = re.findall(r'<g class="signal" data-index="\d+"><title>([^<]+)</title>', control)
    assert len(rings) == 4  # days 28, 27, 26 and 25: the window starts on day 30
    assert all(r.endswith("8 in a row on one side") for r in rings)  # words, not codes
    assert "spc_8_on_one_side" not in html


def test_the_moving_range_chart_stands_beside_the_individuals_chart(
    org, as_user, client_for
) -> None:
    fiona = as_user(org.fiona)
    a_kpi(fiona, org, code="CS-SL", rules=["spc_beyond_3_sigma"])
    feed(fiona, "CS-SL", [*alternating(30), 130.0, *alternating(5)], days_ago(40))

    html = client_for("fiona").client.get("/kpis/1?days=90").text

    chart = svg(html, "control-chart moving-range-chart")
    assert "MR̄ 4" in chart and "UCL 13.1" in chart  # 3.267 × 4 = 13.068
    # The jump to 130 and back are two ranges past the limit.
    assert chart.count('class="signal"') == 2
    assert "3.267 × the mean moving range" in html


def test_spc_with_a_constant_baseline_says_it_is_off(org, as_user, client_for) -> None:
    fiona = as_user(org.fiona)
    a_kpi(fiona, org, code="CS-SL", rules=["limit_breach", "spc_beyond_3_sigma"])
    feed(fiona, "CS-SL", [90.0] * 25, days_ago(26))

    html = client_for("fiona").client.get("/kpis/1").text

    assert 'data-state="constant"' in html
    assert "every baseline point has the same value" in html


def test_limits_from_20_points_show_their_false_alarm_risk_and_recommend_more(
    org, as_user, client_for
) -> None:
    fiona = as_user(org.fiona)
    a_kpi(fiona, org, code="CS-SL", rules=["spc_beyond_3_sigma", "spc_8_on_one_side"])
    feed(fiona, "CS-SL", alternating(30), days_ago(31))

    html = client_for("fiona").client.get("/kpis/1").text

    [warning] = re.findall(r'data-state="weak">([^<]+)<', html)
    assert "only 20 points" in warning and "choose a longer baseline period" in warning
    every = int(re.search(r"false signal about every (\d+) points", warning).group(1))
    assert 60 <= every <= 110  # beyond 3σ and 8 in a row, limits from 20 points


def test_a_kpi_measured_long_ago_is_stale_since_its_last_point(org, as_user, client_for) -> None:
    fiona = as_user(org.fiona)
    a_kpi(fiona, org, code="CS-SL")
    feed(fiona, "CS-SL", [85.0], days_ago(5))  # daily KPI, nothing for five days

    browser = client_for("fiona").client
    scorecard = browser.get("/kpis").text
    page = browser.get("/kpis/1").text

    assert re.search(r'data-testid="status-CS-SL">Stale since 11/20/26<', scorecard)
    assert re.search(r'data-testid="kpi-status">Stale since 11/20/26<', page)
    # The KPI's own row never says "No data" (the composite indexes above it, with no
    # member measured today, may).
    kpi_row = scorecard[scorecard.index('data-testid="status-CS-SL"') :].split("</tr>")[0]
    assert "No data" not in kpi_row


def test_values_no_chart_can_hold_give_a_picture_that_says_so(
    org, as_user, client_for, session
) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(
        fiona,
        org,
        code="CS-SL",
        rules=["spc_beyond_3_sigma"],
        warning_limit=None,
        breach_limit=None,
        target=0.0,
    )
    # Stored before ingest refused such values (they cannot come in any more).
    session.execute(
        insert(Measurement),
        [
            {
                "kpi_id": kpi.id,
                "at": days_ago(30 - i),
                "value": 1e308 * (-1) ** i,
                "received_at": NOW,
            }
            for i in range(25)
        ],
    )
    session.commit()

    page = client_for("fiona").client.get("/kpis/1?days=30")

    assert page.status_code == 200
    assert "too far apart to draw" in svg(page.text, "run-chart chart-empty")
    assert 'data-state="unusable"' in page.text
    assert client_for("vera").client.get("/kpis").status_code == 200


def test_a_csv_with_a_value_past_the_bound_is_refused_with_the_bound(org, as_user) -> None:
    fiona = as_user(org.fiona)
    a_kpi(fiona, org, code="CS-SL")
    rows = kpis.rows_from_csv("kpi,at,value\nCS-SL,2026-11-20T00:00:00Z," + "9" * 308 + "\n")
    with pytest.raises(Invalid) as refused:
        kpis.ingest(fiona, rows)
    assert "between -1e15 and 1e15" in refused.value.reasons[0].message
