"""The improvement dashboard: what quality managers take to their meetings upwards.

Every figure is one SQL query over the filtered rows, grouped in the database; only
the lead times fetch their two timestamps per row (the median and the 90th
percentile need the values, and both databases lack a common percentile function).

What each figure counts, so that a reader can recompute it:

- raised / closed per week: problems reported in the week; problems resolved in it
  (or rejected, or marked a duplicate, on the day of that triage). Weeks start on the
  period's first day and are counted in UTC.
- open problems by age: problems new or accepted now, by days since they were reported.
- lead times (days): problem reported → a cycle opened on it (cycles opened in the
  period), cycle opened → closed (cycles closed in the period), action created → done
  (actions done in the period), done → verified (actions verified in the period).
  Median and 90th percentile interpolate between ranks (Excel's PERCENTILE.INC).
- on time, by responsible department: actions (not cancelled) whose deadline fell in
  the period and has passed; on time = done on or before the deadline (UTC day).
- effectiveness: cycles closed in the period, and open escalated ones: effective at
  the first turn, effective after more turns, escalated, closed otherwise.
- recurrences: problems reported in the period as a breach after a cycle on the same
  KPI closed as effective.
- KPIs with the most occurrences: detection rules firing in the period, per KPI.
- cost of poor quality: for KPIs of the financial perspective, each point's distance
  beyond its target on the bad side, summed over the period (in the KPI's unit).

Filters: the department (the problem's, the cycle's, the action's responsible one,
the KPI's), the workflow (cycles and their actions; problems a cycle of it addresses)
and the problem source (problems; cycles addressing one; their actions; KPI
occurrences). KPI costs are filtered by department only.
"""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, case, cast, literal, or_
from sqlmodel import col, func, select

from pdca.engine.facts import N_
from pdca.models import (
    Action,
    ActionStatus,
    Cycle,
    CycleProblem,
    Department,
    Effectiveness,
    Kpi,
    Measurement,
    Perspective,
    Problem,
    ProblemOccurrence,
    ProblemSource,
    ProblemStatus,
)
from pdca.services.context import Ctx
from pdca.services.errors import Invalid

DEFAULT_WEEKS = 12
MAX_DAYS = 731  # two years of weeks is as much as a chart can show
TOP_KPIS = 10
AGE_BUCKETS = (("under_7", 0, 7), ("7_to_30", 7, 30), ("30_to_90", 30, 90), ("over_90", 90, None))
OUTCOMES = ("first_turn", "after_iterations", "escalated", "not_effective")
LEAD_TIMES = ("problem_to_cycle", "cycle_to_closure", "action_to_done", "done_to_verified")
CLOSED_PROBLEM = (ProblemStatus.resolved, ProblemStatus.rejected, ProblemStatus.duplicate)


@dataclass(frozen=True)
class DashboardFilter:
    since: date
    until: date  # inclusive
    department_id: int | None = None
    workflow: str | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        if self.since > self.until:
            raise Invalid(N_("The period must start before it ends."))
        if (self.until - self.since).days >= MAX_DAYS:
            raise Invalid(N_("Choose a period of at most two years."))
        if self.source is not None and self.source not in ProblemSource.__members__:
            raise Invalid(f"{self.source!r} is not a problem source.")

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time(), UTC)

    @property
    def end(self) -> datetime:
        """The moment after the period (its last day included)."""
        return datetime.combine(self.until + timedelta(days=1), time(), UTC)


def default_period(today: date, weeks: int = DEFAULT_WEEKS) -> tuple[date, date]:
    """The last `weeks` weeks to today, starting on a Monday."""
    monday = today - timedelta(days=today.weekday())
    return monday - timedelta(weeks=weeks - 1), today


# --- what the dashboard holds -------------------------------------------------


@dataclass(frozen=True)
class Week:
    start: date
    raised: int
    closed: int


@dataclass(frozen=True)
class LeadTime:
    name: str
    count: int
    median_days: float | None
    p90_days: float | None


@dataclass(frozen=True)
class OnTime:
    department_id: int
    code: str
    name: str
    name_zh: str | None
    due: int
    on_time: int

    @property
    def rate(self) -> float | None:
        return self.on_time / self.due if self.due else None


@dataclass(frozen=True)
class Recurrence:
    problem_id: int
    title: str
    reported_at: datetime
    cycle_id: int
    # What a rule wrote (its message and parameters), for the reader's language; None
    # when people wrote the title.
    generated: dict[str, Any] | None = None


