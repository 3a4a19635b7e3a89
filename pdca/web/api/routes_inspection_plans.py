"""Inspection plans (schedules and spot checks) and the audit programme."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from pdca.models import InspectionPlan
from pdca.services import inspection_plans, inspection_programme
from pdca.web.api import schemas_inspections as si
from pdca.web.api.http import created, etag, expected_version, preconditions
from pdca.web.api.idempotency import ApiRoute
from pdca.web.api.types import QueryBool, QueryId
from pdca.web.deps import CtxDep

router = APIRouter(tags=["inspections"], route_class=ApiRoute)
Year = Annotated[int, Query(ge=2000, le=2100)]


def plan_out(plan: InspectionPlan, response: Response | None = None) -> si.PlanOut:
    if response is not None:
        etag(response, plan.version)
    return si.PlanOut(**plan.model_dump())


@router.get("/inspection-plans", response_model=list[si.PlanOut], summary="Inspection plans")
def list_plans(ctx: CtxDep, active: QueryBool | None = None) -> list[si.PlanOut]:
    return [plan_out(p) for p in inspection_plans.list_plans(ctx, active=active)]


@router.post(
    "/inspection-plans",
    status_code=201,
    response_model=si.PlanOut,
    summary="Plan inspections: checklist, departments, how often, who (independent or not)",
)
def create_plan(ctx: CtxDep, body: si.PlanCreate, response: Response) -> si.PlanOut:
    plan = inspection_plans.create_plan(ctx, **body.model_dump())
    created(response, f"/inspection-plans/{plan.id}")
    return plan_out(plan, response)


@router.get("/inspection-plans/{plan_id}", response_model=si.PlanOut)
def get_plan(ctx: CtxDep, plan_id: int, response: Response) -> si.PlanOut:
    return plan_out(inspection_plans.get_plan(ctx, plan_id), response)


@router.patch(
    "/inspection-plans/{plan_id}",
    response_model=si.PlanOut,
    summary="Rename, end or retire a plan; the inspections it made stay",
)
def update_plan(
    ctx: CtxDep, plan_id: int, body: si.PlanUpdate, request: Request, response: Response
) -> si.PlanOut:
    with preconditions(request):
        plan = inspection_plans.update_plan(
            ctx,
            plan_id,
            version=expected_version(request, body.version),
            **body.model_dump(exclude={"version"}),
        )
    return plan_out(plan, response)


@router.post(
    "/inspection-plans/{plan_id}/schedule",
    response_model=si.ScheduledOut,
    summary="Make the plan's due inspections now, as the job does (never twice)",
)
def schedule_plan(ctx: CtxDep, plan_id: int) -> si.ScheduledOut:
    return si.ScheduledOut(made=inspection_plans.schedule_plan(ctx, plan_id))


@router.get(
    "/inspections/{inspection_id}/sample",
    response_model=si.SampleOut,
    summary="Draw a spot check's sample again from its recorded seed, list and period",
)
def redraw_sample(ctx: CtxDep, inspection_id: int) -> si.SampleOut:
    again = inspection_plans.redraw(ctx, inspection_id)
    return si.SampleOut(
        inspection_id=inspection_id,
        seed=again.seed,
        source=again.source,  # type: ignore[arg-type]
        sample_from=again.start,
        sample_to=again.end,
        recorded=again.recorded,
        redrawn=again.redrawn,
        same=again.same,
    )


@router.get(
    "/inspection-programme",
    response_model=si.ProgrammeOut,
    summary="The year's inspections by department and month: planned, done, overdue",
)
def programme(ctx: CtxDep, year: Year, department_id: QueryId | None = None) -> Any:
    found = inspection_programme.programme(ctx, year, department_id)
    return si.ProgrammeOut(
        year=year,
        rows=[
            si.ProgrammeRowOut(
                department_id=r.department_id,
                department=r.code,
                months=[
                    si.ProgrammeCellOut(
                        month=n,
                        planned=c.planned,
                        done=c.done,
                        overdue=c.overdue,
                        skipped=c.skipped,
                        skip_reasons=c.reasons,
                    )
                    for n, c in enumerate(r.months, start=1)
                ],
            )
            for r in found.rows
        ],
    )


@router.get(
    "/inspection-programme/clauses",
    response_model=list[si.ClauseBarOut],
    summary="Which clauses failed most in the year (a Pareto)",
)
def clauses(ctx: CtxDep, year: Year, department_id: QueryId | None = None) -> Any:
    return [
        si.ClauseBarOut(**vars(b))
        for b in inspection_programme.clause_pareto(ctx, year, department_id)
    ]
