"""Actions across departments: heads steer them, owners work them, someone else verifies."""

from datetime import timedelta

import pytest

from pdca.models import ActionDependency, ActionStatus, Event
from pdca.services import actions, cycles, queries
from pdca.services.errors import Conflict, Forbidden, Invalid, NotFound, Refused
from pdca.services.keys import key
from pdca.services.queries import ActionFilter, Paging
from tests.services.builders_services import (
    a_closed_cycle,
    a_colleague,
    a_cycle_in_do,
    a_planned_cycle,
    count,
    events_of,
    fresh,
    signed,
)

EFFECTIVE, NOT_EFFECTIVE = signed("verified effective"), signed("verified not effective")


def messages(exc_info: pytest.ExceptionInfo) -> list[str]:
    return [r.message for r in exc_info.value.reasons]


# --- steering: reassign and re-date -------------------------------------------


def test_a_head_reassigns_an_overdue_action_of_their_department_and_redates_it(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)
    mo = a_colleague(as_user, "Mo Member", "CS")
    old_deadline = built.rota.deadline
    clock.advance(days=10)  # the rota was due in 7 days: now it is overdue
    new_deadline = clock.today() + timedelta(days=5)

    actions.update_action(
        as_user(org.hanna),
        built.rota.id,
        version=built.rota.version,
        changes={"owner_id": mo.id, "deadline": new_deadline, "title": "Stagger breaks"},
        note="Mia is on leave",
    )

    stored = fresh(session, built.rota)
    assert (stored.owner_id, stored.deadline) == (mo.id, new_deadline)
    changes = events_of(session, "action", built.rota.id, "field_changed")
    # One event per field that really changed (the title did not), each with the reason.
    assert [(e.field, e.from_value, e.to_value, e.note, e.actor_id) for e in changes] == [
        ("owner_id", str(org.mia.id), str(mo.id), "Mia is on leave", org.hanna.id),
        (
            "deadline",
            old_deadline.isoformat(),
            new_deadline.isoformat(),
            "Mia is on leave",
            org.hanna.id,
        ),
    ]


def test_an_overdue_action_can_be_reassigned_without_moving_its_deadline(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)
    clock.advance(days=10)

    actions.update_action(
        as_user(org.hanna),
        built.rota.id,
        version=built.rota.version,
        changes={"owner_id": org.hanna.id, "deadline": built.rota.deadline},
    )

    assert fresh(session, built.rota).owner_id == org.hanna.id


def test_the_head_of_another_department_cannot_reassign_the_action(org, as_user, clock, session):
    built = a_cycle_in_do(org, as_user, clock)

    with pytest.raises(Forbidden) as refused:
        actions.update_action(
            as_user(org.ivan),
            built.rota.id,
            version=built.rota.version,
            changes={"owner_id": org.max.id},
        )

    assert refused.value.detail == (
        "Only the head of the responsible department, the cycle's lead and facilitators can "
        "reassign, re-date, cancel or reopen this action."
    )
    assert fresh(session, built.rota).owner_id == org.mia.id
    assert events_of(session, "action", built.rota.id, "field_changed") == []


def test_a_head_cannot_push_an_action_into_a_department_they_do_not_head(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)

    with pytest.raises(Forbidden):
        actions.update_action(
            as_user(org.hanna),
            built.rota.id,
            version=built.rota.version,
            changes={"department_id": org.it, "owner_id": org.max.id},
        )

    assert fresh(session, built.rota).department_id == org.cs


def test_a_member_cannot_reassign_even_their_own_action(org, as_user, clock, session):
    built = a_cycle_in_do(org, as_user, clock)

    with pytest.raises(Forbidden):
        actions.update_action(
            as_user(org.mia),
            built.rota.id,
            version=built.rota.version,
            changes={"deadline": clock.today() + timedelta(days=30)},
        )


# --- working: start and complete ----------------------------------------------


