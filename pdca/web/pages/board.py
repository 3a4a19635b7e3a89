"""The cross-department action board: filters in the URL, cards that move in place."""

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from pdca import i18n
from pdca.engine.facts import N_
from pdca.models import ActionKind, Department, User
from pdca.services import actions, board_settings, cards, queries
from pdca.services.accounts import Signature
from pdca.services.board_query import parse_board_query
from pdca.services.context import Ctx
from pdca.services.errors import Invalid, ServiceError
from pdca.services.queries import ActionFilter
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.common import PageCtx, safe_next, set_flash, whole_number
from pdca.web.render import error_message, is_htmx, render, with_flash_oob

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)


def status_titles(_: Any) -> dict[str, str]:
    return {
        "open": _("Open"),
        "in_progress": _("In progress"),
        "done": _("Done, awaiting verification"),
        "verified": _("Verified"),
        "cancelled": _("Cancelled"),
    }


def kind_titles(_: Any) -> dict[str, str]:
    return {
        "containment": _("Containment"),
        "corrective": _("Corrective"),
        "preventive": _("Preventive"),
        "improvement": _("Improvement"),
        "standardisation": _("Standardisation"),
    }


def trigger_titles(_: Any) -> dict[str, str]:
    return {
        "start": _("Start"),
        "complete": _("Complete"),
        "verify": _("Verify"),
        "reopen": _("Reopen"),
        "cancel": _("Cancel"),
    }


def _board_filter(ctx: Ctx, form: dict[str, Any]) -> ActionFilter:
    """The form's choices (URL parameters), before the search text is applied."""
    department_ids: tuple[int, ...] = ()
    if form["dept"]:
        department_ids = tuple(
            ctx.session.exec(
                select(Department.id).where(col(Department.code).in_(form["dept"]))
            ).all()
        )  # type: ignore[arg-type]
        if not department_ids:
            raise Invalid(N_("No department has that code."), [f"dept={','.join(form['dept'])}"])
    owner_id = None
    if form["owner"] == "me":
        owner_id = ctx.actor_id
    elif whole_number(form["owner"]) is not None:
        owner_id = whole_number(form["owner"])
    return ActionFilter(
        department_ids=department_ids,
        owner_id=owner_id,
        cycle_id=whole_number(form["cycle"]),
        workflow=form["workflow"] or None,
        kind=tuple(form["kind"]),
        overdue=True if form["overdue"] else None,
        due_within_days=whole_number(form["due"], maximum=3650),
    )


def board_context(request: Request, ctx: Ctx, form: dict[str, Any]) -> dict[str, Any]:
    """Everything the board page and its #board block need: a fixed number of queries."""
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    query_error = None
    try:
        base = _board_filter(ctx, form)
        try:
            action_filter = parse_board_query(ctx, form["q"], base)
        except Invalid as exc:
            query_error, action_filter = exc, base
    except Invalid as exc:
        query_error, action_filter = exc, ActionFilter()
    board = queries.board(ctx, action_filter)
    departments = list(ctx.session.exec(select(Department).order_by(Department.code)))
    people = list(
        ctx.session.exec(select(User).where(User.active, User.role != "viewer").order_by(User.name))
    )
    settings = request.app.state.settings
    catalog = ctx.catalog

    def state_title(workflow: str, state: str) -> str:
        definition = catalog.definitions.get(workflow)
        if definition is None or state not in definition.states:
            return state
        titles = definition.states[state].titles
        return titles.get(lang) or titles["en"]

    moves = {
        row.action.id: cards.card_moves(ctx.actor, row)
        for lane in board.lanes
        for cell in lane.cells.values()
        for row in cell
    }
    return {
        "board": board,
        "form": form,
        "query_error": query_error,
        "departments": departments,
        "people": people,
        "lane_titles": {d.id: {"en": d.name, "zh_CN": d.name_zh or d.name} for d in departments},
        "limits": board_settings.wip_limits(ctx),
        "views": board_settings.saved_views(ctx),
        "moves": moves,
        "today": board.today,
        "state_title": state_title,
        "status_titles": status_titles(_),
        "kinds": kind_titles(_),
        "trigger_titles": trigger_titles(_),
        "workflows": catalog.definitions,
        "refresh_seconds": settings.board_refresh_seconds,
        "verified_days": queries.VERIFIED_SHOWN_DAYS,
        "card_limit": queries.BOARD_CARD_LIMIT,
        "age_amber": settings.card_age_amber_days,
        "age_red": settings.card_age_red_days,
        "return_to": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }


