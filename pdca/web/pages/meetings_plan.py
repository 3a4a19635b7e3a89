"""Planning review meetings from the pages: a new series, a series changed, a one-off
meeting. Each form posts (303 on success) and, with htmx, swaps only itself; a refusal
draws the form again with 422 (409 for a stale version), every reason beside its field
and what was typed still in it.
"""

from datetime import date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select
from starlette.datastructures import FormData

from pdca import i18n
from pdca.models import Department, MeetingSeries, Role, User
from pdca.services import meetings, policy
from pdca.services.context import Ctx
from pdca.services.errors import ServiceError
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.common import FormDep, PageCtx, set_flash, whole_number
from pdca.web.render import error_text, is_htmx, reason_text, render
from pdca.web.zones import as_zone, reader_zone

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)
FORM_BLOCK = "plan_form"  # the block (and DOM id) htmx swaps
SERIES_TEXT = ("title", "weekday", "local_time", "time_zone", "interval_weeks")
SERIES_TEXT += ("duration_minutes", "chair_id", "quorum")
MEETING_TEXT = ("title", "day", "local_time", "time_zone", "chair_id", "quorum")
WHOLE = ("weekday", "interval_weeks", "duration_minutes", "chair_id", "quorum")
MANY = ("department_ids", "attendee_ids")
CHAIRS = (Role.head, Role.facilitator, Role.admin)


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """Every IANA zone, for the form's suggestions (read once per process)."""
    return tuple(sorted(available_timezones()))


def _choices(request: Request, ctx: Ctx) -> dict[str, Any]:
    """What the planning forms offer: departments, people, chairs, weekdays, zones."""
    departments = list(ctx.session.exec(select(Department).order_by(col(Department.code))))
    people = list(
        ctx.session.exec(
            select(User).where(User.active, User.role != Role.viewer).order_by(col(User.name))
        )
    )
    return {
        "departments": departments,
        "people": people,
        "chairs": [u for u in people if u.role in CHAIRS],
        "weekdays": i18n.weekday_names(request.state.lang),
        "zones": zone_names(),
    }


def _read(form: FormData, text_fields: tuple[str, ...], lang: str) -> tuple[dict, dict, dict]:
    """(what was typed, the values for the service, errors by field), shapes only: the
    service judges the rest. Nothing is guessed: a wrong number is an error, not a 0."""
    _ = i18n.translations(lang).gettext
    typed: dict[str, Any] = {name: str(form.get(name) or "").strip() for name in text_fields}
    for name in MANY:
        typed[name] = [str(v) for v in form.getlist(name)]
    values: dict[str, Any] = {k: v for k, v in typed.items() if k not in WHOLE and k not in MANY}
    errors: dict[str, str] = {}
    for name in WHOLE:
        if name not in typed:
            continue
        number = whole_number(typed[name])
        if number is None:
            errors[name] = (
                _("Choose the chair.") if name == "chair_id" else _("Enter a whole number.")
            )
        else:
            values[name] = number
    for name in MANY:
        ids = [whole_number(v) for v in typed[name]]
        if None in ids:
            errors[name] = _("Choose from the list.")
        values[name] = [i for i in ids if i is not None]
    return typed, values, errors


def _service_errors(exc: ServiceError, fields: tuple[str, ...], lang: str) -> dict[str, str]:
    """The service's refusal beside the fields its reasons name; the rest at the top."""
    errors: dict[str, str] = {}
    for reason in exc.reasons:
        field = reason.code if reason.code in fields else "form"
        errors[field] = " ".join(filter(None, [errors.get(field), reason_text(reason, lang)]))
    if not exc.reasons or exc.status_hint != 422:
        errors["form"] = error_text(exc, lang)
    return errors


def _form_status(exc: ServiceError) -> int:
    # 409 says the series changed meanwhile; any other refusal of what was typed is a 422
    # (an unknown chair or department id is the form's input, not a missing page).
    return 409 if exc.status_hint == 409 else 422


def _done(request: Request, target: str, message: str) -> Response:
    """Saved: 303 to where the result is; with htmx, the whole browser goes there."""
    if is_htmx(request):
        response: Response = Response(status_code=204, headers={"HX-Redirect": target})
    else:
        response = RedirectResponse(target, status_code=303)
    set_flash(request, response, message)
    return response


def _page(
    request: Request,
    ctx: Ctx,
    template: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        template,
        {**_choices(request, ctx), "errors": {}, **context},
        block=FORM_BLOCK,
        status_code=status_code,
    )


# --- series -----------------------------------------------------------------------------


def _series_typed(series: MeetingSeries) -> dict[str, Any]:
    return {
        **{name: str(getattr(series, name)) for name in SERIES_TEXT},
        **{name: [str(i) for i in getattr(series, name)] for name in MANY},
    }


@router.get("/meeting-series/new")
def new_series_form(request: Request, ctx: PageCtx) -> Response:
    policy.require(policy.can_plan_meetings(ctx.actor))
    me = ctx.actor
    typed = {
        "title": "",
        "weekday": "0",
        "local_time": "10:00",
        "time_zone": reader_zone(request).key,
        "interval_weeks": "1",
        "duration_minutes": "60",
        "chair_id": str(me.id) if me and me.role in CHAIRS else "",
        "quorum": "1",
        "department_ids": [],
        "attendee_ids": [],
    }
    return _page(request, ctx, "meetings/series_form.html", {"typed": typed, "series": None})


