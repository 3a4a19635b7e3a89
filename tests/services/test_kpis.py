"""KPI monitoring as its use cases: define indicators, ingest points, and let the rules
raise problems, repeat them, link recurrences, notice recovery and missing data; the
scorecard, the Pareto, and the numbers a cycle aimed at a KPI shows in its Check phase.

Every test runs through the services, as the API, the pages and the CLI do; "now" is
the fixed test clock (2026-11-25 09:00 UTC), so points are dated days before it.
"""

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from pdca.models import (
    Event,
    Kpi,
    Measurement,
    Problem,
    ProblemOccurrence,
    ProblemStatus,
    User,
)
from pdca.services import actions, cycles, kpis, problems
from pdca.services.context import Ctx
from pdca.services.errors import Conflict, Forbidden, Invalid
from pdca.services.kpis import RowIn
from tests.conftest import NOW, Clock, Org
from tests.services.builders_services import a_planned_cycle, count, events_of, fresh, signed

AsUser = Callable[[User | None], Ctx]
ALL_RULES = [
    "limit_breach",
    "warnings_in_a_row",
    "spc_beyond_3_sigma",
    "spc_2_of_3_beyond_2_sigma",
    "spc_4_of_5_beyond_1_sigma",
    "spc_8_on_one_side",
]


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def a_kpi(ctx: Ctx, org: Org, code: str = "CS-SL", **values: Any) -> Kpi:
    """Service level: higher is better, target 80 %, warning below 75, breach below 70."""
    return kpis.create_kpi(
        ctx,
        **{
            "code": code,
            "name": "Service level (calls answered in 20 s)",
            "unit": "%",
            "department_id": org.cs,
            "perspective": "customer",
            "direction": "higher",
            "target": 80.0,
            "warning_limit": 75.0,
            "breach_limit": 70.0,
            "rules": ["limit_breach"],
            **values,
        },
    )


def daily(kpi: str | int, values: Sequence[Any], start: datetime) -> list[RowIn]:
    """One point a day from `start`, numbered as the lines of a list."""
    return [RowIn(i + 1, kpi, start + timedelta(days=i), v) for i, v in enumerate(values)]


def point(kpi: str | int, at: datetime, value: Any, line: int = 1) -> list[RowIn]:
    return [RowIn(line, kpi, at, value)]


def stored_points(session: Session, kpi: Kpi) -> list[tuple[datetime, float]]:
    rows = session.exec(
        select(Measurement.at, Measurement.value)
        .where(Measurement.kpi_id == kpi.id)
        .order_by(col(Measurement.at))
        .execution_options(populate_existing=True)
    )
    return [(at, value) for at, value in rows]


def kpi_problems(session: Session, kpi: Kpi) -> list[Problem]:
    return list(
        session.exec(
            select(Problem)
            .where(Problem.kpi_id == kpi.id)
            .order_by(col(Problem.id))
            .execution_options(populate_existing=True)
        )
    )


def occurrences_of(session: Session, problem_id: int) -> list[ProblemOccurrence]:
    return list(
        session.exec(
            select(ProblemOccurrence)
            .where(ProblemOccurrence.problem_id == problem_id)
            .order_by(col(ProblemOccurrence.at))
        )
    )


def messages(exc: pytest.ExceptionInfo) -> list[str]:
    return [r.message for r in exc.value.reasons]


# --- defining KPIs -------------------------------------------------------------------


def test_a_facilitator_defines_a_kpi_and_the_trail_records_it(org, as_user, session) -> None:
    kpi = a_kpi(
        as_user(org.fiona),
        org,
        code=" cs-sl ",
        rules=["limit_breach", "missing_data"],
        owner_id=org.hanna.id,
    )

    stored = fresh(session, kpi)
    assert (stored.code, stored.unit, stored.direction, stored.target) == (
        "CS-SL",
        "%",
        "higher",
        80,
    )
    assert (stored.warning_limit, stored.breach_limit) == (75, 70)
    assert stored.rules == ["limit_breach", "missing_data"]
    assert (stored.interval_hours, stored.recovery_periods, stored.version) == (24, 7, 1)
    [event] = events_of(session, "kpi", kpi.id, "created")
    assert event.actor_id == org.fiona.id
    assert event.data["code"] == "CS-SL"
    assert event.data["target"] == 80


def test_a_member_or_a_viewer_cannot_define_a_kpi(org, as_user, session) -> None:
    for person in (org.mia, org.vera):
        with pytest.raises(Forbidden):
            a_kpi(as_user(person), org)
    assert count(session, Kpi) == 0
    assert session.exec(select(Event).where(Event.entity_type == "kpi")).first() is None


@pytest.mark.parametrize(
    ("direction", "target", "warning", "breach", "expected"),
    [
        ("higher", 80, 85, 70, "warning_limit: must be below the target when higher is better."),
        ("higher", 80, 80, 70, "warning_limit: must be below the target when higher is better."),
        ("higher", 80, 75, 78, "breach_limit: must be below the warning limit (and the target)."),
        ("higher", 80, None, 90, "breach_limit: must be below the warning limit (and the target)."),
        ("lower", 5, 4, 8, "warning_limit: must be above the target when lower is better."),
        ("lower", 5, 6, 5.5, "breach_limit: must be above the warning limit (and the target)."),
        ("lower", 5, None, 5, "breach_limit: must be above the warning limit (and the target)."),
    ],
)
def test_limits_lie_on_the_bad_side_of_the_target_for_each_direction(
    org, as_user, session, direction, target, warning, breach, expected
) -> None:
    with pytest.raises(Invalid) as refused:
        a_kpi(
            as_user(org.fiona),
            org,
            direction=direction,
            target=target,
            warning_limit=warning,
            breach_limit=breach,
        )
    assert messages(refused) == [expected]
    assert count(session, Kpi) == 0


