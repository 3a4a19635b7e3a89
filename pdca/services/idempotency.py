"""Idempotency-Key: a retried POST answers what the first one did and creates nothing more.

A client that lost the answer to `POST /problems` (a timeout, a dropped connection)
cannot tell whether the problem was created. Sent again with the same key, the
request is answered with the first answer instead of running again.

The first request claims the key by inserting its row (one row per user and key,
backed by a unique index, so of two concurrent retries exactly one wins); the
winner runs the use case, then keeps its answer on the row. A retry finds the row:
the same request gets the kept answer; another request under the same key is
refused; while the first one still runs, the retry waits a moment for its answer
and is otherwise told to come back (409, Retry-After). A request that failed keeps
nothing: its key is given back, so the client may retry once it fixed the cause.

This is bookkeeping of the HTTP exchange, not a change of the organisation's data:
it writes no audit event (the created thing has its own).
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import col, select

from pdca.engine.facts import Reason
from pdca.models import IdempotencyKey
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Conflict, Forbidden, Invalid
from pdca.services.notifications import insert_once

TTL = timedelta(hours=24)
# How long a retry waits for the first request's answer before it is told to come back.
WAIT_SECONDS = 3.0
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Answer:
    """The first request's answer, as it is replayed."""

    status: int
    headers: dict[str, str]
    body: bytes


class InProgress(Conflict):
    """The first request with this key is still running."""

    retry_after = 1


def _expired_before(ctx: Ctx) -> datetime:
    return ctx.now() - TTL


def _user_id(ctx: Ctx) -> int:
    if ctx.actor is None or ctx.actor.id is None:
        raise Forbidden("Sign in to send an Idempotency-Key.")
    return ctx.actor.id


def claim(ctx: Ctx, *, key: str, fingerprint: str, request_line: str) -> int | Answer:
    """The new claim's id (run the request, then `keep` or `give_back`), or the answer kept
    for the same request. Invalid for another request under the key; InProgress when the
    first one does not finish within WAIT_SECONDS."""
    user_id = _user_id(ctx)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        with unit_of_work(ctx):
            # A key lives 24 hours; then the same key is a new request.
            ctx.session.execute(
                delete(IdempotencyKey).where(
                    col(IdempotencyKey.user_id) == user_id,
                    col(IdempotencyKey.key) == key,
                    col(IdempotencyKey.created_at) < _expired_before(ctx),
                )
            )
            claimed = insert_once(
                ctx.session,
                IdempotencyKey,
                {
                    "user_id": user_id,
                    "key": key,
                    "fingerprint": fingerprint,
                    "request_line": request_line[:300],
                    "created_at": ctx.now(),
                    "headers": {},
                },
            )
            row = None
            if claimed is None:
                row = ctx.session.exec(
                    select(IdempotencyKey).where(
                        IdempotencyKey.user_id == user_id, IdempotencyKey.key == key
                    )
                ).first()
        if claimed is not None:
            return int(claimed)
        if row is None and time.monotonic() < deadline:
            continue  # given back between our insert and our read: claim it again
        if row is None:
            raise InProgress("The Idempotency-Key is changing hands; retry in a moment.")
        if row.fingerprint != fingerprint:
            raise Invalid(
                Reason(
                    "idempotency_key_reused",
                    f"This Idempotency-Key was first sent with another request "
                    f"({row.request_line}, {row.created_at.isoformat()}); a key names one "
                    "request: send a new key with a new request.",
                )
            )
        if row.status is not None:
            return Answer(row.status, dict(row.headers), row.body or b"")
        if time.monotonic() >= deadline:
            raise InProgress(
                Reason(
                    "request_in_progress",
                    f"The first request with this Idempotency-Key ({row.request_line}, "
                    f"{row.created_at.isoformat()}) has not finished; retry in a moment "
                    "for its answer.",
                )
            )
        time.sleep(POLL_SECONDS)


def keep(ctx: Ctx, claim_id: int, answer: Answer) -> None:
    """Keep the first request's answer for its retries."""
    with unit_of_work(ctx):
        row = ctx.session.get(IdempotencyKey, claim_id)
        if row is None:
            return
        row.status = answer.status
        row.headers = answer.headers
        row.body = answer.body
        row.completed_at = ctx.now()
        ctx.session.add(row)


def give_back(ctx: Ctx, claim_id: int) -> None:
    """The request failed: nothing was created, so the key may be used again."""
    with unit_of_work(ctx):
        ctx.session.execute(delete(IdempotencyKey).where(col(IdempotencyKey.id) == claim_id))


def forget_expired(ctx: Ctx) -> int:
    """Delete every key older than 24 hours (a job; claims delete their own user's too)."""
    with unit_of_work(ctx):
        result = ctx.session.execute(
            delete(IdempotencyKey).where(col(IdempotencyKey.created_at) < _expired_before(ctx))
        )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
