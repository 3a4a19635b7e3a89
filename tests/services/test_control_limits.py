"""Control limits people decide: phase I (exclude special causes from the baseline, each
with a reason, then freeze the limits) and new limits after a process change (a cycle
aimed at the KPI closed as effective proposes them from the points after its change).

Every number below is computed by hand from the points fed; "now" is the fixed test
clock (2026-11-25 09:00 UTC).
"""

import re
from datetime import timedelta
from typing import Any

import pytest
from pytest import approx

from pdca.engine.detection import D2
from pdca.models import Kpi
from pdca.services import actions, control_limits, cycles, kpis, spc
from pdca.services.errors import Conflict, Forbidden, Invalid
from pdca.web.texts import event_note
from tests.conftest import NOW, Clock, Org
from tests.services.builders_services import a_problem, events_of, fresh, signed
from tests.services.test_kpis import AsUser, a_kpi, daily, days_ago, kpi_problems, point


def alternating(n: int, low: float = 100.0, high: float = 104.0) -> list[float]:
    return [low if i % 2 else high for i in range(n)]


def a_spc_kpi(as_user: AsUser, org: Org) -> Kpi:
    # Higher is better: a signal is on the low side. No baseline period: the first 20
    # points that are not excluded set the limits.
    return a_kpi(as_user(org.fiona), org, rules=["spc_beyond_3_sigma"])


def with_a_special_cause(as_user: AsUser, org: Org) -> Kpi:
    """30 daily points 104, 100, 104, … from 40 days ago; the 10th (index 9) is 130."""
    kpi = a_spc_kpi(as_user, org)
    values = alternating(30)
    values[9] = 130.0
    kpis.ingest(as_user(org.fiona), daily("CS-SL", values, days_ago(40)))
    return kpi


# --- phase I ---------------------------------------------------------------------------------


def test_limits_from_a_baseline_with_a_special_cause_are_wide(org, as_user) -> None:
    kpi = with_a_special_cause(as_user, org)

    limits = spc.control_limits_of(as_user(org.fiona), kpi)

    # Points 0 … 19: ten of 104, nine of 100, one of 130 → centre 2070 / 20 = 103.5.
    # 19 moving ranges: 17 of 4 and two of 26 (104 → 130 → 104) → MR̄ = 120 / 19.
    assert limits.centre == approx(103.5)
    assert limits.sigma == approx(120 / 19 / D2)
    assert limits.line(-3) == approx(86.70, abs=0.01)


def test_excluding_the_special_cause_narrows_the_limits_and_is_audited(
    org, as_user, session
) -> None:
    kpi = with_a_special_cause(as_user, org)
    fiona = as_user(org.fiona)

    control_limits.exclude_point(
        fiona, kpi.id, days_ago(31), "Phone system outage", version=kpi.version
    )

    # Points 0 … 20 without 9: eleven of 104, nine of 100 → centre 2044 / 20 = 102.2.
    # No range bridges the gap: 8 ranges before it and 10 after, each 4 → MR̄ = 4.
    limits = spc.control_limits_of(fiona, kpi)
    assert limits.centre == approx(102.2)
    assert limits.sigma == approx(4 / D2)
    assert limits.line(-3) == approx(91.56, abs=0.01)
    assert limits.line(3) == approx(112.84, abs=0.01)
    [event] = events_of(session, "kpi", kpi.id, "baseline_point_excluded")
    assert event.actor_id == org.fiona.id
    assert event.note == "Phone system outage"
    assert event.data["value"] == 130.0
    assert event.data["limits_before"]["centre"] == approx(103.5)
    assert event.data["limits_after"]["centre"] == approx(102.2)
    review = spc.baseline_points(fiona, kpi)
    assert len(review) == 21 and [p.value for p in review if p.excluded] == [130.0]


