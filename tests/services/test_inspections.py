"""Inspections: a checklist is filled, scored, and its failed items raise problems once."""

import copy
from datetime import date, timedelta

import pytest
from sqlmodel import select

from pdca.demo_inspections import CALL_CENTRE_SPOT_CHECK, SERVICE_DESK_AUDIT
from pdca.models import (
    Event,
    Inspection,
    InspectionFinding,
    InspectionStatus,
    Kpi,
    Measurement,
    Problem,
    ProblemStatus,
)
from pdca.services import inspections, problems
from pdca.services.errors import Conflict, Forbidden, Invalid
from pdca.web.texts import problem_text
from tests.services.builders_services import count, fresh

ALL_PASS = {
    "logged": "yes",
    "first_reply": 20,
    "closure_confirmed": "yes",
    "kb_current": 5,
    "complaints_recorded": "yes",
    "remarks": "",
}


def answers(**changed: object) -> dict[str, dict[str, object]]:
    return {k: {"value": v, "note": ""} for k, v in {**ALL_PASS, **changed}.items()}


@pytest.fixture
def desk(org, as_user):
    return inspections.create_template(
        as_user(org.fiona),
        code="sd-audit",
        title="Service desk quality audit",
        title_zh="服务台质量审核",
        body=SERVICE_DESK_AUDIT,
    )


def plan(org, as_user, desk, due: date | None = None, inspector=None) -> Inspection:
    return inspections.create_inspection(
        as_user(org.fiona),
        checklist_id=desk.id,
        department_id=org.cs,
        inspector_id=(inspector or org.frank).id,
        due_on=due or date(2026, 11, 30),
    )


def inspection_problems(session) -> list[Problem]:
    return list(session.exec(select(Problem).where(Problem.source == "inspection")))


# --- templates --------------------------------------------------------------------------------


def test_a_facilitator_writes_a_checklist_and_revising_it_keeps_past_inspections_on_theirs(
    org, as_user, desk, session
):
    assert (desk.code, desk.current_version) == ("SD-AUDIT", 1)
    before = plan(org, as_user, desk)
    revised = copy.deepcopy(SERVICE_DESK_AUDIT)
    revised["sections"][0]["items"][0]["weight"] = 5

    desk = inspections.revise_template(
        as_user(org.fiona), desk.id, version=desk.version, body=revised
    )

    after = plan(org, as_user, desk)
    assert desk.current_version == 2
    old, new = (
        inspections.sheet(as_user(org.frank), before.id),
        inspections.sheet(as_user(org.frank), after.id),
    )
    assert (old.checklist_version.number, old.items[0].weight) == (1, 2.0)
    assert (new.checklist_version.number, new.items[0].weight) == (2, 5.0)


def test_a_checklist_with_bad_items_is_refused_with_every_reason(org, as_user, session):
    body = {
        "sections": [
            {
                "title": {"en": "One"},
                "items": [
                    {"id": "a", "question": {"en": "Q"}, "clause": "X", "kind": "score"},
                    {"id": "a", "question": {"en": "Q"}, "clause": "", "kind": "dance"},
                    {"id": "n", "question": {"en": "Q"}, "clause": "X", "kind": "number"},
                ],
            }
        ]
    }
    with pytest.raises(Invalid) as refused:
        inspections.create_template(as_user(org.fiona), code="X", title="X", body=body)

    text = " | ".join(r.message for r in refused.value.reasons)
    assert "max_score" in text
    assert "used twice" in text
    assert "name the clause" in text
    assert "kind must be one of" in text
    assert "minimum or a maximum" in text
    assert count(session, Problem) == 0


def test_only_quality_staff_write_checklists(org, as_user):
    with pytest.raises(Forbidden):
        inspections.create_template(
            as_user(org.hanna), code="X", title="X", body=SERVICE_DESK_AUDIT
        )


# --- filling, scoring, acknowledging ----------------------------------------------------------


