"""The audit trail: written with every change, in the same transaction, and never rewritten."""

from datetime import UTC, timedelta

import pytest
from sqlalchemy import delete, update
from sqlmodel import Session, select

from pdca.models import Action, Cycle, Event, Problem, ProblemStatus
from pdca.services import actions, cycles, problems
from pdca.services.audit import AuditTrailIsAppendOnly
from pdca.services.errors import Conflict, Forbidden, NotFound, Refused
from tests.services.builders_services import (
    a_cycle_in_do,
    a_planned_cycle,
    a_problem,
    count,
    events_of,
)

# --- append-only --------------------------------------------------------------------


def test_an_event_cannot_be_changed_through_the_session(org, as_user, session):
    problem = a_problem(as_user(org.mia))
    [event] = events_of(session, "problem", problem.id)

    event.note = "nothing to see here"
    with pytest.raises(AuditTrailIsAppendOnly):
        session.commit()
    session.rollback()

    [event] = events_of(session, "problem", problem.id)
    assert event.note is None


def test_an_event_cannot_be_deleted_through_the_session(org, as_user, session):
    problem = a_problem(as_user(org.mia))
    [event] = events_of(session, "problem", problem.id)

    session.delete(event)
    with pytest.raises(AuditTrailIsAppendOnly):
        session.flush()
    session.rollback()

    assert len(events_of(session, "problem", problem.id)) == 1


@pytest.mark.parametrize(
    "statement",
    [
        update(Event).values(note="rewritten"),
        delete(Event),
        delete(Event).where(Event.verb == "reported"),
    ],
    ids=["bulk update", "bulk delete", "filtered delete"],
)
def test_bulk_statements_cannot_rewrite_the_trail_either(org, as_user, session, statement):
    a_problem(as_user(org.mia))
    events = count(session, Event)

    with pytest.raises(AuditTrailIsAppendOnly):
        session.execute(statement)
    session.rollback()

    assert count(session, Event) == events
    assert session.exec(select(Event).where(Event.note == "rewritten")).first() is None


def test_other_rows_still_take_bulk_updates(org, as_user, session):
    # The guard is about events only: compare-and-set writes are bulk UPDATEs too.
    problem = a_problem(as_user(org.mia))
    session.execute(update(Problem).where(Problem.id == problem.id).values(severity="low"))
    session.commit()
    assert session.get(Problem, problem.id).severity == "low"


# --- written with the change, or not at all ---------------------------------------------


def test_a_refused_use_case_leaves_no_event_and_no_row_behind(org, as_user, clock, session):
    """add_action inserts the action and its event, then fails on the unknown dependency."""
    built = a_planned_cycle(org, as_user, clock)
    before = (count(session, Action), count(session, Event))

    with pytest.raises(NotFound, match="Action 9999 does not exist"):
        actions.add_action(
            as_user(org.fiona),
            built.cycle.id,
            title="Depends on a ghost",
            department_id=org.cs,
            depends_on=[9999],
        )

    assert (count(session, Action), count(session, Event)) == before


def test_a_cycle_that_fails_half_way_leaves_its_problem_untriaged(org, as_user, session):
    """open_cycle accepts the problem and writes events before it finds the unknown member."""
    problem = a_problem(as_user(org.mia))
    before = (count(session, Cycle), count(session, Event))

    with pytest.raises(NotFound, match="User 9999 does not exist"):
        cycles.open_cycle(
            as_user(org.fiona),
            title="Queues",
            workflow="pdca",
            lead_id=org.fiona.id,
            problem_ids=[problem.id],
            member_ids=[9999],
        )

    assert (count(session, Cycle), count(session, Event)) == before
    assert session.get(Problem, problem.id).status == ProblemStatus.new


@pytest.mark.parametrize(
    "attempt",
    [
        "triage twice",
        "reassign by another head",
        "complete someone else's action",
        "leave Do with open actions",
        "edit a stale cycle",
    ],
)
def test_no_refused_write_leaves_an_event(org, as_user, clock, session, attempt):
    built = a_cycle_in_do(org, as_user, clock)
    problem, rota, cycle = built.problem, built.rota, built.cycle
    attempts = {
        "triage twice": (
            Conflict,
            lambda: problems.triage_problem(
                as_user(org.fiona), problem.id, decision="reject", reason="late"
            ),
        ),
        "reassign by another head": (
            Forbidden,
            lambda: actions.update_action(
                as_user(org.ivan), rota.id, version=rota.version, changes={"owner_id": org.max.id}
            ),
        ),
        "complete someone else's action": (
            Forbidden,
            lambda: actions.fire_action(
                as_user(org.max), rota.id, trigger="complete", version=rota.version
            ),
        ),
        "leave Do with open actions": (
            Refused,
            lambda: cycles.fire_transition(
                as_user(org.fiona), cycle.id, trigger="start_check", version=cycle.version
            ),
        ),
        "edit a stale cycle": (
            Conflict,
            lambda: cycles.update_cycle_fields(
                as_user(org.fiona), cycle.id, version=cycle.version - 1, changes={"target": 1}
            ),
        ),
    }
    error, run = attempts[attempt]
    before = count(session, Event)

    with pytest.raises(error):
        run()

    assert count(session, Event) == before


# --- what an event says --------------------------------------------------------------------


def test_events_carry_actor_utc_time_from_to_and_note(org, as_user, clock, engine, session):
    built = a_cycle_in_do(org, as_user, clock)
    clock.advance(days=2, hours=5)
    old_deadline = built.rota.deadline
    new_deadline = clock.today() + timedelta(days=9)
    actions.update_action(
        as_user(org.hanna),
        built.rota.id,
        version=built.rota.version,
        changes={"deadline": new_deadline},
        note="Waiting for the rota tool",
    )

    # Read it back as another connection sees it: what is stored, not what is cached.
    with Session(engine) as reader:
        [event] = events_of(reader, "action", built.rota.id, "field_changed")
    assert event.actor_id == org.hanna.id
    assert event.at == clock.now
    assert event.at.tzinfo is not None and event.at.utcoffset() == timedelta(0)
    assert event.at.tzinfo == UTC
    assert (event.field, event.from_value, event.to_value) == (
        "deadline",
        old_deadline.isoformat(),
        new_deadline.isoformat(),
    )
    assert event.note == "Waiting for the rota tool"


def test_a_transition_event_says_from_where_to_where_and_why(org, as_user, clock, engine, session):
    built = a_planned_cycle(org, as_user, clock)
    clock.advance(minutes=30)

    cycles.fire_transition(
        as_user(org.frank),
        built.cycle.id,
        trigger="cancel",
        note="Folded into the staffing review",
        version=built.cycle.version,
    )

    with Session(engine) as reader:
        [event] = events_of(reader, "cycle", built.cycle.id, "transition")
    assert (event.actor_id, event.at, event.from_value, event.to_value, event.note) == (
        org.frank.id,
        clock.now,
        "plan",
        "cancelled",
        "Folded into the staffing review",
    )
    assert event.data["trigger"] == "cancel"


def test_the_system_acting_alone_is_recorded_without_an_actor(org, as_user, session):
    problem = a_problem(as_user(None), source="kpi")
    [event] = events_of(session, "problem", problem.id)
    assert (event.verb, event.actor_id) == ("reported", None)
