"""A quality manager plans inspections in the pages (plain form posts), and anyone reads
the audit programme grid and the clauses that fail most."""

from datetime import date

from sqlmodel import select

from pdca.demo_inspections import SERVICE_DESK_AUDIT
from pdca.models import Inspection, InspectionPlan
from pdca.services import inspection_plans, inspections


def a_checklist(org, as_user):
    return inspections.create_template(
        as_user(org.fiona),
        code="SD-AUDIT",
        title="Service desk quality audit",
        title_zh="服务台质量审核",
        body=SERVICE_DESK_AUDIT,
    )


def plan_form(org, desk, csrf, **changed):
    return {
        "csrf_token": csrf,
        "title": "Monthly service desk audit",
        "checklist_id": str(desk.id),
        "department_ids": [str(org.cs), str(org.it)],
        "frequency": "monthly",
        "starts_on": "2026-11-30",
        "inspector_role": "head",
        "independent": "on",
        **changed,
    }


def test_a_quality_manager_plans_without_javascript_and_makes_the_due_inspections(
    org, as_user, client_for, session
):
    desk = a_checklist(org, as_user)
    fiona = client_for("fiona")

    saved = fiona.client.post(
        "/inspection-plans", data=plan_form(org, desk, fiona.csrf), follow_redirects=False
    )
    assert saved.status_code == 303
    plan = session.exec(select(InspectionPlan)).one()
    made = fiona.client.post(
        f"/inspection-plans/{plan.id}/schedule",
        data={"csrf_token": fiona.csrf},
        follow_redirects=True,
    )

    assert "2 inspections made." in made.text
    assert "Monthly service desk audit" in made.text and "independent" in made.text
    session.rollback()
    rows = session.exec(select(Inspection).where(Inspection.plan_id == plan.id)).all()
    # Independent, by role: CS is inspected by IT's head, IT by CS's.
    assert {(r.department_id, r.inspector_id) for r in rows} == {
        (org.cs, org.ivan.id),
        (org.it, org.hanna.id),
    }


def test_a_refused_plan_comes_back_with_the_reason_and_what_was_typed(
    org, as_user, client_for, session
):
    desk = a_checklist(org, as_user)
    fiona = client_for("fiona")

    answer = fiona.client.post(
        "/inspection-plans",
        data=plan_form(
            org,
            desk,
            fiona.csrf,
            inspector_role="",
            inspector_ids=[str(org.mia.id)],
            department_ids=[str(org.cs)],
        ),
    )

    assert answer.status_code == 422
    assert "Mia Member is a member of CS" in answer.text
    assert 'value="Monthly service desk audit"' in answer.text
    assert session.exec(select(InspectionPlan)).first() is None


def test_a_member_reads_the_plans_but_finds_no_form(org, as_user, client_for):
    a_checklist(org, as_user)
    page = client_for("mia").client.get("/inspection-plans")
    assert page.status_code == 200
    assert 'action="/inspection-plans"' not in page.text


def test_the_programme_grid_shows_done_overdue_and_planned_by_department_and_month(
    org, as_user, client_for
):
    desk = a_checklist(org, as_user)
    plan = inspection_plans.create_plan(
        as_user(org.fiona),
        title="Monthly audit",
        checklist_id=desk.id,
        department_ids=[org.cs],
        frequency="monthly",
        starts_on=date(2026, 9, 30),
        inspector_ids=[org.frank.id],
    )
    inspection_plans.schedule(as_user(None))
    september = inspections.list_inspections(as_user(None))[0][-1]
    assert september.plan_id == plan.id and september.due_on.month == 9
    answers = {
        "logged": {"value": "no"},
        "first_reply": {"value": 20},
        "closure_confirmed": {"value": "yes"},
        "kb_current": {"value": 5},
        "complaints_recorded": {"value": "yes"},
    }
    inspections.submit(as_user(org.frank), september.id, version=None, answers=answers)

    page = client_for("vera").client.get("/inspection-programme?year=2026")

    assert page.status_code == 200
    row = page.text.split('<th scope="row">CS</th>')[1].split("</tr>")[0]
    cells = row.split("<td")[1:]
    assert 'badge-ok" title="done">1<' in cells[8]  # September
    assert 'badge-bad" title="overdue">1<' in cells[9]  # October
    assert 'class="badge" title="planned">1<' in cells[10]  # November
    assert "ISO 9001 8.2.1" in page.text


def test_the_programme_reads_in_chinese(org, as_user, client_for):
    a_checklist(org, as_user)
    vera = client_for("vera")
    vera.client.post("/language", data={"lang": "zh_CN", "next": "/", "csrf_token": vera.csrf})

    page = vera.client.get("/inspection-programme?year=2026")

    assert page.status_code == 200
    assert "审核方案" in page.text and "Audit programme" not in page.text


def test_a_spot_checks_page_shows_the_seed_and_period_its_cases_were_drawn_from(
    org, as_user, client_for
):
    desk = a_checklist(org, as_user)
    inspection_plans.create_plan(
        as_user(org.fiona),
        title="Spot check",
        checklist_id=desk.id,
        department_ids=[org.cs],
        frequency="weekly",
        starts_on=date(2026, 11, 25),
        inspector_ids=[org.frank.id],
        sample_size=3,
        sample_source="closed_actions",
    )
    inspection_plans.schedule(as_user(None))
    spot = inspections.list_inspections(as_user(None))[0][-1]

    page = client_for("frank").client.get(f"/inspections/{spot.id}").text

    sample = page.split('data-testid="inspection-sample"')[1].split("</div>")[0]
    assert f"seed {spot.sample_seed}" in sample and "Nov 18, 2026" in sample
    assert "The list held no case in that period." in sample


def test_a_head_skips_a_due_inspection_with_a_reason_and_the_grid_shows_it_skipped(
    org, as_user, client_for, session
):
    desk = a_checklist(org, as_user)
    inspection_plans.create_plan(
        as_user(org.fiona),
        title="Monthly audit",
        checklist_id=desk.id,
        department_ids=[org.cs],
        frequency="monthly",
        starts_on=date(2026, 9, 30),
        inspector_ids=[org.frank.id],
    )
    inspection_plans.schedule(as_user(None))
    october = next(
        i for i in inspections.list_inspections(as_user(None))[0] if i.due_on.month == 10
    )
    hanna = client_for("hanna")
    assert "Skip this inspection" in hanna.client.get(f"/inspections/{october.id}").text
    assert (
        "Skip this inspection"
        not in client_for("mia").client.get(f"/inspections/{october.id}").text
    )

    refused = hanna.client.post(
        f"/inspections/{october.id}/skip",
        data={"csrf_token": hanna.csrf, "version": str(october.version), "reason": " "},
    )
    skipped = hanna.client.post(
        f"/inspections/{october.id}/skip",
        data={
            "csrf_token": hanna.csrf,
            "version": str(october.version),
            "reason": "Desk closed for the office move",
        },
        follow_redirects=True,
    )

    assert refused.status_code == 422 and "Say why the inspection is skipped." in refused.text
    assert (
        "Inspection skipped." in skipped.text and "Desk closed for the office move" in skipped.text
    )
    grid = client_for("vera").client.get("/inspection-programme?year=2026").text
    cells = grid.split('<th scope="row">CS</th>')[1].split("</tr>")[0].split("<td")[1:]
    assert 'badge-warn" title="skipped: Desk closed for the office move">1<' in cells[9]
    assert "overdue" not in cells[9]