def test_a_member_starts_and_completes_their_own_action(org, as_user, clock, session):
    built = a_cycle_in_do(org, as_user, clock)
    mia = as_user(org.mia)

    actions.fire_action(mia, built.rota.id, trigger="start", version=built.rota.version)
    clock.advance(days=2)
    actions.fire_action(mia, built.rota.id, trigger="complete", version=built.rota.version)

    stored = fresh(session, built.rota)
    assert (stored.status, stored.done_at) == (ActionStatus.done, clock.now)
    trail = [
        (e.verb, e.from_value, e.to_value, e.actor_id)
        for e in events_of(session, "action", built.rota.id)
        if e.verb in ("start", "complete")
    ]
    assert trail == [
        ("start", "open", "in_progress", org.mia.id),
        ("complete", "in_progress", "done", org.mia.id),
    ]


def test_a_member_cannot_work_on_someone_elses_action(org, as_user, clock, session):
    built = a_cycle_in_do(org, as_user, clock)

    for trigger in ("start", "complete"):
        with pytest.raises(Forbidden) as refused:
            actions.fire_action(
                as_user(org.mia), built.ivr.id, trigger=trigger, version=built.ivr.version
            )
        assert (
            refused.value.detail == "Only the owner of this action and its managers can work on it."
        )
    assert fresh(session, built.ivr).status == ActionStatus.open


def test_an_action_cannot_be_completed_while_an_action_it_depends_on_is_open(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)
    script = actions.add_action(
        as_user(org.fiona),
        built.cycle.id,
        title="Update the call script for callbacks",
        department_id=org.cs,
        owner_id=org.mia.id,
        deadline=clock.today() + timedelta(days=20),
        depends_on=[built.ivr.id],
    )
    mia = as_user(org.mia)

    with pytest.raises(Refused) as refused:
        actions.fire_action(mia, script.id, trigger="complete", version=script.version)

    blocked, blocker = key("action", script.id), key("action", built.ivr.id)
    assert (blocked, blocker) == ("A-3", "A-2")
    assert messages(refused) == ["A-3 is blocked: 1 action it depends on is still open: A-2."]
    assert fresh(session, script).status == ActionStatus.open

    actions.fire_action(
        as_user(org.max), built.ivr.id, trigger="complete", version=built.ivr.version
    )
    actions.fire_action(mia, script.id, trigger="complete", version=script.version)

    assert fresh(session, script).status == ActionStatus.done


def test_starting_an_action_blocked_by_an_open_one_is_refused_with_the_blocker_named(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)
    script = actions.add_action(
        as_user(org.fiona),
        built.cycle.id,
        title="Update the call script for callbacks",
        department_id=org.cs,
        owner_id=org.mia.id,
        depends_on=[built.ivr.id],
    )
    mia = as_user(org.mia)

    with pytest.raises(Refused) as refused:
        actions.fire_action(mia, script.id, trigger="start", version=script.version)

    assert messages(refused) == ["A-3 is blocked: 1 action it depends on is still open: A-2."]
    assert fresh(session, script).status == ActionStatus.open
    start = next(o for o in actions.action_options(mia, script.id) if o[0] == "start")
    assert [r.message for r in start[2]] == [
        "A-3 is blocked: 1 action it depends on is still open: A-2."
    ]

    actions.fire_action(
        as_user(org.max), built.ivr.id, trigger="complete", version=built.ivr.version
    )
    actions.fire_action(mia, script.id, trigger="start", version=script.version)

    assert fresh(session, script).status == ActionStatus.in_progress


def test_dependency_loops_are_refused(org, as_user, clock, session):
    built = a_cycle_in_do(org, as_user, clock)
    fiona = as_user(org.fiona)
    actions.add_dependency(fiona, built.ivr.id, built.rota.id)
    links = count(session, ActionDependency)

    with pytest.raises(Invalid) as refused:
        actions.add_dependency(fiona, built.rota.id, built.ivr.id)

    rota, ivr = key("action", built.rota.id), key("action", built.ivr.id)
    assert refused.value.detail == (
        f"{rota} cannot depend on {ivr}: that would make a loop: {rota} → {ivr} → {rota}."
    )
    assert count(session, ActionDependency) == links


