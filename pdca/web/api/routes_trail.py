"""The audit trail for auditors: its last verification, a new one, and the export."""

from collections.abc import Iterator
from datetime import UTC
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from pdca.services import trail
from pdca.web.api import schemas as s
from pdca.web.api.idempotency import ApiRoute
from pdca.web.deps import CtxDep
from pdca.web.spreadsheets import CSV_MEDIA, XLSX_MEDIA, Sheet, xlsx_stream

router = APIRouter(tags=["audit"], route_class=ApiRoute)
MEDIA = {"csv": CSV_MEDIA, "json": "application/json", "xlsx": XLSX_MEDIA}
# The workbook's columns: the CSV's, with the time twice. Excel keeps a time to the
# millisecond and the hash covers microseconds, so `at (UTC)` is a date-time cell for
# people and `at_hashed` the exact text the hash covers. Ids are numbers; the rest is
# text exactly as stored (`data` as the CSV's JSON text), never a formula.
XLSX_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "int"),
    ("at (UTC)", "timestamp"),
    ("at_hashed", "exact"),
    ("actor_id", "int"),
    *((key, "int" if key == "entity_id" else "exact") for key in trail.COLUMNS[3:]),
)


def _xlsx_rows(engine: Any) -> Iterator[list[Any]]:
    for record, at in trail.records(engine):
        record["data"] = trail.data_text(record["data"])
        yield [record["id"], at, record["at"], *(record[key] for key in trail.COLUMNS[2:])]


def download(engine: Any, fmt: trail.Format, stamp: str) -> StreamingResponse:
    """The whole trail as a file (call trail.check_export first)."""
    if fmt == "xlsx":
        body: Iterator[Any] = xlsx_stream(
            [Sheet("pdca trail", XLSX_COLUMNS, _xlsx_rows(engine))], UTC
        )
    else:
        body = trail.export(engine, fmt)
    return StreamingResponse(
        body,
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="pdca-trail-{stamp}.{fmt}"'},
    )


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
    summary="The whole trail with each event's hash, as JSON, CSV or XLSX (streamed)",
    description="`json` (default): an array of events. `csv`: UTF-8 with a BOM, `data` as JSON "
    "text. `xlsx`: typed cells (ids as numbers, the time as a UTC date-time and as the exact "
    "text the hash covers, `at_hashed`), a header row and frozen panes. Every format carries "
    "each event's stored hash, so the chain can be checked again from the file alone.",
    responses={200: {"content": {"text/csv": {}, "application/json": {}, XLSX_MEDIA: {}}}},
)
def export(
    request: Request,
    ctx: CtxDep,
    format: Annotated[Literal["csv", "json", "xlsx"], Query()] = "json",
) -> StreamingResponse:
    trail.check_export(ctx)
    return download(request.app.state.engine, format, f"{ctx.now():%Y%m%d-%H%M%S}")
