"""Review meetings: series that make meetings, a meeting's life (planned → in progress →
ended → signed), its attendance and its free agenda items.

The agenda is built in pdca.services.meetings_agenda, decisions are taken in
pdca.services.meetings_decisions and the minutes are written in
pdca.services.meetings_minutes; this module owns the meeting rows themselves.
"""

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import col, select

from pdca.engine.facts import N_, Reason, because
from pdca.models import (
    Attendance,
    Department,
    Meeting,
    MeetingAttendee,
    MeetingItem,
    MeetingSeries,
    MeetingStatus,
    Role,
    User,
)
from pdca.services import audit
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Conflict, Invalid
from pdca.services.policy import (
    can_add_agenda_item,
    can_edit_series,
    can_plan_meetings,
    can_run_meeting,
    require,
)
from pdca.services.store import check_version, compare_and_set, get_or_404

_HH_MM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
MAX_TEXT = 2000
# What a series is made of; the fields a page or the API may change.
SERIES_FIELDS = (
    "title",
    "weekday",
    "local_time",
    "time_zone",
    "interval_weeks",
    "duration_minutes",
    "chair_id",
    "department_ids",
    "attendee_ids",
    "quorum",
    "active",  # false: the series is stopped, no meeting of it can be planned
)


def meeting_label(meeting_id: int | None) -> str:
    return f"M-{meeting_id}"


def series_label(series_id: int | None) -> str:
    return f"Meeting series {series_id}"


def _zone_reason(name: str) -> Reason:
    return because(
        "time_zone",
        N_("Unknown time zone %(zone)s; use an IANA name such as Asia/Shanghai or UTC."),
        zone=name,
    )


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(_zone_reason(name)) from None


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


# --- series -------------------------------------------------------------------


def _people_reasons(ctx: Ctx, chair_id: int, attendee_ids: list[int]) -> list[Reason]:
    """Why these people cannot sit in (or chair) a meeting; each reason names its field."""
    reasons = []
    for user_id in dict.fromkeys([chair_id, *attendee_ids]):
        user = get_or_404(ctx, User, user_id, "User")
        if not user.active:
            field = "chair_id" if user_id == chair_id else "attendee_ids"
            reasons.append(
                because(
                    field,
                    N_("%(name)s is deactivated and cannot sit in a meeting."),
                    name=user.name,
                )
            )
    chair = get_or_404(ctx, User, chair_id, "User")
    if chair.role in (Role.viewer, Role.member):
        reasons.append(
            because(
                "chair_id",
                N_("%(name)s cannot chair: a chair is a head, a facilitator or an admin."),
                name=chair.name,
            )
        )
    return reasons


def _check_departments(ctx: Ctx, department_ids: list[int]) -> None:
    for department_id in department_ids:
        get_or_404(ctx, Department, department_id, "Department")


def _series_reasons(values: dict[str, Any]) -> list[Reason]:
    """What is wrong with a series' values, each reason coded with its field's name."""
    reasons = []
    if not str(values.get("title") or "").strip():
        reasons.append(because("title", N_("Give the series a title.")))
    if len(str(values.get("title") or "")) > 200:
        reasons.append(because("title", N_("A title has at most 200 characters.")))
    if not 0 <= int(values.get("weekday", -1)) <= 6:
        reasons.append(because("weekday", N_("The weekday is Monday to Sunday (0 to 6).")))
    if not _HH_MM.match(str(values.get("local_time") or "")):
        reasons.append(because("local_time", N_("The time is HH:MM, e.g. 10:00.")))
    if not _is_zone(str(values.get("time_zone") or "")):
        reasons.append(_zone_reason(str(values.get("time_zone") or "")))
    if not 1 <= int(values.get("interval_weeks", 1)) <= 8:
        reasons.append(because("interval_weeks", N_("A series meets every 1 to 8 weeks.")))
    if not 5 <= int(values.get("duration_minutes", 60)) <= 600:
        reasons.append(because("duration_minutes", N_("A meeting lasts 5 to 600 minutes.")))
    if not 1 <= int(values.get("quorum", 1)) <= 100:
        reasons.append(because("quorum", N_("The quorum is 1 to 100 people present.")))
    return reasons