def test_a_longer_dependency_loop_is_refused_too(org, as_user, clock, session):
    built = a_cycle_in_do(org, as_user, clock)
    fiona = as_user(org.fiona)
    third = actions.add_action(
        fiona,
        built.cycle.id,
        title="Train agents",
        department_id=org.cs,
        owner_id=org.mia.id,
        depends_on=[built.ivr.id],
    )
    actions.add_dependency(fiona, built.ivr.id, built.rota.id)  # third → ivr → rota

    with pytest.raises(Invalid) as refused:
        actions.add_dependency(fiona, built.rota.id, third.id)

    assert refused.value.detail == (
        "A-1 cannot depend on A-3: that would make a loop: A-1 → A-3 → A-2 → A-1."
    )


def test_a_head_adds_and_removes_a_dependency_of_their_departments_action_after_creation(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)
    hanna = as_user(org.hanna)
    version = built.rota.version

    actions.add_dependency(hanna, built.rota.id, built.ivr.id, version=version)
    links = actions.dependency_links(hanna, [built.rota.id, built.ivr.id])
    assert [(d.key, d.status) for d in links[built.rota.id].depends_on] == [("A-2", "open")]
    assert [d.key for d in links[built.ivr.id].blocks] == ["A-1"]
    assert fresh(session, built.rota).version == version + 1

    # The version read before the change is stale now: the change is refused, not lost.
    with pytest.raises(Conflict):
        actions.remove_dependency(hanna, built.rota.id, built.ivr.id, version=version)

    actions.remove_dependency(hanna, built.rota.id, built.ivr.id, version=version + 1)

    assert actions.dependency_links(hanna, [built.rota.id])[built.rota.id].depends_on == []
    trail = [
        (e.verb, e.data["depends_on"], e.actor_id)
        for e in events_of(session, "action", built.rota.id)
        if e.verb.startswith("dependency")
    ]
    assert trail == [
        ("dependency_added", "A-2", org.hanna.id),
        ("dependency_removed", "A-2", org.hanna.id),
    ]


def test_replacing_the_dependencies_records_each_link_added_and_removed(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)
    fiona = as_user(org.fiona)
    third = actions.add_action(
        fiona, built.cycle.id, title="Train agents", department_id=org.cs, depends_on=[built.ivr.id]
    )

    actions.set_dependencies(fiona, third.id, [built.rota.id], version=third.version)

    assert [d.key for d in actions.dependency_links(fiona, [third.id])[third.id].depends_on] == [
        "A-1"
    ]
    verbs = [
        (e.verb, e.data["depends_on"])
        for e in events_of(session, "action", third.id)
        if e.verb.startswith("dependency")
    ]
    assert verbs == [
        ("dependency_added", "A-2"),
        ("dependency_removed", "A-2"),
        ("dependency_added", "A-1"),
    ]


def test_the_head_of_another_department_cannot_change_what_an_action_depends_on(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)

    with pytest.raises(Forbidden):
        actions.add_dependency(as_user(org.ivan), built.rota.id, built.ivr.id)

    assert count(session, ActionDependency) == 0


def test_removing_a_dependency_that_does_not_exist_is_not_found(org, as_user, clock):
    built = a_cycle_in_do(org, as_user, clock)

    with pytest.raises(NotFound, match="A-1 does not depend on A-2"):
        actions.remove_dependency(as_user(org.fiona), built.rota.id, built.ivr.id)


def test_an_action_cannot_depend_on_itself(org, as_user, clock, session):
    built = a_cycle_in_do(org, as_user, clock)

    with pytest.raises(Invalid, match=f"{key('action', built.rota.id)} cannot depend on itself"):
        actions.add_dependency(as_user(org.fiona), built.rota.id, built.rota.id)

    assert count(session, ActionDependency) == 0


