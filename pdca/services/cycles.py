"""Cycles: open, edit phase fields, list and fire transitions, judge effectiveness."""

import math
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import col, func, select

from pdca.engine.definition import BUILTIN_FIELDS, CHOICES, WorkflowDefinition
from pdca.engine.facts import N_, ActionFact, CycleFacts, because
from pdca.engine.machine import TransitionOption, TransitionRefused, UnknownTrigger, WorkflowMachine
from pdca.engine.registry import EFFECTS
from pdca.models import (
    Action,
    ActionStatus,
    Cycle,
    CycleMember,
    CycleProblem,
    Department,
    Effectiveness,
    Kpi,
    Measurement,
    Problem,
    ProblemStatus,
    User,
    WorkflowVersion,
)
from pdca.services import audit, text
from pdca.services.accounts import Signature, check_signature
from pdca.services.audit import SystemNote
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Conflict, Invalid, Refused
from pdca.services.keys import key
from pdca.services.policy import (
    can_confirm_effectiveness,
    can_lead,
    can_open_cycle,
    can_open_cycle_for,
    can_run_cycle,
    require,
)
from pdca.services.store import check_version, compare_and_set, get_or_404

# Fields that judge the result: once effectiveness is judged they may not change under it.
JUDGED_FIELDS = {"target", "baseline", "direction", "result", "result_note", "success_criterion"}
ESCALATE_AFTER_FAILED_ITERATIONS = 3
OPEN_PROBLEM_STATUSES = (ProblemStatus.new, ProblemStatus.accepted)


def get_cycle(ctx: Ctx, cycle_id: int, *, lock: bool = False) -> Cycle:
    return get_or_404(ctx, Cycle, cycle_id, "Cycle", lock=lock)


def workflow_version(ctx: Ctx, cycle: Cycle) -> WorkflowVersion:
    version = ctx.session.get(WorkflowVersion, cycle.workflow_version_id)
    assert version is not None  # a foreign key guarantees it
    return version


def machine_of(ctx: Ctx, cycle: Cycle) -> WorkflowMachine:
    return ctx.catalog.machine_for_version_id(ctx.session, cycle.workflow_version_id)


def definition_of(ctx: Ctx, cycle: Cycle) -> WorkflowDefinition:
    return machine_of(ctx, cycle).definition


# --- open -------------------------------------------------------------------


