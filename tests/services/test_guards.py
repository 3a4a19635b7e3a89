"""Guards keep cycles honest: each refusal says, in words, what is missing.

Every registered guard is shown refusing through the services (firing the
transition, and the list of transitions a page or the API shows), then allowing
once the condition is met. A few branches no use case can reach are checked on
the guard itself at the end.
"""

from datetime import timedelta

import pytest
from sqlmodel import delete

from pdca.engine.facts import ActionFact, CycleFacts
from pdca.engine.registry import GUARDS
from pdca.models import CycleProblem
from pdca.services import actions, cycles
from pdca.services.errors import Forbidden, Refused
from tests.personas import APPROVED_CLOSURE, VERIFIED_EFFECTIVE
from tests.services.builders_services import (
    PLAN_FIELDS,
    a_cycle_in_check,
    a_cycle_in_do,
    a_planned_cycle,
    a_problem,
)

# --- helpers --------------------------------------------------------------------


def option_for(ctx, cycle, trigger):
    return next(o for o in cycles.available_transitions(ctx, cycle.id) if o.trigger == trigger)


def refused(ctx, cycle, trigger, note=None) -> list[str]:
    """Fire `trigger` expecting a refusal; the list of transitions must say the same."""
    state = cycle.state
    with pytest.raises(Refused) as refusal:
        cycles.fire_transition(ctx, cycle.id, trigger=trigger, version=cycle.version, note=note)
    reasons = [r.message for r in refusal.value.reasons]
    option = option_for(ctx, cycle, trigger)
    assert option.allowed is False
    assert [r.message for r in option.reasons] == reasons
    assert cycles.get_cycle(ctx, cycle.id).state == state
    return reasons


def allowed(ctx, cycle, trigger) -> str:
    """The list shows `trigger` allowed, and firing it moves the cycle; returns the new state."""
    option = option_for(ctx, cycle, trigger)
    assert (option.allowed, option.reasons) == (True, ())
    # Closing is a signed act (the workflow files say so); the guards come before it.
    signature = APPROVED_CLOSURE if trigger == "close_effective" else None
    cycles.fire_transition(
        ctx, cycle.id, trigger=trigger, version=cycle.version, signature=signature
    )
    return cycle.state


def open_cycle(org, as_user, workflow="pdca", **fields):
    fiona = as_user(org.fiona)
    problem = a_problem(as_user(org.mia), department_id=org.cs)
    return cycles.open_cycle(
        fiona,
        title="Cut lunchtime waiting",
        workflow=workflow,
        lead_id=org.fiona.id,
        problem_ids=[problem.id],
        fields=fields,
    )


def add_action(ctx, cycle, org, clock, *, owner=True, deadline=True, title="Stagger breaks"):
    return actions.add_action(
        ctx,
        cycle.id,
        title=title,
        department_id=org.cs,
        owner_id=org.mia.id if owner else None,
        deadline=clock.today() + timedelta(days=7) if deadline else None,
    )


def a_cycle_in_act(org, as_user, clock, *, result=84, effective=True, **fields):
    """Actions done and verified, the result measured and judged by Frank (not the lead)."""
    built = a_cycle_in_check(org, as_user, clock, **fields)
    fiona, cycle = as_user(org.fiona), built.cycle
    cycles.update_cycle_fields(fiona, cycle.id, version=cycle.version, changes={"result": result})
    cycles.record_effectiveness(
        as_user(org.frank),
        cycle.id,
        effective=effective,
        note="judged on four weeks of data",
        version=cycle.version,
    )
    cycles.fire_transition(fiona, cycle.id, trigger="start_act", version=cycle.version)
    assert cycle.state == "act"
    return cycle


def key(action) -> str:
    return f"A-{action.id}"


# --- required fields (declared per state in the workflow file) ------------------


def test_a_cycle_cannot_leave_plan_before_its_objective_baseline_target_and_root_cause_are_set(
    org, as_user, clock
):
    fiona = as_user(org.fiona)
    cycle = open_cycle(org, as_user, objective="   ")
    add_action(fiona, cycle, org, clock)

    assert refused(fiona, cycle, "start_do") == [
        "Objective is missing.",
        "Baseline is missing.",
        "Target is missing.",
        "Root cause is missing.",
    ]

    cycles.update_cycle_fields(
        fiona, cycle.id, version=cycle.version, changes={"objective": "Answer calls in 20 s"}
    )
    assert refused(fiona, cycle, "start_do") == [
        "Baseline is missing.",
        "Target is missing.",
        "Root cause is missing.",
    ]

    cycles.update_cycle_fields(
        fiona,
        cycle.id,
        version=cycle.version,
        changes={"baseline": 0, "target": 0, "root_cause": "Breaks overlap at noon"},
    )
    assert allowed(fiona, cycle, "start_do") == "do"


