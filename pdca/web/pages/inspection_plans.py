"""Inspection plans (schedules, spot checks) and the audit programme grid.

Plain form posts (no JavaScript needed): a new plan posts and redirects; "make the due
inspections now" does what the job does. The programme is a read-only grid by
department and month, with a Pareto of the clauses that failed most.
"""

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select

from pdca import i18n
from pdca.models import Department, Role, User
from pdca.services import inspection_plans, inspection_programme, inspections, policy
from pdca.services.errors import ServiceError
from pdca.web import charts
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.common import FormDep, PageCtx, set_flash, whole_number
from pdca.web.render import error_text, reason_text, render

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)
FIELDS = (
    "title",
    "title_zh",
    "checklist_id",
    "frequency",
    "rrule",
    "starts_on",
    "ends_on",
    "inspector_role",
    "sample_size",
    "sample_source",
)


def frequency_titles(_: Any) -> dict[str, str]:
    return {
        "daily": _("Daily"),
        "weekly": _("Weekly"),
        "monthly": _("Monthly"),
        "quarterly": _("Quarterly"),
        "rrule": _("Custom rule (RRULE)"),
    }


def source_titles(_: Any) -> dict[str, str]:
    return {
        "closed_actions": _("Closed actions of the department"),
        "complaints": _("Complaints about the department"),
    }


def role_titles(_: Any) -> dict[str, str]:
    return {
        "facilitator": _("Facilitators"),
        "head": _("Department heads"),
        "member": _("Members"),
    }


def _reasons(exc: ServiceError, lang: str) -> list[str]:
    return [reason_text(r, lang) for r in exc.reasons] or [error_text(exc, lang)]


@router.get("/inspection-plans")
def plans_page(request: Request, ctx: PageCtx) -> Response:
    return _plans(request, ctx, {"frequency": "monthly", "starts_on": ctx.today().isoformat()}, [])


def _plans(
    request: Request,
    ctx: Any,
    form: dict[str, Any],
    errors: list[str],
    status_code: int = 200,
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    departments = list(ctx.session.exec(select(Department).order_by(Department.code)))
    people = list(
        ctx.session.exec(
            select(User).where(User.active, User.role != Role.viewer).order_by(User.name)
        )
    )
    templates = {t.id: t for t in inspections.list_templates(ctx)}
    return render(
        request,
        "inspections/plans.html",
        {
            "plans": inspection_plans.list_plans(ctx),
            "checklists": [t for t in templates.values() if t.active],
            "templates": templates,
            "departments": departments,
            "codes": {d.id: d.code for d in departments},
            "people": people,
            "names": {u.id: u.name for u in people},
            "frequencies": frequency_titles(_),
            "sources": source_titles(_),
            "roles": role_titles(_),
            "may_plan": policy.can_manage_checklists(ctx.actor) is None,
            "form": form,
            "errors": errors,
        },
        status_code=status_code,
    )


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.post("/inspection-plans")
def create_plan(request: Request, ctx: PageCtx, data: FormDep) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    form: dict[str, Any] = {k: str(data.get(k, "")).strip() for k in FIELDS}
    form["department_ids"] = [str(v) for v in data.getlist("department_ids")]
    form["inspector_ids"] = [str(v) for v in data.getlist("inspector_ids")]
    form["independent"] = data.get("independent") == "on"
    errors: list[str] = []
    starts_on, ends_on = _day(form["starts_on"]), _day(form["ends_on"])
    if starts_on is None or (form["ends_on"] and ends_on is None):
        errors.append(_("Give the dates as YYYY-MM-DD."))
    checklist_id = whole_number(form["checklist_id"])
    if checklist_id is None:
        errors.append(_("Choose a checklist."))
    size = whole_number(form["sample_size"] or "0", maximum=1000)
    if size is None:
        errors.append(_("Give the sample size as a whole number."))
    department_ids = [whole_number(v) for v in form["department_ids"]]
    inspector_ids = [whole_number(v) for v in form["inspector_ids"]]
    if None in department_ids or None in inspector_ids:
        errors.append(_("Choose departments and people from the lists."))
    if not errors:
        try:
            plan = inspection_plans.create_plan(
                ctx,
                title=form["title"],
                title_zh=form["title_zh"],
                checklist_id=checklist_id,  # type: ignore[arg-type]
                department_ids=department_ids,  # type: ignore[arg-type]
                frequency=form["frequency"],
                rrule=form["rrule"],
                starts_on=starts_on,  # type: ignore[arg-type]
                ends_on=ends_on,
                inspector_role=None if inspector_ids else form["inspector_role"] or None,
                inspector_ids=inspector_ids,  # type: ignore[arg-type]
                independent=form["independent"],
                sample_size=size or 0,
                sample_source=form["sample_source"] if size else None,
            )
        except ServiceError as exc:
            if exc.status_hint == 403:
                raise
            errors = _reasons(exc, request.state.lang)
        else:
            response = RedirectResponse("/inspection-plans", status_code=303)
            set_flash(request, response, _("Plan “%(title)s” saved.") % {"title": plan.title})
            return response
    return _plans(request, ctx, form, errors, status_code=422)


@router.post("/inspection-plans/{plan_id:int}/schedule")
def schedule_plan(request: Request, ctx: PageCtx, data: FormDep, plan_id: int) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    made = inspection_plans.schedule_plan(ctx, plan_id)
    response = RedirectResponse("/inspection-plans", status_code=303)
    set_flash(
        request,
        response,
        i18n.translations(request.state.lang).ngettext(
            "%(num)d inspection made.", "%(num)d inspections made.", made
        )
        % {"num": made},
    )
    return response


# --- the audit programme ------------------------------------------------------------------------


@router.get("/inspection-programme")
def programme_page(request: Request, ctx: PageCtx, year: str = "") -> Response:
    _ = i18n.translations(request.state.lang).gettext
    lang = request.state.lang
    chosen = whole_number(year, maximum=2100) if year else ctx.today().year
    if chosen is None or chosen < 2000:
        chosen = ctx.today().year
    grid = inspection_programme.programme(ctx, chosen)
    bars = inspection_programme.clause_pareto(ctx, chosen)
    return render(
        request,
        "inspections/programme.html",
        {
            "year": chosen,
            "grid": grid,
            "totals": grid.totals,
            "months": [i18n.format_date(date(chosen, m, 1), lang, "MMM") for m in range(1, 13)],
            "current_month": ctx.today().month if ctx.today().year == chosen else None,
            "bars": bars,
            "chart": charts.pareto(
                [(b.clause, b.failures) for b in bars],
                label=_("Failed items by clause"),
                lang=lang,
                empty=_("No item failed this year."),
            ),
        },
    )