def open_cycle(
    ctx: Ctx,
    *,
    title: str,
    workflow: str,
    lead_id: int,
    problem_ids: list[int],
    department_id: int | None = None,
    member_ids: list[int] | None = None,
    fields: dict[str, Any] | None = None,
) -> Cycle:
    require(can_open_cycle(ctx.actor))
    if not title.strip():
        raise Invalid("Give the cycle a title.")
    if not problem_ids:
        raise Invalid("A cycle addresses at least one problem: link one.")
    definition = ctx.catalog.current(workflow)
    with unit_of_work(ctx):
        lead = get_or_404(ctx, User, lead_id, "User")
        require(can_lead(lead))
        if department_id is not None:
            get_or_404(ctx, Department, department_id, "Department")
        problems = [get_or_404(ctx, Problem, pid, "Problem") for pid in dict.fromkeys(problem_ids)]
        cycle_department = department_id if department_id is not None else lead.department_id
        require(
            can_open_cycle_for(ctx.actor, cycle_department, [p.department_id for p in problems])
        )
        closed = [p for p in problems if p.status not in OPEN_PROBLEM_STATUSES]
        if closed:
            raise Invalid(
                "Only new or accepted problems can go into a cycle.",
                [f"{key('problem', p.id)} is {p.status}." for p in closed],
            )
        version = ctx.catalog.register_version(ctx.session, workflow)
        now = ctx.now()
        cycle = Cycle(
            title=title.strip(),
            workflow=workflow,
            workflow_version_id=version.id,  # type: ignore[arg-type]
            state=definition.initial,
            lead_id=lead_id,
            department_id=cycle_department,
            created_at=now,
            state_entered_at=now,
        )
        values, extra = _coerce_fields(definition, fields or {})
        # Problems raised by one KPI: the cycle aims at that KPI, starting from its numbers.
        kpi_ids = {p.kpi_id for p in problems}
        if len(kpi_ids) == 1 and None not in kpi_ids:
            kpi_id = kpi_ids.pop()
            assert kpi_id is not None
            cycle.kpi_id = kpi_id
            values = {**kpi_defaults(ctx, kpi_id, now), **values}
        for name, value in values.items():
            setattr(cycle, name, value)
        cycle.extra = extra
        ctx.session.add(cycle)
        ctx.session.flush()
        assert cycle.id is not None
        audit.record(
            ctx,
            "cycle",
            cycle.id,
            "opened",
            field="state",
            new=cycle.state,
            data={
                "workflow": workflow,
                "workflow_version": version.number,
                "title": cycle.title,
                "lead_id": lead_id,
                "problems": [p.id for p in problems],
            },
        )
        for problem in problems:
            ctx.session.add(CycleProblem(cycle_id=cycle.id, problem_id=problem.id))  # type: ignore[arg-type]
            if problem.status == ProblemStatus.new:
                # Opening a cycle on a new problem is the facilitator accepting it.
                compare_and_set(
                    ctx,
                    problem,
                    key("problem", problem.id),
                    {
                        "status": ProblemStatus.accepted,
                        "triaged_by_id": ctx.actor_id,
                        "triaged_at": now,
                    },
                )
                audit.record(
                    ctx,
                    "problem",
                    problem.id,
                    "triaged",
                    field="status",  # type: ignore[arg-type]
                    old=ProblemStatus.new,
                    new=ProblemStatus.accepted,
                    data={"decision": "accept", "cycle_id": cycle.id},
                )
            audit.record(
                ctx,
                "problem",
                problem.id,
                "linked_to_cycle",  # type: ignore[arg-type]
                data={"cycle_id": cycle.id},
            )
        for user_id in dict.fromkeys([lead_id, *(member_ids or [])]):
            get_or_404(ctx, User, user_id, "User")
            ctx.session.add(CycleMember(cycle_id=cycle.id, user_id=user_id))
        for name, value in {**values, **extra}.items():
            audit.record(ctx, "cycle", cycle.id, "field_changed", field=name, new=value)
    return cycle


def kpi_defaults(ctx: Ctx, kpi_id: int, now: datetime) -> dict[str, Any]:
    """Target, direction and unit of the KPI, and its mean over the 30 days before `now`
    as the baseline: what a cycle aimed at the KPI starts from."""
    kpi = get_or_404(ctx, Kpi, kpi_id, "KPI")
    mean = ctx.session.exec(
        select(func.avg(Measurement.value)).where(
            Measurement.kpi_id == kpi_id,
            col(Measurement.at) < now,
            col(Measurement.at) >= now - timedelta(days=30),
        )
    ).one()
    values: dict[str, Any] = {"target": kpi.target, "direction": kpi.direction, "unit": kpi.unit}
    if mean is not None:
        values["baseline"] = round(float(mean), 4)
    return values


# --- fields -----------------------------------------------------------------


def editable_fields(definition: WorkflowDefinition) -> list[str]:
    return [*BUILTIN_FIELDS, *(f.name for f in definition.fields)]


FIELD_TEXT_MAX = 10_000
FIELD_NAME_MAX = 50
# Effectiveness is judged this many days after the last action at the latest: ten years.
WINDOW_DAYS_MAX = 3650
FIELD_BOUNDS: dict[str, dict[str, int]] = {
    "text": {"maxLength": FIELD_TEXT_MAX},
    "effectiveness_window_days": {"minimum": 0, "maximum": WINDOW_DAYS_MAX},
}
KINDS = {
    "number": "a number",
    "integer": "a whole number",
    "date": "a date (YYYY-MM-DD)",
    "choice": "'higher' or 'lower'",
    "text": "text",
}