def test_a_field_a_workflow_declares_is_asked_for_by_its_title(org, as_user):
    fiona = as_user(org.fiona)
    cycle = open_cycle(org, as_user, workflow="8d")

    assert refused(fiona, cycle, "describe") == ["Team and charter is missing."]

    cycles.update_cycle_fields(
        fiona, cycle.id, version=cycle.version, changes={"team_charter": "Fiona, Mia and Max"}
    )
    assert allowed(fiona, cycle, "describe") == "d2_describe"


# --- actions_planned --------------------------------------------------------------


def test_a_cycle_cannot_leave_plan_without_a_planned_action(org, as_user, clock):
    fiona = as_user(org.fiona)
    cycle = open_cycle(org, as_user, **PLAN_FIELDS)

    reasons = refused(fiona, cycle, "start_do")

    assert reasons == ["No action is planned yet: add at least one."]
    add_action(fiona, cycle, org, clock)
    assert allowed(fiona, cycle, "start_do") == "do"


def test_every_planned_action_needs_an_owner_and_a_deadline(org, as_user, clock):
    fiona = as_user(org.fiona)
    cycle = open_cycle(org, as_user, **PLAN_FIELDS)
    rota = add_action(fiona, cycle, org, clock, owner=False)
    ivr = add_action(fiona, cycle, org, clock, owner=False, deadline=False, title="IVR callback")

    assert refused(fiona, cycle, "start_do") == [
        f"2 actions have no owner: {key(rota)}, {key(ivr)}",
        f"1 action has no deadline: {key(ivr)}",
    ]

    for action in (rota, ivr):
        actions.update_action(
            fiona,
            action.id,
            version=action.version,
            changes={"owner_id": org.mia.id, "deadline": clock.today() + timedelta(days=5)},
        )
    assert allowed(fiona, cycle, "start_do") == "do"


# --- actions_finished ---------------------------------------------------------------


def test_a_cycle_cannot_leave_do_while_an_action_is_open(org, as_user, clock):
    built = a_cycle_in_do(org, as_user, clock)
    fiona, cycle, rota, ivr = as_user(org.fiona), built.cycle, built.rota, built.ivr

    with pytest.raises(Refused) as refusal:
        cycles.fire_transition(fiona, cycle.id, trigger="start_check", version=cycle.version)
    assert refusal.value.detail == f"C-{cycle.id}: “Start Check” is not possible yet."
    assert refused(fiona, cycle, "start_check") == [
        f"2 actions are not done: {key(rota)}, {key(ivr)}"
    ]

    actions.fire_action(as_user(org.mia), rota.id, trigger="complete", version=rota.version)
    actions.fire_action(as_user(org.max), ivr.id, trigger="start", version=ivr.version)
    assert refused(fiona, cycle, "start_check") == [f"1 action is not done: {key(ivr)}"]

    # Cancelled with a reason counts as finished.
    actions.fire_action(
        fiona, ivr.id, trigger="cancel", version=ivr.version, note="Vendor cannot deliver in time"
    )
    assert allowed(fiona, cycle, "start_check") == "check"


# --- actions_verified ---------------------------------------------------------------


def test_a_cycle_cannot_leave_check_until_every_action_is_verified(org, as_user, clock):
    built = a_cycle_in_do(org, as_user, clock)
    fiona, cycle, rota, ivr = as_user(org.fiona), built.cycle, built.rota, built.ivr
    for action, owner in ((rota, org.mia), (ivr, org.max)):
        actions.fire_action(as_user(owner), action.id, trigger="complete", version=action.version)
    cycles.fire_transition(fiona, cycle.id, trigger="start_check", version=cycle.version)
    cycles.update_cycle_fields(fiona, cycle.id, version=cycle.version, changes={"result": 84})
    cycles.record_effectiveness(
        as_user(org.frank), cycle.id, effective=True, note="84% for 2 weeks", version=cycle.version
    )

    assert refused(fiona, cycle, "start_act") == [
        f"2 actions are not verified: {key(rota)}, {key(ivr)}"
    ]

    actions.verify_action(
        fiona,
        rota.id,
        effective=True,
        note="rota in use",
        version=rota.version,
        signature=VERIFIED_EFFECTIVE,
    )
    assert refused(fiona, cycle, "start_act") == [f"1 action is not verified: {key(ivr)}"]

    actions.verify_action(
        fiona,
        ivr.id,
        effective=True,
        note="callbacks seen",
        version=ivr.version,
        signature=VERIFIED_EFFECTIVE,
    )
    assert allowed(fiona, cycle, "start_act") == "act"


