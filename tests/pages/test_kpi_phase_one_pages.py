"""Phase I and recalculated limits on a KPI's page, as a quality manager works them: she
reviews the baseline, excludes the outage with a reason, freezes the limits and sees the
point drawn apart; after an effective cycle she recalculates the limits from its change
and the chart shows the old limits before it and the new ones after (stepped lines)."""

import re
from datetime import timedelta

from pdca.services import control_limits, kpis, organisation
from tests.conftest import NOW
from tests.pages.test_kpi_pages import svg
from tests.services.test_control_limits import (
    alternating,
    an_effective_cycle_on,
    with_a_special_cause,
)
from tests.services.test_kpis import daily


def test_she_excludes_the_outage_and_freezes_the_limits(org, as_user, client_for) -> None:
    kpi = with_a_special_cause(as_user, org)
    fiona = client_for("fiona")
    page = fiona.client.get(f"/kpis/{kpi.id}?days=90").text
    assert 'data-state="computed"' in page and "centre 103.5" in page
    at = re.search(r'<td>130 %</td>.*?name="at" value="([^"]+)"', page, re.S).group(1)

    excluded = fiona.client.post(
        f"/kpis/{kpi.id}/baseline/exclude",
        data={"csrf_token": fiona.csrf, "version": kpi.version, "at": at, "reason": "Phone outage"},
        follow_redirects=False,
    )
    assert excluded.status_code == 303
    page = fiona.client.get(f"/kpis/{kpi.id}?days=90").text
    assert "centre 102.2" in page and "Phone outage" in page
    chart = svg(page, "control-chart")
    [mark] = re.findall(r'<g class="excluded" data-index="\d+"><title>([^<]+)</title>', chart)
    assert "130" in mark and "Excluded from the baseline: Phone outage" in mark
    version = re.search(
        r'action="/kpis/\d+/limits/freeze".*?name="version" value="(\d+)"', page, re.S
    )

    frozen = fiona.client.post(
        f"/kpis/{kpi.id}/limits/freeze",
        data={"csrf_token": fiona.csrf, "version": version.group(1)},
        follow_redirects=False,
    )
    assert frozen.status_code == 303
    page = fiona.client.get(f"/kpis/{kpi.id}").text
    assert 'data-state="frozen"' in page and "Frozen by Fiona Facilitator" in page
    assert "lower limit 91.56" in page
    assert "Unfreeze the limits" in page and "/baseline/exclude" not in page


def test_a_refused_exclusion_says_why_on_the_page(org, as_user, client_for) -> None:
    kpi = with_a_special_cause(as_user, org)
    fiona = client_for("fiona")
    at = (NOW - timedelta(days=31)).isoformat()

    answer = fiona.client.post(
        f"/kpis/{kpi.id}/baseline/exclude",
        data={"csrf_token": fiona.csrf, "version": kpi.version, "at": at, "reason": " "},
    )

    assert answer.status_code == 422
    assert "Say why the point is a special cause." in answer.text
    answer = fiona.client.post(
        f"/kpis/{kpi.id}/baseline/exclude",
        data={"csrf_token": fiona.csrf, "version": kpi.version, "at": "noon", "reason": "x"},
    )
    assert answer.status_code == 422


def test_members_read_the_baseline_but_decide_nothing(org, as_user, client_for) -> None:
    kpi = with_a_special_cause(as_user, org)
    mia = client_for("mia")

    page = mia.client.get(f"/kpis/{kpi.id}").text

    assert "The baseline: 20 points" in page
    assert "/baseline/exclude" not in page and "/limits/freeze" not in page
    answer = mia.client.post(
        f"/kpis/{kpi.id}/limits/freeze", data={"csrf_token": mia.csrf, "version": kpi.version}
    )
    assert answer.status_code == 403


def test_after_an_effective_cycle_she_recalculates_and_the_limits_step(
    org, as_user, clock, client_for
) -> None:
    fiona_ctx = as_user(org.fiona)
    kpi = kpis.create_kpi(
        fiona_ctx,
        code="CS-SL",
        name="Service level",
        unit="%",
        department_id=org.cs,
        target=80.0,
        rules=["spc_beyond_3_sigma"],
    )
    kpis.ingest(fiona_ctx, daily("CS-SL", alternating(30), NOW - timedelta(days=60)))
    cycle = an_effective_cycle_on(org, as_user, clock, kpi)
    clock.advance(days=20)
    kpis.ingest(fiona_ctx, daily("CS-SL", alternating(12, 110.0, 116.0), NOW + timedelta(days=1)))
    fiona = client_for("fiona")
    page = fiona.client.get(f"/kpis/{kpi.id}?days=90").text
    assert f"C-{cycle.id}" in page and "centre 113" in page
    assert "Recalculate limits from 11/25/26" in page

    answer = fiona.client.post(
        f"/kpis/{kpi.id}/limits/recalculate",
        data={"csrf_token": fiona.csrf, "version": kpi.version, "cycle_id": cycle.id},
        follow_redirects=False,
    )

    assert answer.status_code == 303
    page = fiona.client.get(f"/kpis/{kpi.id}?days=90").text
    assert 'data-testid="limit-step"' in page and "Recalculate limits from" not in page
    chart = svg(page, "control-chart")
    assert chart.count('class="step-line"') == 1 and "New limits" in chart
    # The old limits end at the change; the new ones run from it to the right edge.
    old_ucl = re.search(
        r'<g class="ref sigma3 ucl earlier"><line x1="([\d.]+)" y1="[\d.]+" x2="([\d.]+)"', chart
    )
    new_ucl = re.search(
        r'<g class="ref sigma3 ucl"><line x1="([\d.]+)" y1="[\d.]+" x2="([\d.]+)"', chart
    )
    assert float(old_ucl.group(2)) == float(new_ucl.group(1)) > float(old_ucl.group(1))
    assert "UCL 129" in chart  # 113 + 3 × 6 / 1.128 = 128.96
    assert control_limits.proposals(fiona_ctx, kpi) == []


def test_the_phase_one_card_speaks_chinese(org, as_user, client_for) -> None:
    kpi = with_a_special_cause(as_user, org)
    organisation.set_locale(as_user(org.fiona), "zh_CN")
    fiona = client_for("fiona")

    page = fiona.client.get(f"/kpis/{kpi.id}").text

    card = page.split('<section class="card" id="phase-one"')[1].split("</section>")[0]
    words = re.sub(r"<[^>]+>", " ", card.split(">", 1)[1])  # what a reader sees
    assert "基线" in words and "冻结这些控制限" in words and "排除" in words
    assert not re.search(r"[A-Za-z]{4,}", words.replace("Fiona Facilitator", ""))
