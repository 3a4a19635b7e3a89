"""A department head changes several actions in one go; each is its own write."""

from datetime import timedelta

import pytest

from pdca.models import ActionStatus
from pdca.services import actions, bulk
from pdca.services.errors import Invalid
from tests.services.builders_services import a_cycle_in_do, events_of


def test_a_head_re_dates_several_actions_each_with_its_own_audit_event(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)
    fiona = as_user(org.fiona)  # the cycle's lead manages both actions
    new = clock.today() + timedelta(days=40)

    outcome = bulk.apply(
        fiona,
        [
            bulk.Picked(built.rota.id, built.rota.version),
            bulk.Picked(built.ivr.id, built.ivr.version),
        ],
        "redate",
        deadline=new,
        note="Audit moved to January",
    )

    assert outcome.done == [built.rota.id, built.ivr.id] and outcome.refused == []
    for action in (built.rota, built.ivr):
        session.refresh(action)
        assert action.deadline == new
        (changed,) = [e for e in events_of(session, "action", action.id) if e.field == "deadline"]
        assert changed.note == "Audit moved to January"


def test_a_stale_card_is_refused_with_its_reason_and_the_others_still_change(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)
    stale = built.ivr.version
    actions.update_action(
        as_user(org.fiona), built.ivr.id, version=stale, changes={"title": "Renamed meanwhile"}
    )

    outcome = bulk.apply(
        as_user(org.fiona),
        [bulk.Picked(built.rota.id, built.rota.version), bulk.Picked(built.ivr.id, stale)],
        "start",
    )

    assert outcome.done == [built.rota.id]
    ((refused_id, why),) = outcome.refused
    assert refused_id == built.ivr.id and why.status_hint == 409
    session.refresh(built.rota)
    session.refresh(built.ivr)
    assert built.rota.status == ActionStatus.in_progress
    assert built.ivr.status == ActionStatus.open


def test_a_member_cannot_bulk_reassign_what_only_a_head_may(org, as_user, clock, session):
    built = a_cycle_in_do(org, as_user, clock)

    outcome = bulk.apply(
        as_user(org.mia),
        [bulk.Picked(built.rota.id, built.rota.version)],
        "reassign",
        owner_id=org.max.id,
    )

    assert outcome.done == []
    assert outcome.refused[0][1].status_hint == 403
    session.refresh(built.rota)
    assert built.rota.owner_id == org.mia.id


@pytest.mark.parametrize(
    ("operation", "extra", "reason"),
    [
        ("teleport", {}, "Choose what to do"),
        ("reassign", {}, "Choose the new owner"),
        ("redate", {}, "Choose the new deadline"),
    ],
)
def test_a_bulk_edit_without_what_it_needs_is_refused_before_touching_anything(
    org, as_user, clock, operation, extra, reason
):
    built = a_cycle_in_do(org, as_user, clock)
    with pytest.raises(Invalid, match=reason):
        bulk.apply(
            as_user(org.fiona), [bulk.Picked(built.rota.id, built.rota.version)], operation, **extra
        )