@pytest.mark.parametrize(
    ("direction", "target", "warning", "breach"),
    [("higher", 80, 75, 70), ("lower", 5, 6, 8), ("higher", 80, None, 70), ("lower", 5, 6, None)],
)
def test_limits_on_the_bad_side_are_accepted(
    org, as_user, direction, target, warning, breach
) -> None:
    kpi = a_kpi(
        as_user(org.fiona),
        org,
        direction=direction,
        target=target,
        warning_limit=warning,
        breach_limit=breach,
    )
    assert (kpi.direction, kpi.warning_limit, kpi.breach_limit) == (direction, warning, breach)


def test_unknown_rules_and_other_bad_fields_are_all_reported(org, as_user, session) -> None:
    with pytest.raises(Invalid) as refused:
        a_kpi(
            as_user(org.fiona),
            org,
            code="",
            perspective="happiness",
            rules=["limit_breach", "gut_feeling"],
            interval_hours=0,
        )
    reasons = messages(refused)
    assert "code: 1 to 30 characters, e.g. CS-SL." in reasons
    assert any(r.startswith("perspective: one of financial") for r in reasons)
    assert any(r.startswith("rules: unknown gut_feeling (known: limit_breach") for r in reasons)
    assert "interval_hours: between 1 and 8784." in reasons
    assert count(session, Kpi) == 0


def test_kpi_codes_are_unique_whatever_their_case(org, as_user, session) -> None:
    fiona = as_user(org.fiona)
    a_kpi(fiona, org, code="CS-SL")
    with pytest.raises(Conflict, match="A KPI with the code CS-SL already exists"):
        a_kpi(fiona, org, code="cs-sl", department_id=org.it)
    assert count(session, Kpi) == 1


def test_a_head_manages_the_kpis_of_their_own_department_only(org, as_user, session) -> None:
    hanna = as_user(org.hanna)  # head of Customer Service
    own = a_kpi(hanna, org, code="CS-SL")
    with pytest.raises(Forbidden):
        a_kpi(hanna, org, code="IT-UP", department_id=org.it)
    it_kpi = a_kpi(as_user(org.ivan), org, code="IT-UP", department_id=org.it)

    kpis.update_kpi(hanna, own.id, version=own.version, changes={"target": 85.0}, note="raised")
    with pytest.raises(Forbidden):
        kpis.update_kpi(hanna, it_kpi.id, version=it_kpi.version, changes={"target": 85.0})
    with pytest.raises(Forbidden):  # nor hand her KPI over to another department
        kpis.update_kpi(hanna, own.id, version=own.version, changes={"department_id": org.it})
    with pytest.raises(Forbidden):
        kpis.update_kpi(as_user(org.mia), own.id, version=own.version, changes={"target": 90.0})

    assert (fresh(session, own).target, fresh(session, own).version) == (85, 2)
    assert (fresh(session, own).department_id, fresh(session, it_kpi).target) == (org.cs, 80)
    [event] = events_of(session, "kpi", own.id, "field_changed")
    assert (event.field, event.from_value, event.to_value, event.note) == (
        "target",
        "80.0",
        "85.0",
        "raised",
    )
    assert event.actor_id == org.hanna.id
    assert events_of(session, "kpi", it_kpi.id, "field_changed") == []


def test_a_change_that_puts_a_limit_on_the_good_side_is_refused(org, as_user, session) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org)
    with pytest.raises(Invalid) as refused:
        kpis.update_kpi(fiona, kpi.id, version=kpi.version, changes={"target": 72.0})
    assert messages(refused) == ["warning_limit: must be below the target when higher is better."]
    assert fresh(session, kpi).target == 80
    assert events_of(session, "kpi", kpi.id, "field_changed") == []


# --- ingesting points ----------------------------------------------------------------------


def test_a_batch_is_stored_with_its_count_and_its_event(org, as_user, session) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org)

    result = kpis.ingest(fiona, daily("cs-sl", [81, 82.5, "83"], days_ago(5)))

    assert (result.stored, result.duplicates, result.problems_raised) == (3, 0, [])
    assert stored_points(session, kpi) == [
        (days_ago(5), 81),
        (days_ago(4), 82.5),
        (days_ago(3), 83),
    ]
    [event] = events_of(session, "kpi", kpi.id, "measurements_ingested")
    assert event.actor_id == org.fiona.id
    assert event.data == {
        "stored": 3,
        "from": days_ago(5).isoformat(),
        "to": days_ago(3).isoformat(),
    }


def test_times_in_another_time_zone_are_stored_in_utc(org, as_user, session) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org)
    kpis.ingest(fiona, point(kpi.id, "2026-11-24T17:00:00+08:00", 82))
    kpis.ingest(fiona, point(kpi.id, "2026-11-24T09:00:00Z", 82))  # the same moment
    assert stored_points(session, kpi) == [(days_ago(1), 82)]


