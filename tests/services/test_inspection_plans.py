"""Inspection plans: a schedule makes due inspections once; spot checks can be re-drawn."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from pdca.demo_inspections import SERVICE_DESK_AUDIT
from pdca.models import Complaint, Event, Inspection, Kpi, Measurement
from pdca.services import (
    complaints,
    inspection_kpis,
    inspection_plans,
    inspection_programme,
    inspections,
)
from pdca.services.errors import Conflict, Forbidden, Invalid
from tests.services.builders_services import count, fresh
from tests.services.test_concurrency import race


@pytest.fixture
def desk(org, as_user):
    return inspections.create_template(
        as_user(org.fiona),
        code="sd-audit",
        title="Service desk quality audit",
        body=SERVICE_DESK_AUDIT,
    )


def a_plan(org, as_user, desk, **changed):
    values = {
        "title": "Monthly service desk audit",
        "checklist_id": desk.id,
        "department_ids": [org.cs, org.it],
        "frequency": "monthly",
        "starts_on": date(2026, 9, 30),
        "inspector_ids": [org.fiona.id, org.frank.id],
        **changed,
    }
    return inspection_plans.create_plan(as_user(org.fiona), **values)


def planned(session, plan_id):
    session.rollback()
    return list(
        session.exec(
            select(Inspection)
            .where(Inspection.plan_id == plan_id)
            .order_by(Inspection.due_on, Inspection.department_id)
        )
    )


def reasons_of(refused) -> str:
    return " | ".join(r.message for r in refused.value.reasons)


# --- schedules ----------------------------------------------------------------------------------


def test_a_monthly_plan_makes_each_due_inspection_once_however_often_the_job_runs(
    org, as_user, desk, session
):
    plan = a_plan(org, as_user, desk)

    made = inspection_plans.schedule(as_user(None))
    again = inspection_plans.schedule(as_user(None))

    rows = planned(session, plan.id)
    # Today is 25 November; a week ahead reaches 30 November: Sep 30, Oct 30, Nov 30.
    assert sorted({r.due_on for r in rows}) == [
        date(2026, 9, 30),
        date(2026, 10, 30),
        date(2026, 11, 30),
    ]
    assert (made, again, len(rows)) == (6, 0, 6)
    assert {r.department_id for r in rows} == {org.cs, org.it}
    events = session.exec(select(Event).where(Event.entity_type == "inspection")).all()
    assert len(events) == 6 and all(e.data["plan_id"] == plan.id for e in events)


def test_the_month_end_stays_the_month_end_and_the_schedule_goes_on_as_days_pass(
    org, as_user, desk, session, clock
):
    plan = a_plan(org, as_user, desk, department_ids=[org.cs], starts_on=date(2026, 1, 31))
    inspection_plans.schedule(as_user(None))
    before = len(planned(session, plan.id))

    clock.advance(days=30)
    inspection_plans.schedule(as_user(None))

    dues = [r.due_on for r in planned(session, plan.id)]
    assert dues[:3] == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]
    assert dues[-1] == date(2026, 12, 31) and len(dues) == before + 1


def test_an_rrule_plan_inspects_on_the_days_it_names(org, as_user, desk, session):
    plan = a_plan(
        org,
        as_user,
        desk,
        department_ids=[org.billing],
        frequency="rrule",
        rrule="FREQ=WEEKLY;BYDAY=MO,TH",
        starts_on=date(2026, 11, 16),
    )

    inspection_plans.schedule(as_user(None))

    dues = [r.due_on for r in planned(session, plan.id)]
    assert [d.strftime("%a") for d in dues] == ["Mon", "Thu", "Mon", "Thu", "Mon"]
    assert dues[0] == date(2026, 11, 16) and dues[-1] == date(2026, 11, 30)


def test_a_broken_or_too_frequent_rrule_is_refused_with_the_reason(org, as_user, desk):
    for rule in ("FREQ=FORTNIGHTLY", "FREQ=HOURLY", ""):
        with pytest.raises(Invalid) as refused:
            a_plan(org, as_user, desk, frequency="rrule", rrule=rule)
        assert "RRULE cannot be used" in reasons_of(refused)


def test_named_inspectors_take_turns(org, as_user, desk, session):
    plan = a_plan(org, as_user, desk, department_ids=[org.billing])

    inspection_plans.schedule(as_user(None))

    assert [r.inspector_id for r in planned(session, plan.id)] == [
        org.fiona.id,
        org.frank.id,
        org.fiona.id,
    ]


def test_an_independent_plan_refuses_an_inspector_from_the_inspected_department(
    org, as_user, desk, session
):
    with pytest.raises(Invalid) as refused:
        a_plan(org, as_user, desk, independent=True)  # Fiona is in CS, Frank in IT

    text = reasons_of(refused)
    assert "Fiona Facilitator is a member of CS" in text
    assert "Frank Facilitator is a member of IT" in text
    assert count(session, Inspection) == 0


def test_an_independent_plan_by_role_never_sends_a_department_its_own_heads(
    org, as_user, desk, session
):
    plan = a_plan(org, as_user, desk, inspector_ids=[], inspector_role="head", independent=True)

    inspection_plans.schedule(as_user(None))

    rows = planned(session, plan.id)
    assert rows and all(
        r.inspector_id == (org.ivan.id if r.department_id == org.cs else org.hanna.id) for r in rows
    )


def test_only_quality_staff_plan_and_a_plan_says_everything_that_is_missing(org, as_user, desk):
    with pytest.raises(Forbidden):
        inspection_plans.create_plan(
            as_user(org.hanna),
            title="Mine",
            checklist_id=desk.id,
            department_ids=[org.cs],
            frequency="weekly",
            starts_on=date(2026, 12, 1),
            inspector_role="member",
        )
    with pytest.raises(Invalid) as refused:
        a_plan(
            org,
            as_user,
            desk,
            title=" ",
            department_ids=[],
            frequency="yearly",
            inspector_ids=[],
            ends_on=date(2026, 1, 1),
        )
    codes = {r.code for r in refused.value.reasons}
    assert codes == {"title", "frequency", "ends_on", "departments", "inspectors"}


def test_two_job_runs_at_once_make_each_inspection_once(
    org, as_user, desk, session, settings, catalog, clock
):
    plan = a_plan(org, as_user, desk)
    session.commit()

    outcomes = race(
        settings,
        catalog,
        clock,
        [(None, inspection_plans.schedule), (None, inspection_plans.schedule)],
    )

    assert outcomes == ["ok", "ok"]
    rows = planned(session, plan.id)
    assert len(rows) == 6
    assert len({(r.department_id, r.due_on) for r in rows}) == 6


def test_a_retired_plan_makes_no_more_inspections(org, as_user, desk, session, clock):
    plan = a_plan(org, as_user, desk, department_ids=[org.cs])
    inspection_plans.schedule(as_user(None))
    inspection_plans.update_plan(as_user(org.fiona), plan.id, version=plan.version, active=False)

    clock.advance(days=40)
    inspection_plans.schedule(as_user(None))

    assert len(planned(session, plan.id)) == 3


# --- spot checks --------------------------------------------------------------------------------


@pytest.fixture
def complaints_in_october(org, as_user, clock):
    ctx = as_user(org.fiona)
    complaints.create_category(ctx, code="WAIT", name="Waiting", threshold=1000)
    start = date(2026, 9, 30)
    items = [
        complaints.ComplaintIn(
            channel="phone",
            category="WAIT",
            text=f"Waited too long ({n})",
            department_id=org.cs if n % 4 else org.it,
            received_at=clock.now - timedelta(days=(clock.today() - start).days - n),
            line=n + 1,
        )
        for n in range(40)
    ]
    complaints.receive_many(ctx, items)


def test_a_spot_check_draws_its_sample_and_an_auditor_draws_the_same_from_the_seed(
    org, as_user, desk, session, complaints_in_october
):
    plan = a_plan(
        org,
        as_user,
        desk,
        department_ids=[org.cs],
        sample_size=5,
        sample_source="complaints",
    )
    inspection_plans.schedule(as_user(None))
    october = next(r for r in planned(session, plan.id) if r.due_on == date(2026, 10, 30))

    again = inspection_plans.redraw(as_user(org.vera), october.id)

    assert (october.sample_from, october.sample_to) == (date(2026, 9, 30), date(2026, 10, 29))
    assert october.sample_seed is not None and len(october.sample) == 5
    cs_complaints = {
        f"CP-{c.id}"
        for c in session.exec(select(Complaint).where(Complaint.department_id == org.cs))
    }
    assert set(october.sample) <= cs_complaints
    assert again.same and again.redrawn == october.sample


def test_another_seed_draws_another_sample_from_the_same_list(
    org, as_user, session, complaints_in_october
):
    cases = inspection_plans.population(
        as_user(None), "complaints", org.cs, date(2026, 9, 30), date(2026, 10, 29)
    )
    samples = {tuple(inspection_plans.draw(cases, 5, seed)) for seed in range(20)}

    assert len(cases) == 22  # 30 days of complaints, one in four of them IT's
    assert len(samples) > 1
    assert all(len(s) == 5 and set(s) <= set(cases) for s in samples)


def test_an_inspection_without_a_sample_cannot_be_redrawn(org, as_user, desk, session):
    plan = a_plan(org, as_user, desk, department_ids=[org.cs])
    inspection_plans.schedule(as_user(None))

    with pytest.raises(Invalid):
        inspection_plans.redraw(as_user(org.vera), planned(session, plan.id)[0].id)


# --- the audit programme and the clauses that fail most -----------------------------------------

PASSING = {
    "logged": "yes",
    "first_reply": 20,
    "closure_confirmed": "yes",
    "kb_current": 5,
    "complaints_recorded": "yes",
}


def submit(org, as_user, inspection, **failed):
    """The inspection's own inspector answers it: PASSING but for `failed`."""
    inspector = next(u for u in (org.fiona, org.frank) if u.id == inspection.inspector_id)
    given = {k: {"value": v} for k, v in {**PASSING, **failed}.items()}
    inspections.submit(as_user(inspector), inspection.id, version=None, answers=given)


