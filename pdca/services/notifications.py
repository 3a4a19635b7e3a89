"""The inbox and each person's notification preferences.

A notification is a message key (`kind`) plus parameters, rendered in the reader's
language when shown or mailed (habit 14). `notify` is the one function that
creates them; it is idempotent through a per-user `dedupe` key backed by a unique
constraint, so a job that runs twice (or in two processes at once) adds nothing the
second time. Who is notified of what is decided in pdca.services.notify_rules (events
of the audit trail), pdca.services.reminders (due soon) and pdca.services.escalation
(overdue): the trail is the source of truth, these modules read it.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from sqlalchemy import and_, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from pdca import i18n
from pdca.engine.facts import N_, Reason, because
from pdca.models import Notification, NotificationPreference, User
from pdca.services import audit
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Forbidden, Invalid, NotFound
from pdca.services.store import check_version

# Every kind a person can hear of, with the sentence that says it (and its title in the
# preferences). "meeting" is fed by the meetings' events (pdca.services.notify_rules).
MESSAGES: dict[str, str] = {
    "assigned": N_("%(key)s “%(title)s” is yours now."),
    "due_soon": N_("%(key)s “%(title)s” is due on %(deadline)s."),
    "overdue": N_("%(key)s “%(title)s” is overdue: it was due on %(deadline)s."),
    "escalated": N_(
        "%(key)s “%(title)s” (owner: %(owner)s) is still not done %(days)s days after its "
        "deadline, %(deadline)s: escalated to you."
    ),
    "to_verify": N_("%(key)s “%(title)s” is done and waits for verification."),
    "verified": N_("%(key)s “%(title)s” was verified effective."),
    "reopened": N_("%(key)s “%(title)s” was reopened."),
    "cycle_refused": N_("%(key)s “%(title)s”, which you lead, was judged not effective."),
    "cycle_escalated": N_(
        "%(key)s “%(title)s” is escalated: three turns of the cycle were not effective."
    ),
    "cycle_closed": N_("%(key)s “%(title)s”, which you lead, is closed."),
    "problem_raised": N_("Monitoring raised %(key)s in your department: %(title)s"),
    "meeting": N_("%(title)s: a meeting you attend, on %(date)s."),
    "mentioned": N_("%(author)s mentioned you on %(key)s: “%(excerpt)s”"),
}
# Kinds whose sentence depends on what happened (`event` in the parameters), while the
# kind stays one choice in the preferences: "a meeting you attend".
VARIANTS: dict[tuple[str, str], str] = {
    ("meeting", "planned"): N_("You are invited to %(title)s (%(key)s) on %(starts_at)s."),
    ("meeting", "prepared"): N_(
        "The agenda of %(title)s (%(key)s) on %(starts_at)s is ready: add your points."
    ),
    ("meeting", "started"): N_("%(title)s (%(key)s) has started."),
    ("meeting", "signed"): N_("The minutes of %(title)s (%(key)s) of %(starts_at)s are signed."),
    # A cycle that ended in its `cancelled` state (every shipped workflow has one).
    ("cycle_closed", "cancelled"): N_("%(key)s “%(title)s”, which you lead, was cancelled."),
}
KIND_TITLES: dict[str, str] = {
    "assigned": N_("An action is assigned to you"),
    "due_soon": N_("Your action is due soon"),
    "overdue": N_("Your action is overdue"),
    "escalated": N_("An overdue action is escalated to you"),
    "to_verify": N_("An action waits for your verification"),
    "verified": N_("Your action is verified"),
    "reopened": N_("Your action is reopened"),
    "cycle_refused": N_("A cycle you lead is judged not effective"),
    "cycle_escalated": N_("A cycle you lead is escalated"),
    "cycle_closed": N_("A cycle you lead is closed"),
    "problem_raised": N_("Monitoring raises a problem in your department"),
    "meeting": N_("A meeting you attend"),
    "mentioned": N_("Someone mentions you in a comment"),
}
KINDS = tuple(MESSAGES)
PAGES = {
    "action": "/actions/{}",
    "cycle": "/cycles/{}",
    "problem": "/problems/{}",
    "meeting": "/meetings/{}",
    "inspection": "/inspections/{}",
}
INBOX_PAGE = 50
_DATE_PARAMS = ("deadline", "date")
# Moments (ISO 8601, UTC), shown in the reader's time zone with its name.
_MOMENT_PARAMS = ("starts_at",)
UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class Preferences:
    """A person's choices (the defaults when they never saved any)."""

    kinds_off: frozenset[str]
    urgent_kinds: frozenset[str]
    email_digest: bool
    digest_hour: int
    time_zone: str
    due_soon_days: int
    muted: bool
    version: int
    calendar_prefix: str | None

    def wants(self, kind: str) -> bool:
        return kind not in self.kinds_off

    def mails_at_once(self, kind: str) -> bool:
        return not self.muted and kind in self.urgent_kinds and kind not in self.kinds_off