def test_an_exclusion_is_taken_back_and_the_limits_return(org, as_user, session) -> None:
    kpi = with_a_special_cause(as_user, org)
    fiona = as_user(org.fiona)
    control_limits.exclude_point(fiona, kpi.id, days_ago(31), "Outage", version=kpi.version)

    control_limits.include_point(fiona, kpi.id, days_ago(31), version=kpi.version)

    assert spc.control_limits_of(fiona, kpi).centre == approx(103.5)
    [event] = events_of(session, "kpi", kpi.id, "baseline_point_included")
    assert event.data["excluded_because"] == "Outage"


def test_freezing_keeps_the_limits_and_detection_uses_them(org, as_user, session) -> None:
    kpi = with_a_special_cause(as_user, org)
    fiona = as_user(org.fiona)
    control_limits.exclude_point(fiona, kpi.id, days_ago(31), "Outage", version=kpi.version)

    control_limits.freeze_limits(fiona, kpi.id, version=kpi.version)

    kpi = fresh(session, kpi)
    assert (kpi.frozen_centre, kpi.frozen_sigma, kpi.frozen_points) == (
        approx(102.2),
        approx(4 / D2),
        20,
    )
    assert (kpi.frozen_by_id, kpi.frozen_at) == (org.fiona.id, NOW)
    [event] = events_of(session, "kpi", kpi.id, "limits_frozen")
    assert event.data["excluded"] == 1 and event.data["lcl"] == approx(91.56, abs=0.01)
    # 91 is below the frozen LCL (91.56) but well within the unreviewed one (86.70).
    result = kpis.ingest(fiona, point("CS-SL", days_ago(5), 91.0))
    assert [f.rule for _, f in result.findings] == ["spc_beyond_3_sigma"]
    assert "91.56" in result.findings[0][1].reason.message


def test_while_frozen_the_baseline_cannot_change_until_unfrozen(org, as_user, session) -> None:
    kpi = with_a_special_cause(as_user, org)
    fiona = as_user(org.fiona)
    control_limits.exclude_point(fiona, kpi.id, days_ago(31), "Outage", version=kpi.version)
    control_limits.freeze_limits(fiona, kpi.id, version=kpi.version)

    with pytest.raises(Conflict, match="frozen"):
        control_limits.include_point(fiona, kpi.id, days_ago(31), version=kpi.version)
    control_limits.unfreeze_limits(fiona, kpi.id, version=kpi.version, note="review again")
    control_limits.include_point(fiona, kpi.id, days_ago(31), version=kpi.version)

    assert fresh(session, kpi).frozen_centre is None
    [event] = events_of(session, "kpi", kpi.id, "limits_unfrozen")
    assert event.note == "review again" and event.data["centre"] == approx(102.2)
    assert spc.control_limits_of(fiona, kpi).centre == approx(103.5)


def test_unfreezing_rejudges_with_the_computed_limits(org, as_user, session) -> None:
    kpi = with_a_special_cause(as_user, org)
    fiona = as_user(org.fiona)
    control_limits.exclude_point(fiona, kpi.id, days_ago(31), "Outage", version=kpi.version)
    control_limits.freeze_limits(fiona, kpi.id, version=kpi.version)
    kpis.ingest(fiona, point("CS-SL", days_ago(5), 91.0))
    [problem] = kpi_problems(session, kpi)
    control_limits.unfreeze_limits(fiona, kpi.id, version=kpi.version)
    control_limits.include_point(fiona, kpi.id, days_ago(31), version=kpi.version)

    # With the special cause back in, 91 is within the limits (LCL 86.70): withdrawn.
    assert fresh(session, problem).occurrences == 0
    [withdrawn] = events_of(session, "problem", problem.id, "occurrence_withdrawn")
    assert "excluded point counts again" in event_note(withdrawn, "en")
    assert not re.search("[A-Za-z]", event_note(withdrawn, "zh_CN"))