def test_the_programme_shows_each_department_by_month_done_overdue_and_planned(
    org, as_user, desk, session
):
    plan = a_plan(org, as_user, desk)
    inspection_plans.schedule(as_user(None))
    rows = planned(session, plan.id)
    september_cs = next(r for r in rows if r.department_id == org.cs and r.due_on.month == 9)
    submit(org, as_user, september_cs, logged="no", complaints_recorded="no")
    october_cs = next(r for r in rows if r.department_id == org.cs and r.due_on.month == 10)
    submit(org, as_user, october_cs, logged="no")

    grid = inspection_programme.programme(as_user(org.vera), 2026)
    pareto = inspection_programme.clause_pareto(as_user(org.vera), 2026)

    cs, it = grid.rows
    assert (cs.code, it.code) == ("CS", "IT")
    cell = lambda c: (c.done, c.overdue, c.planned)  # noqa: E731
    assert [cell(m) for m in cs.months[8:11]] == [(1, 0, 0), (1, 0, 0), (0, 0, 1)]
    assert [cell(m) for m in it.months[8:11]] == [(0, 1, 0), (0, 1, 0), (0, 0, 1)]
    assert cell(grid.totals) == (2, 2, 2)
    assert [(b.clause, b.failures, b.cumulative) for b in pareto] == [
        ("ISO 9001 8.2.1", 2, 66.7),
        ("ISO 9001 9.1.2", 1, 100.0),
    ]


