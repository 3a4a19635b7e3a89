"""A meeting's forms with htmx answer only the region that changed (and the flash out of
band), while the same forms without JavaScript still post and redirect. Whoever may not
run the meeting sees its agenda without decision forms. Downloads use the reader's zone."""

import re
from datetime import timedelta

import pytest

from pdca.services import meetings
from pdca.services import meetings_agenda as agenda
from pdca.services import meetings_minutes as minutes
from tests.services.builders_services import a_cycle_in_do

HTMX = {"HX-Request": "true"}


@pytest.fixture
def meeting(org, as_user, clock):
    a_cycle_in_do(org, as_user, clock)
    clock.advance(days=8)  # Stagger breaks (CS) is overdue now
    return meetings.create_meeting(
        as_user(org.fiona),
        title="Extra review",
        starts_at=clock.now + timedelta(hours=1),
        time_zone="Asia/Shanghai",
        chair_id=org.fiona.id,
        department_ids=[org.cs, org.it],
        attendee_ids=[org.hanna.id],
        quorum=2,
    )


@pytest.fixture
def started(meeting, org, as_user):
    return agenda.start(as_user(org.fiona), meeting.id, version=meeting.version)


def _overdue_item(html: str) -> int:
    return int(re.search(r'id="item-(\d+)" data-agenda-item data-kind="overdue_action"', html)[1])


def test_a_decision_with_htmx_answers_its_item_ticked_in_the_agenda_and_the_flash(
    client_for, started, clock
):
    fiona = client_for("fiona", next=f"/meetings/{started.id}/run")
    item_id = _overdue_item(fiona.client.get(f"/meetings/{started.id}/run").text)

    answer = fiona.client.post(
        f"/meetings/{started.id}/items/{item_id}/decide",
        data={
            "csrf_token": fiona.csrf,
            "kind": "redate",
            "item_version": "1",
            "deadline": (clock.today() + timedelta(days=10)).isoformat(),
        },
        headers=HTMX,
    )

    assert answer.status_code == 200
    assert answer.text.lstrip().startswith(f'<article class="run-item decided" id="item-{item_id}"')
    assert "<html" not in answer.text and "re-dated from" in answer.text
    assert re.search(
        rf'<a href="#item-{item_id}" id="nav-item-{item_id}" class="done" hx-swap-oob', answer.text
    )
    assert 'id="flash"' in answer.text and "Decision recorded." in answer.text
    # The page itself says the same afterwards.
    assert (
        f'id="nav-item-{item_id}" class="done"'
        in fiona.client.get(f"/meetings/{started.id}/run").text
    )


def test_a_refused_decision_with_htmx_answers_its_item_with_the_reason_and_what_was_typed(
    client_for, started
):
    fiona = client_for("fiona", next=f"/meetings/{started.id}/run")
    item_id = _overdue_item(fiona.client.get(f"/meetings/{started.id}/run").text)

    answer = fiona.client.post(
        f"/meetings/{started.id}/items/{item_id}/decide",
        data={
            "csrf_token": fiona.csrf,
            "kind": "new_action",
            "item_version": "1",
            "title": "Cover noon",
            "deadline": "soon",
        },
        headers=HTMX,
    )

    assert answer.status_code == 422
    assert answer.text.lstrip().startswith('<article class="run-item " id="item-')
    assert 'data-testid="decision-refusal"' in answer.text and "is not a date" in answer.text
    assert 'value="Cover noon"' in answer.text
    assert "flash-error" in answer.text


def test_attendance_with_htmx_swaps_the_end_of_the_agenda_with_the_new_version_and_quorum(
    client_for, started, org
):
    fiona = client_for("fiona", next=f"/meetings/{started.id}/run")

    answer = fiona.client.post(
        f"/meetings/{started.id}/attendance",
        data={
            "csrf_token": fiona.csrf,
            "version": str(started.version),
            "back": "run",
            f"attendance-{org.fiona.id}": "present",
            f"attendance-{org.hanna.id}": "present",
        },
        headers=HTMX,
    )

    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<section class="run-dept" id="end"')
    # The end form carries the meeting's new version, so ending right after is no conflict.
    assert f'name="version" value="{started.version + 1}"' in answer.text
    assert 'id="quorum-line" data-testid="quorum-line" hx-swap-oob="true">2 present' in answer.text
    assert "Attendance saved." in answer.text
    ended = fiona.client.post(
        f"/meetings/{started.id}/end",
        data={"csrf_token": fiona.csrf, "version": str(started.version + 1)},
        follow_redirects=False,
    )
    assert ended.status_code == 303