def test_phase_one_is_refused_politely(org, as_user) -> None:
    kpi = with_a_special_cause(as_user, org)
    fiona = as_user(org.fiona)

    with pytest.raises(Forbidden):
        control_limits.exclude_point(
            as_user(org.hanna), kpi.id, days_ago(31), "Outage", version=kpi.version
        )
    with pytest.raises(Invalid, match="Say why"):
        control_limits.exclude_point(fiona, kpi.id, days_ago(31), "  ", version=kpi.version)
    with pytest.raises(Invalid, match="no baseline point"):
        control_limits.exclude_point(fiona, kpi.id, days_ago(5), "late", version=kpi.version)
    with pytest.raises(Conflict, match="changed by someone else"):
        control_limits.freeze_limits(fiona, kpi.id, version=kpi.version - 1)
    control_limits.exclude_point(fiona, kpi.id, days_ago(31), "Outage", version=kpi.version)
    with pytest.raises(Conflict, match="already excluded"):
        control_limits.exclude_point(fiona, kpi.id, days_ago(31), "again", version=kpi.version)
    with pytest.raises(Conflict, match="not frozen"):
        control_limits.unfreeze_limits(fiona, kpi.id, version=kpi.version)


def test_a_baseline_too_short_has_no_limits_to_freeze(org, as_user) -> None:
    kpi = a_spc_kpi(as_user, org)
    kpis.ingest(as_user(org.fiona), daily("CS-SL", alternating(5), days_ago(10)))

    with pytest.raises(Conflict, match="at least 8 points"):
        control_limits.freeze_limits(as_user(org.fiona), kpi.id, version=kpi.version)


# --- recalculating after a process change ------------------------------------------------------


def an_effective_cycle_on(org: Org, as_user: AsUser, clock: Clock, kpi: Kpi) -> Any:
    """Fiona runs a PDCA cycle aimed at the KPI; its one action is done now (the change),
    and it closes as effective."""
    fiona = as_user(org.fiona)
    problem = a_problem(as_user(org.mia), department_id=org.cs)
    cycle = cycles.open_cycle(
        fiona,
        title="Lift the service level",
        workflow="pdca",
        lead_id=org.fiona.id,
        problem_ids=[problem.id],
        fields={
            "objective": "Answer 80% of calls within 20 s",
            "root_cause": "Breaks overlap at noon",
            "success_criterion": "Service level >= 80% for two weeks",
            "baseline": 102,
        },
    )
    kpis.link_cycle_to_kpi(fiona, cycle.id, kpi.id, version=cycle.version)
    action = actions.add_action(
        fiona,
        cycle.id,
        title="Stagger breaks",
        department_id=org.cs,
        owner_id=org.mia.id,
        deadline=clock.today() + timedelta(days=7),
    )
    cycles.fire_transition(fiona, cycle.id, trigger="start_do", version=cycle.version)
    actions.fire_action(as_user(org.mia), action.id, trigger="complete", version=action.version)
    actions.verify_action(
        fiona,
        action.id,
        effective=True,
        note="seen working",
        version=action.version,
        signature=signed("verified effective"),
    )
    cycles.fire_transition(fiona, cycle.id, trigger="start_check", version=cycle.version)
    cycles.update_cycle_fields(fiona, cycle.id, version=cycle.version, changes={"result": 84})
    cycles.record_effectiveness(
        as_user(org.frank), cycle.id, effective=True, note="84%", version=cycle.version
    )
    cycles.fire_transition(fiona, cycle.id, trigger="start_act", version=cycle.version)
    cycles.update_cycle_fields(
        fiona, cycle.id, version=cycle.version, changes={"standardisation": "Rota in the SOP"}
    )
    cycles.fire_transition(
        fiona,
        cycle.id,
        trigger="close_effective",
        version=cycle.version,
        signature=signed("approved closure"),
    )
    return cycle


