"""Decisions taken in a meeting, each through the ordinary service with its own rules.

A decision is one transaction: the service's change and its audit events (tagged with
the meeting and the item), the decision row, and the meeting's own "decided" event.
If the service refuses (a guard, a permission, a stale version), nothing is kept and
the refusal is the service's own, word for word.
"""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import col, select

from pdca.engine.facts import N_
from pdca.models import (
    Action,
    ActionKind,
    Cycle,
    MeetingDecision,
    MeetingItem,
    MeetingStatus,
    Problem,
)
from pdca.services import actions, audit, comments, cycles, problems
from pdca.services.accounts import Signature
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Conflict, Invalid, NotFound
from pdca.services.keys import key
from pdca.services.meetings import editing, meeting_label
from pdca.services.store import check_version, compare_and_set, get_or_404

DECISION_KINDS = (
    "new_action",
    "reassign",
    "redate",
    "transition",
    "triage",
    "open_cycle",
    "note",
)
_NEEDS = {
    "reassign": "action",
    "redate": "action",
    "transition": "cycle",
    "triage": "problem",
    "open_cycle": "problem",
}


@dataclass(frozen=True)
class DecisionIn:
    """What the room decided; which fields matter depends on `kind`."""

    kind: str
    item_version: int | None = None
    # The version of the record the decision changes, as the room saw it.
    version: int | None = None
    note: str | None = None
    # new_action
    cycle_id: int | None = None
    title: str | None = None
    department_id: int | None = None
    owner_id: int | None = None
    deadline: date | None = None
    action_kind: str = ActionKind.corrective
    # transition
    trigger: str | None = None
    password: str | None = None
    # triage
    triage: str | None = None
    # open_cycle
    workflow: str = "pdca"
    lead_id: int | None = None


def _item(ctx: Ctx, meeting_id: int, item_id: int) -> MeetingItem:
    item = ctx.session.get(MeetingItem, item_id)
    if item is None or item.meeting_id != meeting_id:
        raise NotFound(f"Agenda item {item_id} is not on {meeting_label(meeting_id)}.")
    return item


def _target(item: MeetingItem, kind: str) -> int:
    """The record the decision acts on: the item's own, of the type the decision needs."""
    wanted = _NEEDS[kind]
    if item.entity_type != wanted or item.entity_id is None:
        raise Invalid(
            f"This decision needs an item about a {wanted}; this item is about "
            f"{item.entity_type or 'no record'}."
        )
    return item.entity_id


def default_cycle_id(ctx: Ctx, item: MeetingItem) -> int | None:
    """The cycle a new action would most naturally belong to, for the form's default."""
    if item.entity_type == "cycle":
        return item.entity_id
    if item.entity_type == "action" and item.entity_id is not None:
        action = ctx.session.get(Action, item.entity_id)
        return action.cycle_id if action else None
    return None


