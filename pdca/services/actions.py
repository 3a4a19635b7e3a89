"""Actions: plan, assign and re-date across departments; work them through their lifecycle."""

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import col, or_, select

from pdca.engine.action_lifecycle import ACTION_LIFECYCLE, ActionFacts, ActionRefused
from pdca.engine.facts import N_, Reason, because
from pdca.models import (
    Action,
    ActionDependency,
    ActionKind,
    ActionStatus,
    Cycle,
    Department,
    Role,
    User,
)
from pdca.services import audit
from pdca.services.accounts import Signature, check_signature
from pdca.services.board_settings import check_wip
from pdca.services.context import Ctx, unit_of_work
from pdca.services.cycles import definition_of
from pdca.services.errors import Conflict, Invalid, NotFound, Refused
from pdca.services.keys import key
from pdca.services.policy import (
    can_manage_action,
    can_plan_action,
    can_verify_action,
    can_work_on_action,
    require,
)
from pdca.services.store import check_version, compare_and_set, get_or_404

UNFINISHED = (ActionStatus.open, ActionStatus.in_progress)


def get_action(ctx: Ctx, action_id: int) -> Action:
    return get_or_404(ctx, Action, action_id, "Action")


def _check_owner(ctx: Ctx, owner_id: int | None) -> None:
    if owner_id is None:
        return
    owner = get_or_404(ctx, User, owner_id, "User")
    if not owner.active or owner.role == Role.viewer:
        raise Invalid(f"{owner.name} cannot own actions (deactivated or read-only).")


def _refuse_if_frozen(ctx: Ctx, cycle: Cycle) -> None:
    if definition_of(ctx, cycle).states[cycle.state].final:
        raise Conflict(f"{key('cycle', cycle.id)} is {cycle.state}; its actions are frozen.")


def _parse_deadline(text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"The deadline {text!r} is not a date (YYYY-MM-DD).") from None


def _check_deadline(ctx: Ctx, deadline: date | None) -> None:
    if deadline is not None and deadline < ctx.today():
        raise Invalid(
            f"The deadline {deadline.isoformat()} is in the past; choose today or a later day."
        )


def add_action(
    ctx: Ctx,
    cycle_id: int,
    *,
    title: str,
    department_id: int,
    owner_id: int | None = None,
    deadline: date | None = None,
    kind: str = ActionKind.corrective,
    description: str | None = None,
    depends_on: list[int] | None = None,
) -> Action:
    reasons = []
    if not title.strip():
        reasons.append(N_("Give the action a title."))
    if kind not in ActionKind.__members__:
        reasons.append(f"Unknown kind {kind!r}; one of: {', '.join(ActionKind.__members__)}.")
    if reasons:
        raise Invalid(N_("The action cannot be added."), reasons)
    with unit_of_work(ctx):
        cycle = get_or_404(ctx, Cycle, cycle_id, "Cycle", lock=True)
        require(can_plan_action(ctx.actor, cycle, department_id))
        if definition_of(ctx, cycle).states[cycle.state].final:
            raise Conflict(f"{key('cycle', cycle_id)} is {cycle.state}; it takes no new actions.")
        get_or_404(ctx, Department, department_id, "Department")
        _check_owner(ctx, owner_id)
        _check_deadline(ctx, deadline)
        now = ctx.now()
        action = Action(
            cycle_id=cycle_id,
            title=title.strip(),
            description=description,
            kind=kind,
            department_id=department_id,
            owner_id=owner_id,
            deadline=deadline,
            phase=cycle.state,
            iteration=cycle.iteration,
            created_by_id=ctx.actor_id,
            created_at=now,
            status_changed_at=now,
        )
        ctx.session.add(action)
        ctx.session.flush()
        assert action.id is not None
        audit.record(
            ctx,
            "action",
            action.id,
            "created",
            field="status",
            new=action.status,
            data={
                "cycle_id": cycle_id,
                "title": action.title,
                "kind": kind,
                "department_id": department_id,
                "owner_id": owner_id,
                "deadline": deadline.isoformat() if deadline else None,
            },
        )
        for other in depends_on or []:
            _add_dependency(ctx, action, other)
    return action


