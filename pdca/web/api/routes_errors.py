"""What each problem+json `type` means: the URI in an error answer leads here."""

from fastapi import APIRouter

from pdca.services.errors import NotFound
from pdca.web.api import schemas as s
from pdca.web.api.idempotency import ApiRoute
from pdca.web.errors import PROBLEM_TYPES, type_uri

router = APIRouter(tags=["errors"], route_class=ApiRoute)


def _out(kind: str) -> s.ErrorTypeOut:
    known = PROBLEM_TYPES[kind]
    return s.ErrorTypeOut(
        type=type_uri(kind), status=known.status, title=known.title, description=known.description
    )


@router.get(
    "/errors",
    response_model=list[s.ErrorTypeOut],
    summary="Every kind of error, with its type URI (no sign-in needed)",
)
def list_error_types() -> list[s.ErrorTypeOut]:
    return [_out(kind) for kind in PROBLEM_TYPES]


@router.get(
    "/errors/{kind}",
    response_model=s.ErrorTypeOut,
    summary="What one kind of error means (the `type` of a problem+json answer)",
)
def error_type(kind: str) -> s.ErrorTypeOut:
    if kind not in PROBLEM_TYPES:
        raise NotFound(f"There is no kind of error named {kind!r}.")
    return _out(kind)
