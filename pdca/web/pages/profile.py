"""The signed-in person's own page: who they are, their language, password and API tokens.

Also the small helpers the account pages share (admin.py uses them too): a form's
service errors put next to its fields, and the answer after a successful post
(303 with a flash without JavaScript; the updated block, flash out of band, with htmx).
"""

from collections.abc import Callable, Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from pdca import i18n
from pdca.engine.facts import Reason
from pdca.models import Department, Role
from pdca.services import accounts, organisation
from pdca.services.context import Ctx
from pdca.services.errors import Invalid, NotFound, ServiceError
from pdca.services.policy import can_manage_organisation, can_triage
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.common import LANG_COOKIE, PageCtx, set_flash, set_language_cookie
from pdca.web.pages.notification_prefs import preferences_context
from pdca.web.render import is_htmx, reason_text, render, with_flash_oob

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)

Gettext = Callable[[str], str]
TOKEN_EXPIRY_CHOICES = ("7", "30", "90", "180", "365", "never")
DEFAULT_TOKEN_EXPIRY = "90"


# --- shared by the account pages ---------------------------------------------------


def gettext_for(request: Request) -> Gettext:
    return i18n.translations(request.state.lang).gettext


def role_titles(_: Gettext) -> dict[str, str]:
    return {
        Role.admin: _("Administrator"),
        Role.facilitator: _("Facilitator"),
        Role.head: _("Department head"),
        Role.member: _("Member"),
        Role.viewer: _("Viewer (read only)"),
    }


def reason_texts(_: Gettext) -> dict[str, str]:
    """The sentences people read for the service's reason codes, in their language."""
    return {
        "email_invalid": _("Enter an e-mail address, like name@example.com."),
        "email_taken": _("Someone already has this e-mail address."),
        "name_missing": _("Enter a name."),
        "role_unknown": _("Choose one of the roles."),
        "department_unknown": _("Choose one of the departments."),
        "password_too_short": _("A password needs at least 8 characters."),
        "code_invalid": _(
            "A code is 1 to 20 capital letters, digits, '-' or '_', starting with a letter."
        ),
        "code_taken": _("A department already has this code."),
        "current_password_wrong": _("This is not your current password."),
        "new_password_too_short": _("A password needs at least 8 characters."),
        "new_password_unchanged": _("Choose a password other than your current one."),
        "new_password_again_different": _("The two new passwords are not the same."),
        "max_cards_invalid": _("Give the limit as a number of cards, 1 to 1000."),
    }


def _reason(request: Request, reason: Reason) -> str:
    known = reason_texts(gettext_for(request)).get(reason.code)
    return known or reason_text(reason, request.state.lang)


def error_text(request: Request, exc: ServiceError) -> str:
    """The refusal in one line, in the reader's language (a flash, or the top of a form)."""
    if exc.reasons:
        return " ".join(_reason(request, r) for r in exc.reasons)
    return gettext_for(request)(exc.detail)


def field_errors(
    request: Request, exc: ServiceError, fields: Iterable[str]
) -> dict[str, list[str]]:
    """The reasons of a refused form, by field (a reason's code starts with its field's
    name); whatever belongs to no field goes under "" and shows at the top of the form."""
    by_length = sorted(fields, key=len, reverse=True)
    errors: dict[str, list[str]] = {}
    for reason in exc.reasons:
        field = next((f for f in by_length if reason.code.startswith(f + "_")), "")
        errors.setdefault(field, []).append(_reason(request, reason))
    if not exc.reasons:
        errors[""] = [error_text(request, exc)]
    return errors


def form_status(exc: ServiceError) -> int:
    """The status of a form shown again with its errors: 409 for a stale version, else 422
    (the statuses htmx is configured to swap, so the errors show up in place too)."""
    return 409 if exc.status_hint == 409 else 422


def after_post(
    request: Request,
    target: str,
    message: str,
    fragment: Callable[[], Response],
    kind: str = "ok",
) -> Response:
    """A form did its work: back to the page with a flash, or (htmx) the updated block."""
    if is_htmx(request):
        request.state.flash = (kind, message)
        return with_flash_oob(request, fragment())
    response = RedirectResponse(target, status_code=303)
    set_flash(request, response, message, kind)
    return response


# --- the profile page ----------------------------------------------------------------


def _token_form(name: str = "", expires: str = DEFAULT_TOKEN_EXPIRY, can_sign: bool = False):
    return {"name": name, "expires": expires, "can_sign": can_sign}


def profile_context(request: Request, ctx: Ctx, **overrides: Any) -> dict[str, Any]:
    _ = gettext_for(request)
    user = ctx.actor
    assert user is not None and user.id is not None
    department = ctx.session.get(Department, user.department_id) if user.department_id else None
    context: dict[str, Any] = {
        "user": user,
        "department": department,
        "role_titles": role_titles(_),
        "tokens": accounts.tokens_of(ctx, user.id),
        "now": ctx.now(),
        "new_token": None,
        "token_form": _token_form(),
        "token_errors": {},
        "expiry_choices": TOKEN_EXPIRY_CHOICES,
        "password_errors": {},
        "may_manage_organisation": can_manage_organisation(user) is None,
        "may_manage_board": can_triage(user) is None,
        **preferences_context(ctx),
    }
    context.update(overrides)
    return context


