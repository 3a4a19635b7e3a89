"""The notifications API: your inbox and preferences; webhooks and the escalation ladder
(administrators)."""

from typing import Annotated

from fastapi import APIRouter, Query

from pdca import i18n
from pdca.models import Webhook
from pdca.services import escalation, notifications, webhooks
from pdca.services.context import Ctx
from pdca.web.api import schemas_notifications as n
from pdca.web.api.idempotency import ApiRoute
from pdca.web.deps import CtxDep

router = APIRouter(tags=["notifications"], route_class=ApiRoute)


def _lang(ctx: Ctx) -> str:
    locale = ctx.actor.locale if ctx.actor is not None else ""
    return locale if locale in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


def _user_id(ctx: Ctx) -> int:
    assert ctx.actor is not None and ctx.actor.id is not None
    return ctx.actor.id


@router.get("/notifications", response_model=list[n.NotificationOut])
def list_notifications(
    ctx: CtxDep,
    unread: bool = False,
    before: Annotated[
        int | None, Query(ge=1, description="The last notification of the previous page.")
    ] = None,
) -> list[n.NotificationOut]:
    """Your notifications, newest first, 50 at a time, in your language."""
    lines = notifications.inbox(ctx, _lang(ctx), unread_only=unread, before=before)
    return [n.NotificationOut(**line.__dict__) for line in lines]


@router.post("/notifications/read", response_model=n.ReadOut)
def mark_read(ctx: CtxDep, body: n.ReadIn) -> n.ReadOut:
    if body.ids is not None:
        for notification_id in body.ids:
            notifications.mark_read(ctx, notification_id)
        marked = len(body.ids)
    else:
        marked = notifications.mark_all_read(ctx, up_to=body.up_to)
    return n.ReadOut(marked=marked, unread=notifications.unread_count(ctx.session, _user_id(ctx)))


def _preferences_out(prefs: notifications.Preferences) -> n.PreferencesOut:
    return n.PreferencesOut(
        version=prefs.version,
        kinds=[k for k in notifications.KINDS if prefs.wants(k)],
        urgent_kinds=[k for k in notifications.KINDS if k in prefs.urgent_kinds],
        email_digest=prefs.email_digest,
        digest_hour=prefs.digest_hour,
        time_zone=prefs.time_zone,
        due_soon_days=prefs.due_soon_days,
        muted=prefs.muted,
        calendar_feed=prefs.calendar_prefix is not None,
    )


@router.get("/notifications/preferences", response_model=n.PreferencesOut)
def get_preferences(ctx: CtxDep) -> n.PreferencesOut:
    return _preferences_out(notifications.preferences_of(ctx.session, _user_id(ctx)))


@router.put("/notifications/preferences", response_model=n.PreferencesOut)
def put_preferences(ctx: CtxDep, body: n.PreferencesIn) -> n.PreferencesOut:
    """Replace your preferences (a stale `version` is a 409).

    The body may be what GET answered, with some fields changed: `calendar_feed` is
    read-only and may come back unchanged."""
    saved = notifications.save_preferences(
        ctx,
        version=body.version,
        kinds_on=list(body.kinds),
        urgent_kinds=list(body.urgent_kinds),
        email_digest=body.email_digest,
        digest_hour=body.digest_hour,
        time_zone=body.time_zone,
        due_soon_days=body.due_soon_days,
        muted=body.muted,
        calendar_feed=body.calendar_feed,
    )
    return _preferences_out(saved)


def _hook_out(view: webhooks.HookView) -> n.WebhookOut:
    hook = view.hook
    return n.WebhookOut(
        id=hook.id,  # type: ignore[arg-type]
        url=hook.url,
        kinds=hook.kinds.split(),
        active=hook.active,
        version=hook.version,
        created_at=hook.created_at,
        secret=hook.secret,
        recent=[n.DeliveryOut(**d.model_dump()) for d in view.recent],
    )


def _view_of(ctx: Ctx, hook: Webhook) -> n.WebhookOut:
    for view in webhooks.hooks(ctx):
        if view.hook.id == hook.id:
            return _hook_out(view)
    raise AssertionError("a hook just saved is listed")


@router.get("/webhooks", response_model=list[n.WebhookOut])
def list_webhooks(ctx: CtxDep) -> list[n.WebhookOut]:
    """Every webhook with its latest deliveries (administrators)."""
    return [_hook_out(v) for v in webhooks.hooks(ctx)]


@router.post("/webhooks", status_code=201, response_model=n.WebhookOut)
def create_webhook(ctx: CtxDep, body: n.WebhookIn) -> n.WebhookOut:
    hook = webhooks.register(ctx, url=body.url, kinds=list(body.kinds))
    return _view_of(ctx, hook)


@router.patch("/webhooks/{webhook_id}", response_model=n.WebhookOut)
def update_webhook(ctx: CtxDep, webhook_id: int, body: n.WebhookUpdate) -> n.WebhookOut:
    hook = webhooks.update(
        ctx,
        webhook_id,
        version=body.version,
        url=body.url,
        kinds=list(body.kinds),
        active=body.active,
    )
    return _view_of(ctx, hook)


@router.get("/escalation-ladder", response_model=n.LadderOut)
def get_ladder(ctx: CtxDep) -> n.LadderOut:
    """Who hears of an overdue action, how many days past its deadline."""
    ladder = escalation.ladder(ctx)
    return n.LadderOut(version=ladder.version, steps=ladder.steps)  # type: ignore[arg-type]


@router.put("/escalation-ladder", response_model=n.LadderOut)
def put_ladder(ctx: CtxDep, body: n.LadderIn) -> n.LadderOut:
    ladder = escalation.save_ladder(
        ctx, version=body.version, steps=[s.model_dump() for s in body.steps]
    )
    return n.LadderOut(version=ladder.version, steps=ladder.steps)  # type: ignore[arg-type]
