"""The meetings routes' rows of the access table (tests/api/test_access_table.py):
who may call each, and a builder that brings the meeting each cell acts on."""

from typing import Any

from tests.personas import PASSWORD

API = "/api/v1"


def _rules() -> tuple[Any, ...]:
    # Imported late: test_access_table imports this module for its table.
    from tests.api.test_access_table import READ, STAFF, WORKERS, only

    return READ, STAFF, WORKERS, only


def table() -> dict[tuple[str, str], dict[str, int]]:
    read, staff, workers, only = _rules()
    return {
        # Everyone reads meetings, agendas, decisions and minutes.
        ("GET", f"{API}/meeting-series"): read,
        ("GET", f"{API}/meeting-series/{{series_id}}"): read,
        ("GET", f"{API}/meetings"): read,
        ("GET", f"{API}/meetings/{{meeting_id}}"): read,
        ("GET", f"{API}/meetings/{{meeting_id}}/agenda"): read,
        ("GET", f"{API}/meetings/{{meeting_id}}/decisions"): read,
        ("GET", f"{API}/meetings/{{meeting_id}}/minutes"): read,
        # Facilitators and heads plan meetings; the chair (Fiona) and staff run them.
        ("POST", f"{API}/meeting-series"): only(201, "head", *staff),
        ("POST", f"{API}/meetings"): only(201, "head", *staff),
        ("POST", f"{API}/meeting-series/{{series_id}}/meetings"): only(201, *staff),
        # A series is changed by its chair (Fiona), facilitators and administrators.
        ("PATCH", f"{API}/meeting-series/{{series_id}}"): only(200, *staff),
        ("POST", f"{API}/meetings/{{meeting_id}}/prepare"): only(200, *staff),
        ("POST", f"{API}/meetings/{{meeting_id}}/start"): only(200, *staff),
        ("POST", f"{API}/meetings/{{meeting_id}}/end"): only(200, *staff),
        ("PUT", f"{API}/meetings/{{meeting_id}}/attendance"): only(200, *staff),
        ("POST", f"{API}/meetings/{{meeting_id}}/decisions"): only(201, *staff),
        # Any attendee adds a point to the agenda beforehand.
        ("POST", f"{API}/meetings/{{meeting_id}}/agenda"): only(201, *workers),
        # The minutes are the chair's to sign: Fiona's, not even an administrator's.
        ("POST", f"{API}/meetings/{{meeting_id}}/minutes/signature"): only(200, "facilitator"),
    }


def _post(h: Any, path: str, body: Any, status: int = 200) -> dict[str, Any]:
    response = h.client.post(f"{API}{path}", json=body, headers=h.admin_headers)
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


def _series(h: Any) -> dict[str, Any]:
    body = {
        "title": "Weekly review",
        "weekday": 1,
        "local_time": "10:00",
        "time_zone": "Asia/Shanghai",
        "chair_id": h.org.fiona.id,
        "department_ids": [h.org.cs, h.org.it],
        "attendee_ids": [h.org.hanna.id],
    }
    return _post(h, "/meeting-series", body, 201)


def _meeting(h: Any, until: str = "planned") -> dict[str, Any]:
    """A one-off meeting chaired by Fiona, with a free item, taken as far as `until`."""
    meeting = _post(
        h,
        "/meetings",
        {
            "title": "Extra review",
            "starts_at": f"{h.days(1)}T02:00:00Z",
            "chair_id": h.org.fiona.id,
            "department_ids": [h.org.cs],
            "attendee_ids": [h.org.hanna.id],
        },
        201,
    )
    item = _post(h, f"/meetings/{meeting['id']}/agenda", {"text": "Headsets"}, 201)
    meeting["item"] = item
    for step in ("start", "end")[: {"planned": 0, "started": 1, "ended": 2}[until]]:
        meeting = {
            **_post(h, f"/meetings/{meeting['id']}/{step}", {"version": meeting["version"]}),
            "item": item,
        }
    return meeting


def _req(method: str, url: str, json: Any = None, params: Any = None) -> Any:
    from tests.api.test_access_table import Request

    return Request(method, url, json=json, params=params or {})


