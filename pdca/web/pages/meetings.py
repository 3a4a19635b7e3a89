"""Meetings from the pages: the list, a meeting's page (attendance, agenda, free items),
meeting mode for the room's screen (decisions as ordinary forms), and the minutes.

Every form posts and answers 303 back to where it was used; a refusal renders the page
again with its status, the reason next to the form and what was typed still in it.
"""

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from pdca import i18n
from pdca.models import Department, Kpi, Meeting, MeetingItem, MeetingStatus, Role, User
from pdca.services import accounts, cycles, kpis, meetings, policy
from pdca.services import meetings_agenda as agenda
from pdca.services import meetings_decisions as decisions
from pdca.services import meetings_minutes as minutes
from pdca.services.context import Ctx
from pdca.services.errors import Invalid, NotFound, ServiceError
from pdca.services.keys import parse
from pdca.web import charts, zones
from pdca.web.deps import ReleasingRoute
from pdca.web.minutes_pdf import find_font, minutes_pdf
from pdca.web.minutes_text import (
    as_markdown,
    attendance_titles,
    decision_sentence,
    item_kind_titles,
    minutes_text,
)
from pdca.web.pages.board import kind_titles, status_titles
from pdca.web.pages.common import FormDep, PageCtx, set_flash, whole_number
from pdca.web.pages.problems import severity_titles
from pdca.web.render import error_message, is_htmx, render, with_flash_oob

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)
CHART_DAYS = 30


def reader_zone(request: Request, meeting: Meeting | None = None) -> ZoneInfo:
    """The reader's time zone (from their browser), else the meeting's."""
    return zones.reader_zone(request, meeting.time_zone if meeting else None)


def _local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    # Babel shows a naive time as it is: convert first, so 02:00 UTC reads 10:00 in Shanghai.
    return moment.astimezone(tz).replace(tzinfo=None) if moment else None


def status_names(_: Any) -> dict[str, str]:
    return {
        "planned": _("Planned"),
        "in_progress": _("In progress"),
        "ended": _("Ended, minutes to sign"),
        "signed": _("Minutes signed"),
    }


def decision_names(_: Any) -> dict[str, str]:
    return {
        "new_action": _("New action"),
        "reassign": _("Reassign"),
        "redate": _("New deadline"),
        "transition": _("Move the cycle"),
        "triage": _("Accept or reject"),
        "open_cycle": _("Open a cycle"),
        "note": _("Add a note"),
    }


def _departments(ctx: Ctx) -> dict[int, Department]:
    return {d.id: d for d in ctx.session.exec(select(Department).order_by(col(Department.code)))}  # type: ignore[misc]


def _people(ctx: Ctx) -> list[User]:
    query = select(User).where(User.active, User.role != Role.viewer).order_by(col(User.name))
    return list(ctx.session.exec(query))


@router.get("/meetings")
def meetings_page(request: Request, ctx: PageCtx) -> Response:
    tz = reader_zone(request)
    rows = meetings.list_meetings(ctx)
    series = meetings.list_series(ctx)
    chairs = {s.chair_id for s in series}
    names = (
        dict(ctx.session.exec(select(User.id, User.name).where(col(User.id).in_(chairs))).all())
        if chairs
        else {}
    )
    return render(
        request,
        "meetings/list.html",
        {
            "series": series,
            "meetings": rows,
            "local": lambda m: _local(m, tz),
            "zone_name": tz.key,
            "statuses": status_names(i18n.translations(request.state.lang).gettext),
            "weekdays": i18n.weekday_names(request.state.lang),
            "chair_names": names,
            "can_plan": policy.can_plan_meetings(ctx.actor) is None,
            "can_run": {
                s.id: policy.can_run_meeting(ctx.actor, s.chair_id) is None for s in series
            },
            "can_edit": {
                s.id: policy.can_edit_series(ctx.actor, s.chair_id) is None for s in series
            },
        },
    )


@router.post("/meeting-series/{series_id:int}/next")
def plan_next(request: Request, ctx: PageCtx, series_id: int) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    try:
        meeting = meetings.schedule_next(ctx, series_id)
    except ServiceError as exc:
        response = RedirectResponse("/meetings", status_code=303)
        set_flash(request, response, error_message(exc, request.state.lang), "error")
        return response
    response = RedirectResponse(f"/meetings/{meeting.id}", status_code=303)
    set_flash(request, response, _("The next meeting is planned."))
    return response


