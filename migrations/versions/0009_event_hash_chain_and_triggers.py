"""event hash chain and append-only triggers: the trail is tamper-evident in the database

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 18:30:00

Adds `events.hash`, fills it for the events already there (in id order, the chain's
order), then installs triggers that refuse UPDATE and DELETE on events, on SQLite and
PostgreSQL alike.
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
COLUMNS = (
    "id, at, actor_id, entity_type, entity_id, verb, field, from_value, to_value, note, "
    "data, signature_meaning, signature_method"
)


def _at(value: object) -> str:
    # The same text as pdca.services.audit.chain_hash (a copy: migrations stay frozen).
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def _digest(previous: str, row: sa.Row) -> str:
    data = row.data
    if isinstance(data, str):
        data = json.loads(data)
    fields = [
        previous,
        _at(row.at),
        row.actor_id,
        row.entity_type,
        row.entity_id,
        row.verb,
        row.field,
        row.from_value,
        row.to_value,
        row.note,
        data if data is not None else {},
        row.signature_meaning,
        row.signature_method,
    ]
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    previous, after = GENESIS, 0
    while True:
        rows = bind.execute(
            sa.text(f"SELECT {COLUMNS} FROM events WHERE id > :after ORDER BY id LIMIT 1000"),
            {"after": after},
        ).all()
        if not rows:
            break
        for row in rows:
            previous = _digest(previous, row)
            bind.execute(
                sa.text("UPDATE events SET hash = :hash WHERE id = :id"),
                {"hash": previous, "id": row.id},
            )
        after = rows[-1].id
    if bind.dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION events_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'the audit trail is append-only: % on events refused', TG_OP;
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
            "FOR EACH ROW EXECUTE FUNCTION events_append_only()"
        )
        op.execute(
            "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events "
            "FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER events_no_{verb.lower()} BEFORE {verb} ON events "
                f"BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only: {verb} on events "
                "refused'); END"
            )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_no_truncate ON events")
        op.execute("DROP TRIGGER IF EXISTS events_append_only ON events")
        op.execute("DROP FUNCTION IF EXISTS events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS events_no_update")
        op.execute("DROP TRIGGER IF EXISTS events_no_delete")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("hash")
