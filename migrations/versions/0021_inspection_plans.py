"""inspection plans: schedules that make inspections, and spot-check samples

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-28 13:00:00

- `inspection_plans`: checklist, departments, frequency (or an RRULE), inspectors
  (a role or named people, independent or not) and a spot check's sample size;
- `inspections.plan_id` with a unique (plan, department, due date): the job that makes
  due inspections inserts each once, however many processes run it at once;
- `inspections.sample_*`: the seed, list and period a spot check's cases were drawn from;
- `inspection_escalations`: each step of the ladder taken once for an overdue inspection.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inspection_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_zh", sa.String(length=200), nullable=True),
        sa.Column("checklist_id", sa.Integer(), nullable=False),
        sa.Column("department_ids", sa.JSON(), nullable=False),
        sa.Column("frequency", sa.String(length=20), nullable=False),
        sa.Column("rrule", sa.String(length=500), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("inspector_role", sa.String(length=20), nullable=True),
        sa.Column("inspector_ids", sa.JSON(), nullable=False),
        sa.Column("independent", sa.Boolean(), nullable=False),
        sa.Column("sample_size", sa.Integer(), nullable=False),
        sa.Column("sample_source", sa.String(length=30), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checklist_id"],
            ["checklist_templates.id"],
            name=op.f("fk_inspection_plans_checklist_id_checklist_templates"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_inspection_plans_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_plans")),
    )
    op.create_index(op.f("ix_inspection_plans_checklist_id"), "inspection_plans", ["checklist_id"])
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("sample_seed", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("sample_source", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("sample_from", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("sample_to", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("sample", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_inspections_plan_id"), ["plan_id"])
        batch_op.create_unique_constraint(
            "uq_inspections_plan_due", ["plan_id", "department_id", "due_on"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_inspections_plan_id_inspection_plans"),
            "inspection_plans",
            ["plan_id"],
            ["id"],
        )
    op.create_table(
        "inspection_escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("to", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspections.id"],
            name=op.f("fk_inspection_escalations_inspection_id_inspections"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_escalations")),
        sa.UniqueConstraint(
            "inspection_id", "due_on", "step", name="uq_inspection_escalations_once"
        ),
    )
    op.create_index(
        op.f("ix_inspection_escalations_inspection_id"),
        "inspection_escalations",
        ["inspection_id"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_inspection_escalations_inspection_id"), table_name="inspection_escalations"
    )
    op.drop_table("inspection_escalations")
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_inspections_plan_id_inspection_plans"), type_="foreignkey"
        )
        batch_op.drop_constraint("uq_inspections_plan_due", type_="unique")
        batch_op.drop_index(batch_op.f("ix_inspections_plan_id"))
        for column in ("sample", "sample_to", "sample_from", "sample_source", "sample_seed"):
            batch_op.drop_column(column)
        batch_op.drop_column("plan_id")
    op.drop_index(op.f("ix_inspection_plans_checklist_id"), table_name="inspection_plans")
    op.drop_table("inspection_plans")
