"""The improvement dashboard's figures, checked against a data set known by heart
(tests/services/report_world.py says what is in it and when)."""

from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest
from sqlmodel import Session

from pdca.models import User
from pdca.services import reports
from pdca.services.catalog import WorkflowCatalog
from pdca.services.context import Ctx
from pdca.services.errors import Invalid
from tests.conftest import Org
from tests.services.report_world import PERIOD, ReportWorld, build

AsUser = Callable[[User | None], Ctx]


@pytest.fixture
def world(session: Session, catalog: WorkflowCatalog, org: Org) -> ReportWorld:
    return build(session, catalog, org)


@pytest.fixture
def ctx(as_user: AsUser, org: Org, world: ReportWorld) -> Ctx:
    return as_user(org.fiona)


def lead(board: reports.Dashboard, name: str) -> reports.LeadTime:
    return next(t for t in board.lead_times if t.name == name)


def test_problems_raised_and_closed_are_counted_per_week_of_the_period(ctx: Ctx) -> None:
    board = reports.dashboard(ctx, PERIOD)
    assert [(w.start, w.raised, w.closed) for w in board.weeks] == [
        (date(2026, 11, 2), 2, 0),  # P1 and P2 raised
        (date(2026, 11, 9), 1, 1),  # P3 raised and rejected
        (date(2026, 11, 16), 1, 1),  # P6 raised; P1 resolved
    ]
    assert (board.raised, board.closed) == (4, 2)


def test_open_problems_are_bucketed_by_their_age_today(ctx: Ctx) -> None:
    board = reports.dashboard(ctx, PERIOD)
    # P4 is a day old; P6 nine days and P2 three weeks; P5 was reported in August.
    assert board.open_by_age == {"under_7": 1, "7_to_30": 2, "30_to_90": 0, "over_90": 1}


def test_lead_times_have_the_medians_and_90th_percentiles_worked_out_by_hand(ctx: Ctx) -> None:
    board = reports.dashboard(ctx, PERIOD)
    # Problem → cycle: 2, 2, 9 and 103 days (C1, C2, C5, C3).
    to_cycle = lead(board, "problem_to_cycle")
    assert (to_cycle.count, to_cycle.median_days) == (4, 5.5)
    assert to_cycle.p90_days == pytest.approx(74.8)
    # Cycle → closure: 10, 15 and 40 days (C2, C1, C4).
    closure = lead(board, "cycle_to_closure")
    assert (closure.count, closure.median_days) == (3, 15)
    assert closure.p90_days == pytest.approx(35)
    # Action created → done: 4.5, 5.5, 6 and 8 days (A1, A2, A8, A3).
    done = lead(board, "action_to_done")
    assert (done.count, done.median_days) == (4, 5.75)
    assert done.p90_days == pytest.approx(7.4)
    # Done → verified: 2 and 3 days (A1, A2).
    verified = lead(board, "done_to_verified")
    assert (verified.count, verified.median_days) == (2, 2.5)
    assert verified.p90_days == pytest.approx(2.9)


def test_on_time_rate_is_per_responsible_department_over_deadlines_that_passed(
    ctx: Ctx, org: Org
) -> None:
    board = reports.dashboard(ctx, PERIOD)
    by_code = {r.code: (r.due, r.on_time) for r in board.on_time}
    # CS: A1 early, A2 on its deadline's day (A5 cancelled, A6 and A7 not due yet).
    # IT: A3 two days late, A4 never done, A8 a day early.
    assert by_code == {"CS": (2, 2), "IT": (3, 1)}
    assert board.on_time_rate == pytest.approx(3 / 5)


def test_effectiveness_counts_first_turn_later_turns_escalated_and_the_rest(ctx: Ctx) -> None:
    board = reports.dashboard(ctx, PERIOD)
    assert board.outcomes == {
        "first_turn": 1,  # C1
        "after_iterations": 1,  # C2
        "escalated": 1,  # C3, still open
        "not_effective": 1,  # C4, cancelled
    }
    assert board.effective_rate == 0.5


def test_recurrences_and_the_kpis_that_fired_most(ctx: Ctx, world: ReportWorld) -> None:
    board = reports.dashboard(ctx, PERIOD)
    assert [(r.problem_id, r.cycle_id) for r in board.recurrences] == [
        (world.problems["P6"], world.cycles["C1"])
    ]
    assert [(k.code, k.occurrences) for k in board.top_kpis] == [("CS-SL", 3), ("FIN-CPC", 1)]


def test_cost_of_poor_quality_sums_each_financial_points_distance_beyond_target(
    ctx: Ctx,
) -> None:
    board = reports.dashboard(ctx, PERIOD)
    costs = {c.code: (c.points, c.off_target, c.mean, c.cost) for c in board.costs}
    assert costs == {
        "FIN-CPC": (4, 2, 4.75, 1.5),  # 5.0 and 5.5 above a target of 4.5 (lower is better)
        "FIN-SAV": (2, 1, 100.0, 10.0),  # 90 below a target of 100 (higher is better)
    }


def test_a_department_filter_narrows_every_figure_to_that_department(ctx: Ctx, org: Org) -> None:
    board = reports.dashboard(ctx, replace(PERIOD, department_id=org.it))
    assert [(w.raised, w.closed) for w in board.weeks] == [(0, 0), (1, 1), (0, 0)]
    assert sum(board.open_by_age.values()) == 0
    assert [r.code for r in board.on_time] == ["IT"]
    assert board.outcomes["escalated"] == 1 and board.outcomes["first_turn"] == 0
    assert [c.code for c in board.costs] == ["FIN-SAV"]
    assert board.top_kpis == []


def test_a_workflow_filter_keeps_its_cycles_their_actions_and_the_problems_they_address(
    ctx: Ctx,
) -> None:
    board = reports.dashboard(ctx, replace(PERIOD, workflow="dmaic"))
    assert board.raised == 1  # P2, addressed by C5
    assert sum(board.outcomes.values()) == 0  # C5 is open and not escalated
    assert lead(board, "action_to_done").count == 1  # A8
    assert [(r.code, r.due, r.on_time) for r in board.on_time] == [("IT", 1, 1)]


def test_a_source_filter_keeps_problems_of_that_source_and_the_cycles_on_them(
    ctx: Ctx,
) -> None:
    board = reports.dashboard(ctx, replace(PERIOD, source="complaint"))
    assert [w.raised for w in board.weeks] == [1, 0, 1]  # P1, P6
    assert board.outcomes == {
        "first_turn": 1,
        "after_iterations": 0,
        "escalated": 0,
        "not_effective": 0,
    }
    assert board.top_kpis == []  # every occurrence belongs to P2, a KPI problem


def test_a_period_that_ends_before_it_starts_or_spans_years_is_refused() -> None:
    with pytest.raises(Invalid):
        reports.DashboardFilter(since=date(2026, 11, 2), until=date(2026, 11, 1))
    with pytest.raises(Invalid):
        reports.DashboardFilter(since=date(2024, 1, 1), until=date(2026, 11, 1))


def test_the_default_period_is_twelve_weeks_from_a_monday_to_today() -> None:
    since, until = reports.default_period(date(2026, 11, 25))
    assert (since, until) == (date(2026, 9, 7), date(2026, 11, 25))
    assert since.weekday() == 0
