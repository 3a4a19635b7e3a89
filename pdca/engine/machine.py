"""One `transitions` machine per workflow definition, built once and never mutated.

Events fire on a small view object, never on an ORM row (see conventions.md:
rows are not valid `transitions` models). Guards are evaluated here so that a
refusal carries every reason, not only the first failing condition.
"""

from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from transitions import Machine
from transitions.core import EventData, MachineError

from pdca.engine.definition import BUILTIN_FIELD_TITLES, WorkflowDefinition
from pdca.engine.facts import CycleFacts, Reason, because
from pdca.engine.registry import GUARDS

NOTE_ASKED_WHEN_FIRED = "(asked when fired)"


class TransitionRefused(Exception):
    def __init__(self, trigger: str, reasons: list[Reason]) -> None:
        self.trigger, self.reasons = trigger, reasons
        super().__init__(f"{trigger} refused: " + "; ".join(r.message for r in reasons))


class UnknownTrigger(Exception):
    def __init__(self, trigger: str, state: str, available: list[str]) -> None:
        self.trigger, self.state, self.available = trigger, state, available
        listed = ", ".join(available) or "none"
        super().__init__(f"'{trigger}' cannot be fired from state '{state}' (possible: {listed})")


@dataclass(frozen=True)
class TransitionOption:
    trigger: str
    dest: str
    titles: MappingProxyType[str, str]
    allowed: bool
    reasons: tuple[Reason, ...]
    effects: tuple[str, ...]
    # The person must write a note (a reason) when firing it.
    needs_note: bool = False
    signed: bool = False


class _View:
    """The object a machine moves: only a state, plus the facts guards read."""

    def __init__(self, state: str, facts: CycleFacts) -> None:
        self.state = state
        self.facts = facts


class WorkflowMachine:
    def __init__(self, definition: WorkflowDefinition) -> None:
        self.definition = definition
        self._machine = Machine(
            model=None,
            states=list(definition.states),
            initial=definition.initial,
            auto_transitions=False,
            send_event=True,
        )
        for t in definition.transitions:
            self._machine.add_transition(
                t.trigger, list(t.sources), t.dest, conditions=[self._guards_pass]
            )

    def _guards_pass(self, event: EventData) -> bool:
        view: _View = event.model
        return not self.reasons(event.event.name, view.state, view.facts)

    def reasons(self, trigger: str, state: str, facts: CycleFacts) -> list[Reason]:
        """Everything that stops `trigger` from `state`, in words; empty when allowed."""
        transition = self.definition.transition(trigger, state)
        if transition is None:
            return [
                because(
                    "not_available",
                    "'%(trigger)s' is not possible from '%(state)s'.",
                    trigger=trigger,
                    state=state,
                )
            ]
        reasons: list[Reason] = []
        if transition.check_requirements:
            for field_name in self.definition.states[state].requires:
                value = facts.field_value(field_name)
                if value is None or (isinstance(value, str) and not value.strip()):
                    titles = field_titles(self.definition, field_name)
                    reasons.append(
                        because(f"missing_{field_name}", "%(field)s is missing.", field=titles)
                    )
        for guard_name in transition.guards:
            reasons.extend(GUARDS[guard_name](facts))
        return reasons

    def options(self, state: str, facts: CycleFacts) -> list[TransitionOption]:
        """Every transition from `state`, allowed or not, with all of its reasons.

        A note is asked for when a transition is fired, so listing does not count a
        missing note against it; `needs_note` tells the caller to ask for one.
        """
        result = []
        for t in self.definition.transitions_from(state):
            needs_note = "note_given" in t.guards
            listed = (
                replace(facts, note=facts.note or NOTE_ASKED_WHEN_FIRED) if needs_note else facts
            )
            reasons = self.reasons(t.trigger, state, listed)
            result.append(
                TransitionOption(
                    trigger=t.trigger,
                    dest=t.dest,
                    titles=MappingProxyType(dict(t.titles)),
                    allowed=not reasons,
                    reasons=tuple(reasons),
                    effects=t.effects,
                    needs_note=needs_note,
                    signed=t.signed,
                )
            )
        return result

    def fire(self, trigger: str, state: str, facts: CycleFacts) -> tuple[str, tuple[str, ...]]:
        """Return (destination, effects to perform) or raise UnknownTrigger/TransitionRefused."""
        available = self._machine.get_triggers(state) if state in self.definition.states else []
        if trigger not in available:
            raise UnknownTrigger(trigger, state, list(available))
        reasons = self.reasons(trigger, state, facts)
        if reasons:
            raise TransitionRefused(trigger, reasons)
        view = _View(state, facts)
        try:
            moved = self._machine.events[trigger].trigger(view)
        except MachineError as exc:  # unreachable after the checks above; kept honest
            raise UnknownTrigger(trigger, state, list(available)) from exc
        if not moved:
            raise TransitionRefused(trigger, self.reasons(trigger, state, facts))
        transition = self.definition.transition(trigger, state)
        assert transition is not None
        return view.state, transition.effects


def field_titles(definition: WorkflowDefinition, name: str) -> dict[str, str]:
    """A field's name in each language: declared in the workflow file, or built in."""
    for f in definition.fields:
        if f.name == name:
            return dict(f.titles)
    return dict(BUILTIN_FIELD_TITLES.get(name, {"en": name, "zh_CN": name}))


def diagram(definition: WorkflowDefinition, current: str | None = None, lang: str = "en") -> str:
    """A Mermaid state diagram of the workflow, with the current state marked."""
    lines = ["stateDiagram-v2", f"    [*] --> {definition.initial}"]
    for state in definition.states.values():
        lines.append(f'    state "{state.titles.get(lang, state.titles["en"])}" as {state.name}')
    for t in definition.transitions:
        for source in t.sources:
            lines.append(f"    {source} --> {t.dest}: {t.trigger}")
    for name in definition.final_states():
        lines.append(f"    {name} --> [*]")
    if current:
        lines.append("    classDef current fill:#fde68a,stroke:#b45309,stroke-width:2px")
        lines.append(f"    class {current} current")
    return "\n".join(lines)


def describe(definition: WorkflowDefinition) -> dict[str, Any]:
    """A plain summary for people and the API."""
    return {
        "name": definition.name,
        "titles": dict(definition.titles),
        "initial": definition.initial,
        "states": [
            {
                "name": s.name,
                "titles": dict(s.titles),
                "requires": list(s.requires),
                "final": s.final,
            }
            for s in definition.states.values()
        ],
        "transitions": [
            {
                "trigger": t.trigger,
                "sources": list(t.sources),
                "dest": t.dest,
                "guards": list(t.guards),
                "effects": list(t.effects),
            }
            for t in definition.transitions
        ],
    }
