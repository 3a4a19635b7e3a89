"""A complaint travels through a whole PDCA cycle and its problem ends resolved."""

from datetime import timedelta

from sqlmodel import select

from pdca.models import Event, ProblemStatus
from pdca.services import actions, cycles, problems
from tests.personas import APPROVED_CLOSURE, VERIFIED_EFFECTIVE


def test_a_complaint_is_resolved_by_an_effective_pdca_cycle(org, as_user, clock, session):
    mia, fiona, frank = as_user(org.mia), as_user(org.fiona), as_user(org.frank)
    problem = problems.report_problem(
        mia, title="Callers wait too long at lunchtime", source="complaint", department_id=org.cs
    )
    problems.triage_problem(fiona, problem.id, decision="accept")
    cycle = cycles.open_cycle(
        fiona,
        title="Cut lunchtime waiting",
        workflow="pdca",
        lead_id=org.fiona.id,
        problem_ids=[problem.id],
    )
    cycles.update_cycle_fields(
        fiona,
        cycle.id,
        version=cycle.version,
        changes={
            "objective": "Answer 80% of calls in 20 s",
            "baseline": 61,
            "target": 80,
            "root_cause": "Breaks overlap at noon",
            "success_criterion": "SL >= 80% for 2 weeks",
        },
    )
    rota = actions.add_action(
        fiona,
        cycle.id,
        title="Stagger breaks",
        department_id=org.cs,
        owner_id=org.mia.id,
        deadline=clock.today() + timedelta(days=7),
    )
    ivr = actions.add_action(
        fiona,
        cycle.id,
        title="IVR callback",
        department_id=org.it,
        owner_id=org.max.id,
        deadline=clock.today() + timedelta(days=14),
    )
    cycles.fire_transition(fiona, cycle.id, trigger="start_do", version=cycle.version)
    for action, owner in ((rota, org.mia), (ivr, org.max)):
        actions.fire_action(as_user(owner), action.id, trigger="complete", version=action.version)
        actions.verify_action(
            fiona,
            action.id,
            effective=True,
            note="seen working",
            version=action.version,
            signature=VERIFIED_EFFECTIVE,
        )
    cycles.fire_transition(fiona, cycle.id, trigger="start_check", version=cycle.version)
    cycles.update_cycle_fields(fiona, cycle.id, version=cycle.version, changes={"result": 84})
    cycles.record_effectiveness(
        frank, cycle.id, effective=True, note="two weeks at 84%", version=cycle.version
    )
    cycles.fire_transition(fiona, cycle.id, trigger="start_act", version=cycle.version)
    cycles.update_cycle_fields(
        fiona,
        cycle.id,
        version=cycle.version,
        changes={"standardisation": "Break rota in the staffing SOP"},
    )
    cycles.fire_transition(
        fiona,
        cycle.id,
        trigger="close_effective",
        version=cycle.version,
        signature=APPROVED_CLOSURE,
    )

    assert cycle.state == "closed"
    assert problems.get_problem(fiona, problem.id).status == ProblemStatus.resolved
    trail = session.exec(
        select(Event)
        .where(
            Event.entity_type == "cycle", Event.entity_id == cycle.id, Event.verb == "transition"
        )
        .order_by(Event.id)
    ).all()
    assert [(e.from_value, e.to_value) for e in trail] == [
        ("plan", "do"),
        ("do", "check"),
        ("check", "act"),
        ("act", "closed"),
    ]
    closing = trail[-1]
    assert (closing.actor_id, closing.signature_meaning, closing.signature_method) == (
        org.fiona.id,
        "approved closure",
        "password",
    )