DEFAULTS = NotificationPreference(user_id=0)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def preferences_from(row: NotificationPreference | None) -> Preferences:
    row = row or DEFAULTS
    return Preferences(
        kinds_off=_words(row.kinds_off),
        urgent_kinds=_words(row.urgent_kinds),
        email_digest=row.email_digest,
        digest_hour=row.digest_hour,
        time_zone=row.time_zone,
        due_soon_days=row.due_soon_days,
        muted=row.muted,
        version=row.version if row is not DEFAULTS else 0,
        calendar_prefix=row.calendar_token_prefix,
    )


def zone_of(prefs: Preferences) -> ZoneInfo:
    try:
        return ZoneInfo(prefs.time_zone)
    except (KeyError, ValueError, OSError):
        return ZoneInfo("UTC")


def preferences_of(session: Session, user_id: int) -> Preferences:
    return preferences_from(session.get(NotificationPreference, user_id))


def preferences_for(session: Session, user_ids: list[int]) -> dict[int, Preferences]:
    """Everyone's preferences in one query (those without a row get the defaults)."""
    rows = session.exec(
        select(NotificationPreference).where(col(NotificationPreference.user_id).in_(user_ids))
    )
    found = {r.user_id: preferences_from(r) for r in rows}
    return {uid: found.get(uid) or preferences_from(None) for uid in user_ids}


# --- creating: idempotent inserts --------------------------------------------------------


def insert_once(session: Session, model: type[SQLModel], values: dict[str, Any]) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING: the new row's key, or None if its unique key was
    there already (one statement on both databases: no check-then-insert race)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = model.__table__  # type: ignore[attr-defined]
    primary_key = next(iter(table.primary_key.columns))
    statement = insert(table).values(**values).on_conflict_do_nothing().returning(primary_key)
    return session.execute(statement).scalar()


def notify(
    ctx: Ctx,
    user_id: int,
    kind: str,
    entity_type: str,
    entity_id: int,
    params: dict[str, Any],
    dedupe: str,
    *,
    prefs: Preferences | None = None,
    mail: bool = False,
    at: datetime | None = None,
) -> int | None:
    """Put one line in `user_id`'s inbox unless they turned the kind off or already have
    it; with `mail` (SMTP is configured) an urgent kind is also queued as a mail now.
    Runs inside the caller's transaction. Returns the new notification's id."""
    assert kind in MESSAGES, kind
    prefs = prefs or preferences_of(ctx.session, user_id)
    if not prefs.wants(kind):
        return None
    new_id = insert_once(
        ctx.session,
        Notification,
        {
            "user_id": user_id,
            "kind": kind,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "params": params,
            "dedupe": dedupe[:120],
            "created_at": at or ctx.now(),
        },
    )
    if new_id is not None and mail and prefs.mails_at_once(kind):
        # Imported here: mail_messages renders these notifications (an import cycle).
        from pdca.services import mail_messages

        mail_messages.queue_urgent(ctx, user_id, new_id)
    return new_id