def test_answers_saved_as_the_inspector_goes_start_the_inspection(org, as_user, desk, session):
    inspection = plan(org, as_user, desk)

    saved = inspections.save_answers(
        as_user(org.frank),
        inspection.id,
        answers={"logged": {"value": "yes", "note": ""}},
        version=inspection.version,
    )
    saved = inspections.save_answers(
        as_user(org.frank),
        inspection.id,
        answers={"kb_current": {"value": "4", "note": "two pages old"}},
        version=saved.version,
    )

    stored = fresh(session, saved)
    assert stored.status == InspectionStatus.in_progress
    assert stored.answers == {
        "logged": {"value": "yes", "note": ""},
        "kb_current": {"value": 4, "note": "two pages old"},
    }


def test_only_the_named_inspector_fills_it_in(org, as_user, desk):
    inspection = plan(org, as_user, desk)
    with pytest.raises(Forbidden):
        inspections.save_answers(as_user(org.fiona), inspection.id, answers=answers(), version=None)


def test_a_wrong_answer_is_refused_and_names_the_question(org, as_user, desk, session):
    inspection = plan(org, as_user, desk)
    with pytest.raises(Invalid) as refused:
        inspections.save_answers(
            as_user(org.frank),
            inspection.id,
            answers={"kb_current": {"value": "9"}, "logged": {"value": "maybe"}},
            version=None,
        )
    text = " | ".join(r.message for r in refused.value.reasons)
    assert "How current is the knowledge base" in text
    assert "Answer yes, no or not applicable." in text
    assert fresh(session, inspection).answers == {}


def test_submitting_needs_every_item_answered(org, as_user, desk):
    inspection = plan(org, as_user, desk)
    with pytest.raises(Invalid) as refused:
        inspections.submit(
            as_user(org.frank), inspection.id, version=None, answers={"logged": {"value": "yes"}}
        )
    assert len(refused.value.reasons) == 4  # every scored item but one; the remark may stay empty


def test_the_score_weighs_each_item_and_a_failed_item_fails_the_inspection(
    org, as_user, desk, session
):
    inspection = plan(org, as_user, desk)

    # weights: logged 2, first_reply 1, closure 1, kb 1 (3/5 passes), complaints 2: total 7
    done = inspections.submit(
        as_user(org.frank),
        inspection.id,
        version=None,
        answers=answers(logged="no", kb_current=3),
    )

    assert done.status == InspectionStatus.submitted
    assert done.score == pytest.approx(round(100 * (1 + 1 + 0.6 + 2) / 7, 1))
    assert (done.passed, done.failed_items) == (False, 1)


def test_not_applicable_items_leave_the_score(org, as_user, desk):
    inspection = plan(org, as_user, desk)
    done = inspections.submit(
        as_user(org.frank),
        inspection.id,
        version=None,
        answers=answers(logged="na", complaints_recorded="na", first_reply=20),
    )
    assert (done.score, done.passed) == (100.0, True)


def test_the_head_of_the_department_acknowledges_a_submitted_inspection(
    org, as_user, desk, session
):
    inspection = plan(org, as_user, desk)
    with pytest.raises(Conflict):
        inspections.acknowledge(as_user(org.hanna), inspection.id, version=None)
    inspections.submit(as_user(org.frank), inspection.id, version=None, answers=answers())
    with pytest.raises(Forbidden):
        inspections.acknowledge(as_user(org.ivan), inspection.id, version=None)

    done = inspections.acknowledge(
        as_user(org.hanna), inspection.id, version=None, note="Discussed at the huddle"
    )

    assert (done.status, done.acknowledged_by_id) == (InspectionStatus.acknowledged, org.hanna.id)
    verbs = [
        e.verb
        for e in session.exec(
            select(Event).where(Event.entity_type == "inspection", Event.entity_id == inspection.id)
        )
    ]
    assert verbs == ["planned", "submitted", "acknowledged"]


