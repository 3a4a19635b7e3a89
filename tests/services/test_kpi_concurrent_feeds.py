"""Ten feeds at once, ten rounds: no feed fails, duplicates are counted as duplicates,
and one breach is one open problem per KPI and rule, never ten.

Each feed runs in its own thread with its own session (its own connection), as ten
clients of several server processes would; a barrier releases them together.
"""

import threading
from datetime import timedelta

from sqlmodel import Session, col, func, select

from pdca.models import Problem, ProblemOccurrence, User
from pdca.services import kpis
from pdca.services.context import Ctx
from pdca.services.kpis import IngestResult, RowIn
from tests.conftest import NOW

FEEDS, ROUNDS = 10, 10
TIMEOUT = 60


def feed_together(engine, catalog, clock, actor: User, batches: list[list[RowIn]]) -> list:
    """Send every batch at once, one thread each; the outcome of each (a result or an error)."""
    barrier = threading.Barrier(len(batches), timeout=TIMEOUT)
    outcomes: list[IngestResult | BaseException] = [None] * len(batches)  # type: ignore[list-item]

    def send(i: int) -> None:
        with Session(engine, expire_on_commit=False) as session:
            ctx = Ctx(session=session, actor=actor, catalog=catalog, clock=clock)
            barrier.wait()
            try:
                outcomes[i] = kpis.ingest(ctx, batches[i])
            except BaseException as exc:
                outcomes[i] = exc

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a feed is stuck"
    return outcomes


def a_kpi(ctx: Ctx, org, code: str) -> None:
    kpis.create_kpi(
        ctx,
        code=code,
        name="Service level",
        department_id=org.cs,
        target=80.0,
        warning_limit=75.0,
        breach_limit=70.0,
        rules=["limit_breach", "warnings_in_a_row"],
    )


def open_problems(session: Session) -> list[tuple[int, str, int]]:
    return list(
        session.exec(
            select(Problem.kpi_id, Problem.detection_rule, func.count())
            .where(col(Problem.status).in_(["new", "accepted"]))
            .group_by(col(Problem.kpi_id), col(Problem.detection_rule))
        )
    )


def failures(outcomes: list) -> list[BaseException]:
    return [o for o in outcomes if isinstance(o, BaseException)]


def test_identical_batches_sent_at_once_are_stored_once_and_counted_as_duplicates(
    engine, catalog, clock, org, as_user, session
) -> None:
    fiona = as_user(org.fiona)
    a_kpi(fiona, org, "SAME")
    for r in range(ROUNDS):
        at = NOW - timedelta(days=ROUNDS - r)
        batch = [RowIn(1, "SAME", at, 65.0), RowIn(2, "SAME", at + timedelta(hours=1), 66.0)]
        outcomes = feed_together(engine, catalog, clock, org.fiona, [batch] * FEEDS)
        assert failures(outcomes) == []
        assert sum(o.stored for o in outcomes) == 2
        assert sum(o.duplicates for o in outcomes) == 2 * (FEEDS - 1)
    counts = {rule: count for _kpi, rule, count in open_problems(session)}
    assert counts == {"limit_breach": 1, "warnings_in_a_row": 1}
    breaches = session.exec(
        select(func.count())
        .select_from(ProblemOccurrence)
        .where(ProblemOccurrence.rule == "limit_breach")
    ).one()
    assert breaches == 2 * ROUNDS


def test_distinct_breaching_points_at_once_never_fail_and_raise_one_problem_per_rule(
    engine, catalog, clock, org, as_user, session
) -> None:
    fiona = as_user(org.fiona)
    a_kpi(fiona, org, "ONE")
    a_kpi(fiona, org, "TWO")
    for r in range(ROUNDS):
        base = NOW - timedelta(days=ROUNDS - r)
        batches = [
            [RowIn(1, code, base + timedelta(minutes=f), 60.0 + f / 10)]
            for f in range(FEEDS)
            for code in (("ONE",) if f % 2 else ("TWO",))
        ]
        outcomes = feed_together(engine, catalog, clock, org.fiona, batches)
        assert failures(outcomes) == []
        assert sum(o.stored for o in outcomes) == FEEDS
    by_rule = {(kpi_id, rule): count for kpi_id, rule, count in open_problems(session)}
    assert sorted(by_rule.values()) == [1, 1, 1, 1]  # breach and warnings, on each KPI
    totals = dict(
        session.exec(
            select(Problem.detection_rule, func.sum(Problem.occurrences)).group_by(
                col(Problem.detection_rule)
            )
        ).all()
    )
    assert totals["limit_breach"] == FEEDS * ROUNDS  # every breaching point counted once
