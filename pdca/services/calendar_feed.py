"""A private calendar feed per person: their deadlines, cycle milestones and meetings.

The feed's address carries a secret token instead of a session (calendar
applications cannot sign in). Only its SHA-256 is stored, like API tokens; the
person makes one in their profile, sees it once, and can revoke it, after which the
address answers 404. Events keep stable UIDs (an action's deadline is always
`pdca-action-<id>@pdca`), so a refresh updates them instead of adding copies;
deadlines are all-day DATE values, times are UTC. A meeting (`pdca-meeting-<id>@pdca`)
is an event at its time for everyone invited, as long as its series says it lasts (an
hour for a one-off), from three months back on.
"""

import hashlib
import secrets
from datetime import date, datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import or_
from sqlmodel import Session, col, exists, select

from pdca import i18n
from pdca.models import (
    Action,
    Cycle,
    CycleMember,
    Meeting,
    MeetingAttendee,
    MeetingSeries,
    NotificationPreference,
    User,
)
from pdca.services import audit
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Forbidden, NotFound
from pdca.services.keys import key

PREFIX = "pdcacal_"
SHOWN = ("open", "in_progress", "done")
# Meetings older than this leave the feed (a calendar keeps what it already has).
MEETINGS_SINCE = timedelta(days=90)
ONE_OFF_MINUTES = 60


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _me(ctx: Ctx) -> User:
    if ctx.actor is None or ctx.actor.id is None:
        raise Forbidden("Sign in to manage your calendar feed.")
    return ctx.actor


def create_token(ctx: Ctx) -> str:
    """A new feed address for the signed-in person (the old one stops working)."""
    user = _me(ctx)
    token = PREFIX + secrets.token_urlsafe(24)
    with unit_of_work(ctx):
        row = ctx.session.get(NotificationPreference, user.id, with_for_update=True)
        if row is None:
            row = NotificationPreference(user_id=user.id)  # type: ignore[arg-type]
        row.calendar_token_hash = _hash(token)
        row.calendar_token_prefix = token[: len(PREFIX) + 4]
        ctx.session.add(row)
        audit.record(ctx, "user", user.id, "calendar_feed_created")  # type: ignore[arg-type]
    return token


def revoke_token(ctx: Ctx) -> None:
    user = _me(ctx)
    with unit_of_work(ctx):
        row = ctx.session.get(NotificationPreference, user.id, with_for_update=True)
        if row is None or row.calendar_token_hash is None:
            return
        row.calendar_token_hash = row.calendar_token_prefix = None
        ctx.session.add(row)
        audit.record(ctx, "user", user.id, "calendar_feed_revoked")  # type: ignore[arg-type]


def owner_of(session: Session, token: str) -> User:
    """The person a feed token belongs to; NotFound for any other string."""
    if not token.startswith(PREFIX) or len(token) > 100:
        raise NotFound("No such calendar.")
    row = session.exec(
        select(NotificationPreference).where(
            NotificationPreference.calendar_token_hash == _hash(token)
        )
    ).first()
    user = session.get(User, row.user_id) if row is not None else None
    if user is None or not user.active:
        raise NotFound("No such calendar.")
    return user


def _all_day(
    uid: str, day: date, summary: str, url: str, stamp: datetime, changed: datetime
) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("last-modified", changed)
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", summary)
    event.add("url", url)
    event.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy
    return event


def _meeting(meeting: Meeting, minutes: int, url: str, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", f"pdca-meeting-{meeting.id}@pdca")
    event.add("dtstamp", stamp)
    changed = [meeting.created_at, meeting.prepared_at, meeting.started_at, meeting.ended_at]
    event.add("last-modified", max(t for t in [*changed, meeting.signed_at] if t is not None))
    # Each change of the meeting makes a new version: calendars keep the newest.
    event.add("sequence", meeting.version)
    event.add("dtstart", meeting.starts_at)  # stored in UTC, written as UTC (…Z)
    event.add("dtend", meeting.starts_at + timedelta(minutes=minutes))
    event.add("summary", f"{meeting.title} (M-{meeting.id})")
    event.add("url", url)
    event.add("status", "CONFIRMED")
    return event


def _meetings(ctx: Ctx, user: User, base: str, stamp: datetime) -> list[Event]:
    """The meetings the person is invited to (or chairs), from three months back on."""
    rows = list(
        ctx.session.exec(
            select(Meeting)
            .join(MeetingAttendee, col(MeetingAttendee.meeting_id) == Meeting.id)
            .where(
                MeetingAttendee.user_id == user.id,
                col(Meeting.starts_at) >= stamp - MEETINGS_SINCE,
            )
            .order_by(col(Meeting.starts_at), col(Meeting.id))
        )
    )
    series_ids = {m.series_id for m in rows if m.series_id is not None}
    lasts = {
        s.id: s.duration_minutes
        for s in ctx.session.exec(
            select(MeetingSeries).where(col(MeetingSeries.id).in_(series_ids))
        )
    }
    return [
        _meeting(m, lasts.get(m.series_id, ONE_OFF_MINUTES), f"{base}/meetings/{m.id}", stamp)
        for m in rows
    ]


def feed(ctx: Ctx, token: str, base_url: str) -> bytes:
    """The iCalendar text of the token owner's deadlines and milestones."""
    user = owner_of(ctx.session, token)
    lang = user.locale if user.locale in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    _ = i18n.translations(lang).gettext
    base = base_url.rstrip("/")
    stamp = ctx.now()
    calendar = Calendar()
    calendar.add("prodid", "-//pdca//notifications//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", _("pdca: %(name)s") % {"name": user.name})
    actions = ctx.session.exec(
        select(Action)
        .where(
            Action.owner_id == user.id,
            col(Action.status).in_(SHOWN),
            col(Action.deadline).is_not(None),
        )
        .order_by(col(Action.deadline), col(Action.id))
    )
    for a in actions:
        label = key("action", a.id)
        calendar.add_component(
            _all_day(
                f"pdca-action-{a.id}@pdca",
                a.deadline,  # type: ignore[arg-type]
                _("%(key)s due: %(title)s") % {"key": label, "title": a.title},
                f"{base}/actions/{a.id}",
                stamp,
                a.status_changed_at,
            )
        )
    member = exists().where(CycleMember.cycle_id == Cycle.id, CycleMember.user_id == user.id)
    cycles = ctx.session.exec(
        select(Cycle).where(col(Cycle.closed_at).is_(None), or_(Cycle.lead_id == user.id, member))
    )
    for c in cycles:
        # A cycle's milestone: the last deadline of its open actions (its Do ends then).
        last = ctx.session.exec(
            select(Action.deadline)
            .where(
                Action.cycle_id == c.id,
                col(Action.status).in_(SHOWN),
                col(Action.deadline).is_not(None),
            )
            .order_by(col(Action.deadline).desc())
            .limit(1)
        ).first()
        if last is None:
            continue
        label = key("cycle", c.id)
        calendar.add_component(
            _all_day(
                f"pdca-cycle-{c.id}-actions-due@pdca",
                last,
                _("%(key)s: its last action is due (%(title)s)") % {"key": label, "title": c.title},
                f"{base}/cycles/{c.id}",
                stamp,
                c.state_entered_at,
            )
        )
    for event in _meetings(ctx, user, base, stamp):
        calendar.add_component(event)
    return calendar.to_ical()
