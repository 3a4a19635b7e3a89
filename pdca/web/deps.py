"""The app's vocabulary for routes: SessionDep, CtxDep, CurrentUser, and the auth rules.

A request is authenticated by a bearer token (`Authorization: Bearer pdca_…`) or
by the signed session cookie of the pages. Unsafe requests made with the cookie
must carry the session's CSRF token (header `X-CSRF-Token` or form field).
"""

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlmodel import Session

from pdca.models import User
from pdca.services import accounts
from pdca.services.accounts import Authenticated, NotAuthenticated
from pdca.services.context import Ctx
from pdca.services.errors import Forbidden

SESSION_COOKIE = "pdca_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def cookie_serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.settings.secret_key, salt="pdca-session")


def _context(request: Request, session: Session, user: User | None, signing: bool) -> Ctx:
    return Ctx(
        session=session,
        actor=user,
        catalog=request.app.state.catalog,
        clock=request.app.state.clock,
        signing_token=signing,
    )


def authenticate(request: Request, session: Session) -> Authenticated | None:
    anonymous = _context(request, session, None, False)
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


def _csrf_ok(request: Request, expected: str, form_token: str | None = None) -> bool:
    sent = request.headers.get(CSRF_HEADER) or form_token or ""
    return secrets.compare_digest(sent.encode(), expected.encode())


def get_ctx(request: Request, session: SessionDep) -> Ctx:
    """The context of an authenticated API request; 401 without credentials."""
    auth = authenticate(request, session)
    if auth is None:
        raise NotAuthenticated("Sign in, or send 'Authorization: Bearer <token>'.")
    needs_csrf = auth.web_session is not None and request.method not in SAFE_METHODS
    if needs_csrf and not _csrf_ok(request, auth.web_session.csrf_token):  # type: ignore[union-attr]
        raise Forbidden(f"The CSRF token is missing or wrong (send it in {CSRF_HEADER}).")
    request.state.auth = auth
    signing = auth.token is not None and auth.token.can_sign
    return _context(request, session, auth.user, signing)


CtxDep = Annotated[Ctx, Depends(get_ctx)]


def anonymous_ctx(request: Request, session: SessionDep) -> Ctx:
    return _context(request, session, None, False)


AnonymousCtxDep = Annotated[Ctx, Depends(anonymous_ctx)]
