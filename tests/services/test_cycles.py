"""Cycles: opened by facilitators on real problems, edited by their lead, judged by someone else."""

from datetime import timedelta

import pytest

from pdca.models import Cycle, Effectiveness, Event, ProblemStatus
from pdca.services import actions, cycles, problems
from pdca.services.errors import Conflict, Forbidden, Invalid, Refused
from pdca.services.keys import key
from tests.services.builders_services import (
    a_cycle_in_check,
    a_cycle_in_do,
    a_planned_cycle,
    a_problem,
    count,
    events_of,
    fresh,
    signed,
)


def messages(exc_info: pytest.ExceptionInfo) -> list[str]:
    return [r.message for r in exc_info.value.reasons]


def open_on(ctx, problem_ids, **kw):
    return cycles.open_cycle(
        ctx,
        title=kw.pop("title", "Cut lunchtime waiting"),
        workflow=kw.pop("workflow", "pdca"),
        lead_id=kw.pop("lead_id", ctx.actor.id),
        problem_ids=problem_ids,
        **kw,
    )


# --- opening ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "reason"),
    [
        ("mia", "Only facilitators, department heads and administrators open cycles."),
        (
            "hanna",
            "A department head opens cycles only for their own department, on its own problems.",
        ),
        ("vera", "Viewers have read-only access."),
    ],
)
def test_only_staff_and_the_departments_head_open_cycles(org, as_user, session, persona, reason):
    problem = a_problem(as_user(org.mia))

    with pytest.raises(Forbidden) as refused:
        open_on(as_user(getattr(org, persona)), [problem.id], lead_id=org.fiona.id)

    assert refused.value.detail == reason
    assert count(session, Cycle) == 0
    open_on(as_user(org.admin), [problem.id], lead_id=org.fiona.id)
    assert count(session, Cycle) == 1


def test_a_cycle_needs_a_title_and_at_least_one_problem(org, as_user, session):
    problem = a_problem(as_user(org.mia))
    fiona = as_user(org.fiona)

    with pytest.raises(Invalid, match="Give the cycle a title"):
        open_on(fiona, [problem.id], title="  ")
    with pytest.raises(Invalid, match="A cycle addresses at least one problem"):
        open_on(fiona, [])

    assert count(session, Cycle) == 0


def test_a_cycle_is_led_by_someone_who_may_lead(org, as_user, session):
    problem = a_problem(as_user(org.mia))

    with pytest.raises(Forbidden, match="Vera Viewer is a viewer and cannot lead a cycle"):
        open_on(as_user(org.fiona), [problem.id], lead_id=org.vera.id)
    with pytest.raises(Invalid, match="Unknown workflow 'kaizen'"):
        open_on(as_user(org.fiona), [problem.id], workflow="kaizen")

    assert count(session, Cycle) == 0


def test_a_rejected_problem_cannot_go_into_a_cycle(org, as_user, session):
    fresh_problem = a_problem(as_user(org.mia), title="Queue at noon")
    rejected = a_problem(as_user(org.mia), title="Coffee machine")
    problems.triage_problem(as_user(org.fiona), rejected.id, decision="reject", reason="Not ours")
    before = count(session, Event)

    with pytest.raises(Invalid) as refused:
        open_on(as_user(org.fiona), [fresh_problem.id, rejected.id])

    assert messages(refused) == [f"{key('problem', rejected.id)} is rejected."]
    assert count(session, Cycle) == 0
    assert count(session, Event) == before
    assert fresh(session, fresh_problem).status == ProblemStatus.new


def test_opening_a_cycle_on_a_new_problem_accepts_it(org, as_user, clock, session):
    problem = a_problem(as_user(org.mia))
    clock.advance(hours=1)

    cycle = open_on(as_user(org.fiona), [problem.id])

    stored = fresh(session, problem)
    assert (stored.status, stored.triaged_by_id, stored.triaged_at) == (
        ProblemStatus.accepted,
        org.fiona.id,
        clock.now,
    )
    [triage] = events_of(session, "problem", problem.id, "triaged")
    assert (triage.from_value, triage.to_value, triage.actor_id) == (
        "new",
        "accepted",
        org.fiona.id,
    )
    assert triage.data == {"decision": "accept", "cycle_id": cycle.id}
    assert cycles.cycle_problem_ids(as_user(org.fiona), cycle.id) == [problem.id]
    [opened] = events_of(session, "cycle", cycle.id, "opened")
    assert (opened.to_value, opened.data["problems"]) == ("plan", [problem.id])


