"""an inspection can be skipped with a reason

Revision ID: 0025
Revises: 0021
Create Date: 2026-11-28 14:00:00

`inspections.skip_reason`, `skipped_by_id`, `skipped_at`: a due inspection skipped on
purpose says who skipped it, when and why; the programme shows it as skipped.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = "0025"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("skip_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("skipped_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("skipped_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_inspections_skipped_by_id_users"), "users", ["skipped_by_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_inspections_skipped_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("skipped_at")
        batch_op.drop_column("skipped_by_id")
        batch_op.drop_column("skip_reason")
