"""Each shipped workflow walked end to end through the services, as a team would.

Fiona (facilitator) leads; Mia (Customer Service) and Max (IT) own the actions;
Fiona verifies them; Frank, another facilitator, judges effectiveness, since
the lead never confirms her own cycle.
"""

from datetime import timedelta

import pytest

from pdca.models import ProblemStatus
from pdca.services import actions, cycles, problems
from pdca.services.errors import Conflict, Refused
from tests.personas import APPROVED_CLOSURE, VERIFIED_EFFECTIVE
from tests.services.builders_services import (
    PLAN_FIELDS,
    a_cycle_in_check,
    a_cycle_in_do,
    a_problem,
    events_of,
)

# --- helpers --------------------------------------------------------------------


def step(ctx, cycle, trigger, note=None, signature=None) -> str:
    cycles.fire_transition(
        ctx, cycle.id, trigger=trigger, version=cycle.version, note=note, signature=signature
    )
    return cycle.state


def fill(ctx, cycle, **changes) -> None:
    cycles.update_cycle_fields(ctx, cycle.id, version=cycle.version, changes=changes)


def open_on_two_problems(org, as_user, workflow, **fields):
    """A cycle on a complaint still new and on an audit finding already accepted."""
    fiona = as_user(org.fiona)
    complaint = a_problem(as_user(org.mia), department_id=org.cs)
    finding = a_problem(fiona, title="Audit: no callback log", source="audit")
    problems.triage_problem(fiona, finding.id, decision="accept")
    cycle = cycles.open_cycle(
        fiona,
        title=f"A {workflow} cycle",
        workflow=workflow,
        lead_id=org.fiona.id,
        problem_ids=[complaint.id, finding.id],
        fields=fields,
    )
    return cycle, [complaint, finding]


def plan_two_actions(ctx, cycle, org, clock):
    """One action in Customer Service, one in IT: the board is cross-department."""
    rota = actions.add_action(
        ctx,
        cycle.id,
        title="Stagger breaks",
        department_id=org.cs,
        owner_id=org.mia.id,
        deadline=clock.today() + timedelta(days=7),
    )
    ivr = actions.add_action(
        ctx,
        cycle.id,
        title="IVR callback",
        department_id=org.it,
        owner_id=org.max.id,
        deadline=clock.today() + timedelta(days=14),
        kind="preventive",
    )
    return [(rota, org.mia), (ivr, org.max)]


def do_the_actions(as_user, planned) -> None:
    for action, owner in planned:
        actions.fire_action(as_user(owner), action.id, trigger="start", version=action.version)
        actions.fire_action(as_user(owner), action.id, trigger="complete", version=action.version)


def verify_the_actions(ctx, planned) -> None:
    for action, _owner in planned:
        actions.verify_action(
            ctx,
            action.id,
            effective=True,
            note="seen working",
            version=action.version,
            signature=VERIFIED_EFFECTIVE,
        )


def judge(as_user, org, cycle, effective=True, note="four weeks of data") -> None:
    cycles.record_effectiveness(
        as_user(org.frank), cycle.id, effective=effective, note=note, version=cycle.version
    )


def assert_closed_and_resolved(session, ctx, cycle, linked, steps) -> None:
    assert cycle.state == "closed"
    assert cycle.closed_at is not None
    assert [problems.get_problem(ctx, p.id).status for p in linked] == [
        ProblemStatus.resolved
    ] * len(linked)
    trail = events_of(session, "cycle", cycle.id, "transition")
    assert [(e.from_value, e.to_value, e.data["trigger"]) for e in trail] == steps


# --- one walk per shipped workflow ---------------------------------------------------


def test_a_pdca_cycle_walks_from_plan_to_closed(org, as_user, clock, session):
    fiona = as_user(org.fiona)
    cycle, linked = open_on_two_problems(org, as_user, "pdca")
    assert (cycle.state, cycle.iteration) == ("plan", 1)
    assert [problems.get_problem(fiona, p.id).status for p in linked] == ["accepted"] * 2

    fill(fiona, cycle, **PLAN_FIELDS, unit="%")
    planned = plan_two_actions(fiona, cycle, org, clock)
    assert step(fiona, cycle, "start_do") == "do"

    do_the_actions(as_user, planned)
    assert step(fiona, cycle, "start_check") == "check"

    verify_the_actions(fiona, planned)
    fill(fiona, cycle, result=84)
    judge(as_user, org, cycle)
    assert step(fiona, cycle, "start_act") == "act"

    fill(fiona, cycle, standardisation="Break rota in the staffing SOP")
    assert step(fiona, cycle, "close_effective", signature=APPROVED_CLOSURE) == "closed"

    assert_closed_and_resolved(
        session,
        fiona,
        cycle,
        linked,
        [
            ("plan", "do", "start_do"),
            ("do", "check", "start_check"),
            ("check", "act", "start_act"),
            ("act", "closed", "close_effective"),
        ],
    )


