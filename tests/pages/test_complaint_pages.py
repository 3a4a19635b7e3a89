"""Complaints in the pages: Fiona keeps the taxonomy, Mia takes complaints at the desk."""

import html

import pytest
from sqlmodel import select

from pdca.models import Complaint, Problem
from pdca.services import complaints


@pytest.fixture
def billing(org, as_user):
    return complaints.create_category(
        as_user(org.fiona), code="BILLING", name="Billing errors", name_zh="账单错误", threshold=3
    )


def test_a_facilitator_adds_a_category_and_a_mistake_is_shown_beside_its_field(org, client_for):
    fiona = client_for("fiona")
    page = fiona.client.get("/complaints/categories")
    assert page.status_code == 200
    wrong = fiona.client.post(
        "/complaints/categories",
        data={"csrf_token": fiona.csrf, "code": "WAIT", "name": "Waiting", "threshold": "0"},
    )
    assert wrong.status_code == 422
    assert 'id="e-threshold"' in wrong.text
    assert 'value="WAIT"' in wrong.text  # what she typed is kept
    added = fiona.client.post(
        "/complaints/categories",
        data={
            "csrf_token": fiona.csrf,
            "code": "wait",
            "name": "Waiting times",
            "name_zh": "等待时间",
            "threshold": "4",
            "window_days": "2",
            "severe_from": "high",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert "WAIT" in fiona.client.get("/complaints/categories").text


def test_a_member_may_not_change_the_taxonomy(org, client_for, billing):
    mia = client_for("mia")
    refused = mia.client.post(
        "/complaints/categories", data={"csrf_token": mia.csrf, "code": "X", "name": "X"}
    )
    assert refused.status_code == 403
    assert (
        '<form method="post" action="/complaints/categories"'
        not in mia.client.get("/complaints/categories").text
    )


def test_the_third_complaint_from_the_form_raises_a_problem_and_says_so(
    org, client_for, billing, session
):
    mia = client_for("mia")
    for n in range(3):
        answer = mia.client.post(
            "/complaints",
            data={
                "csrf_token": mia.csrf,
                "channel": "phone",
                "category": "BILLING",
                "severity": "medium",
                "department": str(org.cs),
                "customer_ref": f"CUST-{n}",
                "text": f"Charged twice ({n})",
            },
        )
        assert answer.status_code == 200
    assert "raised problem P-" in answer.text
    problem = session.exec(select(Problem).where(Problem.source == "complaint")).one()
    page = mia.client.get(f"/problems/{problem.id}")
    assert "3 complaints gathered here" in page.text
    assert "Billing errors: 3 complaints within 7 days" in page.text


def test_a_complaint_without_words_is_sent_back_with_the_reason(org, client_for, billing):
    mia = client_for("mia")
    answer = mia.client.post(
        "/complaints",
        data={"csrf_token": mia.csrf, "channel": "phone", "category": "BILLING", "text": " "},
    )
    assert answer.status_code == 422
    assert 'id="e-text"' in answer.text


def test_a_csv_file_is_received_all_or_nothing(org, client_for, billing, session):
    mia = client_for("mia")
    good = (
        "channel,category,text,severity,received_at,customer_ref\n"
        "email,BILLING,Wrong amount,medium,2026-11-24T10:00:00Z,C-1\n"
        "web,BILLING,Charged twice,critical,2026-11-24T11:00:00Z,C-2\n"
    )
    bad = good + "pigeon,BILLING,Lost letter,,,\n"
    refused = mia.client.post(
        "/complaints/import",
        files={"file": ("c.csv", bad, "text/csv")},
        data={"csrf_token": mia.csrf},
    )
    assert refused.status_code == 422
    assert "line 4" in refused.text
    assert session.exec(select(Complaint)).all() == []
    taken = mia.client.post(
        "/complaints/import",
        files={"file": ("c.csv", good, "text/csv")},
        data={"csrf_token": mia.csrf},
    )
    assert taken.status_code == 200
    assert "Received 2 complaints; 1 problems raised" in taken.text


def test_a_chinese_reader_sees_the_bad_lines_of_a_complaint_file_in_chinese(
    org, client_for, billing, session
):
    mia = client_for("mia")
    mia.client.post("/language", data={"lang": "zh_CN", "next": "/", "csrf_token": mia.csrf})
    bad = (
        "channel,category,text,received_at\n"
        "email,BILLING,Wrong amount,2026-11-24T10:00:00Z\n"
        "pigeon,BILLING,Lost letter,\n"
        "web,BILLING,Charged twice,last week\n"
    )

    refused = mia.client.post(
        "/complaints/import",
        files={"file": ("c.csv", bad, "text/csv")},
        data={"csrf_token": mia.csrf},
    )

    assert refused.status_code == 422
    page = html.unescape(refused.text)
    assert "第 4 行：received_at：不是带时区的 ISO 8601 时间。" in page
    assert "line 4" not in page and "not an ISO 8601 time" not in page
    session.expire_all()
    assert session.exec(select(Complaint)).all() == []
    # The file's times mended, the channel is what is left: a line's reason inside a reason.
    bad = bad.replace("last week", "2026-11-24T11:00:00Z")
    refused = mia.client.post(
        "/complaints/import",
        files={"file": ("c.csv", bad, "text/csv")},
        data={"csrf_token": mia.csrf},
    )
    assert refused.status_code == 422
    page = html.unescape(refused.text)
    assert "第 3 行：channel：须为 " in page and "line 3" not in page


def test_the_desk_records_the_first_response_and_the_resolution(
    org, client_for, billing, as_user, session
):
    complaint = complaints.receive(
        as_user(org.mia),
        complaints.ComplaintIn(channel="phone", category="BILLING", text="No refund yet"),
    ).complaints[0]
    mia = client_for("mia")
    for step in ("responded", "resolved"):
        session.rollback()  # end the test's read snapshot: see what the page wrote
        version = session.get(Complaint, complaint.id, populate_existing=True).version
        answer = mia.client.post(
            f"/complaints/{complaint.id}/progress",
            data={"csrf_token": mia.csrf, "step": step, "version": str(version)},
        )
        assert answer.status_code == 200
        assert "recorded." in answer.text
    session.rollback()
    stored = session.get(Complaint, complaint.id, populate_existing=True)
    assert stored.first_response_at is not None and stored.resolved_at is not None


def test_a_problem_the_rules_raised_reads_in_the_readers_language(org, as_user, billing):
    from pdca.web.texts import problem_text

    desk = as_user(org.mia)
    intake = complaints.receive_many(
        desk,
        [
            complaints.ComplaintIn(channel="web", category="BILLING", text=f"Twice ({n})", line=n)
            for n in range(1, 4)
        ],
    )
    problem = desk.session.get(Problem, intake.problems_raised[0])
    assert problem_text(problem, "zh_CN").title == "账单错误：7 天内 3 条投诉"
    assert problem_text(problem, "en").title == "Billing errors: 3 complaints within 7 days"


def test_the_analysis_page_shows_the_pareto_and_the_times(org, client_for, billing, as_user):
    complaints.receive(
        as_user(org.mia),
        complaints.ComplaintIn(
            channel="phone", category="BILLING", text="No refund", department_id=org.cs
        ),
    )
    page = client_for("vera").client.get("/complaints/analysis?days=30")
    assert page.status_code == 200
    assert "Pareto by category" in page.text
    assert "Billing errors" in page.text
