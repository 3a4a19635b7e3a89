"""Bulk edits from the board: one change applied to several actions, each on its own.

Every action is its own compare-and-set write with its own audit event (its own
transaction), so one refusal never undoes or blocks the others; the outcome names
what was done and, for each refusal, why.
"""

from dataclasses import dataclass, field
from datetime import date

from pdca.engine.facts import N_
from pdca.services import actions
from pdca.services.context import Ctx
from pdca.services.errors import Invalid, ServiceError
from pdca.services.keys import key

OPERATIONS = ("reassign", "redate", "start", "complete")
MAX_ACTIONS = 200


@dataclass(frozen=True)
class Picked:
    action_id: int
    version: int


@dataclass
class BulkOutcome:
    done: list[int] = field(default_factory=list)
    refused: list[tuple[int, ServiceError]] = field(default_factory=list)


def apply(
    ctx: Ctx,
    picked: list[Picked],
    operation: str,
    *,
    owner_id: int | None = None,
    deadline: date | None = None,
    note: str | None = None,
) -> BulkOutcome:
    """Apply `operation` to each picked action at the version the person saw."""
    if operation not in OPERATIONS:
        raise Invalid(N_("Choose what to do with the selected actions."), [operation])
    if not picked:
        raise Invalid(N_("Select at least one action first."))
    if len(picked) > MAX_ACTIONS:
        raise Invalid(N_("Select at most 200 actions at once."))
    if operation == "reassign" and owner_id is None:
        raise Invalid(N_("Choose the new owner."))
    if operation == "redate" and deadline is None:
        raise Invalid(N_("Choose the new deadline."))
    outcome = BulkOutcome()
    # In id order: the outcome reads the same whatever order the cards were ticked, and
    # concurrent bulk edits lock their rows in one order.
    for item in sorted(picked, key=lambda p: p.action_id):
        try:
            if operation == "reassign":
                actions.update_action(
                    ctx,
                    item.action_id,
                    version=item.version,
                    changes={"owner_id": owner_id},
                    note=note,
                )
            elif operation == "redate":
                actions.update_action(
                    ctx,
                    item.action_id,
                    version=item.version,
                    changes={"deadline": deadline},
                    note=note,
                )
            else:
                actions.fire_action(
                    ctx, item.action_id, trigger=operation, version=item.version, note=note
                )
        except ServiceError as exc:
            outcome.refused.append((item.action_id, exc))
        else:
            outcome.done.append(item.action_id)
    return outcome


def keys(action_ids: list[int]) -> str:
    return ", ".join(key("action", i) for i in action_ids)