def test_a_five_step_cycle_walks_from_plan_to_closed(org, as_user, clock, session):
    fiona = as_user(org.fiona)
    cycle, linked = open_on_two_problems(org, as_user, "five_step")
    assert cycle.state == "plan"

    fill(fiona, cycle, objective="Raise satisfaction", baseline=72, target=85, unit="points")
    assert step(fiona, cycle, "start_design") == "design"

    fill(fiona, cycle, root_cause="Callers repeat themselves", design_summary="One case file")
    planned = plan_two_actions(fiona, cycle, org, clock)
    assert step(fiona, cycle, "start_implement") == "implement"

    do_the_actions(as_user, planned)
    assert step(fiona, cycle, "start_evaluate") == "evaluate"

    fill(fiona, cycle, success_criterion="Satisfaction >= 85 for a quarter", result=86)
    verify_the_actions(fiona, planned)
    judge(as_user, org, cycle)
    assert step(fiona, cycle, "start_improve") == "improve"

    fill(fiona, cycle, standardisation="Case file in the service handbook")
    assert step(fiona, cycle, "close_effective", signature=APPROVED_CLOSURE) == "closed"

    assert_closed_and_resolved(
        session,
        fiona,
        cycle,
        linked,
        [
            ("plan", "design", "start_design"),
            ("design", "implement", "start_implement"),
            ("implement", "evaluate", "start_evaluate"),
            ("evaluate", "improve", "start_improve"),
            ("improve", "closed", "close_effective"),
        ],
    )


def test_a_dmaic_cycle_walks_from_define_to_closed(org, as_user, clock, session):
    fiona = as_user(org.fiona)
    cycle, linked = open_on_two_problems(
        org, as_user, "dmaic", problem_statement="12% of invoices are wrong"
    )
    assert cycle.state == "define"

    fill(fiona, cycle, objective="Fewer wrong invoices")
    assert step(fiona, cycle, "start_measure") == "measure"

    # Lower is better: the direction follows from baseline → target.
    fill(fiona, cycle, baseline=12, target=5, unit="%")
    assert step(fiona, cycle, "start_analyze") == "analyze"

    fill(fiona, cycle, root_cause="Tariff table edited by hand")
    planned = plan_two_actions(fiona, cycle, org, clock)
    assert step(fiona, cycle, "start_improve") == "improve"

    do_the_actions(as_user, planned)
    assert step(fiona, cycle, "start_control") == "control"

    fill(
        fiona,
        cycle,
        success_criterion="Below 5% for two billing runs",
        control_plan="Weekly sample of 50 invoices",
        result=4.2,
        standardisation="Tariff changes through the release process",
    )
    verify_the_actions(fiona, planned)
    judge(as_user, org, cycle)
    assert step(fiona, cycle, "close_effective", signature=APPROVED_CLOSURE) == "closed"

    assert_closed_and_resolved(
        session,
        fiona,
        cycle,
        linked,
        [
            ("define", "measure", "start_measure"),
            ("measure", "analyze", "start_analyze"),
            ("analyze", "improve", "start_improve"),
            ("improve", "control", "start_control"),
            ("control", "closed", "close_effective"),
        ],
    )


