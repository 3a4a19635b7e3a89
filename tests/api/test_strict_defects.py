"""The defects an outside client and Schemathesis found: each answer is a clear 4xx
(problem+json with its reason), never a 500, never a value quietly turned into another.

Requests that must be sent as raw bytes (a lone surrogate cannot be encoded as UTF-8
by httpx) go through `raw()`.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from pdca.models import Cycle, Kpi, Problem
from pdca.services import kpis
from pdca.services.errors import Invalid
from tests.api.conftest import World
from tests.conftest import NOW, Org

PROBLEM_JSON = "application/problem+json"
Auth = Callable[[str | None], dict[str, str]]


@pytest.fixture
def admin(tokens, auth) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return auth(tokens["admin"])


def refused(response, status: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    return response.json()


def raw(client: TestClient, method: str, url: str, body: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.request(
        method,
        url,
        content=body.encode("ascii"),
        headers={**headers, "Content-Type": "application/json"},
    )


def version_of(client: TestClient, url: str, headers: dict[str, str]) -> int:
    return int(client.get(url, headers=headers).json()["version"])


# --- an unknown owner on a KPI ---------------------------------------------------------


@pytest.mark.parametrize(("owner", "status"), [(999_999, 404), (0, 422), (False, 422)])
def test_a_kpi_given_an_owner_who_does_not_exist_is_refused_not_a_server_error(
    client: TestClient, world: World, admin: dict[str, str], owner: Any, status: int
) -> None:
    url = f"/api/v1/kpis/{world.kpi}"
    version = version_of(client, url, admin)
    response = client.patch(url, json={"version": version, "owner_id": owner}, headers=admin)
    refused(response, status)
    assert version_of(client, url, admin) == version


# --- lone surrogates in phase fields ---------------------------------------------------


@pytest.mark.parametrize(
    "fields", ['{"objective": "x\\udfff"}', '{"x\\udfff": "y"}', '{"objective": "\\ud800"}']
)
def test_a_lone_surrogate_in_a_phase_field_is_invalid_input(
    client: TestClient, world: World, admin: dict[str, str], fields: str
) -> None:
    url = f"/api/v1/cycles/{world.cycle}"
    version = version_of(client, url, admin)
    body = f'{{"version": {version}, "fields": {fields}}}'
    refused(raw(client, "PATCH", url, body, admin), 422)
    opened = (
        f'{{"title": "t", "workflow": "pdca", "lead_id": 1, '
        f'"problem_ids": [{world.problem}], "fields": {fields}}}'
    )
    refused(raw(client, "POST", "/api/v1/cycles", opened, admin), 422)
    # The connection is still good: the next request is answered.
    assert client.get(url, headers=admin).json()["version"] == version


# --- a permanent error is not a 503 ----------------------------------------------------


@pytest.mark.parametrize(
    "collection", ["problems", "cycles", "actions", "users", "departments", "kpis", "board"]
)
def test_a_search_text_too_long_for_any_title_is_invalid_not_busy(
    client: TestClient, world: World, admin: dict[str, str], collection: str
) -> None:
    response = client.get(f"/api/v1/{collection}", params={"q": "x" * 60_000}, headers=admin)
    body = refused(response, 422)
    assert "Retry-After" not in response.headers
    assert any(r["field"] == "q" for r in body["reasons"])


# --- a boolean is not an id, a number or a date ----------------------------------------


def test_true_is_not_the_administrator_as_the_lead_of_a_new_cycle(
    client: TestClient, world: World, admin: dict[str, str], engine
) -> None:
    body = {"title": "A cycle", "workflow": "pdca", "lead_id": True, "problem_ids": [world.problem]}
    refused(client.post("/api/v1/cycles", json=body, headers=admin), 422)
    with Session(engine) as reader:
        assert reader.exec(select(Cycle).where(Cycle.title == "A cycle")).first() is None


def test_true_is_not_an_owner_of_a_kpi_or_of_an_action(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    for url in (f"/api/v1/kpis/{world.kpi}", f"/api/v1/actions/{world.action_cs}"):
        version = version_of(client, url, admin)
        refused(client.patch(url, json={"version": version, "owner_id": True}, headers=admin), 422)
        refused(client.patch(url, json={"version": True, "owner_id": None}, headers=admin), 422)


def test_false_is_not_a_measurement_of_zero(
    client: TestClient, world: World, admin: dict[str, str], engine
) -> None:
    at = (NOW - timedelta(hours=1)).isoformat()
    url = f"/api/v1/kpis/{world.kpi}/measurements"
    refused(client.post(url, json={"at": at, "value": False}, headers=admin), 422)
    refused(client.post(url, json={"at": 0, "value": 80}, headers=admin), 422)
    with Session(engine) as reader:
        assert reader.exec(select(Problem).where(Problem.kpi_id == world.kpi)).first() is None


def test_true_is_not_a_baseline_of_one(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    url = f"/api/v1/cycles/{world.cycle}"
    version = version_of(client, url, admin)
    refused(
        client.patch(url, json={"version": version, "fields": {"baseline": True}}, headers=admin),
        422,
    )
    assert client.get(url, headers=admin).json()["fields"]["baseline"] == 15


@pytest.mark.parametrize("value", ["1_000", "１２", "0x1f", " ", "1e400"])
def test_a_csv_value_that_is_not_a_plain_number_is_refused(
    world: World, as_user, value: str
) -> None:  # type: ignore[no-untyped-def]
    rows = kpis.rows_from_csv(f"kpi,at,value\nCS-SL,2026-11-24T08:00:00Z,{value}\n")
    with pytest.raises(Invalid) as refusal:
        kpis.ingest(as_user(None), rows)
    assert "is not a number" in refusal.value.reasons[0].message


@pytest.mark.parametrize(
    ("method", "url", "payload"),
    [
        ("post", "/api/v1/tokens", {"name": "t", "can_sign": 0}),
        (
            "post",
            "/api/v1/problems/{problem}/triage",
            {"decision": "duplicate", "duplicate_of": False},
        ),
        ("patch", "/api/v1/kpis/{kpi}", {"version": 0, "active": 0}),
        ("post", "/api/v1/cycles/{cycle}/effectiveness", {"effective": 1, "version": 0}),
        ("post", "/api/v1/kpis", {"code": "X", "name": "x", "department_id": True, "target": 1}),
    ],
)
def test_a_body_of_the_wrong_type_is_refused(
    client: TestClient, world: World, admin: dict[str, str], method: str, url: str, payload: dict
) -> None:
    url = url.format(problem=world.problem, kpi=world.kpi, cycle=world.cycle_in_check)
    refused(getattr(client, method)(url, json=payload, headers=admin), 422)


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("/api/v1/actions", {"due_before": "0"}),
        ("/api/v1/board", {"due_before": "20261201"}),
        ("/api/v1/pareto", {"since": "0.5"}),
        ("/api/v1/kpis", {"active": "0"}),
        ("/api/v1/actions", {"overdue": "yes"}),
        ("/api/v1/cycles", {"escalated": "1"}),
        ("/api/v1/kpis/{kpi}/measurements", {"from": "1"}),
    ],
)
def test_a_query_of_the_wrong_type_is_refused(
    client: TestClient, world: World, admin: dict[str, str], url: str, params: dict[str, str]
) -> None:
    refused(client.get(url.format(kpi=world.kpi), params=params, headers=admin), 422)


def test_plain_booleans_and_dates_in_a_query_are_still_understood(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    found = client.get(
        "/api/v1/actions", params={"overdue": "false", "due_before": "2027-01-01"}, headers=admin
    )
    assert found.status_code == 200 and found.json()["total"] >= 1
    since = client.get("/api/v1/pareto", params={"since": "2026-01-01T00:00:00Z"}, headers=admin)
    assert since.status_code == 200


# --- search wildcards ------------------------------------------------------------------


@pytest.mark.parametrize("wildcard", ["%", "_", "\\"])
def test_a_search_for_a_wildcard_finds_only_titles_that_hold_it(
    client: TestClient, world: World, admin: dict[str, str], wildcard: str
) -> None:
    # /actions reads the board's search language, quoted like a shell: there a lone
    # backslash is an escape with nothing after it (422, with the reason).
    collections = ("problems", "cycles", "kpis", "users") + (("actions",) * (wildcard != "\\"))
    for collection in collections:
        response = client.get(f"/api/v1/{collection}", params={"q": wildcard}, headers=admin)
        assert response.status_code == 200, (collection, response.text)
        assert response.json()["total"] == 0, collection
    body = {"title": f"Refunds 100{wildcard} late", "source": "complaint"}
    assert client.post("/api/v1/problems", json=body, headers=admin).status_code == 201
    found = client.get("/api/v1/problems", params={"q": wildcard}, headers=admin).json()
    assert [p["title"] for p in found["items"]] == [body["title"]]


# --- bounds ----------------------------------------------------------------------------


def test_a_phase_field_holds_at_most_ten_thousand_characters(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    url = f"/api/v1/cycles/{world.cycle}"
    version = version_of(client, url, admin)
    huge = {"version": version, "fields": {"objective": "x" * 1_000_000}}
    refused(client.patch(url, json=huge, headers=admin), 422)
    fits = {"version": version, "fields": {"objective": "x" * 10_000}}
    assert client.patch(url, json=fits, headers=admin).status_code == 200


def test_an_effectiveness_window_of_millions_of_days_is_refused(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    url = f"/api/v1/cycles/{world.cycle}"
    version = version_of(client, url, admin)
    far = {"version": version, "fields": {"effectiveness_window_days": 999_999_999}}
    body = refused(client.patch(url, json=far, headers=admin), 422)
    assert "3650" in body["detail"] + str(body.get("reasons"))


def test_a_measurement_dated_in_antiquity_is_refused(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    url = f"/api/v1/kpis/{world.kpi}/measurements"
    refused(client.post(url, json={"at": "0314-05-01T00:00:00Z", "value": 80}, headers=admin), 422)


def test_the_schema_states_the_bounds(client: TestClient) -> None:
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    update = schemas["CycleUpdate"]["properties"]["fields"]
    assert update["propertyNames"]["maxLength"] == 50
    assert "maxLength" in str(update["additionalProperties"])
    lead = schemas["CycleCreate"]["properties"]["lead_id"]
    assert lead["type"] == "integer" and lead["minimum"] == 1


# --- the same rule everywhere ----------------------------------------------------------


def test_a_problem_cannot_be_a_duplicate_of_a_rejected_one(
    client: TestClient, world: World, admin: dict[str, str], org: Org
) -> None:
    other = client.post(
        "/api/v1/problems", json={"title": "Wrong report", "source": "internal"}, headers=admin
    ).json()
    client.post(
        f"/api/v1/problems/{other['id']}/triage",
        json={"decision": "reject", "reason": "Not a problem"},
        headers=admin,
    )
    response = client.post(
        f"/api/v1/problems/{world.problem}/triage",
        json={"decision": "duplicate", "duplicate_of": other["id"]},
        headers=admin,
    )
    body = refused(response, 422)
    assert "rejected" in body["detail"]


def test_comments_on_an_action_that_does_not_exist_are_not_found_either_way(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    params = {"entity_type": "action", "entity_id": 987_654_321}
    refused(client.get("/api/v1/comments", params=params, headers=admin), 404)
    body = {**params, "body": "hello"}
    refused(client.post("/api/v1/comments", json=body, headers=admin), 404)


def test_an_unknown_trigger_is_invalid_input_not_a_refusal(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    url = f"/api/v1/cycles/{world.cycle}"
    version = version_of(client, url, admin)
    response = client.post(
        f"{url}/transitions", json={"trigger": "bogus", "version": version}, headers=admin
    )
    body = refused(response, 422)
    assert body["type"].endswith("/invalid-input")


# --- methods ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("/api/v1/problems", {"GET", "HEAD", "POST"}),
        ("/api/v1/actions/{action}", {"GET", "HEAD", "PATCH"}),
        ("/api/v1/actions/{action}/dependencies", {"POST", "PUT"}),
        ("/api/v1/session", {"POST", "DELETE"}),
        ("/api/v1/workflows", {"GET", "HEAD"}),
    ],
)
def test_a_method_not_allowed_names_every_allowed_one(
    client: TestClient, world: World, admin: dict[str, str], url: str, allowed: set[str]
) -> None:
    url = url.format(action=world.action_cs)
    response = client.request("OPTIONS", url, headers=admin)
    refused(response, 405)
    assert set(response.headers["allow"].split(", ")) == allowed


def test_head_answers_like_get_without_a_body(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    got = client.get(f"/api/v1/problems/{world.problem}", headers=admin)
    head = client.head(f"/api/v1/problems/{world.problem}", headers=admin)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == got.headers["content-type"]


# --- problem types ---------------------------------------------------------------------


def test_each_kind_of_error_has_its_own_documented_type(
    client: TestClient, world: World, admin: dict[str, str], tokens, auth, engine
) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/cycles/{world.cycle}"
    version = version_of(client, url, admin)
    kinds = {
        "stale-version": client.patch(
            url, json={"version": version + 5, "fields": {}}, headers=admin
        ),
        "transition-refused": client.post(
            f"{url}/transitions", json={"trigger": "start_check", "version": version}, headers=admin
        ),
        "invalid-input": client.patch(url, json={"version": "x"}, headers=admin),
        "not-found": client.get("/api/v1/cycles/999999", headers=admin),
        "forbidden": client.post(
            "/api/v1/departments", json={"code": "QA", "name": "QA"}, headers=auth(tokens["mia"])
        ),
        "not-authenticated": client.get("/api/v1/cycles"),
        "method-not-allowed": client.delete("/api/v1/problems", headers=admin),
    }
    for kind, response in kinds.items():
        body = response.json()
        assert body["type"] == f"/api/v1/errors/{kind}", (kind, body)
        doc = client.get(body["type"])
        assert doc.status_code == 200, kind
        assert doc.json()["status"] == response.status_code, kind
    with Session(engine) as reader:
        assert reader.exec(select(Kpi)).first() is not None


def test_a_query_parameter_the_operation_does_not_know_is_refused_not_ignored(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    response = client.get("/api/v1/actions", params={"overdue_only": "true"}, headers=admin)
    body = refused(response, 422)
    assert "overdue_only" in body["detail"]
    assert (
        client.get("/api/v1/actions", params={"overdue": "true"}, headers=admin).status_code == 200
    )


def test_a_parameter_that_takes_one_value_is_refused_when_given_twice(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    twice = client.get("/api/v1/cycles?q=noon&q=queue", headers=admin)
    assert "'q'" in refused(twice, 422)["detail"]
    several_states = client.get("/api/v1/cycles?state=plan&state=do", headers=admin)
    assert several_states.status_code == 200, several_states.text


def test_a_state_is_a_name_as_the_workflows_write_it(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    refused(client.get("/api/v1/cycles", params={"state": "0.0"}, headers=admin), 422)
