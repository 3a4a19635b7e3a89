"""The composite indexes' and the inspections' rows of the access table
(tests/api/test_access_table.py): everyone signed in reads; quality staff write
checklists and plan inspections; only the named inspector fills one in; the head of
the inspected department (or an administrator) acknowledges it."""

from typing import Any

from pdca.demo_inspections import SERVICE_DESK_AUDIT

API = "/api/v1"
# What Mia, the inspector of every inspection built here, answers: all of it passes.
PASSING = {
    "logged": "yes",
    "first_reply": 20,
    "closure_confirmed": "yes",
    "kb_current": 5,
    "complaints_recorded": "yes",
}


def table() -> dict[tuple[str, str], dict[str, int]]:
    from tests.api.test_access_table import READ, STAFF, WORKERS, only

    return {
        ("GET", f"{API}/indexes"): READ,
        ("GET", f"{API}/indexes/{{code}}"): READ,
        ("GET", f"{API}/indexes/{{code}}/values"): READ,
        ("GET", f"{API}/checklists"): READ,
        ("POST", f"{API}/checklists"): only(201, *STAFF),
        ("GET", f"{API}/checklists/{{checklist_id}}"): READ,
        ("PATCH", f"{API}/checklists/{{checklist_id}}"): only(200, *STAFF),
        ("GET", f"{API}/checklists/{{checklist_id}}/versions/{{number}}"): READ,
        ("GET", f"{API}/inspections"): READ,
        ("POST", f"{API}/inspections"): only(201, *STAFF),
        ("GET", f"{API}/inspections/{{inspection_id}}"): READ,
        # Mia (the member) is the inspector named on each: no one else answers for her.
        ("PUT", f"{API}/inspections/{{inspection_id}}/answers"): only(200, "member"),
        ("POST", f"{API}/inspections/{{inspection_id}}/submit"): only(200, "member"),
        ("GET", f"{API}/inspections/{{entity_id}}/evidence"): READ,
        # Evidence as on any record: everyone but a viewer adds a file.
        ("POST", f"{API}/inspections/{{entity_id}}/evidence"): only(201, *WORKERS),
        # Customer Service was inspected: Hanna heads it.
        ("POST", f"{API}/inspections/{{inspection_id}}/acknowledge"): only(200, "head", "admin"),
        # Skipping one with a reason: quality staff, or Hanna whose department it inspects.
        ("POST", f"{API}/inspections/{{inspection_id}}/skip"): only(200, "head", *STAFF),
        # Expert reviews: quality staff plan them; only a named reviewer (Mia) scores.
        ("POST", f"{API}/expert-reviews"): only(201, *STAFF),
        ("GET", f"{API}/inspections/{{inspection_id}}/reviews"): READ,
        ("PUT", f"{API}/inspections/{{inspection_id}}/reviews/mine"): only(200, "member"),
        # Plans, like checklists, are quality staff's; everyone reads them and the programme.
        ("GET", f"{API}/inspection-plans"): READ,
        ("POST", f"{API}/inspection-plans"): only(201, *STAFF),
        ("GET", f"{API}/inspection-plans/{{plan_id}}"): READ,
        ("PATCH", f"{API}/inspection-plans/{{plan_id}}"): only(200, *STAFF),
        ("POST", f"{API}/inspection-plans/{{plan_id}}/schedule"): only(200, *STAFF),
        # An auditor (the viewer too) re-draws a spot check's sample.
        ("GET", f"{API}/inspections/{{inspection_id}}/sample"): READ,
        ("GET", f"{API}/inspection-programme"): READ,
        ("GET", f"{API}/inspection-programme/clauses"): READ,
    }


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def _checklist(h: Any) -> dict[str, Any]:
    """The service desk audit: made by the first builder that needs it."""
    for checklist in _ok(h.client.get(f"{API}/checklists", headers=h.admin_headers)):
        if checklist["code"] == "SD-AUDIT":
            return checklist
    body = {"code": "SD-AUDIT", "title": "Service desk quality audit", "body": SERVICE_DESK_AUDIT}
    return _ok(h.client.post(f"{API}/checklists", json=body, headers=h.admin_headers), 201)


