"""What a service desk, a BI tool or a script needs from the API beyond the pages:
editing, where a new thing lives, versions as HTTP knows them, the board's search
language, and reading the audit trail page by page."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from pdca.services import kpis
from tests.api.conftest import World
from tests.conftest import Org

PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def admin(tokens, auth) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return auth(tokens["admin"])


def ok(response, status: int = 200) -> Any:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    return response.json()


# --- editing ---------------------------------------------------------------------------


def test_a_facilitator_corrects_a_problem_and_the_trail_keeps_what_it_was(
    client: TestClient,
    world: World,
    org: Org,
    tokens,
    auth,  # type: ignore[no-untyped-def]
) -> None:
    fiona = auth(tokens["fiona"])
    url = f"/api/v1/problems/{world.problem}"
    read = ok(client.get(url, headers=fiona))
    body = {
        "version": read["version"],
        "title": "Callers wait too long at noon",
        "severity": "critical",
        "department_id": org.it,
        "note": "IT's phone system drops the queue",
    }
    changed = ok(client.patch(url, json=body, headers=fiona))
    assert (changed["title"], changed["severity"], changed["department_id"]) == (
        "Callers wait too long at noon",
        "critical",
        org.it,
    )
    trail = ok(
        client.get(
            "/api/v1/events",
            params={"entity_type": "problem", "entity_id": world.problem},
            headers=fiona,
        )
    )
    titles = [e for e in trail["items"] if e["field"] == "title"]
    assert titles[-1]["from_value"] == "Callers wait too long at lunchtime"
    # Mia (a member) reports problems but does not rewrite them.
    mia = auth(tokens["mia"])
    stale = client.patch(url, json={"version": changed["version"], "title": "x"}, headers=mia)
    assert stale.status_code == 403


def test_a_lead_renames_a_cycle_hands_it_over_and_sets_its_team(
    client: TestClient,
    world: World,
    org: Org,
    tokens,
    auth,  # type: ignore[no-untyped-def]
) -> None:
    fiona = auth(tokens["fiona"])
    url = f"/api/v1/cycles/{world.cycle}"
    read = ok(client.get(url, headers=fiona))
    assert read["member_ids"] == [org.fiona.id]
    assert read["failed_iterations"] == 0
    body = {
        "version": read["version"],
        "title": "Refunds within five days",
        "lead_id": org.hanna.id,
        "member_ids": [org.mia.id, org.max.id],
    }
    changed = ok(client.patch(url, json=body, headers=fiona))
    assert changed["title"] == "Refunds within five days"
    assert changed["lead_id"] == org.hanna.id
    assert sorted(changed["member_ids"]) == sorted([org.hanna.id, org.mia.id, org.max.id])
    assert changed["version"] == read["version"] + 1


def test_an_administrator_renames_a_department_and_deactivates_a_user(
    client: TestClient,
    world: World,
    org: Org,
    admin: dict[str, str],
    tokens,
    auth,  # type: ignore[no-untyped-def]
) -> None:
    department = ok(client.get(f"/api/v1/departments/{org.it}", headers=admin))
    renamed = ok(
        client.patch(
            f"/api/v1/departments/{org.it}",
            json={"version": department["version"], "name": "Information Technology"},
            headers=admin,
        )
    )
    assert renamed["name"] == "Information Technology" and renamed["code"] == "IT"

    max_ = ok(client.get(f"/api/v1/users/{org.max.id}", headers=admin))
    moved = ok(
        client.patch(
            f"/api/v1/users/{org.max.id}",
            json={"version": max_["version"], "role": "head"},
            headers=admin,
        )
    )
    assert moved["role"] == "head"
    gone = ok(
        client.post(
            f"/api/v1/users/{org.max.id}/deactivate",
            json={"version": moved["version"]},
            headers=admin,
        )
    )
    assert gone["active"] is False
    assert client.get("/api/v1/users/me", headers=auth(tokens["max"])).status_code == 401


def test_a_kpi_is_retired_and_brought_back(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    url = f"/api/v1/kpis/{world.kpi_it}"
    version = ok(client.get(url, headers=admin))["version"]
    retired = ok(client.patch(url, json={"version": version, "active": False}, headers=admin))
    assert retired["active"] is False
    listed = ok(client.get("/api/v1/kpis", headers=admin))["items"]
    assert world.kpi_it not in [k["id"] for k in listed]


# --- where things live, and which version they are -------------------------------------


def test_a_new_problem_says_where_it_lives_and_which_version_it_is(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    response = client.post(
        "/api/v1/problems", json={"title": "Queue lost", "source": "internal"}, headers=admin
    )
    assert response.status_code == 201
    location = response.headers["location"]
    assert location == f"/api/v1/problems/{response.json()['id']}"
    read = client.get(location, headers=admin)
    assert read.headers["etag"] == f'W/"{read.json()["version"]}"'


def test_if_match_stands_in_for_the_version_and_a_stale_one_is_412(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    url = f"/api/v1/actions/{world.action_cs}"
    tag = client.get(url, headers=admin).headers["etag"]
    changed = client.patch(
        url, json={"title": "Approve at the counter"}, headers={**admin, "If-Match": tag}
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] != tag
    stale = client.patch(url, json={"title": "Again"}, headers={**admin, "If-Match": tag})
    assert stale.status_code == 412
    assert stale.json()["type"] == "/api/v1/errors/precondition-failed"
    # The same stale version in the body is the 409 it always was.
    old = int(tag.strip('W/"'))
    assert client.patch(url, json={"version": old, "title": "x"}, headers=admin).status_code == 409
    # Neither a version nor If-Match: the client must say what it read.
    assert client.patch(url, json={"title": "x"}, headers=admin).status_code == 422


# --- problems raised by KPIs -----------------------------------------------------------


def test_a_problem_raised_by_a_kpi_names_it_and_lists_each_occurrence(
    client: TestClient,
    world: World,
    admin: dict[str, str],
    as_user,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    from datetime import timedelta

    kpis.update_kpi(as_user(None), world.kpi, version=None, changes={"rules": ["limit_breach"]})
    for hours in (5, 3):
        kpis.ingest(
            as_user(None), [kpis.RowIn(1, world.kpi, clock.now - timedelta(hours=hours), 60.0)]
        )
    raised = ok(client.get("/api/v1/problems", params={"source": "kpi"}, headers=admin))["items"]
    assert len(raised) == 1
    problem = raised[0]
    assert problem["kpi_id"] == world.kpi
    assert problem["occurrences"] == len(problem["occurrence_list"]) == 2
    assert {o["rule"] for o in problem["occurrence_list"]} == {"limit_breach"}


# --- the board's search language on /actions --------------------------------------------


def test_the_board_search_language_filters_the_action_list(
    client: TestClient,
    world: World,
    tokens,
    auth,  # type: ignore[no-untyped-def]
) -> None:
    mia = auth(tokens["mia"])
    mine = ok(client.get("/api/v1/actions", params={"q": "owner:me dept:CS"}, headers=mia))
    assert {a["id"] for a in mine["items"]} == {world.action_cs, world.action_done}
    # Unfinished and due within ten days: not the done one, not IT's in a fortnight.
    soon = ok(client.get("/api/v1/actions", params={"q": "due:<10d"}, headers=mia))
    assert [a["id"] for a in soon["items"]] == [world.action_cs]
    unknown = client.get("/api/v1/actions", params={"q": "colour:red"}, headers=mia)
    assert unknown.status_code == 422 and "Unknown filter" in str(unknown.json()["reasons"])


# --- the trail page by page, and comments ----------------------------------------------


def test_an_auditor_pages_through_the_trail_by_cursor_and_time(
    client: TestClient,
    world: World,
    tokens,
    auth,  # type: ignore[no-untyped-def]
) -> None:
    vera = auth(tokens["vera"])
    everything = ok(client.get("/api/v1/events", params={"limit": 500}, headers=vera))["items"]
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 7}
    while True:
        page = ok(client.get("/api/v1/events", params=params, headers=vera))
        seen += [e["id"] for e in page["items"]]
        if page["next_cursor"] is None:
            break
        params = {"limit": 7, "cursor": page["next_cursor"]}
    assert seen == [e["id"] for e in everything]
    last = everything[-1]["at"]
    recent = ok(client.get("/api/v1/events", params={"since": last}, headers=vera))["items"]
    assert recent and all(e["at"] >= last for e in recent)
    assert client.get("/api/v1/events", params={"cursor": "12"}, headers=vera).status_code == 422


def test_comments_come_a_page_at_a_time(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    for n in range(3):
        body = {"entity_type": "action", "entity_id": world.action_cs, "body": f"note {n}"}
        ok(client.post("/api/v1/comments", json=body, headers=admin), 201)
    params = {"entity_type": "action", "entity_id": world.action_cs, "limit": 2, "offset": 1}
    page = ok(client.get("/api/v1/comments", params=params, headers=admin))
    assert page["total"] == 3
    assert [c["body"] for c in page["items"]] == ["note 1", "note 2"]


# --- the contract ----------------------------------------------------------------------


def test_the_document_declares_bearer_auth_problem_json_and_the_links_of_a_story(
    client: TestClient,
) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    get_problem = doc["paths"]["/api/v1/problems/{problem_id}"]["get"]["responses"]
    assert set(get_problem) == {"200", "401", "403", "404", "422", "503"}
    assert list(get_problem["404"]["content"]) == [PROBLEM_JSON]
    opened = doc["paths"]["/api/v1/cycles"]["post"]["responses"]["201"]
    assert opened["links"]["FireCycleTransition"]["operationId"] == "fire_cycle_transition"
    assert "Location" in opened["headers"]
    trigger = doc["components"]["schemas"]["TransitionIn"]["properties"]["trigger"]
    assert {"start_do", "start_check", "close_effective"} <= set(trigger["enum"])
    assert doc["paths"]["/api/v1/errors/{kind}"]["get"]["security"] == []


def test_a_workflow_publishes_every_phase_field_with_its_type_and_bounds(
    client: TestClient, admin: dict[str, str], world: World
) -> None:
    fields = {
        f["name"]: f for f in ok(client.get("/api/v1/workflows/pdca", headers=admin))["fields"]
    }
    assert fields["baseline"]["type"] == "number" and fields["baseline"]["builtin"]
    assert fields["objective"]["max_length"] == 10_000
    assert fields["effectiveness_window_days"]["maximum"] == 3650
    assert fields["direction"]["choices"] == ["higher", "lower"]