def changed_process(org: Org, as_user: AsUser, clock: Clock) -> tuple[Kpi, Any]:
    """30 points 104/100 before (centre 102, MR̄ 4), the change now, then 12 points
    110/116 a day apart (centre 113, MR̄ 6), read 20 days later."""
    kpi = a_spc_kpi(as_user, org)
    kpis.ingest(as_user(org.fiona), daily("CS-SL", alternating(30), days_ago(60)))
    cycle = an_effective_cycle_on(org, as_user, clock, kpi)
    clock.advance(days=20)
    kpis.ingest(
        as_user(org.fiona), daily("CS-SL", alternating(12, 110.0, 116.0), NOW + timedelta(days=1))
    )
    return kpi, cycle


def test_an_effective_cycle_proposes_limits_from_the_points_after_its_change(
    org, as_user, clock
) -> None:
    kpi, cycle = changed_process(org, as_user, clock)

    [proposal] = control_limits.proposals(as_user(org.fiona), kpi)

    assert proposal.cycle.id == cycle.id
    assert proposal.starts_at == NOW  # the cycle's action was done then
    assert proposal.points == 12
    assert proposal.limits.centre == approx(113.0)
    assert proposal.limits.sigma == approx(6 / D2)
    assert proposal.limits.line(-3) == approx(97.04, abs=0.01)


def test_accepted_limits_judge_from_the_change_and_the_old_ones_before(
    org, as_user, clock, session
) -> None:
    kpi, cycle = changed_process(org, as_user, clock)
    fiona = as_user(org.fiona)

    control_limits.recalculate_limits(fiona, kpi.id, cycle.id, version=kpi.version)

    [event] = events_of(session, "kpi", kpi.id, "limits_recalculated")
    assert event.actor_id == org.fiona.id
    assert event.data["cycle"] == f"C-{cycle.id}" and event.data["points"] == 12
    assert event.data["limits_before"]["centre"] == approx(102.0)
    assert event.data["limits_after"]["lcl"] == approx(97.04, abs=0.01)
    # 96 after the change is below the new LCL (97.04); the old one was 102 − 3·4/1.128 = 91.36.
    after = kpis.ingest(fiona, point("CS-SL", NOW + timedelta(days=15), 96.0))
    assert [f.rule for _, f in after.findings] == ["spc_beyond_3_sigma"]
    assert "97.04" in after.findings[0][1].reason.message
    # A late point before the change is judged by the old limits: 95 is within them.
    before = kpis.ingest(fiona, point("CS-SL", days_ago(10), 95.0))
    assert before.findings == []
    assert control_limits.proposals(fiona, kpi) == []  # accepted: no longer proposed


def test_the_chart_shows_the_old_limits_before_the_change_and_the_new_after(
    org, as_user, clock
) -> None:
    kpi, cycle = changed_process(org, as_user, clock)
    fiona = as_user(org.fiona)
    control_limits.recalculate_limits(fiona, kpi.id, cycle.id, version=kpi.version)

    view = spc.chart_data(fiona, kpi, NOW - timedelta(days=30))

    old, new = view.segments
    assert (old.start, old.limits.centre) == (None, approx(102.0))
    assert (new.start, new.limits.centre) == (NOW, approx(113.0))
    assert view.limits.centre == approx(113.0)
    # A 10-day window after the change holds only the new limits.
    [only] = spc.chart_data(fiona, kpi, NOW + timedelta(days=3)).segments
    assert only.limits.centre == approx(113.0)


def test_a_cycle_not_yet_followed_by_enough_points_proposes_nothing(org, as_user, clock) -> None:
    kpi = a_spc_kpi(as_user, org)
    kpis.ingest(as_user(org.fiona), daily("CS-SL", alternating(30), days_ago(60)))
    cycle = an_effective_cycle_on(org, as_user, clock, kpi)
    clock.advance(days=20)
    kpis.ingest(as_user(org.fiona), daily("CS-SL", [110.0] * 3, NOW + timedelta(days=1)))

    assert control_limits.proposals(as_user(org.fiona), kpi) == []
    with pytest.raises(Conflict, match="proposes no new limits"):
        control_limits.recalculate_limits(as_user(org.fiona), kpi.id, cycle.id, version=kpi.version)
