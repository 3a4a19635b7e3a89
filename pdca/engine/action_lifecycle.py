"""The action lifecycle: open → in progress → done → verified; reopen; cancel with a reason."""

from collections.abc import Callable
from dataclasses import dataclass

from transitions import Machine

from pdca.engine.facts import Reason, because, because_n, shown_keys


@dataclass(frozen=True)
class ActionFacts:
    key: str
    status: str
    owner_id: int | None
    actor_id: int | None
    open_blockers: tuple[str, ...] = ()
    note: str | None = None


ActionGuard = Callable[[ActionFacts], list[Reason]]


def _has_owner(facts: ActionFacts) -> list[Reason]:
    if facts.owner_id is None:
        return [because("no_owner", "%(key)s has no owner: assign one first.", key=facts.key)]
    return []


def _not_blocked(facts: ActionFacts) -> list[Reason]:
    if not facts.open_blockers:
        return []
    blockers = list(facts.open_blockers)
    return [
        because_n(
            "blocked",
            "%(key)s is blocked: %(count)d action it depends on is still open: %(keys)s.",
            "%(key)s is blocked: %(count)d actions it depends on are still open: %(keys)s.",
            len(blockers),
            key=facts.key,
            keys=shown_keys(blockers),
        )
    ]


def _verifier_is_not_owner(facts: ActionFacts) -> list[Reason]:
    if facts.actor_id is not None and facts.actor_id == facts.owner_id:
        return [because("verifier_is_owner", "The owner of an action cannot verify it.")]
    return []


def _note_given(facts: ActionFacts) -> list[Reason]:
    if (facts.note or "").strip():
        return []
    return [because("note_missing", "Give a reason.")]


ACTION_STATES = ("open", "in_progress", "done", "verified", "cancelled")
ACTION_TITLES = {
    "open": {"en": "Open", "zh_CN": "待办"},
    "in_progress": {"en": "In progress", "zh_CN": "进行中"},
    "done": {"en": "Done, awaiting verification", "zh_CN": "已完成待验证"},
    "verified": {"en": "Verified", "zh_CN": "已验证"},
    "cancelled": {"en": "Cancelled", "zh_CN": "已取消"},
}

# trigger → (sources, destination, guards)
ACTION_TRANSITIONS: dict[str, tuple[tuple[str, ...], str, tuple[ActionGuard, ...]]] = {
    "start": (("open",), "in_progress", (_has_owner, _not_blocked)),
    "complete": (("open", "in_progress"), "done", (_has_owner, _not_blocked)),
    "verify": (("done",), "verified", (_verifier_is_not_owner,)),
    "reopen": (("done", "verified", "cancelled"), "open", (_note_given,)),
    "cancel": (("open", "in_progress", "done"), "cancelled", (_note_given,)),
}


class ActionRefused(Exception):
    def __init__(self, trigger: str, reasons: list[Reason]) -> None:
        self.trigger, self.reasons = trigger, reasons
        super().__init__(f"{trigger} refused: " + "; ".join(r.message for r in reasons))


class _View:
    def __init__(self, state: str) -> None:
        self.state = state


class ActionLifecycle:
    def __init__(self) -> None:
        self._machine = Machine(
            model=None,
            states=list(ACTION_STATES),
            initial="open",
            auto_transitions=False,
            send_event=True,
        )
        for trigger, (sources, dest, _guards) in ACTION_TRANSITIONS.items():
            self._machine.add_transition(trigger, list(sources), dest)
        self._triggers: dict[str, list[str]] = {}

    def reasons(self, trigger: str, facts: ActionFacts) -> list[Reason]:
        spec = ACTION_TRANSITIONS.get(trigger)
        if spec is None:
            return [Reason("unknown_trigger", f"'{trigger}' is not an action transition.")]
        sources, _dest, guards = spec
        if facts.status not in sources:
            return [
                because(
                    "not_available",
                    "%(key)s is %(status)s: '%(trigger)s' is not possible now.",
                    key=facts.key,
                    status=ACTION_TITLES[facts.status]["en"].lower(),
                    trigger=trigger,
                )
            ]
        return [reason for guard in guards for reason in guard(facts)]

    def destination(self, trigger: str) -> str:
        return ACTION_TRANSITIONS[trigger][1]

    def triggers(self, status: str) -> list[str]:
        # The machine never changes: ask it once per status, not once per card.
        if status not in self._triggers:
            self._triggers[status] = list(self._machine.get_triggers(status))
        return list(self._triggers[status])

    def fire(self, trigger: str, facts: ActionFacts) -> str:
        reasons = self.reasons(trigger, facts)
        if reasons:
            raise ActionRefused(trigger, reasons)
        view = _View(facts.status)
        self._machine.events[trigger].trigger(view)
        return view.state


ACTION_LIFECYCLE = ActionLifecycle()
