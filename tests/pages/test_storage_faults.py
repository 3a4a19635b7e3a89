"""A store that cannot take writes is named as such, not as "busy", and recovers by itself.

The store is made read-only the way each database refuses writes to a session:
SQLite's `PRAGMA query_only`, PostgreSQL's `SET TRANSACTION READ ONLY`. Both answer
with the same errors a read-only file or a read-only standby gives.
"""

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from pdca.models import Problem
from pdca.services import accounts
from tests.conftest import Org


@pytest.fixture
def read_only(app: FastAPI) -> Callable[[bool], None]:
    """read_only(True) makes every new transaction of the app's database refuse writes."""
    engine = app.state.engine
    state = {"on": False}

    @event.listens_for(engine, "begin")
    def _refuse_writes(connection) -> None:  # type: ignore[no-untyped-def]
        if engine.dialect.name == "sqlite":
            value = "ON" if state["on"] else "OFF"
            connection.exec_driver_sql(f"PRAGMA query_only={value}")
        elif state["on"]:
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")

    def switch(on: bool) -> None:
        state["on"] = on

    return switch


def report(client: TestClient, csrf: str, org: Org, title: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/problems/new",
        data={
            "csrf_token": csrf,
            "title": title,
            "source": "complaint",
            "severity": "high",
            "department": str(org.cs),
            "description": "Written while the disk was read-only.",
        },
        follow_redirects=False,
    )


def problems(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as reader:
        return reader.exec(select(func.count()).select_from(Problem)).one()[0]


def test_a_read_only_store_is_named_without_a_retry_hint_and_healthz_says_writes_fail(
    app, client_for, org: Org, read_only, engine, as_user
) -> None:
    mia, csrf = client_for("mia")
    token = accounts.create_token(as_user(None), org.mia.id, name="api").secret
    read_only(True)

    page = report(mia, csrf, org, "Lost while read-only")
    assert page.status_code == 503
    assert "Retry-After" not in page.headers
    assert "The database is read-only, so nothing can be saved." in page.text
    assert "busy" not in page.text

    api = mia.post(
        "/api/v1/problems",
        json={"title": "Also lost", "source": "complaint", "severity": "low"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert api.status_code == 503
    assert api.headers["content-type"].startswith("application/problem+json")
    assert "Retry-After" not in api.headers
    assert api.json()["title"] == "Changes cannot be saved"

    health = mia.get("/healthz")
    assert health.status_code == 503
    assert health.json()["writes"] == "failing: read only"
    assert problems(engine) == 0


def test_once_the_store_takes_writes_again_the_server_recovers_without_a_restart(
    app, client_for, org: Org, read_only, engine
) -> None:
    mia, csrf = client_for("mia")
    read_only(True)
    assert report(mia, csrf, org, "Lost while read-only").status_code == 503

    read_only(False)

    health = mia.get("/healthz")
    assert health.status_code == 200
    assert health.json()["writes"] == "ok"
    saved = report(mia, csrf, org, "Saved once fixed")
    assert saved.status_code == 303
    assert problems(engine) == 1


def test_a_busy_store_is_still_busy_with_its_retry_hint(app, client_for, org: Org) -> None:
    mia, _csrf = client_for("mia")

    @app.get("/test-busy")
    def busy() -> None:
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))

    response = mia.get("/test-busy", headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert "busy" in response.json()["detail"]
