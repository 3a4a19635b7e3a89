"""The cross-department action board: filters in the URL, cards that move in place."""

import re
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import col, select
from starlette.datastructures import QueryParams

from pdca import i18n
from pdca.engine.facts import N_
from pdca.models import Action, ActionKind, Department, User
from pdca.services import actions, board_settings, bulk, escalation, queries
from pdca.services.accounts import Signature
from pdca.services.board_query import parse_board_query
from pdca.services.context import Ctx
from pdca.services.errors import Invalid, NotFound, ServiceError
from pdca.services.queries import ActionFilter
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.board_cards import CardWords, card_view
from pdca.web.pages.common import FormDep, PageCtx, safe_next, set_flash, whole_number
from pdca.web.render import error_message, is_htmx, render, with_flash_oob
from pdca.web.texts import trigger_titles

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


def _state_titles(catalog: Any, lang: str) -> Callable[[str, str], str]:
    def state_title(workflow: str, state: str) -> str:
        definition = catalog.definitions.get(workflow)
        if definition is None or state not in definition.states:
            return state
        titles = definition.states[state].titles
        return str(titles.get(lang) or titles["en"])

    return state_title


def _filters(ctx: Ctx, form: dict[str, Any]) -> tuple[ActionFilter, Invalid | None]:
    """The board's filters from the form and the search text, and what could not be read."""
    try:
        base = _board_filter(ctx, form)
    except Invalid as exc:
        return ActionFilter(), exc
    try:
        return parse_board_query(ctx, form["q"], base), None
    except Invalid as exc:
        return base, exc


def board_filter(request: Request, ctx: Ctx) -> ActionFilter:
    """The board's filters from the URL (what its export reads); unreadable ones refused."""
    action_filter, error = _filters(ctx, _form_from_query(request))
    if error is not None:
        raise error
    return action_filter


def card_context(request: Request, ctx: Ctx, rows: list[queries.ActionRow]) -> dict[str, Any]:
    """What the card macro reads: a fixed cost per page, nothing per card but its moves."""
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    settings = request.app.state.settings
    words = CardWords(
        lang=lang,
        region=getattr(request.state, "fmt_locale", lang),
        today=ctx.today(),
        kinds=kind_titles(_),
        triggers=trigger_titles(_),
        state_title=_state_titles(ctx.catalog, lang),
        unassigned=_("Unassigned"),
        no_deadline=_("No deadline"),
        overdue=_("overdue"),
        due_soon=_("due soon"),
        age_amber=settings.card_age_amber_days,
        age_red=settings.card_age_red_days,
    )
    seen: dict[tuple[Any, ...], Any] = {}
    # Where the ladder took each overdue card: one query for the page, overdue cards only.
    today = ctx.today()
    late = [r.action.id for r in rows if r.is_overdue(today)]
    steps = {
        action_id: escalation.step_text(step, lang)
        for action_id, step in escalation.latest_steps(ctx, late).items()  # type: ignore[arg-type]
    }
    return {
        "cards": {
            row.action.id: card_view(ctx.actor, row, words, seen, steps.get(row.action.id, ""))
            for row in rows
        },
        "verify_word": _("Verify"),
        "select_word": _("Select"),
        "edit_word": _("Reassign or re-date"),
        "limits": board_settings.wip_limits(ctx),
    }


def _board_query_string(request: Request) -> str:
    """The board's filters as the URL has them (for "more" links and the way back)."""
    return urlencode(
        [(k, v) for k, v in request.query_params.multi_items() if k in BOARD_PARAMS], doseq=True
    )


BOARD_PARAMS = ("q", "dept", "owner", "kind", "workflow", "due", "overdue", "cycle")


def board_context(request: Request, ctx: Ctx, form: dict[str, Any]) -> dict[str, Any]:
    """Everything the board page and its #board block need: a fixed number of queries."""
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    action_filter, query_error = _filters(ctx, form)
    board = queries.board(
        ctx, action_filter, cell_limit=request.app.state.settings.board_cell_cards
    )
    departments = list(ctx.session.exec(select(Department).order_by(Department.code)))
    people = list(
        ctx.session.exec(select(User).where(User.active, User.role != "viewer").order_by(User.name))
    )
    rows = [row for lane in board.lanes for cell in lane.cells.values() for row in cell]
    return {
        **card_context(request, ctx, rows),
        "board": board,
        "form": form,
        "query_error": query_error,
        "departments": departments,
        "people": people,
        "lane_titles": {d.id: {"en": d.name, "zh_CN": d.name_zh or d.name} for d in departments},
        "views": board_settings.saved_views(ctx),
        "status_titles": status_titles(_),
        "kinds": kind_titles(_),
        "workflows": ctx.catalog.definitions,
        "refresh_seconds": request.app.state.settings.board_refresh_seconds,
        "verified_days": queries.VERIFIED_SHOWN_DAYS,
        "cell_query": _board_query_string(request),
        "return_to": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }


