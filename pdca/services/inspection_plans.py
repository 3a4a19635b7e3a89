"""Inspection plans: schedules that make due inspections, and spot-check samples (抽查).

A plan names a checklist, the departments it inspects, how often (daily, weekly,
monthly, quarterly or an RFC 5545 RRULE), and who inspects: named people, or everyone
active with a role, taken in turn. An independent plan never has a department
inspected by one of its own members: naming one is refused with the reason.

The job `inspections-due` makes each inspection once its date is within LEAD_DAYS.
It inserts with ON CONFLICT DO NOTHING against the unique (plan, department, due
date), so two processes running it at once, or a run repeated, never make a
duplicate; only the insert that made the row writes its event.

A spot check draws `sample_size` cases from a list the plan points at (the
department's closed actions, or its complaints, in the period before the due date)
with a random seed recorded on the inspection, so an auditor draws the sample again
from the seed and the same list and gets the same cases (`redraw`).
"""

import random
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrulestr
from sqlmodel import col, select

from pdca.engine.facts import N_, Reason, because
from pdca.models import (
    Action,
    ActionStatus,
    ChecklistTemplate,
    Complaint,
    Department,
    Inspection,
    InspectionPlan,
    InspectionStatus,
    Role,
    User,
)
from pdca.services import audit, inspections
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Invalid
from pdca.services.notifications import insert_once
from pdca.services.policy import can_manage_checklists, require
from pdca.services.store import check_version, compare_and_set, get_or_404

FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "rrule")
SOURCES = ("closed_actions", "complaints")
INSPECTOR_ROLES = (Role.facilitator, Role.head, Role.member, Role.admin)
LEAD_DAYS = 7  # an inspection is made (and shows in My work) a week before it is due
MAX_PER_RUN = 500  # inspections one plan makes in one run; the next run goes on
MAX_DATES = 20_000  # due dates a plan is read for: 50 years of a daily plan
MAX_SAMPLE = 100
TOO_OFTEN = re.compile(r"FREQ\s*=\s*(HOURLY|MINUTELY|SECONDLY)", re.IGNORECASE)
CLOSED = (ActionStatus.done, ActionStatus.verified)


# --- when ---------------------------------------------------------------------------------------


def _rule(text: str, starts_on: date) -> Any:
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if TOO_OFTEN.search(body) or "DTSTART" in body.upper():
        raise ValueError("at most daily, and the start comes from the plan")
    return rrulestr(body, dtstart=datetime.combine(starts_on, time(0)))


def check_rrule(text: str, starts_on: date) -> str | None:
    """None if the RRULE can be used; else why not, in words."""
    try:
        _rule(text, starts_on)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        return str(exc) or exc.__class__.__name__
    return None


def occurrences(plan: InspectionPlan, through: date, limit: int = MAX_DATES) -> list[date]:
    """The plan's due dates from its start up to `through` (and its end), in order."""
    last = min(through, plan.ends_on) if plan.ends_on else through
    found: list[date] = []
    if plan.frequency == "rrule":
        for at in _rule(plan.rrule or "", plan.starts_on):
            day = at.date()
            if day > last or len(found) >= limit:
                break
            if not found or found[-1] != day:
                found.append(day)
        return found
    number = 0
    while len(found) < limit:
        if plan.frequency == "daily":
            day = plan.starts_on + timedelta(days=number)
        elif plan.frequency == "weekly":
            day = plan.starts_on + timedelta(weeks=number)
        else:
            months = number * (3 if plan.frequency == "quarterly" else 1)
            day = plan.starts_on + relativedelta(months=months)  # the 31st → the month's last
        if day > last:
            break
        found.append(day)
        number += 1
    return found


def _period_before(due: date, previous: date | None, following: date | None) -> tuple[date, date]:
    """The days a spot check samples: from the previous due date to the day before this
    one (the first one looks back as far as the next one lies ahead)."""
    if previous is not None:
        return previous, due - timedelta(days=1)
    span = (following - due) if following is not None else timedelta(days=30)
    return due - span, due - timedelta(days=1)


# --- who ----------------------------------------------------------------------------------------


def _people(ctx: Ctx, plan: InspectionPlan) -> list[User]:
    if plan.inspector_ids:
        query = select(User).where(col(User.id).in_(plan.inspector_ids))
    else:
        query = select(User).where(User.role == plan.inspector_role)
    return [
        u
        for u in ctx.session.exec(query.order_by(col(User.id)))
        if u.active and u.role != Role.viewer
    ]


