"""What a board card shows, worked out in Python once per card.

The card template then only reads attributes: each call out of a Jinja template
(formatting a date, translating a word, asking a permission) costs several times
the same call made here, and a board draws thousands of cards.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from pdca import i18n
from pdca.models import Action
from pdca.services import cards
from pdca.services.queries import ActionRow

UNFINISHED = ("open", "in_progress")
AGEING = ("open", "in_progress", "done")


@dataclass(frozen=True, slots=True)
class CardView:
    a: Action
    row: ActionRow
    css: str  # " late", " soon", " blocked"
    kind: str
    owner: str
    due: str
    lateness: str  # "overdue", "due soon" or ""
    state: str
    age: str  # "12 days", or "" when time in the column does not matter
    age_css: str
    buttons: tuple[tuple[str, str], ...]  # (trigger, title) of start / complete
    may_verify: bool
    may_edit: bool
    escalated: str = ""  # where the escalation ladder took an overdue card, or ""


@dataclass(frozen=True)
class CardWords:
    """The words and limits every card of one page shares."""

    lang: str
    region: str  # dates in the reader's region (en_GB, en_US, zh_CN)
    today: date
    kinds: dict[str, str]
    triggers: dict[str, str]
    state_title: Callable[[str, str], str]
    unassigned: str
    no_deadline: str
    overdue: str
    due_soon: str
    age_amber: int
    age_red: int


def card_view(
    user: Any,
    row: ActionRow,
    words: CardWords,
    seen: dict[tuple[Any, ...], Any] | None = None,
    escalated: str = "",
) -> CardView:
    """`seen` remembers the moves of cards alike for this user (same status, same
    relation to the user, blocked or not): a board of thousands has only dozens of kinds."""
    a = row.action
    uid = getattr(user, "id", None)
    alike = (
        a.status,
        a.owner_id == uid,
        a.department_id == getattr(user, "department_id", None),
        row.cycle_lead_id == uid,
        bool(row.blocked_by),
    )
    moves = seen.get(alike) if seen is not None else None
    if moves is None:
        moves = cards.card_moves(user, row)
        if seen is not None:
            seen[alike] = moves
    unfinished = a.status in UNFINISHED
    late = bool(unfinished and a.deadline and a.deadline < words.today)
    soon = bool(unfinished and a.deadline and not late and (a.deadline - words.today).days <= 7)
    age = (words.today - a.status_changed_at.date()).days
    ageing = a.status in AGEING
    return CardView(
        a=a,
        row=row,
        css=(" late" if late else "")
        + (" soon" if soon else "")
        + (" blocked" if row.blocked_by else ""),
        kind=words.kinds.get(a.kind, a.kind),
        owner=row.owner_name or words.unassigned,
        due=i18n.format_date(a.deadline, words.region) if a.deadline else words.no_deadline,
        lateness=words.overdue if late else (words.due_soon if soon else ""),
        state=words.state_title(row.workflow, row.cycle_state),
        age=_age_text(words.lang, age) if ageing else "",
        age_css=" age-red"
        if age >= words.age_red
        else (" age-amber" if age >= words.age_amber else ""),
        buttons=tuple((t, words.triggers[t]) for t in ("start", "complete") if moves.may(t)),
        may_verify=moves.may("verify"),
        may_edit=moves.can_edit,
        escalated=escalated,
    )


@lru_cache(maxsize=4096)
def _age_text(lang: str, days: int) -> str:
    return i18n.translations(lang).ngettext("%(num)d day", "%(num)d days", days) % {"num": days}
