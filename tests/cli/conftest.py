"""The command line as a person runs it: `pdca …` against the test's own database.

The CLI builds its settings from PDCA_ variables, so each test points them at the
database the `settings` fixture made (on PostgreSQL the URL carries the test's own
schema in its search_path option).
"""

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from pdca import migrate
from pdca.cli import app
from pdca.db import make_engine
from pdca.settings import Settings

Cli = Callable[..., Result]
SECRET = "cli-test-secret-0123456789"


def _environment(mp: pytest.MonkeyPatch, database_url: str, data_dir: Path) -> None:
    for name in list(os.environ):
        if name.startswith("PDCA_") and not name.startswith("PDCA_TEST_"):
            mp.delenv(name)
    mp.setenv("PDCA_DATABASE_URL", database_url)
    mp.setenv("PDCA_DATA_DIR", str(data_dir))
    # Debug so that a bug (not a user error) shows its traceback in the test report.
    mp.setenv("PDCA_DEBUG", "1")


def _runner() -> Cli:
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input)

    return run


@pytest.fixture
def cli(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """cli("user", "create", …): run pdca on this test's database (migrated or not)."""
    _environment(monkeypatch, settings.database_url, tmp_path)
    return _runner()


@pytest.fixture(scope="module")
def demo_db(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """One migrated database per module, for the tests that only read the demo."""
    data_dir = tmp_path_factory.mktemp("demo")
    if backend == "sqlite":
        settings = Settings(database_url=f"sqlite:///{data_dir / 'demo.sqlite3'}", debug=True)
        migrate.upgrade(settings)
        yield settings
        return
    base = os.environ.get(
        "PDCA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    schema = f"t_demo_{uuid.uuid4().hex[:10]}"
    admin = make_engine(Settings(database_url=base, debug=True))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"
    settings = Settings(database_url=url, debug=True)
    try:
        migrate.upgrade(settings)
        yield settings
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def demo_cli(demo_db: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """pdca against the module's demo database; the demo itself is loaded by `loaded_demo`."""
    with pytest.MonkeyPatch.context() as mp:
        _environment(mp, demo_db.database_url, tmp_path_factory.mktemp("demo-data"))
        yield _runner()


@pytest.fixture(scope="module")
def loaded_demo(demo_cli: Cli) -> Result:
    """The output of `pdca demo` on the module's empty database."""
    result = demo_cli("demo")
    assert result.exit_code == 0, result.output
    return result
