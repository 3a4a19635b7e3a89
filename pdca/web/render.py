"""Rendering pages: one Jinja environment, a page or just one of its blocks for htmx.

A page template names its updatable regions as blocks whose names match DOM ids.
A real htmx request (HX-Request, not boosted, not a history restore) gets only the
block it targets; everything else gets the whole page. `Vary: HX-Request` keeps
caches from mixing the two.
"""

import functools
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2_fragments import render_block

from pdca import i18n
from pdca.engine.facts import Reason
from pdca.services.keys import key
from pdca.web import texts
from pdca.web.zones import reader_zone

FLASH_COOKIE = "pdca_flash"


@functools.cache
def make_environment(templates_dir: Path, *, auto_reload: bool = True) -> Environment:
    """One environment per templates directory and process, shared by every app made.

    Nothing renders into it per app or per request (the language comes with each
    render's context), and sharing keeps the compiled templates: compiling them again
    for each app a test makes was an eighth of the page tests' time.
    """
    # Without auto-reload (production) a template is compiled once and never stat'ed again.
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        auto_reload=auto_reload,
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.globals["key"] = key
    env.globals["LANGUAGES"] = i18n.LANGUAGES
    return env


def is_htmx(request: Request) -> bool:
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-Boosted") != "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    block: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The page, or only `block` for an htmx request (always the page without htmx)."""
    env: Environment = request.app.state.templates
    full_context = {**base_context(request), **context}
    if block is not None and is_htmx(request):
        html = render_block(env, template, block, full_context)
        if getattr(request.state, "flash", None) and 'id="flash"' not in html:
            # The confirmation of what was just done (a flash that followed a redirect),
            # which a fragment alone would swallow.
            html += _flash_html(request)
    else:
        html = env.get_template(template).render(full_context)
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    response.headers["Vary"] = "HX-Request"
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(FLASH_COOKIE, path="/")  # shown once
    return response


def reason_text(reason: Reason | str, lang: str) -> str:
    """A refusal's reason (or a policy sentence) in the reader's language."""
    translations = i18n.translations(lang)
    if isinstance(reason, Reason):
        return reason.translated(translations.gettext, translations.ngettext, lang)
    return translations.gettext(str(reason))


def error_text(error: Any, lang: str) -> str:
    """A service error's summary in the reader's language (falls back to its detail)."""
    summary = getattr(error, "summary", None)
    if summary is not None:
        return reason_text(summary, lang)
    detail = getattr(error, "detail", "") or ""
    return i18n.translations(lang).gettext(detail) if detail else ""


def error_message(error: Any, lang: str) -> str:
    """One line for a flash or a form: the summary, then every reason, all translated."""
    reasons = [reason_text(r, lang) for r in getattr(error, "reasons", [])]
    return " ".join([error_text(error, lang), *reasons]).strip()


def base_context(request: Request) -> dict[str, Any]:
    lang = getattr(request.state, "lang", i18n.DEFAULT_LANGUAGE)
    translations = i18n.translations(lang)
    region = getattr(request.state, "fmt_locale", lang)  # dates and numbers: en_GB, en_US…
    zone = reader_zone(request)  # the times the system wrote into its sentences
    settings = request.app.state.settings
    auth = getattr(request.state, "auth", None)
    return {
        "request": request,
        "lang": lang,
        "_": translations.gettext,
        "gettext": translations.gettext,
        "ngettext": translations.ngettext,
        "fmt_date": lambda d, fmt="medium": i18n.format_date(d, region, fmt),
        "fmt_datetime": lambda d, fmt="medium": i18n.format_datetime(d, region, fmt),
        "fmt_number": lambda n: i18n.format_number(n, region),
        "kpi_name": lambda kpi: i18n.kpi_name(kpi, lang),
        "history_value": lambda field, value: texts.history_value(field, value, lang),
        "signature_meaning": lambda meaning: texts.signature_meaning(meaning, lang),
        "title_of": lambda titles: titles.get(lang) or titles.get("en", ""),
        "reason_text": lambda reason: reason_text(reason, lang),
        "error_text": lambda error: error_text(error, lang),
        "event_note": lambda entry: texts.event_note(entry, lang),
        "problem_text": lambda problem: texts.problem_text(problem, lang, zone, region),
        "snapshot_title": lambda snapshot: texts.snapshot_title(snapshot, lang),
        "occurrence_reason": lambda occurrence: texts.occurrence_reason(
            occurrence, lang, zone, region
        ),
        "rule_title": lambda rule: texts.rule_titles(translations.gettext).get(rule, rule),
        "me": auth.user if auth else None,
        "csrf_token": auth.web_session.csrf_token if auth and auth.web_session else "",
        "htmx_url": settings.htmx_url,
        "htmx_sri": settings.htmx_sri,
        "htmx_fallback_url": f"/static/vendor/htmx-{settings.htmx_version}.min.js",
        "flash": getattr(request.state, "flash", None),
        "nav_counts": getattr(request.state, "nav_counts", None),
    }


def _flash_html(request: Request) -> str:
    """The flash region as an out-of-band swap; once per answer."""
    if getattr(request.state, "flash_sent", False):
        return ""
    request.state.flash_sent = True
    env: Environment = request.app.state.templates
    flash = getattr(request.state, "flash", None)
    return env.get_template("partials/flash.html").render(flash=flash, oob=True)


def with_flash_oob(request: Request, response: HTMLResponse) -> HTMLResponse:
    """Append the flash region as an out-of-band swap, so a message shows with the block."""
    html = _flash_html(request)
    response.body = bytes(response.body) + html.encode()
    response.headers["content-length"] = str(len(response.body))
    return response
