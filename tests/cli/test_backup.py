"""`pdca backup` and `pdca restore`: a consistent copy of SQLite while it is written to."""

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from pdca.services import organisation
from pdca.services.context import Ctx
from pdca.settings import Settings

from .conftest import Cli

TABLES = ("departments", "users", "events")


def rows(path: Path, table: str) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(f'SELECT * FROM "{table}" ORDER BY id').fetchall()


def sqlite_file(settings: Settings) -> Path:
    return Path(settings.database_url.split("///", 1)[1])


@pytest.fixture
def sqlite_only(backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("pdca backup copies SQLite; PostgreSQL's refusal is tested below")


def test_a_backup_taken_while_a_writer_writes_restores_whole_transactions(
    sqlite_only, cli: Cli, settings: Settings, engine: Engine, org, catalog, tmp_path: Path
):
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:
        # Each department and its audit event are written in one transaction.
        with Session(engine, expire_on_commit=False) as session:
            ctx = Ctx(session=session, actor=org.admin, catalog=catalog)
            while not stop.is_set() and len(written) < 2000:
                n = len(written)
                organisation.create_department(ctx, code=f"W{n}", name=f"Written {n}")
                written.append(n)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 20:
            stop.wait(0.01)
        result = cli("backup", str(tmp_path / "copy.sqlite3"))
    finally:
        stop.set()
        thread.join()
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Backed up the database (schema revision ")
    backed_up = rows(tmp_path / "copy.sqlite3", "departments")
    assert 3 + 20 <= len(backed_up) < 3 + len(written)  # taken while the writer went on

    restored = tmp_path / "elsewhere" / "restored.sqlite3"
    cli_env = f"sqlite:///{restored}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PDCA_DATABASE_URL", cli_env)
        result = cli("restore", str(tmp_path / "copy.sqlite3"))
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"Restored {tmp_path / 'copy.sqlite3'} (schema revision ")
        assert "pdca db upgrade" not in result.stdout

    for table in TABLES:
        assert rows(restored, table) == rows(tmp_path / "copy.sqlite3", table)
    # Every department in the copy has its audit event: no transaction was cut in two.
    departments = {r[0] for r in rows(restored, "departments")}
    with sqlite3.connect(restored) as db:
        audited = {
            r[0]
            for r in db.execute(
                "SELECT entity_id FROM events WHERE entity_type = 'department' AND verb = 'created'"
            )
        }
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert departments == audited
    # And the copy is what the source held: its rows are the source's first rows.
    source = rows(sqlite_file(settings), "departments")
    assert source[: len(backed_up)] == backed_up


def test_restore_refuses_to_replace_a_database_without_force(
    sqlite_only, cli: Cli, engine: Engine, org, settings: Settings, tmp_path: Path
):
    assert cli("backup", str(tmp_path / "copy.sqlite3")).exit_code == 0
    again = cli("backup", str(tmp_path / "copy.sqlite3"))
    assert again.exit_code == 1
    assert again.stderr.strip() == (
        f"error: {tmp_path / 'copy.sqlite3'} already exists (add --force to overwrite it)"
    )
    refused = cli("restore", str(tmp_path / "copy.sqlite3"))
    assert refused.exit_code == 1
    assert refused.stderr.strip() == (
        f"error: a database already exists at {sqlite_file(settings)}; stop pdca serve, then "
        "add --force to replace it with the backup"
    )
    assert cli("restore", str(tmp_path / "copy.sqlite3"), "--force").exit_code == 0


def test_restore_refuses_what_is_not_a_pdca_database(
    sqlite_only, cli: Cli, settings: Settings, tmp_path: Path
):
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    future = tmp_path / "future.sqlite3"
    with sqlite3.connect(future) as db:
        db.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        db.execute("INSERT INTO alembic_version VALUES ('9999_from_the_future')")

    for path, reason in (
        (text, "is not a SQLite database"),
        (other, "is not a pdca database"),
        (future, "is at schema revision 9999_from_the_future, which this pdca does not know"),
    ):
        result = cli("restore", str(path))
        assert result.exit_code == 1
        assert result.stderr.startswith(f"error: {path} {reason}"), result.stderr
    assert not sqlite_file(settings).exists()


def test_on_postgresql_backup_and_restore_point_to_pg_dump(backend: str, cli: Cli, tmp_path):
    if backend != "postgres":
        pytest.skip("the PostgreSQL refusal needs a PostgreSQL URL")
    result = cli("backup", str(tmp_path / "copy"))
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(
        "error: pdca backup copies SQLite databases; for PostgreSQL use `pg_dump -Fc"
    )
    result = cli("restore", str(tmp_path / "copy"))
    assert result.exit_code == 1
    assert "pg_restore" in result.stderr
    assert not (tmp_path / "copy").exists()
