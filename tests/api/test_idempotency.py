"""Idempotency-Key: a client that lost an answer sends the request again and nothing is
created twice.

Mia's service-desk script reports a problem; the connection drops before the answer
arrives. It retries with the same key and gets the first answer, not a second problem.
"""

import threading
import uuid
from collections.abc import Iterator

import httpx
import pytest

from pdca.services import idempotency, problems
from pdca.services.errors import Conflict
from pdca.web.api.idempotency import ApiRoute
from tests.api import fixtures_story
from tests.api.fixtures_story import Caller, People
from tests.live import serving

people = fixtures_story.people

KEY = "Idempotency-Key"


def report(people: People, title: str = "The hotline drops calls at noon") -> dict:
    return {
        "title": title,
        "source": "complaint",
        "severity": "high",
        "department_id": people.cs,
    }


def problems_titled(caller: Caller, title: str) -> int:
    page = caller.get("/api/v1/problems", params={"q": title, "limit": 500}).json()
    return sum(1 for p in page["items"] if p["title"] == title)


def a_key() -> str:
    return str(uuid.uuid4())


def test_a_retried_report_answers_the_first_answer_and_creates_one_problem(people: People):
    mia, key = people.mia, a_key()
    first = mia.post("/api/v1/problems", json=report(people), headers={KEY: key})
    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers

    again = mia.post("/api/v1/problems", json=report(people), headers={KEY: key})

    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["content-type"] == "application/json"
    assert again.headers["idempotent-replayed"] == "true"
    assert problems_titled(mia, "The hotline drops calls at noon") == 1


def test_without_a_key_each_post_creates(people: People):
    for _ in range(2):
        assert people.mia.post("/api/v1/problems", json=report(people)).status_code == 201
    assert problems_titled(people.mia, "The hotline drops calls at noon") == 2


def test_the_same_key_with_another_body_is_refused_with_the_reason(people: People):
    mia, key = people.mia, a_key()
    assert mia.post("/api/v1/problems", json=report(people), headers={KEY: key}).status_code == 201

    other = mia.post("/api/v1/problems", json=report(people, "Another problem"), headers={KEY: key})

    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    body = other.json()
    assert body["type"] == "/api/v1/errors/idempotency-key-reused"
    assert "POST /api/v1/problems" in body["detail"] and "new key" in body["detail"]
    assert problems_titled(mia, "Another problem") == 0
    # Another route under the same key is another request too.
    cycle = mia.post(
        "/api/v1/cycles",
        json={"title": "x", "workflow": "pdca", "department_id": people.cs},
        headers={KEY: key},
    )
    assert cycle.json()["type"] == "/api/v1/errors/idempotency-key-reused"


def test_keys_belong_to_each_person(people: People):
    key = a_key()
    for caller in (people.mia, people.hanna):
        answer = caller.post("/api/v1/problems", json=report(people), headers={KEY: key})
        assert answer.status_code == 201
        assert "idempotent-replayed" not in answer.headers
    assert problems_titled(people.mia, "The hotline drops calls at noon") == 2


def test_a_key_is_forgotten_after_24_hours(people: People, clock):
    mia, key = people.mia, a_key()
    first = mia.post("/api/v1/problems", json=report(people), headers={KEY: key})
    clock.advance(hours=23, minutes=59)
    assert mia.post("/api/v1/problems", json=report(people), headers={KEY: key}).json() == (
        first.json()
    )

    clock.advance(minutes=2)
    later = mia.post("/api/v1/problems", json=report(people), headers={KEY: key})

    assert later.status_code == 201
    assert "idempotent-replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]