def update_action(
    ctx: Ctx,
    action_id: int,
    *,
    version: int | None,
    changes: dict[str, Any],
    note: str | None = None,
) -> Action:
    """Assign, reassign, re-date, re-kind or retitle; each change is audited old → new."""
    allowed = {"title", "description", "owner_id", "department_id", "deadline", "kind"}
    unknown = sorted(set(changes) - allowed)
    if unknown:
        raise Invalid(f"These fields cannot be changed here: {', '.join(unknown)}.")
    if "kind" in changes and changes["kind"] not in ActionKind.__members__:
        raise Invalid(f"Unknown kind {changes['kind']!r}.")
    if "title" in changes and not str(changes["title"] or "").strip():
        raise Invalid(N_("An action needs a title."))
    with unit_of_work(ctx):
        action = get_action(ctx, action_id)
        cycle = get_or_404(ctx, Cycle, action.cycle_id, "Cycle", lock=True)
        label = key("action", action_id)
        require(can_manage_action(ctx.actor, action, cycle))
        check_version(action, version, label)
        _refuse_if_frozen(ctx, cycle)
        if action.status in (ActionStatus.verified, ActionStatus.cancelled):
            raise Conflict(f"{label} is {action.status}; reopen it before changing it.")
        if "department_id" in changes:
            get_or_404(ctx, Department, changes["department_id"], "Department")
            # Moving an action to another department is that department's head's call too.
            probe = Action(**{**action.model_dump(), "department_id": changes["department_id"]})
            require(can_manage_action(ctx.actor, probe, cycle))
        if "department_id" in changes and changes["department_id"] != action.department_id:
            check_wip(ctx, action, action.status, changes["department_id"])
        if "owner_id" in changes:
            _check_owner(ctx, changes["owner_id"])
            if changes["owner_id"] is None and action.status != ActionStatus.open:
                raise Invalid(f"{label} is under way; it needs an owner.")
        if isinstance(changes.get("deadline"), str):
            changes = {**changes, "deadline": _parse_deadline(changes["deadline"])}
        if "deadline" in changes and changes["deadline"] != action.deadline:
            _check_deadline(ctx, changes["deadline"])
        before = {k: getattr(action, k) for k in changes}
        changed = {k: v for k, v in changes.items() if before[k] != v}
        if not changed:
            return action
        compare_and_set(ctx, action, label, changed)
        audit.record_changes(ctx, "action", action_id, before, changed, note=note)
    return action


# Built once, run with a parameter: building a statement cost more than running it
# (this one is read by every move of an action).
_OPEN_BLOCKERS = (
    select(Action.id)
    .join(ActionDependency, col(ActionDependency.depends_on_id) == Action.id)
    .where(
        ActionDependency.action_id == bindparam("action_id"),
        col(Action.status).in_(UNFINISHED),
    )
    .order_by(Action.id)
)


def _open_blockers(ctx: Ctx, action_id: int) -> tuple[str, ...]:
    found = ctx.session.exec(_OPEN_BLOCKERS, params={"action_id": action_id})
    return tuple(key("action", i) for i in found)


def action_facts(ctx: Ctx, action: Action, note: str | None = None) -> ActionFacts:
    assert action.id is not None
    return ActionFacts(
        key=key("action", action.id),
        status=action.status,
        owner_id=action.owner_id,
        actor_id=ctx.actor_id,
        open_blockers=_open_blockers(ctx, action.id),
        note=note,
    )


def fire_action(
    ctx: Ctx, action_id: int, *, trigger: str, version: int | None, note: str | None = None
) -> Action:
    """start, complete, reopen or cancel (verify has its own use case)."""
    if trigger == "verify":
        raise Invalid("Verify with the verification step: it records effectiveness and a note.")
    with unit_of_work(ctx):
        action = get_action(ctx, action_id)
        cycle = get_or_404(ctx, Cycle, action.cycle_id, "Cycle", lock=True)
        label = key("action", action_id)
        if trigger in ("start", "complete"):
            require(can_work_on_action(ctx.actor, action, cycle))
        else:
            require(can_manage_action(ctx.actor, action, cycle))
        check_version(action, version, label)
        _move(ctx, action, cycle, trigger, note)
    return action


def verify_action(
    ctx: Ctx,
    action_id: int,
    *,
    effective: bool,
    note: str | None,
    version: int | None,
    signature: Signature | None = None,
) -> Action:
    """Record who verified, when, effective or not. Not effective sends it back to open.

    Verification is a signed act: the verifier re-enters their password (or uses a
    signing token) and states its meaning, which the audit event keeps.
    """
    with unit_of_work(ctx):
        action = get_action(ctx, action_id)
        cycle = get_or_404(ctx, Cycle, action.cycle_id, "Cycle", lock=True)
        label = key("action", action_id)
        require(can_verify_action(ctx.actor, action))
        check_version(action, version, label)
        if action.status != ActionStatus.done:
            raise Refused(
                f"{label} cannot be verified.", [f"{label} is {action.status}, not done."]
            )
        if not effective and not (note or "").strip():
            raise Invalid(N_("Say why the action was not effective."), [N_("A note is required.")])
        meaning = "verified effective" if effective else "verified not effective"
        method = check_signature(ctx, signature, (meaning,))
        verification = {
            "verified_by_id": ctx.actor_id,
            "verified_at": ctx.now(),
            "verification_effective": effective,
            "verification_note": note,
        }
        _move(
            ctx,
            action,
            cycle,
            "verify" if effective else "reopen",
            note or ("verified effective" if effective else None),
            extra=verification,
            signature=(meaning, method) if method != "system" else None,
        )
    return action