def test_a_point_sent_twice_counts_once_within_a_batch_and_across_batches(
    org, as_user, session
) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org)

    first = kpis.ingest(
        fiona,
        [
            RowIn(1, "CS-SL", days_ago(2), 81),
            RowIn(2, "CS-SL", days_ago(1), 82),
            RowIn(3, "CS-SL", days_ago(2).isoformat(), "81.0"),  # line 1 again
        ],
    )
    again = kpis.ingest(fiona, daily("CS-SL", [81, 82, 83], days_ago(2)))

    assert (first.stored, first.duplicates) == (2, 1)
    assert (again.stored, again.duplicates) == (1, 2)
    assert stored_points(session, kpi) == [(days_ago(2), 81), (days_ago(1), 82), (NOW, 83)]
    assert [e.data["stored"] for e in events_of(session, "kpi", kpi.id)[1:]] == [2, 1]


def test_a_batch_of_points_all_already_stored_writes_nothing(org, as_user, session) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org)
    kpis.ingest(fiona, daily("CS-SL", [81, 82], days_ago(2)))
    result = kpis.ingest(fiona, daily("CS-SL", [81, 82], days_ago(2)))
    assert (result.stored, result.duplicates) == (0, 2)
    assert len(events_of(session, "kpi", kpi.id, "measurements_ingested")) == 1


def test_another_value_for_a_stored_time_is_refused_and_nothing_of_the_batch_is_stored(
    org, as_user, session
) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org, rules=["limit_breach"])
    kpis.ingest(fiona, point("CS-SL", days_ago(3), 81))

    with pytest.raises(Invalid) as refused:
        kpis.ingest(
            fiona,
            [
                RowIn(1, "CS-SL", days_ago(2), 60),  # a breach: would raise a problem
                RowIn(2, "CS-SL", days_ago(3), 79),  # a new value for a stored point
            ],
        )

    assert refused.value.detail == "Nothing was stored: 1 line(s) are wrong."
    assert messages(refused) == [
        f"line 2: CS-SL already has 81 at {days_ago(3).isoformat()}; "
        "a stored point is never replaced."
    ]
    assert stored_points(session, kpi) == [(days_ago(3), 81)]
    assert kpi_problems(session, kpi) == []
    assert len(events_of(session, "kpi", kpi.id, "measurements_ingested")) == 1


def test_two_values_for_one_time_in_a_batch_are_refused(org, as_user, session) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org)
    with pytest.raises(Invalid) as refused:
        kpis.ingest(
            fiona,
            [RowIn(4, "CS-SL", days_ago(1), 81), RowIn(9, "CS-SL", days_ago(1), 82)],
        )
    assert messages(refused) == [
        f"line 9: line 4 gives another value for CS-SL at {days_ago(1).isoformat()}."
    ]
    assert stored_points(session, kpi) == []


def test_every_bad_row_is_reported_by_line_with_its_reason_and_nothing_is_stored(
    org, as_user, session
) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org)
    rows = [
        RowIn(2, "CS-SL", days_ago(6).isoformat(), "81"),  # good
        RowIn(3, "CS-SL", "yesterday", "81"),
        RowIn(4, "CS-SL", "2026-11-20T09:00:00", "81"),
        RowIn(5, "CS-SL", days_ago(4).isoformat(), "eighty"),
        RowIn(6, "CS-SL", days_ago(3).isoformat(), "NaN"),
        RowIn(7, "XX-NONE", days_ago(2).isoformat(), "81"),
        RowIn(8, "CS-SL", (NOW + timedelta(days=1)).isoformat(), "81"),
        RowIn(9, "CS-SL", days_ago(1).isoformat(), "inf"),
        RowIn(10, "CS-SL", days_ago(0.5).isoformat(), "60"),  # good (a breach)
    ]

    with pytest.raises(Invalid) as refused:
        kpis.ingest(fiona, rows)

    assert refused.value.detail == "Nothing was stored: 7 line(s) are wrong."
    assert messages(refused) == [
        "line 3: time 'yesterday' is not a date and time (ISO 8601).",
        "line 4: time '2026-11-20T09:00:00' has no time zone (add Z or +08:00).",
        "line 5: value 'eighty' is not a number.",
        "line 6: value 'NaN' is not a number.",
        "line 7: there is no KPI 'XX-NONE'.",
        f"line 8: {(NOW + timedelta(days=1)).isoformat()} is in the future.",
        "line 9: value 'inf' is not a number.",
    ]
    assert stored_points(session, kpi) == []
    assert kpi_problems(session, kpi) == []
    assert events_of(session, "kpi", kpi.id, "measurements_ingested") == []


def test_a_point_within_the_clock_tolerance_is_not_in_the_future(org, as_user, session) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org)
    kpis.ingest(fiona, point("CS-SL", NOW + timedelta(minutes=30), 81))
    assert stored_points(session, kpi) == [(NOW + timedelta(minutes=30), 81)]


def test_only_people_of_the_kpi_record_its_points(org, as_user, session) -> None:
    kpi = a_kpi(as_user(org.fiona), org, owner_id=org.max.id)
    kpis.ingest(as_user(org.mia), point("CS-SL", days_ago(3), 81))  # her department's
    kpis.ingest(as_user(org.max), point("CS-SL", days_ago(2), 81))  # he owns it
    with pytest.raises(Forbidden):
        kpis.ingest(as_user(org.vera), point("CS-SL", days_ago(1), 81))
    with pytest.raises(Forbidden):
        kpis.ingest(as_user(org.ivan), point("CS-SL", days_ago(1), 81))  # another department
    assert len(stored_points(session, kpi)) == 2


# --- detection on ingest ------------------------------------------------------------------