# --- reading and rendering ---------------------------------------------------------------


def _param(value: Any, name: str, lang: str, zone: ZoneInfo) -> Any:
    if isinstance(value, dict) and "en" in value:  # a bilingual title: the reader's words
        return value.get(lang) or value["en"]
    if name in _DATE_PARAMS and isinstance(value, str):
        try:
            return i18n.format_date(date.fromisoformat(value), lang)
        except ValueError:
            return value
    if name in _MOMENT_PARAMS and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone)
        return f"{i18n.format_date(local.date(), lang)} {local:%H:%M} ({zone.key})"
    return value


def text_of(kind: str, params: dict[str, Any], lang: str, zone: ZoneInfo | None = None) -> str:
    """The sentence in `lang`, its moments in `zone` (UTC when not given); a parameter
    that went missing never breaks the inbox."""
    message = VARIANTS.get((kind, str(params.get("event")))) or MESSAGES.get(kind, "%(key)s")
    template = i18n.translations(lang).gettext(message)
    values = {k: _param(v, k, lang, zone or UTC_ZONE) for k, v in params.items()}
    try:
        return template % values
    except (KeyError, TypeError, ValueError):
        return str(params.get("key") or kind)


def link_of(entity_type: str, entity_id: int) -> str:
    return PAGES.get(entity_type, "/notifications").format(entity_id)


@dataclass(frozen=True)
class InboxLine:
    id: int
    kind: str
    text: str
    link: str
    created_at: datetime
    read: bool


def line(n: Notification, lang: str, zone: ZoneInfo | None = None) -> InboxLine:
    assert n.id is not None
    return InboxLine(
        n.id,
        n.kind,
        text_of(n.kind, n.params, lang, zone),
        link_of(n.entity_type, n.entity_id),
        n.created_at,
        n.read_at is not None,
    )


def inbox(
    ctx: Ctx, lang: str, *, unread_only: bool = False, before: int | None = None
) -> list[InboxLine]:
    """The signed-in person's notifications, newest first (by when it happened), a page at
    a time: `before` is the last one of the previous page."""
    user = _me(ctx)
    query = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    if before is not None:
        last = ctx.session.get(Notification, before)
        if last is not None and last.user_id == user.id:
            query = query.where(
                or_(
                    col(Notification.created_at) < last.created_at,
                    and_(
                        col(Notification.created_at) == last.created_at,
                        col(Notification.id) < before,
                    ),
                )
            )
    order = (col(Notification.created_at).desc(), col(Notification.id).desc())
    rows = list(ctx.session.exec(query.order_by(*order).limit(INBOX_PAGE)))
    # Moments in the reader's zone, as the inbox shows its times.
    zone = zone_of(preferences_of(ctx.session, user.id))  # type: ignore[arg-type]
    return [line(n, lang, zone) for n in rows]


def newest_id(session: Session, user_id: int) -> int | None:
    """The person's latest notification: "mark all read" reaches up to it."""
    return session.exec(
        select(func.max(Notification.id)).where(Notification.user_id == user_id)
    ).one()