def _form_from_query(request: Request, params: QueryParams | None = None) -> dict[str, Any]:
    params = request.query_params if params is None else params
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


@router.get("/board")
def board_page(request: Request, ctx: PageCtx) -> Response:
    context = board_context(request, ctx, _form_from_query(request))
    status = 422 if context["query_error"] else 200
    return render(request, "board/page.html", context, block="board", status_code=status)


@router.get("/board/cell/{code}/{status}")
def board_cell(request: Request, ctx: PageCtx, code: str, status: str) -> Response:
    """The rest of one cell after a card: a fragment for htmx, a page of its own without."""
    department = ctx.session.exec(select(Department).where(Department.code == code.upper())).first()
    if department is None or status not in queries.BOARD_COLUMNS:
        raise NotFound(N_("There is no such cell on the board."))
    action_filter, query_error = _filters(ctx, _form_from_query(request))
    if query_error is not None:
        raise query_error
    after = _after_key(request.query_params.get("after", ""))
    page = queries.board_cell(
        ctx,
        action_filter,
        department.id,  # type: ignore[arg-type]
        status,
        after=after,
        limit=request.app.state.settings.board_cell_cards,
    )
    _ = i18n.translations(request.state.lang).gettext
    context = {
        **card_context(request, ctx, page.rows),
        "rows": page.rows,
        "rest": page.rest,
        "code": department.code,
        "status": status,
        "department": department,
        "status_titles": status_titles(_),
        "cell_query": _board_query_string(request),
        "back": "/board"
        + (f"?{_board_query_string(request)}" if _board_query_string(request) else ""),
    }
    return render(request, "board/cell.html", context, block="cell")


def _after_key(text: str) -> tuple[date | None, int] | None:
    """'2026-12-01,42' or 'none,42': the deadline and id of the last card shown."""
    deadline, _sep, ident = text.partition(",")
    number = whole_number(ident)
    if not text or number is None:
        return None
    if deadline == "none":
        return None, number
    try:
        return date.fromisoformat(deadline), number
    except ValueError:
        raise Invalid(
            N_("The position in the cell is not understood."), [f"after={text}"]
        ) from None


# --- moving cards: one card's worth of answer -----------------------------------------


def _board_filter_of(request: Request, ctx: Ctx, return_to: str) -> tuple[str, ActionFilter]:
    """The board the person is looking at, from the address they came from."""
    target = safe_next(return_to) if return_to.startswith("/board") else "/board"
    params = QueryParams(target.partition("?")[2])
    action_filter, _error = _filters(ctx, _form_from_query(request, params))
    return target, action_filter


def _after_card_change(
    request: Request,
    ctx: Ctx,
    action_id: int,
    return_to: str,
    error: ServiceError | None,
    message: str | None,
    before: tuple[int, str] | None,
    form_html: Markup | None = None,
) -> Response:
    """After a card changed (or was refused): only what changed, or a redirect without htmx.

    htmx gets out-of-band swaps: the card removed from its old cell and drawn in its
    new one (or redrawn where it is, with the refusal's reason in it), the counts of
    the two cells, their columns and the lane, and the flash. Nothing else is sent.
    """
    lang = request.state.lang
    text = error_message(error, lang) if error else str(message)
    target, action_filter = _board_filter_of(request, ctx, return_to)
    if not is_htmx(request):
        response = RedirectResponse(target, status_code=303)
        set_flash(request, response, text, "error" if error else "ok")
        return response
    ctx.session.expire_all()
    row = queries.board_row(ctx, action_filter, action_id)
    counts = queries.board_counts(ctx, action_filter)
    rows = [row] if row is not None else []
    context = {
        **card_context(request, ctx, rows),
        "row": row,
        "before": before,
        "departments": {d.id: d for d in ctx.session.exec(select(Department))},
        "counts": counts,
        "column_counts": {
            s: sum(n for (_d, status), n in counts.items() if status == s)
            for s in queries.BOARD_COLUMNS
        },
        "lane_counts": {
            d: sum(n for (department_id, _s), n in counts.items() if department_id == d)
            for d, _s in counts
        },
        "action_id": action_id,
        "touched": list(
            dict.fromkeys(
                cell
                for cell in (before, (row.action.department_id, row.action.status) if row else None)
                if cell is not None
            )
        ),
        "error": text if error else None,
        "form_html": form_html,
    }
    request.state.flash = ("error", text) if error else ("ok", text)
    response = render(
        request,
        "board/moved.html",
        context,
        status_code=error.status_hint if error else 200,
    )
    response.headers["HX-Trigger"] = "pdca:board-changed"
    return with_flash_oob(request, response)