# A quiet start around 100, then a slow drift, a breach, and a long run of warnings:
# every rule has something to find, and the run of warnings is longer than any window.
QUIET = [100, 102, 99, 101, 98, 100, 103, 99, 100, 101, 98, 102, 100, 99, 101, 100, 97, 102]
SHIFTED = [
    *QUIET,
    *[101, 99, 100, 102, 98],
    *[97, 98, 96, 97, 98, 97, 96, 97, 98],  # 8 (and more) in a row below the centre
    *[94, 95, 99, 94],  # 2 of 3, 4 of 5
    *[100, 101, 75, 100, 99],  # a breach
    *[88] * 70,  # warnings in a row, for longer than the history the ingest looks back on
    *[100, 101, 86, 87, 100],
]
# A start that shifts within the first 20 points, the ones that set the control limits:
# they are not judged against limits they are still making.
RESTLESS = [
    *[100, 101] * 4,
    *[95, 96] * 6,
    *[97, 96, 99, 100, 92, 91, 93, 100, 101, 99, 100, 98, 75, 99, 100, 102, 98, 100],
    *[101, 99, 96, 97, 96, 97, 96, 97, 96, 97, 98, 100],
]


def findings_by_rule(session: Session, kpi: Kpi) -> dict[str, list[datetime]]:
    return {
        p.detection_rule: [o.at for o in occurrences_of(session, p.id)]
        for p in kpi_problems(session, kpi)
    }


@pytest.mark.parametrize(
    ("values", "baseline_days", "warning_runs"),
    [(SHIFTED, None, 23), (RESTLESS, None, 0), (RESTLESS, (5, 30), 0)],
    ids=["shifted", "restless-start", "baseline-period"],
)
def test_the_same_detections_whether_points_arrive_one_by_one_or_in_one_batch(
    org, as_user, session, values, baseline_days, warning_runs
) -> None:
    fiona = as_user(org.fiona)
    start = days_ago(len(values))
    spec: dict[str, Any] = {
        "target": 95.0,
        "warning_limit": 90.0,
        "breach_limit": 80.0,
        "rules": ALL_RULES,
    }
    if baseline_days:
        spec["baseline_start"] = start + timedelta(days=baseline_days[0])
        spec["baseline_end"] = start + timedelta(days=baseline_days[1])
    batch_kpi = a_kpi(fiona, org, code="BATCH", **spec)
    single_kpi = a_kpi(fiona, org, code="SINGLE", **spec)

    batch = kpis.ingest(fiona, daily("BATCH", values, start))
    singles = [kpis.ingest(fiona, [row]) for row in daily("SINGLE", values, start)]

    as_found = [(f.rule, f.at) for _code, f in batch.findings]
    one_by_one = [(f.rule, f.at) for result in singles for _code, f in result.findings]
    assert as_found == one_by_one
    assert "limit_breach" in {rule for rule, _at in as_found}
    assert any(rule.startswith("spc") for rule, _at in as_found)
    by_rule = findings_by_rule(session, batch_kpi)
    assert by_rule == findings_by_rule(session, single_kpi)
    # 70 warnings in a row fire at the 3rd, 6th, … 69th point, however they arrive.
    assert len(by_rule.get("warnings_in_a_row", [])) == warning_runs
    assert len(batch.problems_raised) == len(by_rule)
    assert sum(len(s.problems_raised) for s in singles) == len(by_rule)
    assert batch.occurrences_added == sum(s.occurrences_added for s in singles)
    spc = [at for rule, at in as_found if rule.startswith("spc")]
    if baseline_days:  # SPC judges the points after the baseline period
        assert min(spc) > spec["baseline_end"]
    else:  # or after the first 20 points, which set the limits
        assert min(spc) > start + timedelta(days=19)


def test_every_rule_can_raise_its_problem(org, as_user, session) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org, target=95.0, warning_limit=90.0, breach_limit=80.0, rules=ALL_RULES)
    result = kpis.ingest(fiona, daily("CS-SL", SHIFTED, days_ago(len(SHIFTED))))
    assert {p.detection_rule for p in kpi_problems(session, kpi)} == set(ALL_RULES)
    assert len(result.problems_raised) == len(ALL_RULES)


def test_a_rule_that_does_not_apply_does_not_fire(org, as_user, session) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org, rules=["warnings_in_a_row"], warnings_in_a_row=3)
    result = kpis.ingest(fiona, daily("CS-SL", [60, 72, 74], days_ago(3)))  # a breach, then two
    assert [f.rule for _c, f in result.findings] == ["warnings_in_a_row"]
    [problem] = kpi_problems(session, kpi)
    assert problem.detection_rule == "warnings_in_a_row"


def test_a_breach_raises_a_problem_with_its_evidence_for_the_kpis_department(
    org, as_user, session
) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org, department_id=org.it, code="IT-SL")
    result = kpis.ingest(fiona, daily("IT-SL", [81, 64.5], days_ago(2)))

    [problem] = kpi_problems(session, kpi)
    assert result.problems_raised == [problem.id]
    assert (problem.source, problem.severity, problem.status) == ("kpi", "high", "new")
    assert (problem.department_id, problem.kpi_id, problem.detection_rule) == (
        org.it,
        kpi.id,
        "limit_breach",
    )
    assert problem.title.startswith("IT-SL Service level")
    assert "64.5 is below the breach limit (70)." in problem.title
    assert problem.evidence == f"Rule: limit_breach\n{days_ago(1).isoformat()}  64.5 %"
    assert (problem.occurrences, problem.last_occurrence_at) == (1, days_ago(1))
    [occurrence] = occurrences_of(session, problem.id)
    assert occurrence.evidence["points"] == [{"at": days_ago(1).isoformat(), "value": 64.5}]
    [event] = events_of(session, "problem", problem.id, "reported")
    assert (event.actor_id, event.to_value) == (org.fiona.id, "new")
    assert (event.data["kpi"], event.data["rule"]) == ("IT-SL", "limit_breach")