def test_a_failed_request_keeps_nothing_and_its_key_can_be_sent_again(people: People):
    mia, key = people.mia, a_key()
    wrong = {**report(people), "department_id": 987654}
    assert mia.post("/api/v1/problems", json=wrong, headers={KEY: key}).status_code == 404
    # Run again (not replayed), and refused again.
    assert mia.post("/api/v1/problems", json=wrong, headers={KEY: key}).status_code == 404
    assert mia.post("/api/v1/problems", json={"title": 1}, headers={KEY: key}).status_code == 422

    fixed = mia.post("/api/v1/problems", json=report(people), headers={KEY: key})

    assert fixed.status_code == 201
    assert "idempotent-replayed" not in fixed.headers


def test_every_creating_post_takes_a_key(people: People):
    fiona, key = people.fiona, a_key()
    body = {"entity_type": "problem", "entity_id": 0, "body": "Seen again today"}
    problem = fiona.post("/api/v1/problems", json=report(people)).json()
    body["entity_id"] = problem["id"]
    first = fiona.post("/api/v1/comments", json=body, headers={KEY: key})
    again = fiona.post("/api/v1/comments", json=body, headers={KEY: key})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    comments = fiona.get(
        "/api/v1/comments", params={"entity_type": "problem", "entity_id": problem["id"]}
    ).json()
    assert comments["total"] == 1


def test_an_upload_retried_with_another_multipart_boundary_is_the_same_request(people: People):
    mia, key = people.mia, a_key()
    problem = mia.post("/api/v1/problems", json=report(people)).json()
    url = f"/api/v1/problems/{problem['id']}/evidence"
    files = {"file": ("log.txt", b"12 calls dropped", "text/plain")}
    first = mia.post(url, files=files, headers={KEY: key})
    # httpx draws a new boundary for each request.
    again = mia.post(url, files=files, headers={KEY: key})
    assert first.status_code == 201, first.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert len(mia.get(url).json()) == 1

    other = mia.post(
        url, files={"file": ("log.txt", b"13 calls", "text/plain")}, headers={KEY: key}
    )
    assert other.status_code == 422


def test_a_write_that_takes_no_key_refuses_one(people: People):
    mia = people.mia
    problem = mia.post("/api/v1/problems", json=report(people)).json()
    change = mia.patch(
        f"/api/v1/problems/{problem['id']}",
        json={"version": problem["version"], "title": "Calls drop at noon"},
        headers={KEY: a_key()},
    )
    assert change.status_code == 422
    assert "takes no Idempotency-Key" in change.json()["detail"]
    # A token's secret is shown once and never stored, so it cannot be replayed.
    token = mia.post("/api/v1/tokens", json={"name": "script"}, headers={KEY: a_key()})
    assert token.status_code == 422
    # Reading is never refused for it.
    assert mia.get("/api/v1/problems", headers={KEY: a_key()}).status_code == 200


@pytest.mark.parametrize("key", ["", "with space", "ключ".encode(), "x" * 256])
def test_a_key_that_is_not_visible_ascii_up_to_255_is_refused(people: People, key: str | bytes):
    answer = people.mia.post("/api/v1/problems", json=report(people), headers={KEY: key})
    assert answer.status_code == 422
    assert problems_titled(people.mia, "The hotline drops calls at noon") == 0


def test_the_openapi_document_declares_the_header_where_it_is_taken(client):
    doc = client.get("/api/v1/openapi.json").json()

    def headers(path: str, method: str) -> list[str]:
        op = doc["paths"][f"/api/v1{path}"][method]
        return [p["name"] for p in op.get("parameters", []) if p["in"] == "header"]

    assert headers("/problems", "post") == [KEY]
    assert headers("/actions", "post") == [KEY]
    assert headers("/tokens", "post") == []
    assert headers("/problems/{problem_id}", "patch") == []
    created = doc["paths"]["/api/v1/problems"]["post"]["responses"]["201"]["headers"]
    assert "Idempotent-Replayed" in created


# --- two retries at once ------------------------------------------------------------


@pytest.fixture
def live(app) -> Iterator[str]:
    with serving(app) as server:
        yield server.url


