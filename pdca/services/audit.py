"""The audit trail: append-only events written in the same transaction as the change.

Each event carries a hash chained to the one before it (one global chain, in id
order), so an edit, a deletion or an insertion made behind the application's back
(the database also refuses UPDATE and DELETE on events, by trigger) breaks the chain
at that event: `verify_chain` and `pdca audit verify` name it.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, text
from sqlmodel import Session, col, select

from pdca.engine.facts import N_
from pdca.models import Event

GENESIS = "0" * 64
# The PostgreSQL advisory lock that serialises writers of the chain (SQLite's write
# transactions are serial already).
CHAIN_LOCK = 0x70646361  # "pdca"
_CHAIN_KEY = "pdca_audit_chain"

_UNSET = object()
NOTE_KEY = "system_note"


@dataclass(frozen=True)
class SystemNote:
    """A note written by the system: a message template (marked with N_) and its parameters."""

    template: str
    params: dict[str, Any]

    def english(self) -> str:
        return self.template % {k: _english(v) for k, v in self.params.items()}

    def stored(self) -> dict[str, Any]:
        return {"template": self.template, "params": self.params}


def _english(value: Any) -> Any:
    # A parameter given in several languages ({"en": …, "zh_CN": …}).
    return value.get("en", value) if isinstance(value, dict) else value


def system_note_of(entry: Event) -> SystemNote | None:
    """The system's note of an event, for rendering in the reader's language."""
    stored = (entry.data or {}).get(NOTE_KEY)
    if not isinstance(stored, dict) or "template" not in stored:
        return None
    return SystemNote(str(stored["template"]), dict(stored.get("params") or {}))


_TAGS_KEY = "pdca_audit_tags"


@contextmanager
def tagged(ctx: Any, **tags: Any) -> Iterator[None]:
    """Every event recorded inside names `tags` in its data (e.g. the meeting whose
    decision made the change), whichever service records it."""
    before = ctx.session.info.get(_TAGS_KEY)
    ctx.session.info[_TAGS_KEY] = {**(before or {}), **tags}
    try:
        yield
    finally:
        if before is None:
            ctx.session.info.pop(_TAGS_KEY, None)
        else:
            ctx.session.info[_TAGS_KEY] = before


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
    system_note: SystemNote | None = None,
) -> Event:
    """Append one event; `signature` is (meaning, method) for a signed act.

    A note the system writes (not a person) is a `SystemNote`: its English text is the
    event's note, its template and parameters go into `data` so each reader sees it in
    their own language (see `system_note_of`).
    """
    if system_note is not None:
        note = system_note.english()
        data = {**(data or {}), NOTE_KEY: system_note.stored()}
    tags = ctx.session.info.get(_TAGS_KEY) or {}
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
        data={**tags, **(data or {})},
        signature_meaning=signature[0] if signature else None,
        signature_method=signature[1] if signature else None,
    )
    entry.hash = chain_hash(_last_hash(ctx.session), entry)
    ctx.session.info[_CHAIN_KEY] = (ctx.session.get_transaction(), entry.hash)
    ctx.session.add(entry)
    return entry


def chain_rows(previous: str, rows: list[dict[str, Any]]) -> str:
    """Set the hash of raw event rows for a bulk insert (in id order); the last hash.

    For loaders that write many events at once (the benchmark's organisation): the
    rows join the chain exactly as `record` would have chained them.
    """
    for row in rows:
        row["hash"] = previous = chain_hash(previous, Event(**row))
    return previous


# LIMIT 1, not only `.first()`: an ORM result buffers every row it is given, and
# without the limit that was the whole trail, read on every write. Built once: every
# write reads it.
_LAST_HASH = (
    select(Event.hash).where(col(Event.hash).is_not(None)).order_by(col(Event.id).desc()).limit(1)
)


def last_hash_of(connection: Any) -> str:
    """The hash the next event chains to, read on a Core connection."""
    last = connection.execute(_LAST_HASH).first()
    return last[0] if last else GENESIS


def _last_hash(session: Session) -> str:
    """The hash the next event chains to; the first call in a transaction takes the lock."""
    transaction = session.get_transaction()
    known = session.info.get(_CHAIN_KEY)
    if known is not None and transaction is not None and known[0] is transaction:
        return str(known[1])
    if session.get_bind().dialect.name == "postgresql":
        # Held to the commit: concurrent writers chain one after the other.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
    last = session.exec(_LAST_HASH).first()
    return last or GENESIS


def utc_text(at: datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


def chain_hash(previous: str, entry: Event) -> str:
    """SHA-256 over the previous hash and every field of the event but its id."""
    fields = [
        previous,
        utc_text(entry.at),
        entry.actor_id,
        entry.entity_type,
        entry.entity_id,
        entry.verb,
        entry.field,
        entry.from_value,
        entry.to_value,
        entry.note,
        entry.data,
        entry.signature_meaning,
        entry.signature_method,
    ]
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    checked: int
    broken_at: int | None  # the id of the first event whose hash does not follow
    reason: str = ""


def verify_chain(events: Iterable[Event]) -> ChainReport:
    """Walk the events in id order and recompute each link."""
    previous, checked = GENESIS, 0
    for entry in events:
        expected = chain_hash(previous, entry)
        if entry.hash != expected:
            why = (
                N_("its hash is missing")
                if entry.hash is None
                else N_("its content or its place changed")
            )
            return ChainReport(checked, entry.id, why)
        previous, checked = entry.hash, checked + 1
    return ChainReport(checked, None)


def verify_trail(session: Session, batch: int = 1000) -> ChainReport:
    def in_order() -> Iterable[Event]:
        after = 0
        while True:
            rows = list(
                session.exec(
                    select(Event).where(col(Event.id) > after).order_by(col(Event.id)).limit(batch)
                )
            )
            if not rows:
                return
            yield from rows
            after = rows[-1].id  # type: ignore[assignment]
            session.expunge_all()

    return verify_chain(in_order())


def record_changes(
    ctx: Any,
    entity_type: str,
    entity_id: int,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    note: str | None = None,
    system_note: SystemNote | None = None,
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
            system_note=system_note,
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
