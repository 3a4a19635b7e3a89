"""KPI pages: the balanced scorecard, one KPI with its charts, CSV upload, and the Pareto."""

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select
from starlette.datastructures import UploadFile  # what request.form() gives, not FastAPI's subclass

from pdca import i18n
from pdca.engine import detection
from pdca.models import Department, Kpi, Problem, User
from pdca.services import control_limits, indexes, kpis, policy, spc
from pdca.services.errors import Invalid, ServiceError
from pdca.web import charts
from pdca.web.a3_text import fishbone_titles
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.common import FormDep, PageCtx, set_flash, whole_number
from pdca.web.pages.problems import category_titles, source_titles
from pdca.web.render import error_message, reason_text, render
from pdca.web.texts import rule_explanations, rule_titles

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def perspective_titles(_: Any) -> dict[str, str]:
    return {
        "financial": _("Financial"),
        "customer": _("Customer"),
        "internal_process": _("Internal process"),
        "learning_growth": _("Learning and growth"),
    }


def status_titles(_: Any) -> dict[str, str]:
    return {
        "on_target": _("On target"),
        "off_target": _("Below target"),
        "warning": _("Warning"),
        "breach": _("Breach"),
        "no_data": _("No data"),
    }


@router.get("/kpis")
def scorecard_page(request: Request, ctx: PageCtx, dept: str = "") -> Response:
    _ = i18n.translations(request.state.lang).gettext
    departments = list(ctx.session.exec(select(Department).order_by(Department.code)))
    department = next((d for d in departments if d.code == dept.upper()), None)
    card = kpis.scorecard(ctx, department.id if department else None)
    index_lines = indexes.lines(ctx, department.id if department else None)
    codes = {d.id: d.code for d in departments}
    sparks = {
        line.kpi.id: charts.sparkline(line.trend, label=line.kpi.code)
        for lines in card.values()
        for line in lines
    }
    index_sparks = {
        line.definition.code: charts.sparkline(line.trend, label=line.definition.code)
        for line in index_lines
    }
    return render(
        request,
        "kpis/scorecard.html",
        {
            "card": card,
            "departments": departments,
            "dept": department.code if department else "",
            "codes": codes,
            "sparks": sparks,
            "index_lines": index_lines,
            "index_sparks": index_sparks,
            "periods": {"day": _("Day"), "week": _("Week"), "month": _("Month")},
            "perspectives": perspective_titles(_),
            "statuses": status_titles(_),
        },
        block="scorecard",
    )


def _period(
    points: list[detection.Point], start: datetime, end: datetime
) -> list[tuple[datetime, float]]:
    return [(p.at, p.value) for p in points if start <= p.at < end]


@router.get("/kpis/{kpi_id:int}")
def kpi_page(request: Request, ctx: PageCtx, kpi_id: int, days: int = 90) -> Response:
    return _kpi_page(request, ctx, kpi_id, days)


