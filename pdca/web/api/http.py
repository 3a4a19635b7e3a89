"""HTTP's own words for versions and new resources: ETag, If-Match (412) and Location."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, get_args, get_origin

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant

from pdca.services.errors import Conflict, Invalid, ServiceError
from pdca.web.errors import STALE_CODES

API = "/api/v1"
ETAG = re.compile(r'^(W/)?"(\d{1,10})"$')


class PreconditionFailed(ServiceError):
    """If-Match named a version that is no longer the resource's."""

    status_hint = 412
    title = "Precondition failed"


def created(response: Response, path: str) -> None:
    response.headers["Location"] = API + path


def etag(response: Response, version: int) -> None:
    # Weak: the version says the resource is the same, not that the bytes are.
    response.headers["ETag"] = f'W/"{version}"'


def expected_version(request: Request, body_version: int | None) -> int:
    """The version the client read: `version` in the body, or the ETag sent in If-Match."""
    header = request.headers.get("if-match")
    if header is None:
        if body_version is None:
            raise Invalid("Send the version you read: `version` in the body, or If-Match.")
        return body_version
    found = ETAG.match(header.strip())
    if found is None:
        raise Invalid('If-Match takes the ETag you read, e.g. W/"3".')
    version = int(found.group(2))
    if body_version is not None and body_version != version:
        raise Invalid("`version` and If-Match name different versions; send one.")
    return version


@contextmanager
def preconditions(request: Request) -> Iterator[None]:
    """A stale version is 409 for `version` in the body, 412 for If-Match (as HTTP says)."""
    try:
        yield
    except Conflict as exc:
        stale = exc.summary is not None and exc.summary.code in STALE_CODES
        if stale and "if-match" in request.headers:
            raise PreconditionFailed(exc.summary or exc.detail) from exc
        raise


async def known_query_only(request: Request) -> None:
    """A query parameter the operation does not declare is refused (422), not ignored:
    `?overdue_only=true` silently returning every action is the client's bug hidden.

    async: it reads only the request, never the database (habit 11).
    """
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known, repeatable = _query_names(dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        shown = ", ".join(repr(name[:50]) for name in unknown[:5])
        raise Invalid(f"Unknown query parameter(s): {shown}.")
    # `?q=a&q=b` would silently keep one of the two: say which parameter takes one value.
    params = request.query_params
    twice = sorted(n for n in params if n not in repeatable and len(params.getlist(n)) > 1)
    if twice:
        shown = ", ".join(repr(name) for name in twice[:5])
        raise Invalid(f"Query parameter(s) given more than once: {shown}; each takes one value.")


def _query_names(dependant: Dependant) -> tuple[frozenset[str], frozenset[str]]:
    """The query parameters an operation declares (its dependencies' included), and
    those of them that take a list (`?state=do&state=check`)."""
    names: set[str] = set()
    lists: set[str] = set()
    todo = [dependant]
    while todo:
        current = todo.pop()
        names |= {p.alias for p in current.query_params}
        lists |= {p.alias for p in current.query_params if _takes_list(p.field_info.annotation)}
        todo.extend(current.dependencies)
    return frozenset(names), frozenset(lists)


def _takes_list(annotation: Any) -> bool:
    if get_origin(annotation) in (list, tuple, set, frozenset):
        return True
    return any(_takes_list(arm) for arm in get_args(annotation))