def test_due_inspections_are_the_inspectors_and_submitted_ones_the_heads(org, as_user, desk):
    first = plan(org, as_user, desk, due=date(2026, 11, 20))
    plan(org, as_user, desk, due=date(2026, 12, 20))
    due = inspections.due_for(as_user(org.frank), org.frank)
    assert [line.inspection.due_on for line in due] == [date(2026, 11, 20), date(2026, 12, 20)]
    assert inspections.is_overdue(first, date(2026, 11, 25))
    inspections.submit(as_user(org.frank), first.id, version=None, answers=answers())

    assert len(inspections.due_for(as_user(org.frank), org.frank)) == 1
    assert [
        line.inspection.id for line in inspections.to_acknowledge(as_user(org.hanna), org.hanna)
    ] == [first.id]
    assert inspections.to_acknowledge(as_user(org.ivan), org.ivan) == []


# --- findings raise problems --------------------------------------------------------------------


def test_each_failed_clause_raises_one_problem_naming_the_clause(org, as_user, desk, session):
    inspection = plan(org, as_user, desk)

    inspections.submit(
        as_user(org.frank),
        inspection.id,
        version=None,
        answers={
            **answers(complaints_recorded="no", first_reply=95),
            "first_reply": {"value": 95, "note": "Ticket 4411 waited 95 minutes"},
        },
    )

    raised = sorted(inspection_problems(session), key=lambda p: p.title)
    assert [(p.title, p.severity, p.department_id) for p in raised] == [
        (
            "ISO 9001 9.1.2 failed: Are complaints recorded with their cause and the reply given?",
            "high",
            org.cs,
        ),
        ("SLA 2.1 failed: Minutes to the first reply on the oldest open ticket", "medium", org.cs),
    ]
    sla = raised[1]
    assert "Ticket 4411 waited 95 minutes" in sla.evidence
    assert sla.reported_by_id == org.frank.id
    zh = problem_text(sla, "zh_CN")
    assert zh.title.startswith("SLA 2.1") and "最早未关闭工单" in zh.title
    assert {f.item_id for f in inspections.findings_of(as_user(org.frank), inspection.id)} == {
        "complaints_recorded",
        "first_reply",
    }


def test_two_items_of_one_clause_failing_make_one_problem_with_two_occurrences(
    org, as_user, desk, session
):
    inspection = plan(org, as_user, desk)
    inspections.submit(
        as_user(org.frank),
        inspection.id,
        version=None,
        answers=answers(logged="no", closure_confirmed="no"),  # both ISO 9001 8.2.1
    )
    [problem] = inspection_problems(session)
    assert (problem.occurrences, problem.severity) == (2, "high")


def test_the_same_clause_failing_again_adds_an_occurrence_while_its_problem_is_open(
    org, as_user, desk, clock, session
):
    first = plan(org, as_user, desk)
    inspections.submit(
        as_user(org.frank), first.id, version=None, answers=answers(complaints_recorded="no")
    )
    [problem] = inspection_problems(session)
    clock.advance(days=30)
    second = plan(org, as_user, desk, due=clock.today())

    inspections.submit(
        as_user(org.frank), second.id, version=None, answers=answers(complaints_recorded="no")
    )

    [again] = inspection_problems(session)
    assert again.id == problem.id
    assert (fresh(session, again).occurrences, fresh(session, again).last_occurrence_at) == (
        2,
        clock.now,
    )
    occurred = session.exec(
        select(Event).where(
            Event.entity_type == "problem", Event.entity_id == problem.id, Event.verb == "occurred"
        )
    ).one()
    assert occurred.data["inspection_id"] == second.id


def test_a_clause_failing_in_another_department_is_another_problem(org, as_user, desk, session):
    first = plan(org, as_user, desk)
    other = inspections.create_inspection(
        as_user(org.fiona),
        checklist_id=desk.id,
        department_id=org.it,
        inspector_id=org.frank.id,
        due_on=date(2026, 11, 30),
    )
    for inspection in (first, other):
        inspections.submit(
            as_user(org.frank), inspection.id, version=None, answers=answers(logged="no")
        )
    assert sorted(p.department_id for p in inspection_problems(session)) == sorted([org.cs, org.it])


