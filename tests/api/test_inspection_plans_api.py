"""Inspection plans, spot checks and the audit programme through the HTTP API."""

from fastapi.testclient import TestClient

from pdca.services import complaints
from tests.api.test_inspections_api import PASSING, Auth, a_checklist, ok, refused
from tests.conftest import Org


def a_plan_body(checklist: dict, org: Org, **changed) -> dict:
    return {
        "title": "Monthly service desk audit",
        "title_zh": "每月服务台审核",
        "checklist_id": checklist["id"],
        "department_ids": [org.cs, org.it],
        "frequency": "monthly",
        "starts_on": "2026-09-30",
        "inspector_ids": [org.fiona.id, org.frank.id],
        **changed,
    }


def test_a_quality_manager_plans_and_the_schedule_makes_each_inspection_once(
    client: TestClient, auth: Auth, tokens: dict[str, str], org: Org
):
    fiona = auth(tokens["fiona"])
    checklist = a_checklist(client, fiona)
    plan = ok(
        client.post("/api/v1/inspection-plans", json=a_plan_body(checklist, org), headers=fiona),
        201,
    )

    first = ok(client.post(f"/api/v1/inspection-plans/{plan['id']}/schedule", headers=fiona))
    again = ok(client.post(f"/api/v1/inspection-plans/{plan['id']}/schedule", headers=fiona))

    assert (first["made"], again["made"]) == (6, 0)
    listed = ok(client.get("/api/v1/inspections", headers=fiona))["items"]
    made = [i for i in listed if i["plan_id"] == plan["id"]]
    assert len(made) == 6 and {i["due_on"] for i in made} == {
        "2026-09-30",
        "2026-10-30",
        "2026-11-30",
    }
    grid = ok(client.get("/api/v1/inspection-programme?year=2026", headers=auth(tokens["vera"])))
    september = [r["months"][8] for r in grid["rows"]]
    assert [r["department"] for r in grid["rows"]] == ["CS", "IT"]
    assert (
        september
        == [{"month": 9, "planned": 0, "done": 0, "overdue": 1, "skipped": 0, "skip_reasons": []}]
        * 2
    )


def test_an_independent_plan_naming_a_member_of_the_department_is_refused_with_the_reason(
    client: TestClient, auth: Auth, tokens: dict[str, str], org: Org
):
    fiona = auth(tokens["fiona"])
    checklist = a_checklist(client, fiona)

    answer = refused(
        client.post(
            "/api/v1/inspection-plans",
            json=a_plan_body(checklist, org, department_ids=[org.cs], independent=True),
            headers=fiona,
        ),
        422,
    )

    assert "Fiona Facilitator is a member of CS" in str(answer)
    assert ok(client.get("/api/v1/inspection-plans", headers=fiona)) == []


def test_a_bad_rrule_and_a_loose_body_are_4xx_with_reasons(
    client: TestClient, auth: Auth, tokens: dict[str, str], org: Org
):
    fiona = auth(tokens["fiona"])
    checklist = a_checklist(client, fiona)

    bad_rule = refused(
        client.post(
            "/api/v1/inspection-plans",
            json=a_plan_body(checklist, org, frequency="rrule", rrule="FREQ=SOMETIMES"),
            headers=fiona,
        ),
        422,
    )
    loose = refused(
        client.post(
            "/api/v1/inspection-plans",
            json=a_plan_body(checklist, org, sample_size="3", colour="red"),
            headers=fiona,
        ),
        422,
    )
    no_year = refused(client.get("/api/v1/inspection-programme", headers=fiona), 422)

    assert "RRULE cannot be used" in str(bad_rule)
    assert "sample_size" in str(loose) and "colour" in str(loose)
    assert "year" in str(no_year)


