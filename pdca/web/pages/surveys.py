"""Survey pages for the signed-in: the surveys and their results, making an invitation
link, and the quality dimensions questions are tagged with."""

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select

from pdca import i18n
from pdca.models import Department
from pdca.services import gap_analysis, policy, surveys
from pdca.services.context import Ctx
from pdca.services.errors import ServiceError
from pdca.web import report_charts
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.common import FormDep, PageCtx, set_flash, whole_number
from pdca.web.render import error_message, render

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)


def _page(
    request: Request,
    ctx: Ctx,
    *,
    link: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    lang = request.state.lang
    found = surveys.surveys(ctx)
    departments = list(ctx.session.exec(select(Department).order_by(Department.code)))
    rows = []
    for survey in found:
        version = surveys.current_version(ctx, survey)
        rows.append(
            {
                "survey": survey,
                "title": (survey.title_zh if lang == "zh_CN" else None) or survey.title,
                "version": version.number,
                "questions": len(version.questions),
                "stats": surveys.stats(ctx, survey.id),  # type: ignore[arg-type]
            }
        )
    return render(
        request,
        "surveys/list.html",
        {
            "rows": rows,
            "dimensions": surveys.dimensions(ctx),
            "departments": departments,
            "department_titles": {
                d.id: (d.name_zh if lang == "zh_CN" and d.name_zh else d.name) for d in departments
            },
            "link": link,
            "error": error,
            "may_invite": policy.can_take_complaints(ctx.actor) is None,
            "may_manage": policy.can_manage_feedback(ctx.actor) is None,
        },
        status_code=status_code,
    )


@router.get("/surveys")
def surveys_page(request: Request, ctx: PageCtx) -> Response:
    return _page(request, ctx)


@router.post("/surveys/{survey_id:int}/invitations")
def invite(request: Request, ctx: PageCtx, data: FormDep, survey_id: int) -> Response:
    """Make a one-time link and show it once (it is not kept: only its digest is)."""
    department_id = whole_number(data.get("department")) if data.get("department") else None
    case_ref = str(data.get("case_ref") or "").strip() or None
    try:
        made = surveys.invite(ctx, survey_id, department_id=department_id, case_ref=case_ref)
    except ServiceError as exc:
        if exc.status_hint in (403, 404):
            raise
        return _page(request, ctx, error=error_message(exc, request.state.lang), status_code=422)
    link = str(request.base_url).rstrip("/") + f"/s/{made.token}"
    return _page(request, ctx, link=link)


@router.post("/surveys/dimensions")
def add_dimension(request: Request, ctx: PageCtx, data: FormDep) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    try:
        dimension = surveys.create_dimension(
            ctx,
            code=str(data.get("code") or ""),
            name=str(data.get("name") or ""),
            name_zh=str(data.get("name_zh") or "").strip() or None,
        )
    except ServiceError as exc:
        if exc.status_hint in (403, 404):
            raise
        return _page(request, ctx, error=error_message(exc, request.state.lang), status_code=422)
    response = RedirectResponse("/surveys", status_code=303)
    set_flash(request, response, _("Dimension %(code)s added.") % {"code": dimension.code})
    return response


@router.get("/surveys/gaps")
def gaps_page(
    request: Request,
    ctx: PageCtx,
    survey: str = "",
    dept: str = "",
    days: str = "365",
    by: str = "month",
) -> Response:
    """Expectation against perception per quality dimension (SERVQUAL's gap), over time
    and by department. Unknown filter values fall back to the defaults, as on every page."""
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    found_surveys = surveys.surveys(ctx)
    chosen = next((s for s in found_surveys if s.code == survey.strip().upper()), None)
    departments = list(ctx.session.exec(select(Department).order_by(Department.code)))
    department = next((d for d in departments if d.code == dept.strip().upper()), None)
    window = whole_number(days) or 365
    window = window if window in gap_analysis.WINDOWS else 365
    by = by if by in gap_analysis.GROUPINGS else "month"
    found = gap_analysis.analyse(
        ctx,
        days=window,
        by=by,
        survey_id=chosen.id if chosen else None,
        department_id=department.id if department else None,
    )
    names = {
        d.code: (d.name_zh if lang == "zh_CN" and d.name_zh else d.name) for d in found.dimensions
    }
    cells = [found.overall.get(d.code, gap_analysis.EMPTY) for d in found.dimensions]
    chart = report_charts.grouped_bars(
        [names[d.code] for d in found.dimensions],
        [
            ("expected", _("Expected"), [c.expected or 0.0 for c in cells]),
            ("perceived", _("Perceived"), [c.perceived or 0.0 for c in cells]),
        ],
        label=_("Expected and perceived service, by quality dimension (1–5)"),
        lang=lang,
        empty=_("No answer to a gap question in this period."),
    )
    return render(
        request,
        "surveys/gaps.html",
        {
            "g": found,
            "chart": chart,
            "dimension_names": names,
            "surveys": [
                (s.code, (s.title_zh if lang == "zh_CN" else None) or s.title)
                for s in found_surveys
            ],
            "survey_code": chosen.code if chosen else "",
            "departments": departments,
            "department_titles": {
                d.id: (d.name_zh if lang == "zh_CN" and d.name_zh else d.name) for d in departments
            },
            "dept": department.code if department else "",
            "days": window,
            "windows": gap_analysis.WINDOWS,
            "by": by,
            "timedelta_day": timedelta(days=1),
        },
    )
