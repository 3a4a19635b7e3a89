"""inspections: checklist templates (versioned), inspections, findings that raise problems

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-28 12:00:00

- `checklist_templates` and their write-once `checklist_versions` (the body: sections
  and items as JSON), so an inspection keeps the version it was made with;
- `inspections` (answers saved as the inspector goes, score, acknowledgement);
- `inspection_findings`: each failed item and the problem it raised or recurred in;
- `problems.finding_key` with a partial unique index: one open problem per failed clause
  and department, whatever two submissions race.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op


revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('new', 'accepted') AND finding_key IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "checklist_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_zh", sa.String(length=200), nullable=True),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_templates")),
    )
    op.create_index(
        op.f("ix_checklist_templates_code"), "checklist_templates", ["code"], unique=True
    )
    op.create_table(
        "checklist_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_checklist_versions_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["checklist_templates.id"],
            name=op.f("fk_checklist_versions_template_id_checklist_templates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_versions")),
        sa.UniqueConstraint(
            "template_id", "number", name="uq_checklist_versions_template_number"
        ),
    )
    op.create_index(
        op.f("ix_checklist_versions_template_id"), "checklist_versions", ["template_id"]
    )
    op.create_table(
        "inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("checklist_version_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.Column("failed_items", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledgement_note", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["users.id"],
            name=op.f("fk_inspections_acknowledged_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["checklist_version_id"],
            ["checklist_versions.id"],
            name=op.f("fk_inspections_checklist_version_id_checklist_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_inspections_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_inspections_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["inspector_id"], ["users.id"], name=op.f("fk_inspections_inspector_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspections")),
    )
    op.create_index(
        op.f("ix_inspections_checklist_version_id"), "inspections", ["checklist_version_id"]
    )
    op.create_index(op.f("ix_inspections_department_id"), "inspections", ["department_id"])
    op.create_index(op.f("ix_inspections_due_on"), "inspections", ["due_on"])
    op.create_index(op.f("ix_inspections_status"), "inspections", ["status"])
    op.create_index(
        "ix_inspections_inspector_status", "inspections", ["inspector_id", "status"]
    )
    op.create_table(
        "inspection_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=30), nullable=False),
        sa.Column("clause", sa.String(length=100), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("problem_id", sa.Integer(), nullable=False),
        sa.Column("raised", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_inspection_findings_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspections.id"],
            name=op.f("fk_inspection_findings_inspection_id_inspections"),
        ),
        sa.ForeignKeyConstraint(
            ["problem_id"],
            ["problems.id"],
            name=op.f("fk_inspection_findings_problem_id_problems"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_findings")),
        sa.UniqueConstraint("inspection_id", "item_id", name="uq_inspection_findings_item"),
    )
    op.create_index(
        op.f("ix_inspection_findings_inspection_id"), "inspection_findings", ["inspection_id"]
    )
    op.create_index(
        op.f("ix_inspection_findings_problem_id"), "inspection_findings", ["problem_id"]
    )
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.add_column(sa.Column("finding_key", sa.String(length=140), nullable=True))
        batch_op.create_index(batch_op.f("ix_problems_finding_key"), ["finding_key"])
        batch_op.create_index(
            "uq_problems_open_finding_key",
            ["finding_key"],
            unique=True,
            postgresql_where=sa.text(OPEN),
            sqlite_where=sa.text(OPEN),
        )


def downgrade() -> None:
    with op.batch_alter_table("problems", schema=None) as batch_op:
        batch_op.drop_index("uq_problems_open_finding_key")
        batch_op.drop_index(batch_op.f("ix_problems_finding_key"))
        batch_op.drop_column("finding_key")
    op.drop_table("inspection_findings")
    op.drop_table("inspections")
    op.drop_table("checklist_versions")
    op.drop_table("checklist_templates")