def _converted(ftype: str, value: Any, name: str = "direction") -> Any:
    """The value as `ftype`, or ValueError. Booleans are no numbers, and text numbers
    are plain decimals: `true`, `1_000` or `１２` would otherwise quietly become numbers."""
    if isinstance(value, bool):
        raise ValueError
    if ftype in ("number", "integer"):
        number = text.plain_number(value) if isinstance(value, str) else value
        if not isinstance(number, int | float) or not math.isfinite(number):
            raise ValueError
        if ftype == "number":
            return float(number)
        if isinstance(number, float) and not number.is_integer():
            raise ValueError
        return int(number)
    if ftype == "date":
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    if ftype == "choice":
        if not isinstance(value, str) or value not in CHOICES.get(name, ()):
            raise ValueError
        return str(value)
    if not isinstance(value, str):
        raise ValueError
    return value.strip()


def _coerce(name: str, ftype: str, value: Any) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and not text.storable(value):
        raise Invalid(f"{name} is not text.", [f"{name}: holds a lone surrogate (send UTF-8)."])
    if isinstance(value, str) and len(value) > FIELD_TEXT_MAX:
        raise Invalid(
            f"{name} has at most {FIELD_TEXT_MAX:,} characters.",
            [f"{name}: {len(value):,} characters; at most {FIELD_TEXT_MAX:,}."],
        )
    try:
        return _converted(ftype, value, name)
    except (TypeError, ValueError, OverflowError):
        kind = KINDS[ftype]
        if ftype == "choice" and name != "direction":
            kind = "one of " + ", ".join(repr(c) for c in CHOICES.get(name, ()))
        shown = value if not isinstance(value, str) else value[:50]
        raise Invalid(f"{name} must be {kind}.", [f"{name}: {shown!r} is not {kind}."]) from None