# --- a meeting's page ---------------------------------------------------------------


def meeting_context(
    request: Request,
    ctx: Ctx,
    meeting_id: int,
    *,
    problem: ServiceError | None = None,
    problem_at: str | None = None,
    typed: dict[str, str] | None = None,
) -> dict[str, Any]:
    _ = i18n.translations(request.state.lang).gettext
    lang = request.state.lang
    meeting = meetings.get_meeting(ctx, meeting_id)
    tz = reader_zone(request, meeting)
    items = agenda.items_of(ctx, meeting)
    made = decisions.decisions_of(ctx, meeting_id)
    decided: dict[int, list[Any]] = {}
    for d in made:
        decided.setdefault(d.item_id, []).append(d)
    departments = _departments(ctx)
    order = [d for d in (meeting.department_ids or list(departments)) if d in departments]
    groups = []
    for department_id in [*order, None]:
        mine = [i for i in items if i.department_id == department_id]
        if mine:
            groups.append((departments.get(department_id) if department_id else None, mine))
    people = _people(ctx)
    names = {u.id: u.name for u in people}
    present, met = meetings.quorum_of(ctx, meeting)
    catalog = request.app.state.catalog

    def day(text: str) -> str:
        return i18n.format_date(date.fromisoformat(text), lang, "medium")

    return {
        "meeting": meeting,
        "groups": groups,
        "items": items,
        "decided": decided,
        "decision_text": lambda d: decision_sentence(
            {"kind": d.kind, "params": d.params, "names": _decision_names(d, names)},
            lang,
            catalog,
            day,
        ),
        "attendees": meetings.attendees_of(ctx, meeting_id),
        "present": present,
        "quorum_met": met,
        "departments": departments,
        "people": people,
        "names": names,
        "local": lambda m: _local(m, tz),
        "zone_name": tz.key,
        "day": day,
        "statuses": status_names(_),
        "kinds": item_kind_titles(_),
        "decision_kinds": decision_names(_),
        "attendance": attendance_titles(_),
        "action_statuses": status_titles(_),
        "action_kinds": kind_titles(_),
        "severities": severity_titles(_),
        "can_run": policy.can_run_meeting(ctx.actor, meeting.chair_id) is None,
        "can_sign": policy.can_sign_minutes(ctx.actor, meeting.chair_id) is None,
        "can_add": policy.can_add_agenda_item(ctx.actor) is None,
        "problem": problem,
        "problem_at": problem_at,
        "typed": typed or {},
        "today": ctx.today(),
        "state_title": lambda workflow, state: _state_title(catalog, workflow, state, lang),
    }


def _decision_names(d: Any, names: dict[int | None, str]) -> dict[str, str | None]:
    keys = ("owner_id", "lead_id", *(("from", "to") if d.kind == "reassign" else ()))
    return {k: names.get(d.params.get(k)) for k in keys}


def _state_title(catalog: Any, workflow: str, state: str, lang: str) -> str:
    try:
        titles = catalog.current(workflow).states[state].titles
    except (KeyError, LookupError, ValueError):
        return state
    return str(titles.get(lang) or titles.get("en") or state)


@router.get("/meetings/{meeting_id:int}")
def meeting_page(request: Request, ctx: PageCtx, meeting_id: int) -> Response:
    return render(request, "meetings/page.html", meeting_context(request, ctx, meeting_id))