def test_an_accepted_problem_goes_into_a_cycle_without_a_second_triage(org, as_user, session):
    problem = a_problem(as_user(org.mia))
    problems.triage_problem(as_user(org.frank), problem.id, decision="accept")

    open_on(as_user(org.fiona), [problem.id])

    stored = fresh(session, problem)
    assert (stored.status, stored.triaged_by_id) == (ProblemStatus.accepted, org.frank.id)
    assert len(events_of(session, "problem", problem.id, "triaged")) == 1


# --- editing fields -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("target", "lots", "target: 'lots' is not a number."),
        ("baseline", float("nan"), "baseline: nan is not a number."),
        ("effectiveness_window_days", 2.5, "effectiveness_window_days: 2.5 is not a whole number."),
        ("direction", "sideways", "direction: 'sideways' is not 'higher' or 'lower'."),
    ],
)
def test_a_field_of_the_wrong_type_is_refused_naming_the_field(
    org, as_user, clock, session, field, value, reason
):
    built = a_planned_cycle(org, as_user, clock)
    version = built.cycle.version

    with pytest.raises(Invalid) as refused:
        cycles.update_cycle_fields(
            as_user(org.fiona), built.cycle.id, version=version, changes={field: value}
        )

    assert refused.value.detail.startswith(f"{field} must be")
    assert messages(refused) == [reason]
    assert fresh(session, built.cycle).version == version


def test_an_unknown_field_is_refused(org, as_user, clock, session):
    built = a_planned_cycle(org, as_user, clock)

    with pytest.raises(Invalid) as refused:
        cycles.update_cycle_fields(
            as_user(org.fiona),
            built.cycle.id,
            version=built.cycle.version,
            changes={"colour": "red", "target": 90},
        )

    assert messages(refused) == ["colour is not a field of this workflow."]
    assert fresh(session, built.cycle).target == 80


def test_each_changed_field_is_audited_old_to_new_and_unchanged_ones_are_not(
    org, as_user, clock, session
):
    built = a_planned_cycle(org, as_user, clock)
    cycle = built.cycle
    clock.advance(hours=3)

    cycles.update_cycle_fields(
        as_user(org.fiona),
        cycle.id,
        version=cycle.version,
        changes={
            "target": "85",
            "objective": "Answer 80% of calls within 20 s",  # as it was
            "root_cause": "Breaks overlap at noon; no cover rota",
        },
        note="After the Gemba walk",
    )

    stored = fresh(session, cycle)
    assert (stored.target, stored.root_cause) == (85.0, "Breaks overlap at noon; no cover rota")
    edits = [e for e in events_of(session, "cycle", cycle.id, "field_changed") if e.at == clock.now]
    assert [(e.field, e.from_value, e.to_value, e.note, e.actor_id) for e in edits] == [
        ("target", "80.0", "85.0", "After the Gemba walk", org.fiona.id),
        (
            "root_cause",
            "Breaks overlap at noon",
            "Breaks overlap at noon; no cover rota",
            "After the Gemba walk",
            org.fiona.id,
        ),
    ]


def test_an_edit_that_changes_nothing_writes_nothing(org, as_user, clock, session):
    built = a_planned_cycle(org, as_user, clock)
    version, events = built.cycle.version, count(session, Event)

    cycles.update_cycle_fields(
        as_user(org.fiona),
        built.cycle.id,
        version=version,
        changes={"target": 80, "objective": "Answer 80% of calls within 20 s"},
    )

    assert fresh(session, built.cycle).version == version
    assert count(session, Event) == events


def test_an_edit_on_a_stale_version_is_a_conflict_and_nothing_changes(org, as_user, clock, session):
    built = a_planned_cycle(org, as_user, clock)
    read_version = built.cycle.version
    cycles.update_cycle_fields(
        as_user(org.frank), built.cycle.id, version=read_version, changes={"target": 90}
    )
    events = count(session, Event)

    with pytest.raises(Conflict, match="was changed by someone else"):
        cycles.update_cycle_fields(
            as_user(org.fiona),
            built.cycle.id,
            version=read_version,
            changes={"target": 75, "unit": "%"},
        )

    stored = fresh(session, built.cycle)
    assert (stored.target, stored.unit, stored.version) == (90, None, read_version + 1)
    assert count(session, Event) == events