def test_firing_again_while_the_problem_is_open_adds_an_occurrence(org, as_user, session) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org)
    kpis.ingest(fiona, point("CS-SL", days_ago(5), 65))
    [problem] = kpi_problems(session, kpi)
    problems.triage_problem(fiona, problem.id, decision="accept")  # still open when accepted

    again = kpis.ingest(fiona, daily("CS-SL", [66, 82, 61], days_ago(4)))

    assert (again.problems_raised, again.occurrences_added) == ([], 2)
    [same] = kpi_problems(session, kpi)
    assert same.id == problem.id
    assert (same.occurrences, same.last_occurrence_at, same.status) == (3, days_ago(2), "accepted")
    assert [o.at for o in occurrences_of(session, problem.id)] == [
        days_ago(5),
        days_ago(4),
        days_ago(2),
    ]
    occurred = events_of(session, "problem", problem.id, "occurred")
    assert [(e.from_value, e.to_value) for e in occurred] == [("1", "2"), ("2", "3")]
    assert occurred[-1].data["points"] == [{"at": days_ago(2).isoformat(), "value": 61}]


def test_after_the_problem_is_resolved_a_new_breach_raises_a_new_problem(
    org, as_user, session
) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org, recovery_periods=2)
    kpis.ingest(fiona, daily("CS-SL", [65, 81, 82], days_ago(6)))
    [first] = kpi_problems(session, kpi)
    kpis.resolve_recovered(fiona, first.id, version=first.version)
    kpis.ingest(fiona, point("CS-SL", days_ago(2), 62))

    old, new = kpi_problems(session, kpi)
    assert (old.id, old.status, old.occurrences) == (first.id, "resolved", 1)
    assert (new.status, new.occurrences, new.recurrence_of_cycle_id) == ("new", 1, None)


def test_a_breach_after_an_effective_cycle_on_the_kpi_links_that_cycle(
    org, as_user, clock, session
) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org)
    kpis.ingest(fiona, daily("CS-SL", [72, 65], days_ago(20)))
    [first] = kpi_problems(session, kpi)
    assert first.recurrence_of_cycle_id is None
    cycle = close_effective_cycle_on(org, as_user, clock, first.id)
    assert fresh(session, first).status == ProblemStatus.resolved

    kpis.ingest(fiona, daily("CS-SL", [84, 66], days_ago(3)))

    _first, again = kpi_problems(session, kpi)
    assert again.recurrence_of_cycle_id == cycle.id
    assert f"improved by C-{cycle.id}" in again.description
    assert "its standardisation did not hold" in again.description
    [event] = events_of(session, "problem", again.id, "reported")
    assert event.data["recurrence_of_cycle_id"] == cycle.id


def close_effective_cycle_on(org: Org, as_user: AsUser, clock: Clock, problem_id: int) -> Any:
    """Fiona runs a whole PDCA cycle on the problem and closes it as effective."""
    fiona = as_user(org.fiona)
    cycle = cycles.open_cycle(
        fiona,
        title="Lift the service level",
        workflow="pdca",
        lead_id=org.fiona.id,
        problem_ids=[problem_id],
        fields={
            "objective": "Answer 80% of calls within 20 s",
            "root_cause": "Breaks overlap at noon",
            "success_criterion": "Service level >= 80% for two weeks",
        },
    )
    action = actions.add_action(
        fiona,
        cycle.id,
        title="Stagger breaks",
        department_id=org.cs,
        owner_id=org.mia.id,
        deadline=clock.today() + timedelta(days=7),
    )
    cycles.fire_transition(fiona, cycle.id, trigger="start_do", version=cycle.version)
    actions.fire_action(as_user(org.mia), action.id, trigger="complete", version=action.version)
    actions.verify_action(
        fiona,
        action.id,
        effective=True,
        note="seen working",
        version=action.version,
        signature=signed("verified effective"),
    )
    cycles.fire_transition(fiona, cycle.id, trigger="start_check", version=cycle.version)
    cycles.update_cycle_fields(fiona, cycle.id, version=cycle.version, changes={"result": 84})
    cycles.record_effectiveness(
        as_user(org.frank), cycle.id, effective=True, note="84%", version=cycle.version
    )
    cycles.fire_transition(fiona, cycle.id, trigger="start_act", version=cycle.version)
    cycles.update_cycle_fields(
        fiona, cycle.id, version=cycle.version, changes={"standardisation": "Rota in the SOP"}
    )
    cycles.fire_transition(
        fiona,
        cycle.id,
        trigger="close_effective",
        version=cycle.version,
        signature=signed("approved closure"),
    )
    return cycle


# --- recovery --------------------------------------------------------------------------------


