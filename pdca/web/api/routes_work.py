"""Problems, cycles, actions and their transitions."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import StringConstraints

from pdca import i18n
from pdca.models import Cycle, Problem
from pdca.services import (
    accounts,
    actions,
    board_query,
    cycles,
    kpis,
    policy,
    problems,
    queries,
)
from pdca.services.context import Ctx
from pdca.services.queries import ActionFilter, CycleFilter, Paging, ProblemFilter
from pdca.web.api import schemas as s
from pdca.web.api.convert import action_out, cycle_out, problem_out, transition_out
from pdca.web.api.http import created, etag, expected_version, preconditions
from pdca.web.api.idempotency import ApiRoute
from pdca.web.api.types import (
    EXPORT_CONTENT,
    FIELD_NAME_PATTERN,
    BoardSearch,
    ExportFormat,
    QueryBool,
    QueryDay,
    QueryId,
    Search,
    sort_keys,
)
from pdca.web.deps import CtxDep
from pdca.web.exports import download
from pdca.web.render import reason_text
from pdca.web.texts import trigger_titles

router = APIRouter(route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]
# Workflow state names as the workflow files write them: `?state=0.0` is a client's slip.
StateName = Annotated[str, StringConstraints(pattern=FIELD_NAME_PATTERN, max_length=50)]
Many = Annotated[
    list[StateName] | None,
    Query(max_length=50, description="Repeat for several: `?state=do&state=check`."),
]


# --- problems -----------------------------------------------------------------


def _problems_out(ctx: Ctx, rows: list[Problem]) -> list[s.ProblemOut]:
    ids = [p.id for p in rows]
    addressing = queries.cycles_addressing(ctx, ids)  # type: ignore[arg-type]
    seen = queries.occurrences_of(ctx, ids)  # type: ignore[arg-type]
    return [problem_out(p, addressing[p.id], seen[p.id]) for p in rows]  # type: ignore[index]


def _problem(ctx: Ctx, problem_id: int, response: Response | None = None) -> s.ProblemOut:
    problem = problems.get_problem(ctx, problem_id)
    if response is not None:
        etag(response, problem.version)
    return _problems_out(ctx, [problem])[0]


@router.get(
    "/problems",
    response_model=s.PageOut[s.ProblemOut],
    tags=["problems"],
    responses=EXPORT_CONTENT,  # type: ignore[arg-type]
)
def list_problems(
    ctx: CtxDep,
    status: Annotated[list[s.ProblemStatusT] | None, Query()] = None,
    source: Annotated[list[s.Source] | None, Query()] = None,
    severity: Annotated[list[s.SeverityT] | None, Query()] = None,
    department_id: QueryId | None = None,
    q: Search = None,
    sort: sort_keys("id", "reported_at", "severity", "title") = "-reported_at",  # type: ignore[valid-type]
    limit: Limit = 50,
    offset: Offset = 0,
    format: ExportFormat = "json",
) -> Any:
    found = ProblemFilter(
        status=status or (),
        source=source or (),
        severity=severity or (),
        department_id=department_id,
        q=q,
    )
    if format != "json":
        return download(ctx, "problems", found, format)
    page = queries.list_problems(ctx, Paging(limit, offset, sort), found)
    return s.PageOut(
        items=_problems_out(ctx, page.items),
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/problems", status_code=201, response_model=s.ProblemOut, tags=["problems"])
def report_problem(ctx: CtxDep, body: s.ProblemCreate, response: Response) -> s.ProblemOut:
    problem = problems.report_problem(ctx, **body.model_dump())
    created(response, f"/problems/{problem.id}")
    return _problem(ctx, problem.id, response)  # type: ignore[arg-type]


@router.get("/problems/{problem_id}", response_model=s.ProblemOut, tags=["problems"])
def get_problem(ctx: CtxDep, problem_id: int, response: Response) -> s.ProblemOut:
    return _problem(ctx, problem_id, response)


@router.patch(
    "/problems/{problem_id}",
    response_model=s.ProblemOut,
    tags=["problems"],
    summary="Correct title, severity, department, description (compare-and-set on version)",
)
def update_problem(
    ctx: CtxDep, problem_id: int, body: s.ProblemUpdate, request: Request, response: Response
) -> s.ProblemOut:
    changes = body.model_dump(exclude_unset=True, exclude={"version", "note"})
    with preconditions(request):
        problems.update_problem(
            ctx,
            problem_id,
            version=expected_version(request, body.version),
            changes=changes,
            note=body.note,
        )
    return _problem(ctx, problem_id, response)


@router.post("/problems/{problem_id}/triage", response_model=s.ProblemOut, tags=["problems"])
def triage(
    ctx: CtxDep, problem_id: int, body: s.TriageIn, request: Request, response: Response
) -> s.ProblemOut:
    data = body.model_dump()
    if "if-match" in request.headers:
        data["version"] = expected_version(request, body.version)
    with preconditions(request):
        problems.triage_problem(ctx, problem_id, **data)
    return _problem(ctx, problem_id, response)


@router.post(
    "/problems/{problem_id}/resolve-recovered",
    response_model=s.ProblemOut,
    tags=["problems"],
    summary="Resolve a KPI problem whose KPI recovered (its latest periods are within limits)",
)
def resolve_recovered(
    ctx: CtxDep, problem_id: int, body: s.ResolveRecoveredIn, request: Request, response: Response
) -> s.ProblemOut:
    # The same use case as the button on the problem's page.
    with preconditions(request):
        kpis.resolve_recovered(
            ctx, problem_id, version=expected_version(request, body.version), note=body.note
        )
    return _problem(ctx, problem_id, response)


# --- cycles -------------------------------------------------------------------


def _cycles_out(ctx: Ctx, rows: list[Cycle]) -> list[s.CycleOut]:
    extras = queries.cycle_extras(ctx, rows)
    teams = cycles.member_ids_of(ctx, [c.id for c in rows])  # type: ignore[misc]
    result = []
    for cycle in rows:
        assert cycle.id is not None
        definition = cycles.definition_of(ctx, cycle)
        state = definition.states[cycle.state]
        result.append(
            cycle_out(
                cycle,
                extras.version_numbers[cycle.id],
                state.titles.get(ctx.lang) or state.titles["en"],
                extras.problem_ids[cycle.id],
                teams[cycle.id],
            )
        )
    return result


def _cycle(ctx: Ctx, cycle: Cycle, response: Response) -> s.CycleOut:
    etag(response, cycle.version)
    return _cycles_out(ctx, [cycle])[0]


@router.get(
    "/cycles",
    response_model=s.PageOut[s.CycleOut],
    tags=["cycles"],
    responses=EXPORT_CONTENT,  # type: ignore[arg-type]
)
def list_cycles(
    ctx: CtxDep,
    workflow: Annotated[str | None, Query(max_length=50)] = None,
    state: Many = None,
    department_id: QueryId | None = None,
    lead_id: QueryId | None = None,
    escalated: QueryBool | None = None,
    open_only: QueryBool = False,
    q: Search = None,
    sort: sort_keys("id", "created_at", "state_entered_at", "title") = "-created_at",  # type: ignore[valid-type]
    limit: Limit = 50,
    offset: Offset = 0,
    format: ExportFormat = "json",
) -> Any:
    found = CycleFilter(
        workflow=workflow,
        state=state or (),
        department_id=department_id,
        lead_id=lead_id,
        escalated=escalated,
        open_only=open_only,
        q=q,
    )
    if format != "json":
        return download(ctx, "cycles", found, format)
    page = queries.list_cycles(ctx, Paging(limit, offset, sort), found)
    return s.PageOut(
        items=_cycles_out(ctx, page.items), total=page.total, limit=page.limit, offset=page.offset
    )


@router.post("/cycles", status_code=201, response_model=s.CycleOut, tags=["cycles"])
def open_cycle(ctx: CtxDep, body: s.CycleCreate, response: Response) -> s.CycleOut:
    cycle = cycles.open_cycle(ctx, **body.model_dump())
    created(response, f"/cycles/{cycle.id}")
    return _cycle(ctx, cycle, response)


@router.get("/cycles/{cycle_id}", response_model=s.CycleOut, tags=["cycles"])
def get_cycle(ctx: CtxDep, cycle_id: int, response: Response) -> s.CycleOut:
    return _cycle(ctx, cycles.get_cycle(ctx, cycle_id), response)


@router.patch(
    "/cycles/{cycle_id}",
    response_model=s.CycleOut,
    tags=["cycles"],
    summary="Edit phase fields, title, lead, team (compare-and-set on version)",
)
def update_cycle(
    ctx: CtxDep, cycle_id: int, body: s.CycleUpdate, request: Request, response: Response
) -> s.CycleOut:
    with preconditions(request):
        cycle = cycles.update_cycle(
            ctx,
            cycle_id,
            version=expected_version(request, body.version),
            fields=body.fields,
            title=body.title,
            lead_id=body.lead_id,
            member_ids=body.member_ids,
            note=body.note,
        )
    return _cycle(ctx, cycle, response)


@router.get(
    "/cycles/{cycle_id}/transitions",
    response_model=list[s.TransitionOut],
    tags=["cycles"],
    summary="Triggers from the current state, allowed or not, and why",
)
def cycle_transitions(ctx: CtxDep, cycle_id: int) -> list[s.TransitionOut]:
    cycle = cycles.get_cycle(ctx, cycle_id)
    permission = policy.can_run_cycle(ctx.actor, cycle)
    return [
        transition_out(o, ctx.lang, permission=permission)
        for o in cycles.available_transitions(ctx, cycle_id)
    ]


@router.post("/cycles/{cycle_id}/transitions", response_model=s.CycleOut, tags=["cycles"])
def fire_cycle_transition(
    ctx: CtxDep, cycle_id: int, body: s.TransitionIn, request: Request, response: Response
) -> s.CycleOut:
    with preconditions(request):
        cycle = cycles.fire_transition(
            ctx,
            cycle_id,
            trigger=body.trigger,
            version=expected_version(request, body.version),
            note=body.note,
            signature=_signature(body.signature),
        )
    return _cycle(ctx, cycle, response)


@router.post(
    "/cycles/{cycle_id}/effectiveness",
    response_model=s.CycleOut,
    tags=["cycles"],
    summary="Judge effectiveness (someone other than the lead)",
)
def judge_effectiveness(ctx: CtxDep, cycle_id: int, body: s.EffectivenessIn) -> s.CycleOut:
    cycle = cycles.record_effectiveness(
        ctx, cycle_id, effective=body.effective, note=body.note, version=body.version
    )
    return _cycles_out(ctx, [cycle])[0]


def _signature(body: s.SignatureIn | None) -> accounts.Signature | None:
    if body is None:
        return None
    return accounts.Signature(meaning=body.meaning, password=body.password)


# --- actions ------------------------------------------------------------------


@router.get(
    "/actions",
    response_model=s.PageOut[s.ActionOut],
    tags=["actions"],
    responses=EXPORT_CONTENT,  # type: ignore[arg-type]
)
def list_actions(
    ctx: CtxDep,
    department_id: Annotated[list[QueryId] | None, Query(max_length=100)] = None,
    owner_id: QueryId | None = None,
    cycle_id: QueryId | None = None,
    workflow: Annotated[str | None, Query(max_length=50)] = None,
    status: Annotated[list[s.ActionStatusT] | None, Query()] = None,
    kind: Annotated[list[s.KindT] | None, Query()] = None,
    overdue: QueryBool | None = None,
    due_before: QueryDay | None = None,
    due_within_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
    q: BoardSearch = None,
    sort: sort_keys(*queries.ACTION_SORTS) = "deadline",  # type: ignore[valid-type]
    limit: Limit = 50,
    offset: Offset = 0,
    format: ExportFormat = "json",
) -> Any:
    found = board_query.parse_board_query(
        ctx,
        q,
        ActionFilter(
            department_ids=department_id or (),
            owner_id=owner_id,
            cycle_id=cycle_id,
            workflow=workflow,
            status=status or (),
            kind=kind or (),
            overdue=overdue,
            due_before=due_before,
            due_within_days=due_within_days,
        ),
    )
    if format != "json":
        return download(ctx, "actions", found, format)
    page = queries.list_actions(ctx, Paging(limit, offset, sort), found)
    today = ctx.today()
    links = actions.dependency_links(ctx, [r.action.id for r in page.items])  # type: ignore[misc]
    return s.PageOut(
        items=[action_out(r.action, today, r, links=links[r.action.id]) for r in page.items],  # type: ignore[index]
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.post("/actions", status_code=201, response_model=s.ActionOut, tags=["actions"])
def add_action(ctx: CtxDep, body: s.ActionCreate, response: Response) -> s.ActionOut:
    data = body.model_dump()
    action = actions.add_action(ctx, data.pop("cycle_id"), **data)
    created(response, f"/actions/{action.id}")
    return _action(ctx, action.id, response)  # type: ignore[arg-type]


def _action(ctx: Ctx, action_id: int, response: Response | None = None) -> s.ActionOut:
    row = queries.action_row(ctx, action_id)
    links = actions.dependency_links(ctx, [action_id])[action_id]
    if response is not None:
        etag(response, row.action.version)
    return action_out(row.action, ctx.today(), row, links=links)


@router.get("/actions/{action_id}", response_model=s.ActionOut, tags=["actions"])
def get_action(ctx: CtxDep, action_id: int, response: Response) -> s.ActionOut:
    return _action(ctx, action_id, response)


@router.patch(
    "/actions/{action_id}",
    response_model=s.ActionOut,
    tags=["actions"],
    summary="Assign, reassign, re-date (compare-and-set on version)",
)
def update_action(
    ctx: CtxDep, action_id: int, body: s.ActionUpdate, request: Request, response: Response
) -> s.ActionOut:
    changes = body.model_dump(exclude_unset=True, exclude={"version", "note"})
    with preconditions(request):
        actions.update_action(
            ctx,
            action_id,
            version=expected_version(request, body.version),
            changes=changes,
            note=body.note,
        )
    return _action(ctx, action_id, response)


@router.get(
    "/actions/{action_id}/transitions", response_model=list[s.TransitionOut], tags=["actions"]
)
def action_transitions(ctx: CtxDep, action_id: int) -> list[s.TransitionOut]:
    titles = trigger_titles(i18n.translations(ctx.lang).gettext)
    return [
        s.TransitionOut(
            trigger=trigger,
            dest=dest,
            title=titles.get(trigger, trigger),
            allowed=not reasons,
            signed=trigger == "verify",
            reasons=[s.ReasonOut(code=r.code, message=reason_text(r, ctx.lang)) for r in reasons],
        )
        for trigger, dest, reasons in actions.action_options(ctx, action_id)
    ]


@router.post("/actions/{action_id}/transitions", response_model=s.ActionOut, tags=["actions"])
def fire_action_transition(ctx: CtxDep, action_id: int, body: s.ActionTransitionIn) -> s.ActionOut:
    if body.trigger == "verify":
        actions.verify_action(
            ctx,
            action_id,
            effective=body.effective is not False,
            note=body.note,
            version=body.version,
            signature=_signature(body.signature),
        )
    else:
        actions.fire_action(
            ctx, action_id, trigger=body.trigger, version=body.version, note=body.note
        )
    return _action(ctx, action_id)


@router.post(
    "/actions/{action_id}/dependencies",
    response_model=s.ActionOut,
    tags=["actions"],
    summary="Make the action wait for another (a loop is refused with its path)",
)
def add_dependency(ctx: CtxDep, action_id: int, body: s.DependencyAdd) -> s.ActionOut:
    actions.add_dependency(ctx, action_id, body.depends_on_id, version=body.version)
    return _action(ctx, action_id)


@router.put(
    "/actions/{action_id}/dependencies",
    response_model=s.ActionOut,
    tags=["actions"],
    summary="Replace what the action waits for",
)
def set_dependencies(ctx: CtxDep, action_id: int, body: s.DependenciesIn) -> s.ActionOut:
    actions.set_dependencies(ctx, action_id, body.depends_on, version=body.version)
    return _action(ctx, action_id)


@router.delete(
    "/actions/{action_id}/dependencies/{depends_on_id}",
    response_model=s.ActionOut,
    tags=["actions"],
    summary="Stop the action waiting for another",
)
def remove_dependency(
    ctx: CtxDep, action_id: int, depends_on_id: int, version: Annotated[int, Query()]
) -> s.ActionOut:
    actions.remove_dependency(ctx, action_id, depends_on_id, version=version)
    return _action(ctx, action_id)
