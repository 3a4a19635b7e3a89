"""Checklists and inspections through the HTTP API: strict bodies, versions, findings."""

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from pdca.demo_inspections import SERVICE_DESK_AUDIT
from tests.conftest import Org

PROBLEM_JSON = "application/problem+json"
Auth = Callable[[str | None], dict[str, str]]

PASSING = {
    "logged": "yes",
    "first_reply": 20,
    "closure_confirmed": "yes",
    "kb_current": 5,
    "complaints_recorded": "yes",
}


def ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json()


def refused(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    return response.json()


def a_checklist(client: TestClient, headers: dict[str, str]) -> dict:
    return ok(
        client.post(
            "/api/v1/checklists",
            json={
                "code": "SD-AUDIT",
                "title": "Service desk quality audit",
                "title_zh": "服务台质量审核",
                "body": SERVICE_DESK_AUDIT,
            },
            headers=headers,
        ),
        201,
    )


def an_inspection(client: TestClient, headers: dict[str, str], org: Org, checklist: dict) -> dict:
    return ok(
        client.post(
            "/api/v1/inspections",
            json={
                "checklist_id": checklist["id"],
                "department_id": org.cs,
                "inspector_id": org.frank.id,
                "due_on": "2026-11-30",
            },
            headers=headers,
        ),
        201,
    )


def test_an_inspection_is_planned_answered_submitted_and_acknowledged(
    client: TestClient, auth: Auth, tokens: dict[str, str], org: Org
):
    checklist = a_checklist(client, auth(tokens["fiona"]))
    assert (checklist["current_version"], len(checklist["body"]["sections"])) == (1, 2)
    inspection = an_inspection(client, auth(tokens["fiona"]), org, checklist)
    assert (inspection["status"], inspection["checklist_version"]) == ("planned", 1)

    saved = ok(
        client.put(
            f"/api/v1/inspections/{inspection['id']}/answers",
            json={"version": inspection["version"], "answers": {"logged": {"value": "no"}}},
            headers=auth(tokens["frank"]),
        )
    )
    assert saved["status"] == "in_progress"
    done = ok(
        client.post(
            f"/api/v1/inspections/{inspection['id']}/submit",
            json={
                "version": saved["version"],
                "answers": {k: {"value": v} for k, v in PASSING.items() if k != "logged"},
            },
            headers=auth(tokens["frank"]),
        )
    )
    assert (done["status"], done["passed"], done["failed_items"]) == ("submitted", False, 1)
    [finding] = done["findings"]
    assert (finding["clause"], finding["raised"]) == ("ISO 9001 8.2.1", True)
    problem = ok(
        client.get(f"/api/v1/problems/{finding['problem_id']}", headers=auth(tokens["fiona"]))
    )
    assert problem["source"] == "inspection"

    acknowledged = ok(
        client.post(
            f"/api/v1/inspections/{inspection['id']}/acknowledge",
            json={"version": done["version"], "note": "Seen"},
            headers=auth(tokens["hanna"]),
        )
    )
    assert acknowledged["status"] == "acknowledged"


def test_a_new_body_is_a_new_version_and_a_stale_one_is_409(
    client: TestClient, auth: Auth, tokens: dict[str, str], org: Org
):
    checklist = a_checklist(client, auth(tokens["fiona"]))
    body = {**SERVICE_DESK_AUDIT, "pass_score": 90}
    revised = ok(
        client.patch(
            f"/api/v1/checklists/{checklist['id']}",
            json={"version": checklist["version"], "body": body},
            headers=auth(tokens["fiona"]),
        )
    )
    assert revised["current_version"] == 2
    first = ok(
        client.get(
            f"/api/v1/checklists/{checklist['id']}/versions/1", headers=auth(tokens["fiona"])
        )
    )
    assert first["body"]["pass_score"] == 80
    refused(
        client.patch(
            f"/api/v1/checklists/{checklist['id']}",
            json={"version": checklist["version"], "title": "Again"},
            headers=auth(tokens["fiona"]),
        ),
        409,
    )


def test_bodies_are_strict(client: TestClient, auth: Auth, tokens: dict[str, str], org: Org):
    checklist = a_checklist(client, auth(tokens["fiona"]))
    wrong = {
        "checklist_id": True,
        "department_id": org.cs,
        "inspector_id": org.frank.id,
        "due_on": "2026-11-30",
    }
    refused(client.post("/api/v1/inspections", json=wrong, headers=auth(tokens["fiona"])), 422)
    refused(
        client.post(
            "/api/v1/inspections",
            json={**wrong, "checklist_id": checklist["id"], "extra": 1},
            headers=auth(tokens["fiona"]),
        ),
        422,
    )
    bad_item = {**SERVICE_DESK_AUDIT}
    bad_item["sections"] = [
        {
            "title": {"en": "S"},
            "items": [{"id": "a", "question": {"en": "Q"}, "clause": "X", "kind": "score"}],
        }
    ]
    body = refused(
        client.post(
            "/api/v1/checklists",
            json={"code": "X", "title": "X", "body": bad_item},
            headers=auth(tokens["fiona"]),
        ),
        422,
    )
    assert any("max_score" in r["message"] for r in body["reasons"])


def test_a_wrong_answer_and_someone_elses_inspection_are_refused(
    client: TestClient, auth: Auth, tokens: dict[str, str], org: Org
):
    inspection = an_inspection(
        client, auth(tokens["fiona"]), org, a_checklist(client, auth(tokens["fiona"]))
    )
    url = f"/api/v1/inspections/{inspection['id']}/answers"
    body = refused(
        client.put(
            url,
            json={"version": 1, "answers": {"kb_current": {"value": 7}}},
            headers=auth(tokens["frank"]),
        ),
        422,
    )
    assert "How current is the knowledge base" in body["reasons"][0]["message"]
    refused(
        client.put(
            url,
            json={"version": 1, "answers": {"logged": {"value": "yes"}}},
            headers=auth(tokens["mia"]),
        ),
        403,
    )
    refused(
        client.post(
            f"/api/v1/inspections/{inspection['id']}/submit",
            json={"version": 1},
            headers=auth(tokens["frank"]),
        ),
        422,
    )


def test_a_second_checklist_with_a_taken_code_is_a_conflict_not_a_server_error(
    client: TestClient, auth: Auth, tokens: dict[str, str], org: Org
):
    a_checklist(client, auth(tokens["fiona"]))
    again = client.post(
        "/api/v1/checklists",
        json={"code": "SD-AUDIT", "title": "Another", "body": SERVICE_DESK_AUDIT},
        headers=auth(tokens["fiona"]),
    )
    assert "SD-AUDIT" in refused(again, 409)["detail"]


def test_a_chinese_quality_manager_reads_why_her_checklist_is_refused_in_chinese(
    client: TestClient, auth: Auth, tokens: dict[str, str], org: Org
):
    body = {
        "sections": [
            {
                "title": {"en": "Desk"},
                "items": [
                    {"id": "a", "question": {"en": "Q"}, "clause": "X", "kind": "score"},
                    {"id": "a", "question": {"en": "Q"}, "clause": "X", "kind": "yes_no"},
                    {"id": "n", "question": {"en": "Q"}, "clause": "X", "kind": "number"},
                ],
            }
        ]
    }
    answer = refused(
        client.post(
            "/api/v1/checklists",
            json={"code": "BAD", "title": "Bad", "body": body},
            headers={**auth(tokens["fiona"]), "Accept-Language": "zh-CN"},
        ),
        422,
    )

    said = [r["message"] for r in answer["reasons"]]
    assert len(said) == 3, said  # no max_score, the id used twice, no limits
    for sentence in said:
        # Chinese words around the field names and values the writer typed, not English.
        assert "第 1 节" in sentence and not re.search(r"\b(Section|item|must|give)\b", sentence)
    assert "max_score" in said[0]  # the field's name, as the writer types it
    assert {r["code"] for r in answer["reasons"]} == {"checklist_item"}
