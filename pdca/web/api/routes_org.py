"""Departments, users, API tokens and sign-in sessions."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from pdca.models import User
from pdca.services import accounts, organisation, queries
from pdca.services.queries import Paging
from pdca.web.api import schemas as s
from pdca.web.api.convert import token_out
from pdca.web.api.http import created, etag, expected_version, preconditions
from pdca.web.api.idempotency import ApiRoute
from pdca.web.api.types import QueryId, Search, sort_keys
from pdca.web.deps import (
    SESSION_COOKIE,
    AnonymousCtxDep,
    CtxDep,
    client_address,
    cookie_serializer,
)

router = APIRouter(route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


@router.get("/departments", response_model=s.PageOut[s.DepartmentOut], tags=["organisation"])
def list_departments(
    ctx: CtxDep,
    q: Search = None,
    sort: sort_keys("id", "code", "name") = "code",  # type: ignore[valid-type]
    limit: Limit = 50,
    offset: Offset = 0,
) -> s.PageOut[s.DepartmentOut]:
    page = queries.list_departments(ctx, Paging(limit, offset, sort), q)
    return s.PageOut(
        items=[s.DepartmentOut(**d.model_dump()) for d in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/departments", status_code=201, response_model=s.DepartmentOut, tags=["organisation"])
def create_department(ctx: CtxDep, body: s.DepartmentCreate, response: Response) -> s.DepartmentOut:
    department = organisation.create_department(ctx, **body.model_dump())
    created(response, f"/departments/{department.id}")
    etag(response, department.version)
    return s.DepartmentOut(**department.model_dump())


@router.get("/departments/{department_id}", response_model=s.DepartmentOut, tags=["organisation"])
def get_department(ctx: CtxDep, department_id: int, response: Response) -> s.DepartmentOut:
    department = organisation.get_department(ctx, department_id)
    etag(response, department.version)
    return s.DepartmentOut(**department.model_dump())


@router.patch(
    "/departments/{department_id}",
    response_model=s.DepartmentOut,
    tags=["organisation"],
    summary="Rename a department (the code stays)",
)
def update_department(
    ctx: CtxDep,
    department_id: int,
    body: s.DepartmentUpdate,
    request: Request,
    response: Response,
) -> s.DepartmentOut:
    with preconditions(request):
        department = organisation.update_department(
            ctx,
            department_id,
            version=expected_version(request, body.version),
            changes=body.model_dump(exclude_unset=True, exclude={"version"}),
        )
    etag(response, department.version)
    return s.DepartmentOut(**department.model_dump())


@router.get("/users", response_model=s.PageOut[s.UserOut], tags=["organisation"])
def list_users(
    ctx: CtxDep,
    department_id: QueryId | None = None,
    role: s.Role | None = None,
    q: Search = None,
    sort: sort_keys("id", "name", "email") = "name",  # type: ignore[valid-type]
    limit: Limit = 50,
    offset: Offset = 0,
) -> s.PageOut[s.UserOut]:
    page = queries.list_users(
        ctx, Paging(limit, offset, sort), department_id=department_id, role=role, q=q
    )
    return s.PageOut(
        items=[s.UserOut(**u.model_dump()) for u in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/users", status_code=201, response_model=s.UserOut, tags=["organisation"])
def create_user(ctx: CtxDep, body: s.UserCreate, response: Response) -> s.UserOut:
    user = organisation.create_user(ctx, **body.model_dump())
    created(response, f"/users/{user.id}")
    return _user(user, response)


def _user(user: User, response: Response) -> s.UserOut:
    etag(response, user.version)
    return s.UserOut(**user.model_dump())


@router.get("/users/me", response_model=s.UserOut, tags=["organisation"])
def me(ctx: CtxDep) -> s.UserOut:
    assert ctx.actor is not None
    return s.UserOut(**ctx.actor.model_dump())


@router.get("/users/{user_id}", response_model=s.UserOut, tags=["organisation"])
def get_user(ctx: CtxDep, user_id: int, response: Response) -> s.UserOut:
    return _user(organisation.get_user(ctx, user_id), response)


@router.patch(
    "/users/{user_id}",
    response_model=s.UserOut,
    tags=["organisation"],
    summary="Rename a user, change their role or department",
)
def update_user(
    ctx: CtxDep, user_id: int, body: s.UserUpdate, request: Request, response: Response
) -> s.UserOut:
    with preconditions(request):
        user = organisation.update_user(
            ctx,
            user_id,
            version=expected_version(request, body.version),
            changes=body.model_dump(exclude_unset=True, exclude={"version", "note"}),
            note=body.note,
        )
    return _user(user, response)


def _set_active(
    ctx: CtxDep, user_id: int, body: s.ActiveIn, request: Request, response: Response, active: bool
) -> s.UserOut:
    with preconditions(request):
        user = organisation.set_active(
            ctx, user_id, active=active, version=expected_version(request, body.version)
        )
    return _user(user, response)


@router.post(
    "/users/{user_id}/deactivate",
    response_model=s.UserOut,
    tags=["organisation"],
    summary="Deactivate a user: no more sign-ins; their sessions end, their tokens die",
)
def deactivate_user(
    ctx: CtxDep, user_id: int, body: s.ActiveIn, request: Request, response: Response
) -> s.UserOut:
    return _set_active(ctx, user_id, body, request, response, active=False)


@router.post(
    "/users/{user_id}/activate",
    response_model=s.UserOut,
    tags=["organisation"],
    summary="Reactivate a user (they sign in again; old tokens stay revoked)",
)
def activate_user(
    ctx: CtxDep, user_id: int, body: s.ActiveIn, request: Request, response: Response
) -> s.UserOut:
    return _set_active(ctx, user_id, body, request, response, active=True)


@router.get("/tokens", response_model=list[s.TokenOut], tags=["accounts"])
def list_tokens(ctx: CtxDep) -> list[s.TokenOut]:
    assert ctx.actor is not None and ctx.actor.id is not None
    return [token_out(t) for t in accounts.tokens_of(ctx, ctx.actor.id)]


@router.post("/tokens", status_code=201, response_model=s.TokenCreated, tags=["accounts"])
def create_token(ctx: CtxDep, body: s.TokenCreate) -> s.TokenCreated:
    assert ctx.actor is not None and ctx.actor.id is not None
    fields = body.model_dump()
    scopes = fields.pop("scopes")
    new = accounts.create_token(
        ctx, ctx.actor.id, **fields, scopes=None if scopes is None else set(scopes)
    )
    return s.TokenCreated(**token_out(new.token).model_dump(), token=new.secret)


@router.delete("/tokens/{token_id}", response_model=s.TokenOut, tags=["accounts"])
def revoke_token(ctx: CtxDep, token_id: int) -> s.TokenOut:
    return token_out(accounts.revoke_token(ctx, token_id))


@router.post(
    "/session",
    response_model=s.SessionOut,
    tags=["accounts"],
    summary="Sign in with e-mail and password (sets the session cookie)",
)
def sign_in(
    ctx: AnonymousCtxDep, body: s.SessionIn, request: Request, response: Response
) -> s.SessionOut:
    web_session = accounts.sign_in(ctx, body.email, body.password, client_address(request))
    set_session_cookie(request, response, web_session.id)
    user = organisation.get_user(ctx, web_session.user_id)
    return s.SessionOut(user=s.UserOut(**user.model_dump()), csrf_token=web_session.csrf_token)


@router.delete("/session", status_code=204, tags=["accounts"], summary="Sign out")
def sign_out(ctx: CtxDep, request: Request, response: Response) -> Response:
    auth = request.state.auth
    if auth.web_session is not None:
        accounts.sign_out(ctx, auth.web_session.id)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.status_code = 204
    return response


def set_session_cookie(request: Request, response: Response, session_id: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        cookie_serializer(request).dumps(session_id),
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
        max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
    )
