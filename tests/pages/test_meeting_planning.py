"""Planning meetings from the pages, with and without htmx: a new series, a series changed,
a one-off meeting. Refusals draw the form again with 422 (409 when stale), the reason
beside its field and what was typed still there."""

from datetime import UTC, datetime

from sqlmodel import select

from pdca.models import Meeting, MeetingSeries
from pdca.services import meetings

HTMX = {"HX-Request": "true"}


def _series_form(who, org, **overrides):
    form = {
        "csrf_token": who.csrf,
        "title": "Weekly service-quality review",
        "weekday": "1",
        "local_time": "10:00",
        "time_zone": "Asia/Shanghai",
        "interval_weeks": "1",
        "duration_minutes": "45",
        "chair_id": str(org.fiona.id),
        "quorum": "2",
        "department_ids": [str(org.cs), str(org.it)],
        "attendee_ids": [str(org.hanna.id), str(org.ivan.id)],
    }
    return form | overrides


def test_a_facilitator_creates_a_series_from_the_meetings_page(client_for, org, session):
    fiona = client_for("fiona", next="/meetings")
    listing = fiona.client.get("/meetings")
    assert 'href="/meeting-series/new"' in listing.text and 'href="/meetings/new"' in listing.text
    assert "through the API" not in listing.text
    form = fiona.client.get("/meeting-series/new")
    assert form.status_code == 200 and 'name="weekday"' in form.text

    created = fiona.client.post(
        "/meeting-series/new", data=_series_form(fiona, org), follow_redirects=False
    )

    assert created.status_code == 303
    series = session.exec(select(MeetingSeries)).one()
    assert created.headers["location"] == f"/meetings#series-{series.id}"
    assert (series.weekday, series.local_time, series.duration_minutes) == (1, "10:00", 45)
    assert (series.department_ids, series.attendee_ids) == (
        [org.cs, org.it],
        [org.hanna.id, org.ivan.id],
    )
    listing = fiona.client.get("/meetings")
    assert "every Tuesday at 10:00 (Asia/Shanghai)" in listing.text


def test_a_wrong_series_form_comes_back_with_422_each_reason_by_its_field_and_the_input_kept(
    client_for, org, session
):
    fiona = client_for("fiona", next="/meetings")

    refused = fiona.client.post(
        "/meeting-series/new",
        data=_series_form(
            fiona, org, title="Monthly audit review", duration_minutes="ninety", time_zone="Mars"
        ),
    )

    assert refused.status_code == 422
    assert 'id="e-duration_minutes"' in refused.text and "Enter a whole number." in refused.text
    assert 'value="Monthly audit review"' in refused.text and 'value="ninety"' in refused.text
    assert session.exec(select(MeetingSeries)).first() is None
    # The shape is right, the service says what else is wrong, beside the field.
    refused = fiona.client.post(
        "/meeting-series/new", data=_series_form(fiona, org, time_zone="Mars/Olympus")
    )
    assert refused.status_code == 422
    assert 'id="e-time_zone"' in refused.text and "Unknown time zone Mars/Olympus" in refused.text
    assert f'value="{org.hanna.id}" checked' in refused.text


def test_with_htmx_the_series_form_swaps_itself_on_refusal_and_redirects_on_success(
    client_for, org, session
):
    fiona = client_for("fiona", next="/meetings")

    refused = fiona.client.post(
        "/meeting-series/new", data=_series_form(fiona, org, title=" "), headers=HTMX
    )
    assert refused.status_code == 422
    assert refused.text.lstrip().startswith('<div id="plan_form">')
    assert "<html" not in refused.text and "Give the series a title." in refused.text

    created = fiona.client.post("/meeting-series/new", data=_series_form(fiona, org), headers=HTMX)
    series = session.exec(select(MeetingSeries)).one()
    assert created.status_code == 204
    assert created.headers["HX-Redirect"] == f"/meetings#series-{series.id}"