# --- verification ---------------------------------------------------------------


def test_the_verifier_is_never_the_owner_even_a_facilitator_who_owns_it(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)
    fiona = as_user(org.fiona)
    own = actions.add_action(
        fiona,
        built.cycle.id,
        title="Publish the new rota",
        department_id=org.cs,
        owner_id=org.fiona.id,
        deadline=clock.today() + timedelta(days=3),
    )
    actions.fire_action(fiona, own.id, trigger="complete", version=own.version)

    with pytest.raises(Forbidden) as refused:
        actions.verify_action(
            fiona, own.id, effective=True, note="works", version=own.version, signature=EFFECTIVE
        )

    assert refused.value.detail == "The owner of an action cannot verify it; someone else must."
    assert fresh(session, own).status == ActionStatus.done

    actions.verify_action(
        as_user(org.frank),
        own.id,
        effective=True,
        note="ok",
        version=own.version,
        signature=EFFECTIVE,
    )

    stored = fresh(session, own)
    assert (stored.status, stored.verified_by_id) == (ActionStatus.verified, org.frank.id)


def test_a_member_cannot_verify_an_action(org, as_user, clock):
    built = a_cycle_in_do(org, as_user, clock)
    actions.fire_action(
        as_user(org.max), built.ivr.id, trigger="complete", version=built.ivr.version
    )

    with pytest.raises(Forbidden, match="Only facilitators and administrators verify actions"):
        actions.verify_action(
            as_user(org.mia),
            built.ivr.id,
            effective=True,
            note="ok",
            version=built.ivr.version,
            signature=EFFECTIVE,
        )


def test_an_action_not_effective_needs_a_note_and_goes_back_to_open_with_the_verification(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)
    actions.fire_action(
        as_user(org.mia), built.rota.id, trigger="complete", version=built.rota.version
    )
    frank = as_user(org.frank)

    with pytest.raises(Invalid) as refused:
        actions.verify_action(
            frank,
            built.rota.id,
            effective=False,
            note=" ",
            version=built.rota.version,
            signature=NOT_EFFECTIVE,
        )
    assert messages(refused) == ["A note is required."]
    assert fresh(session, built.rota).status == ActionStatus.done

    clock.advance(days=1)
    actions.verify_action(
        frank,
        built.rota.id,
        effective=False,
        note="Queues still long at 12:30",
        version=built.rota.version,
        signature=NOT_EFFECTIVE,
    )

    stored = fresh(session, built.rota)
    assert (stored.status, stored.done_at) == (ActionStatus.open, None)
    assert (
        stored.verified_by_id,
        stored.verified_at,
        stored.verification_effective,
        stored.verification_note,
    ) == (org.frank.id, clock.now, False, "Queues still long at 12:30")
    [event] = events_of(session, "action", built.rota.id, "reopen")
    assert (event.from_value, event.to_value, event.note, event.actor_id) == (
        "done",
        "open",
        "Queues still long at 12:30",
        org.frank.id,
    )
    assert event.data["verification_effective"] is False


def test_an_action_that_is_not_done_cannot_be_verified(org, as_user, clock):
    built = a_cycle_in_do(org, as_user, clock)

    with pytest.raises(Refused) as refused:
        actions.verify_action(
            as_user(org.fiona),
            built.rota.id,
            effective=True,
            note="ok",
            version=built.rota.version,
            signature=EFFECTIVE,
        )

    assert messages(refused) == [f"{key('action', built.rota.id)} is open, not done."]


# --- cancel, reopen ---------------------------------------------------------------