def eligible(plan: InspectionPlan, people: list[User], department_id: int) -> list[User]:
    """Who may inspect the department under this plan, in a fixed order."""
    if not plan.independent:
        return people
    return [u for u in people if u.department_id != department_id]


def _check(ctx: Ctx, plan: InspectionPlan) -> list[Reason]:
    reasons: list[Reason] = []
    if not plan.title.strip():
        reasons.append(because("title", "Give the plan a title."))
    if plan.frequency not in FREQUENCIES:
        reasons.append(
            because(
                "frequency",
                "How often must be daily, weekly, monthly, quarterly or an RRULE.",
            )
        )
    elif plan.frequency == "rrule":
        wrong = check_rrule(plan.rrule or "", plan.starts_on) if plan.rrule else "empty"
        if wrong:
            reasons.append(because("rrule", "The RRULE cannot be used: %(reason)s", reason=wrong))
    if plan.ends_on is not None and plan.ends_on < plan.starts_on:
        reasons.append(because("ends_on", "The plan cannot end before it starts."))
    template = ctx.session.get(ChecklistTemplate, plan.checklist_id)
    if template is None or not template.active:
        reasons.append(because("checklist", "Choose a checklist that is in use."))
    departments = {
        d.id: d
        for d in ctx.session.exec(
            select(Department).where(col(Department.id).in_(plan.department_ids or [0]))
        )
    }
    if not plan.department_ids or len(departments) != len(set(plan.department_ids)):
        reasons.append(because("departments", "Choose the departments to inspect."))
    if bool(plan.inspector_ids) == bool(plan.inspector_role):
        reasons.append(
            because("inspectors", "Name the inspectors, or choose the role that inspects.")
        )
        return reasons
    if plan.inspector_role and plan.inspector_role not in INSPECTOR_ROLES:
        reasons.append(because("role", "Inspectors are facilitators, heads or members."))
        return reasons
    people = _people(ctx, plan)
    if plan.inspector_ids and len(people) != len(set(plan.inspector_ids)):
        reasons.append(
            because("inspector", "Every inspector must be an active user who may write.")
        )
    if plan.independent:
        for person in people:
            if plan.inspector_ids and person.department_id in departments:
                reasons.append(
                    because(
                        "not_independent",
                        "%(name)s is a member of %(department)s: an independent plan never "
                        "has a department inspected by its own people.",
                        name=person.name,
                        department=departments[person.department_id].code,  # type: ignore[index]
                    )
                )
    for department_id, department in departments.items():
        if people and not eligible(plan, people, department_id):  # type: ignore[arg-type]
            reasons.append(
                because(
                    "no_inspector",
                    "No one may inspect %(department)s under this plan.",
                    department=department.code,
                )
            )
    if not people:
        reasons.append(because("no_inspector", "No active user has that role."))
    if plan.sample_size:
        if plan.sample_source not in SOURCES:
            reasons.append(
                because("sample_source", "A spot check draws from closed actions or complaints.")
            )
        if not 0 < plan.sample_size <= MAX_SAMPLE:
            reasons.append(because("sample_size", "A sample holds 1 to 100 cases."))
    elif plan.sample_source is not None:
        reasons.append(because("sample_size", "Give the number of cases to draw."))
    return reasons


# --- plans --------------------------------------------------------------------------------------


def create_plan(
    ctx: Ctx,
    *,
    title: str,
    checklist_id: int,
    department_ids: list[int],
    frequency: str,
    starts_on: date,
    title_zh: str | None = None,
    rrule: str | None = None,
    ends_on: date | None = None,
    inspector_role: str | None = None,
    inspector_ids: list[int] | None = None,
    independent: bool = False,
    sample_size: int = 0,
    sample_source: str | None = None,
) -> InspectionPlan:
    require(can_manage_checklists(ctx.actor))
    plan = InspectionPlan(
        title=title.strip()[:200],
        title_zh=(title_zh or "").strip()[:200] or None,
        checklist_id=checklist_id,
        department_ids=sorted(set(department_ids)),
        frequency=frequency,
        rrule=(rrule or "").strip() or None if frequency == "rrule" else None,
        starts_on=starts_on,
        ends_on=ends_on,
        inspector_role=inspector_role or None,
        inspector_ids=list(dict.fromkeys(inspector_ids or [])),
        independent=independent,
        sample_size=sample_size,
        sample_source=sample_source or None,
        created_by_id=ctx.actor_id,
        created_at=ctx.now(),
    )
    with unit_of_work(ctx):
        reasons = _check(ctx, plan)
        if reasons:
            raise Invalid(N_("The plan cannot be saved."), reasons)
        ctx.session.add(plan)
        ctx.session.flush()
        assert plan.id is not None
        audit.record(
            ctx,
            "inspection_plan",
            plan.id,
            "created",
            data=plan.model_dump(
                mode="json", exclude={"id", "created_at", "created_by_id", "version"}
            ),
        )
    return plan


