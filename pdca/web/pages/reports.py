"""The improvement dashboard and the exports of every list page.

The dashboard's tables are built once (`dashboard_sheets`) and serve both the page,
which shows each beside its chart, and its CSV/XLSX export: the figures a manager
downloads are the figures on the screen.
"""

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import select

from pdca import i18n
from pdca.engine.facts import N_
from pdca.models import Department, ProblemSource
from pdca.services import reports
from pdca.services.context import Ctx
from pdca.services.errors import Invalid, NotFound, ServiceError
from pdca.services.keys import key
from pdca.services.queries import CycleFilter, KpiFilter
from pdca.web import charts, exports, report_charts, texts
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.board import board_filter
from pdca.web.pages.common import PageCtx
from pdca.web.pages.problems import problem_filter, source_titles
from pdca.web.render import error_text, render
from pdca.web.spreadsheets import Sheet
from pdca.web.zones import reader_zone

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)
FILTERS = ("since", "until", "dept", "workflow", "source")
ON_TIME_GOAL = 0.8  # below it, a department's bar is drawn in the warning colour


def age_titles(_: Any) -> dict[str, str]:
    return {
        "under_7": _("Under a week"),
        "7_to_30": _("1 week to 30 days"),
        "30_to_90": _("30 to 90 days"),
        "over_90": _("Over 90 days"),
    }


def lead_time_titles(_: Any) -> dict[str, str]:
    return {
        "problem_to_cycle": _("Problem raised → cycle opened"),
        "cycle_to_closure": _("Cycle opened → closed"),
        "action_to_done": _("Action created → done"),
        "done_to_verified": _("Action done → verified"),
    }


def outcome_titles(_: Any) -> dict[str, str]:
    return {
        "first_turn": _("Effective at the first turn"),
        "after_iterations": _("Effective after more turns"),
        "escalated": _("Escalated"),
        "not_effective": _("Closed otherwise (cancelled, not effective)"),
    }


# --- the filters -----------------------------------------------------------------------


def _departments(ctx: Ctx) -> list[Department]:
    return list(ctx.session.exec(select(Department).order_by(Department.code)))


def _day(text: str, label: str, _: Any) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(
            _("%(field)s must be a date written YYYY-MM-DD.") % {"field": label}
        ) from None


def _form(request: Request) -> dict[str, str]:
    params = request.query_params
    return {name: params.get(name, "").strip()[:50] for name in FILTERS}


def dashboard_filter(ctx: Ctx, form: dict[str, str], lang: str) -> reports.DashboardFilter:
    """The dashboard's filters from its form; a date or choice it cannot read is refused."""
    _ = i18n.translations(lang).gettext
    default_since, default_until = reports.default_period(ctx.today())
    since = _day(form["since"], _("From"), _) if form["since"] else default_since
    until = _day(form["until"], _("To"), _) if form["until"] else default_until
    department_id = None
    if form["dept"]:
        found = next((d for d in _departments(ctx) if d.code == form["dept"].upper()), None)
        if found is None:
            raise Invalid(_("No department has that code."))
        department_id = found.id
    if form["workflow"] and form["workflow"] not in ctx.catalog.definitions:
        raise Invalid(_("There is no such workflow."))
    if form["source"] and form["source"] not in ProblemSource.__members__:
        raise Invalid(_("There is no such problem source."))
    return reports.DashboardFilter(
        since=since,
        until=until,
        department_id=department_id,
        workflow=form["workflow"] or None,
        source=form["source"] or None,
    )


# --- the tables (page and export) and the charts ----------------------------------------


def _department_name(lang: str, code: str, name: str, name_zh: str | None) -> str:
    return f"{code} · {(name_zh or name) if lang == 'zh_CN' else name}"


