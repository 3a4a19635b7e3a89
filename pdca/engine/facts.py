"""What guards may look at: plain, frozen facts that the services layer computed."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

FINISHED_ACTION_STATES = frozenset({"done", "verified", "cancelled"})


def N_(message: str) -> str:
    """Marks a sentence for translation where it is defined; translated where it is shown."""
    return message


@dataclass(frozen=True)
class Reason:
    """Why something is refused: a stable code for programs, a sentence for people.

    `message` is the English sentence. `template` (and `plural`) with `params` let a
    page show the same sentence in the reader's language.
    """

    code: str
    message: str
    template: str | None = None
    plural: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return self.message

    def translated(self, gettext: Any, ngettext: Any, lang: str = "en") -> str:
        if self.template is None:
            return str(gettext(self.message))
        if self.plural is not None:
            text = ngettext(self.template, self.plural, self.params["count"])
        else:
            text = gettext(self.template)
        return str(text) % {
            k: v.translated(gettext, ngettext, lang) if isinstance(v, Reason) else _in(v, lang)
            for k, v in self.params.items()
        }


def _in(value: Any, lang: str) -> Any:
    """A parameter given in several languages ({"en": …, "zh_CN": …}) in the reader's one;
    a moment ({"utc": ISO text}, see `moment`) as UTC text (pages show it in the reader's
    locale and zone); a reason inside a reason (see `on_line`) as its English sentence."""
    if isinstance(value, Reason):
        return value.message
    if isinstance(value, Mapping) and "en" in value:
        return value.get(lang) or value["en"]
    if isinstance(value, Mapping) and "utc" in value:
        return utc_words(value["utc"])
    return value


def moment(at: datetime) -> dict[str, str]:
    """A time as a reason's parameter: stored as ISO text in UTC, shown in the reader's zone."""
    return {"utc": at.astimezone(UTC).isoformat()}


def utc_words(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def because(code: str, template: str, **params: Any) -> Reason:
    return Reason(
        code, template % {k: _in(v, "en") for k, v in params.items()}, template, None, params
    )


def because_n(code: str, singular: str, plural: str, count: int, **params: Any) -> Reason:
    params = {**params, "count": count}
    english = (singular if count == 1 else plural) % {k: _in(v, "en") for k, v in params.items()}
    return Reason(code, english, singular, plural, params)


def on_line(line: int, reason: Reason) -> Reason:
    """A file's bad line: "line 7: …" with the line's own reason (and code), both translated."""
    return because(reason.code, "line %(line)s: %(reason)s", line=line, reason=reason)


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


def shown_keys(keys: list[str]) -> str:
    """A-12, A-15 (at most ten, then how many more)."""
    return ", ".join(keys[:10]) + (f" (+{len(keys) - 10})" if len(keys) > 10 else "")