# --- result_recorded --------------------------------------------------------------------


def test_a_cycle_cannot_leave_check_before_the_result_is_measured_against_the_target(
    org, as_user, clock
):
    built = a_cycle_in_check(org, as_user, clock, unit="%")
    fiona, cycle = as_user(org.fiona), built.cycle

    reasons = refused(fiona, cycle, "start_act")

    # Every unmet guard is said at once, not only the first.
    assert reasons == [
        "The result has not been measured: record it against the target of 80 %.",
        "Effectiveness has not been checked yet: someone other than the lead must confirm "
        "whether the change worked.",
    ]
    cycles.update_cycle_fields(fiona, cycle.id, version=cycle.version, changes={"result": 84})
    assert "The result has not been measured" not in " ".join(refused(fiona, cycle, "start_act"))
    cycles.record_effectiveness(
        as_user(org.frank), cycle.id, effective=True, note="84% for 2 weeks", version=cycle.version
    )
    assert allowed(fiona, cycle, "start_act") == "act"


# --- effectiveness_evaluated ------------------------------------------------------------


def test_a_cycle_cannot_leave_check_until_someone_other_than_the_lead_judged_effectiveness(
    org, as_user, clock
):
    built = a_cycle_in_check(org, as_user, clock)
    fiona, cycle = as_user(org.fiona), built.cycle
    cycles.update_cycle_fields(fiona, cycle.id, version=cycle.version, changes={"result": 84})

    assert refused(fiona, cycle, "start_act") == [
        "Effectiveness has not been checked yet: someone other than the lead must confirm "
        "whether the change worked."
    ]

    with pytest.raises(Forbidden, match="lead cannot confirm its own effectiveness"):
        cycles.record_effectiveness(
            fiona, cycle.id, effective=True, note="looks fine to me", version=cycle.version
        )
    assert refused(fiona, cycle, "start_act")

    cycles.record_effectiveness(
        as_user(org.hanna), cycle.id, effective=True, note="SL 84%", version=cycle.version
    )
    assert allowed(fiona, cycle, "start_act") == "act"


# --- effectiveness_confirmed ------------------------------------------------------------


def test_a_change_judged_not_effective_cannot_close_but_can_go_round_again(org, as_user, clock):
    fiona = as_user(org.fiona)
    cycle = a_cycle_in_act(
        org, as_user, clock, effective=False, standardisation="Break rota in the SOP"
    )

    assert refused(fiona, cycle, "close_effective") == [
        "The change was judged not effective: start the next iteration instead."
    ]
    assert allowed(fiona, cycle, "next_iteration") == "plan"

    judged_effective = a_cycle_in_act(org, as_user, clock, standardisation="Break rota in SOP")
    assert allowed(fiona, judged_effective, "close_effective") == "closed"


# --- result_meets_target ------------------------------------------------------------------


def test_closing_needs_a_result_of_at_least_the_target_when_higher_is_better(org, as_user, clock):
    fiona = as_user(org.fiona)
    done = {"direction": "higher", "standardisation": "Break rota in the SOP"}
    short = a_cycle_in_act(org, as_user, clock, result=79.5, **done)

    assert refused(fiona, short, "close_effective") == [
        "The result 79.5 does not meet the target (must be at least 80)."
    ]

    on_target = a_cycle_in_act(org, as_user, clock, result=80, **done)
    assert allowed(fiona, on_target, "close_effective") == "closed"


