"""The action page: everything about one action, and every move allowed on it now."""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from pdca import i18n
from pdca.models import CycleProblem, Department, Problem, User
from pdca.services import actions, comments, cycles, escalation, evidence, policy, queries
from pdca.services.accounts import Signature
from pdca.services.context import Ctx
from pdca.services.errors import Invalid, ServiceError
from pdca.services.keys import key, parse
from pdca.services.queries import EventFilter, Paging
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.board import kind_titles, status_titles, trigger_titles
from pdca.web.pages.common import PageCtx, set_flash
from pdca.web.render import render

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)
Version = Annotated[int, Form(ge=1)]
Note = Annotated[str, Form(max_length=2000)]
HISTORY_LIMIT = 300


def action_verbs(_: Any) -> dict[str, str]:
    return {
        "created": _("Created"),
        "field_changed": _("Changed"),
        "start": _("Started"),
        "complete": _("Completed"),
        "verify": _("Verified"),
        "reopen": _("Reopened"),
        "cancel": _("Cancelled"),
        "dependency_added": _("Now waits for"),
        "dependency_removed": _("No longer waits for"),
        "commented": _("Commented"),
        "evidence_added": _("Evidence attached"),
        "evidence_removed": _("Evidence deleted"),
        "escalated": _("Escalated (overdue)"),
    }


def action_fields(_: Any) -> dict[str, str]:
    return {
        "title": _("Title"),
        "description": _("Description"),
        "owner_id": _("Owner"),
        "department_id": _("Department"),
        "deadline": _("Deadline"),
        "kind": _("Kind"),
        "status": _("Status"),
    }


def signature_methods(_: Any) -> dict[str, str]:
    return {"password": _("password re-entered"), "token": _("signing token")}


def signature_meanings(_: Any) -> dict[str, str]:
    return {
        "verified effective": _("verified effective"),
        "verified not effective": _("verified not effective"),
        "approved closure": _("approved closure"),
    }


def action_context(
    request: Request,
    ctx: Ctx,
    action_id: int,
    *,
    problem: ServiceError | None = None,
    problem_at: str | None = None,
) -> dict[str, Any]:
    _ = i18n.translations(request.state.lang).gettext
    row = queries.action_row(ctx, action_id)
    action = row.action
    cycle = cycles.get_cycle(ctx, action.cycle_id)
    definition = cycles.definition_of(ctx, cycle)
    final = definition.states[cycle.state].final
    links = actions.dependency_links(ctx, [action_id])[action_id]
    options = actions.action_options(ctx, action_id)
    events = queries.list_events(
        ctx, Paging(HISTORY_LIMIT, 0, "-id"), EventFilter(entity_type="action", entity_id=action_id)
    ).items
    notes = comments.comments_on(ctx, "action", action_id)
    files = evidence.evidence_on(ctx, "action", action_id)
    manages = policy.can_manage_action(ctx.actor, action, cycle) is None
    problem_ids = list(
        ctx.session.exec(select(CycleProblem.problem_id).where(CycleProblem.cycle_id == cycle.id))
    )
    linked = (
        list(ctx.session.exec(select(Problem).where(col(Problem.id).in_(problem_ids))))
        if problem_ids
        else []
    )
    # Names of everyone the page mentions, and the departments and owners the history
    # speaks of by id, each in one query.
    user_ids = {
        action.owner_id,
        action.verified_by_id,
        cycle.lead_id,
        *(e.actor_id for e in events),
        *(c.author_id for c in notes),
        *(int(e.from_value) for e in events if e.field == "owner_id" and _digits(e.from_value)),
        *(int(e.to_value) for e in events if e.field == "owner_id" and _digits(e.to_value)),
    }
    user_ids.discard(None)
    names = (
        dict(ctx.session.exec(select(User.id, User.name).where(col(User.id).in_(user_ids))).all())
        if user_ids
        else {}
    )
    departments = {d.id: d for d in ctx.session.exec(select(Department).order_by(Department.code))}
    verify_option = next((o for o in options if o[0] == "verify"), None)
    return {
        "action": action,
        "row": row,
        "cycle": cycle,
        "cycle_state_title": (
            definition.states[cycle.state].titles.get(request.state.lang)
            or definition.states[cycle.state].titles["en"]
        ),
        "final": final,
        "problems": linked,
        "links": links,
        "options": [o for o in options if o[0] != "verify"],
        "verify_option": verify_option,
        "events": events,
        "comments": notes,
        "files": files,
        "may_delete": {f.id: evidence.may_delete(ctx, f, manages) for f in files},
        "can_attach": policy.can_attach_evidence(ctx.actor) is None,
        "can_comment": policy.can_comment(ctx.actor) is None,
        "can_edit_dependencies": manages and not final,
        "names": names,
        "departments": departments,
        "status_titles": status_titles(_),
        "kinds": kind_titles(_),
        "triggers": trigger_titles(_),
        "verbs": action_verbs(_),
        "field_titles": action_fields(_),
        "methods": signature_methods(_),
        "meanings": signature_meanings(_),
        "today": ctx.today(),
        "overdue": row.is_overdue(ctx.today()),
        "escalated": _escalated(ctx, action_id, request.state.lang),
        "ladder_targets": {k: _(v) for k, v in escalation.TARGETS.items()},
        "problem": problem,
        "problem_at": problem_at,
    }


