"""Two people, one cycle, the same moment: one wins, the other is told, nothing is lost.

Each contender runs in its own thread with its own engine (its own connections),
as two server processes would. A barrier releases them together so they really
race; whoever the database lets through first wins, and the outcome is the same
either way: exactly one "ok" and one "conflict".
"""

import threading
from collections.abc import Callable

import pytest
from sqlmodel import Session, select

from pdca import db
from pdca.db import WriterQueue, make_engine, writer_queue
from pdca.models import Cycle, Problem, User
from pdca.services import cycles, problems
from pdca.services.context import Ctx
from pdca.services.errors import Conflict, Unavailable
from tests.services.builders_services import a_planned_cycle, events_of

TIMEOUT = 30  # seconds; a deadlock fails the test instead of hanging the suite


def race(settings, catalog, clock, contenders: list[tuple[User, Callable[[Ctx], object]]]):
    """Run each (actor, use case) in its own thread, released together; return the outcomes."""
    barrier = threading.Barrier(len(contenders), timeout=TIMEOUT)
    outcomes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def contend(actor: User, use_case: Callable[[Ctx], object]) -> None:
        engine = make_engine(settings)
        try:
            with Session(engine, expire_on_commit=False) as session:
                ctx = Ctx(session=session, actor=actor, catalog=catalog, clock=clock)
                barrier.wait()
                try:
                    use_case(ctx)
                    outcome = "ok"
                except Conflict:
                    outcome = "conflict"
                with lock:
                    outcomes.append(outcome)
        except BaseException as exc:  # surfaced in the main thread below
            with lock:
                errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=contend, args=c) for c in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a contender is stuck"
    if errors:
        raise errors[0]
    return sorted(outcomes)


def test_two_facilitators_racing_to_start_do_one_wins_and_the_other_gets_a_conflict(
    org, as_user, clock, settings, catalog, engine, session
):
    built = a_planned_cycle(org, as_user, clock)
    cycle_id, read_version = built.cycle.id, built.cycle.version

    def start_do(ctx: Ctx) -> object:
        return cycles.fire_transition(ctx, cycle_id, trigger="start_do", version=read_version)

    outcomes = race(settings, catalog, clock, [(org.fiona, start_do), (org.frank, start_do)])

    assert outcomes == ["conflict", "ok"]
    with Session(engine) as reader:
        stored = reader.get(Cycle, cycle_id)
        assert (stored.state, stored.version) == ("do", read_version + 1)
        [event] = events_of(reader, "cycle", cycle_id, "transition")
    assert (event.from_value, event.to_value) == ("plan", "do")
    assert event.actor_id in (org.fiona.id, org.frank.id)


def test_two_racing_edits_of_the_same_field_keep_exactly_one_value(
    org, as_user, clock, settings, catalog, engine, session
):
    built = a_planned_cycle(org, as_user, clock)
    cycle_id, read_version = built.cycle.id, built.cycle.version

    def set_target(value: float) -> Callable[[Ctx], object]:
        def use_case(ctx: Ctx) -> object:
            return cycles.update_cycle_fields(
                ctx, cycle_id, version=read_version, changes={"target": value}
            )

        return use_case

    outcomes = race(
        settings, catalog, clock, [(org.fiona, set_target(85)), (org.frank, set_target(90))]
    )

    assert outcomes == ["conflict", "ok"]
    with Session(engine) as reader:
        stored = reader.get(Cycle, cycle_id)
        edits = [e for e in events_of(reader, "cycle", cycle_id, "field_changed") if e.actor_id]
    target_edits = [e for e in edits if e.field == "target" and e.from_value == "80.0"]
    # The value stored is the one the single audited edit says it is.
    [winner] = target_edits
    assert stored.version == read_version + 1
    assert float(winner.to_value) == stored.target
    assert stored.target in (85, 90)


@pytest.mark.parametrize("pass_version", [True, False], ids=["stale version", "no version"])
def test_a_write_after_another_committed_is_a_conflict_never_a_lost_update(
    org, as_user, clock, catalog, engine, session, pass_version
):
    built = a_planned_cycle(org, as_user, clock)
    cycle_id = built.cycle.id
    with (
        Session(engine, expire_on_commit=False) as fionas,
        Session(engine, expire_on_commit=False) as franks,
    ):
        fiona = Ctx(session=fionas, actor=org.fiona, catalog=catalog, clock=clock)
        frank = Ctx(session=franks, actor=org.frank, catalog=catalog, clock=clock)
        # Both open the cycle's page and read the same version.
        seen_by_fiona = cycles.get_cycle(fiona, cycle_id)
        read_version = seen_by_fiona.version
        fionas.commit()  # her page is rendered; her row stays in memory, now stale
        cycles.get_cycle(frank, cycle_id)
        franks.commit()

        cycles.update_cycle_fields(
            frank, cycle_id, version=read_version, changes={"root_cause": "No cover rota"}
        )
        with pytest.raises(Conflict, match="changed by someone else"):
            cycles.update_cycle_fields(
                fiona,
                cycle_id,
                version=read_version if pass_version else None,
                changes={"root_cause": "Too few agents"},
            )

    with Session(engine) as reader:
        stored = reader.get(Cycle, cycle_id)
        changes = [
            e.to_value
            for e in events_of(reader, "cycle", cycle_id, "field_changed")
            if e.field == "root_cause" and e.actor_id is not None
        ]
    assert (stored.root_cause, stored.version) == ("No cover rota", read_version + 1)
    assert changes == ["Breaks overlap at noon", "No cover rota"]


def test_on_sqlite_the_writers_of_one_process_take_turns_and_one_kept_waiting_too_long_is_told_to_retry(
    org, as_user, engine, backend
):
    """Writers of one process wait for their turn in the process, not in SQLite's busy
    handler (which sleeps between tries); a writer whose turn does not come within the
    busy timeout gets a 503 to retry, and nothing of it is written."""
    if backend != "sqlite":
        pytest.skip("PostgreSQL queues writers itself")
    queue = writer_queue(engine)
    assert queue is not None
    holding, release = threading.Event(), threading.Event()

    def hold_the_turn() -> None:
        with queue.lock:
            holding.set()
            release.wait(TIMEOUT)

    holder = threading.Thread(target=hold_the_turn)
    holder.start()
    holding.wait(TIMEOUT)
    impatient = WriterQueue(queue.lock, timeout=0.2)
    db._WRITER_QUEUES[engine] = impatient
    try:
        with pytest.raises(Unavailable):
            problems.report_problem(
                as_user(org.mia), title="Queue jumped", source="internal", department_id=org.cs
            )
    finally:
        db._WRITER_QUEUES[engine] = queue
        release.set()
        holder.join(TIMEOUT)
    assert as_user(None).session.exec(select(Problem)).all() == []
    # The turn free again, the same report is written.
    problems.report_problem(
        as_user(org.mia), title="Queue jumped", source="internal", department_id=org.cs
    )
    assert len(as_user(None).session.exec(select(Problem)).all()) == 1