@dataclass(frozen=True)
class KpiCount:
    kpi_id: int
    code: str
    name: str
    name_zh: str | None
    occurrences: int


@dataclass(frozen=True)
class KpiCost:
    kpi_id: int
    code: str
    name: str
    name_zh: str | None
    unit: str
    target: float
    points: int
    off_target: int
    mean: float | None
    cost: float  # the points' distance beyond target, summed (the KPI's unit)


@dataclass(frozen=True)
class Dashboard:
    filter: DashboardFilter
    weeks: list[Week]
    open_by_age: dict[str, int]
    lead_times: list[LeadTime]
    on_time: list[OnTime]
    outcomes: dict[str, int]
    recurrences: list[Recurrence]
    top_kpis: list[KpiCount]
    costs: list[KpiCost]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def raised(self) -> int:
        return sum(w.raised for w in self.weeks)

    @property
    def closed(self) -> int:
        return sum(w.closed for w in self.weeks)

    @property
    def effective_rate(self) -> float | None:
        ended = sum(self.outcomes.values())
        good = self.outcomes["first_turn"] + self.outcomes["after_iterations"]
        return good / ended if ended else None

    @property
    def on_time_rate(self) -> float | None:
        due = sum(r.due for r in self.on_time)
        return sum(r.on_time for r in self.on_time) / due if due else None


# --- the numbers ----------------------------------------------------------------


def quantile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile, interpolated between ranks (PERCENTILE.INC); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _days(pairs: Sequence[tuple[datetime | None, datetime | None]]) -> list[float]:
    return [
        (later - earlier).total_seconds() / 86400
        for earlier, later in pairs
        if earlier is not None and later is not None and later >= earlier
    ]


def _lead_time(name: str, pairs: Sequence[tuple[Any, Any]]) -> LeadTime:
    values = _days(pairs)
    median = statistics.median(values) if values else None
    return LeadTime(name, len(values), median, quantile(values, 0.9))


def _dialect(ctx: Ctx) -> str:
    return ctx.session.get_bind().dialect.name


def utc_day(ctx: Ctx, column: Any) -> Any:
    """The UTC calendar day of a stored time, as each database writes it."""
    if _dialect(ctx) == "sqlite":
        return func.date(column)  # stored as naive UTC text
    return cast(func.timezone("UTC", column), Date)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _between(column: Any, f: DashboardFilter) -> ColumnElement[bool]:
    return and_(col(column) >= f.start, col(column) < f.end)


# --- the filters, one place per kind of row ---------------------------------------


