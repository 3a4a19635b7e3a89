"""Shared fixtures: every test gets its own fresh, migrated database.

Tests run on SQLite by default. With `--db=postgres` (or PDCA_TEST_DB=postgres)
the same tests run on PostgreSQL: each test gets a schema of its own in the
database named by PDCA_TEST_POSTGRES_URL, migrated by Alembic, dropped after.
"""

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_mock_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from pdca import migrate, resources
from pdca.db import make_engine
from pdca.models import Role, User
from pdca.services import organisation
from pdca.services.catalog import WorkflowCatalog
from pdca.services.context import Ctx
from pdca.settings import Settings
from tests.personas import PASSWORD

POSTGRES_URL = os.environ.get(
    "PDCA_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
WORKFLOWS_DIR = resources.workflows_dir()
# A fixed "now" so overdue and deadline rules are deterministic.
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default=os.environ.get("PDCA_TEST_DB", "sqlite"),
        choices=("sqlite", "postgres"),
        help="database backend for the tests",
    )


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    # argon2's production cost (~0.1 s a hash) times the org's eight users would
    # dominate every test's set-up; the hashes stay real argon2, only cheaper.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(organisation, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
        yield


@pytest.fixture(scope="session")
def catalog() -> WorkflowCatalog:
    return WorkflowCatalog.from_directory(WORKFLOWS_DIR)


def _postgres_settings(schema: str) -> Settings:
    url = POSTGRES_URL + ("&" if "?" in POSTGRES_URL else "?")
    # No fsync wait per commit: a crash loses a throwaway schema, nothing the tests check.
    url += f"options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"
    return Settings(
        database_url=url, debug=True, secret_key="test-secret-key-0123456789", jobs_every_seconds=0
    )


@pytest.fixture(scope="session")
def postgres_admin(backend: str) -> Iterator[Engine | None]:
    """One connection pool for creating and dropping every test's schema."""
    if backend != "postgres":
        yield None
        return
    admin = make_engine(Settings(database_url=POSTGRES_URL, debug=True), pool_size=1)
    yield admin
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_schema_ddl() -> list[str]:
    """The schema at head, as `create_all` and `alembic stamp head` would make it, compiled
    once: run per test, reflecting and stamping cost 0.2 s a test on PostgreSQL."""
    statements: list[str] = []

    def collect(ddl: object, *_args: object, **_kwargs: object) -> None:
        statements.append(str(ddl.compile(dialect=mock.dialect)))  # type: ignore[attr-defined]

    mock = create_mock_engine("postgresql+psycopg://", collect)  # type: ignore[arg-type]
    SQLModel.metadata.create_all(mock, checkfirst=False)  # type: ignore[arg-type]
    statements.append(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
        "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
    )
    heads = migrate.head_revisions(Settings(database_url="sqlite://", debug=True))
    statements += [f"INSERT INTO alembic_version (version_num) VALUES ('{h}')" for h in heads]
    return statements