@router.post("/meeting-series/new")
def create_series(request: Request, ctx: PageCtx, form: FormDep) -> Response:
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    policy.require(policy.can_plan_meetings(ctx.actor))
    typed, values, errors = _read(form, SERIES_TEXT, lang)
    status = 422
    if not errors:
        try:
            series = meetings.create_series(ctx, **values)
        except ServiceError as exc:
            if exc.status_hint == 403:
                raise
            errors, status = _service_errors(exc, (*SERIES_TEXT, *MANY), lang), _form_status(exc)
        else:
            message = _("The series “%(title)s” is planned: plan its first meeting below.")
            return _done(request, f"/meetings#series-{series.id}", message % values)
    context = {"typed": typed, "series": None, "errors": errors}
    return _page(request, ctx, "meetings/series_form.html", context, status)


@router.get("/meeting-series/{series_id:int}/edit")
def edit_series_form(request: Request, ctx: PageCtx, series_id: int) -> Response:
    series = meetings.get_series(ctx, series_id)
    policy.require(policy.can_edit_series(ctx.actor, series.chair_id))
    context = {"typed": _series_typed(series), "series": series, "version": series.version}
    return _page(request, ctx, "meetings/series_form.html", context)


@router.post("/meeting-series/{series_id:int}/edit")
def edit_series(request: Request, ctx: PageCtx, form: FormDep, series_id: int) -> Response:
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    series = meetings.get_series(ctx, series_id)
    policy.require(policy.can_edit_series(ctx.actor, series.chair_id))
    typed, values, errors = _read(form, SERIES_TEXT, lang)
    version = whole_number(form.get("version"))
    status = 422
    if version is None:
        errors["form"] = _("The form has no version: reload the page.")
    if not errors:
        try:
            meetings.update_series(ctx, series_id, version=version, changes=values)
        except ServiceError as exc:
            if exc.status_hint == 403:
                raise
            errors, status = _service_errors(exc, (*SERIES_TEXT, *MANY), lang), _form_status(exc)
        else:
            message = _("The series “%(title)s” is saved; meetings already planned keep theirs.")
            return _done(request, f"/meetings#series-{series_id}", message % values)
    context = {"typed": typed, "series": series, "version": version or "", "errors": errors}
    return _page(request, ctx, "meetings/series_form.html", context, status)


@router.post("/meeting-series/{series_id:int}/active")
def stop_or_resume_series(
    request: Request, ctx: PageCtx, form: FormDep, series_id: int
) -> Response:
    """Stop a series (no meeting of it can be planned any more) or resume it."""
    _ = i18n.translations(request.state.lang).gettext
    active = form.get("active") == "1"
    response = RedirectResponse(f"/meetings#series-{series_id}", status_code=303)
    try:
        series = meetings.update_series(
            ctx,
            series_id,
            version=whole_number(form.get("version")),
            changes={"active": active},
        )
    except ServiceError as exc:
        if exc.status_hint == 403:
            raise
        set_flash(request, response, error_text(exc, request.state.lang), "error")
        return response
    message = (
        _("The series “%(title)s” meets again: plan its next meeting.")
        if active
        else _("The series “%(title)s” is stopped; its past meetings and minutes stay.")
    )
    set_flash(request, response, message % {"title": series.title})
    return response


# --- a one-off meeting ---------------------------------------------------------------------


def _starts_at(values: dict[str, Any], lang: str) -> tuple[datetime | None, dict[str, str]]:
    """The day and local time typed, in the zone typed, as one moment (or why not)."""
    _ = i18n.translations(lang).gettext
    errors = {}
    try:
        day = date.fromisoformat(values.pop("day"))
    except ValueError:
        errors["day"] = _("Enter the day as YYYY-MM-DD.")
    try:
        at = time.fromisoformat(values.pop("local_time"))
    except ValueError:
        errors["local_time"] = _("Enter the time as HH:MM, e.g. 10:00.")
    tz = as_zone(values["time_zone"])
    if tz is None:
        errors["time_zone"] = _(
            "Unknown time zone %(zone)s; use an IANA name such as Asia/Shanghai or UTC."
        ) % {"zone": values["time_zone"]}
    if errors:
        return None, errors
    return datetime.combine(day, at.replace(tzinfo=None), tzinfo=tz), {}


@router.get("/meetings/new")
def new_meeting_form(request: Request, ctx: PageCtx) -> Response:
    policy.require(policy.can_plan_meetings(ctx.actor))
    me = ctx.actor
    tz = reader_zone(request)
    typed = {
        "title": "",
        "day": ctx.now().astimezone(tz).date().isoformat(),
        "local_time": "10:00",
        "time_zone": tz.key,
        "chair_id": str(me.id) if me and me.role in CHAIRS else "",
        "quorum": "1",
        "department_ids": [],
        "attendee_ids": [],
    }
    return _page(request, ctx, "meetings/meeting_form.html", {"typed": typed})


@router.post("/meetings/new")
def create_meeting(request: Request, ctx: PageCtx, form: FormDep) -> Response:
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    policy.require(policy.can_plan_meetings(ctx.actor))
    typed, values, errors = _read(form, MEETING_TEXT, lang)
    starts_at, time_errors = _starts_at(values, lang)
    errors |= time_errors
    status = 422
    if not errors and starts_at is not None:
        try:
            meeting = meetings.create_meeting(ctx, starts_at=starts_at, **values)
        except ServiceError as exc:
            if exc.status_hint == 403:
                raise
            fields = (*MEETING_TEXT, *MANY, "starts_at")
            errors, status = _service_errors(exc, fields, lang), _form_status(exc)
            if "starts_at" in errors:
                errors["day"] = errors.pop("starts_at")
        else:
            message = _("The meeting “%(title)s” is planned.") % {"title": meeting.title}
            return _done(request, f"/meetings/{meeting.id}", message)
    context = {"typed": typed, "errors": errors}
    return _page(request, ctx, "meetings/meeting_form.html", context, status)
