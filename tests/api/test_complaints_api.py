"""A service desk sends complaints; the intake rules decide what becomes a problem.

Fiona (facilitator) keeps the taxonomy; Mia's token stands for the service desk.
"""

import threading
from datetime import timedelta

import httpx
import pytest

from tests.api import fixtures_story
from tests.api.fixtures_story import People, running_server

people = fixtures_story.people
TIMEOUT = 60


@pytest.fixture
def billing(people: People) -> dict:
    """Billing errors: 5 complaints within a day raise one problem; a critical one at once."""
    answer = people.fiona.post(
        "/api/v1/complaint-categories",
        json={
            "code": "billing",
            "name": "Billing errors",
            "name_zh": "账单错误",
            "threshold": 5,
            "window_days": 1,
            "severe_from": "critical",
        },
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def a_complaint(n: int, clock, **extra) -> dict:
    return {
        "channel": "phone",
        "category": "BILLING",
        "text": f"Charged twice for the same month ({n})",
        "customer_ref": f"CUST-{n % 7:03d}",
        "received_at": (clock.now - timedelta(hours=12) + timedelta(minutes=n)).isoformat(),
        **extra,
    }


def complaint_problems(people: People) -> list[dict]:
    found = people.fiona.get("/api/v1/problems", params={"source": "complaint", "limit": 500})
    assert found.status_code == 200, found.text
    return found.json()["items"]


def test_fifty_complaints_of_one_category_in_a_day_raise_exactly_one_problem(
    people, billing, clock
):
    answers = [people.mia.post("/api/v1/complaints", json=a_complaint(n, clock)) for n in range(50)]
    assert [a.status_code for a in answers] == [201] * 50
    assert [a.json()["problem_id"] is None for a in answers[:4]] == [True] * 4
    assert answers[4].json()["problem_raised"] is True

    (problem,) = complaint_problems(people)
    assert problem["detection_rule"] == "complaint_volume"
    assert problem["complaint_category_id"] == billing["id"]
    assert problem["occurrences"] == 50
    linked = people.fiona.get("/api/v1/complaints", params={"problem_id": problem["id"]})
    assert linked.json()["total"] == 50
    assert problem["title"] == "Billing errors: 5 complaints within a day"


def test_fifty_complaints_posted_at_once_raise_exactly_one_problem(app, people, billing, clock):
    """Each request on its own connection and thread, released together."""
    barrier = threading.Barrier(50, timeout=TIMEOUT)
    statuses: list[int] = []
    with running_server(app) as base_url:

        def post(n: int) -> None:
            with httpx.Client(base_url=base_url, timeout=TIMEOUT) as client:
                barrier.wait()
                answer = client.post(
                    "/api/v1/complaints", json=a_complaint(n, clock), headers=people.mia.headers
                )
                statuses.append(answer.status_code)

        threads = [threading.Thread(target=post, args=(n,)) for n in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
    assert statuses.count(201) == 50, statuses
    (problem,) = complaint_problems(people)
    linked = people.fiona.get("/api/v1/complaints", params={"problem_id": problem["id"]})
    assert linked.json()["total"] == 50
    assert problem["occurrences"] == 50


def test_a_critical_complaint_raises_a_problem_at_once(people, billing, clock):
    answer = people.mia.post(
        "/api/v1/complaints",
        json=a_complaint(1, clock, severity="critical", department_id=people.cs),
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["problem_raised"] is True
    (problem,) = complaint_problems(people)
    assert problem["id"] == answer.json()["problem_id"]
    assert problem["severity"] == "critical"
    assert problem["department_id"] == people.cs
    assert problem["detection_rule"] == "complaint_severe"


def test_complaints_outside_the_window_raise_nothing(people, billing, clock):
    for n in range(4):
        complaint = a_complaint(n, clock)
        complaint["received_at"] = (clock.now - timedelta(days=2 * n + 1)).isoformat()
        assert people.mia.post("/api/v1/complaints", json=complaint).status_code == 201
    assert (
        people.mia.post("/api/v1/complaints", json=a_complaint(9, clock)).json()["problem_id"]
        is None
    )
    assert complaint_problems(people) == []


def test_a_retry_with_the_same_idempotency_key_receives_the_complaint_once(people, billing, clock):
    headers = {"Idempotency-Key": "desk-ticket-77"}
    first = people.mia.post("/api/v1/complaints", json=a_complaint(1, clock), headers=headers)
    again = people.mia.post("/api/v1/complaints", json=a_complaint(1, clock), headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert people.fiona.get("/api/v1/complaints").json()["total"] == 1


def test_the_same_ticket_sent_twice_is_refused(people, billing, clock):
    complaint = a_complaint(1, clock, external_ref="SD-42")
    assert people.mia.post("/api/v1/complaints", json=complaint).status_code == 201
    again = people.mia.post("/api/v1/complaints", json=complaint)
    assert again.status_code == 409
    assert "SD-42" in again.json()["detail"]


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"category": "NOPE"}, 404, "NOPE"),
        ({"channel": "pigeon"}, 422, "channel"),
        ({"text": "   "}, 422, "text"),
        ({"severity": "dire"}, 422, "severity"),
        ({"received_at": "2030-01-01T00:00:00Z"}, 422, "future"),
        ({"department_id": 999}, 404, "999"),
        ({"category": True}, 422, "category"),
    ],
)
def test_a_wrong_complaint_is_refused_with_its_reason(
    people, billing, clock, change, status, words
):
    answer = people.mia.post("/api/v1/complaints", json={**a_complaint(1, clock), **change})
    assert answer.status_code == status, answer.text
    assert words in answer.text