def test_concurrent_retries_with_one_key_create_one_problem(people: People, live: str):
    key, title = a_key(), "Twelve retries at once"
    answers: list[httpx.Response] = []
    start = threading.Barrier(12)

    def retry() -> None:
        with httpx.Client(base_url=live, headers=people.mia.headers, timeout=30) as http:
            start.wait()
            answers.append(
                http.post("/api/v1/problems", json=report(people, title), headers={KEY: key})
            )

    threads = [threading.Thread(target=retry) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(answers) == 12
    created = [a for a in answers if a.status_code == 201]
    waiting = [a for a in answers if a.status_code == 409]
    assert len(created) + len(waiting) == 12, [a.text for a in answers]
    assert len({a.json()["id"] for a in created}) == 1
    assert sum("idempotent-replayed" not in a.headers for a in created) == 1
    for a in waiting:
        assert a.json()["type"] == "/api/v1/errors/request-in-progress"
    assert problems_titled(people.mia, title) == 1


def test_a_retry_while_the_first_still_runs_is_told_to_come_back(
    people: People, live: str, monkeypatch
):
    inside, release = threading.Event(), threading.Event()
    report_problem = problems.report_problem

    def slow_report(*args, **kwargs):  # type: ignore[no-untyped-def]
        inside.set()
        assert release.wait(10)
        return report_problem(*args, **kwargs)

    monkeypatch.setattr(problems, "report_problem", slow_report)
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    key, first = a_key(), []
    headers = {**people.mia.headers, KEY: key}

    def send_first() -> None:
        first.append(httpx.post(f"{live}/api/v1/problems", json=report(people), headers=headers))

    thread = threading.Thread(target=send_first)
    thread.start()
    assert inside.wait(10)
    retry = httpx.post(f"{live}/api/v1/problems", json=report(people), headers=headers)
    release.set()
    thread.join()

    assert retry.status_code == 409
    assert retry.headers["retry-after"] == "1"
    assert retry.json()["type"] == "/api/v1/errors/request-in-progress"
    assert first[0].status_code == 201
    after = httpx.post(f"{live}/api/v1/problems", json=report(people), headers=headers)
    assert after.json() == first[0].json()
    assert after.headers["idempotent-replayed"] == "true"


# --- the service ----------------------------------------------------------------------


def test_a_claim_that_never_finished_is_in_progress_not_run_again(org, as_user, monkeypatch):
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0)
    mia = as_user(org.mia)
    claim = idempotency.claim(mia, key="k", fingerprint="f", request_line="POST /x")
    assert isinstance(claim, int)
    with pytest.raises(Conflict) as refused:
        idempotency.claim(mia, key="k", fingerprint="f", request_line="POST /x")
    assert isinstance(refused.value, idempotency.InProgress)


def test_the_job_forgets_keys_older_than_a_day(org, as_user, clock):
    mia = as_user(org.mia)
    old = idempotency.claim(mia, key="old", fingerprint="f", request_line="POST /x")
    clock.advance(hours=20)
    idempotency.claim(mia, key="new", fingerprint="f", request_line="POST /x")
    clock.advance(hours=5)

    assert idempotency.forget_expired(mia) == 1
    again = idempotency.claim(mia, key="old", fingerprint="g", request_line="POST /y")
    assert isinstance(again, int) and again != old


def _routes(routes, prefix: str = ""):  # type: ignore[no-untyped-def]
    """(full path, route) of every route, through the routers included in others."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _routes(included.routes, prefix + route.include_context.prefix)
        else:
            yield prefix + getattr(route, "path", ""), route


def test_every_api_route_is_built_by_api_route(app):
    # A router built with another route class would silently take no key.
    api = [(p, r) for p, r in _routes(app.routes) if p.startswith("/api/v1/")]
    assert len(api) > 30
    documents = ("/api/v1/docs", "/api/v1/openapi.json")  # FastAPI's own
    assert [p for p, r in api if not isinstance(r, ApiRoute) and p not in documents] == []