def create_series(
    ctx: Ctx,
    *,
    title: str,
    weekday: int,
    local_time: str,
    chair_id: int,
    time_zone: str = "UTC",
    interval_weeks: int = 1,
    duration_minutes: int = 60,
    department_ids: list[int] | None = None,
    attendee_ids: list[int] | None = None,
    quorum: int = 1,
) -> MeetingSeries:
    require(can_plan_meetings(ctx.actor))
    values = {
        "title": title.strip(),
        "weekday": weekday,
        "local_time": local_time,
        "time_zone": time_zone,
        "interval_weeks": interval_weeks,
        "duration_minutes": duration_minutes,
        "chair_id": chair_id,
        "department_ids": list(dict.fromkeys(department_ids or [])),
        "attendee_ids": list(dict.fromkeys(attendee_ids or [])),
        "quorum": quorum,
    }
    reasons = _series_reasons(values)
    if reasons:
        raise Invalid(N_("The meeting series cannot be saved."), reasons)
    with unit_of_work(ctx):
        reasons = _people_reasons(ctx, chair_id, values["attendee_ids"])
        if reasons:
            raise Invalid(N_("The meeting series cannot be saved."), reasons)
        _check_departments(ctx, values["department_ids"])
        series = MeetingSeries(**values, created_at=ctx.now())
        ctx.session.add(series)
        ctx.session.flush()
        assert series.id is not None
        audit.record(ctx, "meeting_series", series.id, "created", data=values)
    return series


def update_series(
    ctx: Ctx, series_id: int, *, version: int | None, changes: dict[str, Any]
) -> MeetingSeries:
    """Change a series: its chair, facilitators and administrators may. Meetings already
    planned keep their time and people; the series' next meetings follow the change."""
    unknown = sorted(set(changes) - set(SERIES_FIELDS))
    if unknown:
        raise Invalid(f"Unknown meeting series fields: {', '.join(unknown)}.")
    emptied = sorted(k for k, v in changes.items() if v is None and not k.endswith("_ids"))
    if emptied:
        raise Invalid(
            N_("The meeting series cannot be saved."),
            [because(k, N_("%(field)s cannot be empty."), field=k) for k in emptied],
        )
    with unit_of_work(ctx):
        series = get_or_404(ctx, MeetingSeries, series_id, "Meeting series", lock=True)
        require(can_edit_series(ctx.actor, series.chair_id))
        check_version(series, version, series_label(series_id))
        changes = dict(changes)
        if "title" in changes:
            changes["title"] = str(changes["title"] or "").strip()
        for many in ("department_ids", "attendee_ids"):
            if many in changes:
                changes[many] = list(dict.fromkeys(changes[many] or []))
        merged = {**{k: getattr(series, k) for k in SERIES_FIELDS}, **changes}
        reasons = _series_reasons(merged)
        if not reasons:
            reasons = _people_reasons(ctx, merged["chair_id"], merged["attendee_ids"])
        if reasons:
            raise Invalid(N_("The meeting series cannot be saved."), reasons)
        _check_departments(ctx, merged["department_ids"])
        before = {k: getattr(series, k) for k in changes}
        changed = {k: v for k, v in changes.items() if before[k] != v}
        if changed:
            compare_and_set(ctx, series, series_label(series_id), changed)
            audit.record_changes(ctx, "meeting_series", series_id, before, changed)
    return series


def get_series(ctx: Ctx, series_id: int) -> MeetingSeries:
    return get_or_404(ctx, MeetingSeries, series_id, "Meeting series")


def list_series(ctx: Ctx) -> list[MeetingSeries]:
    return list(ctx.session.exec(select(MeetingSeries).order_by(col(MeetingSeries.id))))


def occurrence_after(series: MeetingSeries, after: datetime) -> datetime:
    """The series' first meeting time strictly after `after`, in UTC.

    Computed on the local calendar of the series' zone, so 10:00 stays 10:00 across
    daylight-saving changes."""
    tz = zone(series.time_zone)
    hour, minute = (int(part) for part in series.local_time.split(":"))
    local_day = after.astimezone(tz).date()
    day = local_day + timedelta(days=(series.weekday - local_day.weekday()) % 7)
    while True:
        candidate = datetime.combine(day, time(hour, minute), tzinfo=tz)
        if candidate > after:
            return candidate.astimezone(after.tzinfo)
        day += timedelta(days=7 * series.interval_weeks)


def schedule_next(ctx: Ctx, series_id: int) -> Meeting:
    """The series' next meeting, after its last one (or after now): planned, agenda to build."""
    with unit_of_work(ctx):
        series = get_or_404(ctx, MeetingSeries, series_id, "Meeting series", lock=True)
        require(can_run_meeting(ctx.actor, series.chair_id))
        if not series.active:
            raise Conflict(
                because(
                    "active",
                    N_("The series %(series)s is stopped: resume it to plan its next meeting."),
                    series=series_label(series_id),
                )
            )
        last = ctx.session.exec(
            select(Meeting.starts_at)
            .where(Meeting.series_id == series_id)
            .order_by(col(Meeting.starts_at).desc())
            .limit(1)
        ).first()
        after = max(last, ctx.now()) if last is not None else ctx.now()
        meeting = _new_meeting(
            ctx,
            title=series.title,
            starts_at=occurrence_after(series, after),
            time_zone=series.time_zone,
            chair_id=series.chair_id,
            department_ids=list(series.department_ids),
            attendee_ids=list(series.attendee_ids),
            quorum=series.quorum,
            series_id=series_id,
        )
    return meeting


