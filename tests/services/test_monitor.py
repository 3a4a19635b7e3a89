"""The scheduled monitor runs on one worker at a time: a lease taken by compare-and-set.

Several `pdca serve` workers and a `pdca monitor run` from cron may all wake at the same
moment; whoever takes the lease runs the missing-data check, the others skip it, so a
quiet KPI is reported once. Each racing worker has its own engine (its own connections)
and thread, released together by a barrier, as separate processes would be.
"""

import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from pdca.db import make_engine
from pdca.models import Lease, Problem
from pdca.services import kpis, monitor
from pdca.services.context import Ctx
from tests.conftest import NOW
from tests.services.builders_services import count, events_of

TIMEOUT = 30  # seconds; a deadlock fails the test instead of hanging the suite
HOLD = timedelta(minutes=5)


@pytest.fixture
def quiet_kpi(org, as_user):
    """A KPI watched for missing data that has never been measured."""
    return kpis.create_kpi(
        as_user(org.fiona),
        code="CS-FCR",
        name="First-contact resolution",
        department_id=org.cs,
        target=70.0,
        rules=["missing_data"],
    )


def lease(session: Session) -> Lease | None:
    return session.exec(
        select(Lease).where(Lease.name == monitor.LEASE).execution_options(populate_existing=True)
    ).first()


def race_workers(settings, catalog, clock, holders: list[str]) -> dict[str, monitor.MonitorRun]:
    """Each holder runs `monitor.run_once` in its own thread and engine, all released at once."""
    barrier = threading.Barrier(len(holders), timeout=TIMEOUT)
    runs: dict[str, monitor.MonitorRun] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(holder: str) -> None:
        engine = make_engine(settings)
        try:
            with Session(engine, expire_on_commit=False) as session:
                ctx = Ctx(session=session, actor=None, catalog=catalog, clock=clock)
                session.connection()  # connect before the barrier: race the lease, not the pool
                session.rollback()
                barrier.wait()
                run = monitor.run_once(ctx, holder, hold=HOLD)
            with lock:
                runs[holder] = run
        except BaseException as exc:  # surfaced in the main thread below
            with lock:
                errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=work, args=(h,)) for h in holders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a worker is stuck"
    if errors:
        raise errors[0]
    return runs


@pytest.mark.parametrize("lease_before", ["none", "expired"])
def test_two_workers_at_the_same_moment_one_runs_and_the_problem_is_raised_once(
    settings, catalog, clock, engine, session, as_user, quiet_kpi, lease_before
) -> None:
    if lease_before == "expired":
        assert monitor.take_lease(as_user(None), "yesterday's worker", HOLD)
        clock.advance(hours=1)

    runs = race_workers(settings, catalog, clock, ["worker-1", "worker-2"])

    ran = [holder for holder, run in runs.items() if run.ran]
    assert len(ran) == 1, runs
    [winner] = ran
    [loser] = [h for h in runs if h != winner]
    assert runs[loser].problems == []
    with Session(engine) as reader:
        [problem] = reader.exec(select(Problem)).all()
        assert runs[winner].problems == [problem.id]
        assert (problem.kpi_id, problem.detection_rule) == (quiet_kpi.id, "missing_data")
        assert len(events_of(reader, "problem", problem.id, "reported")) == 1
        held = lease(reader)
        assert (held.holder, held.until) == (winner, clock.now + HOLD)


def test_many_workers_racing_still_report_a_quiet_kpi_once(
    settings, catalog, clock, engine, quiet_kpi
) -> None:
    runs = race_workers(settings, catalog, clock, [f"worker-{i}" for i in range(4)])
    assert sum(run.ran for run in runs.values()) == 1
    with Session(engine) as reader:
        assert count(reader, Problem) == 1


def test_a_lease_held_by_another_worker_blocks_until_it_expires(
    as_user, clock, session, quiet_kpi
) -> None:
    system = as_user(None)
    assert monitor.take_lease(system, "serve:1", HOLD)

    blocked = monitor.run_once(system, "cron", hold=HOLD)
    assert (blocked.ran, blocked.problems) == (False, [])
    assert count(session, Problem) == 0
    clock.advance(minutes=4, seconds=59)
    assert not monitor.take_lease(system, "cron", HOLD)
    assert (lease(session).holder, lease(session).until) == ("serve:1", NOW + HOLD)

    clock.advance(seconds=2)  # past `until`: the lease has expired
    taken = monitor.run_once(system, "cron", hold=HOLD)

    assert taken.ran
    assert len(taken.problems) == 1
    assert (lease(session).holder, lease(session).until) == ("cron", clock.now + HOLD)
    assert not monitor.take_lease(system, "serve:1", HOLD)  # now the other one waits


def test_the_holder_renews_its_own_lease(as_user, clock, session, quiet_kpi) -> None:
    system = as_user(None)
    first = monitor.run_once(system, "serve:1", hold=HOLD)
    clock.advance(minutes=2)

    again = monitor.run_once(system, "serve:1", hold=HOLD)

    assert first.ran and again.ran
    assert (lease(session).holder, lease(session).until) == ("serve:1", clock.now + HOLD)
    assert again.problems == []  # the missing-data problem was raised two minutes ago
    assert count(session, Problem) == 1
    assert count(session, Lease) == 1