@pytest.mark.parametrize("persona", ["mia", "hanna"])
def test_someone_who_is_not_the_lead_nor_a_facilitator_cannot_edit_the_cycle(
    org, as_user, clock, session, persona
):
    built = a_planned_cycle(org, as_user, clock)

    with pytest.raises(Forbidden) as refused:
        cycles.update_cycle_fields(
            as_user(getattr(org, persona)),
            built.cycle.id,
            version=built.cycle.version,
            changes={"target": 99},
        )

    assert refused.value.detail == (
        "Only the cycle's lead, facilitators and administrators can change this cycle."
    )
    assert fresh(session, built.cycle).target == 80


def test_a_member_who_leads_the_cycle_can_edit_it(org, as_user, session):
    problem = a_problem(as_user(org.mia))
    cycle = open_on(as_user(org.fiona), [problem.id], lead_id=org.mia.id)

    cycles.update_cycle_fields(
        as_user(org.mia), cycle.id, version=cycle.version, changes={"objective": "Shorter queues"}
    )

    assert fresh(session, cycle).objective == "Shorter queues"


# --- effectiveness: maker and checker -------------------------------------------------------


def test_the_lead_cannot_confirm_effectiveness_but_another_facilitator_can(
    org, as_user, clock, session
):
    built = a_cycle_in_check(org, as_user, clock)
    cycle = built.cycle
    cycles.update_cycle_fields(
        as_user(org.fiona), cycle.id, version=cycle.version, changes={"result": 84}
    )

    with pytest.raises(Forbidden) as refused:
        cycles.record_effectiveness(
            as_user(org.fiona), cycle.id, effective=True, note="It worked", version=cycle.version
        )
    assert refused.value.detail == (
        "The cycle's lead cannot confirm its own effectiveness; someone else must."
    )
    with pytest.raises(Forbidden, match="Only facilitators, department heads and administrators"):
        cycles.record_effectiveness(
            as_user(org.mia), cycle.id, effective=True, note="It worked", version=cycle.version
        )
    assert fresh(session, cycle).effectiveness is None

    cycles.record_effectiveness(
        as_user(org.frank),
        cycle.id,
        effective=True,
        note="84% for two weeks",
        version=cycle.version,
    )

    stored = fresh(session, cycle)
    assert (stored.effectiveness, stored.effectiveness_by_id, stored.effectiveness_at) == (
        Effectiveness.effective,
        org.frank.id,
        clock.now,
    )
    [event] = events_of(session, "cycle", cycle.id, "effectiveness_judged")
    assert (event.actor_id, event.to_value, event.note) == (
        org.frank.id,
        "effective",
        "84% for two weeks",
    )
    assert event.data == {
        "result": 84.0,
        "target": 80.0,
        "success_criterion": "Service level >= 80% for two weeks",
    }


def test_effectiveness_cannot_be_judged_while_actions_run_nor_before_a_result(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)

    with pytest.raises(Refused) as refused:
        cycles.record_effectiveness(
            as_user(org.frank),
            built.cycle.id,
            effective=False,
            note="",
            version=built.cycle.version,
        )

    rota, ivr = key("action", built.rota.id), key("action", built.ivr.id)
    assert messages(refused) == [
        f"Actions are still running: {rota}, {ivr}.",
        "Record the result first.",
        "Say why the change was not effective.",
    ]
    assert fresh(session, built.cycle).effectiveness is None


def test_effectiveness_waits_for_the_window_after_the_last_action_was_done(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock, effectiveness_window_days=14)
    fiona, frank = as_user(org.fiona), as_user(org.frank)
    clock.advance(days=1)
    actions.fire_action(
        as_user(org.mia), built.rota.id, trigger="complete", version=built.rota.version
    )
    clock.advance(days=3)
    actions.fire_action(
        as_user(org.max), built.ivr.id, trigger="complete", version=built.ivr.version
    )
    last_done = clock.today()
    for action in (built.rota, built.ivr):
        actions.verify_action(
            fiona,
            action.id,
            effective=True,
            note="ok",
            version=action.version,
            signature=signed("verified effective"),
        )
    cycles.fire_transition(
        fiona, built.cycle.id, trigger="start_check", version=built.cycle.version
    )
    cycles.update_cycle_fields(
        fiona, built.cycle.id, version=built.cycle.version, changes={"result": 83}
    )
    window_end = last_done + timedelta(days=14)

    clock.advance(days=13)
    with pytest.raises(Refused) as refused:
        cycles.record_effectiveness(
            frank, built.cycle.id, effective=True, note="holds", version=built.cycle.version
        )
    assert messages(refused) == [
        f"The effectiveness window runs until {window_end.isoformat()} "
        "(14 days after the last action was done)."
    ]

    clock.advance(days=1)
    cycles.record_effectiveness(
        frank, built.cycle.id, effective=True, note="holds", version=built.cycle.version
    )

    assert fresh(session, built.cycle).effectiveness == Effectiveness.effective