Version = Annotated[int, Form(ge=1)]
Note = Annotated[str, Form(max_length=2000)]
ReturnTo = Annotated[str, Form(max_length=2000)]
MOVE = re.compile(r"^(\d{1,10}):(start|complete|reopen|cancel):(\d{1,10})$")


def _cell_of(ctx: Ctx, action_id: int) -> tuple[int, str] | None:
    """Where the card sits now (department, status), to take it out of there after a change."""
    current = ctx.session.get(Action, action_id)
    return (current.department_id, current.status) if current is not None else None


def _move(
    request: Request,
    ctx: Ctx,
    action_id: int,
    trigger: str,
    version: int,
    note: str,
    return_to: str,
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    before = _cell_of(ctx, action_id)
    try:
        actions.fire_action(ctx, action_id, trigger=trigger, version=version, note=note or None)
    except ServiceError as exc:
        return _after_card_change(request, ctx, action_id, return_to, exc, None, before)
    message = _("%(key)s: %(what)s") % {
        "key": f"A-{action_id}",
        "what": trigger_titles(_)[trigger],
    }
    return _after_card_change(request, ctx, action_id, return_to, None, message, before)


@router.post("/board/move")
def move_card(
    request: Request,
    ctx: PageCtx,
    move: Annotated[str, Form(max_length=40)],
    return_to: ReturnTo = "/board",
) -> Response:
    """A card's button: "id:trigger:version" (start or complete, on the board's one form)."""
    parsed = MOVE.match(move)
    if parsed is None:
        raise Invalid(N_("The card's button sent something that is not a move."), [move])
    action_id, trigger, version = int(parsed[1]), parsed[2], int(parsed[3])
    return _move(request, ctx, action_id, trigger, version, "", return_to)


# --- the forms a card opens: verify, and reassign or re-date ---------------------------


def _card_form(
    request: Request,
    ctx: Ctx,
    action_id: int,
    which: str,
    values: dict[str, Any],
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    """The form inside its card for htmx; a page of its own without JavaScript."""
    action = actions.get_action(ctx, action_id)
    people = list(
        ctx.session.exec(select(User).where(User.active, User.role != "viewer").order_by(User.name))
    )
    back = values.get("return_to") or safe_next(_referer_path(request))
    context = {
        "a": action,
        "which": which,
        "values": values,
        "people": people,
        "error": error,
        "return_to": back if back.startswith("/board") else "/board",
    }
    return render(
        request, "board/card_form.html", context, block="card_form", status_code=status_code
    )


def _referer_path(request: Request) -> str:
    referer = request.headers.get("referer", "")
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc != request.url.netloc:
        return "/board"
    return parts.path + (f"?{parts.query}" if parts.query else "")


@router.get("/board/actions/{action_id}/verify")
def verify_form(request: Request, ctx: PageCtx, action_id: int) -> Response:
    return _card_form(request, ctx, action_id, "verify", {"effective": "1"})


@router.get("/board/actions/{action_id}/edit")
def edit_form(request: Request, ctx: PageCtx, action_id: int) -> Response:
    action = actions.get_action(ctx, action_id)
    values = {
        "owner_id": action.owner_id,
        "deadline": action.deadline.isoformat() if action.deadline else "",
    }
    return _card_form(request, ctx, action_id, "edit", values)


def _refused_form(
    request: Request,
    ctx: Ctx,
    action_id: int,
    which: str,
    values: dict[str, Any],
    exc: ServiceError,
) -> Response:
    """A refusal keeps the form open, with what was typed and the reason next to it."""
    text = error_message(exc, request.state.lang)
    if not is_htmx(request):
        return _card_form(request, ctx, action_id, which, values, text, exc.status_hint)
    form_response = _card_form(request, ctx, action_id, which, values, text)
    form_html = Markup(bytes(form_response.body).decode())
    return _after_card_change(
        request, ctx, action_id, values["return_to"], exc, None, None, form_html
    )


@router.post("/board/actions/{action_id}/verify")
def verify_card(
    request: Request,
    ctx: PageCtx,
    action_id: int,
    version: Version,
    note: Note = "",
    return_to: ReturnTo = "/board",
    effective: Annotated[str, Form(max_length=5)] = "1",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    is_effective = effective == "1"
    meaning = "verified effective" if is_effective else "verified not effective"
    before = _cell_of(ctx, action_id)
    try:
        actions.verify_action(
            ctx,
            action_id,
            effective=is_effective,
            note=note or None,
            version=version,
            signature=Signature(meaning, password or None),
        )
    except ServiceError as exc:
        values = {"effective": effective, "note": note, "return_to": return_to}
        return _refused_form(request, ctx, action_id, "verify", values, exc)
    message = _("%(key)s: %(what)s") % {"key": f"A-{action_id}", "what": _("Verify")}
    return _after_card_change(request, ctx, action_id, return_to, None, message, before)


@router.post("/board/actions/{action_id}/edit")
def edit_card(
    request: Request,
    ctx: PageCtx,
    action_id: int,
    version: Version,
    owner_id: Annotated[int | None, Form()] = None,
    deadline: Annotated[date | None, Form()] = None,
    note: Note = "",
    return_to: ReturnTo = "/board",
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
        values = {
            "owner_id": owner_id,
            "deadline": deadline.isoformat() if deadline else "",
            "note": note,
            "return_to": return_to,
        }
        return _refused_form(request, ctx, action_id, "edit", values, exc)
    message = _("%(key)s saved.") % {"key": f"A-{action_id}"}
    return _after_card_change(request, ctx, action_id, return_to, None, message, None)


@router.post("/board/actions/{action_id}/{trigger}")
def fire_card(
    request: Request,
    ctx: PageCtx,
    action_id: int,
    trigger: Literal["start", "complete", "reopen", "cancel"],
    version: Version,
    note: Note = "",
    return_to: ReturnTo = "/board",
) -> Response:
    """A card's move posted to its own address (scripts and older pages)."""
    return _move(request, ctx, action_id, trigger, version, note, return_to)


# --- bulk edits: several cards, each its own write ------------------------------------

PICK = re.compile(r"^(\d{1,10}):(\d{1,10})$")


def _bulk_message(request: Request, outcome: bulk.BulkOutcome) -> tuple[str, str]:
    """'3 done: A-1, A-2, A-3. Refused: A-4 (why).' in the reader's language."""
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    parts = []
    if outcome.done:
        parts.append(_("Done: %(keys)s.") % {"keys": bulk.keys(outcome.done)})
    for action_id, exc in outcome.refused:
        parts.append(
            _("Refused: %(key)s (%(why)s)")
            % {"key": f"A-{action_id}", "why": error_message(exc, lang)}
        )
    return ("error" if outcome.refused else "ok"), " ".join(parts)


@router.post("/board/bulk")
def bulk_edit(
    request: Request,
    ctx: PageCtx,
    form: FormDep,
    operation: Annotated[str, Form(max_length=20)] = "",
    owner_id: Annotated[str, Form(max_length=12)] = "",
    deadline: Annotated[str, Form(max_length=10)] = "",
    note: Note = "",
    return_to: ReturnTo = "/board",
) -> Response:
    """Reassign, re-date, start or complete the selected cards, one write each."""
    picked = []
    for value in form.getlist("pick"):
        match = PICK.match(str(value))
        if match is None:
            raise Invalid(N_("A selected card was not understood."), [str(value)])
        picked.append(bulk.Picked(int(match[1]), int(match[2])))
    try:
        new_deadline = date.fromisoformat(deadline) if deadline else None
    except ValueError:
        raise Invalid(N_("The new deadline is not a date."), [deadline]) from None
    try:
        outcome = bulk.apply(
            ctx,
            picked,
            operation,
            owner_id=whole_number(owner_id),
            deadline=new_deadline,
            note=note or None,
        )
        kind, text = _bulk_message(request, outcome)
    except ServiceError as exc:
        kind, text = "error", error_message(exc, request.state.lang)
    target, _filter = _board_filter_of(request, ctx, return_to)
    if not is_htmx(request):
        response = RedirectResponse(target, status_code=303)
        set_flash(request, response, text, kind)
        return response
    params = QueryParams(target.partition("?")[2])
    request.scope["query_string"] = str(params).encode()
    ctx.session.expire_all()
    context = board_context(request, ctx, _form_from_query(request, params))
    request.state.flash = (kind, text)
    response = render(request, "board/page.html", context, block="board")
    response.headers["HX-Trigger"] = "pdca:board-changed"
    return with_flash_oob(request, response)


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
