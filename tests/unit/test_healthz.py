"""Operations can ask whether pdca is fit to serve."""

from fastapi.testclient import TestClient

from pdca.db import make_engine
from pdca.web.app import create_app


def test_healthz_is_ok_when_the_database_is_migrated(settings, engine):
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["migrations"] == "head"


def test_healthz_is_503_before_migrations_ran(settings):
    make_engine(settings).dispose()  # the database exists but holds no schema
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert "pdca db upgrade" in response.json()["migrations"]