def problem_scope(f: DashboardFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if f.department_id is not None:
        where.append(col(Problem.department_id) == f.department_id)
    if f.source:
        where.append(col(Problem.source) == f.source)
    if f.workflow:
        where.append(problems_in_workflow(f.workflow))
    return where


def problems_in_workflow(workflow: str) -> ColumnElement[bool]:
    """Problems that a cycle of the workflow addresses."""
    return col(Problem.id).in_(
        select(CycleProblem.problem_id)
        .join(Cycle, col(Cycle.id) == CycleProblem.cycle_id)
        .where(Cycle.workflow == workflow)
    )


def _cycle_kind(f: DashboardFilter) -> list[ColumnElement[bool]]:
    """The workflow and source filters of cycles (the department is the caller's)."""
    where: list[ColumnElement[bool]] = []
    if f.workflow:
        where.append(col(Cycle.workflow) == f.workflow)
    if f.source:
        where.append(
            col(Cycle.id).in_(
                select(CycleProblem.cycle_id)
                .join(Problem, col(Problem.id) == CycleProblem.problem_id)
                .where(Problem.source == f.source)
            )
        )
    return where


def cycle_scope(f: DashboardFilter) -> list[ColumnElement[bool]]:
    where = _cycle_kind(f)
    if f.department_id is not None:
        where.append(col(Cycle.department_id) == f.department_id)
    return where


def action_scope(f: DashboardFilter) -> list[ColumnElement[bool]]:
    """Actions by their responsible department, and by their cycle's workflow and source."""
    where: list[ColumnElement[bool]] = []
    if f.department_id is not None:
        where.append(col(Action.department_id) == f.department_id)
    kind = _cycle_kind(f)
    if kind:
        where.append(col(Action.cycle_id).in_(select(Cycle.id).where(*kind)))
    return where


# --- the figures ----------------------------------------------------------------


def _per_day(ctx: Ctx, column: Any, where: list[Any]) -> dict[date, int]:
    day = utc_day(ctx, column)
    rows = ctx.session.exec(select(day, func.count()).where(*where).group_by(day))
    return {_as_date(d): int(n) for d, n in rows}


def weekly(ctx: Ctx, f: DashboardFilter) -> list[Week]:
    scope = problem_scope(f)
    raised = _per_day(ctx, Problem.reported_at, [*scope, _between(Problem.reported_at, f)])
    closed_at = case(
        (col(Problem.status) == ProblemStatus.resolved, col(Problem.resolved_at)),
        else_=col(Problem.triaged_at),
    )
    closed = _per_day(
        ctx,
        closed_at,
        [
            *scope,
            col(Problem.status).in_(CLOSED_PROBLEM),
            closed_at >= f.start,
            closed_at < f.end,
        ],
    )
    weeks = []
    start = f.since
    while start <= f.until:
        days = [start + timedelta(days=i) for i in range(7)]
        weeks.append(
            Week(
                start,
                sum(raised.get(d, 0) for d in days),
                sum(closed.get(d, 0) for d in days),
            )
        )
        start += timedelta(days=7)
    return weeks


def open_by_age(ctx: Ctx, f: DashboardFilter) -> dict[str, int]:
    now = ctx.now()
    counts = []
    for _name, low, high in AGE_BUCKETS:
        condition = col(Problem.reported_at) <= now - timedelta(days=low)
        if high is not None:
            condition = and_(condition, col(Problem.reported_at) > now - timedelta(days=high))
        counts.append(func.sum(case((condition, 1), else_=0)))
    row = ctx.session.exec(
        select(*counts).where(
            col(Problem.status).in_((ProblemStatus.new, ProblemStatus.accepted)),
            *problem_scope(f),
        )
    ).one()
    return {name: int(n or 0) for (name, _l, _h), n in zip(AGE_BUCKETS, row, strict=True)}


def lead_times(ctx: Ctx, f: DashboardFilter) -> list[LeadTime]:
    session = ctx.session
    problem_to_cycle = session.exec(
        select(Problem.reported_at, Cycle.created_at)
        .join(CycleProblem, col(CycleProblem.problem_id) == Problem.id)
        .join(Cycle, col(Cycle.id) == CycleProblem.cycle_id)
        .where(_between(Cycle.created_at, f), *cycle_scope(f))
    ).all()
    cycle_to_closure = session.exec(
        select(Cycle.created_at, Cycle.closed_at).where(
            _between(Cycle.closed_at, f), *cycle_scope(f)
        )
    ).all()
    action_to_done = session.exec(
        select(Action.created_at, Action.done_at).where(
            _between(Action.done_at, f), *action_scope(f)
        )
    ).all()
    done_to_verified = session.exec(
        select(Action.done_at, Action.verified_at).where(
            _between(Action.verified_at, f), *action_scope(f)
        )
    ).all()
    pairs = (problem_to_cycle, cycle_to_closure, action_to_done, done_to_verified)
    return [_lead_time(name, rows) for name, rows in zip(LEAD_TIMES, pairs, strict=True)]


def on_time(ctx: Ctx, f: DashboardFilter) -> list[OnTime]:
    last_due = min(f.until, ctx.today() - timedelta(days=1))
    done_day = utc_day(ctx, Action.done_at)
    in_time = and_(col(Action.done_at).is_not(None), done_day <= col(Action.deadline))
    rows = ctx.session.exec(
        select(
            Department.id,
            Department.code,
            Department.name,
            Department.name_zh,
            func.count(),
            func.sum(case((in_time, 1), else_=0)),
        )
        .select_from(Action)
        .join(Department, col(Department.id) == Action.department_id)
        .where(
            col(Action.deadline) >= f.since,
            col(Action.deadline) <= last_due,
            col(Action.status) != ActionStatus.cancelled,
            *action_scope(f),
        )
        .group_by(col(Department.id), col(Department.code), Department.name, Department.name_zh)
        .order_by(col(Department.code))
    ).all()
    return [OnTime(i, code, name, zh, int(n), int(ok or 0)) for i, code, name, zh, n, ok in rows]


def outcomes(ctx: Ctx, f: DashboardFilter) -> dict[str, int]:
    effective = col(Cycle.effectiveness) == Effectiveness.effective
    ended = and_(col(Cycle.closed_at).is_not(None), _between(Cycle.closed_at, f))
    outcome = case(
        (and_(ended, effective, col(Cycle.iteration) == 1), literal("first_turn")),
        (and_(ended, effective), literal("after_iterations")),
        (col(Cycle.escalated), literal("escalated")),
        else_=literal("not_effective"),
    )
    rows = ctx.session.exec(
        select(outcome, func.count())
        .where(
            or_(ended, and_(col(Cycle.escalated), col(Cycle.closed_at).is_(None))),
            *cycle_scope(f),
        )
        .group_by(outcome)
    ).all()
    found = {str(name): int(n) for name, n in rows}
    return {name: found.get(name, 0) for name in OUTCOMES}


def recurrences(ctx: Ctx, f: DashboardFilter) -> list[Recurrence]:
    rows = ctx.session.exec(
        select(
            Problem.id,
            Problem.title,
            Problem.reported_at,
            Problem.recurrence_of_cycle_id,
            Problem.generated,
        )
        .where(
            col(Problem.recurrence_of_cycle_id).is_not(None),
            _between(Problem.reported_at, f),
            *problem_scope(f),
        )
        .order_by(col(Problem.reported_at), col(Problem.id))
    ).all()
    return [Recurrence(*row) for row in rows]  # type: ignore[arg-type]


def top_kpis(ctx: Ctx, f: DashboardFilter, limit: int = TOP_KPIS) -> list[KpiCount]:
    where = [_between(ProblemOccurrence.at, f)]
    if f.department_id is not None:
        where.append(col(Kpi.department_id) == f.department_id)
    if f.source:
        where.append(col(Problem.source) == f.source)
    if f.workflow:
        where.append(problems_in_workflow(f.workflow))
    n = func.count().label("n")
    rows = ctx.session.exec(
        select(Kpi.id, Kpi.code, Kpi.name, Kpi.name_zh, n)
        .select_from(ProblemOccurrence)
        .join(Kpi, col(Kpi.id) == ProblemOccurrence.kpi_id)
        .join(Problem, col(Problem.id) == ProblemOccurrence.problem_id)
        .where(*where)
        .group_by(col(Kpi.id), col(Kpi.code), Kpi.name, Kpi.name_zh)
        .order_by(n.desc(), col(Kpi.code))
        .limit(limit)
    ).all()
    return [KpiCount(i, code, name, zh, int(count)) for i, code, name, zh, count in rows]


def costs(ctx: Ctx, f: DashboardFilter) -> list[KpiCost]:
    value, target = col(Measurement.value), col(Kpi.target)
    lower = col(Kpi.direction) == "lower"
    beyond = case(
        (and_(lower, value > target), value - target),
        (and_(~lower, value < target), target - value),
        else_=0.0,
    )
    off = case((beyond > 0, 1), else_=0)
    where = [col(Kpi.perspective) == Perspective.financial, _between(Measurement.at, f)]
    if f.department_id is not None:
        where.append(col(Kpi.department_id) == f.department_id)
    rows = ctx.session.exec(
        select(
            Kpi.id,
            Kpi.code,
            Kpi.name,
            Kpi.name_zh,
            Kpi.unit,
            Kpi.target,
            func.count(),
            func.sum(off),
            func.avg(value),
            func.sum(beyond),
        )
        .select_from(Measurement)
        .join(Kpi, col(Kpi.id) == Measurement.kpi_id)
        .where(*where)
        .group_by(col(Kpi.id), col(Kpi.code), Kpi.name, Kpi.name_zh, Kpi.unit, Kpi.target)
        .order_by(col(Kpi.code))
    ).all()
    return [
        KpiCost(
            i,
            code,
            name,
            zh,
            unit,
            float(goal),
            int(points),
            int(off_target or 0),
            float(mean) if mean is not None else None,
            round(float(cost or 0.0), 6),
        )
        for i, code, name, zh, unit, goal, points, off_target, mean, cost in rows
    ]


def dashboard(ctx: Ctx, f: DashboardFilter) -> Dashboard:
    """Every figure of the dashboard for these filters: a dozen queries, whatever the data."""
    return Dashboard(
        filter=f,
        weeks=weekly(ctx, f),
        open_by_age=open_by_age(ctx, f),
        lead_times=lead_times(ctx, f),
        on_time=on_time(ctx, f),
        outcomes=outcomes(ctx, f),
        recurrences=recurrences(ctx, f),
        top_kpis=top_kpis(ctx, f),
        costs=costs(ctx, f),
        now=ctx.now(),
    )
