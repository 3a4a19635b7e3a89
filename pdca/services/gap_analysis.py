"""Gap analysis (SERVQUAL): per quality dimension, what customers expected and what they
perceived, and the gap = perceived − expected, over time and by department.

Only a rating question that asks for the expectation too (`gap: true`) gives a pair; a
dimension's figures in a cell are the means over the pairs of that cell (every gap
question of the dimension, every answer), so the gap is the mean of the pairs' gaps. A
negative gap is a shortfall: the service fell below what the customer expected.

Read-only: one query for the answers of the window and one for the versions they
answered (an answer keeps the questions it answered); the rest is counted in Python.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import col, select

from pdca.models import Department, QualityDimension, Survey, SurveyResponse, SurveyVersion
from pdca.services.context import Ctx
from pdca.services.errors import Invalid
from pdca.services.store import get_or_404

GROUPINGS = ("week", "month")
WINDOWS = (90, 180, 365)


@dataclass(frozen=True)
class Cell:
    """The pairs of one dimension in one slice: their mean expectation and perception."""

    pairs: int
    expected: float | None
    perceived: float | None

    @property
    def gap(self) -> float | None:
        if self.expected is None or self.perceived is None:
            return None
        return round(self.perceived - self.expected, 4)


EMPTY = Cell(0, None, None)


@dataclass(frozen=True)
class Slice:
    """One period or one department: a cell per dimension code."""

    key: Any  # the period's first day, or the department's id
    label: str  # the department's code ("" for a period)
    cells: dict[str, Cell]

    @property
    def pairs(self) -> int:
        return sum(c.pairs for c in self.cells.values())


@dataclass(frozen=True)
class GapAnalysis:
    start: date
    end: date  # exclusive
    by: str  # week | month
    survey_id: int | None
    department_id: int | None
    dimensions: list[QualityDimension]  # those with at least one pair, in their order
    overall: dict[str, Cell]
    periods: list[Slice]  # oldest first, only periods with pairs
    departments: list[Slice]  # by department code


class _Sums:
    def __init__(self) -> None:
        self.n = 0
        self.expected = 0.0
        self.perceived = 0.0

    def add(self, perceived: float, expected: float) -> None:
        self.n += 1
        self.perceived += perceived
        self.expected += expected

    def cell(self) -> Cell:
        if not self.n:
            return EMPTY
        return Cell(self.n, round(self.expected / self.n, 4), round(self.perceived / self.n, 4))


def _period_start(by: str, day: date) -> date:
    return day - timedelta(days=day.weekday()) if by == "week" else day.replace(day=1)


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def pairs(questions: list[dict[str, Any]], answers: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(dimension, perceived, expected) of each answered gap question with a dimension."""
    found = []
    for q in questions:
        value = answers.get(q["key"])
        if q.get("gap") and q.get("dimension") and isinstance(value, dict):
            found.append((q["dimension"], int(value["perceived"]), int(value["expected"])))
    return found


def analyse(
    ctx: Ctx,
    *,
    days: int = 365,
    by: str = "month",
    survey_id: int | None = None,
    department_id: int | None = None,
    end: date | None = None,
) -> GapAnalysis:
    """The gaps of the `days` before `end` (exclusive; tomorrow by default), by `by`."""
    reasons = []
    if not 7 <= days <= 731:
        reasons.append("days: between 7 and 731.")
    if by not in GROUPINGS:
        reasons.append(f"by: one of {', '.join(GROUPINGS)}.")
    if reasons:
        raise Invalid("The gap analysis cannot be drawn.", reasons)
    if survey_id is not None:
        get_or_404(ctx, Survey, survey_id, "Survey")
    if department_id is not None:
        get_or_404(ctx, Department, department_id, "Department")
    end = end or ctx.today() + timedelta(days=1)
    start = end - timedelta(days=days)
    query = select(SurveyResponse).where(
        col(SurveyResponse.submitted_at) >= datetime.combine(start, time(0), tzinfo=UTC),
        col(SurveyResponse.submitted_at) < datetime.combine(end, time(0), tzinfo=UTC),
    )
    if survey_id is not None:
        query = query.where(SurveyResponse.survey_id == survey_id)
    responses = list(ctx.session.exec(query))
    version_ids = {r.survey_version_id for r in responses}
    questions = {
        v.id: v.questions
        for v in ctx.session.exec(
            select(SurveyVersion).where(col(SurveyVersion.id).in_(version_ids or {0}))
        )
    }
    overall: dict[str, _Sums] = defaultdict(_Sums)
    by_period: dict[date, dict[str, _Sums]] = defaultdict(lambda: defaultdict(_Sums))
    by_department: dict[int, dict[str, _Sums]] = defaultdict(lambda: defaultdict(_Sums))
    for response in responses:
        found = pairs(questions.get(response.survey_version_id, []), response.answers or {})
        if not found:
            continue
        period = _period_start(by, _utc(response.submitted_at).date())
        mine = department_id is None or response.department_id == department_id
        for dimension, perceived, expected in found:
            # The department table always shows every department; the rest follows the filter.
            by_department[response.department_id][dimension].add(perceived, expected)
            if mine:
                overall[dimension].add(perceived, expected)
                by_period[period][dimension].add(perceived, expected)
    seen = set(overall) | {d for cells in by_department.values() for d in cells}
    dimensions = [
        d
        for d in ctx.session.exec(
            select(QualityDimension).order_by(col(QualityDimension.position), QualityDimension.id)
        )
        if d.code in seen
    ]
    codes = {d.id: d.code for d in ctx.session.exec(select(Department))}
    return GapAnalysis(
        start=start,
        end=end,
        by=by,
        survey_id=survey_id,
        department_id=department_id,
        dimensions=dimensions,
        overall={code: sums.cell() for code, sums in overall.items()},
        periods=[
            Slice(p, "", {code: sums.cell() for code, sums in cells.items()})
            for p, cells in sorted(by_period.items())
        ],
        departments=sorted(
            (
                Slice(dept, codes.get(dept, str(dept)), {c: s.cell() for c, s in cells.items()})
                for dept, cells in by_department.items()
            ),
            key=lambda s: s.label,
        ),
    )
