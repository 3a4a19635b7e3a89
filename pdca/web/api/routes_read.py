"""Workflows, the board and the audit trail."""

from typing import Annotated

from fastapi import APIRouter, Query

from pdca.engine.definition import (
    ANALYSIS_FIELD_TITLES,
    ANALYSIS_FIELDS,
    BUILTIN_FIELD_TITLES,
    BUILTIN_FIELDS,
    CHOICES,
    WorkflowDefinition,
)
from pdca.engine.machine import diagram
from pdca.services import actions, board_query, cycles, queries
from pdca.services.errors import Invalid, NotFound
from pdca.services.queries import ActionFilter, EventFilter, Paging
from pdca.web.api import schemas as s
from pdca.web.api.convert import action_out
from pdca.web.api.idempotency import ApiRoute
from pdca.web.api.types import BoardSearch, QueryBool, QueryDay, QueryId, QueryMoment, sort_keys
from pdca.web.deps import CtxDep

router = APIRouter(route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


def _field_out(name: str, ftype: str, titles: dict[str, str], builtin: bool) -> s.PhaseFieldOut:
    bounds = cycles.FIELD_BOUNDS.get(name) or cycles.FIELD_BOUNDS.get(ftype, {})
    return s.PhaseFieldOut(
        name=name,
        type=ftype,
        titles=titles,
        builtin=builtin,
        choices=list(CHOICES[name]) if ftype == "choice" else None,
        max_length=bounds.get("maxLength"),
        minimum=bounds.get("minimum"),
        maximum=bounds.get("maximum"),
    )


def phase_fields(definition: WorkflowDefinition) -> list[s.PhaseFieldOut]:
    """Every field a cycle of the workflow has: the built-in ones, then the workflow's own."""
    builtin = [
        _field_out(name, ftype, dict(BUILTIN_FIELD_TITLES[name]), True)
        for name, ftype in BUILTIN_FIELDS.items()
    ]
    analysis = [
        _field_out(name, ftype, dict(ANALYSIS_FIELD_TITLES[name]), True)
        for name, ftype in ANALYSIS_FIELDS.items()
    ]
    own = [_field_out(f.name, f.type, dict(f.titles), False) for f in definition.fields]
    return builtin + analysis + own


def _workflow_out(definition: WorkflowDefinition) -> s.WorkflowOut:
    return s.WorkflowOut(
        name=definition.name,
        titles=dict(definition.titles),
        description=dict(definition.description),
        initial=definition.initial,
        fields=phase_fields(definition),
        states=[
            {
                "name": st.name,
                "titles": dict(st.titles),
                "description": dict(st.description),
                "requires": list(st.requires),
                "final": st.final,
            }
            for st in definition.states.values()
        ],
        transitions=[
            {
                "trigger": t.trigger,
                "sources": list(t.sources),
                "dest": t.dest,
                "titles": dict(t.titles),
                "guards": list(t.guards),
                "effects": list(t.effects),
                "signed": t.signed,
            }
            for t in definition.transitions
        ],
        digest=definition.digest,
    )


@router.get("/workflows", response_model=list[s.WorkflowOut], tags=["workflows"])
def list_workflows(ctx: CtxDep) -> list[s.WorkflowOut]:
    return [_workflow_out(ctx.catalog.definitions[n]) for n in ctx.catalog.names()]


@router.get("/workflows/{name}", response_model=s.WorkflowOut, tags=["workflows"])
def get_workflow(ctx: CtxDep, name: str) -> s.WorkflowOut:
    if name not in ctx.catalog.definitions:
        raise NotFound(f"There is no workflow named {name!r}.")
    return _workflow_out(ctx.catalog.definitions[name])


@router.get(
    "/workflows/{name}/diagram",
    response_model=s.WorkflowDiagramOut,
    tags=["workflows"],
    summary="The workflow as a Mermaid state diagram",
)
def workflow_diagram(
    ctx: CtxDep, name: str, current: str | None = None, lang: str = "en"
) -> s.WorkflowDiagramOut:
    if name not in ctx.catalog.definitions:
        raise NotFound(f"There is no workflow named {name!r}.")
    definition = ctx.catalog.definitions[name]
    if current is not None and current not in definition.states:
        raise NotFound(f"The {name} workflow has no state {current!r}.")
    return s.WorkflowDiagramOut(
        name=name, diagram=diagram(definition, current, "zh_CN" if lang == "zh_CN" else "en")
    )


@router.get(
    "/board",
    response_model=s.BoardOut,
    tags=["board"],
    summary="Actions by status and department, with the board page's filters",
)
def get_board(
    ctx: CtxDep,
    department_id: Annotated[list[QueryId] | None, Query(max_length=100)] = None,
    owner_id: QueryId | None = None,
    cycle_id: QueryId | None = None,
    workflow: Annotated[str | None, Query(max_length=50)] = None,
    kind: Annotated[list[s.KindT] | None, Query()] = None,
    overdue: QueryBool | None = None,
    due_before: QueryDay | None = None,
    due_within_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
    q: BoardSearch = None,
) -> s.BoardOut:
    board = queries.board(
        ctx,
        board_query.parse_board_query(
            ctx,
            q,
            ActionFilter(
                department_ids=department_id or (),
                owner_id=owner_id,
                cycle_id=cycle_id,
                workflow=workflow,
                kind=kind or (),
                overdue=overdue,
                due_before=due_before,
                due_within_days=due_within_days,
            ),
        ),
    )
    links = actions.dependency_links(
        ctx, [r.action.id for lane in board.lanes for rows in lane.cells.values() for r in rows]
    )
    return s.BoardOut(
        columns=list(board.columns),
        column_counts=board.column_counts,
        today=board.today,
        truncated=board.truncated,
        lanes=[
            s.BoardLaneOut(
                department_id=lane.department_id,
                code=lane.code,
                name=lane.name,
                count=lane.count,
                cells={
                    st: [
                        action_out(r.action, board.today, r, links=links[r.action.id]) for r in rows
                    ]
                    for st, rows in lane.cells.items()
                },
            )
            for lane in board.lanes
        ],
    )


@router.get(
    "/events",
    response_model=s.EventPageOut,
    tags=["audit"],
    summary="The audit trail, filtered by entity, actor, verb and time; paged by cursor",
)
def list_events(
    ctx: CtxDep,
    entity_type: Annotated[str | None, Query(max_length=20)] = None,
    entity_id: QueryId | None = None,
    actor_id: QueryId | None = None,
    verb: Annotated[str | None, Query(max_length=50)] = None,
    since: Annotated[QueryMoment | None, Query(description="From this time (inclusive).")] = None,
    until: Annotated[QueryMoment | None, Query(description="Before this time.")] = None,
    cursor: Annotated[
        str | None,
        Query(
            pattern=r"^e[0-9]{1,10}$",
            description="`next_cursor` of the page before: the events after it, in id order.",
        ),
    ] = None,
    sort: sort_keys("id", "at") = "id",  # type: ignore[valid-type]
    limit: Limit = 100,
    offset: Offset = 0,
) -> s.EventPageOut:
    found = EventFilter(
        entity_type=entity_type,
        entity_id=entity_id,
        actor_id=actor_id,
        verb=verb,
        since=since,
        until=until,
    )
    if cursor is not None:
        if offset or sort != "id":
            raise Invalid("A cursor reads on in id order: send it without offset or sort.")
        items = queries.events_after(ctx, found, int(cursor[1:]), limit)
        total = None
    else:
        page = queries.list_events(ctx, Paging(limit, offset, sort), found)
        items, total = page.items, page.total
    # The next page starts after the last event of this one (in id order only).
    more = len(items) == limit and sort == "id"
    return s.EventPageOut(
        items=[s.EventOut(**e.model_dump()) for e in items],
        total=total,
        limit=limit,
        offset=offset,
        next_cursor=f"e{items[-1].id}" if more else None,
    )
