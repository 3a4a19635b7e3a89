"""an inspection can be skipped with a reason; expert reviews with named reviewers

Revision ID: 0025
Revises: 0022
Create Date: 2026-11-28 14:00:00

`inspections.skip_reason`, `skipped_by_id`, `skipped_at`: a due inspection skipped on
purpose says who skipped it, when and why; the programme shows it as skipped.
`inspections.kind` ("checklist" or "expert_review") and `inspection_reviews`: each named
reviewer's score and comment, once per reviewer.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = "0025"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=20), nullable=False, server_default="checklist")
        )
        batch_op.add_column(sa.Column("skip_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("skipped_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("skipped_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_inspections_skipped_by_id_users"), "users", ["skipped_by_id"], ["id"]
        )
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.alter_column("kind", server_default=None)
    op.create_table(
        "inspection_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspections.id"],
            name=op.f("fk_inspection_reviews_inspection_id_inspections"),
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["users.id"], name=op.f("fk_inspection_reviews_reviewer_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_reviews")),
        sa.UniqueConstraint(
            "inspection_id", "reviewer_id", name="uq_inspection_reviews_reviewer"
        ),
    )
    op.create_index(
        op.f("ix_inspection_reviews_inspection_id"), "inspection_reviews", ["inspection_id"]
    )
    op.create_index(
        op.f("ix_inspection_reviews_reviewer_id"), "inspection_reviews", ["reviewer_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_inspection_reviews_reviewer_id"), table_name="inspection_reviews")
    op.drop_index(op.f("ix_inspection_reviews_inspection_id"), table_name="inspection_reviews")
    op.drop_table("inspection_reviews")
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_inspections_skipped_by_id_users"), type_="foreignkey"
        )
        batch_op.drop_column("skipped_at")
        batch_op.drop_column("skipped_by_id")
        batch_op.drop_column("skip_reason")
        batch_op.drop_column("kind")
