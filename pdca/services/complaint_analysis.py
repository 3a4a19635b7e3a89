"""Complaint analysis: what customers complain about, how fast the desk answers, who
complains again, and what the cycles found as causes; every figure beside the previous
period and the same period a year before.

Read-only: one query for the complaints of the three periods, one for their problems'
cycles; the rest is counted in Python (a period holds thousands, not millions).
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from statistics import median

from sqlmodel import col, or_, select

from pdca.engine.definition import FISHBONE_CATEGORIES
from pdca.models import Complaint, ComplaintCategory, Cycle, CycleProblem, Department
from pdca.services.context import Ctx
from pdca.services.errors import Invalid

PERIODS = ("current", "previous", "year_ago")
NOT_ANALYSED = "not_analysed"


@dataclass(frozen=True)
class Triple:
    """A figure in the current period, the one before, and the same period a year before."""

    current: float | None
    previous: float | None
    year_ago: float | None


@dataclass(frozen=True)
class CategoryRow:
    category_id: int
    code: str
    name: str
    name_zh: str | None
    counts: Triple
    cumulative_share: float  # of the current period, in percent, in Pareto order


@dataclass(frozen=True)
class DepartmentTimes:
    department_id: int | None
    code: str | None
    complaints: Triple
    first_response_hours: Triple  # medians
    resolution_hours: Triple


@dataclass(frozen=True)
class Analysis:
    start: date
    end: date  # exclusive
    days: int
    totals: Triple
    categories: list[CategoryRow]
    root_causes: list[tuple[str, Triple]]
    weeks: list[tuple[date, int, int, int]]  # week start, current, previous, year ago
    departments: list[DepartmentTimes]
    repeat_customers: Triple
    top_repeaters: list[tuple[str, int]] = field(default_factory=list)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def analyse(ctx: Ctx, *, days: int = 90, end: date | None = None) -> Analysis:
    if not 7 <= days <= 366:
        raise Invalid("The period is 7 to 366 days.", ["days: between 7 and 366."])
    end = end or ctx.today() + timedelta(days=1)
    start = end - timedelta(days=days)
    windows = {
        "current": (start, end),
        "previous": (start - timedelta(days=days), start),
        "year_ago": (start - timedelta(days=365), end - timedelta(days=365)),
    }
    ranges = [(_midnight(a), _midnight(b)) for a, b in windows.values()]
    rows = list(
        ctx.session.exec(
            select(Complaint).where(
                or_(
                    *(
                        (col(Complaint.received_at) >= a) & (col(Complaint.received_at) < b)
                        for a, b in ranges
                    )
                )
            )
        )
    )
    by_period: dict[str, list[Complaint]] = {p: [] for p in PERIODS}
    for complaint in rows:
        at = _utc(complaint.received_at)
        for period, (a, b) in zip(PERIODS, ranges, strict=True):
            if a <= at < b:
                by_period[period].append(complaint)

    def triple(values: dict[str, float | None]) -> Triple:
        return Triple(values["current"], values["previous"], values["year_ago"])

    totals = triple({p: len(by_period[p]) for p in PERIODS})

    # Pareto by category, in the current period's order.
    categories = {c.id: c for c in ctx.session.exec(select(ComplaintCategory))}
    counts = {p: Counter(c.category_id for c in by_period[p]) for p in PERIODS}
    ordered = sorted(
        categories.values(),
        key=lambda c: (-counts["current"][c.id], -counts["previous"][c.id], c.code),
    )
    running, category_rows = 0, []
    for category in ordered:
        figures = {p: counts[p][category.id] for p in PERIODS}
        if not any(figures.values()):
            continue
        running += figures["current"]
        share = 100 * running / totals.current if totals.current else 0.0
        category_rows.append(
            CategoryRow(
                category.id,  # type: ignore[arg-type]
                category.code,
                category.name,
                category.name_zh,
                triple(figures),  # type: ignore[arg-type]
                round(share, 1),
            )
        )

    # Root causes: the fishbone categories of the cycles that handled each complaint's problem.
    problem_ids = {c.problem_id for c in rows if c.problem_id is not None}
    causes_of: dict[int, set[str]] = defaultdict(set)
    if problem_ids:
        for problem_id, extra in ctx.session.exec(
            select(CycleProblem.problem_id, Cycle.extra)
            .join(Cycle, col(Cycle.id) == CycleProblem.cycle_id)
            .where(col(CycleProblem.problem_id).in_(problem_ids))
        ):
            for cause in FISHBONE_CATEGORIES:
                if str((extra or {}).get(f"fishbone_{cause}") or "").strip():
                    causes_of[problem_id].add(cause)
    cause_counts = {p: Counter[str]() for p in PERIODS}
    for period in PERIODS:
        for complaint in by_period[period]:
            found = causes_of.get(complaint.problem_id or 0) or {NOT_ANALYSED}
            cause_counts[period].update(found)
    root_causes = sorted(
        (
            (cause, triple({p: cause_counts[p][cause] for p in PERIODS}))
            for cause in (*FISHBONE_CATEGORIES, NOT_ANALYSED)
            if any(cause_counts[p][cause] for p in PERIODS)
        ),
        key=lambda item: (item[0] == NOT_ANALYSED, -(item[1].current or 0)),
    )

    # Weekly trend: week n of each period side by side.
    weeks = []
    for n in range(-(-days // 7)):
        row = []
        for period in PERIODS:
            a = _midnight(windows[period][0]) + timedelta(days=7 * n)
            b = min(a + timedelta(days=7), _midnight(windows[period][1]))
            row.append(sum(1 for c in by_period[period] if a <= _utc(c.received_at) < b))
        weeks.append((start + timedelta(days=7 * n), *row))

    # Time to first response and to resolution, by department (medians, in hours).
    departments = {d.id: d for d in ctx.session.exec(select(Department))}
    dept_ids = sorted({c.department_id for c in rows}, key=lambda d: (d is None, d or 0))

    def hours(items: list[Complaint], attribute: str) -> float | None:
        spans = [
            (_utc(getattr(c, attribute)) - _utc(c.received_at)).total_seconds() / 3600
            for c in items
            if getattr(c, attribute) is not None
        ]
        return round(median(spans), 1) if spans else None

    department_rows = []
    for dept_id in dept_ids:
        mine = {p: [c for c in by_period[p] if c.department_id == dept_id] for p in PERIODS}
        department = departments.get(dept_id) if dept_id is not None else None
        department_rows.append(
            DepartmentTimes(
                dept_id,
                department.code if department else None,
                triple({p: len(mine[p]) for p in PERIODS}),
                triple({p: hours(mine[p], "first_response_at") for p in PERIODS}),
                triple({p: hours(mine[p], "resolved_at") for p in PERIODS}),
            )
        )

    # Repeat customers: those who complained more than once within the period.
    per_customer = {
        p: Counter(c.customer_ref for c in by_period[p] if c.customer_ref) for p in PERIODS
    }
    repeats = triple({p: sum(1 for n in per_customer[p].values() if n > 1) for p in PERIODS})
    top = [(ref, n) for ref, n in per_customer["current"].most_common(10) if n > 1]
    return Analysis(
        start=start,
        end=end,
        days=days,
        totals=totals,
        categories=category_rows,
        root_causes=root_causes,
        weeks=weeks,
        departments=department_rows,
        repeat_customers=repeats,
        top_repeaters=top,
    )
