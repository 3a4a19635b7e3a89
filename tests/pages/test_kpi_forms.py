"""Defining and editing KPIs in the pages, as facilitators and department heads do."""

from pdca.models import Kpi
from pdca.services import kpis

GOOD = {
    "code": "cs-sl",
    "name": "Service level",
    "unit": "%",
    "perspective": "customer",
    "direction": "higher",
    "target": "80",
    "warning_limit": "75",
    "breach_limit": "70",
    "interval_hours": "24",
    "warnings_in_a_row": "3",
    "recovery_periods": "7",
    "rules": ["limit_breach", "missing_data"],
}


def test_a_facilitator_defines_a_kpi_from_the_form(org, client_for, session):
    fiona = client_for("fiona")
    assert fiona.client.get("/kpis/new").status_code == 200

    response = fiona.client.post(
        "/kpis/new",
        data={**GOOD, "csrf_token": fiona.csrf, "department_id": org.cs},
        follow_redirects=False,
    )

    assert response.status_code == 303
    kpi = session.exec(Kpi.__table__.select().where(Kpi.code == "CS-SL")).one()
    assert response.headers["location"] == f"/kpis/{kpi.id}"
    assert (kpi.target, kpi.warning_limit, kpi.rules) == (80, 75, ["limit_breach", "missing_data"])


def test_limits_on_the_wrong_side_are_shown_next_to_their_field_and_kept(org, client_for):
    fiona = client_for("fiona")

    response = fiona.client.post(
        "/kpis/new",
        data={
            **GOOD,
            "csrf_token": fiona.csrf,
            "department_id": org.cs,
            "warning_limit": "85",
            "target": "eighty",
        },
    )

    assert response.status_code == 422
    assert 'id="e-target"' in response.text and 'value="eighty"' in response.text
    again = fiona.client.post(
        "/kpis/new",
        data={**GOOD, "csrf_token": fiona.csrf, "department_id": org.cs, "warning_limit": "85"},
    )
    assert again.status_code == 422
    assert 'id="e-warning_limit"' in again.text and "must be below the target" in again.text


def test_members_cannot_define_kpis(client_for):
    assert client_for("mia").client.get("/kpis/new").status_code == 403


def test_a_head_edits_their_departments_kpi_but_not_anothers(org, as_user, client_for, session):
    system = as_user(None)
    cs = kpis.create_kpi(system, code="CS-X", name="CS thing", department_id=org.cs, target=1)
    it = kpis.create_kpi(system, code="IT-X", name="IT thing", department_id=org.it, target=1)
    hanna = client_for("hanna")  # head of Customer Service

    form = hanna.client.get(f"/kpis/{cs.id}/edit")
    assert form.status_code == 200
    saved = hanna.client.post(
        f"/kpis/{cs.id}/edit",
        data={
            **GOOD,
            "code": "CS-X",
            "csrf_token": hanna.csrf,
            "department_id": org.cs,
            "version": cs.version,
            "name": "Renamed",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    session.refresh(cs)
    assert cs.name == "Renamed" and cs.version == 2
    assert hanna.client.get(f"/kpis/{it.id}/edit").status_code == 403
