"""Monitoring through the API: a script resolves a recovered KPI problem as the page's
button does, and reads whether the KPI's SPC can be trusted."""

from datetime import timedelta

import pytest
from sqlmodel import select

from pdca.models import Problem
from pdca.services import kpis
from pdca.services.kpis import RowIn
from tests.api.test_kpis_api import ok, refused
from tests.conftest import NOW


@pytest.fixture
def api(tokens, auth):
    """api("fiona") -> her Authorization header."""
    return lambda persona: auth(tokens[persona])


def a_kpi(ctx, org, **values):
    return kpis.create_kpi(
        ctx,
        **{
            "code": "CS-SL",
            "name": "Service level",
            "department_id": org.cs,
            "target": 80.0,
            "warning_limit": 75.0,
            "breach_limit": 70.0,
            "rules": ["limit_breach"],
            "recovery_periods": 3,
            **values,
        },
    )


def feed(ctx, values, days_before):
    start = NOW - timedelta(days=days_before)
    kpis.ingest(
        ctx, [RowIn(i + 1, "CS-SL", start + timedelta(days=i), v) for i, v in enumerate(values)]
    )


def test_a_facilitator_resolves_a_recovered_kpi_problem_through_the_api(
    client, api, org, as_user, session
) -> None:
    fiona = as_user(org.fiona)
    a_kpi(fiona, org)
    feed(fiona, [65.0, 82.0], 10)
    problem = session.exec(select(Problem)).one()
    url = f"/api/v1/problems/{problem.id}/resolve-recovered"

    early = refused(client.post(url, json={"version": 1}, headers=api("fiona")), 409)
    assert "only 1 of the 3 latest periods" in early["detail"]
    feed(fiona, [83.0, 84.0], 7)
    refused(client.post(url, json={"version": 9}, headers=api("fiona")), 409)
    refused(client.post(url, json={"version": 1}, headers=api("mia")), 403)

    resolved = ok(client.post(url, json={"version": 1, "note": "back"}, headers=api("fiona")))

    assert (resolved["status"], resolved["version"]) == ("resolved", 2)
    trail = ok(
        client.get(
            "/api/v1/events",
            params={"entity_type": "problem", "entity_id": problem.id},
            headers=api("fiona"),
        )
    )
    assert [(e["verb"], e["note"]) for e in trail["items"]][-1] == ("resolved", "back")


def test_the_api_says_when_spc_is_off_or_weak(client, api, org, as_user) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org, rules=["spc_beyond_3_sigma", "spc_trend_6"])
    url = f"/api/v1/kpis/{kpi.id}/spc"

    missing = ok(client.get(url, headers=api("vera")))
    assert (missing["state"], missing["warning"], missing["limits"]) == ("missing", True, None)

    feed(fiona, [100.0 if i % 2 else 104.0 for i in range(30)], 31)
    weak = ok(client.get(url, headers=api("vera")))
    assert (weak["state"], weak["warning"], weak["baseline_points"]) == ("weak", True, 20)
    assert weak["false_alarm_every"] < weak["false_alarm_every_recommended"]
    assert weak["rules"] == ["spc_beyond_3_sigma", "spc_trend_6"]
    assert weak["limits"]["centre"] == 102.0
    assert weak["limits"]["mr_bar"] == 4.0
    assert abs(weak["limits"]["mr_ucl"] - 13.068) < 1e-9
    assert abs(weak["limits"]["ucl"] - (102 + 3 * 4 / 1.128)) < 1e-9