def _move(
    ctx: Ctx,
    action: Action,
    cycle: Cycle,
    trigger: str,
    note: str | None,
    extra: dict[str, Any] | None = None,
    signature: tuple[str, str] | None = None,
) -> None:
    label = key("action", action.id)
    _refuse_if_frozen(ctx, cycle)
    try:
        dest = ACTION_LIFECYCLE.fire(trigger, action_facts(ctx, action, note))
    except ActionRefused as exc:
        raise Refused(f"{label} cannot {trigger.replace('_', ' ')}.", exc.reasons) from exc
    check_wip(ctx, action, dest, action.department_id)
    now = ctx.now()
    values: dict[str, Any] = {"status": dest, "status_changed_at": now, **(extra or {})}
    if dest == ActionStatus.done:
        values["done_at"] = now
    if dest == ActionStatus.cancelled:
        values["cancel_reason"] = note
    if dest == ActionStatus.open:
        values |= {"done_at": None, "cancel_reason": None}
    old = action.status
    compare_and_set(ctx, action, label, values)
    audit.record(
        ctx,
        "action",
        action.id,
        trigger,
        field="status",
        old=old,
        new=dest,
        note=note,  # type: ignore[arg-type]
        data={k: v for k, v in (extra or {}).items() if k != "verified_at"},
        signature=signature,
    )


def _loop_path(ctx: Ctx, action_id: int, depends_on_id: int) -> list[int] | None:
    """The loop that `action_id → depends_on_id` would close, as ids, or None.

    A breadth-first walk over what `depends_on_id` depends on, remembering how it got
    to each action, so the refusal can name the whole loop: A-3 → A-5 → A-3.
    """
    came_from: dict[int, int | None] = {depends_on_id: None}
    frontier = [depends_on_id]
    while frontier:
        edges = ctx.session.exec(
            select(ActionDependency.action_id, ActionDependency.depends_on_id).where(
                col(ActionDependency.action_id).in_(frontier)
            )
        ).all()
        frontier = []
        for source, target in sorted(edges):
            if target in came_from:
                continue
            came_from[target] = source
            if target == action_id:
                path = [target]
                while (step := came_from[path[-1]]) is not None:
                    path.append(step)
                return [action_id, *reversed(path)]
            frontier.append(target)
    return None


def _add_dependency(ctx: Ctx, action: Action, depends_on_id: int) -> None:
    assert action.id is not None
    label = key("action", action.id)
    if depends_on_id == action.id:
        raise Invalid(f"{label} cannot depend on itself.")
    other = get_action(ctx, depends_on_id)
    loop = _loop_path(ctx, action.id, depends_on_id)
    if loop is not None:
        path = " → ".join(key("action", i) for i in loop)
        raise Invalid(
            because(
                "dependency_loop",
                "%(key)s cannot depend on %(other)s: that would make a loop: %(path)s.",
                key=label,
                other=key("action", other.id),
                path=path,
            )
        )
    if ctx.session.get(ActionDependency, (action.id, depends_on_id)) is not None:
        raise Conflict(f"{label} already depends on {key('action', depends_on_id)}.")
    ctx.session.add(ActionDependency(action_id=action.id, depends_on_id=depends_on_id))
    audit.record(
        ctx,
        "action",
        action.id,
        "dependency_added",
        data={"depends_on": key("action", depends_on_id), "depends_on_id": depends_on_id},
    )


def _remove_dependency(ctx: Ctx, action: Action, depends_on_id: int) -> None:
    assert action.id is not None
    link = ctx.session.get(ActionDependency, (action.id, depends_on_id))
    if link is None:
        raise NotFound(
            f"{key('action', action.id)} does not depend on {key('action', depends_on_id)}."
        )
    ctx.session.delete(link)
    audit.record(
        ctx,
        "action",
        action.id,
        "dependency_removed",
        data={"depends_on": key("action", depends_on_id), "depends_on_id": depends_on_id},
    )


def _editing_dependencies(ctx: Ctx, action_id: int, version: int | None) -> Action:
    """The action, locked and checked, for a change to what it depends on.

    A change of dependencies bumps the action's version: a client that read the old
    list gets a 409 rather than silently undoing someone else's edit.
    """
    action = get_action(ctx, action_id)
    cycle = get_or_404(ctx, Cycle, action.cycle_id, "Cycle", lock=True)
    label = key("action", action_id)
    require(can_manage_action(ctx.actor, action, cycle))
    check_version(action, version, label)
    _refuse_if_frozen(ctx, cycle)
    return action


