"""Read use cases: filtered, sorted, paged listings shared by the pages and the API.

Each listing is a fixed number of queries whatever the page size (no N+1): rows
come back with what a card or a list line needs already joined.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Row, Select, bindparam, case, or_
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select

from pdca.models import (
    Action,
    ActionDependency,
    ActionStatus,
    Cycle,
    CycleProblem,
    Department,
    Event,
    Kpi,
    Problem,
    ProblemOccurrence,
    User,
    WorkflowVersion,
)
from pdca.services.context import Ctx
from pdca.services.errors import Invalid, NotFound

T = TypeVar("T")
# Aliases built once: making a fresh aliased() per query cost a fifth of an API list.
OWNER = aliased(User, name="owner")
LEAD = aliased(User, name="lead")
MAX_LIMIT = 500
UNFINISHED = (ActionStatus.open, ActionStatus.in_progress)


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class Paging:
    limit: int = 50
    offset: int = 0
    sort: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise Invalid(f"limit must be between 1 and {MAX_LIMIT}.")
        if self.offset < 0:
            raise Invalid("offset cannot be negative.")


def _order(query: Select, sort: str | None, allowed: dict[str, Any], default: str) -> Select:
    spec = sort or default
    descending = spec.startswith("-")
    name = spec.lstrip("-")
    if name not in allowed:
        raise Invalid(
            f"Cannot sort by {name!r}; sort by one of: {', '.join(sorted(allowed))} "
            "(prefix with - for descending)."
        )
    column = allowed[name]
    return query.order_by(column.desc() if descending else column.asc(), allowed["id"].asc())


def _page(ctx: Ctx, query: Select, paging: Paging) -> tuple[list[Any], int]:
    rows = list(ctx.session.exec(query.limit(paging.limit).offset(paging.offset)))
    if len(rows) < paging.limit and (rows or paging.offset == 0):
        return rows, paging.offset + len(rows)  # the last page: no need to count
    # Counted over the same FROM and WHERE, not over a subquery of every selected column.
    counted = query.order_by(None).with_only_columns(func.count(), maintain_column_froms=True)
    return rows, int(ctx.session.execute(counted).scalar_one())


SEARCH_MAX = 200
LIKE_ESCAPE = "\\"


def search(text: str | None, *columns: Any) -> ColumnElement[bool] | None:
    """Rows whose columns contain `text`, ignoring case; None when there is nothing to find.

    The wildcards of LIKE are escaped: searching for "%" finds a percent sign, not every
    row. The text is bounded: SQLite refuses a long LIKE pattern as "too complex", which
    would surface as a busy database (503) that no retry could cure.
    """
    if not text or not text.strip():
        return None
    if len(text) > SEARCH_MAX:
        raise Invalid(f"Search for at most {SEARCH_MAX} characters.")
    escaped = (
        text.strip()
        .lower()
        .replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    pattern = f"%{escaped}%"
    return or_(*(func.lower(c).like(pattern, escape=LIKE_ESCAPE) for c in columns))


# --- departments and users ----------------------------------------------------


def list_departments(ctx: Ctx, paging: Paging, q: str | None = None) -> Page[Department]:
    query = select(Department)
    if (cond := search(q, Department.code, Department.name)) is not None:
        query = query.where(cond)
    query = _order(
        query,
        paging.sort,
        {"id": col(Department.id), "code": col(Department.code), "name": col(Department.name)},
        "code",
    )
    rows, total = _page(ctx, query, paging)
    return Page(rows, total, paging.limit, paging.offset)


def list_users(
    ctx: Ctx,
    paging: Paging,
    *,
    department_id: int | None = None,
    role: str | None = None,
    q: str | None = None,
) -> Page[User]:
    query = select(User)
    if department_id is not None:
        query = query.where(User.department_id == department_id)
    if role:
        query = query.where(User.role == role)
    if (cond := search(q, User.name, User.email)) is not None:
        query = query.where(cond)
    query = _order(
        query,
        paging.sort,
        {"id": col(User.id), "name": col(User.name), "email": col(User.email)},
        "name",
    )
    rows, total = _page(ctx, query, paging)
    return Page(rows, total, paging.limit, paging.offset)


# --- problems -----------------------------------------------------------------


@dataclass(frozen=True)
class ProblemFilter:
    status: Sequence[str] = ()
    source: Sequence[str] = ()
    severity: Sequence[str] = ()
    department_id: int | None = None
    q: str | None = None


def problem_query(f: ProblemFilter) -> Select:
    """The problems these filters keep: the list and its export read the same query."""
    query = select(Problem)
    if f.status:
        query = query.where(col(Problem.status).in_(f.status))
    if f.source:
        query = query.where(col(Problem.source).in_(f.source))
    if f.severity:
        query = query.where(col(Problem.severity).in_(f.severity))
    if f.department_id is not None:
        query = query.where(Problem.department_id == f.department_id)
    if (cond := search(f.q, Problem.title, Problem.description)) is not None:
        query = query.where(cond)
    return query


def list_problems(ctx: Ctx, paging: Paging, f: ProblemFilter) -> Page[Problem]:
    query = _order(
        problem_query(f),
        paging.sort,
        {
            "id": col(Problem.id),
            "reported_at": col(Problem.reported_at),
            # By rank, not alphabetically (which would put "critical" before "high" before "low").
            "severity": case(
                {"low": 1, "medium": 2, "high": 3, "critical": 4},
                value=col(Problem.severity),
                else_=0,
            ),
            "title": col(Problem.title),
        },
        "-reported_at",
    )
    rows, total = _page(ctx, query, paging)
    return Page(rows, total, paging.limit, paging.offset)


def occurrences_of(ctx: Ctx, problem_ids: Sequence[int]) -> dict[int, list[ProblemOccurrence]]:
    """problem id → the times a detection rule fired for it, oldest first, in one query."""
    result: dict[int, list[ProblemOccurrence]] = {pid: [] for pid in problem_ids}
    if problem_ids:
        rows = ctx.session.exec(
            select(ProblemOccurrence)
            .where(col(ProblemOccurrence.problem_id).in_(problem_ids))
            .order_by(col(ProblemOccurrence.at), col(ProblemOccurrence.id))
        )
        for row in rows:
            result[row.problem_id].append(row)
    return result


def cycles_addressing(ctx: Ctx, problem_ids: Sequence[int]) -> dict[int, list[int]]:
    """problem id → ids of the cycles that address it, in one query."""
    result: dict[int, list[int]] = {pid: [] for pid in problem_ids}
    if problem_ids:
        rows = ctx.session.exec(
            select(CycleProblem.problem_id, CycleProblem.cycle_id)
            .where(col(CycleProblem.problem_id).in_(problem_ids))
            .order_by(col(CycleProblem.cycle_id))
        )
        for problem_id, cycle_id in rows:
            result[problem_id].append(cycle_id)
    return result


# --- cycles -------------------------------------------------------------------


@dataclass(frozen=True)
class CycleFilter:
    workflow: str | None = None
    state: Sequence[str] = ()
    department_id: int | None = None
    lead_id: int | None = None
    escalated: bool | None = None
    open_only: bool = False
    q: str | None = None


def cycle_query(f: CycleFilter) -> Select:
    """The cycles these filters keep: the list and its export read the same query."""
    query = select(Cycle)
    if f.workflow:
        query = query.where(Cycle.workflow == f.workflow)
    if f.state:
        query = query.where(col(Cycle.state).in_(f.state))
    if f.department_id is not None:
        query = query.where(Cycle.department_id == f.department_id)
    if f.lead_id is not None:
        query = query.where(Cycle.lead_id == f.lead_id)
    if f.escalated is not None:
        query = query.where(Cycle.escalated == f.escalated)
    if f.open_only:
        query = query.where(col(Cycle.closed_at).is_(None))
    if (cond := search(f.q, Cycle.title, Cycle.objective)) is not None:
        query = query.where(cond)
    return query


def list_cycles(ctx: Ctx, paging: Paging, f: CycleFilter) -> Page[Cycle]:
    query = _order(
        cycle_query(f),
        paging.sort,
        {
            "id": col(Cycle.id),
            "created_at": col(Cycle.created_at),
            "state_entered_at": col(Cycle.state_entered_at),
            "title": col(Cycle.title),
        },
        "-created_at",
    )
    rows, total = _page(ctx, query, paging)
    return Page(rows, total, paging.limit, paging.offset)


# --- actions ------------------------------------------------------------------


@dataclass(frozen=True)
class ActionFilter:
    department_ids: Sequence[int] = ()
    owner_id: int | None = None
    cycle_id: int | None = None
    workflow: str | None = None
    status: Sequence[str] = ()
    kind: Sequence[str] = ()
    overdue: bool | None = None
    due_before: date | None = None
    due_within_days: int | None = None
    q: str | None = None


# A listed action: a read-only row with the actions table's columns by name.
ActionRecord = Row[Any]


@dataclass(frozen=True)
class ActionRow:
    """An action with what a card shows, joined in the same query."""

    action: ActionRecord
    owner_name: str | None
    department_code: str
    department_name: str
    cycle_title: str
    cycle_state: str
    workflow: str
    cycle_lead_id: int
    blocked_by: tuple[int, ...] = field(default=())

    def is_overdue(self, today: date) -> bool:
        a = self.action
        return a.deadline is not None and a.deadline < today and a.status in UNFINISHED


# What a card shows, joined: the base of every action listing. Built once: building
# the statement cost more than running it for a single action. The action comes as a
# plain row of the actions table's columns, read by name like an Action (id, title,
# status, …), not as an ORM object: listings only read it, and making ORM objects was
# a third of a 2,000-card board's time.
_ACTIONS = (
    select(
        Action.__table__,  # type: ignore[attr-defined]
        OWNER.name.label("owner_name"),
        col(Department.code).label("department_code"),
        col(Department.name).label("department_name"),
        col(Cycle.title).label("cycle_title"),
        col(Cycle.state).label("cycle_state"),
        col(Cycle.workflow).label("workflow"),
        col(Cycle.lead_id).label("cycle_lead_id"),
    )
    .join(Department, col(Department.id) == Action.department_id)
    .join(Cycle, col(Cycle.id) == Action.cycle_id)
    .outerjoin(OWNER, OWNER.id == Action.owner_id)
)
_ACTION_BY_ID = _ACTIONS.where(Action.id == bindparam("action_id"))


def action_query(ctx: Ctx, f: ActionFilter) -> Select:
    """The actions these filters keep, with what a card shows: lists, board and export."""
    query = _ACTIONS
    today = ctx.today()
    if f.department_ids:
        query = query.where(col(Action.department_id).in_(f.department_ids))
    if f.owner_id is not None:
        query = query.where(Action.owner_id == f.owner_id)
    if f.cycle_id is not None:
        query = query.where(Action.cycle_id == f.cycle_id)
    if f.workflow:
        query = query.where(Cycle.workflow == f.workflow)
    if f.status:
        query = query.where(col(Action.status).in_(f.status))
    if f.kind:
        query = query.where(col(Action.kind).in_(f.kind))
    if f.overdue is True:
        query = query.where(col(Action.deadline) < today, col(Action.status).in_(UNFINISHED))
    elif f.overdue is False:
        query = query.where(
            or_(
                col(Action.deadline).is_(None),
                col(Action.deadline) >= today,
                col(Action.status).not_in(UNFINISHED),
            )
        )
    if f.due_before is not None:
        query = query.where(col(Action.deadline) < f.due_before)
    if f.due_within_days is not None:
        if f.due_within_days < 0:
            raise Invalid("due within days cannot be negative.")
        query = query.where(
            col(Action.deadline) <= today + timedelta(days=f.due_within_days),
            col(Action.status).in_(UNFINISHED),
        )
    if (cond := search(f.q, Action.title, Action.description)) is not None:
        query = query.where(cond)
    return query


_LINKS_OF = select(ActionDependency.action_id, ActionDependency.depends_on_id).where(
    col(ActionDependency.action_id).in_(bindparam("ids", expanding=True))
)
_UNFINISHED_AMONG = select(Action.id).where(
    col(Action.id).in_(bindparam("ids", expanding=True)), col(Action.status).in_(UNFINISHED)
)


def _blockers(ctx: Ctx, action_ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
    """action id → ids of unfinished actions it waits for: one query, two when any wait.

    Not one join: SQLite drove it from the unfinished actions and probed the id list
    for each (259 ms for a 1,300-card board without a single dependency).
    """
    if not action_ids:
        return {}
    links = list(ctx.session.exec(_LINKS_OF, params={"ids": list(action_ids)}))
    if not links:
        return {}
    blockers = sorted({blocker for _a, blocker in links})
    unfinished = set(ctx.session.exec(_UNFINISHED_AMONG, params={"ids": blockers}))
    result: dict[int, list[int]] = {}
    for action_id, depends_on in sorted(links, key=lambda link: link[1]):
        if depends_on in unfinished:
            result.setdefault(action_id, []).append(depends_on)
    return {k: tuple(v) for k, v in result.items()}


def _rows(ctx: Ctx, raw: list[Any]) -> list[ActionRow]:
    blockers = _blockers(ctx, [r.id for r in raw])
    return [
        ActionRow(
            r,
            r.owner_name,
            r.department_code,
            r.department_name,
            r.cycle_title,
            r.cycle_state,
            r.workflow,
            r.cycle_lead_id,
            blocked_by=blockers.get(r.id, ()),
        )
        for r in raw
    ]


ACTION_SORTS = {
    "id": col(Action.id),
    "deadline": col(Action.deadline),
    "created_at": col(Action.created_at),
    "status": col(Action.status),
    "title": col(Action.title),
    "status_changed_at": col(Action.status_changed_at),
}


def list_actions(ctx: Ctx, paging: Paging, f: ActionFilter) -> Page[ActionRow]:
    query = _order(action_query(ctx, f), paging.sort, ACTION_SORTS, "deadline")
    raw, total = _page(ctx, query, paging)
    return Page(_rows(ctx, raw), total, paging.limit, paging.offset)


# --- KPIs ---------------------------------------------------------------------


@dataclass(frozen=True)
class KpiFilter:
    department_id: int | None = None
    perspective: str | None = None
    active: bool | None = True
    q: str | None = None


def kpi_query(f: KpiFilter) -> Select:
    """The KPIs these filters keep, by code: the list and its export read the same query."""
    query = select(Kpi)
    if f.department_id is not None:
        query = query.where(Kpi.department_id == f.department_id)
    if f.perspective:
        query = query.where(Kpi.perspective == f.perspective)
    if f.active is not None:
        query = query.where(Kpi.active == f.active)
    if (found := search(f.q, Kpi.code, Kpi.name)) is not None:
        query = query.where(found)
    return query.order_by(Kpi.code)


# --- the board ----------------------------------------------------------------

BOARD_COLUMNS = (
    ActionStatus.open,
    ActionStatus.in_progress,
    ActionStatus.done,
    ActionStatus.verified,
)


@dataclass(frozen=True)
class Lane:
    department_id: int
    code: str
    name: str
    cells: dict[str, list[ActionRow]]  # the first cards of each cell, by deadline
    cell_counts: dict[str, int]  # every card of each cell, shown or not

    @property
    def count(self) -> int:
        return sum(self.cell_counts.values())

    def more(self, status: str) -> int:
        """How many cards of the cell are not shown yet."""
        return self.cell_counts[status] - len(self.cells[status])


@dataclass(frozen=True)
class Board:
    columns: tuple[str, ...]
    lanes: list[Lane]
    column_counts: dict[str, int]
    today: date
    cell_limit: int

    @property
    def truncated(self) -> bool:
        return any(lane.more(s) for lane in self.lanes for s in self.columns)


# A cell shows this many cards and "n more" (loaded on demand); counts are always whole.
BOARD_CELL_LIMIT = 50
MAX_CELL_LIMIT = 500
VERIFIED_SHOWN_DAYS = 14


def _board_query(ctx: Ctx, f: ActionFilter) -> tuple[Select, tuple[str, ...]]:
    statuses = tuple(s for s in BOARD_COLUMNS if not f.status or s in f.status)
    filtered = ActionFilter(**{**f.__dict__, "status": statuses})
    # Verified cards leave the board after a while; the cycle keeps them for good.
    recent = ctx.now() - timedelta(days=VERIFIED_SHOWN_DAYS)
    query = action_query(ctx, filtered).where(
        or_(col(Action.status) != ActionStatus.verified, col(Action.status_changed_at) >= recent)
    )
    return query, statuses


def _deadline_order() -> tuple[Any, ...]:
    return (col(Action.deadline).is_(None), col(Action.deadline), col(Action.id))


def board(
    ctx: Ctx,
    f: ActionFilter,
    *,
    cell_limit: int = BOARD_CELL_LIMIT,
) -> Board:
    """Actions by status (columns) and responsible department (lanes): four queries.

    Each cell holds its first `cell_limit` cards by deadline (the rest: board_cell);
    the counts cover every card.
    """
    if not 1 <= cell_limit <= MAX_CELL_LIMIT:
        raise Invalid(f"cell_limit must be between 1 and {MAX_CELL_LIMIT}.")
    query, statuses = _board_query(ctx, f)
    counts = board_counts(ctx, f)
    rank = (
        func.row_number()
        .over(partition_by=(Action.department_id, Action.status), order_by=_deadline_order())
        .label("rank")
    )
    ranked = query.with_only_columns(col(Action.id), rank).order_by(None).subquery()
    first = select(ranked.c.id).where(ranked.c.rank <= cell_limit)
    raw = list(
        ctx.session.exec(query.where(col(Action.id).in_(first)).order_by(*_deadline_order()))
    )
    rows = _rows(ctx, raw)
    departments = ctx.session.exec(select(Department).order_by(Department.code))
    lanes = {
        d.id: Lane(
            d.id,  # type: ignore[arg-type]
            d.code,
            d.name,
            {s: [] for s in statuses},
            {s: counts.get((d.id, s), 0) for s in statuses},  # type: ignore[misc]
        )
        for d in departments
        if not f.department_ids or d.id in f.department_ids
    }
    for row in rows:
        lanes[row.action.department_id].cells[row.action.status].append(row)
    column_counts = {s: sum(lane.cell_counts[s] for lane in lanes.values()) for s in statuses}
    return Board(statuses, list(lanes.values()), column_counts, ctx.today(), cell_limit)


def board_row(ctx: Ctx, f: ActionFilter, action_id: int) -> ActionRow | None:
    """One action as the board shows it, or None when the board's filters leave it out."""
    query, _statuses = _board_query(ctx, f)
    raw = list(ctx.session.exec(query.where(Action.id == action_id)))
    return _rows(ctx, raw)[0] if raw else None