def test_cancelling_an_action_needs_a_reason(org, as_user, clock, session):
    built = a_cycle_in_do(org, as_user, clock)
    hanna = as_user(org.hanna)

    with pytest.raises(Refused) as refused:
        actions.fire_action(hanna, built.rota.id, trigger="cancel", version=built.rota.version)
    assert messages(refused) == ["Give a reason."]
    assert fresh(session, built.rota).status == ActionStatus.open

    actions.fire_action(
        hanna,
        built.rota.id,
        trigger="cancel",
        version=built.rota.version,
        note="The IVR callback makes it unnecessary",
    )

    stored = fresh(session, built.rota)
    assert (stored.status, stored.cancel_reason) == (
        ActionStatus.cancelled,
        "The IVR callback makes it unnecessary",
    )


def test_the_owner_cannot_cancel_their_own_action(org, as_user, clock):
    built = a_cycle_in_do(org, as_user, clock)

    with pytest.raises(Forbidden):
        actions.fire_action(
            as_user(org.mia),
            built.rota.id,
            trigger="cancel",
            note="bored",
            version=built.rota.version,
        )


def test_reopening_an_action_needs_a_reason(org, as_user, clock, session):
    built = a_cycle_in_do(org, as_user, clock)
    actions.fire_action(
        as_user(org.mia), built.rota.id, trigger="complete", version=built.rota.version
    )
    hanna = as_user(org.hanna)

    with pytest.raises(Refused) as refused:
        actions.fire_action(
            hanna, built.rota.id, trigger="reopen", note="", version=built.rota.version
        )
    assert messages(refused) == ["Give a reason."]
    assert fresh(session, built.rota).status == ActionStatus.done

    actions.fire_action(
        hanna,
        built.rota.id,
        trigger="reopen",
        note="Lunch cover missing on Fridays",
        version=built.rota.version,
    )

    stored = fresh(session, built.rota)
    assert (stored.status, stored.done_at) == (ActionStatus.open, None)


# --- deadlines ----------------------------------------------------------------------


def test_a_new_action_cannot_have_a_deadline_in_the_past(org, as_user, clock, session):
    built = a_planned_cycle(org, as_user, clock)
    yesterday = clock.today() - timedelta(days=1)
    before = count(session, Event)

    with pytest.raises(Invalid) as refused:
        actions.add_action(
            as_user(org.fiona),
            built.cycle.id,
            title="Too late",
            department_id=org.cs,
            owner_id=org.mia.id,
            deadline=yesterday,
        )

    assert refused.value.detail == (
        f"The deadline {yesterday.isoformat()} is in the past; choose today or a later day."
    )
    assert count(session, Event) == before
    # Today itself is fine.
    actions.add_action(
        as_user(org.fiona),
        built.cycle.id,
        title="Just in time",
        department_id=org.cs,
        owner_id=org.mia.id,
        deadline=clock.today(),
    )


def test_an_action_cannot_be_redated_into_the_past(org, as_user, clock, session):
    built = a_cycle_in_do(org, as_user, clock)
    clock.advance(days=3)

    with pytest.raises(Invalid, match="is in the past"):
        actions.update_action(
            as_user(org.hanna),
            built.rota.id,
            version=built.rota.version,
            changes={"deadline": clock.today() - timedelta(days=1)},
        )

    assert fresh(session, built.rota).deadline == built.rota.deadline


# --- frozen and read-only ---------------------------------------------------------------


def test_the_actions_of_a_cancelled_cycle_are_frozen(org, as_user, clock, session):
    built = a_cycle_in_do(org, as_user, clock)
    fiona = as_user(org.fiona)
    cycles.fire_transition(
        fiona, built.cycle.id, trigger="cancel", note="Merged into C-9", version=built.cycle.version
    )
    before = count(session, Event)

    with pytest.raises(Conflict, match="its actions are frozen"):
        actions.fire_action(
            as_user(org.mia), built.rota.id, trigger="start", version=built.rota.version
        )
    with pytest.raises(Conflict):
        actions.update_action(
            as_user(org.hanna),
            built.rota.id,
            version=built.rota.version,
            changes={"deadline": clock.today() + timedelta(days=30)},
        )
    with pytest.raises(Conflict):
        actions.add_dependency(fiona, built.rota.id, built.ivr.id)
    with pytest.raises(Conflict, match="it takes no new actions"):
        actions.add_action(fiona, built.cycle.id, title="One more", department_id=org.cs)

    assert count(session, Event) == before
    assert fresh(session, built.rota).deadline == built.rota.deadline