def _apply(
    ctx: Ctx, item: MeetingItem, decision: DecisionIn
) -> tuple[str | None, int | None, dict[str, Any]]:
    """Run the decision's service; return the record it made or changed and the
    parameters of the sentence that says what was decided."""
    kind, note = decision.kind, (decision.note or "").strip() or None
    if kind == "new_action":
        cycle_id = decision.cycle_id or default_cycle_id(ctx, item)
        if cycle_id is None:
            raise Invalid(N_("Name the cycle the new action belongs to (e.g. C-3)."))
        department = decision.department_id or item.department_id
        if department is None:
            raise Invalid(N_("Choose the department responsible for the new action."))
        made = actions.add_action(
            ctx,
            cycle_id,
            title=decision.title or "",
            department_id=department,
            owner_id=decision.owner_id,
            deadline=decision.deadline,
            kind=decision.action_kind,
            description=note,
        )
        return (
            "action",
            made.id,
            {
                "key": key("action", made.id),
                "title": made.title,
                "cycle": key("cycle", cycle_id),
                "owner_id": made.owner_id,
                "deadline": made.deadline.isoformat() if made.deadline else None,
                "department_id": made.department_id,
            },
        )
    if kind in ("reassign", "redate"):
        action_id = _target(item, kind)
        before = get_or_404(ctx, Action, action_id, "Action")
        old = {"owner_id": before.owner_id, "deadline": before.deadline}
        if kind == "reassign":
            if decision.owner_id is None:
                raise Invalid(N_("Choose the new owner."))
            changes: dict[str, Any] = {"owner_id": decision.owner_id}
        else:
            if decision.deadline is None:
                raise Invalid(N_("Choose the new deadline."))
            changes = {"deadline": decision.deadline}
        changed = actions.update_action(
            ctx, action_id, version=decision.version, changes=changes, note=note
        )
        field = "owner_id" if kind == "reassign" else "deadline"
        was, now = old[field], getattr(changed, field)
        return (
            "action",
            action_id,
            {
                "key": key("action", action_id),
                "title": changed.title,
                "from": was.isoformat() if isinstance(was, date) else was,
                "to": now.isoformat() if isinstance(now, date) else now,
            },
        )
    if kind == "transition":
        cycle_id = _target(item, kind)
        if not decision.trigger:
            raise Invalid(N_("Choose the step the cycle takes."))
        before_state = get_or_404(ctx, Cycle, cycle_id, "Cycle").state
        signature = Signature("approved closure", decision.password) if decision.password else None
        moved = cycles.fire_transition(
            ctx,
            cycle_id,
            trigger=decision.trigger,
            version=decision.version,
            note=note,
            signature=signature,
        )
        return (
            "cycle",
            cycle_id,
            {
                "key": key("cycle", cycle_id),
                "title": moved.title,
                "trigger": decision.trigger,
                "from": before_state,
                "to": moved.state,
                "workflow": moved.workflow,
            },
        )
    if kind == "triage":
        problem_id = _target(item, kind)
        if decision.triage not in ("accept", "reject"):
            raise Invalid(N_("Accept or reject the problem."))
        triaged = problems.triage_problem(
            ctx, problem_id, decision=decision.triage, reason=note, version=decision.version
        )
        return (
            "problem",
            problem_id,
            {
                "key": key("problem", problem_id),
                "title": triaged.title,
                "generated": triaged.generated,
                "decision": decision.triage,
            },
        )
    if kind == "open_cycle":
        problem_id = _target(item, kind)
        problem = get_or_404(ctx, Problem, problem_id, "Problem")
        if decision.lead_id is None:
            raise Invalid(N_("Choose who leads the new cycle."))
        opened = cycles.open_cycle(
            ctx,
            title=(decision.title or "").strip() or problem.title,
            workflow=decision.workflow,
            lead_id=decision.lead_id,
            problem_ids=[problem_id],
            department_id=problem.department_id,
        )
        return (
            "cycle",
            opened.id,
            {
                "key": key("cycle", opened.id),
                "title": opened.title,
                "problem": key("problem", problem_id),
                "lead_id": opened.lead_id,
            },
        )
    if kind == "note":
        if not note:
            raise Invalid(N_("Write the note."))
        if item.entity_type in comments.COMMENTABLE and item.entity_id is not None:
            comments.add_comment(ctx, item.entity_type, item.entity_id, note)
        return (
            item.entity_type,
            item.entity_id,
            {
                "key": _key_of(item),
                "title": item.facts.get("title") or item.text or "",
                "generated": item.facts.get("generated"),
            },
        )
    raise Invalid(f"Unknown decision {kind!r}; one of: {', '.join(DECISION_KINDS)}.")


def _key_of(item: MeetingItem) -> str | None:
    if item.entity_type in ("action", "cycle", "problem") and item.entity_id is not None:
        return key(item.entity_type, item.entity_id)
    return item.facts.get("code")


def decide(ctx: Ctx, meeting_id: int, item_id: int, decision: DecisionIn) -> MeetingDecision:
    """Record one decision on one agenda item of a meeting in progress."""
    if decision.kind not in DECISION_KINDS:
        raise Invalid(f"Unknown decision {decision.kind!r}; one of: {', '.join(DECISION_KINDS)}.")
    with unit_of_work(ctx):
        meeting = editing(ctx, meeting_id, None)
        if meeting.status != MeetingStatus.in_progress:
            raise Conflict(
                f"{meeting_label(meeting_id)} is {meeting.status}: decisions are taken while "
                "it is in progress."
            )
        item = _item(ctx, meeting_id, item_id)
        check_version(item, decision.item_version, f"Agenda item {item_id}")
        with audit.tagged(ctx, meeting_id=meeting_id, meeting_item_id=item_id):
            entity_type, entity_id, params = _apply(ctx, item, decision)
        row = MeetingDecision(
            meeting_id=meeting_id,
            item_id=item_id,
            kind=decision.kind,
            entity_type=entity_type,
            entity_id=entity_id,
            params=params,
            note=(decision.note or "").strip() or None,
            decided_by_id=ctx.actor_id,
            decided_at=ctx.now(),
        )
        ctx.session.add(row)
        # The item's version moves too: a second screen deciding on what it saw gets a 409.
        compare_and_set(ctx, item, f"Agenda item {item_id}", {})
        ctx.session.flush()
        audit.record(
            ctx,
            "meeting",
            meeting_id,
            "decided",
            note=row.note,
            data={
                "decision_id": row.id,
                "item_id": item_id,
                "kind": decision.kind,
                "entity_type": entity_type,
                "entity_id": entity_id,
                **params,
            },
        )
    return row


def decisions_of(ctx: Ctx, meeting_id: int) -> list[MeetingDecision]:
    return list(
        ctx.session.exec(
            select(MeetingDecision)
            .where(MeetingDecision.meeting_id == meeting_id)
            .order_by(col(MeetingDecision.id))
        )
    )
