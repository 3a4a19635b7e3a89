"""An overdue action climbs the ladder: owner, then head, then the quality managers."""

from datetime import timedelta

import pytest
from sqlmodel import select

from pdca.models import Notification
from pdca.services import actions, escalation
from pdca.services.errors import Conflict, Forbidden, Invalid
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
