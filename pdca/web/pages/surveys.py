"""Survey pages for the signed-in: the surveys and their results, making an invitation
link, and the quality dimensions questions are tagged with."""

import csv
import io
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select
from starlette.datastructures import UploadFile

from pdca import i18n
from pdca.models import Department
from pdca.services import gap_analysis, policy, surveys
from pdca.services.context import Ctx
from pdca.services.errors import Invalid, ServiceError
from pdca.web import report_charts
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.common import FormDep, PageCtx, set_flash, whole_number
from pdca.web.render import error_message, reason_text, render

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def _page(
    request: Request,
    ctx: Ctx,
    *,
    link: str | None = None,
    error: str | None = None,
    posted: dict[str, Any] | None = None,
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
            "posted": posted or {},
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


@router.post("/surveys")
def create_survey(request: Request, ctx: PageCtx, data: FormDep) -> Response:
    """A new survey with its first question; the other questions are added on its page."""
    _ = i18n.translations(request.state.lang).gettext
    posted = {k: str(data.get(k) or "").strip() for k in
              ("code", "title", "title_zh", "department", "q_en", "q_zh", "dimension")}  # fmt: skip
    try:
        survey = surveys.create_survey(
            ctx,
            code=posted["code"],
            title=posted["title"],
            title_zh=posted["title_zh"] or None,
            department_id=whole_number(posted["department"]) or 0,
            questions=[
                {
                    "key": "q1",
                    "kind": "rating",
                    "title": {"en": posted["q_en"], "zh_CN": posted["q_zh"]},
                    "dimension": posted["dimension"] or None,
                }
            ],
        )
    except ServiceError as exc:
        if exc.status_hint == 403:
            raise
        message = error_message(exc, request.state.lang)
        return _page(request, ctx, error=message, posted=posted, status_code=exc.status_hint)
    response = RedirectResponse(f"/surveys/{survey.id}/questions", status_code=303)
    set_flash(request, response, _("Survey %(code)s created.") % {"code": survey.code})
    return response


@router.post("/surveys/dimensions/{dimension_id:int}")
def change_dimension(request: Request, ctx: PageCtx, data: FormDep, dimension_id: int) -> Response:
    """Rename a dimension, or retire it (questions that have it keep it) or bring it back."""
    _ = i18n.translations(request.state.lang).gettext
    op = str(data.get("op") or "rename")
    if op == "rename":
        changes: dict[str, Any] = {
            "name": str(data.get("name") or ""),
            "name_zh": str(data.get("name_zh") or ""),
        }
    else:
        changes = {"active": op == "restore"}
    try:
        dimension = surveys.update_dimension(
            ctx, dimension_id, version=whole_number(data.get("version")), changes=changes
        )
    except ServiceError as exc:
        if exc.status_hint in (403, 404):
            raise
        message = error_message(exc, request.state.lang)
        return _page(request, ctx, error=message, status_code=exc.status_hint)
    response = RedirectResponse("/surveys#dims-title", status_code=303)
    done = {
        "rename": _("Dimension %(code)s saved."),
        "retire": _("Dimension %(code)s retired: questions that have it keep it."),
        "restore": _("Dimension %(code)s can be chosen again."),
    }
    set_flash(request, response, done.get(op, done["rename"]) % {"code": dimension.code})
    return response


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
    links: list[dict[str, Any]] | None = None,
    import_errors: list[str] | None = None,
    open_url: str | None = None,
    status_code: int = 200,
) -> Response:
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    survey = surveys.get_survey(ctx, survey_id)
    departments = list(ctx.session.exec(select(Department).order_by(Department.code)))
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
            "dimensions": surveys.dimensions(ctx),
            "may_manage": policy.can_manage_feedback(ctx.actor) is None,
            "may_invite": policy.can_take_complaints(ctx.actor) is None,
            "error": error,
            "links": links,
            "links_csv": _links_csv(links) if links else "",
            "import_errors": import_errors or [],
            "open_url": open_url,
            "department_codes": {d.id: d.code for d in departments},
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


def _links_csv(links: list[dict[str, Any]]) -> str:
    """The links as a CSV file in a data: URL, so they can be saved without JavaScript
    (the tokens are shown once: nothing keeps them)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["case_ref", "department", "channel", "url", "expires_at"])
    for link in links:
        writer.writerow([link["case_ref"] or "", link["department"], link["channel"] or "",
                         link["url"], link["expires_at"]])  # fmt: skip
    return "data:text/csv;charset=utf-8," + quote("\ufeff" + out.getvalue())


@router.post("/surveys/{survey_id:int}/invitations/import")
def import_invitations(request: Request, ctx: PageCtx, form: FormDep, survey_id: int) -> Response:
    """One-time links from a CSV file: all or nothing, every bad line listed; the links
    are shown once, in a table and as a file to save."""
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    file = form.get("file")
    errors: list[str] = []
    status = 422
    if not isinstance(file, UploadFile) or not file.filename:
        errors.append(_("Choose a CSV file to upload."))
    else:
        data = file.file.read(MAX_UPLOAD_BYTES + 1)
        try:
            if len(data) > MAX_UPLOAD_BYTES:
                errors.append(_("The file is larger than 2 MB; split it."))
            else:
                made = surveys.invite_many(
                    ctx, survey_id, surveys.invitations_from_csv(data.decode("utf-8-sig"))
                )
        except UnicodeDecodeError:
            errors.append(_("The file is not UTF-8 text."))
        except Invalid as exc:
            errors = [reason_text(r, lang) for r in exc.reasons] or [error_message(exc, lang)]
        except ServiceError as exc:
            if exc.status_hint in (403, 404):
                raise
            errors, status = [error_message(exc, lang)], exc.status_hint
        if not errors:
            codes = {d.id: d.code for d in ctx.session.exec(select(Department))}
            base = str(request.base_url).rstrip("/")
            links = [
                {
                    "case_ref": m.invitation.case_ref,
                    "department": codes.get(m.invitation.department_id, ""),
                    "channel": m.invitation.channel,
                    "url": f"{base}/s/{m.token}",
                    "expires_at": m.invitation.expires_at.date().isoformat(),
                }
                for m in made
            ]
            return _editor(request, ctx, survey_id, links=links)
    return _editor(request, ctx, survey_id, import_errors=errors, status_code=status)


@router.post("/surveys/{survey_id:int}/open-link")
def switch_open_link(request: Request, ctx: PageCtx, data: FormDep, survey_id: int) -> Response:
    """Turn the anonymous link on (a new link, shown once; an old one stops working) or off."""
    _ = i18n.translations(request.state.lang).gettext
    if data.get("op") == "off":
        surveys.close_open_link(ctx, survey_id)
        response = RedirectResponse(f"/surveys/{survey_id}/questions#open-link", status_code=303)
        set_flash(request, response, _("The open link is off: it no longer opens the survey."))
        return response
    token = surveys.open_link(ctx, survey_id)
    url = str(request.base_url).rstrip("/") + f"/s/{token}"
    return _editor(request, ctx, survey_id, open_url=url)