def _kpi_name(lang: str, name: str, name_zh: str | None) -> str:
    return (name_zh or name) if lang == "zh_CN" else name


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def dashboard_sheets(board: reports.Dashboard, lang: str) -> dict[str, Sheet]:
    _ = i18n.translations(lang).gettext
    ages, leads, outcomes = age_titles(_), lead_time_titles(_), outcome_titles(_)
    ended = sum(board.outcomes.values())
    return {
        "weeks": Sheet(
            _("Problems raised and closed per week"),
            [(_("Week from"), "date"), (_("Raised"), "int"), (_("Closed"), "int")],
            [(w.start, w.raised, w.closed) for w in board.weeks],
        ),
        "ages": Sheet(
            _("Open problems by age"),
            [(_("Age"), "text"), (_("Open problems"), "int")],
            [(ages[name], n) for name, n in board.open_by_age.items()],
        ),
        "lead_times": Sheet(
            _("Lead times in days"),
            [
                (_("From → to"), "text"),
                (_("How many"), "int"),
                (_("Median (days)"), "float"),
                (_("90th percentile (days)"), "float"),
            ],
            [
                (
                    leads[t.name],
                    t.count,
                    None if t.median_days is None else round(t.median_days, 1),
                    None if t.p90_days is None else round(t.p90_days, 1),
                )
                for t in board.lead_times
            ],
        ),
        "on_time": Sheet(
            _("Actions done on time, by responsible department"),
            [
                (_("Department"), "text"),
                (_("Due in the period"), "int"),
                (_("Done on time"), "int"),
                (_("On-time rate"), "percent"),
            ],
            [
                (_department_name(lang, r.code, r.name, r.name_zh), r.due, r.on_time, r.rate)
                for r in board.on_time
            ],
        ),
        "outcomes": Sheet(
            _("Effectiveness of cycles"),
            [(_("Outcome"), "text"), (_("Cycles"), "int"), (_("Share"), "percent")],
            [(outcomes[name], n, _share(n, ended)) for name, n in board.outcomes.items()],
        ),
        "recurrences": Sheet(
            _("Recurrences after closure"),
            [
                (_("Problem"), "text"),
                (_("Title"), "text"),
                (_("Reported"), "datetime"),
                (_("After cycle"), "text"),
            ],
            [
                (
                    key("problem", r.problem_id),
                    texts.snapshot_title({"title": r.title, "generated": r.generated}, lang),
                    r.reported_at,
                    key("cycle", r.cycle_id),
                )
                for r in board.recurrences
            ],
        ),
        "top_kpis": Sheet(
            _("KPIs with the most occurrences"),
            [(_("KPI"), "text"), (_("Name"), "text"), (_("Occurrences"), "int")],
            [(k.code, _kpi_name(lang, k.name, k.name_zh), k.occurrences) for k in board.top_kpis],
        ),
        "costs": Sheet(
            _("Cost of poor quality (financial KPIs)"),
            [
                (_("KPI"), "text"),
                (_("Name"), "text"),
                (_("Unit"), "text"),
                (_("Target"), "float"),
                (_("Points"), "int"),
                (_("Off target"), "int"),
                (_("Mean"), "float"),
                (_("Beyond target, summed"), "float"),
            ],
            [
                (
                    c.code,
                    _kpi_name(lang, c.name, c.name_zh),
                    c.unit,
                    c.target,
                    c.points,
                    c.off_target,
                    None if c.mean is None else round(c.mean, 3),
                    round(c.cost, 3),
                )
                for c in board.costs
            ],
        ),
    }


def _pct(value: float | None, lang: str) -> str:
    return "—" if value is None else f"{i18n.format_number(round(100 * value), lang)} %"


def dashboard_charts(board: reports.Dashboard, lang: str) -> dict[str, str]:
    _ = i18n.translations(lang).gettext
    empty = _("No data in this period")
    fmt = lambda n: i18n.format_number(n, lang)  # noqa: E731
    days = _("%(n)s d")
    ages, leads, outcomes = age_titles(_), lead_time_titles(_), outcome_titles(_)
    ended = sum(board.outcomes.values())
    return {
        "weeks": report_charts.grouped_bars(
            [charts._day(w.start, lang) for w in board.weeks],
            [
                ("raised", _("Raised"), [w.raised for w in board.weeks]),
                ("closed", _("Closed"), [w.closed for w in board.weeks]),
            ],
            label=_("Problems raised and closed per week"),
            lang=lang,
            empty=empty,
        ),
        "ages": report_charts.grouped_bars(
            [ages[name] for name in board.open_by_age],
            [("", _("Open problems"), list(board.open_by_age.values()))],
            label=_("Open problems by age"),
            lang=lang,
            empty=_("No open problem"),
            height=220,
        ),
        "lead_times": report_charts.hbars(
            [
                (
                    leads[t.name],
                    t.median_days,
                    "—"
                    if t.median_days is None
                    else _("median %(median)s · 90th percentile %(p90)s")
                    % {
                        "median": days % {"n": fmt(round(t.median_days, 1))},
                        "p90": days % {"n": fmt(round(t.p90_days or 0, 1))},
                    },
                )
                for t in board.lead_times
            ],
            label=_("Median lead times in days"),
            lang=lang,
            empty=empty,
        ),
        "on_time": report_charts.hbars(
            [
                (
                    _department_name(lang, r.code, r.name, r.name_zh),
                    r.rate,
                    f"{_pct(r.rate, lang)} ({r.on_time}/{r.due})",
                )
                for r in board.on_time
            ],
            label=_("On-time rate of actions by responsible department"),
            lang=lang,
            empty=_("No action was due in this period"),
            maximum=1.0,
            css=lambda v: "low" if v < ON_TIME_GOAL else "",
        ),
        "outcomes": report_charts.hbars(
            [
                (outcomes[name], n, f"{fmt(n)} ({_pct(_share(n, ended), lang)})")
                for name, n in board.outcomes.items()
            ]
            if ended
            else [],
            label=_("Effectiveness of cycles"),
            lang=lang,
            empty=_("No cycle ended in this period"),
        ),
        "top_kpis": charts.pareto(
            [(k.code, k.occurrences) for k in board.top_kpis],
            label=_("KPIs with the most occurrences"),
            lang=lang,
            empty=_("No KPI rule fired in this period"),
        ),
        "costs": report_charts.hbars(
            [
                (
                    f"{c.code} · {_kpi_name(lang, c.name, c.name_zh)}",
                    c.cost,
                    f"{fmt(round(c.cost, 2))} {c.unit}".strip(),
                )
                for c in board.costs
            ],
            label=_("Cost of poor quality: beyond target, summed"),
            lang=lang,
            empty=_("No financial KPI has points in this period"),
        ),
    }


