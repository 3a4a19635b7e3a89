"""Administration: users and departments (administrators), the board's WIP limits
(administrators and facilitators, who manage the board).

Every view asks the policy first; anyone else gets a 403 page with its reason.
"""

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select

from pdca import i18n
from pdca.engine.facts import Reason
from pdca.models import Department, Role, User
from pdca.services import board_settings, organisation, queries
from pdca.services.context import Ctx
from pdca.services.errors import Conflict, Invalid, NotFound, ServiceError
from pdca.services.policy import can_manage_organisation, can_triage, require
from pdca.services.queries import Paging
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.board import status_titles
from pdca.web.pages.common import PageCtx, whole_number
from pdca.web.pages.profile import (
    after_post,
    error_text,
    field_errors,
    form_status,
    gettext_for,
    role_titles,
)
from pdca.web.render import render

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)

USERS_PER_PAGE = 25
DEPARTMENTS_PER_PAGE = 100
NEW_USER_FIELDS = ("email", "name", "role", "department", "password")
USER_FIELDS = ("name", "role", "department")
DEPARTMENT_FIELDS = ("code", "name", "name_zh")
LIMIT_FIELDS = ("status", "department", "max_cards")

Text = Annotated[str, Form(max_length=254)]
Version = Annotated[int, Form(ge=1)]


def _only_admins(ctx: Ctx) -> None:
    require(can_manage_organisation(ctx.actor))


def _only_board_managers(ctx: Ctx) -> None:
    require(can_triage(ctx.actor))


def _departments(ctx: Ctx) -> list[Department]:
    return list(ctx.session.exec(select(Department).order_by(Department.code)))


def _page_number(raw: str | None) -> int:
    number = whole_number(raw, maximum=99_999)
    return number if number else 1


def _common(request: Request, ctx: Ctx) -> dict[str, Any]:
    _ = gettext_for(request)
    return {
        "role_titles": role_titles(_),
        "may_manage_organisation": can_manage_organisation(ctx.actor) is None,
    }


# --- users ---------------------------------------------------------------------------


def _user_filters(request: Request) -> dict[str, Any]:
    params = request.query_params
    return {
        "q": params.get("q", "")[:200],
        "role": params.get("role", "") if params.get("role") in Role.__members__ else "",
        "dept": params.get("dept", "")[:20].upper(),
        "page": _page_number(params.get("page")),
    }


def _new_user_form(**values: str) -> dict[str, str]:
    return {"email": "", "name": "", "role": Role.member, "department": "", **values}


