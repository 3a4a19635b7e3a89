"""kpi tags: words an index definition selects its members by

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-28 03:00:00

A survey's KPIs are made per survey and department (CARE-ASS-BIL …), so no member list
written in advance can name them; an index selects them by tag instead
(`select: {tag: survey-dimension}`). The survey KPIs made before this revision get the
tags the survey feed gives new ones, recognised by their codes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As pdca.services.surveys.metric_tags gives them (kept here as they were at this revision).
FIXED = {
    "CSAT": ["survey-csat"],
    "NPS": ["survey-nps"],
    "RR": ["survey-response-rate"],
}


def _tags(survey: str, metric: str) -> list[str]:
    extra = FIXED.get(metric) or ["survey-dimension", f"dimension:{metric}"]
    return ["survey", f"survey:{survey}", *extra]


def upgrade() -> None:
    with op.batch_alter_table("kpis") as batch_op:
        batch_op.add_column(sa.Column("tags", sa.JSON(), nullable=True))
    bind = op.get_bind()
    kpis = sa.table(
        "kpis", sa.column("id", sa.Integer), sa.column("code", sa.String), sa.column("tags", sa.JSON)
    )
    surveys = [r[0] for r in bind.execute(sa.text("SELECT code FROM surveys"))]
    dimensions = [r[0] for r in bind.execute(sa.text("SELECT code FROM quality_dimensions"))]
    departments = list(bind.execute(sa.text("SELECT id, code FROM departments")))
    wanted: dict[str, list[str]] = {}
    for survey in surveys:
        for metric in [*FIXED, *dimensions]:
            for dept_id, dept_code in departments:
                code = f"{survey}-{metric}-{dept_code}"
                if len(code) > 30:
                    code = f"{survey}-{metric}-{dept_id}"
                wanted[code] = _tags(survey, metric)
    for kpi_id, code in list(bind.execute(sa.select(kpis.c.id, kpis.c.code))):
        bind.execute(
            sa.update(kpis).where(kpis.c.id == kpi_id).values(tags=wanted.get(code, []))
        )
    with op.batch_alter_table("kpis") as batch_op:
        batch_op.alter_column("tags", existing_type=sa.JSON(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("kpis") as batch_op:
        batch_op.drop_column("tags")