@dataclass(frozen=True)
class CellPage:
    rows: list[ActionRow]
    rest: int  # cards of the cell after these


def board_cell(
    ctx: Ctx,
    f: ActionFilter,
    department_id: int,
    status: str,
    *,
    after: tuple[date | None, int] | None,
    limit: int = BOARD_CELL_LIMIT,
) -> CellPage:
    """The cards of one cell after the one at `after` (deadline, id), by deadline: 3 queries.

    A position rather than an offset: cards moved meanwhile do not shift the rest.
    """
    query, _statuses = _board_query(ctx, f)
    query = query.where(Action.department_id == department_id, Action.status == status)
    if after is not None:
        deadline, last_id = after
        if deadline is None:
            query = query.where(col(Action.deadline).is_(None), col(Action.id) > last_id)
        else:
            query = query.where(
                or_(
                    col(Action.deadline).is_(None),
                    col(Action.deadline) > deadline,
                    (col(Action.deadline) == deadline) & (col(Action.id) > last_id),
                )
            )
    total = int(ctx.session.exec(query.with_only_columns(func.count()).order_by(None)).one()[0])
    raw = list(ctx.session.exec(query.order_by(*_deadline_order()).limit(limit)))
    return CellPage(_rows(ctx, raw), total - len(raw))


