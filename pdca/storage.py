"""Storage faults: a store that cannot take writes, told apart from a busy one.

A read-only database, a full disk or an I/O error is not fixed by retrying in two
seconds, so it must not be reported as "busy, try again". Each engine remembers the
fault it last met; a connection that met one is dropped (the next one is opened
afresh, so a store that has been fixed works again without a restart), and
`/healthz` asks the store for a real write while a fault is remembered.
"""

import threading
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import delete, event, insert
from sqlalchemy.engine import Engine

from pdca.models import Lease

Fault = Literal["read_only", "full", "io_error"]

# PostgreSQL's SQLSTATEs: read-only transaction, disk full, I/O error.
_SQLSTATES: dict[str, Fault] = {"25006": "read_only", "53100": "full", "58030": "io_error"}
# SQLite's messages (it has no codes through pysqlite before Python 3.11's errorcode).
_SQLITE_WORDS: tuple[tuple[str, Fault], ...] = (
    ("readonly database", "read_only"),
    ("read-only", "read_only"),
    ("database or disk is full", "full"),
    ("disk i/o error", "io_error"),
)
# A row in the leases table that only the write probe touches.
_PROBE = "healthz:write-probe"
leases = Lease.__table__  # type: ignore[attr-defined]


def storage_fault(exc: BaseException) -> Fault | None:
    """The storage fault behind a database error, or None (busy, a bug, bad input)."""
    original = getattr(exc, "orig", None) or exc
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate in _SQLSTATES:
        return _SQLSTATES[sqlstate]
    message = str(original).lower()
    for words, fault in _SQLITE_WORDS:
        if words in message:
            return fault
    return None


@dataclass
class _Health:
    fault: Fault | None = None
    since: datetime | None = None


_health: "weakref.WeakKeyDictionary[Engine, _Health]" = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def watch(engine: Engine) -> None:
    """Remember the storage faults the engine meets and drop the connections that met them."""
    _health.setdefault(engine, _Health())

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> None:
        fault = storage_fault(context.original_exception)
        if fault is None:
            return
        with _lock:
            health = _health.setdefault(engine, _Health())
            if health.fault != fault:
                health.fault, health.since = fault, datetime.now(UTC)
        # Treated as a lost connection: the pool opens new ones, which see a fixed store.
        context.is_disconnect = True


def known_fault(engine: Engine) -> tuple[Fault, datetime] | None:
    health = _health.get(engine)
    if health is None or health.fault is None or health.since is None:
        return None
    return health.fault, health.since


def writes_succeeded(engine: Engine) -> None:
    """A write committed: whatever fault was remembered is over."""
    health = _health.get(engine)
    if health is not None and health.fault is not None:
        with _lock:
            health.fault = health.since = None


def probe_writes(engine: Engine) -> Fault | None:
    """Write and commit one row; the fault it meets, or None once the store takes writes."""
    try:
        with engine.begin() as connection:
            connection.execute(delete(leases).where(leases.c.name == _PROBE))
            connection.execute(
                insert(leases).values(name=_PROBE, holder="healthz", until=datetime.now(UTC))
            )
    except Exception as exc:
        # Busy or unreachable tells nothing about writes: the remembered fault stands.
        known = known_fault(engine)
        return storage_fault(exc) or (known[0] if known else None)
    writes_succeeded(engine)
    return None
