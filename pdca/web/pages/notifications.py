"""The inbox, the notification sections of the profile, the calendar feed, and the
administrators' page for the escalation ladder and webhooks."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from pdca.services import calendar_feed, escalation, notifications, webhooks
from pdca.services.context import Ctx
from pdca.services.errors import Invalid, ServiceError
from pdca.services.policy import can_manage_organisation, require
from pdca.web.deps import AnonymousCtxDep, ReleasingRoute
from pdca.web.pages.common import FormDep, PageCtx, whole_number
from pdca.web.pages.notification_prefs import preferences_context
from pdca.web.pages.profile import (
    after_post,
    error_text,
    field_errors,
    form_status,
    gettext_for,
    profile_context,
)
from pdca.web.render import render

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)
PREFERENCE_FIELDS = ("kinds", "digest_hour", "time_zone", "due_soon_days")
MAX_LADDER_STEPS = escalation.MAX_STEPS


# --- the inbox ---------------------------------------------------------------------------


def _inbox(request: Request, ctx: Ctx, status_code: int = 200, block: str | None = None):
    unread_only = request.query_params.get("unread") == "1"
    before = whole_number(request.query_params.get("before"))
    lines = notifications.inbox(ctx, request.state.lang, unread_only=unread_only, before=before)
    assert ctx.actor is not None and ctx.actor.id is not None
    prefs = notifications.preferences_of(ctx.session, ctx.actor.id)
    context = {
        "lines": lines,
        "unread_only": unread_only,
        "unread": notifications.unread_count(ctx.session, ctx.actor.id),
        "newest": notifications.newest_id(ctx.session, ctx.actor.id),
        # Shown in the reader's own time zone (their preferences; UTC by default).
        "zone": notifications.zone_of(prefs),
        "older": lines[-1].id if len(lines) == notifications.INBOX_PAGE else None,
        "kind_titles": notifications.KIND_TITLES,
    }
    return render(
        request, "notifications/inbox.html", context, block=block, status_code=status_code
    )


@router.get("/notifications")
def inbox_page(request: Request, ctx: PageCtx) -> Response:
    return _inbox(request, ctx)


@router.post("/notifications/{notification_id:int}/read")
def mark_read(request: Request, ctx: PageCtx, notification_id: int) -> Response:
    _ = gettext_for(request)
    notifications.mark_read(ctx, notification_id)  # someone else's: a 404 page
    return after_post(
        request,
        "/notifications",
        _("Marked read."),
        lambda: _inbox(request, ctx, block="inbox"),
    )


@router.post("/notifications/read-all")
def mark_all_read(request: Request, ctx: PageCtx, form: FormDep) -> Response:
    _ = gettext_for(request)
    up_to = whole_number(form.get("up_to"))
    count = notifications.mark_all_read(ctx, up_to=up_to)
    message = _("Everything is marked read.") if count else _("Nothing was unread.")
    return after_post(
        request, "/notifications", message, lambda: _inbox(request, ctx, block="inbox")
    )


# --- preferences and the calendar feed (sections of the profile page) --------------------


def _profile(request: Request, ctx: Ctx, block: str, status_code: int = 200, **extra: Any):
    context = profile_context(request, ctx, **preferences_context(ctx, **extra))
    return render(request, "profile/page.html", context, block=block, status_code=status_code)


def _hour(text: str) -> int | None:
    return whole_number(text, maximum=10_000)


@router.post("/profile/notifications")
def save_preferences(request: Request, ctx: PageCtx, form: FormDep) -> Response:
    _ = gettext_for(request)
    kinds = [str(k) for k in form.getlist("kinds")]
    urgent = [str(k) for k in form.getlist("urgent_kinds")]
    values = {
        "version": str(form.get("version") or ""),
        "kinds": kinds,
        "urgent_kinds": urgent,
        "email_digest": form.get("email_digest") == "1",
        "digest_hour": str(form.get("digest_hour") or "")[:5],
        "time_zone": str(form.get("time_zone") or "")[:64],
        "due_soon_days": str(form.get("due_soon_days") or "")[:5],
        "muted": form.get("muted") == "1",
    }
    try:
        version = whole_number(values["version"])
        if version is None:
            raise Invalid(_("Reload the page and try again."))
        notifications.save_preferences(
            ctx,
            version=version,
            kinds_on=kinds,
            urgent_kinds=urgent,
            email_digest=values["email_digest"],
            digest_hour=_hour(values["digest_hour"]),
            time_zone=values["time_zone"],
            due_soon_days=_hour(values["due_soon_days"]),
            muted=values["muted"],
        )
    except ServiceError as exc:
        errors = field_errors(request, exc, PREFERENCE_FIELDS)
        return _profile(
            request,
            ctx,
            "notifications",
            form_status(exc),
            prefs_form=values,
            prefs_errors=errors,
        )
    return after_post(
        request,
        "/profile#notifications",
        _("Your notification preferences are saved."),
        lambda: _profile(request, ctx, "notifications"),
    )


@router.post("/profile/calendar")
def new_calendar_feed(request: Request, ctx: PageCtx) -> Response:
    """A new feed address, shown on this answer only (like a new API token)."""
    token = calendar_feed.create_token(ctx)
    url = f"{str(request.base_url).rstrip('/')}/calendar/{token}.ics"
    response = _profile(request, ctx, "calendar", new_calendar_url=url)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/profile/calendar/revoke")
def revoke_calendar_feed(request: Request, ctx: PageCtx) -> Response:
    _ = gettext_for(request)
    calendar_feed.revoke_token(ctx)
    return after_post(
        request,
        "/profile#calendar",
        _("Your calendar address is revoked: calendars that use it get nothing from now on."),
        lambda: _profile(request, ctx, "calendar"),
    )


@router.get("/calendar/{token}.ics")
def calendar(request: Request, ctx: AnonymousCtxDep, token: str) -> Response:
    """The feed itself: no session (calendar applications cannot sign in), the token is
    the key; an unknown or revoked one is a plain 404."""
    body = calendar_feed.feed(ctx, token, str(request.base_url))
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "private, max-age=300"},
    )


# --- administration: the ladder and the webhooks -----------------------------------------


def _admin(
    request: Request, ctx: Ctx, status_code: int = 200, block: str | None = None, **extra: Any
):
    require(can_manage_organisation(ctx.actor))
    ladder = escalation.ladder(ctx)
    context: dict[str, Any] = {
        "ladder": ladder,
        "ladder_rows": [*ladder.steps, *([{}] * (MAX_LADDER_STEPS - len(ladder.steps)))],
        "ladder_errors": {},
        "targets": escalation.TARGETS,
        "hooks": webhooks.hooks(ctx),
        "event_kinds": webhooks.EVENT_KINDS,
        "hook_form": {"url": "", "kinds": []},
        "hook_errors": {},
        "may_manage_organisation": True,
        "may_manage_board": True,
    }
    context.update(extra)
    return render(
        request, "notifications/admin.html", context, block=block, status_code=status_code
    )


@router.get("/admin/notifications")
def admin_page(request: Request, ctx: PageCtx) -> Response:
    return _admin(request, ctx)


@router.post("/admin/notifications/ladder")
def save_ladder(request: Request, ctx: PageCtx, form: FormDep) -> Response:
    _ = gettext_for(request)
    days, targets = form.getlist("days"), form.getlist("to")
    rows: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    for raw_days, to in zip(days, targets, strict=False):
        raw_days, to = str(raw_days).strip()[:5], str(to)[:20]
        rows.append({"days": raw_days, "to": to})
        if not raw_days and not to:
            continue  # an empty row of the form
        number = whole_number(raw_days, maximum=10_000)
        steps.append({"days": number if number is not None else -1, "to": to})
    try:
        version = whole_number(form.get("version"))
        if version is None:
            raise Invalid(_("Reload the page and try again."))
        escalation.save_ladder(ctx, version=version, steps=steps)
    except ServiceError as exc:
        errors = field_errors(request, exc, ())
        padded = [*rows, *([{}] * (MAX_LADDER_STEPS - len(rows)))][:MAX_LADDER_STEPS]
        return _admin(
            request,
            ctx,
            form_status(exc),
            "ladder",
            ladder_rows=padded,
            ladder_errors=errors,
        )
    return after_post(
        request,
        "/admin/notifications",
        _("The escalation ladder is saved."),
        lambda: _admin(request, ctx, block="ladder"),
    )


@router.post("/admin/notifications/webhooks")
def register_webhook(
    request: Request,
    ctx: PageCtx,
    form: FormDep,
    url: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    _ = gettext_for(request)
    kinds = [str(k) for k in form.getlist("kinds")]
    try:
        webhooks.register(ctx, url=url, kinds=kinds)
    except ServiceError as exc:
        errors = field_errors(request, exc, ("url", "kinds"))
        return _admin(
            request,
            ctx,
            form_status(exc),
            "webhooks",
            hook_form={"url": url, "kinds": kinds},
            hook_errors=errors,
        )
    return after_post(
        request,
        "/admin/notifications#webhooks",
        _("The webhook is registered. Give its secret to the receiving system."),
        lambda: _admin(request, ctx, block="webhooks"),
    )


@router.post("/admin/notifications/webhooks/{hook_id:int}/active")
def switch_webhook(
    request: Request,
    ctx: PageCtx,
    hook_id: int,
    version: Annotated[int, Form(ge=1)],
    active: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    _ = gettext_for(request)
    hook = next((v.hook for v in webhooks.hooks(ctx) if v.hook.id == hook_id), None)
    if hook is None:
        return RedirectResponse("/admin/notifications#webhooks", status_code=303)
    try:
        webhooks.update(
            ctx,
            hook_id,
            version=version,
            url=hook.url,
            kinds=hook.kinds.split(),
            active=active == "1",
        )
    except ServiceError as exc:
        errors = {"": [error_text(request, exc)]}
        return _admin(request, ctx, form_status(exc), "webhooks", hook_errors=errors)
    message = _("The webhook is on.") if active == "1" else _("The webhook is paused.")
    return after_post(
        request,
        "/admin/notifications#webhooks",
        message,
        lambda: _admin(request, ctx, block="webhooks"),
    )