def _after(
    request: Request,
    ctx: Ctx,
    meeting_id: int,
    message: str,
    *,
    where: str,
    error: ServiceError | None = None,
    template: str = "meetings/page.html",
    back: str | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    if error is None:
        response = RedirectResponse(back or f"/meetings/{meeting_id}#{where}", status_code=303)
        set_flash(request, response, message)
        return response
    context = meeting_context(
        request, ctx, meeting_id, problem=error, problem_at=where, typed=typed
    )
    return render(request, template, context, status_code=error.status_hint)


def _version(form: Any) -> int | None:
    return whole_number(form.get("version"))


def _move(request: Request, ctx: Ctx, form: Any, meeting_id: int, step: str) -> Response:
    """prepare, start and end: the meeting's own moves."""
    _ = i18n.translations(request.state.lang).gettext
    moves = {"prepare": agenda.prepare, "start": agenda.start, "end": minutes.end}
    try:
        moves[step](ctx, meeting_id, version=_version(form))
    except ServiceError as exc:
        return _after(request, ctx, meeting_id, "", where="status", error=exc)
    messages = {
        "prepare": (_("The agenda is built from today's data."), f"/meetings/{meeting_id}#agenda"),
        "start": (_("The meeting has started."), f"/meetings/{meeting_id}/run"),
        "end": (
            _("The meeting has ended; its minutes are written."),
            f"/meetings/{meeting_id}/minutes",
        ),
    }
    message, back = messages[step]
    return _after(request, ctx, meeting_id, message, where="status", back=back)


@router.post("/meetings/{meeting_id:int}/prepare")
def prepare(request: Request, ctx: PageCtx, form: FormDep, meeting_id: int) -> Response:
    return _move(request, ctx, form, meeting_id, "prepare")


@router.post("/meetings/{meeting_id:int}/start")
def start(request: Request, ctx: PageCtx, form: FormDep, meeting_id: int) -> Response:
    return _move(request, ctx, form, meeting_id, "start")


@router.post("/meetings/{meeting_id:int}/end")
def end(request: Request, ctx: PageCtx, form: FormDep, meeting_id: int) -> Response:
    return _move(request, ctx, form, meeting_id, "end")


@router.post("/meetings/{meeting_id:int}/attendance")
def attendance(request: Request, ctx: PageCtx, form: FormDep, meeting_id: int) -> Response:
    return _attendance(request, ctx, form, meeting_id)


@router.post("/meetings/{meeting_id:int}/items")
def free_item(request: Request, ctx: PageCtx, form: FormDep, meeting_id: int) -> Response:
    return _free_item(request, ctx, form, meeting_id)


@router.post("/meetings/{meeting_id:int}/minutes/sign")
def sign(request: Request, ctx: PageCtx, form: FormDep, meeting_id: int) -> Response:
    return _sign(request, ctx, form, meeting_id)


def _swapped(
    request: Request, template: str, context: dict[str, Any], message: str, status: int = 200
) -> Response:
    """An htmx answer: the region that changed, and the flash out of band."""
    request.state.flash = ("ok" if status < 400 else "error", message)
    return with_flash_oob(request, render(request, template, context, status_code=status))


def _attendance(request: Request, ctx: Ctx, form: Any, meeting_id: int) -> Response:
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    statuses = {}
    for name, value in form.multi_items():
        if name.startswith("attendance-") and whole_number(name.removeprefix("attendance-")):
            statuses[int(name.removeprefix("attendance-"))] = str(value)
    back = str(form.get("back") or "")
    back = back if back in ("run", "page") else "page"
    template = "meetings/run.html" if back == "run" else "meetings/page.html"
    try:
        meetings.set_attendance(ctx, meeting_id, version=_version(form), statuses=statuses)
    except ServiceError as exc:
        if is_htmx(request):
            context = meeting_context(
                request, ctx, meeting_id, problem=exc, problem_at="attendance"
            )
            context["back"] = back
            message = error_message(exc, lang)
            return _swapped(
                request, "meetings/attendance_swapped.html", context, message, exc.status_hint
            )
        return _after(
            request, ctx, meeting_id, "", where="attendance", error=exc, template=template
        )
    if is_htmx(request):
        context = meeting_context(request, ctx, meeting_id) | {"back": back}
        return _swapped(
            request, "meetings/attendance_swapped.html", context, _("Attendance saved.")
        )
    url = f"/meetings/{meeting_id}/run#attendance" if back == "run" else None
    return _after(request, ctx, meeting_id, _("Attendance saved."), where="attendance", back=url)


def _free_item(request: Request, ctx: Ctx, form: Any, meeting_id: int) -> Response:
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    text = str(form.get("text") or "")
    department = whole_number(form.get("department_id"))
    try:
        meetings.add_free_item(ctx, meeting_id, text=text, department_id=department)
    except ServiceError as exc:
        if is_htmx(request):
            context = meeting_context(
                request, ctx, meeting_id, problem=exc, problem_at="add-item", typed={"text": text}
            )
            message = error_message(exc, lang)
            return _swapped(request, "meetings/_agenda.html", context, message, exc.status_hint)
        return _after(
            request, ctx, meeting_id, "", where="add-item", error=exc, typed={"text": text}
        )
    message = _("Your item is on the agenda.")
    if is_htmx(request):
        return _swapped(
            request, "meetings/_agenda.html", meeting_context(request, ctx, meeting_id), message
        )
    return _after(request, ctx, meeting_id, message, where="agenda")


# --- meeting mode -------------------------------------------------------------------


def run_context(
    request: Request, ctx: Ctx, meeting_id: int, *, only_item: int | None = None, **kw: Any
) -> dict[str, Any]:
    """Meeting mode's context; `only_item` limits the per-item extras (steps a cycle may
    take, KPI charts) to the one item an htmx answer draws again."""
    context = meeting_context(request, ctx, meeting_id, **kw)
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    options: dict[int, Any] = {}
    kpi_charts: dict[int, str] = {}
    running = context["can_run"] and context["meeting"].status == MeetingStatus.in_progress
    for item in context["items"]:
        if only_item is not None and item.id != only_item:
            continue
        # The steps a cycle may take feed the decision forms: only those who run it see them.
        if running and item.entity_type == "cycle" and item.id not in context["decided"]:
            try:
                options[item.id] = cycles.available_transitions(ctx, item.entity_id)
            except ServiceError:
                options[item.id] = []
        kpi_id = item.entity_id if item.entity_type == "kpi" else item.facts.get("kpi_id")
        if kpi_id:
            kpi_charts[item.id] = _chart(ctx, kpi_id, lang, _("No data"))
    context |= {
        "transitions": options,
        "kpi_charts": kpi_charts,
        "cycle_of": {i.id: decisions.default_cycle_id(ctx, i) for i in context["items"]},
        "workflows": ctx.catalog.names(),
    }
    return context


def _chart(ctx: Ctx, kpi_id: int, lang: str, empty: str) -> str:
    kpi = ctx.session.get(Kpi, kpi_id)
    if kpi is None:
        return ""
    points = kpis.series(ctx, kpi_id, start=ctx.now() - timedelta(days=CHART_DAYS))
    name = (kpi.name_zh if lang == "zh_CN" else None) or kpi.name
    return charts.run_chart(
        [(p.at, p.value) for p in points],
        target=kpi.target,
        warning=kpi.warning_limit,
        breach=kpi.breach_limit,
        unit=kpi.unit,
        label=f"{kpi.code} {name}",
        lang=lang,
        bad_above=kpi.direction == "lower",
        empty=empty,
    )


@router.get("/meetings/{meeting_id:int}/run")
def run_page(request: Request, ctx: PageCtx, meeting_id: int) -> Response:
    return render(request, "meetings/run.html", run_context(request, ctx, meeting_id))


def _decision_from(form: Any) -> decisions.DecisionIn:
    """The decision form's fields, each checked for its shape (the service checks the rest)."""
    text = {k: str(v).strip() for k, v in form.items()}
    deadline = None
    if text.get("deadline"):
        try:
            deadline = date.fromisoformat(text["deadline"])
        except ValueError:
            raise Invalid(
                f"The deadline {text['deadline']!r} is not a date (YYYY-MM-DD)."
            ) from None
    cycle_id = parse(text["cycle"], "cycle") if text.get("cycle") else None
    return decisions.DecisionIn(
        kind=text.get("kind", ""),
        item_version=whole_number(text.get("item_version")),
        version=whole_number(text.get("version")),
        note=text.get("note") or None,
        cycle_id=cycle_id,
        title=text.get("title") or None,
        department_id=whole_number(text.get("department_id")),
        owner_id=whole_number(text.get("owner_id")),
        deadline=deadline,
        action_kind=text.get("action_kind") or "corrective",
        trigger=text.get("trigger") or None,
        password=str(form.get("password") or "") or None,
        triage=text.get("triage") or None,
        workflow=text.get("workflow") or "pdca",
        lead_id=whole_number(text.get("lead_id")),
    )


@router.post("/meetings/{meeting_id:int}/items/{item_id:int}/decide")
def decide(
    request: Request, ctx: PageCtx, form: FormDep, meeting_id: int, item_id: int
) -> Response:
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    typed = {k: str(v) for k, v in form.items() if k not in ("password", "csrf_token")}
    try:
        decisions.decide(ctx, meeting_id, item_id, _decision_from(form))
    except ServiceError as exc:
        refused = {"problem": exc, "problem_at": f"item-{item_id}", "typed": typed}
        if is_htmx(request):
            message = error_message(exc, lang)
            return _item_swapped(request, ctx, meeting_id, item_id, message, exc, typed)
        context = run_context(request, ctx, meeting_id, **refused)
        return render(request, "meetings/run.html", context, status_code=exc.status_hint)
    if is_htmx(request):
        return _item_swapped(request, ctx, meeting_id, item_id, _("Decision recorded."))
    following = _next_item(ctx, meeting_id, item_id)
    anchor = f"item-{following}" if following else "end"
    response = RedirectResponse(f"/meetings/{meeting_id}/run#{anchor}", status_code=303)
    set_flash(request, response, _("Decision recorded."))
    return response


def _item_swapped(
    request: Request,
    ctx: Ctx,
    meeting_id: int,
    item_id: int,
    message: str,
    error: ServiceError | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    """With htmx, a decision answers with its item only: its decisions now, or the refusal
    beside the form with what was typed; the item's link in the agenda is ticked too."""
    refused: dict[str, Any] = {}
    if error is not None:
        refused = {"problem": error, "problem_at": f"item-{item_id}", "typed": typed or {}}
    context = run_context(request, ctx, meeting_id, only_item=item_id, **refused)
    item = next((i for i in context["items"] if i.id == item_id), None)
    if item is None:
        raise NotFound(f"Agenda item {item_id} is not on {meetings.meeting_label(meeting_id)}.")
    context["item"] = item
    status = error.status_hint if error is not None else 200
    return _swapped(request, "meetings/item_swapped.html", context, message, status)


def _next_item(ctx: Ctx, meeting_id: int, item_id: int) -> int | None:
    items: list[MeetingItem] = agenda.items_of(ctx, meetings.get_meeting(ctx, meeting_id))
    ids = [i.id for i in items]
    at = ids.index(item_id) if item_id in ids else -1
    return ids[at + 1] if 0 <= at < len(ids) - 1 else None


# --- minutes --------------------------------------------------------------------------


def _minutes_text(request: Request, ctx: Ctx, meeting: Meeting, tz: ZoneInfo) -> Any:
    return minutes_text(
        meeting.minutes or {},
        request.state.lang,
        tz,
        request.app.state.catalog,
        minutes.signed_by(ctx, meeting),
    )


@router.get("/meetings/{meeting_id:int}/minutes")
def minutes_page(request: Request, ctx: PageCtx, meeting_id: int) -> Response:
    context = meeting_context(request, ctx, meeting_id)
    meeting = context["meeting"]
    tz = reader_zone(request, meeting)
    context["text"] = _minutes_text(request, ctx, meeting, tz) if meeting.minutes else None
    return render(request, "meetings/minutes.html", context)


def _sign(request: Request, ctx: Ctx, form: Any, meeting_id: int) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    signature = accounts.Signature(
        minutes.SIGNATURE_MEANING, str(form.get("password") or "") or None
    )
    try:
        minutes.sign(ctx, meeting_id, version=_version(form), signature=signature)
    except ServiceError as exc:
        context = meeting_context(request, ctx, meeting_id, problem=exc, problem_at="sign")
        meeting = context["meeting"]
        context["text"] = _minutes_text(request, ctx, meeting, reader_zone(request, meeting))
        return render(request, "meetings/minutes.html", context, status_code=exc.status_hint)
    response = RedirectResponse(f"/meetings/{meeting_id}/minutes", status_code=303)
    set_flash(request, response, _("The minutes are signed; they can no longer change."))
    return response


@router.get("/meetings/{meeting_id:int}/minutes.{fmt:str}")
def minutes_download(request: Request, ctx: PageCtx, meeting_id: int, fmt: str) -> Response:
    meeting = meetings.get_meeting(ctx, meeting_id)
    if fmt not in ("md", "pdf") or meeting.minutes is None:
        return Response(status_code=404)
    # The reader's zone, as on the minutes page: a download says what the page said.
    text = _minutes_text(request, ctx, meeting, reader_zone(request, meeting))
    name = f"minutes-M-{meeting_id}.{fmt}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if fmt == "md":
        return Response(
            as_markdown(text), media_type="text/markdown; charset=utf-8", headers=disposition
        )
    pdf = minutes_pdf(text, find_font(request.app.state.settings.pdf_font))
    return Response(pdf, media_type="application/pdf", headers=disposition)
