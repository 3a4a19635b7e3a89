"""The voice-of-the-customer routes' rows of the access table (tests/api/test_access_table.py):
staff keep the complaint taxonomy; everyone but a viewer receives complaints."""

from typing import Any

API = "/api/v1"


def table() -> dict[tuple[str, str], dict[str, int]]:
    from tests.api.test_access_table import READ, STAFF, WORKERS, only

    return {
        ("GET", f"{API}/complaint-categories"): READ,
        ("POST", f"{API}/complaint-categories"): only(201, *STAFF),
        ("PATCH", f"{API}/complaint-categories/{{category_id}}"): only(200, *STAFF),
        ("GET", f"{API}/complaints"): READ,
        ("POST", f"{API}/complaints"): only(201, *WORKERS),
        ("GET", f"{API}/complaints/{{complaint_id}}"): READ,
        ("GET", f"{API}/complaint-analysis"): READ,
        ("GET", f"{API}/gap-analysis"): READ,
        ("PATCH", f"{API}/complaints/{{complaint_id}}"): only(200, *WORKERS),
        # surveys: staff write them and their dimensions; the desk (anyone but a viewer)
        # invites a customer; the answers come in on the public page, without a token
        ("GET", f"{API}/quality-dimensions"): READ,
        ("POST", f"{API}/quality-dimensions"): only(201, *STAFF),
        ("GET", f"{API}/surveys"): READ,
        ("POST", f"{API}/surveys"): only(201, *STAFF),
        ("GET", f"{API}/surveys/{{survey_id}}"): READ,
        ("PUT", f"{API}/surveys/{{survey_id}}/questions"): only(200, *STAFF),
        ("POST", f"{API}/surveys/{{survey_id}}/invitations"): only(201, *WORKERS),
        ("POST", f"{API}/surveys/{{survey_id}}/open-link"): only(200, *STAFF),
        ("DELETE", f"{API}/surveys/{{survey_id}}/open-link"): only(204, *STAFF),
        ("POST", f"{API}/surveys/{{survey_id}}/invitations/import"): only(201, *WORKERS),
        ("PATCH", f"{API}/quality-dimensions/{{dimension_id}}"): only(200, *STAFF),
    }


