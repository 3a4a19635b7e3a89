"""complaint intake: an editable taxonomy, complaints, and the problems their rules raise

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-27 23:40:00

- `complaint_categories`: the bilingual taxonomy, each with its intake rule (how many
  complaints within how many days raise a problem; from which severity one does);
- `complaints`: what the service desk sent, linked to the problem it raised or joined,
  with its first response and resolution times;
- `problems.complaint_category_id`, and a partial unique index that keeps one open
  volume problem per category whatever the concurrency.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_VOLUME = (
    "status IN ('new', 'accepted') AND complaint_category_id IS NOT NULL "
    "AND detection_rule = 'complaint_volume'"
)


def upgrade() -> None:
    op.create_table(
        "complaint_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=True),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("severe_from", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_categories")),
    )
    with op.batch_alter_table("complaint_categories", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_complaint_categories_code"), ["code"], unique=True
        )
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("customer_ref", sa.String(length=100), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("external_ref", sa.String(length=100), nullable=True),
        sa.Column("problem_id", sa.Integer(), nullable=True),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["complaint_categories.id"],
            name=op.f("fk_complaints_category_id_complaint_categories"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_complaints_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_complaints_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["problem_id"], ["problems.id"], name=op.f("fk_complaints_problem_id_problems")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("external_ref", name=op.f("uq_complaints_external_ref")),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index(
            "ix_complaints_category_received", ["category_id", "received_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_complaints_customer_ref"), ["customer_ref"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_complaints_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_complaints_problem_id"), ["problem_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_complaints_received_at"), ["received_at"], unique=False
        )
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.add_column(sa.Column("complaint_category_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_problems_complaint_category_id_complaint_categories"),
            "complaint_categories",
            ["complaint_category_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_problems_complaint_category_id"),
            ["complaint_category_id"],
            unique=False,
        )
        batch_op.create_index(
            "uq_problems_open_complaint_category",
            ["complaint_category_id"],
            unique=True,
            postgresql_where=sa.text(OPEN_VOLUME),
            sqlite_where=sa.text(OPEN_VOLUME),
        )


def downgrade() -> None:
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.drop_index("uq_problems_open_complaint_category")
        batch_op.drop_index(batch_op.f("ix_problems_complaint_category_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_problems_complaint_category_id_complaint_categories"),
            type_="foreignkey",
        )
        batch_op.drop_column("complaint_category_id")
    op.drop_table("complaints")
    op.drop_table("complaint_categories")