def _coerce_fields(
    definition: WorkflowDefinition, changes: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split into column values and workflow-declared extras, each converted to its type."""
    columns: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    # A name that is not text cannot even be quoted back in the refusal.
    bad_names = [n for n in changes if not isinstance(n, str) or not text.storable(n)]
    if bad_names:
        raise Invalid("Field names are text (UTF-8).", ["A field name holds a lone surrogate."])
    unknown = [n for n in changes if definition.field_type(n) is None]
    if unknown:
        shown = sorted(n[:FIELD_NAME_MAX] for n in unknown)
        raise Invalid(
            f"Unknown field(s) for the {definition.name} workflow: {', '.join(shown)}.",
            [f"{n} is not a field of this workflow." for n in shown],
        )
    for name, value in changes.items():
        ftype = definition.field_type(name)
        assert ftype is not None
        coerced = _coerce(name, ftype, value)
        window = name == "effectiveness_window_days" and coerced is not None
        if window and not 0 <= coerced <= WINDOW_DAYS_MAX:
            raise Invalid(
                f"The effectiveness window is 0 to {WINDOW_DAYS_MAX} days.",
                [f"effectiveness_window_days: {coerced} is not between 0 and {WINDOW_DAYS_MAX}."],
            )
        if isinstance(coerced, date):
            coerced = coerced.isoformat()
        (columns if name in BUILTIN_FIELDS else extra)[name] = coerced
    return columns, extra


def field_values(cycle: Cycle) -> dict[str, Any]:
    return {**{n: getattr(cycle, n) for n in BUILTIN_FIELDS}, **cycle.extra}


def update_cycle_fields(
    ctx: Ctx,
    cycle_id: int,
    *,
    changes: dict[str, Any],
    version: int | None,
    note: str | None = None,
) -> Cycle:
    return update_cycle(ctx, cycle_id, version=version, fields=changes, note=note)


def update_cycle(
    ctx: Ctx,
    cycle_id: int,
    *,
    version: int | None,
    fields: dict[str, Any] | None = None,
    title: str | None = None,
    lead_id: int | None = None,
    member_ids: list[int] | None = None,
    note: str | None = None,
) -> Cycle:
    """Change phase fields, the title, the lead or the team, in one compare-and-set.

    None leaves a part as it is. The lead is always on the team.
    """
    if title is not None and not title.strip():
        raise Invalid("Give the cycle a title.")
    with unit_of_work(ctx):
        cycle = get_cycle(ctx, cycle_id)
        require(can_run_cycle(ctx.actor, cycle))
        label = key("cycle", cycle_id)
        check_version(cycle, version, label)
        definition = definition_of(ctx, cycle)
        if definition.states[cycle.state].final:
            raise Conflict(f"{label} is {cycle.state}; its fields can no longer change.")
        columns, extra = _coerce_fields(definition, fields or {})
        before = field_values(cycle) | {"title": cycle.title, "lead_id": cycle.lead_id}
        changed_columns = {k: v for k, v in columns.items() if before.get(k) != v}
        changed_extra = {k: v for k, v in extra.items() if before.get(k) != v}
        judged = sorted(JUDGED_FIELDS & (set(changed_columns) | set(changed_extra)))
        if judged and cycle.effectiveness is not None:
            raise Conflict(
                f"Effectiveness of {label} was already judged on these numbers; "
                f"{', '.join(judged)} cannot change now. Start the next iteration to measure again."
            )
        if title is not None and title.strip() != cycle.title:
            changed_columns["title"] = title.strip()
        if lead_id is not None and lead_id != cycle.lead_id:
            require(can_lead(get_or_404(ctx, User, lead_id, "User")))
            changed_columns["lead_id"] = lead_id
        added, removed = _team_changes(ctx, cycle, lead_id or cycle.lead_id, member_ids)
        if not changed_columns and not changed_extra and not added and not removed:
            return cycle
        values: dict[str, Any] = dict(changed_columns)
        if changed_extra:
            values["extra"] = {**cycle.extra, **changed_extra}
        compare_and_set(ctx, cycle, label, values)
        audit.record_changes(
            ctx, "cycle", cycle_id, before, {**changed_columns, **changed_extra}, note=note
        )
        for user_id in added:
            ctx.session.add(CycleMember(cycle_id=cycle_id, user_id=user_id))
            audit.record(ctx, "cycle", cycle_id, "member_added", data={"user_id": user_id})
        for user_id in removed:
            member = ctx.session.get(CycleMember, (cycle_id, user_id))
            ctx.session.delete(member)
            audit.record(ctx, "cycle", cycle_id, "member_removed", data={"user_id": user_id})
    return cycle


def _team_changes(
    ctx: Ctx, cycle: Cycle, lead_id: int, member_ids: list[int] | None
) -> tuple[list[int], list[int]]:
    """Who joins and who leaves the team when it becomes `member_ids` (plus the lead)."""
    current = set(member_ids_of(ctx, [cycle.id])[cycle.id])  # type: ignore[index]
    wanted = current | {lead_id} if member_ids is None else {lead_id, *member_ids}
    for user_id in sorted(wanted - current):
        get_or_404(ctx, User, user_id, "User")
    return sorted(wanted - current), sorted(current - wanted)


def member_ids_of(ctx: Ctx, cycle_ids: list[int]) -> dict[int, list[int]]:
    """cycle id → ids of its team, in one query."""
    result: dict[int, list[int]] = {cid: [] for cid in cycle_ids}
    if cycle_ids:
        rows = ctx.session.exec(
            select(CycleMember.cycle_id, CycleMember.user_id)
            .where(col(CycleMember.cycle_id).in_(cycle_ids))
            .order_by(col(CycleMember.user_id))
        )
        for cycle_id, user_id in rows:
            result[cycle_id].append(user_id)
    return result


# --- facts and transitions --------------------------------------------------


def cycle_actions(ctx: Ctx, cycle_id: int) -> list[Action]:
    return list(
        ctx.session.exec(select(Action).where(Action.cycle_id == cycle_id).order_by(Action.id))
    )


def cycle_problem_ids(ctx: Ctx, cycle_id: int) -> list[int]:
    query = select(CycleProblem.problem_id).where(CycleProblem.cycle_id == cycle_id)
    return sorted(ctx.session.exec(query))


def cycle_facts(ctx: Ctx, cycle: Cycle, note: str | None = None) -> CycleFacts:
    assert cycle.id is not None
    actions = tuple(
        ActionFact(
            key=key("action", a.id),
            title=a.title,
            status=a.status,
            owner_id=a.owner_id,
            deadline=a.deadline,
            cancel_reason=a.cancel_reason,
            iteration=a.iteration,
        )
        for a in cycle_actions(ctx, cycle.id)
    )
    problem_count = ctx.session.exec(
        select(func.count()).select_from(CycleProblem).where(CycleProblem.cycle_id == cycle.id)
    ).one()
    return CycleFacts(
        key=key("cycle", cycle.id),
        state=cycle.state,
        iteration=cycle.iteration,
        lead_id=cycle.lead_id,
        fields={**field_values(cycle), "problem_count": problem_count},
        actions=actions,
        effectiveness=cycle.effectiveness,
        effectiveness_by_id=cycle.effectiveness_by_id,
        today=ctx.today(),
        actor_id=ctx.actor_id,
        note=note,
    )


def available_transitions(ctx: Ctx, cycle_id: int) -> list[TransitionOption]:
    """Every trigger from the current state, allowed or not, with each refusal's reasons."""
    cycle = get_cycle(ctx, cycle_id)
    return machine_of(ctx, cycle).options(cycle.state, cycle_facts(ctx, cycle))


class _CycleEffects:
    """What a workflow's named effects may do, inside the transition's transaction."""

    def __init__(self, ctx: Ctx, cycle: Cycle) -> None:
        self.ctx, self.cycle = ctx, cycle
        self.cycle_values: dict[str, Any] = {}

    def resolve_linked_problems(self) -> None:
        assert self.cycle.id is not None
        for problem_id in cycle_problem_ids(self.ctx, self.cycle.id):
            problem = get_or_404(self.ctx, Problem, problem_id, "Problem")
            if problem.status == ProblemStatus.resolved:
                continue
            old = problem.status
            compare_and_set(
                self.ctx,
                problem,
                key("problem", problem_id),
                {"status": ProblemStatus.resolved, "resolved_at": self.ctx.now()},
            )
            audit.record(
                self.ctx,
                "problem",
                problem_id,
                "resolved",
                field="status",
                old=old,
                new=ProblemStatus.resolved,
                data={"cycle_id": self.cycle.id},
            )

    def start_next_iteration(self) -> None:
        # Only a turn that did not prove effective counts towards escalation: going round
        # again after a success (raising the bar) is improvement, not failure.
        failed = self.cycle.failed_iterations + (
            self.cycle.effectiveness != Effectiveness.effective
        )
        self.cycle_values |= {
            "iteration": self.cycle.iteration + 1,
            "failed_iterations": failed,
            "result": None,
            "result_note": None,
            "effectiveness": None,
            "effectiveness_by_id": None,
            "effectiveness_at": None,
            "effectiveness_note": None,
        }
        if failed >= ESCALATE_AFTER_FAILED_ITERATIONS and not self.cycle.escalated:
            self.cycle_values["escalated"] = True


def fire_transition(
    ctx: Ctx,
    cycle_id: int,
    *,
    trigger: str,
    version: int | None,
    note: str | None = None,
    signature: Signature | None = None,
) -> Cycle:
    """Fire `trigger`; a transition the workflow marks `signed` needs the actor's signature."""
    with unit_of_work(ctx):
        # The lock orders this with action moves: guards read the actions, which must
        # not change between the check and the state change.
        cycle = get_cycle(ctx, cycle_id, lock=True)
        require(can_run_cycle(ctx.actor, cycle))
        label = key("cycle", cycle_id)
        check_version(cycle, version, label)
        machine = machine_of(ctx, cycle)
        try:
            dest, effects = machine.fire(trigger, cycle.state, cycle_facts(ctx, cycle, note))
        except UnknownTrigger as exc:
            # A trigger the workflow does not have at all is the client's mistake (422);
            # one of its triggers that does not leave this state is a refusal (409).
            possible = ", ".join(exc.available) or "nothing"
            known = {t.trigger for t in machine.definition.transitions}
            error = Invalid if trigger not in known else Refused
            raise error(str(exc), [f"Possible now: {possible}."]) from exc
        except TransitionRefused as exc:
            step = machine.definition.transition(trigger, cycle.state)
            titles = dict(step.titles) if step else {"en": trigger, "zh_CN": trigger}
            raise Refused(
                because(
                    "refused",
                    "%(label)s: “%(step)s” is not possible yet.",
                    label=label,
                    step=titles,
                ),
                exc.reasons,
            ) from exc
        transition = machine.definition.transition(trigger, cycle.state)
        assert transition is not None  # machine.fire found it
        signed = None
        if transition.signed:
            method = check_signature(ctx, signature, ("approved closure",))
            signed = ("approved closure", method) if method != "system" else None
        source, iteration = cycle.state, cycle.iteration
        # Everything an effect may change, so the trail shows each change old → new
        # (next_iteration also clears the effectiveness verdict, which is no phase field).
        before = field_values(cycle) | {
            name: getattr(cycle, name)
            for name in (
                "iteration",
                "failed_iterations",
                "escalated",
                "effectiveness",
                "effectiveness_by_id",
                "effectiveness_at",
                "effectiveness_note",
            )
        }
        target = _CycleEffects(ctx, cycle)
        for effect_name in effects:
            EFFECTS[effect_name](target)
        now = ctx.now()
        values = {"state": dest, "state_entered_at": now, **target.cycle_values}
        if machine.definition.states[dest].final:
            values["closed_at"] = now
        compare_and_set(ctx, cycle, label, values)
        audit.record(
            ctx,
            "cycle",
            cycle_id,
            "transition",
            field="state",
            old=source,
            new=dest,
            note=note,
            data={"trigger": trigger, "effects": list(effects), "iteration": iteration},
            signature=signed,
        )
        changed = {k: v for k, v in target.cycle_values.items() if before.get(k) != v}
        audit.record_changes(
            ctx,
            "cycle",
            cycle_id,
            before,
            changed,
            system_note=SystemNote(N_("effect of “%(step)s”"), {"step": dict(transition.titles)}),
        )
        if changed.get("escalated"):
            audit.record(
                ctx,
                "cycle",
                cycle_id,
                "escalated",
                system_note=SystemNote(
                    N_("%(count)s iterations were not effective."),
                    {"count": ESCALATE_AFTER_FAILED_ITERATIONS},
                ),
            )
    return cycle


# --- effectiveness (its own step: maker and checker) ------------------------


def effectiveness_window_end(ctx: Ctx, cycle: Cycle) -> date | None:
    """The first day effectiveness may be judged, when the cycle sets a window."""
    if not cycle.effectiveness_window_days:
        return None
    last_done = ctx.session.exec(
        select(func.max(Action.done_at)).where(
            Action.cycle_id == cycle.id,
            Action.iteration == cycle.iteration,
            col(Action.status).in_([ActionStatus.done, ActionStatus.verified]),
        )
    ).one()
    if last_done is None:
        return None
    return last_done.date() + timedelta(days=cycle.effectiveness_window_days)


def record_effectiveness(
    ctx: Ctx, cycle_id: int, *, effective: bool, note: str | None, version: int | None
) -> Cycle:
    with unit_of_work(ctx):
        cycle = get_cycle(ctx, cycle_id, lock=True)
        label = key("cycle", cycle_id)
        require(can_confirm_effectiveness(ctx.actor, cycle))
        check_version(cycle, version, label)
        definition = definition_of(ctx, cycle)
        if definition.states[cycle.state].final:
            raise Conflict(f"{label} is {cycle.state}.")
        facts = cycle_facts(ctx, cycle)
        if cycle.effectiveness is not None:
            raise Conflict(
                f"Effectiveness of {label} was already judged ({cycle.effectiveness}); "
                "start the next iteration to judge again."
            )
        reasons = []
        current = facts.current_actions()
        unfinished = [a.key for a in current if a.status in ("open", "in_progress")]
        if unfinished:
            reasons.append(f"Actions are still running: {', '.join(unfinished)}.")
        elif not any(a.status in ("done", "verified") for a in current):
            reasons.append("No action of this iteration is done yet: there is no change to judge.")
        if cycle.result is None and not (cycle.result_note or "").strip():
            reasons.append("Record the result first.")
        if not (cycle.success_criterion or "").strip():
            reasons.append("Name the success criterion first.")
        window_end = effectiveness_window_end(ctx, cycle)
        if window_end is not None and ctx.today() < window_end:
            reasons.append(
                f"The effectiveness window runs until {window_end.isoformat()} "
                f"({cycle.effectiveness_window_days} days after the last action was done)."
            )
        if not effective and not (note or "").strip():
            reasons.append("Say why the change was not effective.")
        if reasons:
            raise Refused(f"Effectiveness of {label} cannot be judged yet.", reasons)
        verdict = Effectiveness.effective if effective else Effectiveness.not_effective
        old = cycle.effectiveness
        compare_and_set(
            ctx,
            cycle,
            label,
            {
                "effectiveness": verdict,
                "effectiveness_by_id": ctx.actor_id,
                "effectiveness_at": ctx.now(),
                "effectiveness_note": note,
            },
        )
        audit.record(
            ctx,
            "cycle",
            cycle_id,
            "effectiveness_judged",
            field="effectiveness",
            old=old,
            new=verdict,
            note=note,
            data={
                "result": cycle.result,
                "target": cycle.target,
                "success_criterion": cycle.success_criterion,
            },
        )
    return cycle


# --- team and problems ------------------------------------------------------


def add_member(ctx: Ctx, cycle_id: int, user_id: int) -> None:
    with unit_of_work(ctx):
        cycle = get_cycle(ctx, cycle_id)
        require(can_run_cycle(ctx.actor, cycle))
        get_or_404(ctx, User, user_id, "User")
        if ctx.session.get(CycleMember, (cycle_id, user_id)) is not None:
            raise Conflict("That person is already on the team.")
        ctx.session.add(CycleMember(cycle_id=cycle_id, user_id=user_id))
        audit.record(ctx, "cycle", cycle_id, "member_added", data={"user_id": user_id})


def link_problem(ctx: Ctx, cycle_id: int, problem_id: int) -> None:
    with unit_of_work(ctx):
        cycle = get_cycle(ctx, cycle_id)
        require(can_run_cycle(ctx.actor, cycle))
        problem = get_or_404(ctx, Problem, problem_id, "Problem")
        if problem.status not in OPEN_PROBLEM_STATUSES:
            raise Invalid(f"{key('problem', problem_id)} is {problem.status}; it cannot be linked.")
        if ctx.session.get(CycleProblem, (cycle_id, problem_id)) is not None:
            raise Conflict("That problem is already linked.")
        ctx.session.add(CycleProblem(cycle_id=cycle_id, problem_id=problem_id))
        audit.record(ctx, "cycle", cycle_id, "problem_linked", data={"problem_id": problem_id})
        audit.record(ctx, "problem", problem_id, "linked_to_cycle", data={"cycle_id": cycle_id})


def members(ctx: Ctx, cycle_id: int) -> list[User]:
    query = (
        select(User)
        .join(CycleMember, col(CycleMember.user_id) == User.id)
        .where(CycleMember.cycle_id == cycle_id)
        .order_by(User.name)
    )
    return list(ctx.session.exec(query))
