"""Points may arrive in any order and any batches: the stored findings are the same as
when the whole series came in one batch in time order.

A late point re-judges the points after it (a run it completes or breaks), and points
that came before their baseline was complete are judged once it is. An occurrence
that a late point unmakes is withdrawn, with its evidence kept in the trail.
"""

import itertools
import random
import re
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from pdca.models import Event, Kpi, Problem, ProblemOccurrence
from pdca.services import kpis
from pdca.services.kpis import RowIn
from pdca.web.texts import event_note
from tests.conftest import NOW

# 20 baseline points around 100, then a shift below the centre, a 2-of-3, a breach,
# warnings in a row and a rising trend: every kind of rule has something to find.
SERIES = [
    *[100, 102, 98, 101, 99, 103, 97, 100, 102, 98, 101, 99, 100, 103, 97, 101, 99, 100, 102, 98],
    *[96, 97, 96, 97, 95, 96, 97, 96],
    *[94, 93, 99, 92],
    75,
    *[88, 88, 89, 87],
    *[101, 100, 99, 98, 97, 96],  # a falling trend
]
RULES = [
    "limit_breach",
    "warnings_in_a_row",
    "spc_beyond_3_sigma",
    "spc_2_of_3_beyond_2_sigma",
    "spc_4_of_5_beyond_1_sigma",
    "spc_8_on_one_side",
    "spc_trend_6",
    "spc_14_alternating",
    "spc_15_within_1_sigma",
    "spc_8_beyond_1_sigma",
]
START = NOW - timedelta(days=len(SERIES) + 1)
_codes = itertools.count(1)


def a_kpi(ctx: Any, org: Any, code: str) -> Kpi:
    return kpis.create_kpi(
        ctx,
        code=code,
        name="Service level",
        unit="%",
        department_id=org.cs,
        direction="higher",
        target=95.0,
        warning_limit=90.0,
        breach_limit=80.0,
        rules=RULES,
    )


def rows(code: str, indexes: list[int]) -> list[RowIn]:
    return [RowIn(n + 1, code, START + timedelta(days=i), SERIES[i]) for n, i in enumerate(indexes)]


def findings(session: Session, kpi: Kpi) -> set[tuple[str, datetime]]:
    return {
        (rule, at)
        for rule, at in session.exec(
            select(ProblemOccurrence.rule, ProblemOccurrence.at).where(
                ProblemOccurrence.kpi_id == kpi.id
            )
        )
    }


def in_batches(order: list[int], sizes: list[int]) -> list[list[int]]:
    batches, at = [], 0
    for size in itertools.cycle(sizes):
        if at >= len(order):
            return batches
        batches.append(order[at : at + size])
        at += size
    return batches


def one_batch_in_time_order(ctx: Any, org: Any, session: Session) -> set[tuple[str, datetime]]:
    code = f"REF{next(_codes)}"
    kpi = a_kpi(ctx, org, code)
    kpis.ingest(ctx, rows(code, list(range(len(SERIES)))))
    return findings(session, kpi)


def test_the_reference_series_finds_every_kind_of_signal(org, as_user, session) -> None:
    found = one_batch_in_time_order(as_user(org.fiona), org, session)
    assert {
        "limit_breach",
        "warnings_in_a_row",
        "spc_beyond_3_sigma",
        "spc_2_of_3_beyond_2_sigma",
        "spc_8_on_one_side",
        "spc_trend_6",
    } <= {rule for rule, _at in found}


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    order=st.permutations(list(range(len(SERIES)))),
    sizes=st.lists(st.integers(1, 12), min_size=1, max_size=6),
)
def test_any_arrival_order_and_batching_gives_the_findings_of_one_batch_in_time_order(
    org, as_user, session, order, sizes
) -> None:
    fiona = as_user(org.fiona)
    expected = one_batch_in_time_order(fiona, org, session)
    code = f"ANY{next(_codes)}"
    kpi = a_kpi(fiona, org, code)
    for batch in in_batches(list(order), sizes):
        kpis.ingest(fiona, rows(code, batch))
    assert findings(session, kpi) == expected


def test_newest_first_one_by_one_gives_the_findings_of_time_order(org, as_user, session) -> None:
    fiona = as_user(org.fiona)
    expected = one_batch_in_time_order(fiona, org, session)
    kpi = a_kpi(fiona, org, "NEWEST")
    for i in reversed(range(len(SERIES))):
        kpis.ingest(fiona, rows("NEWEST", [i]))
    assert findings(session, kpi) == expected


def test_the_newest_half_first_then_the_older_half(org, as_user, session) -> None:
    fiona = as_user(org.fiona)
    expected = one_batch_in_time_order(fiona, org, session)
    kpi = a_kpi(fiona, org, "HALVES")
    half = len(SERIES) // 2
    kpis.ingest(fiona, rows("HALVES", list(range(half, len(SERIES)))))
    kpis.ingest(fiona, rows("HALVES", list(range(half))))
    assert findings(session, kpi) == expected


def test_a_late_point_that_breaks_a_run_withdraws_its_occurrence_and_says_so(
    org, as_user, session
) -> None:
    fiona = as_user(org.fiona)
    kpi = kpis.create_kpi(
        fiona,
        code="RUN",
        name="Service level",
        department_id=org.cs,
        target=95.0,
        warning_limit=90.0,
        breach_limit=80.0,
        rules=["warnings_in_a_row"],
        warnings_in_a_row=3,
    )
    day = [START + timedelta(days=i) for i in range(4)]
    # Days 1, 2, 3 at warning level: the 3rd in a row fires on day 3 …
    kpis.ingest(fiona, [RowIn(i + 1, "RUN", day[i + 1], 88) for i in range(3)])
    [problem] = session.exec(select(Problem).where(Problem.kpi_id == kpi.id)).all()
    assert findings(session, kpi) == {("warnings_in_a_row", day[3])}

    # … until day 0 arrives, also at warning level: now the run's 3rd point is day 2.
    result = kpis.ingest(fiona, [RowIn(1, "RUN", day[0], 87)])

    assert findings(session, kpi) == {("warnings_in_a_row", day[2])}
    assert result.occurrences_withdrawn == 1
    session.refresh(problem)
    assert (problem.occurrences, problem.last_occurrence_at) == (1, day[2])
    [withdrawn] = session.exec(
        select(Event).where(Event.entity_id == problem.id, Event.verb == "occurrence_withdrawn")
    ).all()
    assert withdrawn.data["at"] == day[3].isoformat()
    assert withdrawn.data["points"][-1]["value"] == 88
    # The system's note is a message key: each reader sees it in their own language.
    assert "no longer a signal" in event_note(withdrawn, "en")
    in_chinese = event_note(withdrawn, "zh_CN")
    assert in_chinese and not re.search("[A-Za-z]", in_chinese)


def test_points_stored_before_the_baseline_was_complete_are_judged_when_it_is(
    org, as_user, session
) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org, "LATEBASE")
    after = list(range(20, len(SERIES)))
    kpis.ingest(fiona, rows("LATEBASE", after))  # these 23 set their own limits first
    random.Random(7).shuffle(baseline := list(range(20)))
    kpis.ingest(fiona, rows("LATEBASE", baseline))

    spc = {(r, at) for r, at in findings(session, kpi) if r.startswith("spc")}
    expected = one_batch_in_time_order(fiona, org, session)
    assert spc == {(r, at) for r, at in expected if r.startswith("spc")}
    assert min(at for _r, at in spc) > START + timedelta(days=19)
