"""Two clients, one cycle, the same instant: exactly one wins, the other is told 409.

A real uvicorn server runs in a thread so the two requests are truly concurrent
(each on its own connection, each in its own worker thread, each with its own
database transaction). A barrier releases both clients together; whichever the
database lets through first wins, and the outcome is the same either way.
"""

import threading
from datetime import timedelta

import httpx

from tests.api import fixtures_story
from tests.api.fixtures_story import Caller, People, running_server

people = fixtures_story.people

ROUNDS = 5
TIMEOUT = 30  # seconds; a deadlock fails the test instead of hanging the suite
PROBLEM_JSON = "application/problem+json"


def a_cycle_ready_for_do(people: People, clock, n: int) -> dict:
    """A cycle in Plan whose plan is complete, built through the API."""
    fiona = people.fiona
    problem = fiona.post(
        "/api/v1/problems", json={"title": f"Race {n}", "source": "internal"}
    ).json()
    cycle = fiona.post(
        "/api/v1/cycles",
        json={
            "title": f"Race {n}",
            "workflow": "pdca",
            "lead_id": fiona.id,
            "problem_ids": [problem["id"]],
            "fields": {"objective": "Be quick", "baseline": 9, "target": 1, "root_cause": "Slow"},
        },
    )
    assert cycle.status_code == 201, cycle.text
    action = fiona.post(
        "/api/v1/actions",
        json={
            "cycle_id": cycle.json()["id"],
            "title": "Do it",
            "department_id": people.it,
            "owner_id": people.max.id,
            "deadline": (clock.today() + timedelta(days=7)).isoformat(),
        },
    )
    assert action.status_code == 201, action.text
    return cycle.json()


def race(base_url: str, requests: list[tuple[Caller, str, str, dict]]) -> list[httpx.Response]:
    """Send each (caller, method, url, json) from its own thread and client, all at once."""
    barrier = threading.Barrier(len(requests), timeout=TIMEOUT)
    responses: list[httpx.Response | None] = [None] * len(requests)
    errors: list[BaseException] = []

    def send(i: int, caller: Caller, method: str, url: str, body: dict) -> None:
        try:
            with httpx.Client(base_url=base_url, headers=caller.headers, timeout=TIMEOUT) as client:
                client.get("/api/v1/users/me").raise_for_status()  # connect before the race
                barrier.wait()
                responses[i] = client.request(method, url, json=body)
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i, *r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a client is stuck"
    if errors:
        raise errors[0]
    return [r for r in responses if r is not None]


def assert_one_winner(responses: list[httpx.Response]) -> tuple[httpx.Response, httpx.Response]:
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 200)
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.headers["content-type"].startswith(PROBLEM_JSON)
    problem = loser.json()
    assert (problem["status"], problem["title"]) == (409, "Conflict")
    assert "changed by someone else" in problem["detail"]
    assert "Reload and try again" in problem["detail"]
    return winner, loser


def test_two_facilitators_firing_start_do_at_once_one_wins_and_the_other_gets_409(
    app, people: People, clock
):
    cycles = [a_cycle_ready_for_do(people, clock, n) for n in range(ROUNDS)]

    with running_server(app) as base_url:
        for cycle in cycles:
            url = f"/api/v1/cycles/{cycle['id']}/transitions"
            body = {"trigger": "start_do", "version": cycle["version"]}
            responses = race(
                base_url, [(people.fiona, "POST", url, body), (people.frank, "POST", url, body)]
            )
            winner, _ = assert_one_winner(responses)
            assert winner.json()["state"] == "do"
            assert winner.json()["version"] == cycle["version"] + 1

    for cycle in cycles:
        stored = people.vera.get(f"/api/v1/cycles/{cycle['id']}").json()
        assert (stored["state"], stored["version"]) == ("do", cycle["version"] + 1)
        events = people.vera.get(
            "/api/v1/events",
            params={"entity_type": "cycle", "entity_id": cycle["id"], "verb": "transition"},
        ).json()
        assert events["total"] == 1
        [event] = events["items"]
        assert (event["from_value"], event["to_value"]) == ("plan", "do")
        assert event["actor_id"] in (people.fiona.id, people.frank.id)


def test_two_edits_racing_on_the_same_cycle_keep_the_winners_value(app, people: People, clock):
    cycle = a_cycle_ready_for_do(people, clock, 0)
    url = f"/api/v1/cycles/{cycle['id']}"

    with running_server(app) as base_url:
        responses = race(
            base_url,
            [
                (
                    people.fiona,
                    "PATCH",
                    url,
                    {"version": cycle["version"], "fields": {"target": 2}},
                ),
                (
                    people.frank,
                    "PATCH",
                    url,
                    {"version": cycle["version"], "fields": {"target": 3}},
                ),
            ],
        )
    winner, _ = assert_one_winner(responses)

    stored = people.vera.get(url).json()
    assert stored["fields"]["target"] == winner.json()["fields"]["target"]
    assert stored["version"] == cycle["version"] + 1
    changes = people.vera.get(
        "/api/v1/events",
        params={"entity_type": "cycle", "entity_id": cycle["id"], "verb": "field_changed"},
    ).json()["items"]
    assert [(e["field"], e["to_value"]) for e in changes if e["from_value"] is not None] == [
        ("target", str(float(stored["fields"]["target"])))
    ]


def test_a_stale_version_on_patch_is_409_and_the_first_writers_value_survives(
    people: People, clock
):
    cycle = a_cycle_ready_for_do(people, clock, 0)
    url = f"/api/v1/cycles/{cycle['id']}"
    read_version = cycle["version"]

    first = people.fiona.patch(
        url, json={"version": read_version, "fields": {"objective": "Answer within 2 minutes"}}
    )
    assert first.status_code == 200, first.text
    assert first.json()["version"] == read_version + 1

    # Frank read the same version before Fiona's edit landed.
    second = people.frank.patch(
        url, json={"version": read_version, "fields": {"objective": "Answer within 5 minutes"}}
    )
    assert second.status_code == 409
    assert second.headers["content-type"].startswith(PROBLEM_JSON)
    detail = second.json()["detail"]
    assert f"you read version {read_version}" in detail
    assert f"it is now version {read_version + 1}" in detail

    stored = people.vera.get(url).json()
    assert stored["fields"]["objective"] == "Answer within 2 minutes"
    assert stored["version"] == read_version + 1
