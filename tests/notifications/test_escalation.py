"""An overdue action climbs the ladder: owner, then head, then the quality managers."""

from datetime import date, timedelta

import pytest
from sqlmodel import select

from pdca.demo_inspections import SERVICE_DESK_AUDIT
from pdca.models import Notification
from pdca.services import actions, escalation, inspections
from pdca.services.errors import Conflict, Forbidden, Invalid
from pdca.services.notifications import text_of
from tests.services.builders_services import a_cycle_in_do, events_of


def told(session, user, kind) -> list[int]:
    rows = session.exec(
        select(Notification.entity_id).where(
            Notification.user_id == user.id, Notification.kind == kind
        )
    )
    return list(rows)


def test_the_ladder_tells_owner_then_head_then_quality_each_once_in_the_trail(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)  # Mia's rota action is due in 7 days
    rota = built.rota.id
    system = as_user(None)

    clock.advance(days=7)  # the deadline itself: not overdue yet
    escalation.run(system, mail=False)
    assert events_of(session, "action", rota, "escalated") == []

    clock.advance(days=1)  # first day overdue: the owner hears it
    escalation.run(system, mail=False)
    escalation.run(system, mail=False)
    assert told(session, org.mia, "overdue") == [rota]
    assert told(session, org.hanna, "escalated") == []

    clock.advance(days=2)  # 3 days late: the head of Mia's department (Hanna, CS)
    escalation.run(system, mail=False)
    assert told(session, org.hanna, "escalated") == [rota]
    assert told(session, org.ivan, "escalated") == []
    assert told(session, org.fiona, "escalated") == []
    view = escalation.latest_steps(system, [rota])[rota]
    assert escalation.step_text(view, "en") == "Escalated to the head of CS on Dec 5, 2026"

    clock.advance(days=4)  # a week late: the quality managers
    escalation.run(system, mail=False)
    escalation.run(system, mail=False)
    assert told(session, org.fiona, "escalated") == [rota]
    assert told(session, org.frank, "escalated") == [rota]
    assert told(session, org.mia, "overdue") == [rota]  # still only once
    assert told(session, org.hanna, "escalated") == [rota]

    trail = events_of(session, "action", rota, "escalated")
    assert [(e.data["to"], e.data["days_overdue"]) for e in trail] == [
        ("owner", 1),
        ("head", 3),
        ("quality", 7),
    ]
    assert trail[1].data["department"] == "CS"
    assert trail[2].data["recipients"] == sorted([org.fiona.id, org.frank.id])


def test_a_new_deadline_starts_the_ladder_again_and_a_done_action_stops_it(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)
    system = as_user(None)
    clock.advance(days=8)
    escalation.run(system, mail=False)
    actions.update_action(
        as_user(org.fiona),
        built.rota.id,
        version=None,
        changes={"deadline": clock.today() + timedelta(days=1)},
    )
    assert escalation.latest_steps(system, [built.rota.id]) == {}
    clock.advance(days=2)
    escalation.run(system, mail=False)
    assert len(told(session, org.mia, "overdue")) == 2

    actions.fire_action(as_user(org.max), built.ivr.id, trigger="complete", version=None)
    clock.advance(days=30)
    escalation.run(system, mail=False)
    assert events_of(session, "action", built.ivr.id, "escalated") == []


def test_an_administrator_sets_the_ladder_and_wrong_steps_are_named(org, as_user):
    admin = as_user(org.admin)
    assert escalation.ladder(admin).steps == escalation.DEFAULT_STEPS
    with pytest.raises(Forbidden):
        escalation.save_ladder(as_user(org.hanna), version=0, steps=[])
    with pytest.raises(Invalid) as refused:
        escalation.save_ladder(
            admin,
            version=0,
            steps=[{"days": 2, "to": "owner"}, {"days": 1, "to": "head"}, {"days": 5, "to": "ceo"}],
        )
    assert [r.code for r in refused.value.reasons] == ["days_order", "to_invalid"]
    saved = escalation.save_ladder(
        admin, version=0, steps=[{"days": 1, "to": "owner"}, {"days": 2, "to": "quality"}]
    )
    assert saved.version == 1
    with pytest.raises(Conflict):
        escalation.save_ladder(admin, version=0, steps=[{"days": 1, "to": "owner"}])


def test_an_overdue_inspection_climbs_the_same_ladder_each_step_once(org, as_user, clock, session):

    fiona = as_user(org.fiona)
    desk = inspections.create_template(
        fiona, code="SD", title="Service desk audit", title_zh="服务台审核", body=SERVICE_DESK_AUDIT
    )
    # Max (IT) inspects Customer Service; Ivan heads IT.
    due = inspections.create_inspection(
        fiona,
        checklist_id=desk.id,
        department_id=org.cs,
        inspector_id=org.max.id,
        due_on=date(2026, 11, 25),
    )
    system = as_user(None)

    assert escalation.run(system, mail=False) == 0  # due today: not overdue yet
    clock.advance(days=1)
    assert escalation.run(system, mail=False) == 1
    assert told(session, org.max, "overdue") == [due.id]
    clock.advance(days=2)
    assert escalation.run(system, mail=False) == 1
    assert escalation.run(system, mail=False) == 0  # run again: nothing twice
    assert told(session, org.ivan, "escalated") == [due.id]
    assert told(session, org.hanna, "escalated") == []
    clock.advance(days=4)
    assert escalation.run(system, mail=False) == 1
    assert told(session, org.fiona, "escalated") == told(session, org.frank, "escalated")

    steps = events_of(session, "inspection", due.id, "escalated")
    assert [e.data["to"] for e in steps] == ["owner", "head", "quality"]
    note = session.exec(select(Notification).where(Notification.user_id == org.ivan.id)).one()
    assert "服务台审核" in text_of(note.kind, note.params, "zh_CN")
    assert f"I-{due.id}" in text_of(note.kind, note.params, "en")


def test_a_submitted_inspection_is_not_escalated(org, as_user, clock, session):

    fiona = as_user(org.fiona)
    desk = inspections.create_template(
        fiona, code="SD", title="Service desk audit", body=SERVICE_DESK_AUDIT
    )
    due = inspections.create_inspection(
        fiona,
        checklist_id=desk.id,
        department_id=org.cs,
        inspector_id=org.max.id,
        due_on=date(2026, 11, 25),
    )
    answers = {
        "logged": {"value": "yes"},
        "first_reply": {"value": 20},
        "closure_confirmed": {"value": "yes"},
        "kb_current": {"value": 5},
        "complaints_recorded": {"value": "yes"},
    }
    inspections.submit(as_user(org.max), due.id, version=None, answers=answers)
    clock.advance(days=10)

    assert escalation.run(as_user(None), mail=False) == 0