def test_an_8d_cycle_walks_from_team_to_closed(org, as_user, clock, session):
    fiona = as_user(org.fiona)
    cycle, linked = open_on_two_problems(org, as_user, "8d")
    assert cycle.state == "d1_team"

    fill(fiona, cycle, team_charter="Fiona leads; Mia and Max; weekly stand-up")
    assert step(fiona, cycle, "describe") == "d2_describe"

    fill(
        fiona,
        cycle,
        problem_description="Parcels damaged: north depot, not south",
        objective="Damage rate below 1%",
    )
    assert step(fiona, cycle, "contain") == "d3_contain"

    fill(fiona, cycle, containment="Double-check parcels leaving the north depot")
    assert step(fiona, cycle, "find_root_cause") == "d4_root_cause"

    fill(fiona, cycle, root_cause="Conveyor drop at the north depot", baseline=3.5)
    assert step(fiona, cycle, "choose_actions") == "d5_choose"

    fill(fiona, cycle, target=1, unit="%")
    planned = plan_two_actions(fiona, cycle, org, clock)
    assert step(fiona, cycle, "implement") == "d6_implement"

    do_the_actions(as_user, planned)
    verify_the_actions(fiona, planned)
    fill(fiona, cycle, success_criterion="Below 1% for a month", result=0.8)
    judge(as_user, org, cycle)
    assert step(fiona, cycle, "prevent") == "d7_prevent"

    fill(fiona, cycle, standardisation="Drop height in the depot maintenance plan")
    assert step(fiona, cycle, "recognise") == "d8_recognise"

    fill(fiona, cycle, recognition="Thanks at the monthly all-hands")
    assert step(fiona, cycle, "close_effective", signature=APPROVED_CLOSURE) == "closed"

    assert_closed_and_resolved(
        session,
        fiona,
        cycle,
        linked,
        [
            ("d1_team", "d2_describe", "describe"),
            ("d2_describe", "d3_contain", "contain"),
            ("d3_contain", "d4_root_cause", "find_root_cause"),
            ("d4_root_cause", "d5_choose", "choose_actions"),
            ("d5_choose", "d6_implement", "implement"),
            ("d6_implement", "d7_prevent", "prevent"),
            ("d7_prevent", "d8_recognise", "recognise"),
            ("d8_recognise", "closed", "close_effective"),
        ],
    )


# --- the PDCA spiral ---------------------------------------------------------------------


def go_round_without_effect(org, as_user, clock, cycle, result=70) -> None:
    """One turn from Plan to Act that does not reach the target."""
    fiona = as_user(org.fiona)
    owner = org.mia
    action = actions.add_action(
        fiona,
        cycle.id,
        title=f"Try number {cycle.iteration}",
        department_id=org.cs,
        owner_id=owner.id,
        deadline=clock.today() + timedelta(days=7),
    )
    assert step(fiona, cycle, "start_do") == "do"
    actions.fire_action(as_user(owner), action.id, trigger="complete", version=action.version)
    assert step(fiona, cycle, "start_check") == "check"
    actions.verify_action(
        fiona,
        action.id,
        effective=True,
        note="done as planned",
        version=action.version,
        signature=VERIFIED_EFFECTIVE,
    )
    fill(fiona, cycle, result=result)
    judge(as_user, org, cycle, effective=False, note=f"{result}% is short of 80%")
    assert step(fiona, cycle, "start_act") == "act"


def test_act_can_start_the_next_iteration_at_plan_with_a_clean_check(org, as_user, clock, session):
    fiona = as_user(org.fiona)
    built = a_cycle_in_check(org, as_user, clock)
    cycle = built.cycle
    fill(fiona, cycle, result=70, result_note="Lunch peak still long")
    judge(as_user, org, cycle, effective=False, note="70% is short of 80%")
    assert step(fiona, cycle, "start_act") == "act"

    assert step(fiona, cycle, "next_iteration") == "plan"

    stored = cycles.get_cycle(fiona, cycle.id)
    assert stored.iteration == 2
    assert (stored.result, stored.result_note) == (None, None)
    assert (stored.effectiveness, stored.effectiveness_by_id, stored.effectiveness_at) == (
        None,
        None,
        None,
    )
    assert (stored.objective, stored.target) == (PLAN_FIELDS["objective"], 80)
    assert stored.escalated is False
    cleared = {
        e.field: (e.from_value, e.to_value)
        for e in events_of(session, "cycle", cycle.id, "field_changed")
        if e.note == "effect of “Start the next iteration”"
    }
    assert cleared == {
        "iteration": ("1", "2"),
        "failed_iterations": ("0", "1"),
        "result": ("70.0", None),
        "result_note": ("Lunch peak still long", None),
        "effectiveness": ("not_effective", None),
        "effectiveness_by_id": (str(org.frank.id), None),
        "effectiveness_at": (clock.now.isoformat(), None),
        "effectiveness_note": ("70% is short of 80%", None),
    }

    # The actions of the first turn are verified; the new turn needs its own.
    with pytest.raises(Refused) as refusal:
        step(fiona, cycle, "start_do")
    assert [r.message for r in refusal.value.reasons] == [
        "No action is planned for iteration 2 yet: add at least one."
    ]
    retry = actions.add_action(
        fiona,
        cycle.id,
        title="Hire two lunchtime temps",
        department_id=org.cs,
        owner_id=org.hanna.id,
        deadline=clock.today() + timedelta(days=10),
    )
    assert retry.iteration == 2
    assert step(fiona, cycle, "start_do") == "do"
    # The numbers are open again for the new measurement.
    fill(fiona, cycle, result=77)
    assert cycles.get_cycle(fiona, cycle.id).result == 77