def test_closing_needs_a_result_of_at_most_the_target_when_lower_is_better(org, as_user, clock):
    fiona = as_user(org.fiona)
    # Wrong invoices in %: from 12 down to 5.
    done = {"direction": "lower", "baseline": 12, "target": 5, "standardisation": "Checklist"}
    too_high = a_cycle_in_act(org, as_user, clock, result=6, **done)

    assert refused(fiona, too_high, "close_effective") == [
        "The result 6 does not meet the target (must be at most 5)."
    ]

    on_target = a_cycle_in_act(org, as_user, clock, result=5, **done)
    assert allowed(fiona, on_target, "close_effective") == "closed"


def test_which_direction_is_better_is_inferred_from_the_baseline(org, as_user, clock):
    fiona = as_user(org.fiona)
    # No direction given: a baseline of 12 and a target of 5 mean lower is better.
    done = {"direction": None, "baseline": 12, "target": 5, "standardisation": "Checklist"}
    still_high = a_cycle_in_act(org, as_user, clock, result=9, **done)

    assert refused(fiona, still_high, "close_effective") == [
        "The result 9 does not meet the target (must be at most 5)."
    ]

    lowered = a_cycle_in_act(org, as_user, clock, result=4, **done)
    assert allowed(fiona, lowered, "close_effective") == "closed"


def test_closing_is_refused_while_nobody_said_whether_higher_or_lower_is_better(
    org, as_user, clock
):
    fiona = as_user(org.fiona)
    # Plan needs a baseline; one equal to the target says nothing about the direction.
    flat = {"direction": None, "baseline": 80, "standardisation": "Break rota in the SOP"}
    cycle = a_cycle_in_act(org, as_user, clock, result=84, **flat)

    assert refused(fiona, cycle, "close_effective") == [
        "Say whether higher or lower is better, so the result can be compared with the target."
    ]

    told = a_cycle_in_act(org, as_user, clock, result=84, **{**flat, "direction": "higher"})
    assert allowed(fiona, told, "close_effective") == "closed"


# --- standardisation_recorded -------------------------------------------------------------


def test_closing_needs_what_was_standardised_written_down(org, as_user, clock):
    fiona = as_user(org.fiona)
    cycle = a_cycle_in_act(org, as_user, clock)

    assert refused(fiona, cycle, "close_effective") == [
        "Write down what was standardised (procedure, training, checklist) so the gain holds."
    ]

    cycles.update_cycle_fields(
        fiona, cycle.id, version=cycle.version, changes={"standardisation": "Rota in the SOP"}
    )
    assert allowed(fiona, cycle, "close_effective") == "closed"


# --- note_given -----------------------------------------------------------------------------


def test_a_cycle_cannot_be_cancelled_without_a_note(org, as_user, clock):
    built = a_planned_cycle(org, as_user, clock)
    fiona, cycle = as_user(org.fiona), built.cycle

    # The list offers cancel and says a note will be asked for; firing without one is refused.
    option = option_for(fiona, cycle, "cancel")
    assert (option.allowed, option.needs_note) == (True, True)
    for note in (None, "   "):
        with pytest.raises(Refused) as refusal:
            cycles.fire_transition(
                fiona, cycle.id, trigger="cancel", version=cycle.version, note=note
            )
        assert [r.message for r in refusal.value.reasons] == ["Give a reason in the note."]
    assert cycles.get_cycle(fiona, cycle.id).state == "plan"

    cycles.fire_transition(
        fiona, cycle.id, trigger="cancel", version=cycle.version, note="Merged into C-9"
    )
    assert cycle.state == "cancelled"


# --- problem_linked -------------------------------------------------------------------------


def test_a_dmaic_cycle_cannot_start_measuring_without_a_linked_problem(org, as_user, session):
    fiona = as_user(org.fiona)
    cycle = open_cycle(
        org, as_user, workflow="dmaic", problem_statement="12% of invoices wrong", objective="2%"
    )
    assert option_for(fiona, cycle, "start_measure").allowed
    # No use case unlinks a problem (opening a cycle needs one); remove the link by hand
    # to see what the guard says about a cycle that lost it.
    (problem_id,) = cycles.cycle_problem_ids(fiona, cycle.id)
    session.exec(delete(CycleProblem).where(CycleProblem.cycle_id == cycle.id))
    session.commit()

    assert refused(fiona, cycle, "start_measure") == [
        "Link at least one problem that the cycle addresses."
    ]

    cycles.link_problem(fiona, cycle.id, problem_id)
    assert allowed(fiona, cycle, "start_measure") == "measure"