# --- meetings -----------------------------------------------------------------


def _new_meeting(ctx: Ctx, **values: Any) -> Meeting:
    attendee_ids: list[int] = values.pop("attendee_ids")
    meeting = Meeting(**values, created_by_id=ctx.actor_id, created_at=ctx.now())
    ctx.session.add(meeting)
    ctx.session.flush()
    assert meeting.id is not None
    for user_id in dict.fromkeys([meeting.chair_id, *attendee_ids]):
        ctx.session.add(
            MeetingAttendee(meeting_id=meeting.id, user_id=user_id, status=Attendance.absent)
        )
    audit.record(
        ctx,
        "meeting",
        meeting.id,
        "planned",
        field="status",
        new=MeetingStatus.planned,
        data={
            "title": meeting.title,
            "starts_at": meeting.starts_at.isoformat(),
            "series_id": meeting.series_id,
            "chair_id": meeting.chair_id,
        },
    )
    return meeting


def create_meeting(
    ctx: Ctx,
    *,
    title: str,
    starts_at: datetime,
    chair_id: int,
    time_zone: str = "UTC",
    department_ids: list[int] | None = None,
    attendee_ids: list[int] | None = None,
    quorum: int = 1,
) -> Meeting:
    """A one-off meeting, outside any series."""
    require(can_plan_meetings(ctx.actor))
    reasons = []
    if not title.strip():
        reasons.append(because("title", N_("Give the meeting a title.")))
    if starts_at.tzinfo is None:
        raise Invalid("starts_at needs a time zone offset (e.g. 2026-12-01T10:00:00+08:00).")
    try:
        starts_at = starts_at.astimezone(UTC)
    except OverflowError:
        starts_at = datetime(1, 1, 1, tzinfo=UTC)  # out of range: refused below
    if not 2000 <= starts_at.year <= 2200:
        reasons.append(
            because("starts_at", N_("A meeting is held between the years 2000 and 2200."))
        )
    if not 1 <= quorum <= 100:
        reasons.append(because("quorum", N_("The quorum is 1 to 100 people present.")))
    if not _is_zone(time_zone):
        reasons.append(_zone_reason(time_zone))
    if reasons:
        raise Invalid(N_("The meeting cannot be saved."), reasons)
    with unit_of_work(ctx):
        attendees = list(dict.fromkeys(attendee_ids or []))
        departments = list(dict.fromkeys(department_ids or []))
        reasons = _people_reasons(ctx, chair_id, attendees)
        if reasons:
            raise Invalid(N_("The meeting cannot be saved."), reasons)
        _check_departments(ctx, departments)
        meeting = _new_meeting(
            ctx,
            title=title.strip(),
            starts_at=starts_at,
            time_zone=time_zone,
            chair_id=chair_id,
            department_ids=departments,
            attendee_ids=attendees,
            quorum=quorum,
        )
    return meeting


def get_meeting(ctx: Ctx, meeting_id: int, *, lock: bool = False) -> Meeting:
    return get_or_404(ctx, Meeting, meeting_id, "Meeting", lock=lock)


def list_meetings(
    ctx: Ctx, *, series_id: int | None = None, status: str | None = None
) -> list[Meeting]:
    query = select(Meeting)
    if series_id is not None:
        query = query.where(Meeting.series_id == series_id)
    if status is not None:
        query = query.where(Meeting.status == status)
    return list(ctx.session.exec(query.order_by(col(Meeting.starts_at).desc())))


def refuse_if_signed(meeting: Meeting) -> None:
    if meeting.status == MeetingStatus.signed:
        raise Conflict(
            f"The minutes of {meeting_label(meeting.id)} are signed; the meeting can no "
            "longer change."
        )


def editing(ctx: Ctx, meeting_id: int, version: int | None) -> Meeting:
    """The meeting, locked, for a change by whoever runs it, at the version they read."""
    meeting = get_meeting(ctx, meeting_id, lock=True)
    require(can_run_meeting(ctx.actor, meeting.chair_id))
    check_version(meeting, version, meeting_label(meeting_id))
    refuse_if_signed(meeting)
    return meeting


