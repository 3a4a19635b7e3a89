"""A meeting you attend: invited, the agenda ready, started, minutes signed; and in your
calendar, at its time in UTC, under a UID that never changes."""

from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlmodel import col, select

from pdca.models import Notification
from pdca.services import calendar_feed, meetings, notifications, notify_rules
from pdca.services import meetings_agenda as agenda
from pdca.services import meetings_minutes as minutes
from pdca.services.accounts import Signature
from tests.personas import PASSWORD

BASE = "https://pdca.example.com"


@pytest.fixture
def series(org, as_user):
    # Tuesdays 10:00 in Shanghai (02:00 UTC), 45 minutes; Fiona chairs, Hanna and Ivan sit in.
    return meetings.create_series(
        as_user(org.fiona),
        title="Weekly service-quality review",
        weekday=1,
        local_time="10:00",
        time_zone="Asia/Shanghai",
        duration_minutes=45,
        chair_id=org.fiona.id,
        department_ids=[org.cs, org.it],
        attendee_ids=[org.hanna.id, org.ivan.id],
        quorum=2,
    )


def meeting_news(session, user) -> list[str]:
    rows = session.exec(
        select(Notification)
        .where(Notification.user_id == user.id, Notification.kind == "meeting")
        .order_by(col(Notification.id))
        .execution_options(populate_existing=True)
    )
    return [n.params["event"] for n in rows]


def run_job(as_user) -> None:
    notify_rules.run(as_user(None), mail=False)


def test_attendees_hear_a_meeting_is_planned_prepared_started_and_signed_once_each(
    org, as_user, series, session
):
    fiona = as_user(org.fiona)
    meeting = meetings.schedule_next(fiona, series.id)
    run_job(as_user)
    assert meeting_news(session, org.hanna) == ["planned"]
    assert meeting_news(session, org.ivan) == ["planned"]
    # Fiona planned it herself; Frank is not invited.
    assert meeting_news(session, org.fiona) == []
    assert meeting_news(session, org.frank) == []

    meeting = agenda.prepare(as_user(org.frank), meeting.id, version=meeting.version)
    run_job(as_user)
    # The chair hears of what someone else did to her meeting.
    assert meeting_news(session, org.fiona) == ["prepared"]

    meeting = agenda.start(fiona, meeting.id, version=meeting.version)
    meeting = meetings.set_attendance(
        fiona,
        meeting.id,
        version=meeting.version,
        statuses={org.fiona.id: "present", org.hanna.id: "present", org.ivan.id: "present"},
    )
    meeting = minutes.end(fiona, meeting.id, version=meeting.version)
    minutes.sign(
        fiona,
        meeting.id,
        version=meeting.version,
        signature=Signature(minutes.SIGNATURE_MEANING, PASSWORD),
    )
    run_job(as_user)
    run_job(as_user)

    # Starting rebuilds the agenda, but that is the start, not news of its own.
    assert meeting_news(session, org.hanna) == ["planned", "prepared", "started", "signed"]
    assert meeting_news(session, org.ivan) == ["planned", "prepared", "started", "signed"]
    assert meeting_news(session, org.fiona) == ["prepared"]


def test_the_invitation_says_the_time_in_the_readers_zone_and_language(
    org, as_user, series, session
):
    hanna = as_user(org.hanna)
    notifications.save_preferences(
        hanna,
        version=0,
        kinds_on=list(notifications.KINDS),
        urgent_kinds=[],
        email_digest=True,
        digest_hour=8,
        time_zone="Asia/Shanghai",
        due_soon_days=3,
        muted=False,
    )
    meeting = meetings.schedule_next(as_user(org.fiona), series.id)
    run_job(as_user)

    [line] = notifications.inbox(hanna, "en")
    assert line.text == (
        f"You are invited to Weekly service-quality review (M-{meeting.id}) on "
        "Dec 1, 2026 10:00 (Asia/Shanghai)."
    )
    assert line.link == f"/meetings/{meeting.id}"
    [ivan_line] = notifications.inbox(as_user(org.ivan), "zh_CN")
    assert "2026年12月1日 02:00 (UTC)" in ivan_line.text
    assert "Weekly service-quality review" in ivan_line.text
    assert "You are invited" not in ivan_line.text


def test_a_person_who_turned_meetings_off_hears_nothing_of_them(org, as_user, series, session):
    notifications.save_preferences(
        as_user(org.hanna),
        version=0,
        kinds_on=[k for k in notifications.KINDS if k != "meeting"],
        urgent_kinds=[],
        email_digest=True,
        digest_hour=8,
        time_zone="UTC",
        due_soon_days=3,
        muted=False,
    )
    meetings.schedule_next(as_user(org.fiona), series.id)
    run_job(as_user)
    assert meeting_news(session, org.hanna) == []
    assert meeting_news(session, org.ivan) == ["planned"]


def test_my_meetings_are_in_my_calendar_in_utc_with_stable_uids(
    org, as_user, series, clock, session
):
    fiona = as_user(org.fiona)
    weekly = meetings.schedule_next(fiona, series.id)
    one_off = meetings.create_meeting(
        fiona,
        title="Refund backlog, IT and CS",
        starts_at=datetime(2026, 12, 3, 15, 30, tzinfo=UTC),
        chair_id=org.fiona.id,
        attendee_ids=[org.hanna.id],
    )
    token = calendar_feed.create_token(as_user(org.hanna))

    def events() -> dict[str, object]:
        text = calendar_feed.feed(as_user(None), token, BASE)
        return {str(e["uid"]): e for e in Calendar.from_ical(text).walk("VEVENT")}

    first = events()
    assert set(first) == {f"pdca-meeting-{weekly.id}@pdca", f"pdca-meeting-{one_off.id}@pdca"}
    review = first[f"pdca-meeting-{weekly.id}@pdca"]
    assert review.decoded("dtstart") == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    assert review.decoded("dtend") == datetime(2026, 12, 1, 2, 45, tzinfo=UTC)
    assert str(review["summary"]) == f"Weekly service-quality review (M-{weekly.id})"
    assert str(review["url"]) == f"{BASE}/meetings/{weekly.id}"
    text = calendar_feed.feed(as_user(None), token, BASE).decode()
    assert "DTSTART:20261201T020000Z" in text and "DTSTART:20261203T153000Z" in text
    # An hour for a meeting without a series.
    alone = first[f"pdca-meeting-{one_off.id}@pdca"]
    assert alone.decoded("dtend") - alone.decoded("dtstart") == timedelta(hours=1)

    # Refreshed later, the same events under the same UIDs; Ivan is not at the one-off.
    clock.advance(days=1)
    assert set(events()) == set(first)
    ivan = calendar_feed.create_token(as_user(org.ivan))
    ivan_feed = Calendar.from_ical(calendar_feed.feed(as_user(None), ivan, BASE))
    assert [str(e["uid"]) for e in ivan_feed.walk("VEVENT")] == [f"pdca-meeting-{weekly.id}@pdca"]

    # Three months after, the meetings have left the feed.
    clock.advance(days=100)
    assert events() == {}