def unread_count(session: Session, user_id: int) -> int:
    """For the navigation bar: one indexed count."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, col(Notification.read_at).is_(None))
        ).one()
    )


def _me(ctx: Ctx) -> User:
    if ctx.actor is None or ctx.actor.id is None:
        raise Forbidden(N_("Sign in to see your notifications."))
    return ctx.actor


def mark_read(ctx: Ctx, notification_id: int) -> Notification:
    """Mark one of your notifications read (reading twice is harmless)."""
    user = _me(ctx)
    with unit_of_work(ctx):
        row = ctx.session.get(Notification, notification_id)
        if row is None or row.user_id != user.id:
            # Someone else's notification is as good as absent: never say it exists.
            raise NotFound(f"Notification {notification_id} does not exist.")
        if row.read_at is None:
            row.read_at = ctx.now()
            ctx.session.add(row)
    return row


def mark_all_read(ctx: Ctx, up_to: int | None = None) -> int:
    """Mark every unread notification read, or those up to id `up_to` (what the page
    showed: one that arrived after the page was drawn stays unread)."""
    user = _me(ctx)
    with unit_of_work(ctx):
        query = update(Notification).where(
            col(Notification.user_id) == user.id, col(Notification.read_at).is_(None)
        )
        if up_to is not None:
            query = query.where(col(Notification.id) <= up_to)
        count = ctx.session.execute(query.values(read_at=ctx.now())).rowcount
    return int(count or 0)


# --- preferences -------------------------------------------------------------------------


def time_zones() -> list[str]:
    return [
        *sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/")),
        "UTC",
    ]


def _check_calendar_feed(sent: bool | None, row: NotificationPreference | None) -> None:
    """A read-only field sent back as read is fine; another value would be a silent no-op."""
    if sent is None or sent == (row is not None and row.calendar_token_prefix is not None):
        return
    raise Invalid(
        N_("The preferences were not saved."),
        [
            Reason(
                "calendar_feed_read_only",
                N_(
                    "The calendar feed is turned on and off on your profile page, not with "
                    "the preferences: send the value you read, or leave it out."
                ),
            )
        ],
    )


def save_preferences(
    ctx: Ctx,
    *,
    version: int | None,
    kinds_on: list[str],
    urgent_kinds: list[str],
    email_digest: bool,
    digest_hour: int | None,
    time_zone: str,
    due_soon_days: int | None,
    muted: bool,
    calendar_feed: bool | None = None,
) -> Preferences:
    """Save the signed-in person's choices; every wrong field is named, nothing is guessed.

    `calendar_feed` is what the person read (whether their feed is on): it cannot be
    changed here, so it is only checked against the stored state (None: not sent)."""
    user = _me(ctx)
    reasons = []
    unknown = sorted((set(kinds_on) | set(urgent_kinds)) - set(KINDS))
    if unknown:
        reasons.append(
            because("kinds_unknown", "Unknown kinds: %(kinds)s.", kinds=", ".join(unknown))
        )
    if digest_hour is None or not 0 <= digest_hour <= 23:
        reasons.append(Reason("digest_hour_invalid", N_("Choose the digest's hour, 0 to 23.")))
    if due_soon_days is None or not 0 <= due_soon_days <= 30:
        reasons.append(Reason("due_soon_days_invalid", N_("Say how many days ahead, 0 to 30.")))
    try:
        ZoneInfo(time_zone)
        if not time_zone or time_zone != time_zone.strip():
            raise ValueError(time_zone)
    except (ValueError, KeyError, OSError):
        reasons.append(Reason("time_zone_invalid", N_("Choose a time zone from the list.")))
    if reasons:
        raise Invalid(N_("The preferences were not saved."), reasons)
    values = {
        "kinds_off": " ".join(k for k in KINDS if k not in kinds_on),
        "urgent_kinds": " ".join(k for k in KINDS if k in urgent_kinds),
        "email_digest": email_digest,
        "digest_hour": digest_hour,
        "time_zone": time_zone,
        "due_soon_days": due_soon_days,
        "muted": muted,
    }
    with unit_of_work(ctx):
        row = ctx.session.get(NotificationPreference, user.id, with_for_update=True)
        if row is None:
            # Never saved: the form read "version 0" (the defaults).
            check_version(NotificationPreference(user_id=0, version=0), version, "Your preferences")
            _check_calendar_feed(calendar_feed, None)
            row = NotificationPreference(user_id=user.id, **values)  # type: ignore[arg-type]
            ctx.session.add(row)
        else:
            check_version(row, version, "Your preferences")
            _check_calendar_feed(calendar_feed, row)
            for name, value in values.items():
                setattr(row, name, value)
            row.version += 1
            ctx.session.add(row)
        ctx.session.flush()
        audit.record(ctx, "user", user.id, "notification_preferences_saved", data=values)  # type: ignore[arg-type]
    return preferences_from(row)