def _form_from_query(request: Request) -> dict[str, Any]:
    params = request.query_params
    return {
        "q": params.get("q", "")[:500],
        "dept": [d.upper() for d in params.getlist("dept") if d][:20],
        "owner": params.get("owner", ""),
        "kind": [k for k in params.getlist("kind") if k in ActionKind.__members__],
        "workflow": params.get("workflow", ""),
        "due": params.get("due", ""),
        "overdue": params.get("overdue", "") in ("1", "true", "on"),
        "cycle": params.get("cycle", ""),
    }


@router.get("/")
def home(ctx: PageCtx) -> Response:
    return RedirectResponse("/board", status_code=303)


@router.get("/board")
def board_page(request: Request, ctx: PageCtx) -> Response:
    context = board_context(request, ctx, _form_from_query(request))
    status = 422 if context["query_error"] else 200
    return render(request, "board/page.html", context, block="board", status_code=status)


def _back_to_board(
    request: Request, ctx: Ctx, return_to: str, error: ServiceError | None, message: str | None
) -> Response:
    """After a card action: the #board block for htmx, a redirect without JavaScript."""
    target = safe_next(return_to) if return_to.startswith("/board") else "/board"
    if is_htmx(request):
        # Re-render the board as the page shows it (same filters), with the outcome.
        query = target.partition("?")[2]
        request.scope["query_string"] = query.encode()
        context = board_context(request, ctx, _form_from_query(request))
        request.state.flash = (
            ("error", error_message(error, request.state.lang)) if error else ("ok", message)
        )
        response = render(
            request,
            "board/page.html",
            context,
            block="board",
            status_code=error.status_hint if error else 200,
        )
        response.headers["HX-Trigger"] = "pdca:board-changed"
        return with_flash_oob(request, response)
    response = RedirectResponse(target, status_code=303)
    set_flash(
        request,
        response,
        error_message(error, request.state.lang) if error else str(message),
        "error" if error else "ok",
    )
    return response


Version = Annotated[int, Form(ge=1)]
Note = Annotated[str, Form(max_length=2000)]


@router.post("/board/actions/{action_id}/{trigger}")
def move_card(
    request: Request,
    ctx: PageCtx,
    action_id: int,
    trigger: str,
    version: Version,
    note: Note = "",
    return_to: Annotated[str, Form(max_length=2000)] = "/board",
    effective: Annotated[str, Form(max_length=5)] = "1",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    try:
        if trigger == "verify":
            is_effective = effective == "1"
            meaning = "verified effective" if is_effective else "verified not effective"
            actions.verify_action(
                ctx,
                action_id,
                effective=is_effective,
                note=note or None,
                version=version,
                signature=Signature(meaning, password or None),
            )
        elif trigger in ("start", "complete", "reopen", "cancel"):
            actions.fire_action(ctx, action_id, trigger=trigger, version=version, note=note or None)
        else:
            raise Invalid(f"Unknown card action {trigger!r}.")
    except ServiceError as exc:
        return _back_to_board(request, ctx, return_to, exc, None)
    return _back_to_board(
        request,
        ctx,
        return_to,
        None,
        _("%(key)s: %(what)s") % {"key": f"A-{action_id}", "what": trigger_titles(_)[trigger]},
    )


@router.post("/board/actions/{action_id}/edit")
def edit_card(
    request: Request,
    ctx: PageCtx,
    action_id: int,
    version: Version,
    owner_id: Annotated[int | None, Form()] = None,
    deadline: Annotated[date | None, Form()] = None,
    note: Note = "",
    return_to: Annotated[str, Form(max_length=2000)] = "/board",
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    try:
        actions.update_action(
            ctx,
            action_id,
            version=version,
            changes={"owner_id": owner_id, "deadline": deadline},
            note=note or None,
        )
    except ServiceError as exc:
        return _back_to_board(request, ctx, return_to, exc, None)
    return _back_to_board(
        request, ctx, return_to, None, _("%(key)s saved.") % {"key": f"A-{action_id}"}
    )


@router.post("/board/views")
def save_view(
    request: Request,
    ctx: PageCtx,
    name: Annotated[str, Form(max_length=100)],
    query: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    response = RedirectResponse("/board?" + query if query else "/board", status_code=303)
    try:
        board_settings.save_view(ctx, name=name, query=query)
        set_flash(request, response, _("View saved."))
    except ServiceError as exc:
        set_flash(request, response, error_message(exc, request.state.lang), "error")
    return response


@router.post("/board/views/{view_id}/delete")
def delete_view(request: Request, ctx: PageCtx, view_id: int) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    response = RedirectResponse("/board", status_code=303)
    try:
        board_settings.delete_view(ctx, view_id)
        set_flash(request, response, _("View deleted."))
    except ServiceError as exc:
        set_flash(request, response, error_message(exc, request.state.lang), "error")
    return response


def board_url(**params: Any) -> str:
    return "/board?" + urlencode({k: v for k, v in params.items() if v}, doseq=True)