def _kpi_page(
    request: Request,
    ctx: Any,
    kpi_id: int,
    days: int = 90,
    status_code: int = 200,
    flash: tuple[str, str] | None = None,
) -> Response:
    if flash is not None:
        request.state.flash = flash
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    kpi = kpis.get_kpi(ctx, kpi_id)
    days = days if days in (30, 90, 180, 365) else 90
    now = ctx.now()
    year = kpis.series(ctx, kpi_id, now - timedelta(days=365 + days), None, limit=20_000)
    shown = [p for p in year if p.at >= now - timedelta(days=days)]
    name = kpi.name_zh if lang == "zh_CN" and kpi.name_zh else kpi.name
    run = charts.run_chart(
        [(p.at, p.value) for p in shown],
        target=kpi.target,
        warning=kpi.warning_limit,
        breach=kpi.breach_limit,
        unit=kpi.unit,
        label=f"{kpi.code} {name}",
        lang=lang,
        bad_above=kpi.direction == "lower",
        empty=_("No data"),
    )
    # The rules are judged on the history, then drawn for the window (issue 14).
    spc_view = spc.chart_data(ctx, kpi, now - timedelta(days=days))
    limits = spc_view.limits
    titles = rule_titles(_)
    control = moving_range = None
    first = spc_view.segments[0].limits
    if limits is not None and spc_view.window:
        window = [(p.at, p.value) for p in spc_view.window]
        excluded_word = _("Excluded from the baseline")
        control = charts.control_chart(
            window,
            centre=first.centre if first else limits.centre,
            sigma=first.sigma if first else limits.sigma,
            signals={i: [titles[r] for r in rs] for i, rs in spc_view.signals.items()},
            unit=kpi.unit,
            label=_("Control chart") + f" {kpi.code}",
            lang=lang,
            steps=[
                (seg.start, seg.limits.centre, seg.limits.sigma)
                for seg in spc_view.segments[1:]
                if seg.start is not None and seg.limits is not None
            ],
            step_label=_("New limits"),
            excluded={i: f"{excluded_word}: {why}" for i, why in spc_view.excluded.items()},
        )
        before = [(spc_view.before.at, spc_view.before.value)] if spc_view.before else []
        moving_range = charts.moving_range_chart(
            before + window,
            mr_bar=limits.mr_bar,
            unit=kpi.unit,
            label=_("Moving-range chart") + f" {kpi.code}",
            lang=lang,
        )
    start = now - timedelta(days=days)
    comparison = charts.period_comparison(
        _period(year, start, now),
        _period(year, start - timedelta(days=days), start),
        _period(year, start - timedelta(days=365), now - timedelta(days=365)),
        unit=kpi.unit,
        labels={
            "current": _("This period"),
            "previous": _("Previous period"),
            "year_ago": _("A year before"),
        },
        lang=lang,
    )
    problems = list(
        ctx.session.exec(
            select(Problem)
            .where(Problem.kpi_id == kpi_id)
            .order_by(col(Problem.reported_at).desc())
            .limit(50)
        )
    )
    latest = shown[-1] if shown else (year[-1] if year else None)
    return render(
        request,
        "kpis/detail.html",
        {
            "kpi": kpi,
            "name": name,
            "days": days,
            "run": run,
            "control": control,
            "moving_range": moving_range,
            "health": spc.health_of(ctx, kpi),
            "spc_rules": spc_view.rules,
            "explanations": rule_explanations(_),
            "interval_days": kpi.interval_hours / 24,
            "comparison": comparison,
            "limits": limits,
            "problems": problems,
            "latest": latest,
            "status": kpis.freshness(ctx, kpi, latest),
            "statuses": status_titles(_),
            "rules": rule_titles(_),
            "perspectives": perspective_titles(_),
            "can_record": kpis.can_record(ctx.actor, kpi) is None,
            "can_manage": policy.can_manage_kpi(ctx.actor, kpi.department_id) is None,
            "department": ctx.session.get(Department, kpi.department_id),
            **_phase_one(ctx, kpi),
        },
        status_code=status_code,
    )


def _phase_one(ctx: Any, kpi: Kpi) -> dict[str, Any]:
    """What the phase I card shows: the baseline's points, the limits, the proposals."""
    people = {u.id: u.name for u in ctx.session.exec(select(User))}
    steps = spc.steps_of(ctx, kpi)
    return {
        "baseline": spc.baseline_points(ctx, kpi),
        "computed": spc.computed_limits(ctx, kpi),
        "frozen": spc.control_limits_of(ctx, kpi) if spc.is_frozen(kpi) else None,
        "steps": steps,
        "proposals": control_limits.proposals(ctx, kpi),
        "people": people,
        "can_set_limits": policy.can_set_control_limits(ctx.actor) is None,
        "wants_spc": any(r in detection.SPC_RULES for r in kpi.rules),
    }


def _limits_decision(request: Request, ctx: Any, kpi_id: int, decide: Any, done: str) -> Response:
    """One phase I or recalculation decision: back to the card, or the page with why not."""
    try:
        decide()
    except ServiceError as exc:
        if exc.status_hint == 403:
            raise
        return _kpi_page(
            request,
            ctx,
            kpi_id,
            status_code=exc.status_hint,
            flash=("error", error_message(exc, request.state.lang)),
        )
    response = RedirectResponse(f"/kpis/{kpi_id}#phase-one", status_code=303)
    set_flash(request, response, done)
    return response


def _moment(text: Any) -> datetime:
    try:
        at = datetime.fromisoformat(str(text or ""))
    except ValueError as exc:
        raise Invalid("Choose a point of the baseline.") from exc
    if at.tzinfo is None:
        raise Invalid("Choose a point of the baseline.")
    return at


@router.post("/kpis/{kpi_id:int}/baseline/exclude")
def exclude_point(request: Request, ctx: PageCtx, kpi_id: int, form: FormDep) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    return _limits_decision(
        request,
        ctx,
        kpi_id,
        lambda: control_limits.exclude_point(
            ctx,
            kpi_id,
            _moment(form.get("at")),
            str(form.get("reason") or ""),
            version=whole_number(form.get("version")),
        ),
        _("The point is excluded from the baseline."),
    )


@router.post("/kpis/{kpi_id:int}/baseline/include")
def include_point(request: Request, ctx: PageCtx, kpi_id: int, form: FormDep) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    return _limits_decision(
        request,
        ctx,
        kpi_id,
        lambda: control_limits.include_point(
            ctx, kpi_id, _moment(form.get("at")), version=whole_number(form.get("version"))
        ),
        _("The point counts in the baseline again."),
    )


