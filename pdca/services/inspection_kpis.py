"""Inspection scores become KPI measurements, so they are watched like any KPI.

Each checklist and inspected department has one KPI (internal-process perspective,
higher is better, in percent), made the first time an inspection of that pair is
submitted with a score. The checklist's pass score is its target; ten points below
is a warning, twenty a breach. The point is the submission's time and score, written
in the submission's transaction, and the KPI's monitoring rules then see it.
"""

from dataclasses import replace
from datetime import timedelta

from sqlmodel import col, select

from pdca.models import ChecklistTemplate, Department, Inspection, Kpi, Measurement, Perspective
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
    if inspection.score is None or inspection.submitted_at is None:
        return
    system = replace(ctx, actor=None, token_id=None, token_scopes=None)
    kpi = kpi_for(system, template, department, pass_score)
    assert kpi.id is not None
    at = inspection.submitted_at
    # Two inspections of one department submitted at the same instant are two points: a
    # stored point is never replaced, so the later one moves on by a microsecond.
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
    kpis.ingest(system, [kpis.RowIn(1, kpi.id, at, inspection.score)])