def test_a_long_daily_plan_is_made_a_batch_a_run_and_catches_up_to_today(
    org, as_user, desk, session, monkeypatch
):
    monkeypatch.setattr(inspection_plans, "MAX_PER_RUN", 40)
    plan = a_plan(org, as_user, desk, department_ids=[org.cs], frequency="daily")
    # 30 September to 2 December (today and a week ahead): 64 days.

    runs = [inspection_plans.schedule(as_user(None)) for _ in range(3)]

    dues = [r.due_on for r in planned(session, plan.id)]
    assert runs == [40, 24, 0]
    assert (dues[0], dues[-1], len(set(dues))) == (date(2026, 9, 30), date(2026, 12, 2), 64)


def test_each_plans_pass_rate_by_department_and_quarter_becomes_a_kpi(org, as_user, desk, session):
    plan = a_plan(org, as_user, desk)
    inspection_plans.schedule(as_user(None))
    cs = {r.due_on.month: r for r in planned(session, plan.id) if r.department_id == org.cs}
    it_october = next(
        r for r in planned(session, plan.id) if r.department_id == org.it and r.due_on.month == 10
    )
    submit(org, as_user, cs[9])  # the third quarter: passed
    submit(org, as_user, cs[10])  # the fourth: passed ...
    submit(org, as_user, it_october, logged="no")  # (another department's rate)
    submit(org, as_user, cs[11], logged="no")  # ... then failed: half passed

    session.rollback()
    kpi = session.exec(select(Kpi).where(Kpi.code == f"INSP-{plan.id}-CS")).one()
    points = session.exec(
        select(Measurement).where(Measurement.kpi_id == kpi.id).order_by(Measurement.at)
    ).all()
    assert [p.value for p in points] == [100.0, 100.0, 50.0]
    assert (kpi.perspective, kpi.department_id, kpi.unit) == ("internal_process", org.cs, "%")
    it_kpi = session.exec(select(Kpi).where(Kpi.code == f"INSP-{plan.id}-IT")).one()
    it_points = session.exec(select(Measurement.value).where(Measurement.kpi_id == it_kpi.id))
    assert list(it_points) == [0.0]
    # The rate is read again from the inspections, so an auditor can check a point.
    assert inspection_kpis.pass_rate(as_user(None), plan, org.cs, date(2026, 12, 31)) == 50.0
    assert inspection_kpis.pass_rate(as_user(None), plan, org.cs, date(2026, 8, 1)) == 100.0


