"""The escalation ladder for overdue actions: who is told, how many days past the deadline.

The organisation sets the steps (an administrator, on the admin page); the default
tells the owner on the first overdue day, the head of the owner's department three
days late, and the quality managers (facilitators) a week late. Each step is taken
once per action and deadline: a unique row in `escalation_steps`, written in the
same transaction as its notifications and its event on the action's trail. A new
deadline starts the ladder again.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from pdca import i18n
from pdca.engine.facts import N_, Reason
from pdca.models import (
    Action,
    ChecklistTemplate,
    ChecklistVersion,
    Department,
    EscalationLadder,
    EscalationStep,
    Inspection,
    InspectionEscalation,
    InspectionStatus,
    Role,
    User,
)
from pdca.services import audit, webhooks
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Invalid
from pdca.services.keys import key
from pdca.services.notifications import insert_once, notify
from pdca.services.policy import can_manage_organisation, require
from pdca.services.store import check_version

LADDER_ID = 1
DEFAULT_STEPS: list[dict[str, Any]] = [
    {"days": 0, "to": "owner"},
    {"days": 3, "to": "head"},
    {"days": 7, "to": "quality"},
]
TARGETS = {
    "owner": N_("The owner"),
    "head": N_("The head of the owner's department"),
    "quality": N_("The quality managers (facilitators)"),
}
# What the card and the action page say about the last step taken.
STEP_TEXTS = {
    "owner": N_("Overdue notice sent to the owner on %(date)s"),
    "head": N_("Escalated to the head of %(department)s on %(date)s"),
    "quality": N_("Escalated to the quality managers on %(date)s"),
}
MAX_STEPS = 6
UNFINISHED = ("open", "in_progress")


@dataclass(frozen=True)
class Ladder:
    steps: list[dict[str, Any]]
    version: int  # 0: the default, never saved


def ladder(ctx: Ctx) -> Ladder:
    row = ctx.session.get(EscalationLadder, LADDER_ID)
    if row is None:
        return Ladder([dict(s) for s in DEFAULT_STEPS], 0)
    return Ladder(list(row.steps), row.version)


def save_ladder(ctx: Ctx, *, version: int | None, steps: list[dict[str, Any]]) -> Ladder:
    """Replace the ladder; steps must name a known target and go up in days."""
    require(can_manage_organisation(ctx.actor))
    reasons: list[Reason] = []
    clean: list[dict[str, Any]] = []
    for number, step in enumerate(steps, start=1):
        days, to = step.get("days"), step.get("to")
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 365:
            reasons.append(
                Reason(
                    "days_invalid",
                    f"Step {number}: give the days past the deadline as 0 to 365.",
                    N_("Step %(number)s: give the days past the deadline as 0 to 365."),
                    params={"number": number},
                )
            )
            continue
        if to not in TARGETS:
            reasons.append(
                Reason(
                    "to_invalid",
                    f"Step {number}: choose who is told.",
                    N_("Step %(number)s: choose who is told."),
                    params={"number": number},
                )
            )
            continue
        if clean and days <= clean[-1]["days"]:
            reasons.append(
                Reason(
                    "days_order",
                    f"Step {number}: each step comes later than the one before.",
                    N_("Step %(number)s: each step comes later than the one before."),
                    params={"number": number},
                )
            )
            continue
        clean.append({"days": days, "to": to})
    if len(steps) > MAX_STEPS:
        reasons.append(Reason("steps_too_many", N_("A ladder has at most 6 steps.")))
    if reasons:
        raise Invalid(N_("The ladder was not saved."), reasons)
    with unit_of_work(ctx):
        row = ctx.session.get(EscalationLadder, LADDER_ID, with_for_update=True)
        before = list(row.steps) if row is not None else DEFAULT_STEPS
        if row is None:
            check_version(EscalationLadder(steps=[], version=0), version, "The ladder")
            row = EscalationLadder(id=LADDER_ID, steps=clean, version=1)
        else:
            check_version(row, version, "The ladder")
            row.steps, row.version = clean, row.version + 1
        ctx.session.add(row)
        audit.record(
            ctx, "organisation", LADDER_ID, "escalation_ladder_saved", old=before, new=clean
        )
    return Ladder(clean, row.version)


def _recipients(ctx: Ctx, action: Action, to: str) -> tuple[list[int], int | None]:
    """Who a step tells, and the department it names (the owner's, for a head)."""
    if to == "owner":
        return ([action.owner_id] if action.owner_id else []), None
    if to == "head":
        owner = ctx.session.get(User, action.owner_id) if action.owner_id else None
        department_id = (owner.department_id if owner else None) or action.department_id
        heads = ctx.session.exec(
            select(User.id).where(
                User.role == Role.head,
                User.department_id == department_id,
                User.active == True,  # noqa: E712
            )
        )
        return [int(h) for h in heads if h is not None], department_id
    staff = ctx.session.exec(
        select(User.id).where(User.role == Role.facilitator, User.active == True)  # noqa: E712
    )
    return [int(s) for s in staff if s is not None], None


def _take_step(
    ctx: Ctx, action: Action, number: int, step: dict[str, Any], days: int, mail: bool
) -> bool:
    assert action.id is not None and action.deadline is not None
    to = step["to"]
    users, department_id = _recipients(ctx, action, to)
    taken = insert_once(
        ctx.session,
        EscalationStep,
        {
            "action_id": action.id,
            "deadline": action.deadline,
            "step": number,
            "to": to,
            "department_id": department_id,
            "at": ctx.now(),
        },
    )
    if taken is None:
        return False  # taken before (or by another process just now)
    owner = ctx.session.get(User, action.owner_id) if action.owner_id else None
    params = {
        "key": key("action", action.id),
        "title": action.title,
        "deadline": action.deadline.isoformat(),
        "days": days,
        "owner": owner.name if owner else "",
    }
    kind = "overdue" if to == "owner" else "escalated"
    for user_id in users:
        notify(
            ctx,
            user_id,
            kind,
            "action",
            action.id,
            params,
            f"escalation:{action.id}:{action.deadline.isoformat()}:{number}",
            mail=mail,
        )
    department = ctx.session.get(Department, department_id) if department_id else None
    audit.record(
        ctx,
        "action",
        action.id,
        "escalated",
        data={
            "step": number,
            "to": to,
            "days_overdue": days,
            "deadline": action.deadline.isoformat(),
            "department": department.code if department else None,
            "recipients": users,
        },
    )
    webhooks.queue(
        ctx,
        "action.escalated",
        f"escalation:{action.id}:{action.deadline.isoformat()}:{number}",
        {
            "entity": {"type": "action", "id": action.id, **params},
            "step": number,
            "to": to,
            "recipients": users,
        },
    )
    return True


def run(ctx: Ctx, *, mail: bool) -> int:
    """Take every step that is due for every overdue action and inspection; steps taken."""
    return _run_actions(ctx, mail=mail) + run_inspections(ctx, mail=mail)


def _run_actions(ctx: Ctx, *, mail: bool) -> int:
    today = ctx.today()
    with unit_of_work(ctx):
        overdue = [
            int(i)  # type: ignore[arg-type]
            for i in ctx.session.exec(
                select(Action.id).where(
                    col(Action.status).in_(UNFINISHED), col(Action.deadline) < today
                )
            )
        ]
        steps = ladder(ctx).steps
    taken = 0
    for action_id in overdue:
        # One transaction per action: a failure on one never holds the others back.
        with unit_of_work(ctx):
            action = ctx.session.get(Action, action_id)
            if action is None or action.status not in UNFINISHED or action.deadline is None:
                continue
            days = (today - action.deadline).days
            for number, step in enumerate(steps):
                if days >= step["days"]:
                    taken += _take_step(ctx, action, number, step, days, mail)
    return taken


# --- overdue inspections: the same ladder, the inspector in the owner's place ---------------------

INSPECTION_UNFINISHED = (InspectionStatus.planned, InspectionStatus.in_progress)


def _heads_of(ctx: Ctx, department_id: int | None) -> list[int]:
    heads = ctx.session.exec(
        select(User.id).where(
            User.role == Role.head,
            User.department_id == department_id,
            User.active == True,  # noqa: E712
        )
    )
    return [int(h) for h in heads if h is not None]


def _take_inspection_step(
    ctx: Ctx, inspection: Inspection, number: int, to: str, days: int, mail: bool
) -> bool:
    assert inspection.id is not None
    inspector = ctx.session.get(User, inspection.inspector_id)
    if to == "owner":
        users = [inspection.inspector_id]
    elif to == "head":
        users = _heads_of(ctx, inspector.department_id if inspector else None)
    else:
        users = _recipients(ctx, Action(title=""), "quality")[0]
    taken = insert_once(
        ctx.session,
        InspectionEscalation,
        {
            "inspection_id": inspection.id,
            "due_on": inspection.due_on,
            "step": number,
            "to": to,
            "at": ctx.now(),
        },
    )
    if taken is None:
        return False  # taken before (or by another process just now)
    template = ctx.session.exec(
        select(ChecklistTemplate)
        .join(ChecklistVersion, col(ChecklistVersion.template_id) == ChecklistTemplate.id)
        .where(ChecklistVersion.id == inspection.checklist_version_id)
    ).one()
    department = ctx.session.get(Department, inspection.department_id)
    params = {
        "key": key("inspection", inspection.id),
        "title": {
            "en": f"{template.title} ({department.code if department else ''})",
            "zh_CN": f"{template.title_zh or template.title}（{department.code if department else ''}）",
        },
        "deadline": inspection.due_on.isoformat(),
        "days": days,
        "owner": inspector.name if inspector else "",
    }
    dedupe = f"inspection-escalation:{inspection.id}:{inspection.due_on.isoformat()}:{number}"
    for user_id in users:
        notify(
            ctx,
            user_id,
            "overdue" if to == "owner" else "escalated",
            "inspection",
            inspection.id,
            params,
            dedupe,
            mail=mail,
        )
    audit.record(
        ctx,
        "inspection",
        inspection.id,
        "escalated",
        data={
            "step": number,
            "to": to,
            "days_overdue": days,
            "due_on": inspection.due_on.isoformat(),
            "recipients": users,
        },
    )
    return True


def run_inspections(ctx: Ctx, *, mail: bool) -> int:
    """Overdue inspections climb the actions' ladder: the inspector first, then the head
    of the inspector's department, then the quality managers; each step once."""
    today = ctx.today()
    with unit_of_work(ctx):
        overdue = [
            int(i)  # type: ignore[arg-type]
            for i in ctx.session.exec(
                select(Inspection.id).where(
                    col(Inspection.status).in_(INSPECTION_UNFINISHED),
                    col(Inspection.due_on) < today,
                )
            )
        ]
        steps = ladder(ctx).steps
    taken = 0
    for inspection_id in overdue:
        with unit_of_work(ctx):
            inspection = ctx.session.get(Inspection, inspection_id)
            if inspection is None or inspection.status not in INSPECTION_UNFINISHED:
                continue
            days = (today - inspection.due_on).days
            for number, step in enumerate(steps):
                if days >= step["days"]:
                    taken += _take_inspection_step(ctx, inspection, number, step["to"], days, mail)
    return taken


@dataclass(frozen=True)
class StepView:
    to: str
    at: datetime
    department: str | None


def latest_steps(ctx: Ctx, action_ids: list[int]) -> dict[int, StepView]:
    """The last step taken for each action's current deadline: one query for a board."""
    if not action_ids:
        return {}
    rows = ctx.session.exec(
        select(EscalationStep, Department.code)
        .join(Action, col(Action.id) == EscalationStep.action_id)
        .outerjoin(Department, col(Department.id) == EscalationStep.department_id)
        .where(
            col(EscalationStep.action_id).in_(action_ids),
            col(EscalationStep.deadline) == col(Action.deadline),
            col(Action.status).in_(UNFINISHED),
        )
        .order_by(col(EscalationStep.step))
    )
    return {s.action_id: StepView(s.to, s.at, code) for s, code in rows}


def step_text(view: StepView, lang: str) -> str:
    template = i18n.translations(lang).gettext(STEP_TEXTS.get(view.to, STEP_TEXTS["owner"]))
    return template % {
        "department": view.department or "",
        "date": i18n.format_date(view.at.date(), lang),
    }


def steps_of(ctx: Ctx, action_id: int) -> list[EscalationStep]:
    return list(
        ctx.session.exec(
            select(EscalationStep)
            .where(EscalationStep.action_id == action_id)
            .order_by(col(EscalationStep.at), col(EscalationStep.step))
        )
    )