# --- the page and its export ------------------------------------------------------------


def _query(form: dict[str, str]) -> str:
    return urlencode([(k, v) for k, v in form.items() if v])


@router.get("/dashboard")
def dashboard_page(request: Request, ctx: PageCtx) -> Response:
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    form = _form(request)
    context: dict[str, Any] = {
        "form": form,
        "departments": _departments(ctx),
        "workflows": ctx.catalog.definitions,
        "sources": source_titles(_),
        "query": _query(form),
        "problem": None,
        "board": None,
    }
    try:
        found = dashboard_filter(ctx, form, lang)
    except ServiceError as exc:
        context["problem"] = error_text(exc, lang)
        return render(
            request, "reports/dashboard.html", context, block="dashboard", status_code=422
        )
    board = reports.dashboard(ctx, found)
    if not form["since"]:
        form["since"] = found.since.isoformat()
    if not form["until"]:
        form["until"] = found.until.isoformat()
    context |= {
        "board": board,
        "sheets": dashboard_sheets(board, lang),
        "charts": dashboard_charts(board, lang),
        "rates": {
            "effective": _pct(board.effective_rate, lang),
            "on_time": _pct(board.on_time_rate, lang),
        },
    }
    return render(request, "reports/dashboard.html", context, block="dashboard")


@router.get("/dashboard/export.{fmt}")
def dashboard_export(request: Request, ctx: PageCtx, fmt: str) -> Response:
    if fmt not in exports.FORMATS:
        raise NotFound(N_("There is no such export."))
    lang = request.state.lang
    board = reports.dashboard(ctx, dashboard_filter(ctx, _form(request), lang))
    name = f"pdca-dashboard-{board.filter.since:%Y%m%d}-{board.filter.until:%Y%m%d}"
    sheets = list(dashboard_sheets(board, lang).values())
    return exports.tables_download(sheets, fmt, name, reader_zone(request))


# --- exports of the list pages -----------------------------------------------------------


def _list_filters(request: Request, ctx: Ctx, name: str) -> Any:
    """The filters of the list page `name`, read from the URL exactly as that page reads them."""
    params = request.query_params
    if name == "problems":
        return problem_filter(request, ctx)
    if name == "actions":
        return board_filter(request, ctx)
    department = next(
        (d for d in _departments(ctx) if d.code == params.get("dept", "").upper()), None
    )
    department_id = department.id if department else None
    if name == "cycles":
        workflow = params.get("workflow", "")
        return CycleFilter(
            workflow=workflow if workflow in ctx.catalog.definitions else None,
            department_id=department_id,
        )
    return KpiFilter(department_id=department_id)


@router.get("/exports/{name}.{fmt}")
def list_export(request: Request, ctx: PageCtx, name: str, fmt: str) -> Response:
    """/exports/actions.xlsx?dept=IT: the list page's rows with the list page's filters."""
    if name not in exports.LISTS or fmt not in exports.FORMATS:
        raise NotFound(N_("There is no such export."))
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    titles = {
        "problems": _("Problems"),
        "cycles": _("Cycles"),
        "actions": _("Actions"),
        "measurements": _("KPI measurements"),
    }
    return exports.download(
        ctx,
        name,
        _list_filters(request, ctx, name),
        fmt,
        lang=lang,
        zone=reader_zone(request),
        title=titles[name],
    )
