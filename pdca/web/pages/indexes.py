"""Composite index pages: one index with its run chart, its members' contributions and
the comparison with the previous period and the same period a year before."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import col, select

from pdca import i18n
from pdca.models import Department, Kpi, Problem
from pdca.services import indexes
from pdca.web import charts, index_charts
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.common import PageCtx
from pdca.web.pages.kpis import status_titles
from pdca.web.render import render
from pdca.web.texts import problem_text, trail_words

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)
SHOWN = {"day": 90, "week": 53, "month": 24}  # how many periods the run chart shows


def period_titles(_: Any) -> dict[str, str]:
    return {"day": _("Day"), "week": _("Week"), "month": _("Month")}


def method_titles(_: Any) -> dict[str, str]:
    return {
        "limits": _("Breach limit 0, target 100"),
        "linear": _("Linear between two values"),
        "pass_fail": _("Pass or fail"),
    }


def category_titles(_: Any) -> dict[str, str]:
    return {
        "prevention": _("Prevention"),
        "appraisal": _("Appraisal"),
        "internal_failure": _("Internal failure"),
        "external_failure": _("External failure"),
    }


@router.get("/indexes/{index_code}")
def index_page(
    request: Request, ctx: PageCtx, index_code: str, dept: str = "", period: str = ""
) -> Response:
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    definition = indexes.definition_of(index_code)
    period = period if period in SHOWN else definition.watch.period
    departments = list(ctx.session.exec(select(Department).order_by(Department.code)))
    department = next((d for d in departments if d.code == dept.upper()), None)
    scope = department.id if department else indexes.ALL
    rows = indexes.values(
        ctx, definition.code, period=period, department_id=scope or None, limit=SHOWN[period]
    )
    title = definition.title(lang)
    run = charts.run_chart(
        [(indexes._midnight(v.start), v.value) for v in rows],
        target=definition.watch.target,
        warning=definition.watch.warning_limit,
        breach=definition.watch.breach_limit,
        unit="",
        label=f"{title} · {period_titles(_)[period]}",
        lang=lang,
        bad_above=False,
        empty=_("No data"),
    )
    latest = rows[-1] if rows else None
    previous = year_ago = None
    if latest is not None:
        previous = indexes.value_at(
            ctx, definition.code, period, scope, indexes.previous(period, latest.start)
        )
        year_ago = indexes.value_at(
            ctx, definition.code, period, scope, indexes.year_before(period, latest.start)
        )
    # The KPIs each selector finds today (they share its weight).
    found: dict[str, list[str]] = {}
    for m in indexes.resolved(ctx, definition).members:
        if m.group:
            found.setdefault(m.group, []).append(m.kpi)
    codes = (
        {m["kpi"] for v in (latest, previous) if v for m in v.members}
        | {m.kpi for m in definition.members if not m.select}
        | {c for group in found.values() for c in group}
    )
    kpis = {k.code: k for k in ctx.session.exec(select(Kpi).where(col(Kpi.code).in_(codes)))}

    def name(kpi_code: str) -> str:
        kpi = kpis.get(kpi_code)
        return i18n.kpi_name(kpi, lang) if kpi else kpi_code

    members = []
    if latest is not None:
        before = {m["kpi"]: m for m in previous.members} if previous else {}
        for m in latest.members:
            was = before.get(m["kpi"])
            members.append(
                {
                    **m,
                    "name": name(m["kpi"]),
                    "kpi_id": kpis[m["kpi"]].id if m["kpi"] in kpis else None,
                    "unit": "%"
                    if definition.per_base
                    else (kpis[m["kpi"]].unit if m["kpi"] in kpis else ""),
                    "previous": was["contribution"] if was else None,
                    "change": m["contribution"] - (was["contribution"] if was else 0.0)
                    if previous
                    else None,
                }
            )
    if latest is not None:
        contributions = index_charts.waterfall(
            (_("Previous period"), previous.value) if previous else None,
            [
                (m["kpi"], m["change"] if previous else m["contribution"])
                for m in members
                if (m["change"] if previous else m["contribution"])
            ]
            or [(m["kpi"], 0.0) for m in members[:1]],
            (_("This period"), latest.value),
            label=_("Members' contributions") + f" · {definition.code}",
            lang=lang,
            empty=_("No data"),
        )
    else:
        contributions = ""
    problems = list(
        ctx.session.exec(
            select(Problem)
            .where(Problem.index_scope == indexes.scope_key(definition.code, scope))
            .order_by(col(Problem.reported_at).desc())
            .limit(20)
        )
    )
    weights = definition.weights()
    return render(
        request,
        "indexes/page.html",
        {
            "definition": definition,
            "title": title,
            "description": definition.description.get(lang) or definition.description.get("en"),
            "period": period,
            "periods": period_titles(_),
            "departments": departments,
            "dept": department.code if department else "",
            "latest": latest,
            "previous": previous,
            "year_ago": year_ago,
            "version": indexes.version_number(ctx, latest.version_id) if latest else None,
            "run": run,
            "contributions": contributions,
            "members": members,
            "definition_members": [
                {
                    "kpi": m.kpi,
                    "select": m.select,
                    "found": [
                        (c, kpis[c].id if c in kpis else None) for c in found.get(m.select, [])
                    ]
                    if m.select
                    else [],
                    "name": name(m.kpi) if m.kpi else "",
                    "kpi_id": kpis[m.kpi].id if m.kpi in kpis else None,
                    "weight": m.weight,
                    "share": weights[m.key],
                    "method": m.scoring.method,
                    "scoring": m.scoring,
                    "category": m.category,
                }
                for m in definition.members
            ],
            "methods": method_titles(_),
            "categories": category_titles(_),
            "statuses": status_titles(_),
            "problems": [(p, problem_text(p, lang)) for p in problems],
            "problem_statuses": trail_words(_)["statuses"],
        },
    )
