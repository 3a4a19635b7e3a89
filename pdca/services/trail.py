"""The trail as auditors read it: its verification, itself recorded, and its export.

A verification walks the hash chain outside the write transaction (a long read
must not hold the write lock), then records its outcome as an event of its own,
so the trail says who checked it, when, how far and what they found.
"""

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlmodel import Session, col, select

from pdca.models import Event, User
from pdca.services import audit
from pdca.services.context import Ctx, unit_of_work
from pdca.services.policy import can_audit_trail, require

ENTITY = "trail"
VERIFIED = "verified"
BATCH = 1000
COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_email",
    "entity_type",
    "entity_id",
    "verb",
    "field",
    "from_value",
    "to_value",
    "note",
    "data",
    "signature_meaning",
    "signature_method",
    "hash",
)
Format = Literal["csv", "json", "xlsx"]
BOM = "\ufeff"


@dataclass(frozen=True)
class Verification:
    at: datetime
    by: str | None  # the verifier's name; None for the system (`pdca audit verify`)
    checked: int
    broken_at: int | None
    reason: str

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def verify(ctx: Ctx) -> Verification:
    """Walk the whole chain, then record what was found (intact or the first broken link)."""
    require(can_audit_trail(ctx.actor))
    with Session(ctx.session.get_bind()) as reader:
        report = audit.verify_trail(reader)
    with unit_of_work(ctx):
        entry = audit.record(
            ctx,
            ENTITY,
            0,
            VERIFIED,
            data={
                "checked": report.checked,
                "broken_at": report.broken_at,
                "reason": report.reason,
            },
        )
    return _verification(entry, ctx.actor.name if ctx.actor else None)


def last_verification(ctx: Ctx) -> Verification | None:
    require(can_audit_trail(ctx.actor))
    row = ctx.session.exec(
        select(Event, User.name)
        .join(User, col(User.id) == Event.actor_id, isouter=True)
        .where(Event.entity_type == ENTITY, Event.verb == VERIFIED)
        .order_by(col(Event.id).desc())
        .limit(1)
    ).first()
    return _verification(row[0], row[1]) if row else None


def _verification(entry: Event, by: str | None) -> Verification:
    data = entry.data or {}
    return Verification(
        at=entry.at,
        by=by,
        checked=int(data.get("checked", 0)),
        broken_at=data.get("broken_at"),
        reason=str(data.get("reason") or ""),
    )


def _rows(session: Session) -> Iterator[tuple[Event, str | None]]:
    """Every event in id order with its actor's e-mail, a batch at a time."""
    after = 0
    while True:
        batch = list(
            session.exec(
                select(Event, User.email)
                .join(User, col(User.id) == Event.actor_id, isouter=True)
                .where(col(Event.id) > after)
                .order_by(col(Event.id))
                .limit(BATCH)
            )
        )
        if not batch:
            return
        yield from batch
        after = batch[-1][0].id  # type: ignore[assignment]
        session.expunge_all()


def _record(entry: Event, email: str | None) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": audit.utc_text(entry.at),
        "actor_id": entry.actor_id,
        "actor_email": email,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "verb": entry.verb,
        "field": entry.field,
        "from_value": entry.from_value,
        "to_value": entry.to_value,
        "note": entry.note,
        "data": entry.data,
        "signature_meaning": entry.signature_meaning,
        "signature_method": entry.signature_method,
        "hash": entry.hash,
    }


def check_export(ctx: Ctx) -> None:
    """Refuse before the first byte: a stream cannot turn into a 403 half-way."""
    require(can_audit_trail(ctx.actor))


def records(engine: Any) -> Iterator[tuple[dict[str, Any], datetime]]:
    """Every event as exported (`at` as the hashed UTC text) with its time as a datetime in UTC,
    in id order, read in its own session (call check_export first). The XLSX export's rows."""
    with Session(engine) as session:
        for entry, email in _rows(session):
            at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=UTC)
            yield _record(entry, email), at.astimezone(UTC)


def data_text(data: Any) -> str:
    """An event's `data` as the JSON text both file exports carry (keys sorted, not escaped)."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def export(engine: Any, fmt: Literal["csv", "json"]) -> Iterator[str]:
    """The whole trail with its hashes, streamed in its own session (call check_export first).

    JSON is an array of objects; CSV has one column per field, `data` as JSON text, and
    starts with a byte-order mark so that spreadsheet programs read Chinese as Chinese (the
    hashes are over the events' fields, not the file's bytes, so the mark changes nothing).
    """
    with Session(engine) as session:
        if fmt == "json":
            yield "[\n"
            first = True
            for entry, email in _rows(session):
                yield ("" if first else ",\n") + json.dumps(
                    _record(entry, email), ensure_ascii=False, sort_keys=True
                )
                first = False
            yield "\n]\n"
            return
        buffer = io.StringIO()
        buffer.write(BOM)
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        for count, (entry, email) in enumerate(_rows(session), start=1):
            record = _record(entry, email)
            record["data"] = data_text(record["data"])
            writer.writerow(record)
            if count % 200 == 0:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
