"""KPIs, their measurements, the scorecard and the Pareto of problems."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from pdca.engine.detection import ControlLimits
from pdca.models import Kpi
from pdca.services import control_limits, kpis, queries, spc
from pdca.services.errors import Invalid
from pdca.services.keys import key
from pdca.services.kpis import RowIn
from pdca.web.api import schemas as s
from pdca.web.api.http import created, etag, expected_version, preconditions
from pdca.web.api.idempotency import ApiRoute
from pdca.web.api.types import EXPORT_CONTENT, ExportFormat, QueryBool, QueryId, QueryMoment, Search
from pdca.web.deps import CtxDep
from pdca.web.exports import download

router = APIRouter(tags=["kpis"], route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


def kpi_out(kpi: Kpi, response: Response | None = None) -> s.KpiOut:
    if response is not None:
        etag(response, kpi.version)
    return s.KpiOut(**kpi.model_dump())


@router.get(
    "/kpis",
    response_model=s.PageOut[s.KpiOut],
    responses=EXPORT_CONTENT,  # type: ignore[arg-type]
    summary="The KPIs; as csv or xlsx, every measurement of the KPIs found, one row each",
)
def list_kpis(
    ctx: CtxDep,
    department_id: QueryId | None = None,
    perspective: s.PerspectiveT | None = None,
    active: QueryBool | None = True,
    q: Search = None,
    limit: Limit = 100,
    offset: Offset = 0,
    format: ExportFormat = "json",
) -> Any:
    found = queries.KpiFilter(
        department_id=department_id, perspective=perspective, active=active, q=q
    )
    if format != "json":
        return download(ctx, "measurements", found, format)
    rows = list(ctx.session.exec(queries.kpi_query(found)))
    return s.PageOut(
        items=[kpi_out(k) for k in rows[offset : offset + limit]],
        total=len(rows),
        limit=limit,
        offset=offset,
    )


@router.post("/kpis", status_code=201, response_model=s.KpiOut)
def create_kpi(ctx: CtxDep, body: s.KpiCreate, response: Response) -> s.KpiOut:
    kpi = kpis.create_kpi(ctx, **body.model_dump())
    created(response, f"/kpis/{kpi.id}")
    return kpi_out(kpi, response)


@router.get("/kpis/{kpi_id}", response_model=s.KpiOut)
def get_kpi(ctx: CtxDep, kpi_id: int, response: Response) -> s.KpiOut:
    return kpi_out(kpis.get_kpi(ctx, kpi_id), response)


@router.patch(
    "/kpis/{kpi_id}",
    response_model=s.KpiOut,
    summary="Change a KPI; `active: false` retires it (no more checks), true brings it back",
)
def update_kpi(
    ctx: CtxDep, kpi_id: int, body: s.KpiUpdate, request: Request, response: Response
) -> s.KpiOut:
    changes = body.model_dump(exclude_unset=True, exclude={"version", "note"})
    with preconditions(request):
        kpi = kpis.update_kpi(
            ctx,
            kpi_id,
            version=expected_version(request, body.version),
            changes=changes,
            note=body.note,
        )
    return kpi_out(kpi, response)


SPC_MESSAGES = {
    "off": "No control-chart rule is chosen for this KPI.",
    "missing": "SPC is on, but no point lies in the baseline yet: its rules judge nothing.",
    "too_short": "SPC is off: the baseline holds fewer points than control limits need.",
    "constant": "SPC is off: every baseline point has the same value (no spread).",
    "unusable": "SPC is off: the baseline values are too large to compute limits from.",
    "weak": "Weak limits: from so few points, false signals come far more often; "
    "choose a longer baseline.",
    "ok": "The limits stand on a baseline of the recommended size.",
}


@router.get(
    "/kpis/{kpi_id}/spc",
    response_model=s.SpcOut,
    summary="Its control limits, and a warning when SPC is off or weak, with the false-alarm risk",
)
def spc_of(ctx: CtxDep, kpi_id: int) -> s.SpcOut:
    kpi = kpis.get_kpi(ctx, kpi_id)
    health = spc.health_of(ctx, kpi)
    limits = spc.control_limits_of(ctx, kpi) if health.state in ("weak", "ok") else None
    return s.SpcOut(
        state=health.state,  # type: ignore[arg-type]
        warning=health.warning,
        message=SPC_MESSAGES[health.state],
        baseline_points=health.points,
        minimum_points=health.minimum,
        recommended_points=health.recommended,
        false_alarm_every=health.false_alarm_every,
        false_alarm_every_recommended=health.false_alarm_every_recommended,
        rules=[r for r in kpi.rules if r in spc.detection.SPC_RULES],  # type: ignore[misc]
        limits=_limits_out(limits) if limits is not None else None,
        frozen=spc.is_frozen(kpi),
    )


def _limits_out(limits: ControlLimits) -> s.ControlLimitsOut:
    return s.ControlLimitsOut(
        centre=limits.centre,
        sigma=limits.sigma,
        ucl=limits.line(3),
        lcl=limits.line(-3),
        mr_bar=limits.mr_bar,
        mr_ucl=limits.mr_ucl,
    )


@router.get(
    "/kpis/{kpi_id}/baseline",
    response_model=s.BaselineOut,
    summary="Phase I: the baseline's points (excluded ones with why), frozen and recalculated "
    "limits, and the limits closed effective cycles propose",
)
def baseline_of(ctx: CtxDep, kpi_id: int, response: Response) -> s.BaselineOut:
    kpi = kpis.get_kpi(ctx, kpi_id)
    etag(response, kpi.version)
    return _baseline_out(ctx, kpi)


def _baseline_out(ctx: CtxDep, kpi: Kpi) -> s.BaselineOut:
    computed = spc.computed_limits(ctx, kpi)
    frozen = spc.control_limits_of(ctx, kpi) if spc.is_frozen(kpi) else None
    return s.BaselineOut(
        points=[
            s.BaselinePointOut(
                at=p.at,
                value=p.value,
                excluded=p.excluded is not None,
                reason=p.excluded.reason if p.excluded else None,
                excluded_by_id=p.excluded.excluded_by_id if p.excluded else None,
                excluded_at=p.excluded.excluded_at if p.excluded else None,
            )
            for p in spc.baseline_points(ctx, kpi)
        ],
        computed=_limits_out(computed) if computed is not None else None,
        frozen=s.FrozenLimitsOut(
            centre=frozen.centre,
            sigma=frozen.sigma,
            ucl=frozen.line(3),
            lcl=frozen.line(-3),
            points=kpi.frozen_points or 0,
            frozen_by_id=kpi.frozen_by_id,
            frozen_at=kpi.frozen_at,  # type: ignore[arg-type]
        )
        if frozen is not None
        else None,
        steps=[
            s.LimitStepOut(
                id=step.id,  # type: ignore[arg-type]
                starts_at=step.starts_at,
                centre=step.centre,
                sigma=step.sigma,
                ucl=step.centre + 3 * step.sigma,
                lcl=step.centre - 3 * step.sigma,
                points=step.points,
                cycle_id=step.cycle_id,
                set_by_id=step.set_by_id,
                set_at=step.set_at,
            )
            for step in spc.steps_of(ctx, kpi)
        ],
        proposals=[
            s.LimitProposalOut(
                cycle_id=p.cycle.id,  # type: ignore[arg-type]
                cycle_key=key("cycle", p.cycle.id),  # type: ignore[arg-type]
                starts_at=p.starts_at,
                points=p.points,
                centre=p.limits.centre,
                sigma=p.limits.sigma,
                ucl=p.limits.line(3),
                lcl=p.limits.line(-3),
            )
            for p in control_limits.proposals(ctx, kpi)
        ],
        version=kpi.version,
    )


def _after(ctx: CtxDep, kpi_id: int, response: Response) -> s.BaselineOut:
    ctx.session.expire_all()
    kpi = kpis.get_kpi(ctx, kpi_id)
    etag(response, kpi.version)
    return _baseline_out(ctx, kpi)


@router.post(
    "/kpis/{kpi_id}/baseline/exclusions",
    response_model=s.BaselineOut,
    summary="Phase I: leave a baseline point out of the limits (a special cause, with why)",
)
def exclude_point(
    ctx: CtxDep, kpi_id: int, body: s.ExcludePointIn, request: Request, response: Response
) -> s.BaselineOut:
    with preconditions(request):
        control_limits.exclude_point(
            ctx, kpi_id, body.at, body.reason, version=expected_version(request, body.version)
        )
    return _after(ctx, kpi_id, response)


@router.post(
    "/kpis/{kpi_id}/baseline/inclusions",
    response_model=s.BaselineOut,
    summary="Phase I: take an exclusion back (the point counts in the baseline again)",
)
def include_point(
    ctx: CtxDep, kpi_id: int, body: s.IncludePointIn, request: Request, response: Response
) -> s.BaselineOut:
    with preconditions(request):
        control_limits.include_point(
            ctx, kpi_id, body.at, version=expected_version(request, body.version), note=body.note
        )
    return _after(ctx, kpi_id, response)


@router.post(
    "/kpis/{kpi_id}/limits/freeze",
    response_model=s.BaselineOut,
    summary="Phase I done: freeze the limits the reviewed baseline gives; detection uses them",
)
def freeze(
    ctx: CtxDep, kpi_id: int, body: s.LimitsDecisionIn, request: Request, response: Response
) -> s.BaselineOut:
    with preconditions(request):
        control_limits.freeze_limits(
            ctx, kpi_id, version=expected_version(request, body.version), note=body.note
        )
    return _after(ctx, kpi_id, response)


@router.post(
    "/kpis/{kpi_id}/limits/unfreeze",
    response_model=s.BaselineOut,
    summary="Unfreeze the limits: they are computed from the baseline again",
)
def unfreeze(
    ctx: CtxDep, kpi_id: int, body: s.LimitsDecisionIn, request: Request, response: Response
) -> s.BaselineOut:
    with preconditions(request):
        control_limits.unfreeze_limits(
            ctx, kpi_id, version=expected_version(request, body.version), note=body.note
        )
    return _after(ctx, kpi_id, response)


@router.post(
    "/kpis/{kpi_id}/limits/recalculate",
    response_model=s.BaselineOut,
    summary="Accept the limits a closed effective cycle proposes: they judge from its change on",
)
def recalculate(
    ctx: CtxDep, kpi_id: int, body: s.RecalculateIn, request: Request, response: Response
) -> s.BaselineOut:
    with preconditions(request):
        control_limits.recalculate_limits(
            ctx,
            kpi_id,
            body.cycle_id,
            version=expected_version(request, body.version),
            note=body.note,
        )
    return _after(ctx, kpi_id, response)


@router.post(
    "/kpis/{kpi_id}/measurements",
    response_model=s.IngestOut,
    summary="Record one point or a batch (all or nothing); detection runs on them",
)
def record(
    ctx: CtxDep, kpi_id: int, body: Annotated[s.PointIn | list[s.PointIn], Body()]
) -> s.IngestOut:
    points = body if isinstance(body, list) else [body]
    kpis.get_kpi(ctx, kpi_id)  # an unknown KPI in the path is a 404, not a bad line
    result = kpis.ingest(ctx, [RowIn(i + 1, kpi_id, p.at, p.value) for i, p in enumerate(points)])
    return s.IngestOut(
        stored=result.stored,
        duplicates=result.duplicates,
        problems_raised=result.problems_raised,
        occurrences_added=result.occurrences_added,
        occurrences_withdrawn=result.occurrences_withdrawn,
        findings=[
            s.FindingOut(kpi=code, rule=f.rule, at=f.at, reason=f.reason.message)
            for code, f in result.findings
        ],
    )


@router.get(
    "/kpis/{kpi_id}/measurements",
    response_model=list[s.PointOut],
    summary="Points in a time range (from inclusive, to exclusive), oldest first",
)
def read_points(
    ctx: CtxDep,
    kpi_id: int,
    start: Annotated[QueryMoment | None, Query(alias="from")] = None,
    end: Annotated[QueryMoment | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[s.PointOut]:
    kpis.get_kpi(ctx, kpi_id)
    if start is not None and end is not None and start >= end:
        raise Invalid("'from' must be before 'to'.")
    for moment in (start, end):
        if moment is not None and moment.tzinfo is None:
            raise Invalid("Give times with a time zone (e.g. 2026-11-01T00:00:00Z).")
    return [s.PointOut(at=p.at, value=p.value) for p in kpis.series(ctx, kpi_id, start, end, limit)]


@router.get(
    "/scorecard",
    response_model=dict[str, list[s.ScoreLineOut]],
    summary="KPIs by balanced-scorecard perspective with status, latest value, trend",
)
def scorecard(ctx: CtxDep, department_id: QueryId | None = None) -> dict[str, list[s.ScoreLineOut]]:
    return {
        perspective: [
            s.ScoreLineOut(
                kpi=kpi_out(line.kpi),
                status=line.status,  # type: ignore[arg-type]
                latest=s.PointOut(at=line.latest.at, value=line.latest.value)
                if line.latest
                else None,
                trend=line.trend,
                open_problems=line.open_problems,
            )
            for line in lines
        ]
        for perspective, lines in kpis.scorecard(ctx, department_id).items()
    }


@router.get(
    "/pareto",
    response_model=s.ParetoOut,
    tags=["problems"],
    summary="Problems counted by source, department, KPI, category or root-cause category "
    "(the fishbone bone their cycles name), most first",
)
def pareto(
    ctx: CtxDep,
    by: Annotated[str, Query(pattern="^(source|department|kpi|category|root_cause)$")] = "source",
    since: QueryMoment | None = None,
) -> s.ParetoOut:
    bars = [s.ParetoBarOut(label=label, count=n) for label, n in kpis.pareto(ctx, by, since)]
    return s.ParetoOut(by=by, bars=bars)
