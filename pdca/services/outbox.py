"""The durable outbox: mails and webhook deliveries, each sent once.

Deciding to send and sending are apart. The use case or job that decides writes an
outbox row in its own transaction; a unique (channel, dedupe) key makes deciding
twice (a job run twice, two processes at once) add nothing. The sender then:

1. claims a due row by compare-and-set (`UPDATE … SET status='sending' WHERE id=:id
   AND status='pending'`), committed at once: of several processes only one
   matches, the others' UPDATE finds the row already taken;
2. sends it, outside any transaction;
3. marks it sent (or failed, with a retry time that backs off exponentially).

The guarantee: a row is never sent by two senders at once, and a sent row is never
sent again, except when a process dies between 2 and 3. Such a claim is taken over
after `STALE_CLAIM` and the message sent again with the same Message-ID (mail) or
X-Pdca-Delivery id (webhooks), so the receiver can tell it is the same message: at
least once, with an idempotency key; never lost.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import col, select

from pdca.models import Outbox
from pdca.services.context import Ctx, unit_of_work
from pdca.services.notifications import insert_once

STALE_CLAIM = timedelta(minutes=10)
MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=6)


def enqueue(
    ctx: Ctx,
    channel: str,
    dedupe: str,
    kind: str,
    payload: dict[str, Any],
    *,
    user_id: int | None = None,
    webhook_id: int | None = None,
) -> int | None:
    """Queue a message in the caller's transaction; None if it was queued before."""
    now = ctx.now()
    return insert_once(
        ctx.session,
        Outbox,
        {
            "channel": channel,
            "dedupe": dedupe[:160],
            "kind": kind,
            "payload": payload,
            "user_id": user_id,
            "webhook_id": webhook_id,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        },
    )


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min … at most 6 h."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_WAIT)


def _due(ctx: Ctx, channel: str, limit: int) -> list[tuple[int, str, datetime | None]]:
    now = ctx.now()
    rows = ctx.session.exec(
        select(Outbox.id, Outbox.status, Outbox.claimed_at)
        .where(
            Outbox.channel == channel,
            or_(
                and_(col(Outbox.status) == "pending", col(Outbox.next_attempt_at) <= now),
                # A sender that died after claiming: take its row over.
                and_(col(Outbox.status) == "sending", col(Outbox.claimed_at) < now - STALE_CLAIM),
            ),
        )
        .order_by(col(Outbox.next_attempt_at), col(Outbox.id))
        .limit(limit)
    )
    return [(int(i), s, c) for i, s, c in rows]  # type: ignore[arg-type]


def claim(ctx: Ctx, channel: str, holder: str, limit: int = 100) -> list[Outbox]:
    """Take up to `limit` due rows for `holder`, each by compare-and-set, committed."""
    with unit_of_work(ctx):
        candidates = _due(ctx, channel, limit)
    taken: list[Outbox] = []
    for row_id, status, claimed_at in candidates:
        with unit_of_work(ctx):
            seen = (
                col(Outbox.claimed_at).is_(None)
                if claimed_at is None
                else (col(Outbox.claimed_at) == claimed_at)
            )
            won = ctx.session.execute(
                update(Outbox)
                .where(col(Outbox.id) == row_id, col(Outbox.status) == status, seen)
                .values(
                    status="sending",
                    claimed_at=ctx.now(),
                    claimed_by=holder,
                    attempts=Outbox.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            if won == 1:
                row = ctx.session.get(Outbox, row_id, populate_existing=True)
                assert row is not None
                taken.append(row)
            # else: another sender claimed it between our read and our write.
    return taken


def finish(ctx: Ctx, row: Outbox, holder: str, error: str | None) -> None:
    """Record the outcome of a send: sent, or a retry later, or failed for good."""
    now = ctx.now()
    if error is None:
        values: dict[str, Any] = {"status": "sent", "sent_at": now, "last_result": "ok"}
    elif row.attempts >= MAX_ATTEMPTS:
        values = {"status": "failed", "last_result": error[:300]}
    else:
        values = {
            "status": "pending",
            "next_attempt_at": now + backoff(row.attempts),
            "last_result": error[:300],
        }
    with unit_of_work(ctx):
        ctx.session.execute(
            update(Outbox)
            .where(
                col(Outbox.id) == row.id,
                col(Outbox.status) == "sending",
                col(Outbox.claimed_by) == holder,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )


@dataclass
class Delivered:
    sent: int = 0
    failed: int = 0


def send_due(
    ctx: Ctx, channel: str, holder: str, send_one: Callable[[Outbox], str | None]
) -> Delivered:
    """Claim what is due and send it; `send_one` returns None or what went wrong."""
    result = Delivered()
    for row in claim(ctx, channel, holder):
        try:
            error = send_one(row)
        except Exception as exc:  # a sender's failure is a retry, never the job's end
            error = f"{type(exc).__name__}: {exc}"
        finish(ctx, row, holder, error)
        if error is None:
            result.sent += 1
        else:
            result.failed += 1
    return result