# --- branches no use case reaches: the guards on their own --------------------------------


def facts(**kw) -> CycleFacts:
    return CycleFacts(
        **{"key": "C-1", "state": "do", "iteration": 1, "lead_id": 1, "fields": {}, **kw}
    )


def action(key, status="open", **kw) -> ActionFact:
    return ActionFact(
        **{"key": key, "title": key, "status": status, "owner_id": 7, "deadline": None, **kw}
    )


def test_an_action_cancelled_without_a_reason_does_not_count_as_finished():
    cancelled = facts(
        actions=(action("A-3", "cancelled", cancel_reason=" "), action("A-4", "done"))
    )

    assert [r.message for r in GUARDS["actions_finished"](cancelled)] == [
        "1 action was cancelled without a reason: A-3"
    ]


def test_only_live_actions_of_the_current_iteration_count_as_planned():
    earlier = facts(iteration=2, actions=(action("A-1", "verified"), action("A-2", "cancelled")))

    assert [r.message for r in GUARDS["actions_planned"](earlier)] == [
        "No action is planned for iteration 2 yet: add at least one."
    ]


def test_without_a_target_a_written_result_is_enough():
    assert [r.message for r in GUARDS["result_recorded"](facts())] == ["No result is recorded yet."]
    assert GUARDS["result_recorded"](facts(fields={"result_note": "Callers praise it"})) == []
    assert GUARDS["result_meets_target"](facts(fields={"result_note": "Callers praise it"})) == []


def test_closing_before_anyone_judged_effectiveness_says_it_must_be_judged():
    assert [r.code for r in GUARDS["effectiveness_confirmed"](facts())] == [
        "effectiveness_not_evaluated"
    ]


@pytest.mark.parametrize(
    ("baseline", "target", "direction", "result", "met"),
    [
        (61, 80, "higher", 80, True),
        (61, 80, "higher", 79.9, False),
        (12, 5, "lower", 5, True),
        (12, 5, "lower", 5.1, False),
        (61, 80, None, 81, True),  # inferred: higher
        (12, 5, None, 6, False),  # inferred: lower
        (2, 5, "lower", 4, True),  # an explicit direction wins over the baseline
    ],
)
def test_a_result_meets_its_target_in_the_better_direction(
    baseline, target, direction, result, met
):
    fields = {"baseline": baseline, "target": target, "direction": direction, "result": result}

    reasons = GUARDS["result_meets_target"](facts(fields=fields))

    assert [r.code for r in reasons] == ([] if met else ["target_not_met"])


def test_more_than_ten_keys_are_counted_not_listed():
    many = facts(actions=tuple(action(f"A-{i}") for i in range(1, 13)))

    (reason,) = GUARDS["actions_finished"](many)

    assert reason.message == (
        "12 actions are not done: A-1, A-2, A-3, A-4, A-5, A-6, A-7, A-8, A-9, A-10 (+2)"
    )


# Every registered guard is shown refusing above; a new guard needs its test here too.
GUARD_TESTS = {
    "actions_planned": "test_a_cycle_cannot_leave_plan_without_a_planned_action",
    "actions_finished": "test_a_cycle_cannot_leave_do_while_an_action_is_open",
    "actions_verified": "test_a_cycle_cannot_leave_check_until_every_action_is_verified",
    "result_recorded": (
        "test_a_cycle_cannot_leave_check_before_the_result_is_measured_against_the_target"
    ),
    "effectiveness_evaluated": (
        "test_a_cycle_cannot_leave_check_until_someone_other_than_the_lead_judged_effectiveness"
    ),
    "effectiveness_confirmed": (
        "test_a_change_judged_not_effective_cannot_close_but_can_go_round_again"
    ),
    "result_meets_target": (
        "test_closing_needs_a_result_of_at_least_the_target_when_higher_is_better"
    ),
    "standardisation_recorded": "test_closing_needs_what_was_standardised_written_down",
    "note_given": "test_a_cycle_cannot_be_cancelled_without_a_note",
    "problem_linked": "test_a_dmaic_cycle_cannot_start_measuring_without_a_linked_problem",
}


def test_every_registered_guard_has_a_test_that_shows_its_refusal():
    assert sorted(GUARD_TESTS) == sorted(GUARDS)
    assert all(callable(globals().get(name)) for name in GUARD_TESTS.values())
