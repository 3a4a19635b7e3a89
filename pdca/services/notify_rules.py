"""From the audit trail to inboxes and webhooks: who hears of which event.

Every change is already written to the trail, in its own transaction, by the one
service that makes it. Rather than sprinkle `notify` calls through every service
(and forget one), a job reads the events that are new since its cursor and applies
the rules below, all in this one module. The cursor moves in the same transaction
as the notifications it produced, and each notification and webhook delivery has a
unique key derived from the event's id, so a run that fails half-way, or two runs
at once, neither lose nor repeat anything.

Reading the trail by id is safe because events are written one transaction after
the other: SQLite has one writer, and on PostgreSQL the trail's hash chain holds an
advisory lock to the commit (pdca.services.audit), so no event with a smaller id
can commit after one with a larger id has been read.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, select

from pdca.models import (
    Action,
    Comment,
    Cycle,
    Event,
    JobCursor,
    Meeting,
    MeetingAttendee,
    Problem,
    Role,
    User,
)
from pdca.services import webhooks
from pdca.services.context import Ctx, unit_of_work
from pdca.services.keys import key
from pdca.services.notifications import insert_once, notify, preferences_for

CURSOR = "notify-from-trail"
BATCH = 500
MENTION = re.compile(r"(?<![\w.])@([A-Za-z0-9][A-Za-z0-9._-]{0,63})")
EXCERPT = 120


@dataclass
class Plan:
    """What one event means: inbox lines (kind → users) and a webhook event."""

    entity_type: str
    entity_id: int
    params: dict[str, Any]
    inbox: dict[str, set[int]] = field(default_factory=dict)
    hook: str | None = None
    # Kinds the event's own actor hears of too: what the system concluded from their
    # step, which they did not choose (an escalation), is news to them as well.
    news_to_actor: set[str] = field(default_factory=set)

    def tell(self, kind: str, *user_ids: int | None) -> None:
        self.inbox.setdefault(kind, set()).update(u for u in user_ids if u is not None)


def _facilitators(ctx: Ctx) -> list[int]:
    rows = ctx.session.exec(
        select(User.id).where(User.role == Role.facilitator, User.active == True)  # noqa: E712
    )
    return [int(r) for r in rows if r is not None]


def _heads_of(ctx: Ctx, department_id: int | None) -> list[int]:
    if department_id is None:
        return []
    rows = ctx.session.exec(
        select(User.id).where(
            User.role == Role.head,
            User.department_id == department_id,
            User.active == True,  # noqa: E712
        )
    )
    return [int(r) for r in rows if r is not None]


def _action_plan(ctx: Ctx, e: Event) -> Plan | None:
    action = ctx.session.get(Action, e.entity_id)
    if action is None:
        return None
    plan = Plan("action", e.entity_id, {"key": key("action", action.id), "title": action.title})
    if e.verb == "created" and action.owner_id is not None:
        plan.tell("assigned", (e.data or {}).get("owner_id"))
        plan.hook = "action.assigned"
    elif e.verb == "field_changed" and e.field == "owner_id" and e.to_value:
        plan.tell("assigned", int(e.to_value))
        plan.hook = "action.assigned"
    elif e.verb == "complete":
        plan.tell("to_verify", *(u for u in _facilitators(ctx) if u != action.owner_id))
        plan.hook = "action.done"
    elif e.verb == "verify":
        plan.tell("verified", action.owner_id)
        plan.hook = "action.verified"
    elif e.verb == "reopen":
        plan.tell("reopened", action.owner_id)
        plan.hook = "action.reopened"
    elif e.verb == "commented":
        _mentions(ctx, e, plan)
    return plan


def _cycle_plan(ctx: Ctx, e: Event) -> Plan | None:
    cycle = ctx.session.get(Cycle, e.entity_id)
    if cycle is None:
        return None
    plan = Plan("cycle", e.entity_id, {"key": key("cycle", cycle.id), "title": cycle.title})
    if e.verb == "transition" and e.to_value:
        machine = ctx.catalog.machine_for_version_id(ctx.session, cycle.workflow_version_id)
        state = machine.definition.states.get(e.to_value)
        if state is not None and state.final:
            # The end state picks the sentence: "is closed", or "was cancelled".
            plan.params = {**plan.params, "event": e.to_value}
            plan.tell("cycle_closed", cycle.lead_id)
            plan.hook = "cycle.closed"
    elif e.verb == "effectiveness_judged" and e.to_value == "not_effective":
        plan.tell("cycle_refused", cycle.lead_id)
    elif e.verb == "escalated":
        plan.tell("cycle_escalated", cycle.lead_id, *_facilitators(ctx))
        plan.news_to_actor.add("cycle_escalated")
        plan.hook = "cycle.escalated"
    elif e.verb == "commented":
        _mentions(ctx, e, plan)
    return plan


def _problem_plan(ctx: Ctx, e: Event) -> Plan | None:
    problem = ctx.session.get(Problem, e.entity_id)
    if problem is None:
        return None
    plan = Plan("problem", e.entity_id, {"key": key("problem", problem.id), "title": problem.title})
    if e.verb == "reported" and (e.data or {}).get("source") == "kpi":
        plan.tell("problem_raised", *_heads_of(ctx, problem.department_id))
        plan.hook = "problem.raised"
    elif e.verb == "commented":
        _mentions(ctx, e, plan)
    return plan


# A meeting's events that its attendees hear of: verb → what happened (the sentence).
MEETING_EVENTS = {"planned": "planned", "in_progress": "started", "minutes_signed": "signed"}


def _attendees(ctx: Ctx, meeting_id: int) -> list[int]:
    rows = ctx.session.exec(
        select(MeetingAttendee.user_id).where(MeetingAttendee.meeting_id == meeting_id)
    )
    return [int(r) for r in rows]


def _meeting_plan(ctx: Ctx, e: Event) -> Plan | None:
    """Everyone invited (the chair too) hears that a meeting is planned, that its agenda
    is ready for their points, that it started, and that its minutes are signed."""
    meeting = ctx.session.get(Meeting, e.entity_id)
    if meeting is None:
        return None
    happened = MEETING_EVENTS.get(e.verb)
    # The agenda is built when the meeting is prepared and again when it starts; only
    # the first is news (the start is told by its own event).
    if e.verb == "agenda_built" and (e.data or {}).get("stage") == "prepared":
        happened = "prepared"
    if happened is None:
        return None
    plan = Plan(
        "meeting",
        e.entity_id,
        {
            "key": f"M-{meeting.id}",
            "title": meeting.title,
            "event": happened,
            # Shown in the reader's zone; `date` keeps the plain sentence readable.
            "starts_at": meeting.starts_at.isoformat(),
            "date": meeting.starts_at.date().isoformat(),
        },
    )
    plan.tell("meeting", *_attendees(ctx, e.entity_id))
    return plan


def mentioned_logins(body: str) -> set[str]:
    """`@li.na` in a comment: the part of an e-mail address before the @."""
    return {m.lower().rstrip(".") for m in MENTION.findall(body)}


def _mentions(ctx: Ctx, e: Event, plan: Plan) -> None:
    comment = ctx.session.get(Comment, (e.data or {}).get("comment_id") or 0)
    if comment is None:
        return
    logins = mentioned_logins(comment.body)
    if not logins:
        return
    author = ctx.session.get(User, comment.author_id)
    users = ctx.session.exec(select(User).where(User.active == True))  # noqa: E712
    found = [u.id for u in users if u.email.split("@", 1)[0].lower() in logins]
    excerpt = comment.body if len(comment.body) <= EXCERPT else comment.body[:EXCERPT] + "…"
    plan.params = {**plan.params, "author": author.name if author else "", "excerpt": excerpt}
    plan.tell("mentioned", *found)


RULES = {
    "action": _action_plan,
    "cycle": _cycle_plan,
    "problem": _problem_plan,
    "meeting": _meeting_plan,
}


def apply(ctx: Ctx, e: Event, *, mail: bool) -> int:
    """Notify whoever event `e` concerns (its own actor only of what is news to them);
    returns lines added."""
    rule = RULES.get(e.entity_type)
    plan = rule(ctx, e) if rule else None
    if plan is None:
        return 0
    added = 0
    for kind, users in plan.inbox.items():
        if kind not in plan.news_to_actor:
            users.discard(e.actor_id)  # type: ignore[arg-type]  # you know what you just did
    everyone = sorted({u for users in plan.inbox.values() for u in users})
    prefs = preferences_for(ctx.session, everyone)
    for kind, users in plan.inbox.items():
        for user_id in sorted(users):
            made = notify(
                ctx,
                user_id,
                kind,
                plan.entity_type,
                plan.entity_id,
                plan.params,
                f"event:{e.id}:{kind}",
                prefs=prefs[user_id],
                mail=mail,
                at=e.at,
            )
            added += made is not None
    if plan.hook:
        webhooks.queue(
            ctx,
            plan.hook,
            f"event:{e.id}",
            {
                "event_id": e.id,
                "entity": {"type": plan.entity_type, "id": plan.entity_id, **plan.params},
                "actor_id": e.actor_id,
            },
        )
    return added


def _events_after(ctx: Ctx, position: int) -> Iterable[Event]:
    return ctx.session.exec(
        select(Event).where(col(Event.id) > position).order_by(col(Event.id)).limit(BATCH)
    )


def run(ctx: Ctx, *, mail: bool) -> int:
    """Turn the events new since the cursor into notifications, a batch per transaction."""
    total = 0
    while True:
        with unit_of_work(ctx):
            # A database migrated from before notifications starts at its last event
            # (migration 0011): its history is not news. A new one starts at 0.
            insert_once(ctx.session, JobCursor, {"name": CURSOR, "position": 0})
            cursor = ctx.session.get(JobCursor, CURSOR, with_for_update=True)
            assert cursor is not None
            events = list(_events_after(ctx, cursor.position))
            for e in events:
                total += apply(ctx, e, mail=mail)
            if events:
                cursor.position = int(events[-1].id)  # type: ignore[arg-type]
                ctx.session.add(cursor)
        if len(events) < BATCH:
            return total
