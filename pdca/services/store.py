"""Compare-and-set writes: a stale version is a Conflict, never a lost update."""

from typing import Any, TypeVar

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import SQLModel

from pdca.engine.facts import because
from pdca.services.errors import Conflict, NotFound

Row = TypeVar("Row", bound=SQLModel)


def get_or_404(ctx: Any, model: type[Row], row_id: int, label: str, *, lock: bool = False) -> Row:
    """The row, or NotFound. `lock` takes a row lock (SELECT … FOR UPDATE on PostgreSQL;
    SQLite's BEGIN IMMEDIATE already serialises writers) for decisions that read
    other rows, such as guards over a cycle's actions."""
    row = ctx.session.get(model, row_id, with_for_update=lock or None)
    if row is None:
        raise NotFound(f"{label} {row_id} does not exist.")
    return row


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
    model = type(row)
    read_version = row.version
    result = ctx.session.execute(
        update(model)
        .where(model.id == row.id, model.version == read_version)
        .values(**values, version=read_version + 1)
        .execution_options(synchronize_session=False)
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