def test_a_kpi_problem_reports_recovery_and_resolves_only_once_recovered(
    org, as_user, session
) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org, recovery_periods=3)
    kpis.ingest(fiona, daily("CS-SL", [81, 64], days_ago(8)))
    [problem] = kpi_problems(session, kpi)
    kpis.ingest(fiona, daily("CS-SL", [74, 81, 82], days_ago(6)))  # a warning, then two good

    recovery = kpis.recovery_of(fiona, fresh(session, problem))
    assert (recovery.periods_within, recovery.needed, recovery.recovered) == (2, 3, False)
    with pytest.raises(Conflict, match=r"only 2 of the 3 latest periods are within limits"):
        kpis.resolve_recovered(fiona, problem.id, version=problem.version)
    assert fresh(session, problem).status == "new"

    kpis.ingest(fiona, point("CS-SL", days_ago(3), 76))  # below target, but within limits
    recovery = kpis.recovery_of(fiona, fresh(session, problem))
    assert (recovery.periods_within, recovery.recovered) == (3, True)
    with pytest.raises(Forbidden):
        kpis.resolve_recovered(as_user(org.mia), problem.id, version=problem.version)

    kpis.resolve_recovered(fiona, problem.id, version=problem.version)

    resolved = fresh(session, problem)
    assert (resolved.status, resolved.resolved_at) == ("resolved", NOW)
    [event] = events_of(session, "problem", problem.id, "resolved")
    assert (event.from_value, event.to_value, event.actor_id) == ("new", "resolved", org.fiona.id)
    assert (event.note, event.data) == ("The KPI recovered.", {"periods_within_limits": 3})
    assert kpis.recovery_of(fiona, resolved) is None  # no longer open


def test_only_an_open_kpi_problem_can_be_resolved_as_recovered(org, as_user, session) -> None:
    fiona = as_user(org.fiona)
    complaint = problems.report_problem(fiona, title="Rude answer", source="complaint")
    with pytest.raises(Conflict, match="is not an open problem raised by a KPI"):
        kpis.resolve_recovered(fiona, complaint.id, version=complaint.version)
    assert events_of(session, "problem", complaint.id, "resolved") == []


# --- missing data ----------------------------------------------------------------------------


def test_missing_data_raises_once_and_repeats_only_after_the_interval(
    org, as_user, clock, session
) -> None:
    fiona, system = as_user(org.fiona), as_user(None)
    quiet = a_kpi(fiona, org, code="QUIET", rules=["missing_data"], interval_hours=24)
    fed = a_kpi(fiona, org, code="FED", rules=["missing_data"], interval_hours=72)
    a_kpi(fiona, org, code="UNWATCHED", rules=["limit_breach"])  # no point, but no rule
    kpis.ingest(fiona, point("QUIET", days_ago(2), 81))
    kpis.ingest(fiona, point("FED", days_ago(0.5), 81))

    [raised] = kpis.check_missing_data(system)

    [problem] = kpi_problems(session, quiet)
    assert raised == problem.id
    assert (problem.detection_rule, problem.severity, problem.source) == (
        "missing_data",
        "low",
        "kpi",
    )
    assert "No measurement for 48 hours" in problem.title
    assert kpi_problems(session, fed) == []
    assert count(session, Problem) == 1

    assert kpis.check_missing_data(system) == []  # right after: already said
    clock.advance(hours=23)
    assert kpis.check_missing_data(system) == []  # within the interval
    clock.advance(hours=2)
    assert kpis.check_missing_data(system) == [problem.id]  # an interval later: again
    again = fresh(session, problem)
    assert (again.occurrences, again.last_occurrence_at) == (2, NOW + timedelta(hours=25))
    assert len(events_of(session, "problem", problem.id, "occurred")) == 1
    assert kpi_problems(session, fed) == []  # 37 h without a point, of the 72 allowed


def test_a_kpi_never_measured_is_missing_data(org, as_user, session) -> None:
    kpi = a_kpi(as_user(org.fiona), org, rules=["missing_data"])
    [raised] = kpis.check_missing_data(as_user(None))
    [problem] = kpi_problems(session, kpi)
    assert raised == problem.id
    assert "No measurement yet" in problem.title


def test_a_missing_data_problem_recovers_when_points_come_back(
    org, as_user, clock, session
) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org, rules=["missing_data"], recovery_periods=2)
    kpis.check_missing_data(as_user(None))
    [problem] = kpi_problems(session, kpi)
    clock.advance(hours=3)
    kpis.ingest(fiona, point("CS-SL", NOW + timedelta(hours=1), 81))
    assert kpis.recovery_of(fiona, fresh(session, problem)).periods_within == 1
    kpis.ingest(fiona, point("CS-SL", NOW + timedelta(hours=2), 60))  # any value is data
    assert kpis.recovery_of(fiona, fresh(session, problem)).recovered


# --- scorecard and Pareto ----------------------------------------------------------------------


def test_the_scorecard_gives_each_kpi_its_status_by_perspective(org, as_user, session) -> None:
    fiona = as_user(org.fiona)
    made = {
        "ON": ("customer", [79, 85]),
        "OFF": ("customer", [85, 78]),
        "WARN": ("financial", [85, 72]),
        "BREACH": ("internal_process", [85, 65]),
        "NONE": ("learning_growth", []),
    }
    for code, (perspective, values) in made.items():
        a_kpi(fiona, org, code=code, perspective=perspective)
        if values:
            kpis.ingest(fiona, daily(code, values, days_ago(2)))
    a_kpi(fiona, org, code="STALE", perspective="learning_growth")
    kpis.ingest(fiona, point("STALE", days_ago(3), 85))  # older than two intervals
    a_kpi(fiona, org, code="IT-UP", department_id=org.it, perspective="internal_process")
    kpis.ingest(fiona, point("IT-UP", days_ago(1), 99))

    card = kpis.scorecard(fiona)

    def lines(perspective: str) -> list[tuple[str, str, float | None, list[float], int]]:
        return [
            (
                line.kpi.code,
                line.status,
                line.latest.value if line.latest else None,
                line.trend,
                line.open_problems,
            )
            for line in card[perspective]
        ]

    assert list(card) == ["financial", "customer", "internal_process", "learning_growth"]
    assert lines("customer") == [
        ("OFF", "off_target", 78, [85, 78], 0),
        ("ON", "on_target", 85, [79, 85], 0),
    ]
    assert lines("financial") == [("WARN", "warning", 72, [85, 72], 0)]
    assert lines("internal_process") == [
        ("BREACH", "breach", 65, [85, 65], 1),
        ("IT-UP", "on_target", 99, [99], 0),
    ]
    assert lines("learning_growth") == [
        ("NONE", "no_data", None, [], 0),
        ("STALE", "stale", 85, [85], 0),  # a value older than two intervals: stale since
    ]
    cs_only = kpis.scorecard(fiona, department_id=org.cs)
    assert [line.kpi.code for line in cs_only["internal_process"]] == ["BREACH"]


