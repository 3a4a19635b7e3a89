"""The audit programme: the year's inspections by department and month, and which
clauses fail most (a Pareto of clauses).

A cell counts the inspections due in that month: done (submitted or acknowledged),
skipped (on purpose, with a reason), overdue (not done and past the due date) and
planned (not done, not yet due).
"""

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func
from sqlmodel import col, select

from pdca.models import Department, Inspection, InspectionFinding, InspectionStatus
from pdca.services.context import Ctx
from pdca.services.errors import Invalid

DONE = (InspectionStatus.submitted, InspectionStatus.acknowledged)


@dataclass
class Cell:
    planned: int = 0
    done: int = 0
    overdue: int = 0
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)  # why each skipped one was skipped

    @property
    def total(self) -> int:
        return self.planned + self.done + self.overdue + self.skipped


@dataclass
class Row:
    department_id: int
    code: str
    name: str
    name_zh: str | None
    months: list[Cell] = field(default_factory=lambda: [Cell() for _ in range(12)])


@dataclass(frozen=True)
class Programme:
    year: int
    rows: list[Row]

    @property
    def totals(self) -> Cell:
        cell = Cell()
        for row in self.rows:
            for month in row.months:
                cell.planned += month.planned
                cell.done += month.done
                cell.overdue += month.overdue
                cell.skipped += month.skipped
        return cell


def _year(year: int) -> tuple[date, date]:
    if not 2000 <= year <= 2100:
        raise Invalid("Give a year from 2000 to 2100.")
    return date(year, 1, 1), date(year + 1, 1, 1)


def programme(ctx: Ctx, year: int, department_id: int | None = None) -> Programme:
    start, end = _year(year)
    query = (
        select(
            Inspection.department_id,
            Inspection.due_on,
            Inspection.status,
            Inspection.skip_reason,
        )
        .where(col(Inspection.due_on) >= start, col(Inspection.due_on) < end)
        .order_by(col(Inspection.due_on))
    )
    if department_id is not None:
        query = query.where(Inspection.department_id == department_id)
    rows: dict[int, Row] = {}
    departments = {d.id: d for d in ctx.session.exec(select(Department))}
    today = ctx.today()
    for dept, due, status, reason in ctx.session.exec(query):
        if dept not in rows:
            d = departments[dept]
            rows[dept] = Row(dept, d.code, d.name, d.name_zh)
        cell = rows[dept].months[due.month - 1]
        if status in DONE:
            cell.done += 1
        elif status == InspectionStatus.skipped:
            cell.skipped += 1
            cell.reasons.append(reason or "")
        elif due < today:
            cell.overdue += 1
        else:
            cell.planned += 1
    return Programme(year, sorted(rows.values(), key=lambda r: r.code))


@dataclass(frozen=True)
class ClauseBar:
    clause: str
    failures: int
    share: float  # percent of all failures
    cumulative: float  # percent, for the Pareto line


def clause_pareto(ctx: Ctx, year: int, department_id: int | None = None) -> list[ClauseBar]:
    """Failed clauses of inspections due in the year, the most frequent first."""
    start, end = _year(year)
    failures = func.count(col(InspectionFinding.id))
    query = (
        select(InspectionFinding.clause, failures)
        .join(Inspection, col(Inspection.id) == InspectionFinding.inspection_id)
        .where(col(Inspection.due_on) >= start, col(Inspection.due_on) < end)
        .group_by(col(InspectionFinding.clause))
        .order_by(failures.desc(), col(InspectionFinding.clause))
    )
    if department_id is not None:
        query = query.where(InspectionFinding.department_id == department_id)
    counted = [(clause, int(n)) for clause, n in ctx.session.exec(query)]
    total = sum(n for _, n in counted)
    bars, running = [], 0
    for clause, n in counted:
        running += n
        bars.append(
            ClauseBar(clause, n, round(100 * n / total, 1), round(100 * running / total, 1))
        )
    return bars
