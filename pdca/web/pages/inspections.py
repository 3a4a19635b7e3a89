"""Inspection pages: checklists (staff), the list and planning, the form an inspector fills.

The form is a plain form post (works without JavaScript): "Save" keeps the answers and
returns to the form, "Submit" finishes it. htmx only saves a changed answer in place.
"""

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select

from pdca import i18n
from pdca.engine.facts import N_
from pdca.models import Department, Role, User
from pdca.services import inspection_reviews, inspections, policy
from pdca.services.errors import Invalid, ServiceError
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.common import FormDep, PageCtx, evidence_context, set_flash, whole_number
from pdca.web.pages.problems import severity_titles
from pdca.web.render import error_text, reason_text, render

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)


def status_titles(_: Any) -> dict[str, str]:
    return {
        "planned": _("Planned"),
        "in_progress": _("In progress"),
        "submitted": _("Submitted"),
        "acknowledged": _("Acknowledged"),
        "skipped": _("Skipped"),
    }


def kind_titles(_: Any) -> dict[str, str]:
    return {
        "yes_no": _("Yes or no"),
        "score": _("Score"),
        "number": _("Number"),
        "text": _("Text"),
    }


def _reasons(exc: ServiceError, lang: str) -> list[str]:
    return [reason_text(r, lang) for r in exc.reasons] or [error_text(exc, lang)]


# --- checklists ---------------------------------------------------------------------------------


@router.get("/checklists")
def checklists_page(request: Request, ctx: PageCtx) -> Response:
    return _checklists(request, ctx, {"code": "", "title": "", "title_zh": "", "body": ""}, [])


def _checklists(
    request: Request, ctx: Any, form: dict[str, str], errors: list[str], status_code: int = 200
) -> Response:
    return render(
        request,
        "inspections/checklists.html",
        {
            "templates": inspections.list_templates(ctx),
            "may_manage": policy.can_manage_checklists(ctx.actor) is None,
            "form": form,
            "errors": errors,
        },
        status_code=status_code,
    )


def _body_of(text: str, lang: str) -> tuple[Any, list[str]]:
    try:
        return json.loads(text), []
    except ValueError as exc:
        _ = i18n.translations(lang).gettext
        return None, [_("The checklist is not valid JSON: %(error)s") % {"error": str(exc)}]


@router.post("/checklists")
def create_checklist(request: Request, ctx: PageCtx, data: FormDep) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    form = {k: str(data.get(k, "")) for k in ("code", "title", "title_zh", "body")}
    body, errors = _body_of(form["body"], request.state.lang)
    if not errors:
        try:
            made = inspections.create_template(
                ctx, code=form["code"], title=form["title"], title_zh=form["title_zh"], body=body
            )
        except ServiceError as exc:
            if exc.status_hint == 403:
                raise
            errors = _reasons(exc, request.state.lang)
        else:
            response = RedirectResponse(f"/checklists/{made.id}", status_code=303)
            set_flash(request, response, _("Checklist %(code)s saved.") % {"code": made.code})
            return response
    return _checklists(request, ctx, form, errors, status_code=422)


@router.get("/checklists/{template_id:int}")
def checklist_page(request: Request, ctx: PageCtx, template_id: int) -> Response:
    template = inspections.get_template(ctx, template_id)
    body = inspections.current_body(ctx, template)
    return _checklist(request, ctx, template, json.dumps(body, ensure_ascii=False, indent=2), [])