def test_a_kpi_last_measured_before_the_trend_window_still_shows_its_latest_value(
    org, as_user
) -> None:
    fiona = as_user(org.fiona)
    a_kpi(fiona, org, code="YEARLY", interval_hours=24 * 366)
    kpis.ingest(fiona, daily("YEARLY", [70.5, 90], days_ago(101)))
    [line] = kpis.scorecard(fiona)["customer"]
    assert (line.status, line.latest.value, line.latest.at, line.trend) == (
        "on_target",
        90,
        days_ago(100),
        [],
    )


def test_the_pareto_counts_problems_by_source_department_and_kpi(org, as_user, clock) -> None:
    fiona, mia = as_user(org.fiona), as_user(org.mia)
    a_kpi(fiona, org, code="CS-SL", rules=["limit_breach", "warnings_in_a_row"])
    a_kpi(fiona, org, code="IT-UP", department_id=org.it)
    kpis.ingest(fiona, daily("CS-SL", [65, 72, 73], days_ago(5)))  # a breach, then 3 warnings
    kpis.ingest(fiona, point("IT-UP", days_ago(5), 60))
    for title in ("Rude answer", "Lost call", "Wrong bill"):
        problems.report_problem(mia, title=title, source="complaint", department_id=org.cs)
    audit = problems.report_problem(fiona, title="Audit gap", source="audit", department_id=org.it)
    copy = problems.report_problem(mia, title="Lost call again", source="complaint")
    problems.triage_problem(fiona, copy.id, decision="duplicate", duplicate_of=audit.id)

    assert kpis.pareto(fiona, "source") == [("complaint", 3), ("kpi", 3), ("audit", 1)]
    assert kpis.pareto(fiona, "department") == [("CS", 5), ("IT", 2)]
    assert kpis.pareto(fiona, "kpi") == [("CS-SL", 2), ("IT-UP", 1)]
    assert kpis.pareto(fiona, "source", since=NOW + timedelta(seconds=1)) == []
    with pytest.raises(Invalid):
        kpis.pareto(fiona, "weather")


# --- cycles aimed at a KPI -----------------------------------------------------------------


def test_open_cycle_on_a_kpi_problem_aims_the_cycle_at_that_kpi(org, as_user, session) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org, unit="%")
    kpis.ingest(fiona, daily("CS-SL", [72, 74, 73, 65], days_ago(4)))
    kpis.ingest(fiona, point("CS-SL", days_ago(40), 10))  # outside the 30-day baseline
    [problem] = kpi_problems(session, kpi)

    cycle = cycles.open_cycle(
        fiona,
        title="Lift the service level",
        workflow="pdca",
        lead_id=org.fiona.id,
        problem_ids=[problem.id],
    )

    stored = fresh(session, cycle)
    assert (stored.kpi_id, stored.target, stored.direction, stored.unit) == (
        kpi.id,
        80,
        "higher",
        "%",
    )
    assert stored.baseline == 71
    assert fresh(session, problem).status == "accepted"
    [opened] = events_of(session, "cycle", cycle.id, "opened")
    assert opened.data["problems"] == [problem.id]


def test_fields_given_when_opening_win_over_the_kpis(org, as_user, session) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org)
    kpis.ingest(fiona, point("CS-SL", days_ago(1), 60))
    [problem] = kpi_problems(session, kpi)
    cycle = cycles.open_cycle(
        fiona,
        title="Lift the service level",
        workflow="pdca",
        lead_id=org.fiona.id,
        problem_ids=[problem.id],
        fields={"target": 85, "baseline": 62},
    )
    assert (cycle.kpi_id, cycle.target, cycle.baseline) == (kpi.id, 85, 62)


def test_a_cycle_on_problems_of_several_kpis_is_aimed_at_none(org, as_user, session) -> None:
    fiona = as_user(org.fiona)
    a_kpi(fiona, org, code="A")
    a_kpi(fiona, org, code="B")
    kpis.ingest(fiona, [RowIn(1, "A", days_ago(1), 60), RowIn(2, "B", days_ago(1), 60)])
    ids = [p.id for p in session.exec(select(Problem).order_by(col(Problem.id)))]
    cycle = cycles.open_cycle(
        fiona, title="Both", workflow="pdca", lead_id=org.fiona.id, problem_ids=ids
    )
    assert cycle.kpi_id is None
    assert kpis.cycle_kpi_numbers(fiona, cycle) is None