class PostgresSchemas:
    """Schemas at head, emptied after their test and handed to the next one.

    Building a schema (eighty tables, their indexes and triggers) and dropping it again
    cost PostgreSQL more than most tests themselves. A schema whose structure a test
    left as the DDL makes it is emptied instead (each table's rows deleted with the
    triggers off, each sequence back at 1) and reused; one a test changed (a trigger
    dropped, a migration run, a right revoked) is dropped as before.
    """

    # What makes two schemas the same to a test: every relation with its columns and
    # rights, trigger, constraint and function, by name, and the Alembic revision.
    FINGERPRINT = """
        SELECT md5(string_agg(item, '|' ORDER BY item)) FROM (
          SELECT 'c:' || c.relname || ':' || c.relkind::text || ':' || coalesce(c.relacl::text, '')
            FROM pg_class c WHERE c.relnamespace = CAST(:schema AS regnamespace)
          UNION ALL
          SELECT 'a:' || c.relname || '.' || a.attname || ':' || a.atttypid || ':'
                 || a.attnotnull || ':' || a.attisdropped
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
           WHERE c.relnamespace = CAST(:schema AS regnamespace) AND a.attnum > 0
          UNION ALL
          SELECT 't:' || c.relname || '.' || t.tgname || ':' || t.tgenabled::text
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
           WHERE c.relnamespace = CAST(:schema AS regnamespace)
          UNION ALL
          SELECT 'k:' || conname || ':' || contype::text FROM pg_constraint
           WHERE connamespace = CAST(:schema AS regnamespace)
          UNION ALL
          SELECT 'f:' || proname || ':' || md5(prosrc) FROM pg_proc
           WHERE pronamespace = CAST(:schema AS regnamespace)
        ) AS items (item)
    """

    def __init__(self, admin: Engine, ddl: list[str]) -> None:
        self.admin = admin
        self.ddl = ddl
        self.ready: list[str] = []
        self.reference = self._fingerprint(self._build(self.create()))
        self.ready.append(self.reference_schema)

    def create(self) -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        return schema

    def _build(self, schema: str) -> str:
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f'SET LOCAL search_path TO "{schema}"')
            for statement in self.ddl:
                conn.exec_driver_sql(statement)
        self.reference_schema = schema
        return schema

    def _fingerprint(self, schema: str) -> str:
        with self.admin.connect() as conn:
            shape = conn.execute(text(self.FINGERPRINT), {"schema": schema}).scalar_one()
            exists = conn.execute(
                text("SELECT to_regclass(:table)"), {"table": f'"{schema}".alembic_version'}
            ).scalar_one()
            revisions = (
                conn.exec_driver_sql(
                    f"SELECT string_agg(version_num, ',' ORDER BY version_num) "
                    f'FROM "{schema}".alembic_version'
                ).scalar_one()
                if exists
                else None
            )
        return f"{shape}/{revisions}"

    def take(self, *, at_head: bool) -> str:
        """A schema at head and empty if `at_head` and one is ready, else a new empty one
        (which the engine fixture builds, or the test migrates)."""
        return self.ready.pop() if at_head and self.ready else self.create()

    def give_back(self, schema: str) -> None:
        try:
            if self._fingerprint(schema) == self.reference:
                self._empty(schema)
                self.ready.append(schema)
                return
        except Exception:  # any doubt about the schema: drop it
            pass
        with self.admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

    def _empty(self, schema: str) -> None:
        with self.admin.begin() as conn:
            tables = conn.execute(
                text(
                    "SELECT relname FROM pg_class WHERE relkind = 'r' "
                    "AND relnamespace = CAST(:schema AS regnamespace) "
                    "AND relname <> 'alembic_version'"
                ),
                {"schema": schema},
            ).scalars()
            # Replica mode: no foreign-key order to follow and the events table's
            # append-only triggers stay out of the way (this is the test harness).
            statements = ["SET LOCAL session_replication_role = replica"]
            statements += [f'DELETE FROM "{schema}"."{table}"' for table in tables]
            conn.exec_driver_sql(";".join(statements))
            conn.execute(
                text(
                    "SELECT setval(format('%I.%I', schemaname, sequencename), 1, false) "
                    "FROM pg_sequences WHERE schemaname = :schema AND last_value IS NOT NULL"
                ),
                {"schema": schema},
            )

    def drop_all(self) -> None:
        with self.admin.begin() as conn:
            for schema in self.ready:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        self.ready.clear()


@pytest.fixture(scope="session")
def postgres_schemas(
    postgres_admin: Engine | None, postgres_schema_ddl: list[str]
) -> Iterator[PostgresSchemas | None]:
    if postgres_admin is None:
        yield None
        return
    schemas = PostgresSchemas(postgres_admin, postgres_schema_ddl)
    yield schemas
    schemas.drop_all()


