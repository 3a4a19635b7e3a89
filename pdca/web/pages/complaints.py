"""Complaint pages: the list, the intake form, CSV import, progress, and the taxonomy."""

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select
from starlette.datastructures import UploadFile

from pdca import i18n
from pdca.models import Complaint, ComplaintCategory, Department
from pdca.services import complaint_analysis, complaints, policy
from pdca.services.complaints import ComplaintFilter, ComplaintIn
from pdca.services.context import Ctx
from pdca.services.errors import Invalid, ServiceError
from pdca.web import charts
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.common import FormDep, PageCtx, set_flash, whole_number
from pdca.web.pages.problems import severity_titles
from pdca.web.render import error_message, reason_text, render

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
PAGE = 50
FIELDS = ("channel", "category", "severity", "customer_ref", "department", "text", "received_at")


def channel_titles(_: Any) -> dict[str, str]:
    return {
        "phone": _("Phone"),
        "email": _("E-mail"),
        "web": _("Web"),
        "in_person": _("In person"),
        "social_media": _("Social media"),
    }


def category_title(category: ComplaintCategory, lang: str) -> str:
    return (category.name_zh if lang == "zh_CN" and category.name_zh else category.name) or ""


def _context(request: Request, ctx: Ctx) -> dict[str, Any]:
    _ = i18n.translations(request.state.lang).gettext
    categories = complaints.categories(ctx)
    departments = list(ctx.session.exec(select(Department).order_by(Department.code)))
    lang = request.state.lang
    return {
        "categories": categories,
        "category_titles": {c.id: category_title(c, lang) for c in categories},
        "departments": departments,
        "department_titles": {
            d.id: (d.name_zh if lang == "zh_CN" and d.name_zh else d.name) for d in departments
        },
        "channels": channel_titles(_),
        "severities": severity_titles(_),
        "may_manage": policy.can_manage_feedback(ctx.actor) is None,
        "may_take": policy.can_take_complaints(ctx.actor) is None,
    }


def _list_page(
    request: Request,
    ctx: Ctx,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    import_errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    params = request.query_params
    category_id = whole_number(params.get("category"))
    unresolved = params.get("unresolved") == "1"
    page = whole_number(params.get("page"), maximum=100_000) or 1
    rows, total = complaints.find_complaints(
        ctx,
        ComplaintFilter(
            category_id=category_id,
            problem_id=whole_number(params.get("problem")),
            customer_ref=(params.get("customer") or "")[:100] or None,
            open_only=unresolved,
        ),
        limit=PAGE,
        offset=(page - 1) * PAGE,
    )
    context = _context(request, ctx)
    return render(
        request,
        "complaints/list.html",
        {
            **context,
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE)),
            "filter": {"category": category_id, "unresolved": unresolved},
            "form": form or _blank_form(context),
            "errors": errors or {},
            "import_errors": import_errors or [],
        },
        block="complaint_list",
        status_code=status_code,
    )


def _blank_form(context: dict[str, Any]) -> dict[str, str]:
    active = [c for c in context["categories"] if c.active]
    return {
        "channel": "phone",
        "category": active[0].code if active else "",
        "severity": "medium",
        "customer_ref": "",
        "department": "",
        "text": "",
        "received_at": "",
    }


@router.get("/complaints")
def complaints_page(request: Request, ctx: PageCtx) -> Response:
    return _list_page(request, ctx)


def _received_at(text: str) -> datetime:
    """A time typed in the form (the browser's datetime-local, read as UTC)."""
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@router.post("/complaints")
def receive(request: Request, ctx: PageCtx, data: FormDep) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    form = {name: str(data.get(name) or "").strip() for name in FIELDS}
    errors: dict[str, str] = {}
    received_at = None
    if form["received_at"]:
        try:
            received_at = _received_at(form["received_at"])
        except ValueError:
            errors["received_at"] = _("Give a date and time, e.g. 2026-11-25 09:30.")
    department_id = whole_number(form["department"]) if form["department"] else None
    if not errors:
        try:
            intake = complaints.receive(
                ctx,
                ComplaintIn(
                    channel=form["channel"],
                    category=form["category"],
                    text=form["text"],
                    severity=form["severity"],
                    received_at=received_at,
                    customer_ref=form["customer_ref"] or None,
                    department_id=department_id,
                ),
            )
        except ServiceError as exc:
            if exc.status_hint == 403:
                raise
            errors = _errors_by_field(exc, request.state.lang)
        else:
            complaint = intake.complaints[0]
            response = RedirectResponse("/complaints", status_code=303)
            if intake.problems_raised:
                message = _("Complaint received; it raised problem %(key)s.") % {
                    "key": f"P-{intake.problems_raised[0]}"
                }
            elif complaint.problem_id:
                message = _("Complaint received and added to problem %(key)s.") % {
                    "key": f"P-{complaint.problem_id}"
                }
            else:
                message = _("Complaint received.")
            set_flash(request, response, message)
            return response
    return _list_page(request, ctx, form=form, errors=errors, status_code=422)


