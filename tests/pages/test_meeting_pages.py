"""Meeting pages without JavaScript: forms post and redirect; a refusal renders the page
again with its status, the reason beside the form and what was typed still in it."""

import re
from datetime import timedelta

import pytest

from pdca.services import meetings
from tests.personas import PASSWORD
from tests.services.builders_services import a_cycle_in_do


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
    )


def test_a_chair_starts_a_meeting_decides_ends_it_and_signs_the_minutes(client_for, meeting, clock):
    fiona = client_for("fiona", next=f"/meetings/{meeting.id}")
    started = fiona.client.post(
        f"/meetings/{meeting.id}/start",
        data={"csrf_token": fiona.csrf, "version": meeting.version},
        follow_redirects=False,
    )
    assert (
        started.status_code == 303 and started.headers["location"] == f"/meetings/{meeting.id}/run"
    )
    run = fiona.client.get(f"/meetings/{meeting.id}/run")
    assert "Stagger breaks" in run.text and 'data-kind="overdue_action"' in run.text
    item_id = int(
        re.search(r'id="item-(\d+)" data-agenda-item data-kind="overdue_action"', run.text)[1]
    )

    bad = fiona.client.post(
        f"/meetings/{meeting.id}/items/{item_id}/decide",
        data={
            "csrf_token": fiona.csrf,
            "kind": "new_action",
            "item_version": 1,
            "title": "Cover noon",
            "deadline": "next week",
        },
    )
    assert bad.status_code == 422
    assert "is not a date" in bad.text and 'value="Cover noon"' in bad.text

    good = fiona.client.post(
        f"/meetings/{meeting.id}/items/{item_id}/decide",
        data={
            "csrf_token": fiona.csrf,
            "kind": "new_action",
            "item_version": 1,
            "title": "Cover noon",
            "deadline": (clock.today() + timedelta(days=5)).isoformat(),
        },
        follow_redirects=False,
    )
    assert good.status_code == 303 and "#item-" in good.headers["location"]
    version = fiona.client.get(f"/api/v1/meetings/{meeting.id}").json()["version"]
    ended = fiona.client.post(
        f"/meetings/{meeting.id}/end",
        data={"csrf_token": fiona.csrf, "version": version},
        follow_redirects=False,
    )
    assert ended.headers["location"] == f"/meetings/{meeting.id}/minutes"
    version = fiona.client.get(f"/api/v1/meetings/{meeting.id}").json()["version"]

    wrong = fiona.client.post(
        f"/meetings/{meeting.id}/minutes/sign",
        data={"csrf_token": fiona.csrf, "version": version, "password": "not it"},
    )
    assert wrong.status_code == 403 and "The password is wrong" in wrong.text
    signed = fiona.client.post(
        f"/meetings/{meeting.id}/minutes/sign",
        data={"csrf_token": fiona.csrf, "version": version, "password": PASSWORD},
    )
    assert signed.status_code == 200 and "Minutes signed" in signed.text
    assert "Cover noon" in signed.text
    markdown = fiona.client.get(f"/meetings/{meeting.id}/minutes.md")
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "Signed by Fiona Facilitator" in markdown.text


def test_a_member_sees_the_meeting_but_no_form_to_run_it(client_for, meeting):
    mia = client_for("mia", next=f"/meetings/{meeting.id}")
    page = mia.client.get(f"/meetings/{meeting.id}")
    assert page.status_code == 200
    assert "Start the meeting" not in page.text
    assert "Add to the agenda" in page.text  # any attendee adds an item


def test_a_chinese_chair_reads_a_problem_monitoring_raised_in_chinese_agenda_to_minutes(
    client_for, org, as_user, session, clock
):
    """The agenda and the minutes keep a raised problem's message, not its English title:
    a Chinese reader sees the title, and its severity, in Chinese; an English one English."""
    from tests.pages.test_kpi_pages import a_kpi, days_ago, feed, kpi_problem
    from tests.pages.test_translated_pages import _switch_to_chinese

    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org, name_zh="服务水平")
    feed(fiona, "CS-SL", [64.5], days_ago(1))
    problem = kpi_problem(session, kpi)
    meeting = meetings.create_meeting(
        fiona,
        title="Extra review",
        starts_at=clock.now + timedelta(hours=1),
        time_zone="Asia/Shanghai",
        chair_id=org.fiona.id,
        department_ids=[org.cs],
    )
    chair = client_for("fiona", next=f"/meetings/{meeting.id}")
    _switch_to_chinese(chair, f"/meetings/{meeting.id}")
    started = chair.client.post(
        f"/meetings/{meeting.id}/start",
        data={"csrf_token": chair.csrf, "version": meeting.version},
    )
    assert started.status_code == 200

    run = chair.client.get(f"/meetings/{meeting.id}/run").text
    title = "CS-SL 服务水平: 64.5 低于超限值（70）。"
    assert f"P-{problem.id}</a> {title}" in run
    assert "is below the breach limit" not in run
    assert re.search(r"<dt>严重程度</dt><dd>[^<a-z]+</dd>", run)  # a word, not the code
    version = chair.client.get(f"/api/v1/meetings/{meeting.id}").json()["version"]
    chair.client.post(
        f"/meetings/{meeting.id}/end", data={"csrf_token": chair.csrf, "version": version}
    )

    minutes = chair.client.get(f"/meetings/{meeting.id}/minutes").text
    markdown = chair.client.get(f"/meetings/{meeting.id}/minutes.md").text
    for text in (minutes, markdown):
        assert f"P-{problem.id} {title}" in text and "is below the breach limit" not in text
    english = client_for("hanna").client.get(f"/meetings/{meeting.id}/minutes.md").text
    assert f"P-{problem.id} CS-SL Service level: 64.5 is below the breach limit (70)." in english