@router.post("/kpis/{kpi_id:int}/limits/freeze")
def freeze_limits(request: Request, ctx: PageCtx, kpi_id: int, form: FormDep) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    return _limits_decision(
        request,
        ctx,
        kpi_id,
        lambda: control_limits.freeze_limits(
            ctx, kpi_id, version=whole_number(form.get("version"))
        ),
        _("The control limits are frozen."),
    )


@router.post("/kpis/{kpi_id:int}/limits/unfreeze")
def unfreeze_limits(request: Request, ctx: PageCtx, kpi_id: int, form: FormDep) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    return _limits_decision(
        request,
        ctx,
        kpi_id,
        lambda: control_limits.unfreeze_limits(
            ctx, kpi_id, version=whole_number(form.get("version"))
        ),
        _("The control limits are unfrozen: the baseline sets them again."),
    )


@router.post("/kpis/{kpi_id:int}/limits/recalculate")
def recalculate_limits(request: Request, ctx: PageCtx, kpi_id: int, form: FormDep) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    return _limits_decision(
        request,
        ctx,
        kpi_id,
        lambda: control_limits.recalculate_limits(
            ctx,
            kpi_id,
            whole_number(form.get("cycle_id")) or 0,
            version=whole_number(form.get("version")),
        ),
        _("New control limits judge the points from the change on."),
    )


@router.post("/kpis/upload")
def upload(request: Request, ctx: PageCtx, form: FormDep) -> Response:
    """CSV upload (kpi,at,value): all or nothing; every bad line is listed."""
    _ = i18n.translations(request.state.lang).gettext
    file = form.get("file")
    back = str(form.get("back") or "/kpis")
    back = back if back.startswith("/kpis") else "/kpis"
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
                rows = kpis.rows_from_csv(data.decode("utf-8-sig"))
                result = kpis.ingest(ctx, rows)
            except UnicodeDecodeError:
                errors.append(_("The file is not UTF-8 text."))
            except Invalid as exc:
                errors = [reason_text(r, request.state.lang) for r in exc.reasons] or [exc.detail]
            except ServiceError as exc:  # not allowed to record, the database busy…
                errors, status = [exc.detail], exc.status_hint
            else:
                response = RedirectResponse(back, status_code=303)
                set_flash(
                    request,
                    response,
                    _(
                        "Stored %(stored)s points (%(dups)s were already there); %(raised)s problems "
                        "raised."
                    )
                    % {
                        "stored": result.stored,
                        "dups": result.duplicates,
                        "raised": len(result.problems_raised),
                    },
                )
                return response
    return render(
        request, "kpis/upload_errors.html", {"errors": errors, "back": back}, status_code=status
    )


@router.get("/problems-pareto")
def pareto_page(request: Request, ctx: PageCtx, by: str = "source", days: str = "365") -> Response:
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    by = by if by in kpis.PARETO_BY else "source"
    window = whole_number(days, maximum=3650) or 365
    titles = {
        "source": _("source"),
        "department": _("department"),
        "kpi": _("KPI"),
        "category": _("problem category"),
        "root_cause": _("root-cause category"),
    }
    # Stored values are codes: each bar says its category in the reader's words.
    words = {
        "source": source_titles(_),
        "category": category_titles(_),
        "root_cause": fishbone_titles(_),
    }.get(by, {})
    bars = sorted(
        (
            (words.get(label, label), n)
            for label, n in kpis.pareto(ctx, by, ctx.now() - timedelta(days=window))
        ),
        key=lambda bar: (-bar[1], bar[0]),  # ties in the reader's alphabet, as the chart
    )
    chart = charts.pareto(
        bars,
        label=_("Problems by %(what)s") % {"what": titles[by]},
        lang=lang,
        empty=_("No problem in this period."),
    )
    return render(
        request,
        "kpis/pareto.html",
        {"bars": bars, "chart": chart, "by": by, "days": window, "titles": titles},
    )


# --- defining and editing KPIs ------------------------------------------------------

KPI_FORM_FIELDS = (
    "code",
    "name",
    "name_zh",
    "unit",
    "department_id",
    "owner_id",
    "perspective",
    "direction",
    "target",
    "warning_limit",
    "breach_limit",
    "interval_hours",
    "warnings_in_a_row",
    "recovery_periods",
    "description",
)
NUMBERS = ("target", "warning_limit", "breach_limit")
WHOLE = ("department_id", "owner_id", "interval_hours", "warnings_in_a_row", "recovery_periods")