def _checklist(
    request: Request, ctx: Any, template: Any, text: str, errors: list[str], status_code: int = 200
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    body = inspections.current_body(ctx, template)
    return render(
        request,
        "inspections/checklist.html",
        {
            "template": template,
            "sections": [
                (s["title"], inspections.checklist.items_of({"sections": [s]}))
                for s in body["sections"]
            ],
            "pass_score": body.get("pass_score", 80),
            "text": text,
            "errors": errors,
            "may_manage": policy.can_manage_checklists(ctx.actor) is None,
            "kinds": kind_titles(_),
            "severities": severity_titles(_),
        },
        status_code=status_code,
    )


@router.post("/checklists/{template_id:int}")
def revise_checklist(request: Request, ctx: PageCtx, data: FormDep, template_id: int) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    template = inspections.get_template(ctx, template_id)
    text = str(data.get("body", ""))
    body, errors = _body_of(text, request.state.lang)
    if not errors:
        try:
            template = inspections.revise_template(
                ctx, template_id, version=whole_number(data.get("version")), body=body
            )
        except ServiceError as exc:
            if exc.status_hint == 403:
                raise
            errors = _reasons(exc, request.state.lang)
        else:
            response = RedirectResponse(f"/checklists/{template_id}", status_code=303)
            set_flash(
                request,
                response,
                _("Checklist %(code)s is now at version %(number)s.")
                % {"code": template.code, "number": template.current_version},
            )
            return response
    return _checklist(request, ctx, template, text, errors, status_code=422)


# --- inspections: list and planning ------------------------------------------------------------


def _choices(ctx: Any) -> dict[str, Any]:
    return {
        "departments": list(ctx.session.exec(select(Department).order_by(Department.code))),
        "people": list(
            ctx.session.exec(
                select(User).where(User.active, User.role != Role.viewer).order_by(User.name)
            )
        ),
        "checklists": inspections.list_templates(ctx, active=True),
    }


@router.get("/inspections")
def inspections_page(request: Request, ctx: PageCtx) -> Response:
    return _inspections(request, ctx, {}, [])


def _inspections(
    request: Request, ctx: Any, form: dict[str, str], errors: list[str], status_code: int = 200
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    rows, _total = inspections.list_inspections(ctx)
    names = {u.id: u.name for u in ctx.session.exec(select(User))}
    codes = {d.id: d.code for d in ctx.session.exec(select(Department))}
    return render(
        request,
        "inspections/list.html",
        {
            "rows": rows,
            "names": names,
            "codes": codes,
            "today": ctx.today(),
            "overdue": {r.id for r in rows if inspections.is_overdue(r, ctx.today())},
            "statuses": status_titles(_),
            "may_plan": policy.can_manage_checklists(ctx.actor) is None,
            "form": form,
            "errors": errors,
            **_choices(ctx),
        },
        status_code=status_code,
    )


@router.post("/inspections")
def plan_inspection(request: Request, ctx: PageCtx, data: FormDep) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    form = {
        k: str(data.get(k, "")) for k in ("checklist_id", "department_id", "inspector_id", "due_on")
    }
    ids = {k: whole_number(form[k]) for k in ("checklist_id", "department_id", "inspector_id")}
    errors = (
        [_("Choose a checklist, a department and an inspector.")] if None in ids.values() else []
    )
    try:
        due = date.fromisoformat(form["due_on"])
    except ValueError:
        errors.append(_("Give the due date as YYYY-MM-DD."))
    if not errors:
        try:
            made = inspections.create_inspection(ctx, due_on=due, **ids)  # type: ignore[arg-type]
        except ServiceError as exc:
            if exc.status_hint == 403:
                raise
            errors = _reasons(exc, request.state.lang)
        else:
            response = RedirectResponse(f"/inspections/{made.id}", status_code=303)
            set_flash(request, response, _("Inspection I-%(id)s planned.") % {"id": made.id})
            return response
    return _inspections(request, ctx, form, errors, status_code=422)


# --- one inspection: the form, saving, submitting, acknowledging ----------------------------------


def _inspection(
    request: Request,
    ctx: Any,
    inspection_id: int,
    *,
    typed: dict[str, dict[str, str]] | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
    block: str | None = None,
    saved: bool = False,
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    sheet = inspections.sheet(ctx, inspection_id)
    found = sheet.inspection
    fills = policy.can_fill_inspection(ctx.actor, found.inspector_id) is None
    stored = found.answers or {}
    answers = {
        i.id: {
            "value": ""
            if stored.get(i.id, {}).get("value") is None
            else str(stored[i.id]["value"]),
            "note": stored.get(i.id, {}).get("note", ""),
        }
        for i in sheet.items
    }
    for item_id, given in (typed or {}).items():
        answers[item_id] = {**answers[item_id], **given}
    problems = {f.item_id: f for f in inspections.findings_of(ctx, inspection_id)}
    reviews = (
        inspection_reviews.reviews_of(ctx, inspection_id)
        if found.kind == inspection_reviews.KIND
        else None
    )
    mine = reviews.of(ctx.actor) if reviews is not None else None
    return render(
        request,
        "inspections/inspection.html",
        {
            "sheet": sheet,
            "inspection": found,
            "answers": answers,
            "judged": sheet.judged,
            "findings": problems,
            "editable": fills and found.status in inspections.UNFINISHED and reviews is None,
            "reviews": reviews,
            "my_review": mine
            if mine is not None and mine.score is None and found.status in inspections.UNFINISHED
            else None,
            "may_acknowledge": found.status == "submitted"
            and policy.can_acknowledge_inspection(ctx.actor, found.department_id) is None,
            "may_skip": found.status in inspections.UNFINISHED
            and policy.can_skip_inspection(ctx.actor, found.department_id) is None,
            "skipped_by": ctx.session.get(User, found.skipped_by_id)
            if found.skipped_by_id
            else None,
            "overdue": inspections.is_overdue(found, ctx.today()),
            "statuses": status_titles(_),
            "errors": errors or [],
            "saved": saved,
            "problem": None,
            "problem_at": None,
            "upload_url": f"/inspections/{inspection_id}/evidence",
            **evidence_context(ctx, "inspection", inspection_id, fills),
        },
        status_code=status_code,
        block=block,
    )


@router.get("/inspections/{inspection_id:int}")
def inspection_page(request: Request, ctx: PageCtx, inspection_id: int) -> Response:
    return _inspection(request, ctx, inspection_id)


def _typed(data: Any, items: list[Any]) -> dict[str, dict[str, str]]:
    """The answers as posted: only the items the form sent (a partial htmx save sends one)."""
    typed: dict[str, dict[str, str]] = {}
    for item in items:
        for prefix, name in (("a_", "value"), ("n_", "note")):
            if f"{prefix}{item.id}" in data:
                typed.setdefault(item.id, {})[name] = str(data.get(f"{prefix}{item.id}"))
    return typed


@router.post("/inspections/{inspection_id:int}")
def save_inspection(request: Request, ctx: PageCtx, data: FormDep, inspection_id: int) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    sheet = inspections.sheet(ctx, inspection_id)
    typed = _typed(data, sheet.items)
    submitting = data.get("do") == "submit"
    version = whole_number(data.get("version"))
    try:
        if submitting:
            inspections.submit(ctx, inspection_id, version=version, answers=typed)
        else:
            inspections.save_answers(ctx, inspection_id, answers=typed, version=version)
    except ServiceError as exc:
        if exc.status_hint == 403:
            raise
        return _inspection(
            request,
            ctx,
            inspection_id,
            typed=typed,
            errors=_reasons(exc, request.state.lang),
            status_code=exc.status_hint,
            block="save_status" if not submitting else None,
        )
    if not submitting and request.headers.get("HX-Request"):
        # Saved as they go: only the status line (with the new version) comes back.
        return _inspection(request, ctx, inspection_id, block="save_status", saved=True)
    response = RedirectResponse(
        f"/inspections/{inspection_id}" + ("" if submitting else "#answers"), status_code=303
    )
    set_flash(request, response, _("Inspection submitted.") if submitting else _("Answers saved."))
    return response


def _act(
    request: Request,
    ctx: PageCtx,
    inspection_id: int,
    act: Callable[[], object],
    *,
    done: str,
    anchor: str = "",
) -> Response:
    """Run one use case on the inspection: its page again with the reasons if refused
    (a 403 stays a 403), else back to the page with `done` as the confirmation."""
    try:
        act()
    except ServiceError as exc:
        if exc.status_hint == 403:
            raise
        return _inspection(
            request,
            ctx,
            inspection_id,
            errors=_reasons(exc, request.state.lang),
            status_code=exc.status_hint,
        )
    response = RedirectResponse(f"/inspections/{inspection_id}{anchor}", status_code=303)
    set_flash(request, response, done)
    return response


@router.post("/inspections/{inspection_id:int}/acknowledge")
def acknowledge(request: Request, ctx: PageCtx, data: FormDep, inspection_id: int) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    return _act(
        request,
        ctx,
        inspection_id,
        lambda: inspections.acknowledge(
            ctx,
            inspection_id,
            version=whole_number(data.get("version")),
            note=str(data.get("note", "")),
        ),
        done=_("Inspection acknowledged."),
    )


@router.post("/inspections/{inspection_id:int}/skip")
def skip(request: Request, ctx: PageCtx, data: FormDep, inspection_id: int) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    return _act(
        request,
        ctx,
        inspection_id,
        lambda: inspections.skip(
            ctx,
            inspection_id,
            version=whole_number(data.get("version")),
            reason=str(data.get("reason", "")),
        ),
        done=_("Inspection skipped."),
    )


@router.post("/inspections/{inspection_id:int}/review")
def review(request: Request, ctx: PageCtx, data: FormDep, inspection_id: int) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    raw = str(data.get("score", "")).strip().replace(",", ".")
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")

    def score() -> object:
        if value != value:  # not a number
            raise Invalid(N_("A score is from 0 to 100."))
        return inspection_reviews.score(
            ctx,
            inspection_id,
            value=value,
            comment=str(data.get("comment", "")),
            version=whole_number(data.get("version")),
        )

    return _act(
        request, ctx, inspection_id, score, done=_("Your score is recorded."), anchor="#reviews"
    )
