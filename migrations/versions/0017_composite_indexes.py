"""composite quality indexes: definition versions, values per period and scope

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 10:00:00

- `index_versions`: a snapshot of each index definition (QSI, QCI, PCI …) by digest;
- `index_values`: an index per period (day, week, month) and scope (a department, or 0
  for all), with the members it stood on and the version that computed it;
- `problems.index_scope`: which index raised a problem, one open problem per index
  scope and rule (a partial unique index, as for KPIs).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('new', 'accepted') AND index_scope IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "index_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_versions")),
        sa.UniqueConstraint("digest", name=op.f("uq_index_versions_digest")),
    )
    with op.batch_alter_table("index_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_index_versions_code"), ["code"], unique=False)
    op.create_table(
        "index_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("scope", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("members_used", sa.Integer(), nullable=False),
        sa.Column("members_total", sa.Integer(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("signals", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["index_versions.id"],
            name=op.f("fk_index_values_version_id_index_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_index_values")),
        sa.UniqueConstraint(
            "code", "scope", "period", "start", name="uq_index_values_code_scope_period_start"
        ),
    )
    with op.batch_alter_table("index_values", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_index_values_code"), ["code"], unique=False)
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.add_column(sa.Column("index_scope", sa.String(length=40), nullable=True))
        batch_op.create_index(batch_op.f("ix_problems_index_scope"), ["index_scope"], unique=False)
        batch_op.create_index(
            "uq_problems_open_index_rule",
            ["index_scope", "detection_rule"],
            unique=True,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.drop_index("uq_problems_open_index_rule")
        batch_op.drop_index(batch_op.f("ix_problems_index_scope"))
        batch_op.drop_column("index_scope")
    with op.batch_alter_table("index_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_index_values_code"))
    op.drop_table("index_values")
    with op.batch_alter_table("index_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_index_versions_code"))
    op.drop_table("index_versions")