def test_the_actions_of_a_closed_cycle_are_frozen(org, as_user, clock, session):
    built = a_closed_cycle(org, as_user, clock)
    assert built.cycle.state == "closed"

    with pytest.raises(Conflict, match="its actions are frozen"):
        actions.fire_action(
            as_user(org.hanna),
            built.rota.id,
            trigger="reopen",
            note="again",
            version=built.rota.version,
        )

    assert fresh(session, built.rota).status == ActionStatus.verified


def test_a_viewer_can_do_nothing_with_actions(org, as_user, clock, session):
    built = a_cycle_in_do(org, as_user, clock)
    vera = as_user(org.vera)
    rota = built.rota
    attempts = {
        "add": lambda: actions.add_action(vera, built.cycle.id, title="x", department_id=org.cs),
        "update": lambda: actions.update_action(
            vera, rota.id, version=rota.version, changes={"title": "Mine now"}
        ),
        "start": lambda: actions.fire_action(vera, rota.id, trigger="start", version=rota.version),
        "cancel": lambda: actions.fire_action(
            vera, rota.id, trigger="cancel", note="no", version=rota.version
        ),
        "verify": lambda: actions.verify_action(
            vera, rota.id, effective=True, note="ok", version=rota.version, signature=EFFECTIVE
        ),
        "depend": lambda: actions.add_dependency(vera, rota.id, built.ivr.id),
    }
    before = count(session, Event)

    for name, attempt in attempts.items():
        with pytest.raises(Forbidden) as refused:
            attempt()
        assert refused.value.detail == "Viewers have read-only access.", name

    assert count(session, Event) == before
    assert fresh(session, rota).version == rota.version


def test_a_viewer_cannot_own_an_action(org, as_user, clock):
    built = a_planned_cycle(org, as_user, clock)

    with pytest.raises(Invalid, match="Vera Viewer cannot own actions"):
        actions.update_action(
            as_user(org.fiona),
            built.rota.id,
            version=built.rota.version,
            changes={"owner_id": org.vera.id},
        )


def test_a_done_action_of_a_cancelled_cycle_cannot_be_verified(org, as_user, clock, session):
    built = a_cycle_in_do(org, as_user, clock)
    rota = built.rota
    actions.fire_action(as_user(org.mia), rota.id, trigger="complete", version=rota.version)
    fiona = as_user(org.fiona)
    cycles.fire_transition(
        fiona, built.cycle.id, trigger="cancel", note="Merged into C-9", version=built.cycle.version
    )

    with pytest.raises(Conflict, match="its actions are frozen"):
        actions.verify_action(
            fiona,
            rota.id,
            effective=True,
            note=None,
            version=rota.version,
            signature=signed("verified effective"),
        )
    assert fresh(session, rota).status == "done"


def test_the_action_list_counts_every_action_on_each_page(org, as_user, clock):
    """A page of the list that is full cannot tell the total by itself: it is counted."""
    a_planned_cycle(org, as_user, clock)
    ctx = as_user(org.fiona)
    first = queries.list_actions(ctx, Paging(1, 0, "id"), ActionFilter())
    last = queries.list_actions(ctx, Paging(1, 1, "id"), ActionFilter())
    past = queries.list_actions(ctx, Paging(1, 5, "id"), ActionFilter())
    assert [(len(p.items), p.total) for p in (first, last, past)] == [(1, 2), (1, 2), (0, 2)]
    assert first.items[0].action.id < last.items[0].action.id