def builders() -> dict[tuple[str, str], Any]:
    def with_meeting(until: str, method: str, tail: str, body: Any = None) -> Any:
        def build(h: Any) -> Any:
            m = _meeting(h, until)
            payload = body(h, m) if callable(body) else body
            return _req(method, f"{API}/meetings/{m['id']}{tail}", payload)

        return build

    version = lambda h, m: {"version": m["version"]}  # noqa: E731
    return {
        ("GET", f"{API}/meeting-series"): lambda h: _req("GET", f"{API}/meeting-series"),
        ("GET", f"{API}/meeting-series/{{series_id}}"): lambda h: _req(
            "GET", f"{API}/meeting-series/{_series(h)['id']}"
        ),
        ("GET", f"{API}/meetings"): lambda h: _req(
            "GET", f"{API}/meetings", params={"status": "planned"}
        ),
        ("GET", f"{API}/meetings/{{meeting_id}}"): with_meeting("planned", "GET", ""),
        ("GET", f"{API}/meetings/{{meeting_id}}/agenda"): with_meeting("started", "GET", "/agenda"),
        ("GET", f"{API}/meetings/{{meeting_id}}/decisions"): with_meeting(
            "started", "GET", "/decisions"
        ),
        ("GET", f"{API}/meetings/{{meeting_id}}/minutes"): with_meeting("ended", "GET", "/minutes"),
        ("POST", f"{API}/meeting-series"): lambda h: _req(
            "POST",
            f"{API}/meeting-series",
            {
                "title": "Monthly review",
                "weekday": 4,
                "local_time": "15:30",
                "chair_id": h.org.fiona.id,
                "department_ids": [h.org.cs],
            },
        ),
        ("POST", f"{API}/meetings"): lambda h: _req(
            "POST",
            f"{API}/meetings",
            {
                "title": "Complaint spike",
                "starts_at": f"{h.days(2)}T09:00:00+08:00",
                "time_zone": "Asia/Shanghai",
                "chair_id": h.org.fiona.id,
                "department_ids": [h.org.cs],
            },
        ),
        ("POST", f"{API}/meeting-series/{{series_id}}/meetings"): lambda h: _req(
            "POST", f"{API}/meeting-series/{_series(h)['id']}/meetings"
        ),
        ("PATCH", f"{API}/meeting-series/{{series_id}}"): lambda h: (
            lambda series: _req(
                "PATCH",
                f"{API}/meeting-series/{series['id']}",
                {"version": series["version"], "local_time": "09:30"},
            )
        )(_series(h)),
        ("POST", f"{API}/meetings/{{meeting_id}}/prepare"): with_meeting(
            "planned", "POST", "/prepare", version
        ),
        ("POST", f"{API}/meetings/{{meeting_id}}/start"): with_meeting(
            "planned", "POST", "/start", version
        ),
        ("POST", f"{API}/meetings/{{meeting_id}}/end"): with_meeting(
            "started", "POST", "/end", version
        ),
        ("PUT", f"{API}/meetings/{{meeting_id}}/attendance"): with_meeting(
            "started",
            "PUT",
            "/attendance",
            lambda h, m: {"version": m["version"], "attendance": {str(h.org.hanna.id): "present"}},
        ),
        ("POST", f"{API}/meetings/{{meeting_id}}/decisions"): with_meeting(
            "started",
            "POST",
            "/decisions",
            lambda h, m: {
                "item_id": m["item"]["id"],
                "item_version": m["item"]["version"],
                "kind": "note",
                "note": "Agreed: order ten headsets.",
            },
        ),
        ("POST", f"{API}/meetings/{{meeting_id}}/agenda"): with_meeting(
            "planned", "POST", "/agenda", {"text": "New hires need headsets"}
        ),
        ("POST", f"{API}/meetings/{{meeting_id}}/minutes/signature"): with_meeting(
            "ended",
            "POST",
            "/minutes/signature",
            lambda h, m: {"version": m["version"], "password": PASSWORD},
        ),
    }