def _kpi_form_page(
    request: Request,
    ctx: Any,
    form: dict[str, Any],
    errors: dict[str, str],
    kpi: Kpi | None,
    status_code: int = 200,
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    departments = list(ctx.session.exec(select(Department).order_by(Department.code)))
    people = list(ctx.session.exec(select(User).where(User.active).order_by(User.name)))
    return render(
        request,
        "kpis/form.html",
        {
            "form": form,
            "errors": errors,
            "kpi": kpi,
            "departments": departments,
            "people": people,
            "perspectives": perspective_titles(_),
            "rules": rule_titles(_),
        },
        status_code=status_code,
    )


def _read_kpi_form(data: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(what was typed, the values for the service, errors by field)."""
    typed = {name: str(data.get(name, "")).strip() for name in KPI_FORM_FIELDS}
    typed["rules"] = [str(r) for r in data.getlist("rules")]
    values: dict[str, Any] = {"rules": typed["rules"]}
    errors: dict[str, str] = {}
    for name in KPI_FORM_FIELDS:
        text = typed[name]
        if name in NUMBERS:
            if not text:
                values[name] = None
                continue
            try:
                values[name] = float(text)
            except ValueError:
                errors[name] = f"{name}: {text!r} is not a number."
        elif name in WHOLE:
            values[name] = whole_number(text) if text else None
            if text and values[name] is None:
                errors[name] = f"{name}: {text!r} is not a whole number."
        else:
            values[name] = text if name == "unit" else (text or None)
    for name in ("interval_hours", "warnings_in_a_row", "recovery_periods"):
        if values.get(name) is None:
            values.pop(name, None)  # the service's defaults
    return typed, values, errors


def _errors_by_field(exc: ServiceError, lang: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    for reason in exc.reasons:
        name = reason.message.split(":", 1)[0].strip()
        field = "warning_limit" if name == "baseline" else name
        errors[field if field in (*KPI_FORM_FIELDS, "rules") else "form"] = reason_text(
            reason, lang
        )
    return errors or {"form": exc.detail}


@router.get("/kpis/new")
def new_kpi_form(request: Request, ctx: PageCtx) -> Response:
    # Heads define KPIs for their own department; members and viewers may not define any.
    policy.require(
        policy.can_manage_kpi(ctx.actor, ctx.actor.department_id or 0 if ctx.actor else 0)
    )
    form = {name: "" for name in KPI_FORM_FIELDS} | {
        "perspective": "customer",
        "direction": "higher",
        "interval_hours": "24",
        "warnings_in_a_row": "3",
        "recovery_periods": "7",
        "rules": ["limit_breach"],
        "department_id": str(ctx.actor.department_id or "") if ctx.actor else "",
    }
    return _kpi_form_page(request, ctx, form, {}, None)


@router.post("/kpis/new")
def create_kpi(request: Request, ctx: PageCtx, data: FormDep) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    typed, values, errors = _read_kpi_form(data)
    if not errors:
        try:
            kpi = kpis.create_kpi(ctx, **values)
        except ServiceError as exc:
            if exc.status_hint == 403:
                raise
            errors = _errors_by_field(exc, request.state.lang)
        else:
            response = RedirectResponse(f"/kpis/{kpi.id}", status_code=303)
            set_flash(request, response, _("KPI %(code)s defined.") % {"code": kpi.code})
            return response
    return _kpi_form_page(request, ctx, typed, errors, None, status_code=422)


@router.get("/kpis/{kpi_id:int}/edit")
def edit_kpi_form(request: Request, ctx: PageCtx, kpi_id: int) -> Response:
    kpi = kpis.get_kpi(ctx, kpi_id)
    policy.require(policy.can_manage_kpi(ctx.actor, kpi.department_id))
    form = {
        name: "" if getattr(kpi, name) is None else str(getattr(kpi, name))
        for name in KPI_FORM_FIELDS
    } | {"rules": list(kpi.rules)}
    return _kpi_form_page(request, ctx, form, {}, kpi)


@router.post("/kpis/{kpi_id:int}/edit")
def edit_kpi(request: Request, ctx: PageCtx, data: FormDep, kpi_id: int) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    kpi = kpis.get_kpi(ctx, kpi_id)
    typed, values, errors = _read_kpi_form(data)
    values.pop("code", None)
    if not errors:
        try:
            kpis.update_kpi(ctx, kpi_id, version=whole_number(data.get("version")), changes=values)
        except ServiceError as exc:
            if exc.status_hint == 403:
                raise
            errors = _errors_by_field(exc, request.state.lang)
        else:
            response = RedirectResponse(f"/kpis/{kpi_id}", status_code=303)
            set_flash(request, response, _("KPI %(code)s saved.") % {"code": kpi.code})
            return response
    return _kpi_form_page(request, ctx, typed, errors, kpi, status_code=422)