def _inspection(h: Any) -> dict[str, Any]:
    """A new inspection of Customer Service with Mia as its inspector, for one cell."""
    body = {
        "checklist_id": _checklist(h)["id"],
        "department_id": h.org.cs,
        "inspector_id": h.org.mia.id,
        "due_on": h.days(7),
    }
    return _ok(h.client.post(f"{API}/inspections", json=body, headers=h.admin_headers), 201)


def _review(h: Any) -> dict[str, Any]:
    """A new expert review of Customer Service with Mia its one reviewer, for one cell."""
    body = {
        "checklist_id": _checklist(h)["id"],
        "department_id": h.org.cs,
        "due_on": h.days(7),
        "reviewer_ids": [h.org.mia.id],
    }
    return _ok(h.client.post(f"{API}/expert-reviews", json=body, headers=h.admin_headers), 201)


def _answers() -> dict[str, Any]:
    return {k: {"value": v} for k, v in PASSING.items()}


def _submitted(h: Any) -> dict[str, Any]:
    """An inspection Mia has answered and submitted, waiting for the head."""
    made = _inspection(h)
    return _ok(
        h.client.post(
            f"{API}/inspections/{made['id']}/submit",
            json={"version": made["version"], "answers": _answers()},
            headers=h.headers_of("mia"),
        )
    )


def _plan_body(h: Any, **changed: Any) -> dict[str, Any]:
    return {
        "title": "Monthly service desk audit",
        "checklist_id": _checklist(h)["id"],
        "department_ids": [h.org.cs],
        "frequency": "monthly",
        "starts_on": h.days(3),
        "inspector_ids": [h.org.mia.id],
        **changed,
    }


def _plan(h: Any, **changed: Any) -> dict[str, Any]:
    """A new plan of Customer Service's inspections, for one cell."""
    return _ok(
        h.client.post(
            f"{API}/inspection-plans", json=_plan_body(h, **changed), headers=h.admin_headers
        ),
        201,
    )


def _spot_check(h: Any) -> dict[str, Any]:
    """An inspection a spot-check plan made, with its sample drawn."""
    plan = _plan(h, sample_size=3, sample_source="closed_actions")
    _ok(h.client.post(f"{API}/inspection-plans/{plan['id']}/schedule", headers=h.admin_headers))
    listed = _ok(h.client.get(f"{API}/inspections", headers=h.admin_headers, params={"limit": 500}))
    return next(i for i in listed["items"] if i["plan_id"] == plan["id"])


