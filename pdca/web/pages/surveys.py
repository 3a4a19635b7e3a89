"""Survey pages for the signed-in: the surveys and their results, making an invitation
link, and the quality dimensions questions are tagged with."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select

from pdca import i18n
from pdca.models import Department
from pdca.services import policy, surveys
from pdca.services.context import Ctx
from pdca.services.errors import ServiceError
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