def users_context(request: Request, ctx: Ctx, **overrides: Any) -> dict[str, Any]:
    filters = _user_filters(request)
    departments = _departments(ctx)
    department_id = None
    if filters["dept"]:
        # An unknown code matches nobody (an empty list), rather than everybody.
        department_id = next((d.id for d in departments if d.code == filters["dept"]), -1)
    paging = Paging(USERS_PER_PAGE, (filters["page"] - 1) * USERS_PER_PAGE)
    page = queries.list_users(
        ctx, paging, department_id=department_id, role=filters["role"] or None, q=filters["q"]
    )

    def page_url(number: int) -> str:
        params = {k: v for k, v in filters.items() if v and k != "page"}
        return "/admin/users?" + urlencode({**params, "page": number})

    context = {
        **_common(request, ctx),
        "filters": filters,
        "filtered": bool(filters["q"] or filters["role"] or filters["dept"]),
        "page": page,
        "page_number": filters["page"],
        "last_page": max(1, -(-page.total // USERS_PER_PAGE)),
        "page_url": page_url,
        "departments": departments,
        "department_by_id": {d.id: d for d in departments},
        "form": _new_user_form(),
        "errors": {},
        "new_open": False,
    }
    context.update(overrides)
    return context


def _users_page(request: Request, ctx: Ctx, status_code: int = 200, **overrides: Any) -> Response:
    context = users_context(request, ctx, **overrides)
    return render(request, "admin/users.html", context, block="users", status_code=status_code)


@router.get("/admin")
def admin_home(ctx: PageCtx) -> Response:
    if can_manage_organisation(ctx.actor) is None:
        return RedirectResponse("/admin/users", status_code=303)
    _only_board_managers(ctx)
    return RedirectResponse("/admin/board", status_code=303)


@router.get("/admin/users")
def users_page(request: Request, ctx: PageCtx) -> Response:
    _only_admins(ctx)
    return _users_page(request, ctx)


@router.post("/admin/users")
def create_user(
    request: Request,
    ctx: PageCtx,
    email: Text = "",
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = Role.member,
    department: Annotated[str, Form(max_length=20)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _only_admins(ctx)
    _ = gettext_for(request)
    try:
        user = organisation.create_user(
            ctx,
            email=email,
            name=name,
            role=role,
            department_code=department or None,
            password=password,
        )
    except ServiceError as exc:
        # The form again, as it was sent (but the password), with each error by its field.
        form = _new_user_form(email=email, name=name, role=role, department=department)
        errors = field_errors(request, exc, NEW_USER_FIELDS)
        return _users_page(request, ctx, form_status(exc), form=form, errors=errors, new_open=True)
    message = _("%(name)s can now sign in as %(email)s.") % {"name": user.name, "email": user.email}
    return after_post(request, "/admin/users", message, lambda: _users_page(request, ctx))


def user_context(request: Request, ctx: Ctx, user: User, **overrides: Any) -> dict[str, Any]:
    context = {
        **_common(request, ctx),
        "user": user,
        "departments": _departments(ctx),
        "form": {
            "name": user.name,
            "role": user.role,
            "department": str(user.department_id or ""),
            "version": user.version,
        },
        "errors": {},
        "is_self": ctx.actor is not None and ctx.actor.id == user.id,
    }
    context.update(overrides)
    return context


def _user_page(
    request: Request, ctx: Ctx, user_id: int, status_code: int = 200, **overrides: Any
) -> Response:
    user = organisation.get_user(ctx, user_id)
    context = user_context(request, ctx, user, **overrides)
    return render(request, "admin/user.html", context, block="user_detail", status_code=status_code)


@router.get("/admin/users/{user_id}")
def user_page(request: Request, ctx: PageCtx, user_id: int) -> Response:
    _only_admins(ctx)
    return _user_page(request, ctx, user_id)


@router.post("/admin/users/{user_id}")
def update_user(
    request: Request,
    ctx: PageCtx,
    user_id: int,
    version: Version,
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    department: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    _only_admins(ctx)
    _ = gettext_for(request)
    try:
        if department and whole_number(department) is None:
            raise Invalid(
                "Choose one of the departments.",
                [Reason("department_unknown", "Choose one of the departments.")],
            )
        changes = {
            "name": name,
            "role": role,
            "department_id": int(department) if department else None,
        }
        user = organisation.update_user(ctx, user_id, version=version, changes=changes)
    except ServiceError as exc:
        errors = field_errors(request, exc, USER_FIELDS)
        if isinstance(exc, Conflict):
            # Someone else changed them: show what is there now, to decide again.
            return _user_page(request, ctx, user_id, form_status(exc), errors=errors)
        form = {"name": name, "role": role, "department": department, "version": version}
        return _user_page(request, ctx, user_id, form_status(exc), form=form, errors=errors)
    message = _("%(name)s is saved.") % {"name": user.name}
    return after_post(
        request,
        f"/admin/users/{user_id}",
        message,
        lambda: _user_page(request, ctx, user_id),
    )


@router.get("/admin/users/{user_id}/active")
def confirm_active(
    request: Request, ctx: PageCtx, user_id: int, version: int | None = None
) -> Response:
    """The confirmation step before deactivating, without JavaScript (htmx uses hx-confirm).

    It carries on the version the administrator read, so a change made meanwhile is a 409.
    """
    _only_admins(ctx)
    _ = gettext_for(request)
    user = organisation.get_user(ctx, user_id)
    if not user.active:
        return RedirectResponse(f"/admin/users/{user_id}", status_code=303)
    context = {
        "title": _("Deactivate %(name)s?") % {"name": user.name},
        "detail": _(
            "%(name)s will be signed out at once, and can no longer sign in or use their "
            "API tokens until an administrator activates them again. Their work and history "
            "stay as they are."
        )
        % {"name": user.name},
        "action": f"/admin/users/{user_id}/active",
        "fields": {"active": "0", "version": str(version or user.version)},
        "button": _("Deactivate %(name)s") % {"name": user.name},
        "cancel": f"/admin/users/{user_id}",
    }
    return render(request, "admin/confirm.html", context)


@router.post("/admin/users/{user_id}/active")
def set_active(
    request: Request,
    ctx: PageCtx,
    user_id: int,
    version: Version,
    active: Annotated[str, Form(pattern="^[01]$")],
) -> Response:
    _only_admins(ctx)
    _ = gettext_for(request)
    target = f"/admin/users/{user_id}"
    try:
        user = organisation.set_active(ctx, user_id, active=active == "1", version=version)
    except NotFound:
        raise
    except ServiceError as exc:
        status = form_status(exc)
        return after_post(
            request,
            target,
            error_text(request, exc),
            lambda: _user_page(request, ctx, user_id, status),
            "error",
        )
    if user.active:
        message = _("%(name)s is active again and can sign in.") % {"name": user.name}
    else:
        message = _("%(name)s is deactivated: signed out, and their tokens are refused.") % {
            "name": user.name
        }
    return after_post(request, target, message, lambda: _user_page(request, ctx, user_id))


# --- departments -------------------------------------------------------------------


def departments_context(request: Request, ctx: Ctx, **overrides: Any) -> dict[str, Any]:
    number = _page_number(request.query_params.get("page"))
    paging = Paging(DEPARTMENTS_PER_PAGE, (number - 1) * DEPARTMENTS_PER_PAGE)
    page = queries.list_departments(ctx, paging)
    context = {
        **_common(request, ctx),
        "page": page,
        "page_number": number,
        "last_page": max(1, -(-page.total // DEPARTMENTS_PER_PAGE)),
        "page_url": lambda n: f"/admin/departments?page={n}",
        "form": {"code": "", "name": "", "name_zh": ""},
        "errors": {},
        "rename_id": None,  # the department whose rename form comes back with errors
        "rename_form": {},
        "rename_errors": {},
    }
    context.update(overrides)
    return context


def _departments_page(
    request: Request, ctx: Ctx, status_code: int = 200, **overrides: Any
) -> Response:
    context = departments_context(request, ctx, **overrides)
    return render(
        request, "admin/departments.html", context, block="departments", status_code=status_code
    )


@router.get("/admin/departments")
def departments_page(request: Request, ctx: PageCtx) -> Response:
    _only_admins(ctx)
    return _departments_page(request, ctx)


@router.post("/admin/departments")
def create_department(
    request: Request,
    ctx: PageCtx,
    code: Annotated[str, Form(max_length=40)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    name_zh: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _only_admins(ctx)
    _ = gettext_for(request)
    try:
        department = organisation.create_department(
            ctx, code=code, name=name, name_zh=name_zh.strip() or None
        )
    except ServiceError as exc:
        form = {"code": code, "name": name, "name_zh": name_zh}
        errors = field_errors(request, exc, DEPARTMENT_FIELDS)
        return _departments_page(request, ctx, form_status(exc), form=form, errors=errors)
    message = _("The department %(code)s is created.") % {"code": department.code}
    return after_post(
        request, "/admin/departments", message, lambda: _departments_page(request, ctx)
    )


@router.post("/admin/departments/{department_id}")
def rename_department(
    request: Request,
    ctx: PageCtx,
    department_id: int,
    version: Version,
    name: Annotated[str, Form(max_length=200)] = "",
    name_zh: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _only_admins(ctx)
    _ = gettext_for(request)
    try:
        department = organisation.update_department(
            ctx, department_id, version=version, changes={"name": name, "name_zh": name_zh}
        )
    except ServiceError as exc:
        errors = field_errors(request, exc, ("name", "name_zh"))
        form = {"name": name, "name_zh": name_zh, "version": version}
        if isinstance(exc, Conflict):
            form = {}  # show what is there now
        return _departments_page(
            request,
            ctx,
            form_status(exc),
            rename_id=department_id,
            rename_form=form,
            rename_errors=errors,
        )
    message = _("The department %(code)s is saved.") % {"code": department.code}
    return after_post(
        request, "/admin/departments", message, lambda: _departments_page(request, ctx)
    )


# --- the board's WIP limits ------------------------------------------------------------


def _limit_form(**values: Any) -> dict[str, Any]:
    return {"status": "in_progress", "department": "", "max_cards": "", "hard": False, **values}


def board_context(request: Request, ctx: Ctx, **overrides: Any) -> dict[str, Any]:
    _ = gettext_for(request)
    departments = _departments(ctx)
    order = {s: i for i, s in enumerate(board_settings.BOARD_STATUSES)}
    codes = {d.id: d.code for d in departments}
    limits = sorted(
        board_settings.wip_limits(ctx).by_scope.values(),
        key=lambda w: (
            order.get(w.status, 99),
            w.department_id is not None,
            codes.get(w.department_id, ""),
        ),
    )
    context = {
        **_common(request, ctx),
        "limits": limits,
        "departments": departments,
        "department_by_id": {d.id: d for d in departments},
        "statuses": board_settings.BOARD_STATUSES,
        "status_titles": status_titles(_),
        "form": _limit_form(),
        "errors": {},
    }
    context.update(overrides)
    return context


def _board_page(request: Request, ctx: Ctx, status_code: int = 200, **overrides: Any) -> Response:
    context = board_context(request, ctx, **overrides)
    return render(request, "admin/board.html", context, block="limits", status_code=status_code)


@router.get("/admin/board")
def board_page(request: Request, ctx: PageCtx) -> Response:
    _only_board_managers(ctx)
    return _board_page(request, ctx)


def _department_id(raw: str) -> int | None:
    if not raw:
        return None  # the whole board
    department_id = whole_number(raw)
    if department_id is None:
        raise Invalid(
            "Choose the whole board or one department.",
            [Reason("department_unknown", "Choose the whole board or one department.")],
        )
    return department_id


@router.post("/admin/board/limits")
def set_limit(
    request: Request,
    ctx: PageCtx,
    status: Annotated[str, Form(max_length=20)] = "",
    department: Annotated[str, Form(max_length=20)] = "",
    max_cards: Annotated[str, Form(max_length=10)] = "",
    hard: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    _only_board_managers(ctx)
    _ = gettext_for(request)
    try:
        if whole_number(max_cards) is None:
            raise Invalid(
                "Give the limit as a number of cards.",
                [Reason("max_cards_invalid", "Give the limit as a number of cards, 1 to 1000.")],
            )
        limit = board_settings.set_wip_limit(
            ctx,
            status=status,
            department_id=_department_id(department),
            max_cards=whole_number(max_cards),
            hard=hard == "1",
        )
    except ServiceError as exc:
        form = _limit_form(
            status=status, department=department, max_cards=max_cards, hard=hard == "1"
        )
        errors = field_errors(request, exc, LIMIT_FIELDS)
        return _board_page(request, ctx, form_status(exc), form=form, errors=errors)
    assert limit is not None
    message = i18n.translations(request.state.lang).ngettext(
        "The limit is saved: at most %(num)d card in “%(column)s”.",
        "The limit is saved: at most %(num)d cards in “%(column)s”.",
        limit.max_cards,
    ) % {"num": limit.max_cards, "column": status_titles(_)[limit.status]}
    return after_post(request, "/admin/board", message, lambda: _board_page(request, ctx))


@router.get("/admin/board/limits/remove")
def confirm_remove_limit(
    request: Request, ctx: PageCtx, status: str = "", department: str = ""
) -> Response:
    _only_board_managers(ctx)
    _ = gettext_for(request)
    department_id = _department_id(department)
    column = status_titles(_).get(status, status)
    if department_id is None:
        scope = _("the whole board")
    else:
        found = ctx.session.get(Department, department_id)
        if found is None:
            raise NotFound(f"Department {department_id} does not exist.")
        scope = found.code
    context = {
        "title": _("Remove the WIP limit?"),
        "detail": _("“%(column)s” on %(scope)s will have no limit any more.")
        % {"column": column, "scope": scope},
        "action": "/admin/board/limits/remove",
        "fields": {"status": status, "department": department},
        "button": _("Remove the limit"),
        "cancel": "/admin/board",
    }
    return render(request, "admin/confirm.html", context)


@router.post("/admin/board/limits/remove")
def remove_limit(
    request: Request,
    ctx: PageCtx,
    status: Annotated[str, Form(max_length=20)] = "",
    department: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    _only_board_managers(ctx)
    _ = gettext_for(request)
    try:
        board_settings.set_wip_limit(
            ctx, status=status, department_id=_department_id(department), max_cards=None
        )
    except ServiceError as exc:
        return after_post(
            request,
            "/admin/board",
            error_text(request, exc),
            lambda: _board_page(request, ctx),
            "error",
        )
    return after_post(
        request, "/admin/board", _("The limit is removed."), lambda: _board_page(request, ctx)
    )
