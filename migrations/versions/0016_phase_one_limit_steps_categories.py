"""phase I and recalculated limits; problem and root-cause categories

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 12:00:00

- `kpis.frozen_*`: the control limits frozen after phase I, who froze them and when;
- `baseline_exclusions`: baseline points left out of the limits as special causes, why;
- `kpi_limit_steps`: limits recalculated after a process change, from a time on;
- `problems.category` and `cycles.root_cause_category`: for the Pareto.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kpis", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frozen_centre", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("frozen_sigma", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("frozen_points", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("frozen_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_kpis_frozen_by_id_users"), "users", ["frozen_by_id"], ["id"]
        )
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(length=30), nullable=True))
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("root_cause_category", sa.String(length=30), nullable=True))
    op.create_table(
        "baseline_exclusions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kpi_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("excluded_by_id", sa.Integer(), nullable=True),
        sa.Column("excluded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["excluded_by_id"],
            ["users.id"],
            name=op.f("fk_baseline_exclusions_excluded_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["kpi_id"], ["kpis.id"], name=op.f("fk_baseline_exclusions_kpi_id_kpis")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_baseline_exclusions")),
        sa.UniqueConstraint("kpi_id", "at", name="uq_baseline_exclusions_kpi_at"),
    )
    with op.batch_alter_table("baseline_exclusions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_baseline_exclusions_kpi_id"), ["kpi_id"], unique=False)
    op.create_table(
        "kpi_limit_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kpi_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("centre", sa.Float(), nullable=False),
        sa.Column("sigma", sa.Float(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=True),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_kpi_limit_steps_cycle_id_cycles")
        ),
        sa.ForeignKeyConstraint(
            ["kpi_id"], ["kpis.id"], name=op.f("fk_kpi_limit_steps_kpi_id_kpis")
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"], ["users.id"], name=op.f("fk_kpi_limit_steps_set_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_limit_steps")),
        sa.UniqueConstraint("kpi_id", "starts_at", name="uq_kpi_limit_steps_kpi_at"),
    )
    with op.batch_alter_table("kpi_limit_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_kpi_limit_steps_kpi_id"), ["kpi_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("kpi_limit_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_kpi_limit_steps_kpi_id"))
    op.drop_table("kpi_limit_steps")
    with op.batch_alter_table("baseline_exclusions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_baseline_exclusions_kpi_id"))
    op.drop_table("baseline_exclusions")
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.drop_column("root_cause_category")
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.drop_column("category")
    with op.batch_alter_table("kpis", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_kpis_frozen_by_id_users"), type_="foreignkey")
        batch_op.drop_column("frozen_at")
        batch_op.drop_column("frozen_by_id")
        batch_op.drop_column("frozen_points")
        batch_op.drop_column("frozen_sigma")
        batch_op.drop_column("frozen_centre")