def _page(
    request: Request, ctx: Ctx, block: str | None = None, status_code: int = 200, **overrides: Any
) -> Response:
    context = profile_context(request, ctx, **overrides)
    return render(request, "profile/page.html", context, block=block, status_code=status_code)


@router.get("/profile")
def profile_page(request: Request, ctx: PageCtx) -> Response:
    return _page(request, ctx)


@router.post("/profile/language")
def change_language(
    request: Request, ctx: PageCtx, locale: Annotated[str, Form(max_length=10)] = ""
) -> Response:
    _ = gettext_for(request)
    try:
        organisation.set_locale(ctx, locale)
    except ServiceError as exc:
        return after_post(
            request,
            "/profile",
            error_text(request, exc),
            lambda: _page(request, ctx, "language"),
            "error",
        )
    # Say it in the language the next page will be in.
    lang = locale or i18n.negotiate(request.headers.get("Accept-Language"))
    message = i18n.translations(lang).gettext("Your language is saved.")
    if is_htmx(request):
        # Every string on the page changes: load the whole page again.
        response: Response = Response(status_code=204, headers={"HX-Redirect": "/profile"})
    else:
        response = RedirectResponse("/profile", status_code=303)
    set_flash(request, response, message)
    if locale:
        set_language_cookie(request, response, locale)
    else:
        # "Follow my browser": forget the choice made with the header's switch too.
        response.delete_cookie(LANG_COOKIE, path="/")
    return response


@router.post("/profile/password")
def change_password(
    request: Request,
    ctx: PageCtx,
    current_password: Annotated[str, Form(max_length=200)] = "",
    new_password: Annotated[str, Form(max_length=200)] = "",
    new_password_again: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _ = gettext_for(request)
    fields = ("current_password", "new_password", "new_password_again")
    try:
        if new_password != new_password_again:
            raise Invalid(
                "The two new passwords differ.",
                [Reason("new_password_again_different", "The two new passwords differ.")],
            )
        organisation.change_password(
            ctx,
            current_password,
            new_password,
            keep_session_id=request.state.auth.web_session.id,
        )
    except ServiceError as exc:
        errors = field_errors(request, exc, fields)
        return _page(request, ctx, "password", status_code=form_status(exc), password_errors=errors)
    message = _("Your password is changed. Your other browsers were signed out.")
    return after_post(request, "/profile", message, lambda: _page(request, ctx, "password"))


@router.post("/profile/tokens")
def create_token(
    request: Request,
    ctx: PageCtx,
    name: Annotated[str, Form(max_length=100)] = "",
    expires: Annotated[str, Form(max_length=10)] = DEFAULT_TOKEN_EXPIRY,
    can_sign: Annotated[str, Form(max_length=5)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Make a token and show its secret on this answer: once, never in a URL or cookie.

    A signing token needs the password again (a borrowed session cannot mint one)."""
    _ = gettext_for(request)
    form = _token_form(name, expires, can_sign == "1")
    assert ctx.actor is not None and ctx.actor.id is not None
    try:
        if expires not in TOKEN_EXPIRY_CHOICES:
            raise Invalid(_("Choose when the token expires."))
        new = accounts.create_token(
            ctx,
            ctx.actor.id,
            name=name,
            expires_in_days=None if expires == "never" else int(expires),
            can_sign=form["can_sign"],
            password=password or None,
        )
    except ServiceError as exc:
        errors = {"": [error_text(request, exc)]}
        return _page(request, ctx, "tokens", form_status(exc), token_form=form, token_errors=errors)
    response = _page(request, ctx, "tokens", new_token=new)
    # The secret is in this page only: keep it out of every cache and the history.
    response.headers["Cache-Control"] = "no-store"
    return response


def _own_token(ctx: Ctx, token_id: int) -> Any:
    assert ctx.actor is not None and ctx.actor.id is not None
    for token in accounts.tokens_of(ctx, ctx.actor.id):
        if token.id == token_id:
            return token
    raise NotFound(f"Token {token_id} does not exist.")


@router.get("/profile/tokens/{token_id}/revoke")
def confirm_revoke(request: Request, ctx: PageCtx, token_id: int) -> Response:
    """The confirmation step without JavaScript (htmx asks with hx-confirm instead)."""
    token = _own_token(ctx, token_id)
    if token.revoked_at is not None:
        return RedirectResponse("/profile#tokens", status_code=303)
    return render(request, "profile/confirm_revoke.html", {"token": token})


@router.post("/profile/tokens/{token_id}/revoke")
def revoke_token(request: Request, ctx: PageCtx, token_id: int) -> Response:
    _ = gettext_for(request)
    token = _own_token(ctx, token_id)
    try:
        accounts.revoke_token(ctx, token_id)
    except ServiceError as exc:
        return after_post(
            request,
            "/profile",
            error_text(request, exc),
            lambda: _page(request, ctx, "tokens"),
            "error",
        )
    message = _("The token “%(name)s” is revoked; it no longer works.") % {"name": token.name}
    return after_post(request, "/profile#tokens", message, lambda: _page(request, ctx, "tokens"))