def update_plan(
    ctx: Ctx,
    plan_id: int,
    *,
    version: int | None,
    title: str | None = None,
    title_zh: str | None = None,
    ends_on: date | None = None,
    active: bool | None = None,
) -> InspectionPlan:
    """Rename, end or retire a plan; inspections it made stay as they are."""
    require(can_manage_checklists(ctx.actor))
    with unit_of_work(ctx):
        plan = get_plan(ctx, plan_id)
        check_version(plan, version, "Plan")
        values: dict[str, Any] = {}
        if title is not None:
            values["title"] = title.strip()[:200]
        if title_zh is not None:
            values["title_zh"] = title_zh.strip()[:200] or None
        if ends_on is not None:
            values["ends_on"] = ends_on
        if active is not None:
            values["active"] = active
        changed = {k: v for k, v in values.items() if getattr(plan, k) != v}
        if not changed:
            return plan
        trial = InspectionPlan(**{**plan.model_dump(), **changed})
        reasons = [r for r in _check(ctx, trial) if r.code in ("title", "ends_on")]
        if reasons:
            raise Invalid(N_("The plan cannot be saved."), reasons)
        before = {k: getattr(plan, k) for k in changed}
        compare_and_set(ctx, plan, "Plan", changed)
        audit.record(
            ctx,
            "inspection_plan",
            plan_id,
            "field_changed",
            old={k: str(v) for k, v in before.items()},
            new={k: str(v) for k, v in changed.items()},
        )
        ctx.session.refresh(plan)
    return plan


def get_plan(ctx: Ctx, plan_id: int) -> InspectionPlan:
    return get_or_404(ctx, InspectionPlan, plan_id, "Plan")


def list_plans(ctx: Ctx, *, active: bool | None = None) -> list[InspectionPlan]:
    query = select(InspectionPlan).order_by(col(InspectionPlan.id))
    if active is not None:
        query = query.where(InspectionPlan.active == active)
    return list(ctx.session.exec(query))


# --- spot checks --------------------------------------------------------------------------------


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(start, time(0), tzinfo=UTC),
        datetime.combine(end + timedelta(days=1), time(0), tzinfo=UTC),
    )


def population(ctx: Ctx, source: str, department_id: int, start: date, end: date) -> list[str]:
    """The cases a sample is drawn from, in a fixed order (by id)."""
    low, high = _bounds(start, end)
    if source == "closed_actions":
        ids = ctx.session.exec(
            select(Action.id)
            .where(
                Action.department_id == department_id,
                col(Action.status).in_(CLOSED),
                col(Action.done_at) >= low,
                col(Action.done_at) < high,
            )
            .order_by(col(Action.id))
        )
        return [f"A-{i}" for i in ids]
    ids = ctx.session.exec(
        select(Complaint.id)
        .where(
            Complaint.department_id == department_id,
            col(Complaint.received_at) >= low,
            col(Complaint.received_at) < high,
        )
        .order_by(col(Complaint.id))
    )
    return [f"CP-{i}" for i in ids]


def draw(cases: list[str], size: int, seed: int) -> list[str]:
    """The same cases, size and seed always draw the same sample (in the list's order)."""
    chosen = set(random.Random(seed).sample(range(len(cases)), min(size, len(cases))))
    return [c for n, c in enumerate(cases) if n in chosen]


@dataclass(frozen=True)
class Redrawn:
    seed: int
    source: str
    start: date
    end: date
    recorded: list[str]
    redrawn: list[str]

    @property
    def same(self) -> bool:
        return self.recorded == self.redrawn