def test_first_response_and_resolution_are_recorded_once(people, billing, clock):
    complaint = people.mia.post("/api/v1/complaints", json=a_complaint(1, clock)).json()
    answered = people.mia.patch(
        f"/api/v1/complaints/{complaint['id']}",
        json={"version": complaint["version"], "first_response_at": clock.now.isoformat()},
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["first_response_at"] is not None
    resolved = people.mia.patch(
        f"/api/v1/complaints/{complaint['id']}",
        json={"version": answered.json()["version"], "resolved_at": clock.now.isoformat()},
    )
    assert resolved.status_code == 200, resolved.text
    again = people.mia.patch(
        f"/api/v1/complaints/{complaint['id']}",
        json={"version": resolved.json()["version"], "resolved_at": clock.now.isoformat()},
    )
    assert again.status_code == 422
    assert "already recorded" in again.text


def test_only_staff_edit_the_taxonomy_and_viewers_send_no_complaints(people, billing, clock):
    refused = people.mia.post(
        "/api/v1/complaint-categories", json={"code": "X", "name": "Anything"}
    )
    assert refused.status_code == 403
    assert people.vera.post("/api/v1/complaints", json=a_complaint(1, clock)).status_code == 403
    retired = people.fiona.patch(
        f"/api/v1/complaint-categories/{billing['id']}",
        json={"version": billing["version"], "active": False},
    )
    assert retired.status_code == 200, retired.text
    late = people.mia.post("/api/v1/complaints", json=a_complaint(1, clock))
    assert late.status_code == 422
    assert "retired" in late.json()["detail"]


def test_complaints_arriving_latest_first_still_raise_one_problem_with_all_of_them(
    people, billing, clock
):
    """A desk that was offline sends its backlog newest first: the same one problem."""
    for n in reversed(range(12)):
        assert people.mia.post("/api/v1/complaints", json=a_complaint(n, clock)).status_code == 201
    (problem,) = complaint_problems(people)
    linked = people.fiona.get("/api/v1/complaints", params={"problem_id": problem["id"]})
    assert linked.json()["total"] == 12


def test_the_analysis_compares_with_the_previous_period_and_a_year_before(people, billing, clock):
    people.fiona.post("/api/v1/complaint-categories", json={"code": "WAIT", "name": "Waiting"})

    def send(days_ago: float, category: str, customer: str, answered_after_hours: int | None):
        at = clock.now - timedelta(days=days_ago)
        made = people.mia.post(
            "/api/v1/complaints",
            json={
                "channel": "web",
                "category": category,
                "text": "Again",
                "customer_ref": customer,
                "department_id": people.cs,
                "received_at": at.isoformat(),
            },
        ).json()
        if answered_after_hours is not None:
            answered = people.mia.patch(
                f"/api/v1/complaints/{made['id']}",
                json={
                    "version": made["version"],
                    "first_response_at": (at + timedelta(hours=answered_after_hours)).isoformat(),
                },
            )
            assert answered.status_code == 200, answered.text

    for n in range(3):
        send(2 + n, "WAIT", "CUST-1", 2)  # this period: waiting three times, one customer
    send(3, "BILLING", "CUST-2", 4)
    send(40, "BILLING", "CUST-3", None)  # the period before
    send(366, "BILLING", "CUST-4", None)  # a year before
    found = people.vera.get("/api/v1/complaint-analysis", params={"days": 30})
    assert found.status_code == 200, found.text
    a = found.json()
    assert a["totals"] == {"current": 4, "previous": 1, "year_ago": 1}
    assert [(c["code"], c["counts"]["current"]) for c in a["categories"]] == [
        ("WAIT", 3),
        ("BILLING", 1),
    ]
    assert a["categories"][0]["cumulative_share"] == 75.0
    assert a["repeat_customers"]["current"] == 1
    assert a["top_repeaters"] == [{"customer_ref": "CUST-1", "complaints": 3}]
    (cs,) = a["departments"]
    assert cs["first_response_hours"]["current"] == 2.0
    assert [c["cause"] for c in a["root_causes"]] == ["not_analysed"]
    assert sum(w["current"] for w in a["weeks"]) == 4