def _post(h: Any, path: str, body: Any) -> dict[str, Any]:
    response = h.client.post(f"{API}{path}", json=body, headers=h.admin_headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _category(h: Any) -> dict[str, Any]:
    """Waiting times: made by the first builder that needs it, read by the others."""
    known = h.client.get(f"{API}/complaint-categories", headers=h.admin_headers).json()
    for category in known:
        if category["code"] == "WAIT":
            return category  # type: ignore[no-any-return]
    return _post(h, "/complaint-categories", {"code": "WAIT", "name": "Waiting times"})


def _complaint(h: Any) -> dict[str, Any]:
    _category(h)
    return _post(
        h, "/complaints", {"channel": "email", "category": "WAIT", "text": "Forty minutes on hold"}
    )


QUESTIONS = [{"kind": "rating", "title": {"en": "How did we do?"}, "dimension": "REL"}]


def _survey(h: Any) -> dict[str, Any]:
    """A survey of Customer Service: made by the first builder that needs it."""
    known = h.client.get(f"{API}/surveys", headers=h.admin_headers).json()
    for survey in known:
        if survey["code"] == "CARE":
            return survey  # type: ignore[no-any-return]
    body = {"code": "CARE", "title": "Care", "department_id": h.org.cs, "questions": QUESTIONS}
    return _post(h, "/surveys", body)


def builders() -> dict[tuple[str, str], Any]:
    from tests.api.test_access_table import Request

    return {
        ("GET", f"{API}/complaint-categories"): lambda h: Request(
            "GET", f"{API}/complaint-categories"
        ),
        ("POST", f"{API}/complaint-categories"): lambda h: Request(
            "POST",
            f"{API}/complaint-categories",
            {"code": "RUDE", "name": "Rude staff", "name_zh": "服务态度差", "threshold": 3},
        ),
        ("PATCH", f"{API}/complaint-categories/{{category_id}}"): lambda h: (
            lambda c: Request(
                "PATCH",
                f"{API}/complaint-categories/{c['id']}",
                {"version": c["version"], "threshold": 8},
            )
        )(_category(h)),
        ("GET", f"{API}/complaints"): lambda h: Request("GET", f"{API}/complaints"),
        ("GET", f"{API}/complaint-analysis"): lambda h: Request(
            "GET", f"{API}/complaint-analysis", params={"days": 30}
        ),
        ("GET", f"{API}/gap-analysis"): lambda h: Request(
            "GET", f"{API}/gap-analysis", params={"by": "week"}
        ),
        ("POST", f"{API}/complaints"): lambda h: (
            _category(h),
            Request(
                "POST",
                f"{API}/complaints",
                {"channel": "phone", "category": "WAIT", "text": "Nobody called back"},
            ),
        )[1],
        ("GET", f"{API}/complaints/{{complaint_id}}"): lambda h: Request(
            "GET", f"{API}/complaints/{_complaint(h)['id']}"
        ),
        ("PATCH", f"{API}/complaints/{{complaint_id}}"): lambda h: (
            lambda c: Request(
                "PATCH",
                f"{API}/complaints/{c['id']}",
                {"version": c["version"], "first_response_at": c["received_at"]},
            )
        )(_complaint(h)),
        ("GET", f"{API}/quality-dimensions"): lambda h: Request("GET", f"{API}/quality-dimensions"),
        ("POST", f"{API}/quality-dimensions"): lambda h: Request(
            "POST", f"{API}/quality-dimensions", {"code": "ACC", "name": "Accessibility"}
        ),
        ("GET", f"{API}/surveys"): lambda h: Request("GET", f"{API}/surveys"),
        ("POST", f"{API}/surveys"): lambda h: Request(
            "POST",
            f"{API}/surveys",
            {"code": "NEW", "title": "New", "department_id": h.org.cs, "questions": QUESTIONS},
        ),
        ("GET", f"{API}/surveys/{{survey_id}}"): lambda h: Request(
            "GET", f"{API}/surveys/{_survey(h)['id']}"
        ),
        ("PUT", f"{API}/surveys/{{survey_id}}/questions"): lambda h: (
            lambda s: Request(
                "PUT",
                f"{API}/surveys/{s['id']}/questions",
                {"version": s["version"], "questions": QUESTIONS * 2},
            )
        )(_survey(h)),
        ("POST", f"{API}/surveys/{{survey_id}}/invitations"): lambda h: Request(
            "POST", f"{API}/surveys/{_survey(h)['id']}/invitations", {"case_ref": "SD-9"}
        ),
        ("POST", f"{API}/surveys/{{survey_id}}/open-link"): lambda h: Request(
            "POST", f"{API}/surveys/{_survey(h)['id']}/open-link"
        ),
        ("DELETE", f"{API}/surveys/{{survey_id}}/open-link"): lambda h: Request(
            "DELETE", f"{API}/surveys/{_survey(h)['id']}/open-link"
        ),
        ("POST", f"{API}/surveys/{{survey_id}}/invitations/import"): lambda h: Request(
            "POST",
            f"{API}/surveys/{_survey(h)['id']}/invitations/import",
            files={"file": ("cases.csv", b"case_ref,channel\nSD-1,phone\n", "text/csv")},
        ),
        ("PATCH", f"{API}/quality-dimensions/{{dimension_id}}"): lambda h: (
            _survey(h),
            (
                lambda d: Request(
                    "PATCH",
                    f"{API}/quality-dimensions/{d['id']}",
                    {"version": d["version"], "name": "Reliability of service"},
                )
            )(
                next(
                    d
                    for d in h.client.get(
                        f"{API}/quality-dimensions", headers=h.admin_headers
                    ).json()
                    if d["code"] == "REL"
                )
            ),
        )[1],
    }