def add_dependency(
    ctx: Ctx, action_id: int, depends_on_id: int, *, version: int | None = None
) -> Action:
    with unit_of_work(ctx):
        action = _editing_dependencies(ctx, action_id, version)
        _add_dependency(ctx, action, depends_on_id)
        compare_and_set(ctx, action, key("action", action_id), {})
    return action


def remove_dependency(
    ctx: Ctx, action_id: int, depends_on_id: int, *, version: int | None = None
) -> Action:
    with unit_of_work(ctx):
        action = _editing_dependencies(ctx, action_id, version)
        _remove_dependency(ctx, action, depends_on_id)
        compare_and_set(ctx, action, key("action", action_id), {})
    return action


def set_dependencies(
    ctx: Ctx, action_id: int, depends_on: list[int], *, version: int | None = None
) -> Action:
    """Replace what the action depends on; one event per link added or removed."""
    with unit_of_work(ctx):
        action = _editing_dependencies(ctx, action_id, version)
        current = set(
            ctx.session.exec(
                select(ActionDependency.depends_on_id).where(
                    ActionDependency.action_id == action_id
                )
            )
        )
        wanted = list(dict.fromkeys(depends_on))
        for gone in sorted(current - set(wanted)):
            _remove_dependency(ctx, action, gone)
        ctx.session.flush()
        for new in wanted:
            if new not in current:
                _add_dependency(ctx, action, new)
                ctx.session.flush()
        if current != set(wanted):
            compare_and_set(ctx, action, key("action", action_id), {})
    return action


@dataclass(frozen=True)
class Link:
    """One end of a dependency, as a page or the API shows it."""

    id: int
    key: str
    title: str
    status: str


@dataclass(frozen=True)
class Links:
    depends_on: list[Link]  # every blocker, open or done
    blocks: list[Link]  # every action waiting for this one


# Built once (see _OPEN_BLOCKERS); every list and every answer about an action reads them.
_LINKS_EITHER_WAY = select(ActionDependency.action_id, ActionDependency.depends_on_id).where(
    or_(
        col(ActionDependency.action_id).in_(bindparam("ids", expanding=True)),
        col(ActionDependency.depends_on_id).in_(bindparam("ids", expanding=True)),
    )
)
_TITLES_OF = select(Action.id, Action.title, Action.status).where(
    col(Action.id).in_(bindparam("ids", expanding=True))
)


def dependency_links(ctx: Ctx, action_ids: list[int]) -> dict[int, Links]:
    """Both directions of the dependencies of many actions: one query when none has any
    (the common case of a list), two otherwise."""
    result: dict[int, Links] = {i: Links([], []) for i in action_ids}
    if not action_ids:
        return result
    pairs = list(ctx.session.exec(_LINKS_EITHER_WAY, params={"ids": list(action_ids)}))
    if not pairs:
        return result
    others = sorted({i for pair in pairs for i in pair})
    facts = {
        i: (title, status)
        for i, title, status in ctx.session.exec(_TITLES_OF, params={"ids": others})
    }

    def link(i: int) -> Link:
        title, status = facts[i]
        return Link(i, key("action", i), title, status)

    for waiting, blocker in sorted(pairs, key=lambda pair: pair[::-1]):
        if waiting in result:
            result[waiting].depends_on.append(link(blocker))
    for waiting, blocker in sorted(pairs):
        if blocker in result:
            result[blocker].blocks.append(link(waiting))
    return result


def blockers_of(ctx: Ctx, action_id: int) -> tuple[str, ...]:
    return _open_blockers(ctx, action_id)


def action_options(ctx: Ctx, action_id: int) -> list[tuple[str, str, list[Reason]]]:
    """(trigger, destination, reasons) for each move from the current status; no reasons = allowed.

    Permission refusals come first, so a page can hide a button and explain why.
    """
    action = get_action(ctx, action_id)
    cycle = get_or_404(ctx, Cycle, action.cycle_id, "Cycle")
    facts = action_facts(ctx, action, note="(given when fired)")
    result = []
    for trigger in ACTION_LIFECYCLE.triggers(action.status):
        if trigger == "verify":
            permission = can_verify_action(ctx.actor, action)
        elif trigger in ("start", "complete"):
            permission = can_work_on_action(ctx.actor, action, cycle)
        else:
            permission = can_manage_action(ctx.actor, action, cycle)
        reasons = [Reason("forbidden", permission)] if permission else []
        reasons += ACTION_LIFECYCLE.reasons(trigger, facts)
        result.append((trigger, ACTION_LIFECYCLE.destination(trigger), reasons))
    return result
