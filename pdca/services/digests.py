"""The daily digest: one mail per person a day, at the hour they chose in their time zone.

It lists their overdue actions, those due soon (as many days ahead as they chose) and
what came into their inbox since the last digest, in their language. The outbox key
is (person, local date): the job may run every minute, in several processes, and a
day still has one digest. Nothing to say, no mail.
"""

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from pdca import i18n
from pdca.models import Action, Notification, Outbox, User
from pdca.services import outbox
from pdca.services.context import Ctx, unit_of_work
from pdca.services.keys import key
from pdca.services.notifications import (
    Preferences,
    link_of,
    preferences_for,
    text_of,
    zone_of,
)

UNFINISHED = ("open", "in_progress")
MOST_NOTES = 20


def _local_now(now: datetime, prefs: Preferences) -> datetime:
    try:
        return now.astimezone(ZoneInfo(prefs.time_zone))
    except (KeyError, ValueError):
        return now


def _line(a: Action) -> dict[str, Any]:
    assert a.id is not None and a.deadline is not None
    return {
        "key": key("action", a.id),
        "title": a.title,
        "deadline": a.deadline.isoformat(),
        "link": link_of("action", a.id),
    }


def content(ctx: Ctx, user: User, prefs: Preferences, lang: str) -> dict[str, Any]:
    """What one person's digest says today (empty lists: nothing to say)."""
    today = ctx.today()
    mine = ctx.session.exec(
        select(Action)
        .where(
            Action.owner_id == user.id,
            col(Action.status).in_(UNFINISHED),
            col(Action.deadline) <= today + timedelta(days=prefs.due_soon_days),
        )
        .order_by(col(Action.deadline), col(Action.id))
    )
    overdue, due_soon = [], []
    for a in mine:
        (overdue if a.deadline < today else due_soon).append(_line(a))  # type: ignore[operator]
    last = ctx.session.exec(
        select(Outbox.created_at)
        .where(Outbox.channel == "mail", Outbox.user_id == user.id, Outbox.kind == "digest")
        .order_by(col(Outbox.id).desc())
        .limit(1)
    ).first()
    query = select(Notification).where(
        Notification.user_id == user.id, col(Notification.read_at).is_(None)
    )
    if last is not None:
        query = query.where(col(Notification.created_at) > last)
    notes = [
        {
            "text": text_of(n.kind, n.params, lang, zone_of(prefs)),
            "link": link_of(n.entity_type, n.entity_id),
        }
        for n in ctx.session.exec(query.order_by(col(Notification.id).desc()).limit(MOST_NOTES))
        # The digest lists the deadlines itself: do not say them twice.
        if n.kind not in ("due_soon", "overdue")
    ]
    return {"name": user.name, "overdue": overdue, "due_soon": due_soon, "notes": notes}


def run(ctx: Ctx) -> int:
    """Queue today's digest for everyone whose hour has come; returns how many."""
    now = ctx.now()
    with unit_of_work(ctx):
        users = list(ctx.session.exec(select(User).where(User.active == True)))  # noqa: E712
        prefs = preferences_for(ctx.session, [u.id for u in users])  # type: ignore[misc]
    queued = 0
    for user in users:
        mine = prefs[user.id]  # type: ignore[index]
        if mine.muted or not mine.email_digest or not user.email:
            continue
        local = _local_now(now, mine)
        if local.hour < mine.digest_hour:
            continue
        dedupe = f"digest:{user.id}:{local.date().isoformat()}"
        with unit_of_work(ctx):
            if ctx.session.exec(
                select(Outbox.id).where(Outbox.channel == "mail", Outbox.dedupe == dedupe)
            ).first():
                continue  # today's is queued (or sent) already
            lang = user.locale if user.locale in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
            said = content(ctx, user, mine, lang)
            if not (said["overdue"] or said["due_soon"] or said["notes"]):
                continue
            said["date"] = local.date().isoformat()
            made = outbox.enqueue(
                ctx,
                "mail",
                dedupe,
                "digest",
                {"to": user.email, "lang": lang, "template": "digest", "context": said},
                user_id=user.id,
            )
            queued += made is not None
    return queued
