"""count failed iterations

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 04:02:07.822646
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("failed_iterations", sa.Integer(), nullable=False, server_default="0")
        )
    # Before this column every extra turn counted towards escalation; keep that history.
    op.execute("UPDATE cycles SET failed_iterations = iteration - 1 WHERE iteration > 1")


def downgrade() -> None:
    with op.batch_alter_table("cycles", schema=None) as batch_op:
        batch_op.drop_column("failed_iterations")
