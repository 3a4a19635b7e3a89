"""`pdca db upgrade` and `pdca serve`: migrate first, then serve only a database at head."""

from typing import Any

import pytest

from pdca import migrate

from .conftest import SECRET, Cli


def test_db_upgrade_brings_an_empty_database_to_head(cli: Cli, settings):
    head = ", ".join(sorted(migrate.head_revisions(settings)))
    result = cli("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Upgraded the database to revision {head} (head)")
    again = cli("db", "upgrade")
    assert again.exit_code == 0
    assert again.stdout.startswith(f"The database is already at revision {head} (head)")


@pytest.fixture
def uvicorn_runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record what `pdca serve` would hand to uvicorn instead of listening."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kw: calls.append({"app": app, **kw}))
    return calls


def test_serve_refuses_a_database_that_is_not_migrated(cli: Cli, uvicorn_runs):
    result = cli("serve")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and line.endswith("run `pdca db upgrade`")
    assert uvicorn_runs == []


def test_serve_refuses_a_missing_secret_outside_debug(cli: Cli, engine, uvicorn_runs, monkeypatch):
    monkeypatch.setenv("PDCA_DEBUG", "0")
    result = cli("serve")
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: PDCA_SECRET_KEY is not set")
    assert uvicorn_runs == []


def test_serve_listens_on_localhost_8000_by_default(cli: Cli, engine, uvicorn_runs, monkeypatch):
    monkeypatch.setenv("PDCA_DEBUG", "0")
    monkeypatch.setenv("PDCA_SECRET_KEY", SECRET)
    result = cli("serve")
    assert result.exit_code == 0, result.output
    [call] = uvicorn_runs
    assert (call["host"], call["port"]) == ("127.0.0.1", 8000)
    assert call["app"].title == "pdca"
    assert "Serving pdca on http://127.0.0.1:8000" in result.stdout


def test_serve_takes_host_and_port(cli: Cli, engine, uvicorn_runs):
    result = cli("serve", "--host", "0.0.0.0", "--port", "9000")
    assert result.exit_code == 0, result.output
    assert (uvicorn_runs[0]["host"], uvicorn_runs[0]["port"]) == ("0.0.0.0", 9000)


def test_serve_with_several_workers_hands_uvicorn_the_app_factory(cli: Cli, engine, uvicorn_runs):
    result = cli("serve", "--workers", "3", "--port", "9000")
    assert result.exit_code == 0, result.output
    [call] = uvicorn_runs
    # Each worker process builds its own app from the same environment.
    assert call["app"] == "pdca.web.app:app_from_environment"
    assert (call["factory"], call["workers"], call["port"]) == (True, 3, 9000)
    assert "with 3 worker processes" in result.stdout


def test_serve_takes_its_workers_from_pdca_workers(cli: Cli, engine, uvicorn_runs, monkeypatch):
    monkeypatch.setenv("PDCA_WORKERS", "2")
    assert cli("serve").exit_code == 0
    assert uvicorn_runs[0]["workers"] == 2


def test_serve_refuses_zero_workers(cli: Cli, engine, uvicorn_runs):
    result = cli("serve", "--workers", "0")
    assert result.exit_code == 2
    assert uvicorn_runs == []
