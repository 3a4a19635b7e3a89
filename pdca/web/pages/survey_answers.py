"""The public answer page `/s/{token}`: no sign-in, one answer per invitation, both
languages, a plain form that works without JavaScript on a phone."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from pdca import i18n
from pdca.services import surveys
from pdca.services.accounts import Throttled
from pdca.services.context import Ctx
from pdca.services.errors import Conflict, NotFound
from pdca.web.deps import AnonymousCtxDep, ReleasingRoute, client_address
from pdca.web.pages.common import FormDep, choose_language
from pdca.web.render import render

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)
TOKEN_MAX = 100


def _language(request: Request) -> str:
    asked = request.query_params.get("lang")
    lang = choose_language(request, asked if asked in i18n.LANGUAGES else None)
    request.state.lang = lang
    request.state.fmt_locale = lang
    return lang


def _page(
    request: Request,
    *,
    token: str,
    form: surveys.Form | None,
    state: str = "open",
    message: str = "",
    posted: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    title = _("Customer survey")
    if form is not None:
        title = (form.survey.title_zh if lang == "zh_CN" else None) or form.survey.title
    response = render(
        request,
        "surveys/answer.html",
        {
            "token": token,
            "survey_title": title,
            "questions": form.version.questions if form else [],
            "state": state,
            "message": message,
            "form": posted or {},
            "errors": {k: _(v) for k, v in (errors or {}).items()},
        },
        status_code=status_code,
        headers=headers,
    )
    # A link that answers a survey is a secret: no cache keeps it, no referrer leaks it.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _refused(request: Request, token: str, exc: Exception, status: int, **extra: Any) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    detail = getattr(exc, "detail", str(exc))
    return _page(
        request,
        token=token,
        form=None,
        state="refused",
        message=_(detail),
        status_code=status,
        **extra,
    )


def _form_or_refusal(request: Request, ctx: Ctx, token: str) -> surveys.Form | Response:
    if len(token) > TOKEN_MAX:
        return _refused(request, token, NotFound("This survey link is not known."), 404)
    try:
        return surveys.form_for(ctx, token)
    except NotFound as exc:
        return _refused(request, token, exc, 404)


@router.get("/s/{token}")
def answer_page(request: Request, ctx: AnonymousCtxDep, token: str) -> Response:
    _language(request)
    form = _form_or_refusal(request, ctx, token)
    if isinstance(form, Response):
        return form
    return _page(request, token=token, form=form, state="answered" if form.answered else "open")


@router.post("/s/{token}")
def answer(request: Request, ctx: AnonymousCtxDep, data: FormDep, token: str) -> Response:
    lang = _language(request)
    form = _form_or_refusal(request, ctx, token)
    if isinstance(form, Response):
        return form
    posted = {k: str(v) for k, v in data.items() if isinstance(v, str)}
    try:
        surveys.answer(ctx, token, posted, lang=lang, address=client_address(request))
    except surveys.Unanswered as exc:
        return _page(
            request, token=token, form=form, posted=posted, errors=exc.errors, status_code=422
        )
    except Conflict as exc:
        return _refused(request, token, exc, 409)
    except Throttled as exc:
        return _refused(request, token, exc, 429, headers={"Retry-After": str(exc.retry_after)})
    except NotFound as exc:
        return _refused(request, token, exc, 404)
    suffix = f"?lang={lang}" if request.query_params.get("lang") else ""
    return RedirectResponse(f"/s/{token}{suffix}", status_code=303)
