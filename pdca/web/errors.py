"""Errors: application/problem+json (RFC 9457) for the API, HTML pages for people.

Nothing a client sends may produce a bare 500: service errors carry their status,
validation errors list their reasons, a locked database is a 503 with Retry-After.
"""

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import (
    DataError,
    IntegrityError,
    InternalError,
    OperationalError,
    StatementError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from pdca import i18n, storage
from pdca.engine.facts import N_
from pdca.services.accounts import Throttled
from pdca.services.errors import Conflict, Refused, ServiceError
from pdca.web.deps import close_request_session, resolve_pending
from pdca.web.pages.common import LoginRequired, login_redirect
from pdca.web.render import error_text, is_htmx, reason_text, render, with_flash_oob

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("pdca")
ERRORS_PATH = "/api/v1/errors"


@dataclass(frozen=True)
class ProblemType:
    status: int
    title: str
    description: str


# Every kind of error the API answers, with its own `type` URI (ERRORS_PATH/<kind>, which
# serves this description) so that a client can branch on the kind, not on the wording.
PROBLEM_TYPES: dict[str, ProblemType] = {
    "invalid-input": ProblemType(
        422, "Invalid input", "The request breaks the schema or a rule; `reasons` lists each."
    ),
    "not-authenticated": ProblemType(
        401, "Not authenticated", "Missing, unknown, expired or revoked credentials."
    ),
    "forbidden": ProblemType(
        403, "Forbidden", "Not allowed for your role or token; the detail says why."
    ),
    "not-found": ProblemType(
        404, "Not found", "No such resource (or a reference to one in the body)."
    ),
    "method-not-allowed": ProblemType(
        405,
        "Method not allowed",
        "The path does not take this method; `Allow` lists those it does.",
    ),
    "stale-version": ProblemType(
        409,
        "Stale version",
        "Someone changed the resource since you read it: read it again, then retry your change.",
    ),
    "transition-refused": ProblemType(
        409,
        "Transition refused",
        "The workflow's guards refused the step; `reasons` lists every unmet condition.",
    ),
    "conflict": ProblemType(
        409,
        "Conflict",
        "The change clashes with the resource's state (already done, a duplicate…).",
    ),
    "request-in-progress": ProblemType(
        409,
        "Request in progress",
        "The first request with this Idempotency-Key is still running: retry after "
        "`Retry-After` seconds to get its answer.",
    ),
    "idempotency-key-reused": ProblemType(
        422,
        "Idempotency-Key reused",
        "The Idempotency-Key was first sent with another request; send a new key with a "
        "new request.",
    ),
    "precondition-failed": ProblemType(
        412, "Precondition failed", "`If-Match` names a version that is no longer current."
    ),
    "too-large": ProblemType(413, "Too large", "The body or the file is past the size limit."),
    "throttled": ProblemType(
        429, "Too many attempts", "Too many failed sign-ins; wait for `Retry-After` seconds."
    ),
    "internal-error": ProblemType(500, "Internal error", "Our fault; it was logged."),
    "busy": ProblemType(
        503, "Service unavailable", "The server or database is busy: retry after `Retry-After`."
    ),
    "cannot-store": ProblemType(
        503,
        "Changes cannot be saved",
        "The database cannot take writes (read-only, full, failing): retrying will not help "
        "until an administrator fixes it.",
    ),
}
KIND_OF_STATUS = {
    401: "not-authenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    412: "precondition-failed",
    413: "too-large",
    422: "invalid-input",
    429: "throttled",
    500: "internal-error",
    503: "busy",
}
STALE_CODES = ("stale_version", "changed_meanwhile")
# Refusals whose summary code has a problem type of its own.
KIND_OF_CODE = {
    "request_in_progress": "request-in-progress",
    "idempotency_key_reused": "idempotency-key-reused",
}


def type_uri(kind: str) -> str:
    return f"{ERRORS_PATH}/{kind}"


def kind_of(exc: ServiceError) -> str:
    if isinstance(exc, Refused):
        return "transition-refused"
    if isinstance(exc, Conflict) and exc.summary is not None and exc.summary.code in STALE_CODES:
        return "stale-version"
    if exc.summary is not None and exc.summary.code in KIND_OF_CODE:
        return KIND_OF_CODE[exc.summary.code]
    return KIND_OF_STATUS.get(exc.status_hint, "invalid-input")


HTTP_TITLES = {
    401: N_("Not authenticated"),
    403: N_("Forbidden"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
}
STORAGE_FAULTS: dict[storage.Fault, str] = {
    "read_only": N_(
        "The database is read-only, so nothing can be saved. "
        "Ask your administrator to make it writable; your change was not saved."
    ),
    "full": N_(
        "The database's disk is full, so nothing can be saved. "
        "Ask your administrator to free space; your change was not saved."
    ),
    "io_error": N_(
        "The database's disk reports an error, so nothing can be saved. "
        "Ask your administrator; your change was not saved."
    ),
}


def problem(
    status: int,
    title: str,
    detail: str,
    reasons: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    kind: str | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": type_uri(kind or KIND_OF_STATUS.get(status, "invalid-input")),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if reasons:
        body["reasons"] = reasons
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


# Pydantic's error types, said in words the reader's language has (its own messages are
# English only). Parameters come from the error's context; an unknown type keeps its message.
VALIDATION_SENTENCES: dict[str, str] = {
    "missing": N_("%(field)s: required."),
    "extra_forbidden": N_("%(field)s: not a field of this request."),
    "literal_error": N_("%(field)s: one of %(expected)s."),
    "enum": N_("%(field)s: one of %(expected)s."),
    "string_too_long": N_("%(field)s: at most %(max_length)s characters."),
    "string_too_short": N_("%(field)s: at least %(min_length)s characters."),
    "too_long": N_("%(field)s: at most %(max_length)s items."),
    "too_short": N_("%(field)s: at least %(min_length)s items."),
    "greater_than_equal": N_("%(field)s: at least %(ge)s."),
    "greater_than": N_("%(field)s: more than %(gt)s."),
    "less_than_equal": N_("%(field)s: at most %(le)s."),
    "less_than": N_("%(field)s: less than %(lt)s."),
    "int_type": N_("%(field)s: a whole number."),
    "int_parsing": N_("%(field)s: a whole number."),
    "int_from_float": N_("%(field)s: a whole number."),
    "float_type": N_("%(field)s: a number."),
    "float_parsing": N_("%(field)s: a number."),
    "finite_number": N_("%(field)s: a finite number."),
    "bool_type": N_("%(field)s: true or false."),
    "bool_parsing": N_("%(field)s: true or false."),
    "string_type": N_("%(field)s: a text."),
    "date_type": N_("%(field)s: a date (YYYY-MM-DD)."),
    "date_parsing": N_("%(field)s: a date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": N_("%(field)s: a date (YYYY-MM-DD)."),
    "datetime_type": N_("%(field)s: a date and time (ISO 8601)."),
    "datetime_parsing": N_("%(field)s: a date and time (ISO 8601)."),
    "datetime_from_date_parsing": N_("%(field)s: a date and time (ISO 8601)."),
    "timezone_aware": N_("%(field)s: a date and time with its time zone."),
    "dict_type": N_("%(field)s: an object."),
    "model_type": N_("%(field)s: an object."),
    "model_attributes_type": N_("%(field)s: an object."),
    "list_type": N_("%(field)s: a list."),
    "json_invalid": N_("%(field)s: not valid JSON."),
    "json_type": N_("%(field)s: not valid JSON."),
}


def validation_message(error: Any, where: str, lang: str) -> str:
    """One request-validation error in the reader's language (field names stay as sent)."""
    template = VALIDATION_SENTENCES.get(str(error.get("type")))
    context = dict(error.get("ctx") or {})
    if template is None:
        return f"{where}: {error.get('msg', 'invalid')}"
    params = {"field": where, **{k: str(v) for k, v in context.items()}}
    if "expected" in params:  # pydantic's "'a', 'b' or 'c'": the list without the English "or"
        params["expected"] = params["expected"].replace(" or ", ", ")
    try:
        return i18n.translations(lang).gettext(template) % params
    except (KeyError, TypeError, ValueError):
        return f"{where}: {error.get('msg', 'invalid')}"


def _location(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "request"


def wants_html(request: Request) -> bool:
    """Pages get HTML error pages; the API (and anything asking for JSON) problem+json."""
    if request.url.path.startswith("/api/") or request.url.path == "/healthz":
        return False
    return is_htmx(request) or "text/html" in request.headers.get("accept", "")


def html_error(
    request: Request, status: int, title: str, detail: str, reasons: list[str] | None = None
) -> Response:
    try:
        return _html_error(request, status, title, detail, reasons)
    finally:
        close_request_session(request)


def _html_error(
    request: Request, status: int, title: str, detail: str, reasons: list[str] | None
) -> Response:
    if is_htmx(request):
        # An htmx request gets the refusal as a flash beside what the person did, swapped
        # out of band; the element they acted on is left as it was.
        lang = getattr(request.state, "lang", "en")
        translate = i18n.translations(lang).gettext
        text = " ".join([translate(title) + ":", translate(detail), *(reasons or [])]).strip()
        request.state.flash = ("error", text)
        response = with_flash_oob(request, HTMLResponse("", status_code=status))
        response.headers["HX-Reswap"] = "none"
        return response
    context = {"title": title, "detail": detail, "reasons": reasons or []}
    return render(request, "error.html", context, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    # Plain functions, not coroutines: Starlette runs them in the thread pool. An error
    # page draws the navigation bar, whose counts query the database, and a query on
    # the event loop can stall every request (habit 11).
    @app.exception_handler(LoginRequired)
    def _login(request: Request, exc: LoginRequired) -> Response:
        redirect = login_redirect(exc)
        if is_htmx(request):
            # htmx would follow a 303 in the background and swap the sign-in page into
            # the fragment; HX-Redirect sends the whole browser there instead.
            return Response(status_code=401, headers={"HX-Redirect": redirect.headers["location"]})
        return redirect

    @app.exception_handler(ServiceError)
    def _service_error(request: Request, exc: ServiceError) -> Response:
        if wants_html(request):
            # In the reader's language: a reason with parameters has no catalog entry as
            # the English sentence it was formatted into.
            lang = getattr(request.state, "lang", i18n.DEFAULT_LANGUAGE)
            response = html_error(
                request,
                exc.status_hint,
                exc.title,
                error_text(exc, lang) or exc.detail,
                [reason_text(r, lang) for r in exc.reasons],
            )
            if isinstance(exc, Throttled):
                response.headers["Retry-After"] = str(exc.retry_after)
            return response
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_hint == 401 else None
        # A throttled sign-in, a request still in progress: come back after this long.
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
        # The words in the caller's language (Accept-Language, else their profile); codes stay.
        lang = getattr(request.state, "lang", None) or i18n.negotiate(
            request.headers.get("Accept-Language")
        )
        reasons = [{"code": r.code, "message": reason_text(r, lang)} for r in exc.reasons]
        detail = error_text(exc, lang) or exc.detail
        return problem(exc.status_hint, exc.title, detail, reasons, headers, kind_of(exc))

    @app.exception_handler(RequestValidationError)
    def _validation(request: Request, exc: RequestValidationError) -> Response:
        try:
            resolve_pending(request)  # no credentials: 401, before anything about the input
        except ServiceError as refused:
            return _service_error(request, refused)
        finally:
            # The route's session was closed as the error left it; the check read again.
            close_request_session(request)
        lang = getattr(request.state, "lang", None) or i18n.negotiate(
            request.headers.get("Accept-Language")
        )
        reasons = []
        for error in exc.errors():
            where = _location(tuple(error.get("loc", ())))
            message = validation_message(error, where, lang)
            reasons.append({"code": "invalid", "field": where, "message": message})
        if wants_html(request):
            return html_error(
                request,
                422,
                N_("Invalid input"),
                N_("The form is not valid."),
                [r["message"] for r in reasons],
            )
        detail = i18n.translations(lang).gettext(N_("The request is not valid; see the reasons."))
        return problem(422, "Invalid input", detail, reasons)

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 400:
            # FastAPI's "error parsing the body" (bytes that are not UTF-8): bad input,
            # so a 422 with its reason, like a body that is not JSON at all.
            message = N_("The body could not be read: send JSON (or a form) encoded as UTF-8.")
            if wants_html(request):
                return html_error(request, 422, "Invalid input", message)
            reasons = [{"code": "invalid", "field": "body", "message": message}]
            return problem(
                422, "Invalid input", "The request is not valid; see the reasons.", reasons
            )
        title = HTTP_TITLES.get(exc.status_code, N_("Error"))
        if wants_html(request):
            return html_error(request, exc.status_code, title, str(exc.detail))
        return problem(
            exc.status_code, title, str(exc.detail), headers=getattr(exc, "headers", None)
        )

    def _unavailable(request: Request, detail: str) -> Response:
        if wants_html(request):
            response = html_error(request, 503, N_("Service unavailable"), detail)
            response.headers["Retry-After"] = "2"
            return response
        return problem(503, "Service unavailable", detail, headers={"Retry-After": "2"})

    def _cannot_store(request: Request, fault: storage.Fault) -> Response:
        # No Retry-After: retrying will not help until someone fixes the store.
        detail = STORAGE_FAULTS[fault]
        if wants_html(request):
            return html_error(request, 503, N_("Changes cannot be saved"), detail)
        return problem(503, "Changes cannot be saved", detail, kind="cannot-store")

    @app.exception_handler(OperationalError)
    def _database(request: Request, exc: OperationalError) -> Response:
        fault = storage.storage_fault(exc)
        if fault is not None:
            log.error("the database cannot take writes (%s): %s", fault, exc)
            return _cannot_store(request, fault)
        log.warning("database unavailable: %s", exc)
        return _unavailable(
            request, N_("The database is busy or unreachable; try again in a moment.")
        )

    @app.exception_handler(InternalError)
    def _database_internal(request: Request, exc: InternalError) -> Response:
        # PostgreSQL reports a read-only transaction (a standby, a read-only default) here.
        fault = storage.storage_fault(exc)
        if fault is None:
            raise exc
        log.error("the database cannot take writes (%s): %s", fault, exc)
        return _cannot_store(request, fault)

    @app.exception_handler(IntegrityError)
    def _integrity(request: Request, exc: IntegrityError) -> Response:
        # The services check references before writing; a foreign key that still fails
        # names a row that does not exist (or was deleted meanwhile), a unique key a
        # duplicate that raced in: the client's input or a lost race, never a 500.
        text = str(exc.orig).lower()
        if "foreign key" in text:
            status, kind = 422, "invalid-input"
            detail = N_("The request refers to something that does not exist.")
        else:
            status, kind = 409, "conflict"
            detail = N_("The change clashes with one made meanwhile; reload and try again.")
        log.info("integrity error answered %s: %s", status, exc)
        if wants_html(request):
            return html_error(request, status, N_("Invalid input"), detail)
        return problem(status, PROBLEM_TYPES[kind].title, detail, kind=kind)

    @app.exception_handler(PoolTimeout)
    def _saturated(request: Request, exc: PoolTimeout) -> Response:
        # Every connection stayed taken for the whole pool timeout: back-pressure, not a bug.
        log.warning("connection pool exhausted: %s", exc)
        return _unavailable(request, N_("The server is busy; try again in a moment."))

    def _unstorable(request: Request, exc: Exception) -> Response:
        # A NUL character (PostgreSQL) or an id past the integer range (both databases)
        # comes from the client: their input, not our failure.
        log.info("unstorable input: %s", exc)
        detail = N_(
            "A value in the request cannot be stored or looked up "
            "(a NUL character, a lone surrogate, or a number out of range)."
        )
        if wants_html(request):
            return html_error(request, 422, "Invalid input", detail)
        return problem(422, "Invalid input", detail)

    def _unconvertible(request: Request, exc: Exception) -> Response:
        # SQLAlchemy wraps what it could not convert for the database, such as a time that
        # falls before year 1 once shifted to UTC: the client's input again. Anything else
        # it wraps (an IntegrityError…) is our failure and goes on to the 500 below.
        if isinstance(getattr(exc, "orig", None), OverflowError | UnicodeEncodeError):
            return _unstorable(request, exc)
        raise exc

    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(OverflowError, _unstorable)
    # A lone surrogate that slipped past the checks cannot be encoded for the database.
    app.add_exception_handler(UnicodeEncodeError, _unstorable)
    app.add_exception_handler(StatementError, _unconvertible)

    @app.exception_handler(Exception)
    def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return problem(500, "Internal error", "Something went wrong on our side; it was logged.")