def board_counts(ctx: Ctx, f: ActionFilter) -> dict[tuple[int, str], int]:
    """(department id, status) → cards on the board with these filters: one query."""
    query, _statuses = _board_query(ctx, f)
    return {
        (department_id, status): int(n)
        for department_id, status, n in ctx.session.exec(
            query.with_only_columns(Action.department_id, Action.status, func.count())
            .group_by(col(Action.department_id), col(Action.status))
            .order_by(None)
        )
    }


# --- the audit trail ----------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    entity_type: str | None = None
    entity_id: int | None = None
    actor_id: int | None = None
    verb: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def events_after(ctx: Ctx, f: EventFilter, after_id: int, limit: int) -> list[Event]:
    """Events in id order after `after_id` (a cursor): an index range, however deep."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}.")
    query = _event_query(f).where(col(Event.id) > after_id).order_by(col(Event.id)).limit(limit)
    return list(ctx.session.exec(query))


def _event_query(f: EventFilter) -> Select:
    if f.since is not None and f.until is not None and f.since >= f.until:
        raise Invalid("'since' must be before 'until'.")
    query = select(Event)
    if f.since is not None:
        query = query.where(col(Event.at) >= f.since)
    if f.until is not None:
        query = query.where(col(Event.at) < f.until)
    if f.entity_type:
        query = query.where(Event.entity_type == f.entity_type)
    if f.entity_id is not None:
        query = query.where(Event.entity_id == f.entity_id)
    if f.actor_id is not None:
        query = query.where(Event.actor_id == f.actor_id)
    if f.verb:
        query = query.where(Event.verb == f.verb)
    return query


def list_events(ctx: Ctx, paging: Paging, f: EventFilter) -> Page[Event]:
    query = _order(_event_query(f), paging.sort, {"id": col(Event.id), "at": col(Event.at)}, "id")
    rows, total = _page(ctx, query, paging)
    return Page(rows, total, paging.limit, paging.offset)


@dataclass(frozen=True)
class CycleExtras:
    version_numbers: dict[int, int]
    problem_ids: dict[int, list[int]]


def cycle_extras(ctx: Ctx, cycles: Sequence[Cycle]) -> CycleExtras:
    """Workflow version numbers and linked problems of many cycles, in two queries."""
    version_ids = {c.workflow_version_id for c in cycles}
    numbers = (
        dict(
            ctx.session.exec(
                select(WorkflowVersion.id, WorkflowVersion.number).where(
                    col(WorkflowVersion.id).in_(version_ids)
                )
            ).all()
        )
        if version_ids
        else {}
    )
    problem_ids: dict[int, list[int]] = {c.id: [] for c in cycles}  # type: ignore[misc]
    if cycles:
        rows = ctx.session.exec(
            select(CycleProblem.cycle_id, CycleProblem.problem_id)
            .where(col(CycleProblem.cycle_id).in_(list(problem_ids)))
            .order_by(col(CycleProblem.problem_id))
        )
        for cycle_id, problem_id in rows:
            problem_ids[cycle_id].append(problem_id)
    return CycleExtras(
        {c.id: numbers[c.workflow_version_id] for c in cycles},  # type: ignore[misc]
        problem_ids,
    )


def action_row(ctx: Ctx, action_id: int) -> ActionRow:
    raw = list(ctx.session.exec(_ACTION_BY_ID, params={"action_id": action_id}))
    if not raw:
        raise NotFound(f"Action {action_id} does not exist.")
    return _rows(ctx, raw)[0]


# --- the cycle board ----------------------------------------------------------


@dataclass(frozen=True)
class CycleCard:
    cycle: Cycle
    lead_name: str
    department_code: str | None
    overdue_actions: int
    open_actions: int


def cycle_board(
    ctx: Ctx, workflow: str, *, department_id: int | None = None, include_closed_days: int = 30
) -> dict[str, list[CycleCard]]:
    """Cycles of one workflow by state: open ones, and those closed in the last days."""
    today = ctx.today()
    since = ctx.now() - timedelta(days=include_closed_days)
    lead = LEAD
    query = (
        select(Cycle, lead.name, Department.code)
        .join(lead, lead.id == Cycle.lead_id)
        .outerjoin(Department, col(Department.id) == Cycle.department_id)
        .where(Cycle.workflow == workflow)
        .where(or_(col(Cycle.closed_at).is_(None), col(Cycle.closed_at) >= since))
        .order_by(col(Cycle.state_entered_at))
    )
    if department_id is not None:
        query = query.where(Cycle.department_id == department_id)
    rows = list(ctx.session.exec(query))
    ids = [r[0].id for r in rows]
    open_counts: dict[int, int] = {}
    overdue_counts: dict[int, int] = {}
    if ids:
        counts = ctx.session.exec(
            select(
                Action.cycle_id,
                func.count(),
                func.sum(case((col(Action.deadline) < today, 1), else_=0)),
            )
            .where(col(Action.cycle_id).in_(ids), col(Action.status).in_(UNFINISHED))
            .group_by(col(Action.cycle_id))
        )
        for cycle_id, n_open, n_overdue in counts:
            open_counts[cycle_id] = int(n_open)
            overdue_counts[cycle_id] = int(n_overdue or 0)
    result: dict[str, list[CycleCard]] = {}
    for cycle, lead_name, code in rows:
        result.setdefault(cycle.state, []).append(
            CycleCard(
                cycle,
                lead_name,
                code,
                overdue_counts.get(cycle.id, 0),
                open_counts.get(cycle.id, 0),
            )
        )
    return result
