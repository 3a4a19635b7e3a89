"""The audit trail for auditors: its last verification, a new one, and the export."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from pdca.services import trail
from pdca.web.api import schemas as s
from pdca.web.api.idempotency import ApiRoute
from pdca.web.deps import CtxDep

router = APIRouter(tags=["audit"], route_class=ApiRoute)
MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def verification_out(found: trail.Verification) -> s.VerificationOut:
    return s.VerificationOut(
        at=found.at,
        by=found.by,
        checked=found.checked,
        intact=found.intact,
        broken_at=found.broken_at,
        reason=found.reason or None,
    )


@router.get(
    "/trail/verification",
    response_model=s.LastVerificationOut,
    summary="The last verification of the trail's hash chain (null when never verified)",
)
def last_verification(ctx: CtxDep) -> s.LastVerificationOut:
    found = trail.last_verification(ctx)
    return s.LastVerificationOut(last=verification_out(found) if found else None)


@router.post(
    "/trail/verification",
    response_model=s.VerificationOut,
    status_code=201,
    summary="Walk the whole hash chain now; the outcome is recorded in the trail",
)
def verify(ctx: CtxDep) -> s.VerificationOut:
    return verification_out(trail.verify(ctx))


@router.get(
    "/trail/export",
    summary="The whole trail with each event's hash, as CSV or JSON (streamed)",
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def export(
    request: Request,
    ctx: CtxDep,
    format: Annotated[Literal["csv", "json"], Query()] = "json",
) -> StreamingResponse:
    trail.check_export(ctx)
    name = f"pdca-trail-{ctx.now():%Y%m%d-%H%M%S}.{format}"
    return StreamingResponse(
        trail.export(request.app.state.engine, format),
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
