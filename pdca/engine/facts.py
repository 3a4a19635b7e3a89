"""What guards may look at: plain, frozen facts that the services layer computed."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

FINISHED_ACTION_STATES = frozenset({"done", "verified", "cancelled"})


@dataclass(frozen=True)
class Reason:
    """Why something is refused: a stable code for programs, a sentence for people."""

    code: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ActionFact:
    key: str
    title: str
    status: str
    owner_id: int | None
    deadline: date | None
    cancel_reason: str | None = None
    iteration: int = 1


@dataclass(frozen=True)
class CycleFacts:
    key: str
    state: str
    iteration: int
    lead_id: int
    fields: Mapping[str, Any]
    actions: tuple[ActionFact, ...] = ()
    effectiveness: str | None = None
    effectiveness_by_id: int | None = None
    today: date = field(default_factory=date.today)
    actor_id: int | None = None
    note: str | None = None

    def field_value(self, name: str) -> Any:
        return self.fields.get(name)

    def live_actions(self) -> tuple[ActionFact, ...]:
        return tuple(a for a in self.actions if a.status != "cancelled")

    def current_actions(self) -> tuple[ActionFact, ...]:
        """Live actions planned in this turn of the spiral."""
        return tuple(a for a in self.live_actions() if a.iteration == self.iteration)


def keys_sentence(keys: list[str], singular: str, plural: str) -> str:
    """'2 actions are not done: A-12, A-15' — counts and names, as people say it."""
    shown = ", ".join(keys[:10]) + (f" and {len(keys) - 10} more" if len(keys) > 10 else "")
    noun = singular if len(keys) == 1 else plural
    return f"{len(keys)} {noun}: {shown}"