def test_the_chair_changes_the_series_and_a_stale_form_is_a_409_keeping_the_input(
    client_for, org, as_user, session
):
    series = meetings.create_series(
        as_user(org.fiona),
        title="Weekly review",
        weekday=1,
        local_time="10:00",
        time_zone="Asia/Shanghai",
        chair_id=org.fiona.id,
    )
    fiona = client_for("fiona", next="/meetings")
    assert f'href="/meeting-series/{series.id}/edit"' in fiona.client.get("/meetings").text
    form = fiona.client.get(f"/meeting-series/{series.id}/edit")
    assert 'name="version" value="1"' in form.text and 'value="Weekly review"' in form.text

    saved = fiona.client.post(
        f"/meeting-series/{series.id}/edit",
        data=_series_form(fiona, org, title="Thursday review", weekday="3", version="1"),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    session.refresh(series)
    assert (series.title, series.weekday, series.version) == ("Thursday review", 3, 2)

    stale = fiona.client.post(
        f"/meeting-series/{series.id}/edit",
        data=_series_form(fiona, org, title="Friday review", weekday="4", version="1"),
    )
    assert stale.status_code == 409
    assert "changed by someone else" in stale.text and 'value="Friday review"' in stale.text
    session.refresh(series)
    assert series.title == "Thursday review"


def test_a_head_may_not_change_a_series_she_does_not_chair(client_for, org, as_user):
    series = meetings.create_series(
        as_user(org.fiona), title="Review", weekday=1, local_time="10:00", chair_id=org.fiona.id
    )
    hanna = client_for("hanna", next="/meetings")
    assert f"/meeting-series/{series.id}/edit" not in hanna.client.get("/meetings").text
    assert hanna.client.get(f"/meeting-series/{series.id}/edit").status_code == 403
    posted = hanna.client.post(
        f"/meeting-series/{series.id}/edit",
        data=_series_form(hanna, org, version="1"),
    )
    assert posted.status_code == 403


def test_a_member_is_offered_no_planning_form(client_for):
    mia = client_for("mia", next="/meetings")
    assert "/meeting-series/new" not in mia.client.get("/meetings").text
    assert mia.client.get("/meeting-series/new").status_code == 403
    assert mia.client.get("/meetings/new").status_code == 403


def test_a_head_plans_a_one_off_meeting_at_a_local_time_stored_in_utc(client_for, org, session):
    hanna = client_for("hanna", next="/meetings/new")
    form = {
        "csrf_token": hanna.csrf,
        "title": "Complaint spike",
        "day": "2026-12-02",
        "local_time": "14:30",
        "time_zone": "Asia/Shanghai",
        "chair_id": str(org.hanna.id),
        "quorum": "1",
        "department_ids": [str(org.cs)],
        "attendee_ids": [str(org.mia.id)],
    }

    bad = hanna.client.post("/meetings/new", data=form | {"day": "next Wednesday"})
    assert bad.status_code == 422
    assert "Enter the day as YYYY-MM-DD." in bad.text and 'value="Complaint spike"' in bad.text

    made = hanna.client.post("/meetings/new", data=form, follow_redirects=False)
    meeting = session.exec(select(Meeting)).one()
    assert made.status_code == 303 and made.headers["location"] == f"/meetings/{meeting.id}"
    assert meeting.starts_at == datetime(2026, 12, 2, 6, 30, tzinfo=UTC)
    assert (meeting.chair_id, meeting.department_ids) == (org.hanna.id, [org.cs])


def test_a_one_off_meeting_chaired_by_a_member_is_refused_beside_the_chair(client_for, org):
    fiona = client_for("fiona", next="/meetings/new")
    refused = fiona.client.post(
        "/meetings/new",
        data={
            "csrf_token": fiona.csrf,
            "title": "Complaint spike",
            "day": "2026-12-02",
            "local_time": "14:30",
            "time_zone": "UTC",
            "chair_id": str(org.mia.id),
            "quorum": "1",
        },
        headers=HTMX,
    )
    assert refused.status_code == 422
    assert 'id="e-chair_id"' in refused.text and "cannot chair" in refused.text


def test_the_series_list_names_the_weekday_in_chinese(client_for, org, as_user):
    meetings.create_series(
        as_user(org.fiona),
        title="周例会",
        weekday=1,
        local_time="10:00",
        time_zone="Asia/Shanghai",
        chair_id=org.fiona.id,
        interval_weeks=2,
    )
    fiona = client_for("fiona", next="/meetings")
    fiona.client.post("/language", data={"csrf_token": fiona.csrf, "lang": "zh_CN", "next": "/"})

    page = fiona.client.get("/meetings")

    assert "星期二" in page.text and "day 2" not in page.text
    assert "每 2 周的星期二 10:00（Asia/Shanghai）" in page.text


def test_a_chair_stops_a_series_and_no_meeting_of_it_can_be_planned_until_it_resumes(
    client_for, org, session
):
    fiona = client_for("fiona", next="/meetings")
    fiona.client.post("/meeting-series/new", data=_series_form(fiona, org), follow_redirects=False)
    series = session.exec(select(MeetingSeries)).one()
    listing = fiona.client.get("/meetings")
    assert 'data-testid="stop-series"' in listing.text

    stopped = fiona.client.post(
        f"/meeting-series/{series.id}/active",
        data={"csrf_token": fiona.csrf, "version": str(series.version), "active": "0"},
        follow_redirects=True,
    )

    assert "is stopped" in stopped.text and 'data-testid="series-stopped"' in stopped.text
    assert f'action="/meeting-series/{series.id}/next"' not in stopped.text
    session.rollback()  # end the read begun above: see what the page saved
    series = session.get(MeetingSeries, series.id)
    assert series is not None and series.active is False
    # Planning by the address anyway is refused with the reason, and nothing is planned.
    refused = fiona.client.post(
        f"/meeting-series/{series.id}/next", data={"csrf_token": fiona.csrf}, follow_redirects=True
    )
    assert "is stopped: resume it" in refused.text
    assert session.exec(select(Meeting)).first() is None

    fiona.client.post(
        f"/meeting-series/{series.id}/active",
        data={"csrf_token": fiona.csrf, "version": str(series.version), "active": "1"},
    )
    planned = fiona.client.post(
        f"/meeting-series/{series.id}/next", data={"csrf_token": fiona.csrf}, follow_redirects=False
    )
    session.rollback()
    assert planned.status_code == 303 and session.exec(select(Meeting)).one().series_id == series.id
