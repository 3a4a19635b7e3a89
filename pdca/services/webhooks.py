"""Webhooks: other systems (service desk, CRM, chat) told of events as they happen.

An administrator registers a URL and the event kinds it wants. Each delivery is an
outbox row (so it survives a restart and is retried with backoff), signed with the
hook's own secret: `X-Pdca-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`
with the timestamp (Unix seconds) in `X-Pdca-Timestamp`, so a receiver can refuse
forgeries and replays. `X-Pdca-Delivery` is the same on every retry of one delivery.
"""

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import col, select

from pdca.engine.facts import N_, Reason
from pdca.models import Outbox, Webhook
from pdca.services import audit, outbox
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Invalid
from pdca.services.policy import can_manage_organisation, require
from pdca.services.store import check_version, compare_and_set, get_or_404

EVENT_KINDS: dict[str, str] = {
    "action.assigned": N_("An action is assigned"),
    "action.done": N_("An action is done (waits for verification)"),
    "action.verified": N_("An action is verified"),
    "action.reopened": N_("An action is reopened"),
    "action.escalated": N_("An overdue action is escalated"),
    "cycle.closed": N_("A cycle is closed"),
    "cycle.escalated": N_("A cycle is escalated"),
    "problem.raised": N_("Monitoring raises a problem"),
}
TIMEOUT_SECONDS = 10
RECENT = 5


@dataclass(frozen=True)
class HookView:
    hook: Webhook
    recent: list[Outbox]  # its latest deliveries, newest first


def _check(url: str, kinds: list[str]) -> list[Reason]:
    reasons = []
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 500:
        reasons.append(Reason("url_invalid", N_("Give an http:// or https:// address.")))
    unknown = sorted(set(kinds) - set(EVENT_KINDS))
    if unknown:
        reasons.append(Reason("kinds_unknown", f"Unknown event kinds: {', '.join(unknown)}."))
    if not kinds:
        reasons.append(Reason("kinds_missing", N_("Choose at least one kind of event.")))
    return reasons


def register(ctx: Ctx, *, url: str, kinds: list[str]) -> Webhook:
    require(can_manage_organisation(ctx.actor))
    reasons = _check(url, kinds)
    if reasons:
        raise Invalid(N_("The webhook was not saved."), reasons)
    with unit_of_work(ctx):
        hook = Webhook(
            url=url.strip(),
            kinds=" ".join(k for k in EVENT_KINDS if k in kinds),
            secret=secrets.token_hex(32),
            created_at=ctx.now(),
        )
        ctx.session.add(hook)
        ctx.session.flush()
        audit.record(
            ctx,
            "webhook",
            hook.id,
            "created",
            data={"url": hook.url, "kinds": hook.kinds},  # type: ignore[arg-type]
        )
    return hook


def update(
    ctx: Ctx, hook_id: int, *, version: int | None, url: str, kinds: list[str], active: bool
) -> Webhook:
    require(can_manage_organisation(ctx.actor))
    reasons = _check(url, kinds)
    if reasons:
        raise Invalid(N_("The webhook was not saved."), reasons)
    with unit_of_work(ctx):
        hook = get_or_404(ctx, Webhook, hook_id, "Webhook")
        check_version(hook, version, f"Webhook {hook_id}")
        before = {"url": hook.url, "kinds": hook.kinds, "active": hook.active}
        after = {
            "url": url.strip(),
            "kinds": " ".join(k for k in EVENT_KINDS if k in kinds),
            "active": active,
        }
        compare_and_set(ctx, hook, f"Webhook {hook_id}", after)
        audit.record_changes(ctx, "webhook", hook_id, before, after)
    return hook


def hooks(ctx: Ctx) -> list[HookView]:
    """Every hook with its latest deliveries (for the admin page)."""
    require(can_manage_organisation(ctx.actor))
    found = list(ctx.session.exec(select(Webhook).order_by(col(Webhook.id))))
    views = []
    for hook in found:
        recent = list(
            ctx.session.exec(
                select(Outbox)
                .where(Outbox.webhook_id == hook.id)
                .order_by(col(Outbox.id).desc())
                .limit(RECENT)
            )
        )
        views.append(HookView(hook, recent))
    return views


def queue(ctx: Ctx, kind: str, dedupe: str, body: dict[str, Any]) -> int:
    """Queue a delivery of `body` to every active hook that wants `kind` (in the
    caller's transaction); returns how many were queued now."""
    assert kind in EVENT_KINDS, kind
    queued = 0
    for hook in ctx.session.exec(select(Webhook).where(Webhook.active == True)):  # noqa: E712
        if kind not in hook.kinds.split():
            continue
        payload = {"kind": kind, "at": ctx.now().isoformat(), **body}
        if outbox.enqueue(ctx, "webhook", f"{hook.id}:{dedupe}", kind, payload, webhook_id=hook.id):
            queued += 1
    return queued


def signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, sent: str) -> bool:
    """What a receiver does (and the tests): recompute, compare in constant time."""
    return hmac.compare_digest(signature(secret, timestamp, body), sent)


def send(ctx: Ctx, row: Outbox) -> str | None:
    """POST one delivery; None when the receiver answered 2xx, else what happened."""
    hook = ctx.session.get(Webhook, row.webhook_id)
    if hook is None or not hook.active:
        return "the webhook is gone or inactive"
    body = json.dumps(
        {"delivery": row.id, **row.payload}, ensure_ascii=False, sort_keys=True
    ).encode()
    timestamp = str(int(ctx.now().timestamp()))
    request = urllib.request.Request(
        hook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "pdca-webhooks",
            "X-Pdca-Event": row.kind,
            "X-Pdca-Delivery": str(row.id),
            "X-Pdca-Timestamp": timestamp,
            "X-Pdca-Signature": signature(hook.secret, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            return None if 200 <= answer.status < 300 else f"HTTP {answer.status}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"


def last_result(row: Outbox) -> tuple[str, datetime | None]:
    return row.last_result or row.status, row.sent_at or row.claimed_at
