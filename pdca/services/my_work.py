"""My work: what waits for one person today, and for a head, for their department.

A fixed number of queries whatever the data: one per list, each already joined
with what a line shows; the navigation counts are one statement.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Select, and_, case, exists, func, literal, or_
from sqlmodel import col, select

from pdca.models import (
    Action,
    ActionStatus,
    Cycle,
    CycleMember,
    Department,
    Notification,
    Problem,
    ProblemStatus,
    Role,
    User,
)
from pdca.services import inspections
from pdca.services.context import Ctx
from pdca.services.inspections import InspectionLine
from pdca.services.policy import STAFF, can_verify_action
from pdca.services.queries import OWNER

UNFINISHED = (ActionStatus.open, ActionStatus.in_progress)
LIST_LIMIT = 200


@dataclass(frozen=True)
class WorkLine:
    action: Action
    owner_name: str | None
    department_code: str
    cycle_title: str


@dataclass
class ByUrgency:
    overdue: list[WorkLine] = field(default_factory=list)
    this_week: list[WorkLine] = field(default_factory=list)
    later: list[WorkLine] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.overdue) + len(self.this_week) + len(self.later)


@dataclass(frozen=True)
class CycleLine:
    cycle: Cycle
    role: str  # "lead" or "member"


@dataclass(frozen=True)
class OwnerLoad:
    owner_id: int | None
    owner_name: str | None
    open: int
    overdue: int


@dataclass
class MyWork:
    mine: ByUrgency
    to_verify: list[WorkLine]
    cycles: list[CycleLine]
    to_triage: list[Problem]
    may_triage: bool
    department: ByUrgency | None = None  # a head's whole department
    owners: list[OwnerLoad] = field(default_factory=list)
    # Inspections due for me to fill in, and (a head) my department's to acknowledge.
    inspections: list[InspectionLine] = field(default_factory=list)
    to_acknowledge: list[InspectionLine] = field(default_factory=list)


def _lines(ctx: Ctx, query: Select) -> list[WorkLine]:
    return [WorkLine(*row) for row in ctx.session.exec(query.limit(LIST_LIMIT))]  # type: ignore[call-overload]


def _action_lines() -> tuple[Select, type[User]]:
    owner = OWNER
    query = (
        select(Action, owner.name, Department.code, Cycle.title)
        .join(Department, col(Department.id) == Action.department_id)
        .join(Cycle, col(Cycle.id) == Action.cycle_id)
        .outerjoin(owner, owner.id == Action.owner_id)
    )
    return query, owner  # type: ignore[return-value]


def _by_urgency(lines: list[WorkLine], today: date) -> ByUrgency:
    week = today + timedelta(days=7)
    result = ByUrgency()
    for line in lines:
        deadline = line.action.deadline
        if deadline is not None and deadline < today:
            result.overdue.append(line)
        elif deadline is not None and deadline <= week:
            result.this_week.append(line)
        else:
            result.later.append(line)
    return result


def _unfinished_first_due() -> tuple:
    return (col(Action.deadline).is_(None), col(Action.deadline), col(Action.id))


def _triage_filter(user: User) -> object | None:
    """Which new problems `user` may triage, as a condition; None: none of them."""
    if not user.active or user.role == Role.viewer:
        return None
    if user.role in STAFF:
        return Problem.status == ProblemStatus.new
    if user.role == Role.head and user.department_id is not None:
        return and_(
            Problem.status == ProblemStatus.new, Problem.department_id == user.department_id
        )
    return None


def _verify_filter(user: User) -> object | None:
    if can_verify_action(user, Action(cycle_id=0, title="", department_id=0)) is not None:
        return None  # not a verifier at all
    return and_(Action.status == ActionStatus.done, col(Action.owner_id) != user.id)


def my_work(ctx: Ctx, user: User) -> MyWork:
    today = ctx.today()
    query, _owner = _action_lines()
    mine = _lines(
        ctx,
        query.where(Action.owner_id == user.id, col(Action.status).in_(UNFINISHED)).order_by(
            *_unfinished_first_due()
        ),
    )
    verify_cond = _verify_filter(user)
    to_verify = (
        _lines(ctx, query.where(verify_cond).order_by(col(Action.done_at), col(Action.id)))  # type: ignore[arg-type]
        if verify_cond is not None
        else []
    )
    member = exists().where(CycleMember.cycle_id == Cycle.id, CycleMember.user_id == user.id)
    cycles = [
        CycleLine(c, "lead" if c.lead_id == user.id else "member")
        for c in ctx.session.exec(
            select(Cycle)
            .where(col(Cycle.closed_at).is_(None), or_(Cycle.lead_id == user.id, member))
            .order_by(col(Cycle.state_entered_at))
            .limit(LIST_LIMIT)
        )
    ]
    triage_cond = _triage_filter(user)
    to_triage = (
        list(
            ctx.session.exec(
                select(Problem)
                .where(triage_cond)
                .order_by(col(Problem.reported_at))
                .limit(LIST_LIMIT)  # type: ignore[arg-type]
            )
        )
        if triage_cond is not None
        else []
    )
    work = MyWork(_by_urgency(mine, today), to_verify, cycles, to_triage, triage_cond is not None)
    work.inspections = inspections.due_for(ctx, user)
    work.to_acknowledge = inspections.to_acknowledge(ctx, user)
    if user.role == Role.head and user.department_id is not None:
        department = _lines(
            ctx,
            query.where(
                Action.department_id == user.department_id, col(Action.status).in_(UNFINISHED)
            ).order_by(*_unfinished_first_due()),
        )
        work.department = _by_urgency(department, today)
        work.owners = _owner_loads(ctx, user.department_id, today)
    return work


def _owner_loads(ctx: Ctx, department_id: int, today: date) -> list[OwnerLoad]:
    """Unfinished and overdue actions of a department per owner, in one grouped query."""
    rows = ctx.session.exec(
        select(
            Action.owner_id,
            User.name,
            func.count(),
            func.coalesce(func.sum(_case_overdue(today)), 0),
        )
        .outerjoin(User, col(User.id) == Action.owner_id)
        .where(Action.department_id == department_id, col(Action.status).in_(UNFINISHED))
        .group_by(Action.owner_id, User.name)
    )
    loads = [OwnerLoad(o, n, int(c), int(d)) for o, n, c, d in rows]
    return sorted(loads, key=lambda x: (-x.overdue, -x.open, x.owner_name or ""))


def _case_overdue(today: date) -> object:
    return case((col(Action.deadline) < today, 1), else_=0)


@dataclass(frozen=True)
class NavCounts:
    overdue: int
    to_verify: int
    to_triage: int
    unread: int  # notifications in the inbox not read yet


def nav_counts(ctx: Ctx, user: User) -> NavCounts:
    """The counts the navigation bar shows, in one statement of scalar subqueries."""
    today = ctx.today()
    overdue = (
        select(func.count())
        .select_from(Action)
        .where(
            Action.owner_id == user.id,
            col(Action.status).in_(UNFINISHED),
            col(Action.deadline) < today,
        )
        .scalar_subquery()
    )
    parts = [overdue]
    verify_cond = _verify_filter(user)
    triage_cond = _triage_filter(user)
    for cond, model in ((verify_cond, Action), (triage_cond, Problem)):
        if cond is None:
            parts.append(literal(0))  # type: ignore[arg-type]
        else:
            parts.append(select(func.count()).select_from(model).where(cond).scalar_subquery())  # type: ignore[arg-type]
    parts.append(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user.id, col(Notification.read_at).is_(None))
        .scalar_subquery()
    )
    row = ctx.session.exec(select(*parts)).one()  # type: ignore[call-overload]
    return NavCounts(*(int(n or 0) for n in row))