def test_attendance_on_the_meeting_page_with_htmx_sends_the_next_step_forms_again(
    client_for, meeting, org
):
    fiona = client_for("fiona", next=f"/meetings/{meeting.id}")

    answer = fiona.client.post(
        f"/meetings/{meeting.id}/attendance",
        data={
            "csrf_token": fiona.csrf,
            "version": str(meeting.version),
            "back": "page",
            f"attendance-{org.hanna.id}": "excused",
        },
        headers=HTMX,
    )

    assert answer.text.lstrip().startswith('<section class="card" id="attendance"')
    assert 'id="status" aria-labelledby="status-h" hx-swap-oob="true"' in answer.text
    assert answer.text.count(f'name="version" value="{meeting.version + 1}"') == 3


def test_a_stale_attendance_with_htmx_is_a_409_in_place(client_for, started, org):
    fiona = client_for("fiona", next=f"/meetings/{started.id}/run")
    data = {
        "csrf_token": fiona.csrf,
        "version": str(started.version),
        "back": "run",
        f"attendance-{org.hanna.id}": "present",
    }
    fiona.client.post(f"/meetings/{started.id}/attendance", data=data, headers=HTMX)

    again = fiona.client.post(
        f"/meetings/{started.id}/attendance",
        data=data | {f"attendance-{org.hanna.id}": "absent"},
        headers=HTMX,
    )

    assert again.status_code == 409
    assert again.text.lstrip().startswith('<section class="run-dept" id="end"')
    assert "changed by someone else" in again.text


def test_an_attendee_adds_an_item_with_htmx_and_gets_the_agenda_back(client_for, meeting):
    hanna = client_for("hanna", next=f"/meetings/{meeting.id}")

    empty = hanna.client.post(
        f"/meetings/{meeting.id}/items", data={"csrf_token": hanna.csrf, "text": " "}, headers=HTMX
    )
    assert empty.status_code == 422
    assert empty.text.lstrip().startswith('<section class="card" id="agenda"')
    assert "Say what the item is about." in empty.text

    added = hanna.client.post(
        f"/meetings/{meeting.id}/items",
        data={"csrf_token": hanna.csrf, "text": "Headsets for new hires"},
        headers=HTMX,
    )
    assert added.status_code == 200
    assert added.text.lstrip().startswith('<section class="card" id="agenda"')
    assert "Headsets for new hires" in added.text and "Your item is on the agenda." in added.text
    # Without JavaScript the same form posts and redirects, as before.
    plain = hanna.client.post(
        f"/meetings/{meeting.id}/items",
        data={"csrf_token": hanna.csrf, "text": "Queue display"},
        follow_redirects=False,
    )
    assert plain.status_code == 303


def test_someone_who_may_not_run_the_meeting_sees_the_agenda_without_decision_forms(
    client_for, started
):
    hanna = client_for("hanna", next=f"/meetings/{started.id}/run")
    run = hanna.client.get(f"/meetings/{started.id}/run")

    assert run.status_code == 200 and 'data-kind="overdue_action"' in run.text
    assert "/decide" not in run.text and 'class="decision"' not in run.text
    assert 'data-testid="end-meeting"' not in run.text
    assert 'name="attendance-' not in run.text
    item_id = _overdue_item(run.text)
    forged = hanna.client.post(
        f"/meetings/{started.id}/items/{item_id}/decide",
        data={"csrf_token": hanna.csrf, "kind": "note", "note": "mine", "item_version": "1"},
    )
    assert forged.status_code == 403
    fiona = client_for("fiona", next=f"/meetings/{started.id}/run")
    assert "/decide" in fiona.client.get(f"/meetings/{started.id}/run").text


def test_downloaded_minutes_show_times_in_the_readers_zone_else_the_meetings(
    client_for, started, org, as_user
):
    minutes.end(as_user(org.fiona), started.id, version=started.version)
    fiona = client_for("fiona", next=f"/meetings/{started.id}/minutes")

    in_meetings_zone = fiona.client.get(f"/meetings/{started.id}/minutes.md")
    fiona.client.cookies.set("pdca_tz", "America/New_York")
    in_readers_zone = fiona.client.get(f"/meetings/{started.id}/minutes.md")

    assert "(Asia/Shanghai)" in in_meetings_zone.text
    assert "(America/New_York)" in in_readers_zone.text
    assert "(Asia/Shanghai)" not in in_readers_zone.text
    pdf = fiona.client.get(f"/meetings/{started.id}/minutes.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
