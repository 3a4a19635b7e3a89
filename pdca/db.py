"""Database engine and sessions: SQLite (WAL, foreign keys, busy timeout) or PostgreSQL."""

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from pdca.settings import Settings


def normalise_url(url: str) -> str:
    """Let people write postgresql:// and still get psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


SQLITE_BEGIN_OPTION = "pdca_sqlite_begin"


def make_engine(settings: Settings, **kwargs: Any) -> Engine:
    url = normalise_url(settings.database_url)
    # The scheduler and a CLI job may hold a connection beside the request threads.
    kwargs.setdefault("pool_size", settings.db_pool_size)
    kwargs.setdefault("max_overflow", 4)
    kwargs.setdefault("pool_timeout", settings.db_pool_timeout)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine, settings.sqlite_busy_timeout)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


@dataclass(frozen=True)
class WriterQueue:
    """SQLite takes one writer at a time. Writers of this process wait for their turn
    here rather than in SQLite's busy handler, which sleeps 1, 2, 5, 10 … ms between
    tries: with four requests writing at once most of their time went to those sleeps.
    Other processes (several workers, the CLI) still meet at the busy timeout."""

    lock: threading.RLock
    timeout: float


def writer_queue(engine: Engine) -> WriterQueue | None:
    """The queue of this engine's writers, or None where the database queues them (PostgreSQL)."""
    return _WRITER_QUEUES.get(engine)


_WRITER_QUEUES: weakref.WeakKeyDictionary[Engine, WriterQueue] = weakref.WeakKeyDictionary()


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    _WRITER_QUEUES[engine] = WriterQueue(threading.RLock(), busy_timeout)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINTs,
        # so we emit BEGIN ourselves (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Reads begin DEFERRED and block nobody (WAL). A use case's write transaction
        # asks for IMMEDIATE (see services.context.unit_of_work): it takes the write
        # lock up front, so two racing writers queue on busy_timeout and the later one
        # then reads the new version (a clean 409) instead of failing half-way with
        # SQLITE_BUSY_SNAPSHOT.
        mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session for one use case; services commit, this only closes."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


def database_reachable(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def table_names(engine: Engine) -> list[str]:
    return inspect(engine).get_table_names()
