"""A series changed after it was planned, and the KPI readings the minutes keep."""

from datetime import UTC, datetime, timedelta

import pytest

from pdca.services import kpis, meetings
from pdca.services import meetings_agenda as agenda
from pdca.services import meetings_minutes as minutes
from pdca.services.errors import Conflict, Forbidden, Invalid
from pdca.services.kpis import RowIn
from tests.services.builders_services import events_of, fresh


@pytest.fixture
def series(org, as_user):
    return meetings.create_series(
        as_user(org.fiona),
        title="Weekly service-quality review",
        weekday=1,
        local_time="10:00",
        time_zone="Asia/Shanghai",
        chair_id=org.fiona.id,
        department_ids=[org.cs, org.it],
        attendee_ids=[org.hanna.id],
        quorum=2,
    )


def test_the_chair_moves_the_series_to_thursdays_and_the_next_meeting_follows(
    org, as_user, session, series
):
    fiona = as_user(org.fiona)
    planned = meetings.schedule_next(fiona, series.id)

    changed = meetings.update_series(
        fiona,
        series.id,
        version=series.version,
        changes={"weekday": 3, "local_time": "15:30", "attendee_ids": [org.hanna.id, org.ivan.id]},
    )

    assert (changed.weekday, changed.local_time, changed.version) == (3, "15:30", 2)
    # The meeting already planned keeps its Tuesday; the next one is a Thursday 15:30 Shanghai.
    assert fresh(session, planned).starts_at == datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    following = meetings.schedule_next(fiona, series.id)
    assert following.starts_at == datetime(2026, 12, 3, 7, 30, tzinfo=UTC)
    changes = {
        (e.field, e.from_value, e.to_value)
        for e in events_of(session, "meeting_series", series.id, "field_changed")
    }
    assert changes == {
        ("weekday", "1", "3"),
        ("local_time", "10:00", "15:30"),
        ("attendee_ids", str([org.hanna.id]), str([org.hanna.id, org.ivan.id])),
    }
    assert all(e.actor_id == org.fiona.id for e in events_of(session, "meeting_series", series.id))


def test_a_change_made_on_a_stale_series_is_a_conflict_and_changes_nothing(
    org, as_user, session, series
):
    fiona = as_user(org.fiona)
    meetings.update_series(fiona, series.id, version=1, changes={"quorum": 3})

    with pytest.raises(Conflict):
        meetings.update_series(fiona, series.id, version=1, changes={"quorum": 1})

    assert fresh(session, series).quorum == 3


def test_a_head_who_does_not_chair_the_series_cannot_change_it(org, as_user, series):
    with pytest.raises(Forbidden):
        meetings.update_series(as_user(org.hanna), series.id, version=1, changes={"quorum": 1})


def test_every_wrong_value_is_named_with_its_field(org, as_user, session, series):
    with pytest.raises(Invalid) as refused:
        meetings.update_series(
            as_user(org.fiona),
            series.id,
            version=1,
            changes={
                "title": " ",
                "time_zone": "Mars/Olympus",
                "duration_minutes": 0,
                "chair_id": org.mia.id,
            },
        )

    fields = {r.code for r in refused.value.reasons}
    assert fields == {"title", "time_zone", "duration_minutes"}
    assert fresh(session, series).version == 1
    # A member cannot chair: said once the values themselves are sound.
    with pytest.raises(Invalid) as refused:
        meetings.update_series(
            as_user(org.fiona), series.id, version=1, changes={"chair_id": org.mia.id}
        )
    assert [r.code for r in refused.value.reasons] == ["chair_id"]


def _service_level(ctx, org):
    """CS's service level: target 80 %, warning below 75, breach below 70, hourly."""
    return kpis.create_kpi(
        ctx,
        code="CS-SL",
        name="Service level",
        unit="%",
        department_id=org.cs,
        target=80.0,
        warning_limit=75.0,
        breach_limit=70.0,
        interval_hours=1,
        rules=["limit_breach"],
    )


def test_the_minutes_keep_the_kpi_readings_of_the_moment_the_meeting_ended(
    org, as_user, session, clock, series
):
    fiona = as_user(org.fiona)
    kpi = _service_level(fiona, org)
    meeting = meetings.schedule_next(fiona, series.id)
    clock.now = meeting.starts_at - timedelta(minutes=30)
    kpis.ingest(fiona, [RowIn(1, kpi.id, clock.now, 65.0)])  # a breach: a problem is raised
    clock.now = meeting.starts_at
    meeting = agenda.start(fiona, meeting.id, version=meeting.version)
    assert any(i.entity_type == "kpi" for i in agenda.items_of(fiona, meeting))
    # Someone keys in a later reading already, then the room ends the meeting, as recorded
    # at a moment before that reading (a meeting ended in the past, as the demo does).
    clock.now = meeting.starts_at + timedelta(minutes=50)
    kpis.ingest(fiona, [RowIn(1, kpi.id, clock.now, 90.0)])
    clock.now = meeting.starts_at + timedelta(minutes=45)
    ended = minutes.end(fiona, meeting.id, version=meeting.version)

    shown = ended.minutes["kpis"]
    assert [(k["code"], k["latest"], k["status"]) for k in shown] == [("CS-SL", 65.0, "breach")]
    assert shown[0]["latest_at"] == (meeting.starts_at - timedelta(minutes=30)).isoformat()
    assert ended.minutes["kpis_taken_at"] == clock.now.isoformat()

    # Later readings never reach the minutes: they are what the room saw.
    clock.advance(hours=2)
    kpis.ingest(fiona, [RowIn(1, kpi.id, clock.now, 95.0)])
    assert fresh(session, ended).minutes["kpis"] == shown


def test_a_kpi_whose_last_reading_is_too_old_shows_no_data_in_the_minutes(
    org, as_user, clock, series
):
    fiona = as_user(org.fiona)
    kpi = _service_level(fiona, org)
    meeting = meetings.schedule_next(fiona, series.id)
    clock.now = meeting.starts_at - timedelta(hours=1)
    kpis.ingest(fiona, [RowIn(1, kpi.id, clock.now, 60.0)])
    clock.now = meeting.starts_at
    meeting = agenda.start(fiona, meeting.id, version=meeting.version)
    clock.advance(hours=3)  # three hourly readings missed by the end

    ended = minutes.end(fiona, meeting.id, version=meeting.version)

    assert [(k["latest"], k["status"]) for k in ended.minutes["kpis"]] == [(60.0, "no_data")]
