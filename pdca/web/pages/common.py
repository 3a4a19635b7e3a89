"""What every page needs: who is signed in, in which language, and CSRF for forms."""

import secrets
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.datastructures import FormData

from pdca import i18n
from pdca.services import evidence, my_work, policy
from pdca.services.context import Ctx
from pdca.services.errors import Forbidden
from pdca.web.deps import SAFE_METHODS, SessionDep, authenticate, release_connection
from pdca.web.render import FLASH_COOKIE

LANG_COOKIE = "pdca_lang"


class LoginRequired(Exception):
    """A signed-out visitor asked for a page: send them to /login and back afterwards."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


MAX_ID = 2**31 - 1  # PostgreSQL's integer: a larger id can only be a typo or a probe


def whole_number(text: object, *, maximum: int = MAX_ID) -> int | None:
    """A non-negative whole number typed in a form or URL, or None.

    Only ASCII digits: "²".isdigit() is true, yet int("²") fails.
    """
    value = str(text or "").strip()
    if not value or not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if number <= maximum else None


def safe_next(url: str | None) -> str:
    """Only local paths: never redirect a user to another site after signing in."""
    if not url:
        return "/"
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//"):
        return "/"
    return url


def login_redirect(exc: LoginRequired) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)


def choose_language(request: Request, preferred: str | None = None) -> str:
    if preferred in i18n.LANGUAGES:
        return str(preferred)
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in i18n.LANGUAGES:
        return str(cookie)
    return i18n.negotiate(request.headers.get("Accept-Language"))


def _flash_serializer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.settings.secret_key, salt="pdca-flash")


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """A cookie of the app's own (flash, language): HttpOnly, Lax, Secure when configured."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="lax",
        secure=bool(request.app.state.settings.secure_cookies),
        path="/",
        max_age=max_age,
    )


def set_flash(request: Request, response: Response, message: str, kind: str = "ok") -> None:
    set_cookie(
        request, response, FLASH_COOKIE, _flash_serializer(request).dumps([kind, message]), 60
    )


def set_language_cookie(request: Request, response: Response, lang: str) -> None:
    set_cookie(request, response, LANG_COOKIE, lang, 365 * 24 * 3600)


def read_flash(request: Request) -> tuple[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        kind, message = _flash_serializer(request).loads(raw)
    except (BadSignature, ValueError):
        return None
    return str(kind), str(message)


async def read_form(request: Request) -> FormData:
    """The posted form, parsed on the event loop (it awaits the body, never the database).

    Starlette caches it on the request, so routes and the CSRF check share one parse.
    Everything that queries the database stays in sync code that FastAPI runs in its
    thread pool: a database wait on the event loop once locked the whole server.
    """
    if request.method in SAFE_METHODS:
        return FormData()
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


def page_ctx(request: Request, session: SessionDep, form: FormDep) -> Ctx:
    """The signed-in user's context for a page; CSRF-checked for unsafe methods."""
    auth = authenticate(request, session) if "Authorization" not in request.headers else None
    if auth is None or auth.web_session is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method in SAFE_METHODS else request.url.path)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get("X-CSRF-Token")
        if sent is None:
            sent = str(form.get("csrf_token") or "")
        if not secrets.compare_digest(sent.encode(), auth.web_session.csrf_token.encode()):
            raise Forbidden("The form has expired or came from elsewhere; reload the page.")
    request.state.auth = auth
    release_connection(session)
    request.state.lang = choose_language(request, auth.user.locale or None)
    request.state.fmt_locale = i18n.region(
        request.state.lang, request.headers.get("Accept-Language")
    )
    request.state.flash = read_flash(request)
    ctx = Ctx(
        session=session,
        actor=auth.user,
        catalog=request.app.state.catalog,
        clock=request.app.state.clock,
    )
    # Counted only if the navigation bar is drawn (a full page, not an htmx block).
    request.state.nav_counts = lambda: my_work.nav_counts(ctx, auth.user)
    return ctx


PageCtx = Annotated[Ctx, Depends(page_ctx)]


def evidence_context(
    ctx: Ctx, entity_type: str, entity_id: int, manages_the_record: bool
) -> dict[str, Any]:
    """What templates/evidence/_section.html needs: the files and who may do what."""
    files = evidence.evidence_on(ctx, entity_type, entity_id)
    return {
        "files": files,
        "may_delete": {f.id: evidence.may_delete(ctx, f, manages_the_record) for f in files},
        "can_attach": policy.can_attach_evidence(ctx.actor) is None,
    }
