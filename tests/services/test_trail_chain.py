"""The trail is tamper-evident: the database refuses edits, and the hash chain catches
what someone does with the triggers dropped (issue 10)."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from pdca.models import Event
from pdca.services import audit
from tests.services.builders_services import a_cycle_in_do


@pytest.fixture
def trail(org, as_user, clock, engine) -> list[int]:
    a_cycle_in_do(org, as_user, clock)
    with Session(engine) as db:
        return [e.id for e in db.exec(select(Event).order_by(col(Event.id)))]


def test_the_chain_of_a_real_trail_verifies(trail, engine):
    assert len(trail) > 3
    with Session(engine) as db:
        report = audit.verify_trail(db, batch=2)
    assert report.broken_at is None and report.checked == len(trail)


@pytest.mark.parametrize(
    "statement", ["UPDATE events SET note = 'rewritten'", "DELETE FROM events"]
)
def test_the_database_refuses_to_change_events(trail, engine, statement):
    with engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text(statement))
        conn.commit()


def _drop_triggers(conn, backend: str) -> None:
    if backend == "postgres":
        conn.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))
    else:
        conn.execute(text("DROP TRIGGER events_no_update"))
        conn.execute(text("DROP TRIGGER events_no_delete"))


def test_a_forged_event_breaks_the_chain_at_that_event(trail, engine, backend):
    forged = trail[2]
    with engine.begin() as conn:
        _drop_triggers(conn, backend)
        conn.execute(
            text("UPDATE events SET note = 'nothing to see' WHERE id = :id"), {"id": forged}
        )
    with Session(engine) as db:
        report = audit.verify_trail(db)
    assert report.broken_at == forged and report.checked == 2


def test_a_deleted_event_breaks_the_chain_at_the_next(trail, engine, backend):
    with engine.begin() as conn:
        _drop_triggers(conn, backend)
        conn.execute(text("DELETE FROM events WHERE id = :id"), {"id": trail[1]})
    with Session(engine) as db:
        assert audit.verify_trail(db).broken_at == trail[2]


def test_concurrent_writers_chain_one_after_the_other(org, engine, catalog, clock):
    from concurrent.futures import ThreadPoolExecutor

    from pdca.services import organisation
    from pdca.services.context import Ctx
    from pdca.services.errors import Unavailable

    def one(i: int) -> None:
        with Session(engine, expire_on_commit=False) as session:
            ctx = Ctx(session=session, actor=org.admin, catalog=catalog, clock=clock)
            for _attempt in range(20):
                try:
                    organisation.create_department(ctx, code=f"D{i}", name=f"Department {i}")
                    return
                except Unavailable:  # SQLite's busy timeout under this many writers
                    continue

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one, range(16)))
    with Session(engine) as db:
        report = audit.verify_trail(db)
        total = len(db.exec(select(Event.id)).all())
    assert report.broken_at is None and report.checked == total