def _escalated(ctx: Ctx, action_id: int, lang: str) -> str:
    """Where the escalation ladder took the action ("escalated to the head of CS on …")."""
    step = escalation.latest_steps(ctx, [action_id]).get(action_id)
    return escalation.step_text(step, lang) if step else ""


def _digits(value: str | None) -> bool:
    return bool(value) and value.isascii() and value.isdigit()  # type: ignore[union-attr]


@router.get("/actions/{action_id:int}")
def action_page(request: Request, ctx: PageCtx, action_id: int) -> Response:
    return render(
        request, "actions/page.html", action_context(request, ctx, action_id), block="action_main"
    )


def after(
    request: Request,
    ctx: Ctx,
    action_id: int,
    message: str,
    error: ServiceError | None = None,
    where: str = "action_main",
) -> Response:
    """Success: 303 back to the page with a flash. A refusal: the page again, saying why
    next to the form that was used, with the refusal's status (403, 404, 409, 413, 422…)."""
    if error is None:
        response = RedirectResponse(f"/actions/{action_id}#{where}", status_code=303)
        set_flash(request, response, message)
        return response
    context = action_context(request, ctx, action_id, problem=error, problem_at=where)
    return render(
        request,
        "actions/page.html",
        context,
        block="action_main",
        status_code=error.status_hint,
    )


@router.post("/actions/{action_id:int}/transitions")
def fire(
    request: Request,
    ctx: PageCtx,
    action_id: int,
    trigger: Annotated[str, Form(max_length=20)],
    version: Version,
    note: Note = "",
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    try:
        action = actions.fire_action(
            ctx, action_id, trigger=trigger, version=version, note=note.strip() or None
        )
    except ServiceError as exc:
        return after(request, ctx, action_id, "", exc, "status")
    message = _("%(key)s: %(status)s.") % {
        "key": key("action", action_id),
        "status": status_titles(_)[action.status],
    }
    return after(request, ctx, action_id, message, where="status")


@router.post("/actions/{action_id:int}/verify")
def verify(
    request: Request,
    ctx: PageCtx,
    action_id: int,
    version: Version,
    effective: Annotated[str, Form(max_length=5)] = "1",
    note: Note = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    is_effective = effective != "0"
    meaning = "verified effective" if is_effective else "verified not effective"
    try:
        actions.verify_action(
            ctx,
            action_id,
            effective=is_effective,
            note=note.strip() or None,
            version=version,
            signature=Signature(meaning, password or None),
        )
    except ServiceError as exc:
        return after(request, ctx, action_id, "", exc, "verify")
    message = (
        _("%(key)s verified: effective.") if is_effective else _("%(key)s not effective: reopened.")
    ) % {"key": key("action", action_id)}
    return after(request, ctx, action_id, message, where="status")


@router.post("/actions/{action_id:int}/dependencies")
def add_dependency(
    request: Request,
    ctx: PageCtx,
    action_id: int,
    version: Version,
    depends_on: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    try:
        if not depends_on.strip():
            raise Invalid(_("Name the action it waits for, e.g. A-7."))
        other = parse(depends_on, "action")
        actions.add_dependency(ctx, action_id, other, version=version)
    except ServiceError as exc:
        return after(request, ctx, action_id, "", exc, "dependencies")
    message = _("%(key)s now waits for %(other)s.") % {
        "key": key("action", action_id),
        "other": key("action", other),
    }
    return after(request, ctx, action_id, message, where="dependencies")


@router.post("/actions/{action_id:int}/dependencies/{depends_on_id:int}/remove")
def remove_dependency(
    request: Request, ctx: PageCtx, action_id: int, depends_on_id: int, version: Version
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    try:
        actions.remove_dependency(ctx, action_id, depends_on_id, version=version)
    except ServiceError as exc:
        return after(request, ctx, action_id, "", exc, "dependencies")
    message = _("%(key)s no longer waits for %(other)s.") % {
        "key": key("action", action_id),
        "other": key("action", depends_on_id),
    }
    return after(request, ctx, action_id, message, where="dependencies")


@router.post("/actions/{action_id:int}/comments")
def comment(
    request: Request,
    ctx: PageCtx,
    action_id: int,
    body: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    try:
        comments.add_comment(ctx, "action", action_id, body)
    except ServiceError as exc:
        return after(request, ctx, action_id, "", exc, "comments")
    return after(request, ctx, action_id, _("Comment added."), where="comments")
