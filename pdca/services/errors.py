"""Errors the services raise; the web layer maps each to an HTTP status."""

from collections.abc import Sequence

from pdca.engine.facts import N_, Reason


class ServiceError(Exception):
    status_hint = 400
    title = N_("Bad request")

    def __init__(self, detail: str | Reason, reasons: Sequence[Reason | str] = ()) -> None:
        # A Reason as detail carries its template, so pages can say it in their language.
        self.summary = detail if isinstance(detail, Reason) else None
        self.detail = detail.message if isinstance(detail, Reason) else detail
        super().__init__(self.detail)
        self.reasons: list[Reason] = [
            r if isinstance(r, Reason) else Reason("invalid", r) for r in reasons
        ]


class NotFound(ServiceError):
    status_hint = 404
    title = N_("Not found")


class Forbidden(ServiceError):
    status_hint = 403
    title = N_("Forbidden")


class Conflict(ServiceError):
    status_hint = 409
    title = N_("Conflict")


class Invalid(ServiceError):
    status_hint = 422
    title = N_("Invalid input")


class Refused(ServiceError):
    """A transition whose guards said no; `reasons` says every one of them."""

    status_hint = 409
    title = N_("Transition refused")


class Unavailable(ServiceError):
    """The database is busy (a SQLite lock held too long); try again."""

    status_hint = 503
    title = N_("Service unavailable")


class TooLarge(ServiceError):
    """An upload past the configured size limit."""

    status_hint = 413
    title = N_("Too large")