def test_an_auditor_redraws_a_spot_checks_sample_from_its_seed(
    client: TestClient, auth: Auth, tokens: dict[str, str], org: Org, as_user, clock
):
    fiona = auth(tokens["fiona"])
    ctx = as_user(org.fiona)
    complaints.create_category(ctx, code="WAIT", name="Waiting", threshold=1000)
    complaints.receive_many(
        ctx,
        [
            complaints.ComplaintIn(
                channel="web",
                category="WAIT",
                text=f"Waited ({n})",
                department_id=org.cs,
                received_at=clock.now.replace(month=10, day=1 + n),
                line=n + 1,
            )
            for n in range(12)
        ],
    )
    checklist = a_checklist(client, fiona)
    plan = ok(
        client.post(
            "/api/v1/inspection-plans",
            json=a_plan_body(
                checklist,
                org,
                department_ids=[org.cs],
                sample_size=4,
                sample_source="complaints",
            ),
            headers=fiona,
        ),
        201,
    )
    ok(client.post(f"/api/v1/inspection-plans/{plan['id']}/schedule", headers=fiona))
    listed = ok(client.get("/api/v1/inspections", headers=fiona))["items"]
    october = next(i for i in listed if i["due_on"] == "2026-10-30")

    again = ok(
        client.get(f"/api/v1/inspections/{october['id']}/sample", headers=auth(tokens["vera"]))
    )

    assert len(october["sample"]) == 4 and october["sample_seed"] == again["seed"]
    assert again["same"] and again["redrawn"] == october["sample"] == again["recorded"]
    assert (again["sample_from"], again["sample_to"]) == ("2026-09-30", "2026-10-29")


def test_the_clause_pareto_counts_failed_clauses_most_first(
    client: TestClient, auth: Auth, tokens: dict[str, str], org: Org
):
    fiona = auth(tokens["fiona"])
    checklist = a_checklist(client, fiona)
    plan = ok(
        client.post(
            "/api/v1/inspection-plans",
            json=a_plan_body(checklist, org, department_ids=[org.billing]),
            headers=fiona,
        ),
        201,
    )
    ok(client.post(f"/api/v1/inspection-plans/{plan['id']}/schedule", headers=fiona))
    made = sorted(
        (i for i in ok(client.get("/api/v1/inspections", headers=fiona))["items"]),
        key=lambda i: i["due_on"],
    )
    inspector = {org.fiona.id: "fiona", org.frank.id: "frank"}
    failures = ({"logged": "no"}, {"logged": "no", "kb_current": 1})
    for inspection, failed in zip(made[:2], failures, strict=True):
        answers = {k: {"value": v} for k, v in {**PASSING, **failed}.items()}
        ok(
            client.post(
                f"/api/v1/inspections/{inspection['id']}/submit",
                json={"version": inspection["version"], "answers": answers},
                headers=auth(tokens[inspector[inspection["inspector_id"]]]),
            )
        )

    bars = ok(client.get("/api/v1/inspection-programme/clauses?year=2026", headers=fiona))

    assert [(b["clause"], b["failures"], b["cumulative"]) for b in bars] == [
        ("ISO 9001 8.2.1", 2, 66.7),
        ("ISO 9001 7.1.6", 1, 100.0),
    ]


def test_a_head_skips_an_inspection_with_a_reason_and_the_programme_counts_it_skipped(
    client: TestClient, auth: Auth, tokens: dict[str, str], org: Org
):
    fiona = auth(tokens["fiona"])
    checklist = a_checklist(client, fiona)
    plan = ok(
        client.post("/api/v1/inspection-plans", json=a_plan_body(checklist, org), headers=fiona),
        201,
    )
    ok(client.post(f"/api/v1/inspection-plans/{plan['id']}/schedule", headers=fiona))
    listed = ok(client.get("/api/v1/inspections", headers=fiona))["items"]
    october_it = next(
        i for i in listed if i["department_id"] == org.it and i["due_on"] == "2026-10-30"
    )
    ivan = auth(tokens["ivan"])
    url = f"/api/v1/inspections/{october_it['id']}/skip"

    no_reason = refused(client.post(url, json={"version": 1, "reason": ""}, headers=ivan), 422)
    skipped = ok(client.post(url, json={"version": 1, "reason": "Server room move"}, headers=ivan))
    again = refused(
        client.post(url, json={"version": skipped["version"], "reason": "Twice"}, headers=ivan), 409
    )

    assert "Say why" in no_reason["detail"]
    assert (skipped["status"], skipped["skip_reason"], skipped["skipped_by_id"]) == (
        "skipped",
        "Server room move",
        org.ivan.id,
    )
    assert "submitted" in again["detail"]
    grid = ok(client.get("/api/v1/inspection-programme?year=2026", headers=fiona))
    it = next(r for r in grid["rows"] if r["department"] == "IT")
    assert it["months"][9] == {
        "month": 10,
        "planned": 0,
        "done": 0,
        "overdue": 0,
        "skipped": 1,
        "skip_reasons": ["Server room move"],
    }
