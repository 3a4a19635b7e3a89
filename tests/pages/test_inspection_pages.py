"""An inspector fills a checklist in the pages, with plain form posts (no JavaScript)."""

from datetime import date

from sqlmodel import select

from pdca.demo_inspections import SERVICE_DESK_AUDIT
from pdca.models import Inspection, InspectionStatus, Problem
from pdca.services import inspections

PASSING = {
    "a_logged": "yes",
    "a_first_reply": "20",
    "a_closure_confirmed": "yes",
    "a_kb_current": "5",
    "a_complaints_recorded": "yes",
}


def planned(org, as_user, inspector) -> Inspection:
    desk = inspections.create_template(
        as_user(org.fiona),
        code="SD-AUDIT",
        title="Service desk quality audit",
        title_zh="服务台质量审核",
        body=SERVICE_DESK_AUDIT,
    )
    return inspections.create_inspection(
        as_user(org.fiona),
        checklist_id=desk.id,
        department_id=org.cs,
        inspector_id=inspector.id,
        due_on=date(2026, 11, 24),
    )


def test_a_due_inspection_is_on_my_work_and_overdue(org, as_user, client_for):
    inspection = planned(org, as_user, org.mia)
    page = client_for("mia").client.get("/my-work").text
    assert f'href="/inspections/{inspection.id}"' in page
    assert "Overdue" in page


def test_the_inspector_saves_as_they_go_and_submits_without_javascript(
    org, as_user, client_for, session
):
    inspection = planned(org, as_user, org.mia)
    mia = client_for("mia")
    form = mia.client.get(f"/inspections/{inspection.id}").text
    assert 'name="a_logged" value="no"' in form and 'name="a_kb_current" value="5"' in form

    saved = mia.client.post(
        f"/inspections/{inspection.id}",
        data={
            "csrf_token": mia.csrf,
            "version": "1",
            "do": "save",
            "a_logged": "no",
            "n_logged": "Two calls without a ticket",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    again = mia.client.get(f"/inspections/{inspection.id}").text
    assert 'value="no" checked' in again and "Two calls without a ticket" in again

    submitted = mia.client.post(
        f"/inspections/{inspection.id}",
        data={
            **PASSING,
            "a_logged": "no",
            "a_complaints_recorded": "no",
            "csrf_token": mia.csrf,
            "version": "2",
            "do": "submit",
        },
        follow_redirects=False,
    )

    assert submitted.status_code == 303
    session.expire_all()
    done = session.get(Inspection, inspection.id)
    assert done.status == InspectionStatus.submitted
    assert done.answers["logged"]["note"] == "Two calls without a ticket"  # kept from the save
    titles = sorted(
        p.title for p in session.exec(select(Problem).where(Problem.source == "inspection"))
    )
    assert titles[0].startswith("ISO 9001 8.2.1 failed") and titles[1].startswith("ISO 9001 9.1.2")
    shown = mia.client.get(f"/inspections/{inspection.id}").text
    assert "raised a problem" in shown and 'name="a_logged"' not in shown


def test_a_missing_answer_re_renders_the_form_with_the_reason_and_what_was_typed(
    org, as_user, client_for
):
    inspection = planned(org, as_user, org.mia)
    mia = client_for("mia")
    response = mia.client.post(
        f"/inspections/{inspection.id}",
        data={
            "csrf_token": mia.csrf,
            "version": "1",
            "do": "submit",
            "a_logged": "no",
            "a_first_reply": "lots",
        },
    )
    assert response.status_code == 422
    assert "Minutes to the first reply on the oldest open ticket: Give a number." in response.text
    assert 'value="lots"' in response.text


def test_an_htmx_save_answers_only_the_status_line_with_the_new_version(org, as_user, client_for):
    inspection = planned(org, as_user, org.mia)
    mia = client_for("mia")
    response = mia.client.post(
        f"/inspections/{inspection.id}",
        data={"version": "1", "a_kb_current": "4"},
        headers={"HX-Request": "true", "X-CSRF-Token": mia.csrf},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="save_status"')
    assert 'name="version" value="2"' in response.text and "Saved" in response.text


def test_someone_else_cannot_fill_it_in(org, as_user, client_for):
    inspection = planned(org, as_user, org.mia)
    hanna = client_for("hanna")
    page = hanna.client.get(f"/inspections/{inspection.id}").text
    assert 'name="a_logged"' not in page
    response = hanna.client.post(
        f"/inspections/{inspection.id}",
        data={"csrf_token": hanna.csrf, "version": "1", "a_logged": "yes"},
    )
    assert response.status_code == 403


def test_the_head_acknowledges_from_the_page(org, as_user, client_for, session):
    inspection = planned(org, as_user, org.mia)
    answers = {k[2:]: {"value": v} for k, v in PASSING.items()}
    inspections.submit(as_user(org.mia), inspection.id, version=None, answers=answers)
    hanna = client_for("hanna")
    assert "To acknowledge" in hanna.client.get("/my-work").text

    response = hanna.client.post(
        f"/inspections/{inspection.id}/acknowledge",
        data={"csrf_token": hanna.csrf, "version": "2", "note": "Thanks"},
        follow_redirects=False,
    )

    assert response.status_code == 303
    session.expire_all()
    assert session.get(Inspection, inspection.id).status == InspectionStatus.acknowledged


def test_a_facilitator_writes_and_revises_a_checklist_in_the_pages(org, client_for):
    import json

    fiona = client_for("fiona")
    bad = fiona.client.post(
        "/checklists",
        data={"csrf_token": fiona.csrf, "code": "X", "title": "X", "body": "{not json"},
    )
    assert bad.status_code == 422 and "not valid JSON" in bad.text
    made = fiona.client.post(
        "/checklists",
        data={
            "csrf_token": fiona.csrf,
            "code": "SD",
            "title": "Desk",
            "body": json.dumps(SERVICE_DESK_AUDIT),
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    url = made.headers["location"]
    revised = fiona.client.post(
        url,
        data={
            "csrf_token": fiona.csrf,
            "version": "1",
            "body": json.dumps({**SERVICE_DESK_AUDIT, "pass_score": 90}),
        },
        follow_redirects=True,
    )
    assert "version 2" in revised.text
