"""Survey pages for the signed-in: the surveys and their results, making an invitation
link, and the quality dimensions questions are tagged with."""

from datetime import timedelta
from typing import Any

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
        scale_top=5,
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


def _choices_text(choices: list[dict[str, str]]) -> str:
    return "\n".join(
        c.get("en", "") + (f" | {c['zh_CN']}" if c.get("zh_CN") else "") for c in choices
    )


def _question_from(data: dict[str, Any]) -> dict[str, Any]:
    """A question as the editor's fields give it (choices: one a line, "English | 中文")."""
    choices = []
    for line in str(data.get("choices") or "").splitlines():
        en, _bar, zh = line.partition("|")
        if en.strip() or zh.strip():
            choices.append({"en": en.strip(), "zh_CN": zh.strip()})
    return {
        "kind": str(data.get("kind") or ""),
        "title": {
            "en": str(data.get("title_en") or "").strip(),
            "zh_CN": str(data.get("title_zh") or "").strip(),
        },
        "dimension": str(data.get("dimension") or "").strip() or None,
        "choices": choices,
        "gap": bool(data.get("gap")),
        "required": bool(data.get("required")),
    }


def _editor(
    request: Request,
    ctx: Ctx,
    survey_id: int,
    *,
    error: str | None = None,
    posted: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    survey = surveys.get_survey(ctx, survey_id)
    version = surveys.current_version(ctx, survey)
    questions = [
        {**q, "choices_text": _choices_text(q.get("choices") or [])} for q in version.questions
    ]
    if posted is not None and posted.get("key"):
        # What was typed into the question that could not be saved stays in its fields.
        questions = [
            {**q, **posted["question"], "choices_text": posted["choices_text"]}
            if q["key"] == posted["key"]
            else q
            for q in questions
        ]
    blank = {"kind": "rating", "title": {}, "dimension": None, "gap": False, "required": True}
    new = (
        {**posted["question"], "choices_text": posted["choices_text"]}
        if posted is not None and not posted.get("key")
        else {**blank, "choices_text": ""}
    )
    return render(
        request,
        "surveys/questions.html",
        {
            "survey": survey,
            "title": (survey.title_zh if lang == "zh_CN" else None) or survey.title,
            "version": version,
            "answered": surveys.answers_to(ctx, version),
            "questions": questions,
            "new": new,
            "kinds": {
                "rating": _("Rating, 1 to 5"),
                "nps": _("Recommendation, 0 to 10 (NPS)"),
                "choice": _("One choice"),
                "text": _("Free text"),
            },
            "dimensions": [d for d in surveys.dimensions(ctx) if d.active],
            "may_manage": policy.can_manage_feedback(ctx.actor) is None,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/surveys/{survey_id:int}/questions")
def questions_page(request: Request, ctx: PageCtx, survey_id: int) -> Response:
    return _editor(request, ctx, survey_id)


@router.post("/surveys/{survey_id:int}/questions")
def change_questions(request: Request, ctx: PageCtx, data: FormDep, survey_id: int) -> Response:
    """One change (add, save, move up or down, remove) through the service the API uses:
    in place while the version has no answers, else as a new version."""
    _ = i18n.translations(request.state.lang).gettext
    policy.require(policy.can_manage_feedback(ctx.actor))
    op = str(data.get("op") or "")
    key = str(data.get("key") or "") or None
    question = _question_from(data) if op in ("add", "save") else None
    try:
        survey = surveys.get_survey(ctx, survey_id)
        current = surveys.current_version(ctx, survey)
        changed = surveys.with_change(current.questions, op, key, question)
        saved = surveys.edit_questions(
            ctx, survey_id, version=whole_number(data.get("version")), questions=changed
        )
    except ServiceError as exc:
        if exc.status_hint in (403, 404):
            raise
        posted = (
            {"key": key if op == "save" else None, "question": question,
             "choices_text": str(data.get("choices") or "")}
            if question is not None
            else None
        )  # fmt: skip
        return _editor(
            request,
            ctx,
            survey_id,
            error=error_message(exc, request.state.lang),
            posted=posted,
            status_code=409 if exc.status_hint == 409 else 422,
        )
    response = RedirectResponse(f"/surveys/{survey_id}/questions", status_code=303)
    if saved.number != current.number:
        message = _(
            "Saved as version %(n)s: the answers already given keep the questions they answered."
        ) % {"n": saved.number}
    else:
        message = _("Saved.")
    set_flash(request, response, message)
    return response