@pytest.fixture
def settings(
    backend: str,
    tmp_path: Path,
    postgres_schemas: PostgresSchemas | None,
    catalog: WorkflowCatalog,
    request: pytest.FixtureRequest,
) -> Iterator[Settings]:
    if backend == "sqlite" or postgres_schemas is None:
        yield Settings(
            database_url=f"sqlite:///{tmp_path / 'test.sqlite3'}",
            debug=True,
            secret_key="test-secret-key-0123456789",
            data_dir=tmp_path,
            # The tests run the notification jobs themselves, on their own clock.
            jobs_every_seconds=0,
        )
        return
    # Only a test that builds its database with `engine` may start from a used schema;
    # the others (migrations, CLI commands, an empty database) get a new one as before.
    names = request.fixturenames
    schema = postgres_schemas.take(at_head="engine" in names and "migrated_engine" not in names)
    try:
        yield _postgres_settings(schema)
    finally:
        postgres_schemas.give_back(schema)
        # The next test's workflow version 1 may be another workflow than this one's.
        catalog.forget_stored_versions()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once by Alembic; each test starts from a copy."""
    path = tmp_path_factory.mktemp("template") / "migrated.sqlite3"
    template = Settings(database_url=f"sqlite:///{path}", debug=True)
    migrate.upgrade(template)
    return path


@pytest.fixture
def engine(settings: Settings, backend: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A fresh database at head for the test.

    Running every migration for every test made the PostgreSQL pass several times
    slower than SQLite. The schema is the same whichever way it is built (the drift
    test in tests/unit/test_migrations.py proves models and migrations agree), so
    SQLite copies a template and PostgreSQL creates the tables and stamps head. Tests
    of the migrations themselves use `migrated_engine`, which runs Alembic.
    """
    if backend == "sqlite":
        shutil.copyfile(
            request.getfixturevalue("sqlite_template"), settings.database_url.split("///", 1)[1]
        )
        engine = make_engine(settings)
    else:
        engine = make_engine(settings)
        with engine.begin() as conn:
            # A schema from the pool is at head already; a new one is empty.
            if conn.exec_driver_sql("SELECT to_regclass('alembic_version')").scalar() is None:
                for statement in request.getfixturevalue("postgres_schema_ddl"):
                    conn.exec_driver_sql(statement)
    yield engine
    engine.dispose()


@pytest.fixture
def migrated_engine(settings: Settings) -> Iterator[Engine]:
    """A fresh database brought to head by running every Alembic migration."""
    engine = make_engine(settings)
    migrate.upgrade(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def today(self) -> date:
        return self.now.date()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def as_user(
    session: Session, catalog: WorkflowCatalog, clock: Clock
) -> Callable[[User | None], Ctx]:
    """ctx = as_user(alice): the context of a use case run by alice (None: the system)."""

    def make(user: User | None) -> Ctx:
        return Ctx(session=session, actor=user, catalog=catalog, clock=clock)

    return make


@dataclass
class Org:
    """A small organisation: the personas the tests speak of."""

    cs: int
    it: int
    billing: int
    admin: User
    fiona: User  # facilitator (quality manager)
    frank: User  # a second facilitator
    hanna: User  # head of Customer Service
    ivan: User  # head of IT
    mia: User  # member in Customer Service
    max: User  # member in IT
    vera: User  # viewer (auditor)


@pytest.fixture
def org(as_user: Callable[[User | None], Ctx]) -> Org:
    system = as_user(None)
    cs = organisation.create_department(system, code="CS", name="Customer Service")
    it = organisation.create_department(system, code="IT", name="IT")
    billing = organisation.create_department(system, code="BIL", name="Billing")

    def user(email: str, name: str, role: Role, dept: str) -> User:
        return organisation.create_user(
            system,
            email=email,
            name=name,
            role=role,
            department_code=dept,
            password=PASSWORD,
        )

    return Org(
        cs=cs.id,
        it=it.id,
        billing=billing.id,  # type: ignore[arg-type]
        admin=user("admin@example.com", "Ada Admin", Role.admin, "CS"),
        fiona=user("fiona@example.com", "Fiona Facilitator", Role.facilitator, "CS"),
        frank=user("frank@example.com", "Frank Facilitator", Role.facilitator, "IT"),
        hanna=user("hanna@example.com", "Hanna Head", Role.head, "CS"),
        ivan=user("ivan@example.com", "Ivan Head", Role.head, "IT"),
        mia=user("mia@example.com", "Mia Member", Role.member, "CS"),
        max=user("max@example.com", "Max Member", Role.member, "IT"),
        vera=user("vera@example.com", "Vera Viewer", Role.viewer, "CS"),
    )