def move(ctx: Ctx, meeting: Meeting, dest: str, values: dict[str, Any]) -> None:
    old = meeting.status
    compare_and_set(ctx, meeting, meeting_label(meeting.id), {"status": dest, **values})
    audit.record(ctx, "meeting", meeting.id, dest, field="status", old=old, new=dest)  # type: ignore[arg-type]


def previous_meeting(ctx: Ctx, meeting: Meeting) -> Meeting | None:
    """The series' last meeting before this one that was held (ended or signed)."""
    if meeting.series_id is None:
        return None
    return ctx.session.exec(
        select(Meeting)
        .where(
            Meeting.series_id == meeting.series_id,
            col(Meeting.starts_at) < meeting.starts_at,
            col(Meeting.status).in_([MeetingStatus.ended, MeetingStatus.signed]),
        )
        .order_by(col(Meeting.starts_at).desc())
        .limit(1)
    ).first()


def next_meeting_day(ctx: Ctx, meeting: Meeting) -> date:
    """When the meeting after this one will be: its series' next time, else a week on."""
    if meeting.series_id is not None:
        series = get_series(ctx, meeting.series_id)
        return occurrence_after(series, meeting.starts_at).date()
    return (meeting.starts_at + timedelta(days=7)).date()


# --- attendance and free items ---------------------------------------------------


def attendees_of(ctx: Ctx, meeting_id: int) -> list[tuple[MeetingAttendee, User]]:
    query = (
        select(MeetingAttendee, User)
        .join(User, col(User.id) == MeetingAttendee.user_id)
        .where(MeetingAttendee.meeting_id == meeting_id)
        .order_by(col(User.name))
    )
    return [(a, u) for a, u in ctx.session.exec(query)]


def set_attendance(
    ctx: Ctx, meeting_id: int, *, version: int | None, statuses: dict[int, str]
) -> Meeting:
    """Mark who is present, excused or absent; someone not invited may be added as present."""
    wrong = sorted({s for s in statuses.values() if s not in Attendance.__members__})
    if wrong:
        raise Invalid(
            N_("Attendance is present, excused or absent."),
            [f"{s!r} is not an attendance." for s in wrong],
        )
    with unit_of_work(ctx):
        meeting = editing(ctx, meeting_id, version)
        if meeting.status == MeetingStatus.ended:
            raise Conflict(
                f"{meeting_label(meeting_id)} has ended; its attendance is in the minutes."
            )
        changed: dict[str, str] = {}
        for user_id, status in statuses.items():
            get_or_404(ctx, User, user_id, "User")
            row = ctx.session.get(MeetingAttendee, (meeting_id, user_id))
            if row is None:
                ctx.session.add(
                    MeetingAttendee(meeting_id=meeting_id, user_id=user_id, status=status)
                )
            elif row.status == status:
                continue
            else:
                row.status = status
            changed[str(user_id)] = status
        if changed:
            compare_and_set(ctx, meeting, meeting_label(meeting_id), {})
            audit.record(ctx, "meeting", meeting_id, "attendance", data={"attendance": changed})
    return meeting


def quorum_of(ctx: Ctx, meeting: Meeting) -> tuple[int, bool]:
    """(people present, whether that meets the quorum)."""
    assert meeting.id is not None
    present = sum(1 for a, _ in attendees_of(ctx, meeting.id) if a.status == Attendance.present)
    return present, present >= meeting.quorum


def add_free_item(
    ctx: Ctx, meeting_id: int, *, text: str, department_id: int | None = None
) -> MeetingItem:
    """An attendee's own point for the agenda, added before (or during) the meeting."""
    require(can_add_agenda_item(ctx.actor))
    if not text.strip():
        raise Invalid(N_("Say what the item is about."))
    if len(text) > MAX_TEXT:
        raise Invalid(N_("An agenda item has at most 2,000 characters."))
    with unit_of_work(ctx):
        meeting = get_meeting(ctx, meeting_id, lock=True)
        refuse_if_signed(meeting)
        if meeting.status == MeetingStatus.ended:
            raise Conflict(f"{meeting_label(meeting_id)} has ended; add the item to the next one.")
        if department_id is not None:
            get_or_404(ctx, Department, department_id, "Department")
        item = MeetingItem(
            meeting_id=meeting_id,
            department_id=department_id,
            position=10_000,
            kind="free",
            text=text.strip(),
            added_by_id=ctx.actor_id,
            created_at=ctx.now(),
        )
        ctx.session.add(item)
        ctx.session.flush()
        audit.record(
            ctx, "meeting", meeting_id, "item_added", data={"item_id": item.id, "text": item.text}
        )
    return item
