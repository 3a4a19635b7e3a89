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
        ("PATCH", f"{API}/complaints/{{complaint_id}}"): only(200, *WORKERS),
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
    }
