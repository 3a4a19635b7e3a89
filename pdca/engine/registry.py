"""The one registry of named guards and effects that workflow files may use.

A guard is a pure function of CycleFacts that returns the reasons it refuses
(an empty list means "allowed"). An effect names durable work that the services
layer performs in the same transaction as the state change, through the
EffectTarget protocol; the engine itself never writes anything.
"""

from collections.abc import Callable
from typing import Protocol

from pdca.engine.facts import CycleFacts, Reason, because, because_n, shown_keys

Guard = Callable[[CycleFacts], list[Reason]]


class EffectTarget(Protocol):
    def resolve_linked_problems(self) -> None: ...
    def start_next_iteration(self) -> None: ...


Effect = Callable[[EffectTarget], None]

GUARDS: dict[str, Guard] = {}
GUARD_DESCRIPTIONS: dict[str, str] = {}
EFFECTS: dict[str, Effect] = {}
EFFECT_DESCRIPTIONS: dict[str, str] = {}


def guard(description: str) -> Callable[[Guard], Guard]:
    def register(fn: Guard) -> Guard:
        GUARDS[fn.__name__] = fn
        GUARD_DESCRIPTIONS[fn.__name__] = description
        return fn

    return register


def effect(description: str) -> Callable[[Effect], Effect]:
    def register(fn: Effect) -> Effect:
        EFFECTS[fn.__name__] = fn
        EFFECT_DESCRIPTIONS[fn.__name__] = description
        return fn

    return register


# --- guards -----------------------------------------------------------------


@guard("At least one action is planned, each with an owner and a deadline.")
def actions_planned(facts: CycleFacts) -> list[Reason]:
    live = facts.current_actions()
    if not live:
        if facts.iteration > 1:
            return [
                because(
                    "no_actions",
                    "No action is planned for iteration %(n)d yet: add at least one.",
                    n=facts.iteration,
                )
            ]
        return [because("no_actions", "No action is planned yet: add at least one.")]
    reasons = []
    no_owner = [a.key for a in live if a.owner_id is None]
    no_deadline = [a.key for a in live if a.deadline is None]
    if no_owner:
        reasons.append(
            because_n(
                "actions_without_owner",
                "%(count)d action has no owner: %(keys)s",
                "%(count)d actions have no owner: %(keys)s",
                len(no_owner),
                keys=shown_keys(no_owner),
            )
        )
    if no_deadline:
        reasons.append(
            because_n(
                "actions_without_deadline",
                "%(count)d action has no deadline: %(keys)s",
                "%(count)d actions have no deadline: %(keys)s",
                len(no_deadline),
                keys=shown_keys(no_deadline),
            )
        )
    return reasons


@guard("Every action is done, or cancelled with a reason.")
def actions_finished(facts: CycleFacts) -> list[Reason]:
    reasons = []
    not_done = [a.key for a in facts.actions if a.status in ("open", "in_progress")]
    if not_done:
        reasons.append(
            because_n(
                "actions_not_done",
                "%(count)d action is not done: %(keys)s",
                "%(count)d actions are not done: %(keys)s",
                len(not_done),
                keys=shown_keys(not_done),
            )
        )
    unexplained = [
        a.key
        for a in facts.actions
        if a.status == "cancelled" and not (a.cancel_reason or "").strip()
    ]
    if unexplained:
        reasons.append(
            because_n(
                "actions_cancelled_without_reason",
                "%(count)d action was cancelled without a reason: %(keys)s",
                "%(count)d actions were cancelled without a reason: %(keys)s",
                len(unexplained),
                keys=shown_keys(unexplained),
            )
        )
    return reasons


@guard("Every action that was not cancelled has been verified.")
def actions_verified(facts: CycleFacts) -> list[Reason]:
    pending = [a.key for a in facts.live_actions() if a.status != "verified"]
    if not pending:
        return []
    return [
        because_n(
            "actions_not_verified",
            "%(count)d action is not verified: %(keys)s",
            "%(count)d actions are not verified: %(keys)s",
            len(pending),
            keys=shown_keys(pending),
        )
    ]


@guard("A result is recorded: measured against the target where there is one.")
def result_recorded(facts: CycleFacts) -> list[Reason]:
    target, result = facts.field_value("target"), facts.field_value("result")
    if target is not None and result is None:
        unit = facts.field_value("unit") or ""
        return [
            because(
                "result_missing",
                "The result has not been measured: record it against the target of %(target)s.",
                target=f"{target:g}{(' ' + unit) if unit else ''}",
            )
        ]
    if result is None and not (facts.field_value("result_note") or "").strip():
        return [because("result_missing", "No result is recorded yet.")]
    return []


@guard("Someone other than the lead has judged whether the change was effective.")
def effectiveness_evaluated(facts: CycleFacts) -> list[Reason]:
    if facts.effectiveness is None:
        return [
            because(
                "effectiveness_not_evaluated",
                "Effectiveness has not been checked yet: someone other than the lead must "
                "confirm whether the change worked.",
            )
        ]
    return []


@guard("Effectiveness was confirmed as effective.")
def effectiveness_confirmed(facts: CycleFacts) -> list[Reason]:
    if facts.effectiveness == "effective":
        return []
    if facts.effectiveness == "not_effective":
        return [
            because(
                "judged_not_effective",
                "The change was judged not effective: start the next iteration instead.",
            )
        ]
    return effectiveness_evaluated(facts)


@guard("The measured result meets the target (in the direction that is better).")
def result_meets_target(facts: CycleFacts) -> list[Reason]:
    target, result = facts.field_value("target"), facts.field_value("result")
    if target is None:
        return []  # nothing measured to compare; the success criterion was judged instead
    if result is None:
        return result_recorded(facts)
    direction = facts.field_value("direction")
    baseline = facts.field_value("baseline")
    if direction is None and baseline is not None and baseline != target:
        direction = "higher" if target > baseline else "lower"
    if direction not in ("higher", "lower"):
        return [
            because(
                "direction_unknown",
                "Say whether higher or lower is better, so the "
                "result can be compared with the target.",
            )
        ]
    if (result >= target) if direction == "higher" else (result <= target):
        return []
    if direction == "higher":
        template = "The result %(result)s does not meet the target (must be at least %(target)s)."
    else:
        template = "The result %(result)s does not meet the target (must be at most %(target)s)."
    return [because("target_not_met", template, result=f"{result:g}", target=f"{target:g}")]


@guard("What was standardised is written down.")
def standardisation_recorded(facts: CycleFacts) -> list[Reason]:
    if (facts.field_value("standardisation") or "").strip():
        return []
    return [
        because(
            "standardisation_missing",
            "Write down what was standardised (procedure, training, checklist) so the gain holds.",
        )
    ]


@guard("A note says why.")
def note_given(facts: CycleFacts) -> list[Reason]:
    if (facts.note or "").strip():
        return []
    return [because("note_missing", "Give a reason in the note.")]


@guard("At least one problem is linked to the cycle.")
def problem_linked(facts: CycleFacts) -> list[Reason]:
    if facts.field_value("problem_count"):
        return []
    return [because("no_problem", "Link at least one problem that the cycle addresses.")]


# --- effects ----------------------------------------------------------------


@effect("Resolve every problem the cycle addresses.")
def resolve_problems(target: EffectTarget) -> None:
    target.resolve_linked_problems()


@effect("Count the next iteration of the spiral; after three failed ones, flag escalation.")
def start_next_iteration(target: EffectTarget) -> None:
    target.start_next_iteration()
