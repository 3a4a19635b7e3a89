"""Reminders before a deadline: "your action is due on …", once per action and deadline.

How many days ahead is each owner's choice (their preferences); a new deadline is a
new reminder (the deadline is part of the notification's unique key).
"""

from datetime import timedelta

from sqlmodel import col, select

from pdca.models import Action
from pdca.services.context import Ctx, unit_of_work
from pdca.services.keys import key
from pdca.services.notifications import notify, preferences_for

UNFINISHED = ("open", "in_progress")
FURTHEST = 30  # days: the most anyone can ask for


def run(ctx: Ctx, *, mail: bool) -> int:
    today = ctx.today()
    added = 0
    with unit_of_work(ctx):
        actions = list(
            ctx.session.exec(
                select(Action).where(
                    col(Action.status).in_(UNFINISHED),
                    col(Action.owner_id).is_not(None),
                    col(Action.deadline) >= today,
                    col(Action.deadline) <= today + timedelta(days=FURTHEST),
                )
            )
        )
        prefs = preferences_for(ctx.session, sorted({a.owner_id for a in actions}))  # type: ignore[misc]
        for a in actions:
            assert a.owner_id is not None and a.deadline is not None and a.id is not None
            mine = prefs[a.owner_id]
            if (a.deadline - today).days > mine.due_soon_days:
                continue
            made = notify(
                ctx,
                a.owner_id,
                "due_soon",
                "action",
                a.id,
                {"key": key("action", a.id), "title": a.title, "deadline": a.deadline.isoformat()},
                f"due_soon:{a.id}:{a.deadline.isoformat()}",
                prefs=mine,
                mail=mail,
            )
            added += made is not None
    return added
