"""Inspection scores and pass rates become KPI measurements, watched like any KPI.

Each checklist and inspected department has one KPI (internal-process perspective,
higher is better, in percent), made the first time an inspection of that pair is
submitted with a score. The checklist's pass score is its target; ten points below
is a warning, twenty a breach. The point is the submission's time and score, written
in the submission's transaction, and the KPI's monitoring rules then see it.

Each plan and department also has a pass-rate KPI: at each submission, the share of
the plan's submitted inspections of that department due in the same period that
passed. A stored point is never replaced, so the period's points climb or fall as its
inspections come in and its last point is the period's rate. The period follows the
plan's frequency (daily and weekly plans by month, monthly by quarter, others by year),
so a rate counts more than one inspection.
"""

from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlmodel import col, select

from pdca.models import (
    ChecklistTemplate,
    Department,
    Inspection,
    InspectionPlan,
    InspectionStatus,
    Kpi,
    Measurement,
    Perspective,
)
from pdca.services import kpis
from pdca.services.context import Ctx

WARNING_BELOW_PASS = 10.0
BREACH_BELOW_PASS = 20.0


def kpi_code(template: ChecklistTemplate, department: Department) -> str:
    return f"INS-{template.id}-{department.code}"[:30]


def kpi_for(
    ctx: Ctx, template: ChecklistTemplate, department: Department, pass_score: float
) -> Kpi:
    code = kpi_code(template, department)
    found = ctx.session.exec(select(Kpi).where(Kpi.code == code)).first()
    if found is not None:
        return found
    return kpis.create_kpi(
        ctx,
        code=code,
        name=f"Inspection score: {template.title} ({department.name})"[:200],
        name_zh=f"检查得分：{template.title_zh or template.title}（{department.name_zh or department.name}）"[
            :200
        ],
        description=f"The score of each submitted inspection with checklist {template.code}.",
        unit="%",
        department_id=department.id,
        perspective=Perspective.internal_process,
        direction="higher",
        target=pass_score,
        warning_limit=pass_score - WARNING_BELOW_PASS if pass_score >= BREACH_BELOW_PASS else None,
        breach_limit=pass_score - BREACH_BELOW_PASS if pass_score >= BREACH_BELOW_PASS else None,
        rules=["limit_breach"],
        # Inspections come monthly or less often: missing data is the programme's to say.
        interval_hours=24 * 92,
    )


def feed(
    ctx: Ctx,
    inspection: Inspection,
    template: ChecklistTemplate,
    department: Department,
    pass_score: float,
) -> None:
    """Store the submitted inspection's score as a point of its KPI (inside the caller's
    transaction); the system records it, whoever submitted."""
    if inspection.submitted_at is None:
        return
    system = replace(ctx, actor=None, token_id=None, token_scopes=None)
    if inspection.score is not None:
        kpi = kpi_for(system, template, department, pass_score)
        assert kpi.id is not None
        at = _free_instant(ctx, kpi, inspection.submitted_at)
        kpis.ingest(system, [kpis.RowIn(1, kpi.id, at, inspection.score)])
    if inspection.plan_id is not None and inspection.passed is not None:
        _feed_pass_rate(system, inspection, department)


def _free_instant(ctx: Ctx, kpi: Kpi, at: datetime) -> datetime:
    """`at`, or the next microsecond free: a stored point is never replaced, so two
    submissions at one instant are two points."""
    taken = set(
        ctx.session.exec(
            select(Measurement.at).where(
                Measurement.kpi_id == kpi.id,
                col(Measurement.at) >= at,
                col(Measurement.at) < at + timedelta(seconds=1),
            )
        )
    )
    while at in taken:  # UTCDateTime reads back UTC-aware on both databases
        at += timedelta(microseconds=1)
    return at


PASS_RATE_TARGET = 90.0


def period_of(frequency: str, day: date) -> tuple[date, date]:
    """The period a pass rate counts over: [start, end) holding `day`."""
    if frequency in ("daily", "weekly"):
        start = day.replace(day=1)
        end = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    elif frequency == "monthly":
        first = 3 * ((day.month - 1) // 3) + 1
        start = date(day.year, first, 1)
        end = date(day.year + (first + 3 > 12), (first + 2) % 12 + 1, 1)
    else:
        start, end = date(day.year, 1, 1), date(day.year + 1, 1, 1)
    return start, end


def pass_rate_code(plan: InspectionPlan, department: Department) -> str:
    return f"INSP-{plan.id}-{department.code}"[:30]


def pass_rate_kpi(ctx: Ctx, plan: InspectionPlan, department: Department) -> Kpi:
    code = pass_rate_code(plan, department)
    found = ctx.session.exec(select(Kpi).where(Kpi.code == code)).first()
    if found is not None:
        return found
    return kpis.create_kpi(
        ctx,
        code=code,
        name=f"Inspection pass rate: {plan.title} ({department.name})"[:200],
        name_zh=f"检查合格率：{plan.title_zh or plan.title}（{department.name_zh or department.name}）"[
            :200
        ],
        description=(
            f"The share of the plan's inspections of {department.code} due in the period "
            "that passed, as they are submitted."
        ),
        unit="%",
        department_id=department.id,
        perspective=Perspective.internal_process,
        direction="higher",
        target=PASS_RATE_TARGET,
        warning_limit=75.0,
        breach_limit=50.0,
        rules=["limit_breach"],
        interval_hours=24 * 366,
    )


def pass_rate(ctx: Ctx, plan: InspectionPlan, department_id: int, day: date) -> float | None:
    """Percent of the plan's submitted inspections of the department, due in the period
    holding `day`, that passed (None: none submitted yet)."""
    start, end = period_of(plan.frequency, day)
    outcomes = list(
        ctx.session.exec(
            select(Inspection.passed).where(
                Inspection.plan_id == plan.id,
                Inspection.department_id == department_id,
                col(Inspection.due_on) >= start,
                col(Inspection.due_on) < end,
                col(Inspection.status).in_(
                    (InspectionStatus.submitted, InspectionStatus.acknowledged)
                ),
            )
        )
    )
    if not outcomes:
        return None
    return round(100 * sum(1 for p in outcomes if p) / len(outcomes), 1)


def _feed_pass_rate(ctx: Ctx, inspection: Inspection, department: Department) -> None:
    plan = ctx.session.get(InspectionPlan, inspection.plan_id)
    assert plan is not None and inspection.submitted_at is not None
    rate = pass_rate(ctx, plan, department.id, inspection.due_on)  # type: ignore[arg-type]
    if rate is None:
        return
    kpi = pass_rate_kpi(ctx, plan, department)
    at = _free_instant(ctx, kpi, inspection.submitted_at)
    kpis.ingest(ctx, [kpis.RowIn(1, kpi.id, at, rate)])
