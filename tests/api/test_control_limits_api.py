"""Phase I and recalculated limits through the API: a script reviews a KPI's baseline,
excludes a special cause with a reason, freezes the limits, and accepts the limits a
closed effective cycle proposes; bad bodies are refused with reasons."""

from datetime import timedelta

import pytest
from pytest import approx

from pdca.engine.detection import D2
from pdca.services import kpis
from tests.api.test_kpis_api import ok, refused
from tests.conftest import NOW
from tests.services.test_control_limits import (
    alternating,
    an_effective_cycle_on,
    with_a_special_cause,
)
from tests.services.test_kpis import daily


@pytest.fixture
def api(tokens, auth):
    return lambda persona: auth(tokens[persona])


def test_a_script_reviews_the_baseline_excludes_a_point_and_freezes(
    client, api, org, as_user
) -> None:
    kpi = with_a_special_cause(as_user, org)
    url = f"/api/v1/kpis/{kpi.id}"

    review = ok(client.get(f"{url}/baseline", headers=api("vera")))
    assert len(review["points"]) == 20 and not any(p["excluded"] for p in review["points"])
    assert review["computed"]["centre"] == approx(103.5)
    outage = next(p for p in review["points"] if p["value"] == 130.0)

    excluded = ok(
        client.post(
            f"{url}/baseline/exclusions",
            json={"at": outage["at"], "reason": "Phone outage", "version": review["version"]},
            headers=api("fiona"),
        )
    )
    [point] = [p for p in excluded["points"] if p["excluded"]]
    assert (point["reason"], point["excluded_by_id"]) == ("Phone outage", org.fiona.id)
    assert excluded["computed"]["centre"] == approx(102.2)
    assert excluded["computed"]["sigma"] == approx(4 / D2)

    frozen = ok(
        client.post(
            f"{url}/limits/freeze", json={"version": excluded["version"]}, headers=api("fiona")
        )
    )
    assert frozen["frozen"]["lcl"] == approx(102.2 - 12 / D2)
    assert (frozen["frozen"]["points"], frozen["frozen"]["frozen_by_id"]) == (20, org.fiona.id)
    spc = ok(client.get(f"{url}/spc", headers=api("vera")))
    assert spc["frozen"] is True and spc["limits"]["centre"] == approx(102.2)

    again = refused(
        client.post(
            f"{url}/baseline/inclusions",
            json={"at": outage["at"], "version": frozen["version"]},
            headers=api("fiona"),
        ),
        409,
    )
    assert "unfreeze them" in again["detail"]
    thawed = ok(
        client.post(
            f"{url}/limits/unfreeze",
            json={"version": frozen["version"], "note": "new review"},
            headers=api("admin"),
        )
    )
    assert thawed["frozen"] is None


def test_bad_phase_one_bodies_are_refused_with_reasons(client, api, org, as_user) -> None:
    kpi = with_a_special_cause(as_user, org)
    url = f"/api/v1/kpis/{kpi.id}/baseline/exclusions"
    at = (NOW - timedelta(days=31)).isoformat()

    refused(
        client.post(url, json={"at": at, "reason": "", "version": 1}, headers=api("fiona")), 422
    )
    refused(client.post(url, json={"at": at, "version": 1}, headers=api("fiona")), 422)
    refused(
        client.post(url, json={"at": at, "reason": "x", "version": "1"}, headers=api("fiona")),
        422,
    )
    refused(
        client.post(
            url, json={"at": at, "reason": "x", "version": 1, "extra": 1}, headers=api("fiona")
        ),
        422,
    )
    refused(
        client.post(
            url, json={"at": "yesterday", "reason": "x", "version": 1}, headers=api("fiona")
        ),
        422,
    )
    refused(client.post(url, json={"at": at, "reason": "x", "version": 1}, headers=api("mia")), 403)
    stale = refused(
        client.post(url, json={"at": at, "reason": "x", "version": 0 + 9}, headers=api("fiona")),
        409,
    )
    assert "changed by someone else" in stale["detail"]
    late = (NOW - timedelta(days=2)).isoformat()
    refused(
        client.post(url, json={"at": late, "reason": "x", "version": 1}, headers=api("fiona")), 422
    )


def test_a_script_accepts_the_limits_an_effective_cycle_proposes(
    client, api, org, as_user, clock
) -> None:
    fiona = as_user(org.fiona)
    kpi = kpis.create_kpi(
        fiona,
        code="CS-SL",
        name="Service level",
        department_id=org.cs,
        target=80.0,
        rules=["spc_beyond_3_sigma"],
    )
    kpis.ingest(fiona, daily("CS-SL", alternating(30), NOW - timedelta(days=60)))
    cycle = an_effective_cycle_on(org, as_user, clock, kpi)
    clock.advance(days=20)
    kpis.ingest(fiona, daily("CS-SL", alternating(12, 110.0, 116.0), NOW + timedelta(days=1)))
    url = f"/api/v1/kpis/{kpi.id}"

    review = ok(client.get(f"{url}/baseline", headers=api("vera")))
    [proposal] = review["proposals"]
    assert (proposal["cycle_key"], proposal["points"]) == (f"C-{cycle.id}", 12)
    assert proposal["centre"] == approx(113.0) and proposal["lcl"] == approx(113 - 18 / D2)

    accepted = ok(
        client.post(
            f"{url}/limits/recalculate",
            json={"cycle_id": cycle.id, "version": review["version"]},
            headers=api("fiona"),
        )
    )

    [step] = accepted["steps"]
    assert (step["cycle_id"], step["centre"], step["set_by_id"]) == (
        cycle.id,
        approx(113.0),
        org.fiona.id,
    )
    assert step["starts_at"].startswith(NOW.date().isoformat()) and accepted["proposals"] == []
    refused(
        client.post(
            f"{url}/limits/recalculate",
            json={"cycle_id": cycle.id, "version": accepted["version"]},
            headers=api("fiona"),
        ),
        409,
    )