def test_a_cycle_is_escalated_when_its_fourth_iteration_starts(org, as_user, clock, session):
    fiona = as_user(org.fiona)
    problem = a_problem(as_user(org.mia), department_id=org.cs)
    cycle = cycles.open_cycle(
        fiona,
        title="Cut lunchtime waiting",
        workflow="pdca",
        lead_id=org.fiona.id,
        problem_ids=[problem.id],
        fields=PLAN_FIELDS,
    )

    for turn in (1, 2):
        go_round_without_effect(org, as_user, clock, cycle)
        assert step(fiona, cycle, "next_iteration") == "plan"
        assert (cycle.iteration, cycle.escalated) == (turn + 1, False)
    assert events_of(session, "cycle", cycle.id, "escalated") == []

    go_round_without_effect(org, as_user, clock, cycle)
    assert step(fiona, cycle, "next_iteration") == "plan"

    stored = cycles.get_cycle(fiona, cycle.id)
    assert (stored.iteration, stored.escalated) == (4, True)
    (escalation,) = events_of(session, "cycle", cycle.id, "escalated")
    assert escalation.note == "3 iterations were not effective."
    assert escalation.actor_id == org.fiona.id

    # Flagged once: a fifth turn does not raise it again.
    go_round_without_effect(org, as_user, clock, cycle)
    assert step(fiona, cycle, "next_iteration") == "plan"
    assert cycle.iteration == 5
    assert len(events_of(session, "cycle", cycle.id, "escalated")) == 1
    assert [e.data["trigger"] for e in events_of(session, "cycle", cycle.id, "transition")] == [
        "start_do",
        "start_check",
        "start_act",
        "next_iteration",
    ] * 4


# --- cancelling ------------------------------------------------------------------------------


def test_a_pdca_cycle_can_be_cancelled_from_every_open_phase_with_a_note(
    org, as_user, clock, session
):
    fiona = as_user(org.fiona)
    in_plan = cycles.open_cycle(
        fiona,
        title="Nothing filled in yet",
        workflow="pdca",
        lead_id=org.fiona.id,
        problem_ids=[a_problem(fiona).id],
    )
    in_do = a_cycle_in_do(org, as_user, clock).cycle
    # Check requires a success criterion before it is left; cancelling does not.
    in_check = a_cycle_in_check(org, as_user, clock, success_criterion=None).cycle
    in_act = cycles.open_cycle(
        fiona,
        title="Judged not effective",
        workflow="pdca",
        lead_id=org.fiona.id,
        problem_ids=[a_problem(fiona).id],
        fields=PLAN_FIELDS,
    )
    go_round_without_effect(org, as_user, clock, in_act)

    for cycle, phase in ((in_plan, "plan"), (in_do, "do"), (in_check, "check"), (in_act, "act")):
        assert cycle.state == phase
        with pytest.raises(Refused) as refusal:
            step(fiona, cycle, "cancel")
        assert [r.message for r in refusal.value.reasons] == ["Give a reason in the note."]

        assert step(fiona, cycle, "cancel", note="Folded into the staffing review") == "cancelled"

        last = events_of(session, "cycle", cycle.id, "transition")[-1]
        assert (last.from_value, last.to_value, last.note) == (
            phase,
            "cancelled",
            "Folded into the staffing review",
        )
        assert cycles.get_cycle(fiona, cycle.id).closed_at is not None
        assert cycles.available_transitions(fiona, cycle.id) == []
        # A cancelled cycle resolves nothing: its problems stay open for another cycle.
        for problem_id in cycles.cycle_problem_ids(fiona, cycle.id):
            assert problems.get_problem(fiona, problem_id).status == ProblemStatus.accepted

    with pytest.raises(Conflict, match="can no longer change"):
        fill(fiona, in_plan, objective="Too late")


@pytest.mark.parametrize(
    ("workflow", "first"),
    [("pdca", "plan"), ("five_step", "plan"), ("dmaic", "define"), ("8d", "d1_team")],
)
def test_any_workflow_cancels_from_its_first_state_with_nothing_filled_in(
    workflow, first, org, as_user
):
    fiona = as_user(org.fiona)
    cycle = cycles.open_cycle(
        fiona,
        title="Opened by mistake",
        workflow=workflow,
        lead_id=org.fiona.id,
        problem_ids=[a_problem(fiona).id],
    )
    assert cycle.state == first
    # Leaving the first state forwards needs its fields; cancelling only needs the note.
    forward = [o for o in cycles.available_transitions(fiona, cycle.id) if o.trigger != "cancel"]
    assert forward
    assert not any(o.allowed for o in forward)

    assert step(fiona, cycle, "cancel", note="Duplicate of an open cycle") == "cancelled"
