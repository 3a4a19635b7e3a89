"""Compare-and-set writes: a stale version is a Conflict, never a lost update."""

from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Update, bindparam, inspect, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

from pdca.engine.facts import because
from pdca.services.errors import Conflict, NotFound

Row = TypeVar("Row", bound=SQLModel)


def get_or_404(ctx: Any, model: type[Row], row_id: int, label: str, *, lock: bool = False) -> Row:
    """The row, or NotFound. `lock` takes a row lock (SELECT … FOR UPDATE on PostgreSQL;
    SQLite's BEGIN IMMEDIATE already serialises writers) for decisions that read
    other rows, such as guards over a cycle's actions."""
    row = None if lock else ctx.session.identity_map.get(identity_key(model, row_id))
    if row is not None and inspect(row).expired_attributes:
        row = None  # read again: a rolled-back transaction may have hidden a deletion
    if row is None:
        row = ctx.session.exec(_by_id(model, lock), params={"row_id": row_id}).first()
    if row is None:
        raise NotFound(f"{label} {row_id} does not exist.")
    return row


# Statements built once per table: building one cost more than running it, and every
# write reads its row and updates it.
@cache
def _by_id(model: type[Row], lock: bool) -> SelectOfScalar[Row]:
    query = select(model).where(model.id == bindparam("row_id"))  # type: ignore[attr-defined]
    return query.with_for_update() if lock else query


@cache
def _versioned_update(model: type[SQLModel]) -> Update:
    """UPDATE … WHERE id AND version; the SET clause is the parameters' other keys."""
    table = model.__table__  # type: ignore[attr-defined]
    return update(table).where(
        table.c.id == bindparam("_row_id"), table.c.version == bindparam("_read_version")
    )


def check_version(row: Any, expected: int | None, label: str) -> None:
    if expected is not None and row.version != expected:
        raise Conflict(
            because(
                "stale_version",
                "%(label)s was changed by someone else (you read version "
                "%(read)s, it is now version %(now)s). Reload and try again.",
                label=label,
                read=expected,
                now=row.version,
            )
        )


def compare_and_set(ctx: Any, row: Any, label: str, values: dict[str, Any]) -> None:
    """UPDATE … WHERE id = :id AND version = :read_version, then bump the version.

    The row was read in this transaction; if another writer got there first the
    UPDATE matches nothing and we refuse rather than overwrite their change.
    """
    read_version = row.version
    session = ctx.session
    session.flush()  # what this transaction changed before lands first, as autoflush would
    result = session.connection().execute(
        _versioned_update(type(row)),
        {**values, "version": read_version + 1, "_row_id": row.id, "_read_version": read_version},
    )
    if result.rowcount != 1:
        # Nothing got updated: another request changed the row since we read it.
        raise Conflict(
            because(
                "changed_meanwhile",
                "%(label)s was changed by someone else just now. Reload and try again.",
                label=label,
            )
        )
    # Mirror the write on the loaded row without marking it dirty (no second UPDATE).
    for key, value in {**values, "version": read_version + 1}.items():
        set_committed_value(row, key, value)
