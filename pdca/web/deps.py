"""The app's vocabulary for routes: SessionDep, CtxDep, CurrentUser, and the auth rules.

A request is authenticated by a bearer token (`Authorization: Bearer pdca_…`) or
by the signed session cookie of the pages. Unsafe requests made with the cookie
must carry the session's CSRF token (header `X-CSRF-Token` or form field).
"""

import functools
import inspect
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from itsdangerous import BadSignature, URLSafeSerializer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from pdca import i18n
from pdca.models import User
from pdca.services import accounts
from pdca.services.accounts import Authenticated, NotAuthenticated
from pdca.services.context import Ctx
from pdca.services.errors import Forbidden

SESSION_COOKIE = "pdca_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session, made and closed on the event loop without touching the
    database: making a Session opens no connection (the route's first query does, in
    its thread), and the route gives its connection back as it returns (`_releasing`),
    so closing is bookkeeping. A session still holding a connection (a route that
    failed half-way) is closed in a thread. As a sync dependency this was two more trips
    through the thread pool on every request.
    """
    session = Session(request.app.state.engine, expire_on_commit=False)
    request.state.db_session = session
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


def close_request_session(request: Request) -> None:
    """Give back the connection an error page opened after the route's session was closed.

    Exception handlers run after the session dependency has exited; drawing an error
    page may still read (the signed-in user's counts in the navigation bar), and a
    closed session quietly begins a new transaction that nobody would end: on
    PostgreSQL an idle-in-transaction connection holding locks.
    """
    session = getattr(request.state, "db_session", None)
    if session is not None:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def release_connection(session: Session) -> None:
    """End the authentication's read transaction so its connection goes back to the pool.

    FastAPI runs each sync dependency and then the route as separate calls into a
    thread pool of limited size. A request that kept its connection between those
    calls would hold a connection while queueing for a thread, while threads wait
    for connections: a deadlock once both are taken. Nothing is expired (the session
    does not expire on commit), and the route's first query takes a connection again.
    """
    if session.in_transaction():
        session.commit()


def _release_quietly(session: Session) -> None:
    # Use cases roll their own failures back; what is left is a read to end. Committing
    # (not rolling back) keeps the signed-in user loaded for the error page.
    try:
        release_connection(session)
    except Exception:
        session.rollback()


def _sessions_in(values: dict[str, Any]) -> list[Session]:
    found = []
    for value in values.values():
        if isinstance(value, Ctx):
            found.append(value.session)
        elif isinstance(value, Session):
            found.append(value)
        elif isinstance(value, PendingCtx):  # refused before the route ran
            found.append(value.session)
    return found


def _releasing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Give the connection back as the route returns, before FastAPI serialises the answer.

    FastAPI validates a sync route's return value in another thread-pool call; a
    connection kept until then waits for a thread (see release_connection).
    """
    if inspect.iscoroutinefunction(endpoint):
        return endpoint

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            for name, value in kwargs.items():
                if isinstance(value, PendingCtx):
                    kwargs[name] = value.resolve()
            return endpoint(*args, **kwargs)
        finally:
            for session in _sessions_in(kwargs):
                _release_quietly(session)

    return run


class ReleasingRoute(APIRoute):
    """Every route of the app: its database connection is released when it returns."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _releasing(endpoint), **kwargs)
        if inspect.iscoroutinefunction(endpoint) and _needs(self.dependant, get_ctx):
            # Only the sync routes' wrapper checks a PendingCtx's credentials.
            raise TypeError(f"{path}: a route that takes CtxDep must be a sync function")


def _needs(dependant: Any, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _needs(d, call) for d in dependant.dependencies)


def cookie_serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.settings.secret_key, salt="pdca-session")


def _context(
    request: Request, session: Session, user: User | None, auth: Authenticated | None = None
) -> Ctx:
    token = auth.token if auth is not None else None
    scopes = accounts.token_scopes(token) if token is not None else None
    return Ctx(
        session=session,
        actor=user,
        catalog=request.app.state.catalog,
        clock=request.app.state.clock,
        signing_token=scopes is not None and "sign" in scopes,
        token_id=token.id if token is not None else None,
        token_scopes=scopes,
        lang=getattr(request.state, "lang", i18n.DEFAULT_LANGUAGE),
    )


def authenticate(request: Request, session: Session) -> Authenticated | None:
    anonymous = _context(request, session, None)
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise NotAuthenticated("Send the token as 'Authorization: Bearer <token>'.")
        return accounts.authenticate_token(anonymous, secret.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        try:
            session_id = cookie_serializer(request).loads(cookie)
        except BadSignature:
            return None
        return accounts.session_user(anonymous, str(session_id))
    return None


def client_address(request: Request) -> str | None:
    """The client's address, for throttling sign-ins. Behind a reverse proxy run uvicorn
    with --proxy-headers and --forwarded-allow-ips so that this is the real client's."""
    return request.client.host[:45] if request.client else None


def _csrf_ok(request: Request, expected: str, form_token: str | None = None) -> bool:
    sent = request.headers.get(CSRF_HEADER) or form_token or ""
    return secrets.compare_digest(sent.encode(), expected.encode())


@dataclass
class PendingCtx:
    """An API request's context whose credentials are still to be checked.

    They are checked in the route's own thread as it starts (`_releasing`), or by a
    sync dependency that needs the context first (`resolve`): checking them in a
    dependency of their own cost a trip through the thread pool on every request. A
    request refused for its input is checked first too (errors.py), so that a caller
    without credentials learns nothing but 401.
    """

    request: Request
    session: Session
    ctx: Ctx | None = None

    def resolve(self) -> Ctx:
        if self.ctx is None:
            self.ctx = _authenticated_ctx(self.request, self.session)
        return self.ctx


async def get_ctx(request: Request, session: SessionDep) -> PendingCtx:
    """The context of an authenticated API request (401 without credentials), checked
    where the route runs: see PendingCtx. It touches no database here."""
    pending = PendingCtx(request, session)
    request.state.pending_ctx = pending
    return pending


def resolve_pending(request: Request) -> None:
    """Check the credentials of an API request refused before its route ran."""
    pending = getattr(request.state, "pending_ctx", None)
    if pending is not None:
        pending.resolve()


def _authenticated_ctx(request: Request, session: Session) -> Ctx:
    auth = authenticate(request, session)
    if auth is None:
        raise NotAuthenticated("Sign in, or send 'Authorization: Bearer <token>'.")
    needs_csrf = auth.web_session is not None and request.method not in SAFE_METHODS
    if needs_csrf and not _csrf_ok(request, auth.web_session.csrf_token):  # type: ignore[union-attr]
        raise Forbidden(f"The CSRF token is missing or wrong (send it in {CSRF_HEADER}).")
    read_only = auth.token is not None and "write" not in accounts.token_scopes(auth.token)
    if read_only and request.method not in SAFE_METHODS:
        raise Forbidden("This token may only read; create a token with the write scope.")
    request.state.auth = auth
    request.state.lang = api_language(request, auth.user)
    return _context(request, session, auth.user, auth)


def api_language(request: Request, user: User | None) -> str:
    """The language of an API answer's words: Accept-Language when the client sends one,
    else the caller's profile language, else English. Codes never change with it."""
    header = request.headers.get("Accept-Language")
    if header:
        return i18n.negotiate(header)
    if user is not None and user.locale in i18n.LANGUAGES:
        return str(user.locale)
    return i18n.DEFAULT_LANGUAGE


CtxDep = Annotated[Ctx, Depends(get_ctx)]


def anonymous_ctx(request: Request, session: SessionDep) -> Ctx:
    return _context(request, session, None)


AnonymousCtxDep = Annotated[Ctx, Depends(anonymous_ctx)]
