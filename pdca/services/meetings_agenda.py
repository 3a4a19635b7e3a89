"""The agenda of a review meeting, built from the data: one function decides what a
meeting looks at, department by department, in a fixed order of kinds.

Items are snapshots (kind, the record they speak of, its facts at that moment): the
minutes must say what the room saw, even after the records moved on. Preparing builds
them; starting rebuilds them, so the room sees the data of that morning.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlmodel import col, func, select

from pdca.models import (
    Action,
    ActionStatus,
    Cycle,
    Department,
    Kpi,
    Meeting,
    MeetingDecision,
    MeetingItem,
    MeetingStatus,
    Problem,
    ProblemOccurrence,
    ProblemStatus,
    User,
)
from pdca.services import audit
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Conflict
from pdca.services.keys import key
from pdca.services.meetings import (
    editing,
    meeting_label,
    move,
    next_meeting_day,
    previous_meeting,
)
from pdca.services.store import compare_and_set

# The fixed order of an agenda within each department.
KINDS = (
    "overdue_action",
    "due_action",
    "to_verify",
    "cycle_decision",
    "untriaged_problem",
    "kpi_breach",
    "carried_over",
    "free",
)
# States in which a cycle waits for the meeting to decide (judge, act, go round again).
DECISION_STATES = frozenset({"check", "act", "evaluate", "improve", "control"})
UNFINISHED = (ActionStatus.open, ActionStatus.in_progress)
NO_DEPARTMENT = 0  # where items of records without a department go


@dataclass
class _Draft:
    department_id: int | None
    kind: str
    entity_type: str | None
    entity_id: int | None
    facts: dict[str, Any]
    text: str | None = None
    added_by_id: int | None = None
    carried_from_id: int | None = None

    @property
    def ref(self) -> tuple[str | None, int | None]:
        return self.entity_type, self.entity_id


@dataclass
class _Names:
    users: dict[int, str] = field(default_factory=dict)

    def of(self, user_id: int | None) -> str | None:
        return self.users.get(user_id) if user_id is not None else None


def _days(later: date, earlier: date) -> int:
    return (later - earlier).days


def _action_facts(action: Action, cycle: Cycle, names: _Names, today: date) -> dict[str, Any]:
    return {
        "key": key("action", action.id),
        "title": action.title,
        "status": action.status,
        "owner_id": action.owner_id,
        "owner": names.of(action.owner_id),
        "deadline": action.deadline.isoformat() if action.deadline else None,
        # Done is not overdue, whatever the date: it waits for its verifier, not its owner.
        "days_overdue": (
            max(0, _days(today, action.deadline))
            if action.deadline and action.status in UNFINISHED
            else 0
        ),
        "age_days": _days(today, action.created_at.date()),
        "cycle_id": cycle.id,
        "cycle_key": key("cycle", cycle.id),
        "cycle_title": cycle.title,
        "version": action.version,
    }


def _department_scope(ctx: Ctx, meeting: Meeting) -> list[int]:
    if meeting.department_ids:
        return list(meeting.department_ids)
    return list(ctx.session.exec(select(Department.id).order_by(col(Department.code))))  # type: ignore[arg-type]


def _actions(ctx: Ctx, departments: list[int], today: date, next_day: date) -> list[_Draft]:
    rows = ctx.session.exec(
        select(Action, Cycle)
        .join(Cycle, col(Cycle.id) == Action.cycle_id)
        .where(
            col(Action.department_id).in_(departments),
            col(Action.status).in_([*UNFINISHED, ActionStatus.done]),
        )
        .order_by(col(Action.deadline), col(Action.id))
    ).all()
    owners = {a.owner_id for a, _ in rows if a.owner_id is not None}
    names = _Names(_user_names(ctx, owners))
    drafts = []
    for action, cycle in rows:
        if action.status == ActionStatus.done:
            kind = "to_verify"
        elif action.deadline is not None and action.deadline < today:
            kind = "overdue_action"
        elif action.deadline is not None and action.deadline < next_day:
            kind = "due_action"
        else:
            continue
        facts = _action_facts(action, cycle, names, today)
        drafts.append(_Draft(action.department_id, kind, "action", action.id, facts))
    return drafts


def _cycles(ctx: Ctx, departments: list[int], now: datetime) -> list[_Draft]:
    rows = ctx.session.exec(
        select(Cycle)
        .where(
            col(Cycle.department_id).in_(departments),
            col(Cycle.closed_at).is_(None),
            col(Cycle.state).in_(DECISION_STATES) | col(Cycle.escalated),
        )
        .order_by(col(Cycle.id))
    ).all()
    names = _Names(_user_names(ctx, {c.lead_id for c in rows}))
    return [
        _Draft(
            c.department_id,
            "cycle_decision",
            "cycle",
            c.id,
            {
                "key": key("cycle", c.id),
                "title": c.title,
                "state": c.state,
                "workflow": c.workflow,
                "iteration": c.iteration,
                "escalated": c.escalated,
                "lead_id": c.lead_id,
                "lead": names.of(c.lead_id),
                "days_in_state": _days(now.date(), c.state_entered_at.date()),
                "kpi_id": c.kpi_id,
                "result": c.result,
                "target": c.target,
                "effectiveness": c.effectiveness,
                "version": c.version,
            },
        )
        for c in rows
    ]


def _problems(ctx: Ctx, departments: list[int], now: datetime) -> list[_Draft]:
    rows = ctx.session.exec(
        select(Problem)
        .where(col(Problem.department_id).in_(departments), Problem.status == ProblemStatus.new)
        .order_by(col(Problem.reported_at))
    ).all()
    return [
        _Draft(
            p.department_id,
            "untriaged_problem",
            "problem",
            p.id,
            {
                "key": key("problem", p.id),
                "title": p.title,
                # What the system wrote, kept whole: pages say it in the reader's language.
                "generated": p.generated,
                "source": p.source,
                "severity": p.severity,
                "occurrences": p.occurrences,
                "age_days": _days(now.date(), p.reported_at.date()),
                "kpi_id": p.kpi_id,
                "version": p.version,
            },
        )
        for p in rows
    ]


def _kpi_breaches(ctx: Ctx, departments: list[int], since: datetime) -> list[_Draft]:
    """One item per KPI with new occurrences since `since`: how many, which rules, which problems."""
    rows = ctx.session.exec(
        select(ProblemOccurrence, Kpi)
        .join(Kpi, col(Kpi.id) == ProblemOccurrence.kpi_id)
        .where(col(Kpi.department_id).in_(departments), col(ProblemOccurrence.at) > since)
        .order_by(col(Kpi.code), col(ProblemOccurrence.at))
    ).all()
    by_kpi: dict[int, list[ProblemOccurrence]] = defaultdict(list)
    kpis: dict[int, Kpi] = {}
    for occurrence, kpi in rows:
        by_kpi[kpi.id].append(occurrence)  # type: ignore[index]
        kpis[kpi.id] = kpi  # type: ignore[index]
    drafts = []
    for kpi_id, occurrences in by_kpi.items():
        kpi = kpis[kpi_id]
        drafts.append(
            _Draft(
                kpi.department_id,
                "kpi_breach",
                "kpi",
                kpi_id,
                {
                    "code": kpi.code,
                    "name": kpi.name,
                    "name_zh": kpi.name_zh,
                    "unit": kpi.unit,
                    "target": kpi.target,
                    "occurrences": len(occurrences),
                    "rules": sorted({o.rule for o in occurrences}),
                    "problem_ids": sorted({o.problem_id for o in occurrences}),
                    "last_at": occurrences[-1].at.isoformat(),
                },
            )
        )
    return drafts


def _user_names(ctx: Ctx, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(ctx.session.exec(select(User.id, User.name).where(col(User.id).in_(ids))).all())  # type: ignore[arg-type]


def undecided_items(ctx: Ctx, meeting_id: int) -> list[MeetingItem]:
    decided = select(MeetingDecision.item_id).where(MeetingDecision.meeting_id == meeting_id)
    return list(
        ctx.session.exec(
            select(MeetingItem)
            .where(MeetingItem.meeting_id == meeting_id, col(MeetingItem.id).not_in(decided))
            .order_by(col(MeetingItem.position), col(MeetingItem.id))
        )
    )


def _carry_over(
    ctx: Ctx, meeting: Meeting, drafts: list[_Draft], departments: list[int]
) -> list[_Draft]:
    """Items the last meeting left undecided: marked where the data raises them again,
    else listed under "carried over" with what they said then."""
    previous = previous_meeting(ctx, meeting)
    if previous is None:
        return []
    by_ref = {d.ref: d for d in drafts if d.entity_type is not None}
    carried = []
    for old in undecided_items(ctx, previous.id):  # type: ignore[arg-type]
        root = old.carried_from_id or old.id
        again = by_ref.get((old.entity_type, old.entity_id))
        if old.entity_type is not None and again is not None:
            again.carried_from_id = old.id
            again.facts["carried_since"] = previous.starts_at.isoformat()
            continue
        if old.department_id is not None and old.department_id not in departments:
            continue
        facts = {**old.facts, "original_kind": old.facts.get("original_kind", old.kind)}
        facts["carried_since"] = previous.starts_at.isoformat()
        facts["root_item_id"] = root
        carried.append(
            _Draft(
                old.department_id,
                "carried_over",
                old.entity_type,
                old.entity_id,
                facts,
                text=old.text,
                added_by_id=old.added_by_id,
                carried_from_id=old.id,
            )
        )
    return carried


def build(ctx: Ctx, meeting: Meeting) -> list[_Draft]:
    """Every item the data raises for the meeting, departments in the meeting's order and,
    within each, kinds in KINDS order (free items are added by people, not built)."""
    departments = _department_scope(ctx, meeting)
    now, today = ctx.now(), ctx.today()
    previous = previous_meeting(ctx, meeting)
    since = previous.starts_at if previous is not None else now - timedelta(days=7)
    drafts = [
        *_actions(ctx, departments, today, next_meeting_day(ctx, meeting)),
        *_cycles(ctx, departments, now),
        *_problems(ctx, departments, now),
        *_kpi_breaches(ctx, departments, since),
    ]
    drafts += _carry_over(ctx, meeting, drafts, departments)
    rank = {d: i for i, d in enumerate(departments)}
    drafts.sort(
        key=lambda d: (rank.get(d.department_id or NO_DEPARTMENT, len(rank)), KINDS.index(d.kind))
    )
    return drafts


def refresh(ctx: Ctx, meeting: Meeting) -> int:
    """Replace the built items with what the data says now; free items stay."""
    assert meeting.id is not None
    if ctx.session.exec(
        select(func.count())
        .select_from(MeetingDecision)
        .where(MeetingDecision.meeting_id == meeting.id)
    ).one():
        raise Conflict(f"{meeting_label(meeting.id)} has decisions; its agenda stays as it was.")
    ctx.session.execute(
        delete(MeetingItem).where(
            col(MeetingItem.meeting_id) == meeting.id, col(MeetingItem.kind) != "free"
        )
    )
    drafts = build(ctx, meeting)
    now = ctx.now()
    for position, draft in enumerate(drafts):
        ctx.session.add(
            MeetingItem(
                meeting_id=meeting.id,
                department_id=draft.department_id,
                position=position,
                kind=draft.kind,
                entity_type=draft.entity_type,
                entity_id=draft.entity_id,
                facts=draft.facts,
                text=draft.text,
                added_by_id=draft.added_by_id,
                carried_from_id=draft.carried_from_id,
                created_at=now,
            )
        )
    ctx.session.flush()
    return len(drafts)


def prepare(ctx: Ctx, meeting_id: int, *, version: int | None) -> Meeting:
    """Build the agenda ahead of the meeting, so attendees see it and add their points."""
    with unit_of_work(ctx):
        meeting = editing(ctx, meeting_id, version)
        if meeting.status != MeetingStatus.planned:
            raise Conflict(f"{meeting_label(meeting_id)} is {meeting.status}; it was prepared.")
        count = refresh(ctx, meeting)
        compare_and_set(ctx, meeting, meeting_label(meeting_id), {"prepared_at": ctx.now()})
        # `stage` tells the attendees' notifications this agenda is the first one.
        data = {"items": count, "stage": "prepared"}
        audit.record(ctx, "meeting", meeting_id, "agenda_built", data=data)
    return meeting


def start(ctx: Ctx, meeting_id: int, *, version: int | None) -> Meeting:
    """Open the meeting: the agenda is rebuilt from this moment's data."""
    with unit_of_work(ctx):
        meeting = editing(ctx, meeting_id, version)
        if meeting.status != MeetingStatus.planned:
            raise Conflict(f"{meeting_label(meeting_id)} is {meeting.status}; it cannot start.")
        count = refresh(ctx, meeting)
        move(ctx, meeting, MeetingStatus.in_progress, {"started_at": ctx.now()})
        data = {"items": count, "stage": "started"}
        audit.record(ctx, "meeting", meeting_id, "agenda_built", data=data)
    return meeting


def items_of(ctx: Ctx, meeting: Meeting) -> list[MeetingItem]:
    """The agenda in walking order: the meeting's departments in turn, kinds in KINDS order."""
    rows = ctx.session.exec(
        select(MeetingItem)
        .where(MeetingItem.meeting_id == meeting.id)
        .order_by(col(MeetingItem.position), col(MeetingItem.id))
    )
    rank = {d: i for i, d in enumerate(_department_scope(ctx, meeting))}
    return sorted(
        rows,
        key=lambda i: (
            rank.get(i.department_id or NO_DEPARTMENT, len(rank)),
            KINDS.index(i.kind) if i.kind in KINDS else len(KINDS),
            i.position,
            i.id,
        ),
    )