def builders() -> dict[tuple[str, str], Any]:
    from tests.api.test_access_table import Request

    def get(path: str, **params: Any) -> Any:
        return lambda h: Request("GET", f"{API}{path}", params=params)

    return {
        ("GET", f"{API}/indexes"): get("/indexes"),
        ("GET", f"{API}/indexes/{{code}}"): get("/indexes/QSI"),
        ("GET", f"{API}/indexes/{{code}}/values"): get("/indexes/QSI/values", period="week"),
        ("GET", f"{API}/checklists"): get("/checklists"),
        ("POST", f"{API}/checklists"): lambda h: Request(
            "POST",
            f"{API}/checklists",
            {"code": "NEW-AUDIT", "title": "Another audit", "body": SERVICE_DESK_AUDIT},
        ),
        ("GET", f"{API}/checklists/{{checklist_id}}"): lambda h: Request(
            "GET", f"{API}/checklists/{_checklist(h)['id']}"
        ),
        ("PATCH", f"{API}/checklists/{{checklist_id}}"): lambda h: (
            lambda c: Request(
                "PATCH",
                f"{API}/checklists/{c['id']}",
                {"version": c["version"], "body": {**SERVICE_DESK_AUDIT, "pass_score": 75}},
            )
        )(_checklist(h)),
        ("GET", f"{API}/checklists/{{checklist_id}}/versions/{{number}}"): lambda h: Request(
            "GET", f"{API}/checklists/{_checklist(h)['id']}/versions/1"
        ),
        ("GET", f"{API}/inspections"): get("/inspections"),
        ("POST", f"{API}/inspections"): lambda h: Request(
            "POST",
            f"{API}/inspections",
            {
                "checklist_id": _checklist(h)["id"],
                "department_id": h.org.cs,
                "inspector_id": h.org.mia.id,
                "due_on": h.days(14),
            },
        ),
        ("GET", f"{API}/inspections/{{inspection_id}}"): lambda h: Request(
            "GET", f"{API}/inspections/{_inspection(h)['id']}"
        ),
        ("PUT", f"{API}/inspections/{{inspection_id}}/answers"): lambda h: (
            lambda i: Request(
                "PUT",
                f"{API}/inspections/{i['id']}/answers",
                {"version": i["version"], "answers": {"logged": {"value": "yes"}}},
            )
        )(_inspection(h)),
        ("POST", f"{API}/inspections/{{inspection_id}}/submit"): lambda h: (
            lambda i: Request(
                "POST",
                f"{API}/inspections/{i['id']}/submit",
                {"version": i["version"], "answers": _answers()},
            )
        )(_inspection(h)),
        ("GET", f"{API}/inspections/{{entity_id}}/evidence"): lambda h: Request(
            "GET", f"{API}/inspections/{_inspection(h)['id']}/evidence"
        ),
        ("POST", f"{API}/inspections/{{entity_id}}/evidence"): lambda h: Request(
            "POST",
            f"{API}/inspections/{_inspection(h)['id']}/evidence",
            files={"file": ("photo.png", b"\x89PNG not really", "image/png")},
        ),
        ("POST", f"{API}/inspections/{{inspection_id}}/acknowledge"): lambda h: (
            lambda i: Request(
                "POST",
                f"{API}/inspections/{i['id']}/acknowledge",
                {"version": i["version"], "note": "Seen at the Monday review"},
            )
        )(_submitted(h)),
        ("POST", f"{API}/inspections/{{inspection_id}}/skip"): lambda h: (
            lambda i: Request(
                "POST",
                f"{API}/inspections/{i['id']}/skip",
                {"version": i["version"], "reason": "The desk was closed for the move"},
            )
        )(_inspection(h)),
        ("POST", f"{API}/expert-reviews"): lambda h: Request(
            "POST",
            f"{API}/expert-reviews",
            {
                "checklist_id": _checklist(h)["id"],
                "department_id": h.org.cs,
                "due_on": h.days(10),
                "reviewer_ids": [h.org.mia.id, h.org.max.id],
            },
        ),
        ("GET", f"{API}/inspections/{{inspection_id}}/reviews"): lambda h: Request(
            "GET", f"{API}/inspections/{_review(h)['id']}/reviews"
        ),
        ("PUT", f"{API}/inspections/{{inspection_id}}/reviews/mine"): lambda h: Request(
            "PUT",
            f"{API}/inspections/{_review(h)['id']}/reviews/mine",
            {"version": 1, "score": 85, "comment": "Well kept records"},
        ),
        ("GET", f"{API}/inspection-plans"): get("/inspection-plans"),
        ("POST", f"{API}/inspection-plans"): lambda h: Request(
            "POST", f"{API}/inspection-plans", _plan_body(h, title="A plan of one's own")
        ),
        ("GET", f"{API}/inspection-plans/{{plan_id}}"): lambda h: Request(
            "GET", f"{API}/inspection-plans/{_plan(h)['id']}"
        ),
        ("PATCH", f"{API}/inspection-plans/{{plan_id}}"): lambda h: (
            lambda p: Request(
                "PATCH",
                f"{API}/inspection-plans/{p['id']}",
                {"version": p["version"], "title": "Service desk audit, monthly"},
            )
        )(_plan(h)),
        ("POST", f"{API}/inspection-plans/{{plan_id}}/schedule"): lambda h: Request(
            "POST", f"{API}/inspection-plans/{_plan(h)['id']}/schedule"
        ),
        ("GET", f"{API}/inspections/{{inspection_id}}/sample"): lambda h: Request(
            "GET", f"{API}/inspections/{_spot_check(h)['id']}/sample"
        ),
        ("GET", f"{API}/inspection-programme"): get("/inspection-programme", year=2026),
        ("GET", f"{API}/inspection-programme/clauses"): get(
            "/inspection-programme/clauses", year=2026
        ),
    }