def _errors_by_field(exc: ServiceError, lang: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    for reason in exc.reasons:
        name = reason.message.split(":", 1)[0].strip()
        name = "department" if name == "department_id" else name
        errors[name if name in FIELDS else "form"] = reason_text(reason, lang)
    return errors or {"form": error_message(exc, lang)}


@router.post("/complaints/import")
def import_csv(request: Request, ctx: PageCtx, form: FormDep) -> Response:
    """A CSV file of complaints: all or nothing, every bad line listed."""
    _ = i18n.translations(request.state.lang).gettext
    file = form.get("file")
    errors: list[str] = []
    status = 422
    if not isinstance(file, UploadFile) or not file.filename:
        errors.append(_("Choose a CSV file to upload."))
    else:
        data = file.file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            errors.append(_("The file is larger than 5 MB; split it."))
        else:
            try:
                result = complaints.receive_many(
                    ctx, complaints.rows_from_csv(data.decode("utf-8-sig"))
                )
            except UnicodeDecodeError:
                errors.append(_("The file is not UTF-8 text."))
            except Invalid as exc:
                errors = [reason_text(r, request.state.lang) for r in exc.reasons] or [exc.detail]
            except ServiceError as exc:
                if exc.status_hint == 403:
                    raise
                errors, status = [error_message(exc, request.state.lang)], exc.status_hint
            else:
                response = RedirectResponse("/complaints", status_code=303)
                set_flash(
                    request,
                    response,
                    _(
                        "Received %(count)s complaints; %(raised)s problems raised, "
                        "%(added)s added to open problems."
                    )
                    % {
                        "count": len(result.complaints),
                        "raised": len(result.problems_raised),
                        "added": result.occurrences_added,
                    },
                )
                return response
    return _list_page(request, ctx, import_errors=errors, status_code=status)


@router.post("/complaints/{complaint_id:int}/progress")
def progress(request: Request, ctx: PageCtx, data: FormDep, complaint_id: int) -> Response:
    """The buttons "answered now" and "resolved now" of a complaint's row."""
    _ = i18n.translations(request.state.lang).gettext
    step = str(data.get("step") or "")
    now = ctx.now()
    try:
        complaints.record_progress(
            ctx,
            complaint_id,
            version=whole_number(data.get("version")),
            first_response_at=now if step == "responded" else None,
            resolved_at=now if step == "resolved" else None,
        )
    except ServiceError as exc:
        if exc.status_hint in (403, 404):
            raise
        response = RedirectResponse("/complaints", status_code=303)
        set_flash(request, response, error_message(exc, request.state.lang), "error")
        return response
    response = RedirectResponse("/complaints", status_code=303)
    set_flash(
        request,
        response,
        _("First response recorded.") if step == "responded" else _("Resolution recorded."),
    )
    return response


# --- the taxonomy ------------------------------------------------------------------------

CATEGORY_FIELDS = ("code", "name", "name_zh", "threshold", "window_days", "severe_from")


def _categories_page(
    request: Request,
    ctx: Ctx,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = _context(request, ctx)
    return render(
        request,
        "complaints/categories.html",
        {
            **context,
            "form": form
            or {"code": "", "name": "", "name_zh": "", "threshold": "5", "window_days": "7"}
            | {"severe_from": "critical"},
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/complaints/categories")
def categories_page(request: Request, ctx: PageCtx) -> Response:
    return _categories_page(request, ctx)


def _category_values(form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in CATEGORY_FIELDS:
        if name not in form:
            continue
        if name in ("threshold", "window_days"):
            if not form[name]:
                continue  # the service's default
            number = whole_number(form[name])
            if number is None:
                errors[name] = f"{name}: {form[name]!r}"
            values[name] = number
        else:
            values[name] = form[name]
    return values, errors


def _category_errors(exc: ServiceError, lang: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    for reason in exc.reasons:
        name = reason.message.split(":", 1)[0].strip()
        errors[name if name in CATEGORY_FIELDS else "form"] = reason_text(reason, lang)
    return errors or {"form": error_message(exc, lang)}


@router.post("/complaints/categories")
def create_category(request: Request, ctx: PageCtx, data: FormDep) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    policy.require(policy.can_manage_feedback(ctx.actor))
    form = {name: str(data.get(name) or "").strip() for name in CATEGORY_FIELDS}
    values, errors = _category_values(form)
    if errors:
        errors = {k: _("Give a whole number.") for k in errors}
    else:
        try:
            category = complaints.create_category(ctx, **values)
        except ServiceError as exc:
            if exc.status_hint == 403:
                raise
            errors = _category_errors(exc, request.state.lang)
        else:
            response = RedirectResponse("/complaints/categories", status_code=303)
            set_flash(request, response, _("Category %(code)s added.") % {"code": category.code})
            return response
    return _categories_page(request, ctx, form=form, errors=errors, status_code=422)


@router.post("/complaints/categories/{category_id:int}")
def update_category(request: Request, ctx: PageCtx, data: FormDep, category_id: int) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    policy.require(policy.can_manage_feedback(ctx.actor))
    form = {name: str(data.get(name) or "").strip() for name in CATEGORY_FIELDS if name != "code"}
    values, errors = _category_values(form)
    values["active"] = data.get("active") == "1"
    response = RedirectResponse("/complaints/categories", status_code=303)
    if errors:
        set_flash(request, response, _("Give a whole number."), "error")
        return response
    try:
        category = complaints.update_category(
            ctx, category_id, version=whole_number(data.get("version")), changes=values
        )
    except ServiceError as exc:
        if exc.status_hint in (403, 404):
            raise
        set_flash(request, response, error_message(exc, request.state.lang), "error")
        return response
    set_flash(request, response, _("Category %(code)s saved.") % {"code": category.code})
    return response


def complaints_of_problem(ctx: Ctx, problem_id: int) -> list[Complaint]:
    return complaints.complaints_of_problem(ctx, problem_id)


# --- analysis ----------------------------------------------------------------------------------


def cause_titles(_: Any) -> dict[str, str]:
    return {
        "people": _("People"),
        "methods": _("Methods"),
        "machines": _("Machines and tools"),
        "materials": _("Materials and inputs"),
        "measurement": _("Measurement"),
        "environment": _("Environment"),
        "not_analysed": _("Not analysed yet"),
    }


@router.get("/complaints/analysis")
def analysis_page(request: Request, ctx: PageCtx, days: str = "90") -> Response:
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    window = whole_number(days) or 90
    window = window if window in (30, 90, 180, 365) else 90
    found = complaint_analysis.analyse(ctx, days=window)
    departments = {d.id: d for d in ctx.session.exec(select(Department))}
    names = {
        row.category_id: (row.name_zh if lang == "zh_CN" and row.name_zh else row.name)
        for row in found.categories
    }
    causes = cause_titles(_)
    return render(
        request,
        "complaints/analysis.html",
        {
            "a": found,
            "days": window,
            "timedelta_day": timedelta(days=1),
            "category_names": names,
            "causes": causes,
            "department_titles": {
                d.id: (d.name_zh if lang == "zh_CN" and d.name_zh else d.name)
                for d in departments.values()
            },
            "category_chart": charts.pareto(
                [(names[r.category_id], int(r.counts.current or 0)) for r in found.categories],
                label=_("Complaints by category"),
                lang=lang,
                empty=_("No complaint in this period."),
            ),
            "cause_chart": charts.pareto(
                [(causes[c], int(t.current or 0)) for c, t in found.root_causes],
                label=_("Complaints by root-cause category"),
                lang=lang,
                empty=_("No complaint in this period."),
            ),
        },
    )
