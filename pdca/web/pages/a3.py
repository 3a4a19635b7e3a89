"""The A3 report of a cycle: a printable page and the same sheet as a PDF."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from pdca import i18n
from pdca.services import a3, cycles
from pdca.services.a3 import A3
from pdca.services.context import Ctx
from pdca.services.keys import key
from pdca.web import charts, rootcause_svg, texts
from pdca.web.a3_pdf import a3_pdf
from pdca.web.a3_text import A3Text, a3_text
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.common import PageCtx
from pdca.web.pdf import find_font
from pdca.web.render import render

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)


def _report(ctx: Ctx, cycle_id: int, lang: str) -> tuple[A3, A3Text]:
    report = a3.a3(ctx, cycle_id)
    definition = cycles.definition_of(ctx, report.cycle)
    state = definition.states[report.cycle.state]
    text = a3_text(
        report,
        lang,
        definition.titles.get(lang) or definition.titles["en"],
        state.titles.get(lang) or state.titles["en"],
    )
    return report, text


def _kpi_chart(report: A3, lang: str, *, after: bool) -> str | None:
    """The KPI before the cycle (current condition) or all of it, with the points where
    the cycle opened and its last action was done ringed (effect check)."""
    if report.kpi is None:
        return None
    _ = i18n.translations(lang).gettext
    kpi = report.kpi.kpi
    opened = report.cycle.created_at
    points = report.points if after else [p for p in report.points if p[0] < opened]
    marks = []
    if after:
        for when in (opened, report.kpi.after_since):
            if when is not None:
                index = next((i for i, (t, _v) in enumerate(points) if t >= when), None)
                if index is not None:
                    marks.append(index)
    name = (kpi.name_zh or kpi.name) if lang == "zh_CN" else kpi.name
    label = (
        _("%(kpi)s before and after the change") if after else _("%(kpi)s before the cycle opened")
    ) % {"kpi": f"{kpi.code} {name}"}
    return charts.run_chart(
        points,
        target=kpi.target,
        warning=kpi.warning_limit,
        breach=kpi.breach_limit,
        unit=kpi.unit,
        label=label,
        lang=lang,
        bad_above=kpi.direction == "lower",
        marked=marks,
        empty=_("No data"),
    )


def _root_cause_pictures(report: A3, text: A3Text, lang: str) -> dict[str, str | None]:
    _ = i18n.translations(lang).gettext
    titles = [texts.problem_text(p, lang).title for p in report.problems]
    problem = "; ".join(
        f"{key('problem', p.id)} {title}"
        for p, title in zip(report.problems[:2], titles, strict=False)
    )
    effect = titles[0] if titles else report.cycle.title
    whys = (
        rootcause_svg.five_whys(
            problem or report.cycle.title,
            report.whys,
            report.cycle.root_cause or "",
            labels={
                "problem": _("Problem"),
                "why": text.why_label,
                "root": _("Root cause"),
                "label": _("5 whys"),
            },
            lang=lang,
        )
        if any(w.strip() for w in report.whys)
        else None
    )
    bone = (
        rootcause_svg.fishbone(
            effect,
            report.fishbone,
            titles=text.fishbone_titles,
            label=_("Fishbone (Ishikawa) diagram"),
            lang=lang,
        )
        if any(report.fishbone.values())
        else None
    )
    return {"whys": whys, "fishbone": bone}


def a3_context(request: Request, ctx: Ctx, cycle_id: int) -> dict[str, Any]:
    lang = request.state.lang
    report, text = _report(ctx, cycle_id, lang)
    return {
        "report": report,
        "text": text,
        "before_chart": _kpi_chart(report, lang, after=False),
        "after_chart": _kpi_chart(report, lang, after=True),
        **_root_cause_pictures(report, text, lang),
    }


@router.get("/cycles/{cycle_id}/a3")
def a3_page(request: Request, ctx: PageCtx, cycle_id: int) -> Response:
    return render(request, "reports/a3.html", a3_context(request, ctx, cycle_id))


@router.get("/cycles/{cycle_id}/a3.pdf")
def a3_download(request: Request, ctx: PageCtx, cycle_id: int) -> Response:
    report, text = _report(ctx, cycle_id, request.state.lang)
    body = a3_pdf(report, text, find_font(request.app.state.settings.pdf_font))
    name = f"pdca-A3-C-{cycle_id}-{ctx.now():%Y%m%d}.pdf"
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
