"""The audit trail: append-only events written in the same transaction as the change."""

from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from pdca.models import Event

_UNSET = object()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def record(
    ctx: Any,
    entity_type: str,
    entity_id: int,
    verb: str,
    *,
    field: str | None = None,
    old: Any = None,
    new: Any = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
    signature: tuple[str, str] | None = None,
) -> Event:
    """Append one event; `signature` is (meaning, method) for a signed act."""
    entry = Event(
        at=ctx.now(),
        actor_id=ctx.actor_id,
        entity_type=entity_type,
        entity_id=entity_id,
        verb=verb,
        field=field,
        from_value=_text(old),
        to_value=_text(new),
        note=note,
        data=data or {},
        signature_meaning=signature[0] if signature else None,
        signature_method=signature[1] if signature else None,
    )
    ctx.session.add(entry)
    return entry


def record_changes(
    ctx: Any,
    entity_type: str,
    entity_id: int,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    note: str | None = None,
) -> list[Event]:
    """One event per field that really changed, old → new."""
    return [
        record(
            ctx,
            entity_type,
            entity_id,
            "field_changed",
            field=k,
            old=before.get(k),
            new=after[k],
            note=note,
        )
        for k in after
        if before.get(k, _UNSET) != after[k]
    ]


class AuditTrailIsAppendOnly(Exception):
    pass


@event.listens_for(Session, "before_flush")
def _refuse_event_edits(session: Session, _ctx: Any, _instances: Any) -> None:
    # The product never edits or deletes its trail; a bug that tries fails loudly.
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Event) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditTrailIsAppendOnly("audit events cannot be changed or deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_event_edits(state: Any) -> None:
    # before_flush never sees session.execute(update(Event)) or delete(Event): refuse those too.
    if (state.is_update or state.is_delete) and any(
        mapper.class_ is Event for mapper in state.all_mappers
    ):
        raise AuditTrailIsAppendOnly("audit events cannot be changed or deleted")