def test_once_effectiveness_is_judged_result_and_target_cannot_change(org, as_user, clock, session):
    built = a_cycle_in_check(org, as_user, clock)
    cycle, fiona = built.cycle, as_user(org.fiona)
    cycles.update_cycle_fields(fiona, cycle.id, version=cycle.version, changes={"result": 84})
    cycles.record_effectiveness(
        as_user(org.frank), cycle.id, effective=True, note="ok", version=cycle.version
    )

    for field, value in (("result", 95), ("target", 70)):
        with pytest.raises(Conflict) as refused:
            cycles.update_cycle_fields(
                fiona, cycle.id, version=cycle.version, changes={field: value}
            )
        assert f"{field} cannot change now" in refused.value.detail

    stored = fresh(session, cycle)
    assert (stored.result, stored.target) == (84, 80)
    # What was standardised is still to be written: that is not a judged number.
    cycles.update_cycle_fields(
        fiona, cycle.id, version=cycle.version, changes={"standardisation": "Rota in the SOP"}
    )
    assert fresh(session, cycle).standardisation == "Rota in the SOP"


def test_effectiveness_is_judged_once_per_iteration(org, as_user, clock, session):
    built = a_cycle_in_check(org, as_user, clock)
    cycle = built.cycle
    fiona, frank = as_user(org.fiona), as_user(org.frank)
    cycles.update_cycle_fields(fiona, cycle.id, version=cycle.version, changes={"result": 84})
    cycles.record_effectiveness(frank, cycle.id, effective=True, note="Held", version=cycle.version)

    with pytest.raises(Conflict, match="already judged"):
        cycles.record_effectiveness(
            as_user(org.admin),
            cycle.id,
            effective=False,
            note="Changed my mind",
            version=cycle.version,
        )
    assert fresh(session, cycle).effectiveness == Effectiveness.effective


def test_effectiveness_cannot_be_judged_before_any_action_of_the_turn_is_done(org, as_user, clock):
    built = a_planned_cycle(org, as_user, clock)
    cycle = built.cycle
    fiona = as_user(org.fiona)
    for action in (built.rota, built.ivr):
        actions.fire_action(
            fiona, action.id, trigger="cancel", note="Not needed", version=action.version
        )
    cycles.update_cycle_fields(fiona, cycle.id, version=cycle.version, changes={"result": 84})

    with pytest.raises(Refused) as refused:
        cycles.record_effectiveness(
            as_user(org.frank), cycle.id, effective=True, note="?", version=cycle.version
        )
    assert [r.message for r in refused.value.reasons] == [
        "No action of this iteration is done yet: there is no change to judge."
    ]


# --- heads open cycles for their own department -----------------------------------------


def test_a_head_opens_a_cycle_for_a_problem_of_their_own_department(org, as_user, session):
    problem = a_problem(as_user(org.mia), department_id=org.cs)

    cycle = open_on(as_user(org.hanna), [problem.id], lead_id=org.hanna.id)

    assert (cycle.department_id, cycle.lead_id) == (org.cs, org.hanna.id)
    (opened,) = events_of(session, "cycle", cycle.id, "opened")
    assert opened.actor_id == org.hanna.id


def test_a_head_cannot_open_a_cycle_on_another_departments_problem(org, as_user, session):
    theirs = a_problem(as_user(org.max), title="VPN drops", department_id=org.it)
    ours = a_problem(as_user(org.mia), department_id=org.cs)
    hanna = as_user(org.hanna)
    reason = "A department head opens cycles only for their own department, on its own problems."

    with pytest.raises(Forbidden) as mixed:
        open_on(hanna, [ours.id, theirs.id], lead_id=org.hanna.id)
    with pytest.raises(Forbidden) as for_it:
        open_on(hanna, [ours.id], lead_id=org.hanna.id, department_id=org.it)

    assert mixed.value.detail == reason and for_it.value.detail == reason
    assert count(session, Cycle) == 0
