"""Sign in, sign out, and the language switch."""

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from pdca import i18n
from pdca.models import User
from pdca.services import accounts, organisation
from pdca.services.accounts import NotAuthenticated, Throttled
from pdca.services.context import Ctx
from pdca.web.api.routes_org import set_session_cookie
from pdca.web.deps import (
    SESSION_COOKIE,
    AnonymousCtxDep,
    ReleasingRoute,
    authenticate,
    client_address,
)
from pdca.web.pages.common import choose_language, safe_next, set_language_cookie
from pdca.web.pages.my_work import landing_for
from pdca.web.render import error_text, render

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)
CsrfField = Annotated[str, Form(max_length=100)]


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    request.state.lang = choose_language(request)
    return render(request, "login.html", {"next": safe_next(next), "email": "", "error": None})


@router.post("/login")
def login(
    request: Request,
    ctx: AnonymousCtxDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    request.state.lang = choose_language(request)
    try:
        web_session = accounts.sign_in(ctx, email, password, client_address(request))
    except (NotAuthenticated, Throttled) as exc:
        headers = {}
        if isinstance(exc, Throttled):
            # The same sentence the API gives, in the reader's language.
            message = error_text(exc, request.state.lang)
            headers["Retry-After"] = str(exc.retry_after)
        else:
            _ = i18n.translations(request.state.lang).gettext
            message = _("The e-mail or password is wrong.")
        context = {"next": safe_next(next), "email": email, "error": message}
        response = render(request, "login.html", context, status_code=exc.status_hint)
        response.headers.update(headers)
        return response
    target = safe_next(next)
    if target == "/":
        user = ctx.session.get(User, web_session.user_id)
        target = landing_for(user) if user is not None else target
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, web_session.id)
    return response


def _signed_in_with_csrf(
    request: Request, ctx: Ctx, csrf_token: str
) -> accounts.Authenticated | None:
    """The signed-in person, if the form carries their session's CSRF token."""
    auth = authenticate(request, ctx.session)
    if auth is None or auth.web_session is None:
        return None
    if not secrets.compare_digest(csrf_token.encode(), auth.web_session.csrf_token.encode()):
        return None
    return auth


@router.post("/logout")
def logout(request: Request, ctx: AnonymousCtxDep, csrf_token: CsrfField = "") -> Response:
    auth = _signed_in_with_csrf(request, ctx, csrf_token)
    if auth is not None and auth.web_session is not None:
        accounts.sign_out(ctx, auth.web_session.id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language")
def switch_language(
    request: Request,
    ctx: AnonymousCtxDep,
    lang: Annotated[str, Form(max_length=10)],
    next: Annotated[str, Form(max_length=2000)] = "/",
    csrf_token: CsrfField = "",
) -> Response:
    if lang not in i18n.LANGUAGES:
        lang = i18n.DEFAULT_LANGUAGE
    response = RedirectResponse(safe_next(next), status_code=303)
    set_language_cookie(request, response, lang)
    auth = _signed_in_with_csrf(request, ctx, csrf_token)
    if auth is not None:
        # A signed-in person's choice is kept on their profile, for every device.
        ctx.actor = auth.user
        organisation.set_locale(ctx, lang)
    return response
