"""The board's search language, in the spirit of Kanboard's:

    owner:me dept:IT due:<7d kind:corrective overdue status:open cycle:C-3 workflow:pdca

Words without a prefix search titles. Several dept:/kind:/status: terms combine
with OR; different filters combine with AND. Unknown filters are an error with
the reason, never silently ignored.
"""

import re
import shlex
from dataclasses import replace
from datetime import date

from sqlmodel import col, select

from pdca.engine.facts import N_, Reason, because
from pdca.models import ActionKind, ActionStatus, Department, User
from pdca.services.context import Ctx
from pdca.services.errors import Invalid
from pdca.services.keys import parse as parse_key
from pdca.services.queries import ActionFilter

DUE_DAYS = re.compile(r"^<=?(\d+)d$")
DUE_DATE = re.compile(r"^<(\d{4}-\d{2}-\d{2})$")
FILTER_WORDS = ("owner", "dept", "due", "kind", "status", "cycle", "workflow")


def parse_board_query(ctx: Ctx, text: str | None, base: ActionFilter | None = None) -> ActionFilter:
    """Apply the search text on top of `base` (the filters chosen in the form)."""
    f = base or ActionFilter()
    if not text or not text.strip():
        return f
    try:
        terms = shlex.split(text)
    except ValueError:
        raise Invalid(N_("The search has an unclosed quote.")) from None
    departments: list[int] = list(f.department_ids)
    kinds: list[str] = list(f.kind)
    statuses: list[str] = list(f.status)
    words: list[str] = []
    problems: list[Reason] = []
    for term in terms:
        name, sep, value = term.partition(":")
        name = name.lower()
        if term.lower() == "overdue":
            f = replace(f, overdue=True)
        elif not sep or name not in FILTER_WORDS:
            if sep and name.isalpha():
                problems.append(
                    because(
                        "unknown_filter",
                        "Unknown filter '%(name)s:' (use %(words)s or 'overdue').",
                        name=name,
                        words=", ".join(w + ":" for w in FILTER_WORDS),
                    )
                )
            else:
                words.append(term)
        elif not value:
            problems.append(because("no_value", "'%(name)s:' needs a value.", name=name))
        elif name == "owner":
            owner = _owner(ctx, value)
            if owner is None:
                problems.append(
                    because("no_owner", "No user matches owner:%(value)s.", value=value)
                )
            else:
                f = replace(f, owner_id=owner)
        elif name == "dept":
            department = ctx.session.exec(
                select(Department.id).where(col(Department.code) == value.upper())
            ).first()
            if department is None:
                problems.append(
                    because(
                        "no_department", "No department has the code %(dept)s.", dept=value.upper()
                    )
                )
            else:
                departments.append(department)
        elif name == "due":
            if m := DUE_DAYS.match(value):
                f = replace(f, due_within_days=int(m.group(1)))
            elif m := DUE_DATE.match(value):
                try:
                    f = replace(f, due_before=date.fromisoformat(m.group(1)))
                except ValueError:
                    problems.append(
                        because("bad_date", "due:%(value)s is not a real date.", value=value)
                    )
            else:
                problems.append(
                    because(
                        "bad_due",
                        "due:%(value)s is not understood; write due:<7d or due:<2026-12-31.",
                        value=value,
                    )
                )
        elif name == "kind":
            if value.lower() not in ActionKind.__members__:
                problems.append(
                    because(
                        "bad_kind",
                        "kind:%(value)s is not one of %(known)s.",
                        value=value,
                        known=", ".join(ActionKind.__members__),
                    )
                )
            else:
                kinds.append(value.lower())
        elif name == "status":
            status = value.lower().replace("-", "_")
            if status not in ActionStatus.__members__:
                problems.append(
                    because(
                        "bad_status",
                        "status:%(value)s is not one of %(known)s.",
                        value=value,
                        known=", ".join(ActionStatus.__members__),
                    )
                )
            else:
                statuses.append(status)
        elif name == "cycle":
            try:
                f = replace(f, cycle_id=parse_key(value, "cycle"))
            except Invalid as exc:
                problems.append(exc.summary or Reason("bad_key", exc.detail))
        elif name == "workflow":
            f = replace(f, workflow=value.lower())
    if problems:
        raise Invalid(N_("The search could not be understood."), problems)
    text_query = " ".join(words) or f.q
    return replace(
        f,
        department_ids=tuple(departments),
        kind=tuple(kinds),
        status=tuple(statuses),
        q=text_query,
    )


def _owner(ctx: Ctx, value: str) -> int | None:
    if value.lower() == "me":
        return ctx.actor_id
    if value.isascii() and value.isdigit() and len(value) <= 9:
        return int(value)
    query = select(User.id).where(
        (col(User.email) == value.lower()) | (col(User.email).startswith(value.lower() + "@"))
    )
    return ctx.session.exec(query).first()