def test_once_its_problem_is_closed_the_clause_failing_again_raises_a_new_problem(
    org, as_user, desk, session
):
    first = plan(org, as_user, desk)
    inspections.submit(as_user(org.frank), first.id, version=None, answers=answers(logged="no"))
    [problem] = inspection_problems(session)
    problems.triage_problem(
        as_user(org.fiona), problem.id, decision="reject", reason="Audit sample was wrong"
    )
    second = plan(org, as_user, desk)

    inspections.submit(as_user(org.frank), second.id, version=None, answers=answers(logged="no"))

    statuses = sorted(p.status for p in inspection_problems(session))
    assert statuses == [ProblemStatus.new, ProblemStatus.rejected]


def test_a_race_lost_on_the_open_problem_counts_an_occurrence(
    org, as_user, desk, session, monkeypatch
):
    """Another submission raised the problem between our look and our insert."""
    first = plan(org, as_user, desk)
    second = plan(org, as_user, desk)
    inspections.submit(as_user(org.frank), first.id, version=None, answers=answers(logged="no"))
    [problem] = inspection_problems(session)

    looked, calls = inspections._open_problem, []

    def blind_at_first(ctx, finding):
        calls.append(finding)
        return None if len(calls) == 1 else looked(ctx, finding)

    monkeypatch.setattr(inspections, "_open_problem", blind_at_first)
    inspections.submit(as_user(org.frank), second.id, version=None, answers=answers(logged="no"))

    assert len(calls) == 2  # looked, lost the insert to the index, looked again

    assert [p.id for p in inspection_problems(session)] == [problem.id]
    assert fresh(session, problem).occurrences == 2
    assert count(session, InspectionFinding) == 2


def test_a_spot_check_with_a_number_outside_its_limits_fails(org, as_user, session):
    calls = inspections.create_template(
        as_user(org.fiona), code="CC", title="Call-centre spot check", body=CALL_CENTRE_SPOT_CHECK
    )
    inspection = inspections.create_inspection(
        as_user(org.fiona),
        checklist_id=calls.id,
        department_id=org.cs,
        inspector_id=org.frank.id,
        due_on=date(2026, 11, 25) + timedelta(days=1),
    )
    done = inspections.submit(
        as_user(org.frank),
        inspection.id,
        version=None,
        answers={
            "greeting": {"value": "yes"},
            "identity": {"value": "yes"},
            "courtesy": {"value": 3},
            "hold_seconds": {"value": 180},
        },
    )
    [problem] = inspection_problems(session)
    assert problem.title.startswith("CC-STD 3.2 failed")
    assert done.score == pytest.approx(round(100 * (1 + 3 + 0.6) / 6, 1))


# --- scores feed a KPI --------------------------------------------------------------------------


def test_each_submitted_score_becomes_a_point_of_the_checklists_kpi_for_the_department(
    org, as_user, desk, session, clock
):
    good = plan(org, as_user, desk)
    inspections.submit(as_user(org.frank), good.id, version=None, answers=answers())
    clock.advance(days=30)
    poor = plan(org, as_user, desk, due=date(2026, 12, 30))
    inspections.submit(
        as_user(org.frank),
        poor.id,
        version=None,
        answers=answers(logged="no", closure_confirmed="no", first_reply=300, kb_current=1),
    )

    session.rollback()
    kpi = session.exec(select(Kpi).where(Kpi.code == f"INS-{desk.id}-CS")).one()
    points = session.exec(
        select(Measurement).where(Measurement.kpi_id == kpi.id).order_by(Measurement.at)
    ).all()
    scores = [fresh(session, i).score for i in (good, poor)]
    assert (kpi.perspective, kpi.department_id, kpi.target) == ("internal_process", org.cs, 80)
    assert [p.value for p in points] == scores and scores[1] < kpi.breach_limit
    # Watched like any KPI: the poor score is a breach of its limit.
    breach = session.exec(
        select(Problem).where(Problem.source == "kpi", Problem.kpi_id == kpi.id)
    ).one()
    assert breach.status == ProblemStatus.new