# --- skipped with a reason ----------------------------------------------------------------------


def test_a_head_skips_a_due_inspection_with_a_reason_and_the_programme_shows_it_skipped(
    org, as_user, desk, session
):
    plan = a_plan(org, as_user, desk)
    inspection_plans.schedule(as_user(None))
    october_it = next(
        r for r in planned(session, plan.id) if r.department_id == org.it and r.due_on.month == 10
    )
    with pytest.raises(Invalid, match="Say why"):
        inspections.skip(as_user(org.ivan), october_it.id, reason="  ", version=None)

    inspections.skip(as_user(org.ivan), october_it.id, reason="Office move", version=None)

    session.rollback()
    skipped = fresh(session, october_it)
    assert (skipped.status, skipped.skip_reason, skipped.skipped_by_id) == (
        "skipped",
        "Office move",
        org.ivan.id,
    )
    event = session.exec(
        select(Event).where(
            Event.entity_type == "inspection",
            Event.entity_id == october_it.id,
            Event.verb == "skipped",
        )
    ).one()
    assert (event.actor_id, event.note, event.from_value) == (org.ivan.id, "Office move", "planned")
    it = next(
        r for r in inspection_programme.programme(as_user(org.vera), 2026).rows if r.code == "IT"
    )
    assert [(m.skipped, m.overdue) for m in it.months[8:10]] == [(0, 1), (1, 0)]


def test_only_quality_staff_or_the_departments_head_skip_and_never_a_submitted_one(
    org, as_user, desk, session
):
    plan = a_plan(org, as_user, desk)
    inspection_plans.schedule(as_user(None))
    rows = planned(session, plan.id)
    cs_september = next(r for r in rows if r.department_id == org.cs and r.due_on.month == 9)
    it_september = next(r for r in rows if r.department_id == org.it and r.due_on.month == 9)

    for someone in (org.mia, org.vera):  # a member of the department; a viewer
        with pytest.raises(Forbidden):
            inspections.skip(as_user(someone), cs_september.id, reason="Busy", version=None)
    with pytest.raises(Forbidden):  # the head of another department
        inspections.skip(as_user(org.ivan), cs_september.id, reason="Busy", version=None)
    submit(org, as_user, cs_september)
    with pytest.raises(Conflict):
        inspections.skip(as_user(org.fiona), cs_september.id, reason="Late", version=None)
    inspections.skip(
        as_user(org.fiona), it_september.id, reason="Audited by the ISO body", version=None
    )
    assert fresh(session, it_september).status == "skipped"