def redraw(ctx: Ctx, inspection_id: int) -> Redrawn:
    """Draw a spot check's sample again from its recorded seed, list and period."""
    found = inspections.get_inspection(ctx, inspection_id)
    if found.sample_seed is None or found.sample_source is None:
        raise Invalid(N_("This inspection is not a spot check: it has no sample."))
    assert found.sample_from is not None and found.sample_to is not None
    cases = population(
        ctx, found.sample_source, found.department_id, found.sample_from, found.sample_to
    )
    return Redrawn(
        found.sample_seed,
        found.sample_source,
        found.sample_from,
        found.sample_to,
        list(found.sample or []),
        draw(cases, len(found.sample or []) or _plan_size(ctx, found), found.sample_seed),
    )


def _plan_size(ctx: Ctx, found: Inspection) -> int:
    plan = ctx.session.get(InspectionPlan, found.plan_id) if found.plan_id else None
    return plan.sample_size if plan else 0


# --- making due inspections ---------------------------------------------------------------------


def schedule(ctx: Ctx) -> int:
    """Make every active plan's inspections due within LEAD_DAYS; the number made."""
    with unit_of_work(ctx):
        ids = [p.id for p in list_plans(ctx, active=True)]
    return sum(_schedule_plan(ctx, plan_id) for plan_id in ids)  # type: ignore[arg-type]


def schedule_plan(ctx: Ctx, plan_id: int) -> int:
    """Make one plan's due inspections now (quality staff), as the job would."""
    require(can_manage_checklists(ctx.actor))
    get_plan(ctx, plan_id)
    return _schedule_plan(ctx, plan_id)


def _schedule_plan(ctx: Ctx, plan_id: int) -> int:
    made = 0
    # One transaction per plan: a plan that fails holds no other back.
    with unit_of_work(ctx):
        plan = get_plan(ctx, plan_id)
        template = ctx.session.get(ChecklistTemplate, plan.checklist_id)
        if not plan.active or template is None or not template.active:
            return 0
        version = inspections.get_version(ctx, plan.checklist_id, template.current_version)
        dates = occurrences(plan, ctx.today() + timedelta(days=LEAD_DAYS))
        existing = {
            (department_id, due)
            for department_id, due in ctx.session.exec(
                select(Inspection.department_id, Inspection.due_on).where(
                    Inspection.plan_id == plan_id
                )
            )
        }
        people = _people(ctx, plan)
        for number, due in enumerate(dates):
            for department_id in plan.department_ids:
                if (department_id, due) in existing or made >= MAX_PER_RUN:
                    continue
                who = eligible(plan, people, department_id)
                if not who:
                    continue  # no one may inspect it now: the plan page says so
                values: dict[str, Any] = {
                    "checklist_version_id": version.id,
                    "department_id": department_id,
                    "inspector_id": who[number % len(who)].id,
                    "due_on": due,
                    "status": InspectionStatus.planned,
                    "answers": {},
                    "failed_items": 0,
                    "plan_id": plan_id,
                    "created_by_id": None,
                    "created_at": ctx.now(),
                    "version": 1,
                }
                if plan.sample_size and plan.sample_source:
                    start, end = _period_before(
                        due,
                        dates[number - 1] if number else None,
                        dates[number + 1] if number + 1 < len(dates) else None,
                    )
                    seed = secrets.randbelow(2**31)
                    cases = population(ctx, plan.sample_source, department_id, start, end)
                    values |= {
                        "sample_seed": seed,
                        "sample_source": plan.sample_source,
                        "sample_from": start,
                        "sample_to": end,
                        "sample": draw(cases, plan.sample_size, seed),
                    }
                new_id = insert_once(ctx.session, Inspection, values)
                if new_id is None:
                    continue  # another run made it a moment ago
                made += 1
                audit.record(
                    ctx,
                    "inspection",
                    new_id,
                    "planned",
                    new=InspectionStatus.planned,
                    data={
                        "plan_id": plan_id,
                        "checklist": template.code,
                        "checklist_version": version.number,
                        "department_id": department_id,
                        "inspector_id": values["inspector_id"],
                        "due_on": due.isoformat(),
                        **(
                            {"sample_seed": values["sample_seed"], "sample": values["sample"]}
                            if "sample_seed" in values
                            else {}
                        ),
                    },
                )
    return made
