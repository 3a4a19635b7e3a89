"""monitoring you can trust: one open problem per KPI and rule, one occurrence per point

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28 10:00:00

- `uq_problems_open_kpi_rule`: a partial unique index (status new or accepted), so
  concurrent feeds cannot raise two open problems for one KPI and rule;
- `uq_problem_occurrences_kpi_rule_at`: a rule fires once at a point, so re-judging a
  series after a late point is idempotent.

Rows that would break them (left by the races this fixes) are folded first: the older
open problem keeps its KPI rule and the later ones lose it (they stay, as problems
people can triage); a repeated occurrence is kept once.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('new', 'accepted') AND kpi_id IS NOT NULL"


def upgrade() -> None:
    bind = op.get_bind()
    # Later duplicates of an open KPI problem stop claiming the rule (their texts stay).
    bind.execute(
        sa.text(
            f"UPDATE problems SET detection_rule = NULL WHERE {OPEN} AND id NOT IN ("
            f"SELECT MIN(id) FROM problems WHERE {OPEN} GROUP BY kpi_id, detection_rule)"
        )
    )
    bind.execute(
        sa.text(
            "DELETE FROM problem_occurrences WHERE id NOT IN ("
            "SELECT MIN(id) FROM problem_occurrences GROUP BY kpi_id, rule, at)"
        )
    )
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.create_index(
            "uq_problems_open_kpi_rule",
            ["kpi_id", "detection_rule"],
            unique=True,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )
    with op.batch_alter_table("problem_occurrences", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            "uq_problem_occurrences_kpi_rule_at", ["kpi_id", "rule", "at"]
        )


def downgrade() -> None:
    with op.batch_alter_table("problem_occurrences", schema=None) as batch_op:
        batch_op.drop_constraint("uq_problem_occurrences_kpi_rule_at", type_="unique")
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.drop_index("uq_problems_open_kpi_rule")