def test_cycle_kpi_numbers_compare_the_baseline_with_the_kpi_after_the_last_action(
    org, as_user, clock, session
) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org)
    kpis.ingest(fiona, daily("CS-SL", [72, 74, 73, 65], days_ago(4)))
    [problem] = kpi_problems(session, kpi)
    cycle = cycles.open_cycle(
        fiona,
        title="Lift the service level",
        workflow="pdca",
        lead_id=org.fiona.id,
        problem_ids=[problem.id],
        fields={"objective": "80 %", "root_cause": "Breaks overlap at noon"},
    )
    rota = actions.add_action(
        fiona,
        cycle.id,
        title="Stagger breaks",
        department_id=org.cs,
        owner_id=org.mia.id,
        deadline=clock.today() + timedelta(days=7),
    )
    cycles.fire_transition(fiona, cycle.id, trigger="start_do", version=cycle.version)

    numbers = kpis.cycle_kpi_numbers(fiona, cycle)
    assert (numbers.kpi.id, numbers.baseline, numbers.baseline_points) == (kpi.id, 71, 4)
    assert (numbers.after, numbers.after_points, numbers.after_since) == (None, 0, None)
    assert numbers.meets_target is None

    clock.advance(days=2)
    kpis.ingest(fiona, point("CS-SL", NOW + timedelta(days=1), 76))  # during Do: not "after"
    actions.fire_action(as_user(org.mia), rota.id, trigger="complete", version=rota.version)
    clock.advance(days=4)
    kpis.ingest(fiona, daily("CS-SL", [78, 79], NOW + timedelta(days=3)))

    numbers = kpis.cycle_kpi_numbers(fiona, cycle)
    assert (numbers.after, numbers.after_points, numbers.after_since) == (
        78.5,
        2,
        NOW + timedelta(days=2),
    )
    assert numbers.meets_target is False
    assert numbers.baseline == 71  # still the days before the cycle

    kpis.ingest(fiona, point("CS-SL", NOW + timedelta(days=5), 91))
    numbers = kpis.cycle_kpi_numbers(fiona, cycle)
    assert (numbers.after, numbers.after_points) == (pytest.approx(82.667, abs=1e-3), 3)
    assert numbers.meets_target is True


def test_cycle_kpi_numbers_for_a_lower_is_better_kpi(org, as_user, clock, session) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(
        fiona, org, code="CS-AHT", direction="lower", target=5, warning_limit=6, breach_limit=8
    )
    kpis.ingest(fiona, daily("CS-AHT", [7, 9], days_ago(2)))
    [problem] = kpi_problems(session, kpi)
    built = cycles.open_cycle(
        fiona,
        title="Shorter calls",
        workflow="pdca",
        lead_id=org.fiona.id,
        problem_ids=[problem.id],
        fields={"objective": "5 min", "root_cause": "Script"},
    )
    action = actions.add_action(
        fiona,
        built.id,
        title="New script",
        department_id=org.cs,
        owner_id=org.mia.id,
        deadline=clock.today() + timedelta(days=7),
    )
    cycles.fire_transition(fiona, built.id, trigger="start_do", version=built.version)
    actions.fire_action(as_user(org.mia), action.id, trigger="complete", version=action.version)
    clock.advance(days=2)
    kpis.ingest(fiona, point("CS-AHT", NOW + timedelta(days=1), 4.5))
    numbers = kpis.cycle_kpi_numbers(fiona, built)
    assert (numbers.baseline, numbers.after, numbers.meets_target) == (8, 4.5, True)


def test_linking_a_cycle_to_a_kpi_takes_its_target_and_keeps_what_the_team_wrote(
    org, as_user, clock, session
) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org, target=85.0)
    kpis.ingest(fiona, daily("CS-SL", [72, 74], days_ago(2)))
    built = a_planned_cycle(org, as_user, clock)  # baseline 61, target 80, no unit
    cycle = built.cycle

    kpis.link_cycle_to_kpi(fiona, cycle.id, kpi.id, version=cycle.version)

    stored = fresh(session, cycle)
    assert (stored.kpi_id, stored.target, stored.direction, stored.baseline, stored.unit) == (
        kpi.id,
        85,
        "higher",
        61,  # the team's baseline stays
        "%",
    )
    changed = [
        e
        for e in events_of(session, "cycle", cycle.id, "field_changed")
        if e.note == "linked to KPI CS-SL"
    ]
    assert {(e.field, e.from_value, e.to_value) for e in changed} == {
        ("kpi_id", None, str(kpi.id)),
        ("target", "80.0", "85.0"),
        ("direction", None, "higher"),
        ("unit", None, "%"),
    }
    assert all(e.actor_id == org.fiona.id for e in changed)
    assert kpis.cycle_kpi_numbers(fiona, stored).baseline == 73


def test_linking_fills_an_empty_baseline_from_the_kpi(org, as_user, clock, session) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org)
    kpis.ingest(fiona, daily("CS-SL", [72, 74], days_ago(2)))
    cycle = a_planned_cycle(org, as_user, clock, baseline=None).cycle
    kpis.link_cycle_to_kpi(fiona, cycle.id, kpi.id, version=cycle.version)
    assert fresh(session, cycle).baseline == 73


def test_linking_is_refused_to_an_outsider_on_a_stale_version_and_after_judging(
    org, as_user, clock, session
) -> None:
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org)
    built = a_planned_cycle(org, as_user, clock)
    cycle = built.cycle
    with pytest.raises(Forbidden):
        kpis.link_cycle_to_kpi(as_user(org.max), cycle.id, kpi.id, version=cycle.version)
    with pytest.raises(Conflict):
        kpis.link_cycle_to_kpi(fiona, cycle.id, kpi.id, version=cycle.version - 1)
    assert fresh(session, cycle).kpi_id is None
    assert not [e for e in events_of(session, "cycle", cycle.id) if e.note and "KPI" in e.note]
