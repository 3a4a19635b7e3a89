"""What a person may do with a board card, decided in memory from the card's row.

The board shows buttons only to those allowed. Asking the services per card would
cost queries per card; the row already holds everything the rules need.
"""

from dataclasses import dataclass

from pdca.engine.action_lifecycle import ACTION_LIFECYCLE, ActionFacts
from pdca.models import Action, User
from pdca.services.keys import key
from pdca.services.policy import (
    can_manage_action,
    can_verify_action,
    can_work_on_action,
)
from pdca.services.queries import ActionRow


@dataclass(frozen=True)
class _Lead:
    lead_id: int


@dataclass(frozen=True)
class CardMoves:
    allowed: dict[str, bool]
    reasons: dict[str, list[str]]
    can_edit: bool  # reassign and re-date

    def may(self, trigger: str) -> bool:
        return self.allowed.get(trigger, False)


def card_moves(user: User | None, row: ActionRow) -> CardMoves:
    action: Action = row.action
    cycle = _Lead(row.cycle_lead_id)
    facts = ActionFacts(
        key=key("action", action.id),
        status=action.status,
        owner_id=action.owner_id,
        actor_id=user.id if user else None,
        open_blockers=tuple(key("action", b) for b in row.blocked_by),
        note="(asked when fired)",
    )
    allowed: dict[str, bool] = {}
    reasons: dict[str, list[str]] = {}
    for trigger in ACTION_LIFECYCLE.triggers(action.status):
        if trigger == "verify":
            permission = can_verify_action(user, action)
        elif trigger in ("start", "complete"):
            permission = can_work_on_action(user, action, cycle)  # type: ignore[arg-type]
        else:
            permission = can_manage_action(user, action, cycle)  # type: ignore[arg-type]
        why = ([permission] if permission else []) + [
            r.message for r in ACTION_LIFECYCLE.reasons(trigger, facts)
        ]
        allowed[trigger] = not why
        reasons[trigger] = why
    editable = action.status not in ("verified", "cancelled")
    can_edit = editable and can_manage_action(user, action, cycle) is None  # type: ignore[arg-type]
    return CardMoves(allowed, reasons, can_edit)
