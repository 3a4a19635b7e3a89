"""KPIs through the HTTP API, as a monitoring system or a script sees them.

Bearer tokens per persona come from tests/api/conftest.py. Points are dated before
the test clock's "now" (2026-11-25 09:00 UTC): a point in the future is refused.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from pdca.models import Measurement, Problem
from tests.conftest import NOW, Org

PROBLEM_JSON = "application/problem+json"
Auth = Callable[[str | None], dict[str, str]]


def iso(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")


def ok(response, status: int = 200):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def refused(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def messages(body: dict) -> list[str]:
    return [r["message"] for r in body.get("reasons", [])]


def points_stored(engine) -> int:
    with Session(engine) as reader:
        return reader.exec(select(func.count()).select_from(Measurement)).one()


KPI = {
    "code": "cs-sl",
    "name": "Service level (calls answered in 20 s)",
    "unit": "%",
    "perspective": "customer",
    "direction": "higher",
    "target": 80,
    "warning_limit": 75,
    "breach_limit": 70,
    "rules": ["limit_breach", "missing_data"],
}


@pytest.fixture
def api(client: TestClient, tokens: dict[str, str], auth: Auth) -> Callable[..., dict[str, str]]:
    """api("fiona") -> her Authorization header."""

    def headers(persona: str) -> dict[str, str]:
        return auth(tokens[persona])

    return headers


@pytest.fixture
def kpi(client: TestClient, api, org: Org) -> dict:
    return ok(
        client.post("/api/v1/kpis", json={**KPI, "department_id": org.cs}, headers=api("fiona")),
        201,
    )


def test_a_facilitator_creates_a_kpi_and_reads_it_back(client, api, org, kpi) -> None:
    assert kpi["code"] == "CS-SL"
    assert (kpi["target"], kpi["warning_limit"], kpi["breach_limit"]) == (80, 75, 70)
    assert (kpi["interval_hours"], kpi["version"], kpi["active"]) == (24, 1, True)
    assert ok(client.get(f"/api/v1/kpis/{kpi['id']}", headers=api("vera"))) == kpi
    listed = ok(client.get("/api/v1/kpis", params={"q": "service"}, headers=api("mia")))
    assert (listed["total"], [k["code"] for k in listed["items"]]) == (1, ["CS-SL"])

    changed = ok(
        client.patch(
            f"/api/v1/kpis/{kpi['id']}",
            json={"version": 1, "target": 85, "note": "raised"},
            headers=api("hanna"),
        )
    )
    assert (changed["target"], changed["version"]) == (85, 2)
    stale = client.patch(
        f"/api/v1/kpis/{kpi['id']}", json={"version": 1, "target": 90}, headers=api("fiona")
    )
    refused(stale, 409)
    events = ok(
        client.get(
            "/api/v1/events",
            params={"entity_type": "kpi", "entity_id": kpi["id"]},
            headers=api("fiona"),
        )
    )
    trail = [(e["verb"], e["field"], e["actor_id"]) for e in events["items"]]
    assert trail == [("created", None, org.fiona.id), ("field_changed", "target", org.hanna.id)]


def test_a_kpi_with_limits_on_the_good_side_is_422_with_the_reasons(client, api, org) -> None:
    body = refused(
        client.post(
            "/api/v1/kpis",
            json={**KPI, "department_id": org.cs, "warning_limit": 85, "breach_limit": 90},
            headers=api("fiona"),
        ),
        422,
    )
    assert messages(body) == [
        "warning_limit: must be below the target when higher is better.",
        "breach_limit: must be below the warning limit (and the target).",
    ]
    body = refused(
        client.post(
            "/api/v1/kpis",
            json={**KPI, "department_id": org.cs, "rules": ["gut_feeling"]},
            headers=api("fiona"),
        ),
        422,
    )
    assert any("rules" in m for m in messages(body))


def test_kpi_codes_are_unique(client, api, org, kpi) -> None:
    again = client.post("/api/v1/kpis", json={**KPI, "department_id": org.it}, headers=api("fiona"))
    assert "CS-SL already exists" in refused(again, 409)["detail"]


def test_one_point_or_a_list_is_stored_and_a_point_sent_again_is_a_duplicate(
    client, api, kpi, engine
) -> None:
    url = f"/api/v1/kpis/{kpi['id']}/measurements"

    one = ok(client.post(url, json={"at": iso(3), "value": 83}, headers=api("mia")))
    assert (one["stored"], one["duplicates"], one["findings"]) == (1, 0, [])

    batch = [{"at": iso(d), "value": 80 + d} for d in (3, 2, 1)]
    many = ok(client.post(url, json=batch, headers=api("hanna")))
    assert (many["stored"], many["duplicates"]) == (2, 1)
    again = ok(client.post(url, json=batch[1:] + batch[1:], headers=api("fiona")))
    assert (again["stored"], again["duplicates"]) == (0, 4)
    assert points_stored(engine) == 3


def test_a_breach_sent_through_the_api_raises_a_problem_then_an_occurrence(
    client, api, kpi
) -> None:
    url = f"/api/v1/kpis/{kpi['id']}/measurements"
    first = ok(client.post(url, json={"at": iso(2), "value": 64}, headers=api("mia")))
    [problem_id] = first["problems_raised"]
    [finding] = first["findings"]
    assert (finding["kpi"], finding["rule"]) == ("CS-SL", "limit_breach")
    assert finding["reason"] == "64 is below the breach limit (70)."

    second = ok(client.post(url, json={"at": iso(1), "value": 66}, headers=api("mia")))
    assert (second["problems_raised"], second["occurrences_added"]) == ([], 1)
    problem = ok(client.get(f"/api/v1/problems/{problem_id}", headers=api("vera")))
    assert (problem["source"], problem["department_id"]) == ("kpi", kpi["department_id"])


def test_a_bad_batch_is_422_with_every_lines_reason_and_nothing_is_stored(
    client, api, kpi, engine
) -> None:
    url = f"/api/v1/kpis/{kpi['id']}/measurements"
    ok(client.post(url, json={"at": iso(5), "value": 81}, headers=api("mia")))
    future = (NOW + timedelta(days=2)).isoformat()

    body = refused(
        client.post(
            url,
            json=[
                {"at": iso(4), "value": 82},  # good
                {"at": "2026-11-22T09:00:00", "value": 82},  # no time zone
                {"at": future, "value": 82},
                {"at": iso(5), "value": 79},  # another value for a stored point
                {"at": iso(1), "value": 60},  # good (a breach)
            ],
            headers=api("mia"),
        ),
        422,
    )

    assert body["detail"] == "Nothing was stored: 3 line(s) are wrong."
    assert messages(body) == [
        "line 2: time '2026-11-22T09:00:00' has no time zone (add Z or +08:00).",
        f"line 3: {datetime.fromisoformat(future).isoformat()} is in the future.",
        f"line 4: CS-SL already has 81 at {(NOW - timedelta(days=5)).isoformat()}; "
        "a stored point is never replaced.",
    ]
    assert points_stored(engine) == 1
    with Session(engine) as reader:
        assert reader.exec(select(Problem)).first() is None


def test_a_chinese_caller_reads_each_bad_lines_reason_in_chinese(client, api, kpi, engine) -> None:
    url = f"/api/v1/kpis/{kpi['id']}/measurements"
    ok(client.post(url, json={"at": iso(5), "value": 81}, headers=api("mia")))

    body = refused(
        client.post(
            url,
            json=[{"at": iso(4), "value": 82}, {"at": iso(5), "value": 79}],
            headers={**api("mia"), "Accept-Language": "zh-CN"},
        ),
        422,
    )

    assert body["detail"] == "未保存任何数据：有 1 行有误。"
    assert messages(body) == [
        f"第 2 行：CS-SL 在 {(NOW - timedelta(days=5)).isoformat()} 已有值 81；"
        "已保存的数据点不会被替换。"
    ]
    assert [r["code"] for r in body["reasons"]] == ["invalid"]
    assert points_stored(engine) == 1


def test_values_and_times_that_are_not_numbers_and_times_are_422_by_line(
    client, api, kpi, engine
) -> None:
    url = f"/api/v1/kpis/{kpi['id']}/measurements"
    body = refused(
        client.post(
            url,
            json=[
                {"at": iso(3), "value": 81},
                {"at": "yesterday", "value": 81},
                {"at": iso(2), "value": "eighty"},
            ],
            headers=api("mia"),
        ),
        422,
    )
    reasons = body["reasons"]
    assert any(r["field"].endswith("1.at") for r in reasons), reasons
    assert any(r["field"].endswith("2.value") for r in reasons), reasons
    assert not any(r["field"].endswith("0.at") or r["field"].endswith("0.value") for r in reasons)
    refused(client.post(url, json={"at": iso(1), "value": "NaN"}, headers=api("mia")), 422)
    refused(client.post(url, json=[], headers=api("mia")), 422)
    assert points_stored(engine) == 0


def test_points_are_read_back_by_time_range(client, api, kpi) -> None:
    url = f"/api/v1/kpis/{kpi['id']}/measurements"
    ok(
        client.post(
            url, json=[{"at": iso(d), "value": 90 - d} for d in range(6)], headers=api("mia")
        )
    )

    everything = ok(client.get(url, headers=api("vera")))
    assert [p["value"] for p in everything] == [85, 86, 87, 88, 89, 90]  # oldest first
    ranged = ok(client.get(url, params={"from": iso(4), "to": iso(1)}, headers=api("vera")))
    assert [p["value"] for p in ranged] == [86, 87, 88]  # from inclusive, to exclusive
    assert datetime.fromisoformat(ranged[0]["at"]) == NOW - timedelta(days=4)
    assert [p["value"] for p in ok(client.get(url, params={"limit": 2}, headers=api("vera")))] == [
        89,
        90,
    ]
    backwards = client.get(url, params={"from": iso(1), "to": iso(4)}, headers=api("vera"))
    assert refused(backwards, 422)["detail"] == "'from' must be before 'to'."
    naive = client.get(url, params={"from": "2026-11-20T00:00:00"}, headers=api("vera"))
    refused(naive, 422)


def test_the_scorecard_and_the_pareto(client, api, org, kpi) -> None:
    it_kpi = ok(
        client.post(
            "/api/v1/kpis",
            json={
                **KPI,
                "code": "IT-AVAIL",
                "name": "Availability",
                "department_id": org.it,
                "perspective": "internal_process",
                "target": 99.5,
                "warning_limit": 99,
                "breach_limit": 98,
            },
            headers=api("ivan"),
        ),
        201,
    )
    for body, token in (
        ([{"at": iso(2), "value": 85}, {"at": iso(1), "value": 72}], "mia"),
        ([{"at": iso(1), "value": 97}], "max"),
    ):
        target = kpi if token == "mia" else it_kpi
        ok(client.post(f"/api/v1/kpis/{target['id']}/measurements", json=body, headers=api(token)))
    ok(
        client.post(
            "/api/v1/problems",
            json={"title": "Rude answer", "source": "complaint", "department_id": org.cs},
            headers=api("mia"),
        ),
        201,
    )

    card = ok(client.get("/api/v1/scorecard", headers=api("vera")))
    assert set(card) == {"financial", "customer", "internal_process", "learning_growth"}
    [cs] = card["customer"]
    assert (cs["kpi"]["code"], cs["status"], cs["latest"]["value"], cs["trend"]) == (
        "CS-SL",
        "warning",
        72,
        [85, 72],
    )
    [it] = card["internal_process"]
    assert (it["kpi"]["code"], it["status"], it["open_problems"]) == ("IT-AVAIL", "breach", 1)
    only_it = ok(
        client.get("/api/v1/scorecard", params={"department_id": org.it}, headers=api("vera"))
    )
    assert only_it["customer"] == [] and len(only_it["internal_process"]) == 1

    def bars(by: str) -> list:
        body = ok(client.get("/api/v1/pareto", params={"by": by}, headers=api("vera")))
        assert body["by"] == by
        return [(bar["label"], bar["count"]) for bar in body["bars"]]

    assert bars("source") == [("complaint", 1), ("kpi", 1)]
    assert bars("department") == [("CS", 1), ("IT", 1)]
    assert bars("kpi") == [("IT-AVAIL", 1)]
    refused(client.get("/api/v1/pareto", params={"by": "weather"}, headers=api("vera")), 422)


def test_who_may_do_what_with_kpis(client, api, org, kpi, engine) -> None:
    url = f"/api/v1/kpis/{kpi['id']}/measurements"
    point = {"at": iso(1), "value": 81}
    it_kpi = {**KPI, "code": "IT-UP", "department_id": org.it}

    refused(
        client.post(
            "/api/v1/kpis", json={**KPI, "code": "V", "department_id": org.cs}, headers=api("vera")
        ),
        403,
    )
    refused(
        client.post(
            "/api/v1/kpis", json={**KPI, "code": "M", "department_id": org.cs}, headers=api("mia")
        ),
        403,
    )
    refused(
        client.post("/api/v1/kpis", json=it_kpi, headers=api("hanna")), 403
    )  # not her department
    refused(
        client.patch(
            f"/api/v1/kpis/{kpi['id']}", json={"version": 1, "target": 90}, headers=api("ivan")
        ),
        403,
    )
    refused(client.post(url, json=point, headers=api("vera")), 403)  # a viewer
    refused(client.post(url, json=point, headers=api("max")), 403)  # IT member, CS KPI
    refused(client.post(url, json=[point], headers=api("ivan")), 403)  # IT head, CS KPI
    assert points_stored(engine) == 0
    ok(client.post(url, json=point, headers=api("mia")))  # CS member: her department's KPI
    refused(client.post(url, json=point), 401)
    assert ok(client.get(url, headers=api("vera")))[0]["value"] == 81  # everyone reads


def test_an_unknown_kpi_is_404(client, api, kpi) -> None:
    for response in (
        client.get("/api/v1/kpis/999999", headers=api("fiona")),
        client.patch("/api/v1/kpis/999999", json={"version": 1, "target": 1}, headers=api("fiona")),
        client.get("/api/v1/kpis/999999/measurements", headers=api("fiona")),
        client.post(
            "/api/v1/kpis/999999/measurements",
            json={"at": iso(1), "value": 1},
            headers=api("fiona"),
        ),
    ):
        assert "KPI 999999" in refused(response, 404)["detail"]
