"""Problems: anyone but a viewer reports what they see; facilitators triage it."""

import pytest

from pdca.models import Event, Problem, ProblemStatus
from pdca.services import cycles, problems
from pdca.services.errors import Conflict, Forbidden, Invalid, NotFound
from tests.services.builders_services import a_problem, count, events_of, fresh


def messages(exc_info: pytest.ExceptionInfo) -> list[str]:
    return [r.message for r in exc_info.value.reasons]


# --- reporting ----------------------------------------------------------------


def test_a_member_reports_a_problem_and_the_trail_says_who_and_when(org, as_user, clock, session):
    problem = problems.report_problem(
        as_user(org.mia),
        title="  Callers wait too long at lunchtime  ",
        source="complaint",
        severity="high",
        department_id=org.cs,
        evidence="12 complaints in May",
    )

    stored = fresh(session, problem)
    assert (stored.title, stored.status, stored.severity) == (
        "Callers wait too long at lunchtime",
        ProblemStatus.new,
        "high",
    )
    assert (stored.reported_by_id, stored.reported_at) == (org.mia.id, clock.now)
    [event] = events_of(session, "problem", problem.id)
    assert (event.verb, event.actor_id, event.at, event.to_value) == (
        "reported",
        org.mia.id,
        clock.now,
        "new",
    )
    assert event.data == {
        "title": "Callers wait too long at lunchtime",
        "source": "complaint",
        "severity": "high",
    }


def test_a_problem_with_bad_input_is_refused_with_every_reason_and_nothing_is_stored(
    org, as_user, session
):
    before = (count(session, Problem), count(session, Event))

    with pytest.raises(Invalid) as refused:
        problems.report_problem(as_user(org.mia), title="   ", source="rumour", severity="urgent")

    reasons = messages(refused)
    assert len(reasons) == 3
    assert reasons[0] == "Give the problem a title."
    assert reasons[1].startswith("Unknown source 'rumour'; one of: kpi, complaint, audit")
    assert reasons[2].startswith("Unknown severity 'urgent'; one of: low, medium, high")
    assert (count(session, Problem), count(session, Event)) == before


def test_a_problem_in_an_unknown_department_is_not_found_and_nothing_is_stored(
    org, as_user, session
):
    before = (count(session, Problem), count(session, Event))

    with pytest.raises(NotFound, match="Department 9999 does not exist"):
        a_problem(as_user(org.mia), department_id=9999)

    assert (count(session, Problem), count(session, Event)) == before


def test_a_viewer_cannot_report_a_problem(org, as_user, session):
    with pytest.raises(Forbidden, match="Viewers have read-only access"):
        a_problem(as_user(org.vera))
    assert count(session, Problem) == 0


# --- triage -------------------------------------------------------------------


def test_a_facilitator_accepts_a_problem(org, as_user, clock, session):
    problem = a_problem(as_user(org.mia))
    clock.advance(hours=2)

    problems.triage_problem(as_user(org.fiona), problem.id, decision="accept", version=1)

    stored = fresh(session, problem)
    assert (stored.status, stored.triaged_by_id, stored.triaged_at, stored.version) == (
        ProblemStatus.accepted,
        org.fiona.id,
        clock.now,
        2,
    )
    [event] = events_of(session, "problem", problem.id, "triaged")
    assert (event.actor_id, event.from_value, event.to_value) == (org.fiona.id, "new", "accepted")
    assert event.data["decision"] == "accept"


def test_rejecting_a_problem_needs_a_reason(org, as_user, session):
    problem = a_problem(as_user(org.mia))
    fiona = as_user(org.fiona)

    for empty in (None, "", "   "):
        with pytest.raises(Invalid) as refused:
            problems.triage_problem(fiona, problem.id, decision="reject", reason=empty)
        assert messages(refused) == ["A reason is required."]
    assert fresh(session, problem).status == ProblemStatus.new

    problems.triage_problem(fiona, problem.id, decision="reject", reason="Caller error, not ours")

    stored = fresh(session, problem)
    assert (stored.status, stored.rejection_reason) == ("rejected", "Caller error, not ours")
    [event] = events_of(session, "problem", problem.id, "triaged")
    assert (event.to_value, event.note) == ("rejected", "Caller error, not ours")


def test_a_duplicate_points_at_an_existing_original(org, as_user, session):
    original = a_problem(as_user(org.mia), title="Long queue at noon")
    copy = a_problem(as_user(org.max), title="Noon queue is long")
    fiona = as_user(org.fiona)

    with pytest.raises(Invalid, match="Say which problem this one duplicates"):
        problems.triage_problem(fiona, copy.id, decision="duplicate")
    with pytest.raises(NotFound, match="Problem 9999 does not exist"):
        problems.triage_problem(fiona, copy.id, decision="duplicate", duplicate_of=9999)
    assert fresh(session, copy).status == ProblemStatus.new

    problems.triage_problem(fiona, copy.id, decision="duplicate", duplicate_of=original.id)

    stored = fresh(session, copy)
    assert (stored.status, stored.duplicate_of_id) == (ProblemStatus.duplicate, original.id)
    [event] = events_of(session, "problem", copy.id, "triaged")
    assert event.data == {"decision": "duplicate", "duplicate_of": original.id}


def test_a_problem_cannot_duplicate_itself(org, as_user, session):
    problem = a_problem(as_user(org.mia))

    with pytest.raises(Invalid, match="A problem cannot duplicate itself"):
        problems.triage_problem(
            as_user(org.fiona), problem.id, decision="duplicate", duplicate_of=problem.id
        )
    assert fresh(session, problem).status == ProblemStatus.new


def test_a_duplicate_cannot_point_at_another_duplicate_but_is_told_the_original(
    org, as_user, session
):
    original, first_copy, second_copy = (a_problem(as_user(org.mia)) for _ in range(3))
    fiona = as_user(org.fiona)
    problems.triage_problem(fiona, first_copy.id, decision="duplicate", duplicate_of=original.id)

    with pytest.raises(Invalid) as refused:
        problems.triage_problem(
            fiona, second_copy.id, decision="duplicate", duplicate_of=first_copy.id
        )

    assert refused.value.detail == (
        f"P-{first_copy.id} is itself a duplicate; point at P-{original.id} instead."
    )
    assert fresh(session, second_copy).status == ProblemStatus.new


def test_triaging_a_problem_twice_is_a_conflict(org, as_user, session):
    problem = a_problem(as_user(org.mia))
    problems.triage_problem(as_user(org.fiona), problem.id, decision="accept")

    with pytest.raises(Conflict, match=rf"P-{problem.id} was already triaged \(accepted\)"):
        problems.triage_problem(as_user(org.frank), problem.id, decision="reject", reason="no")

    assert fresh(session, problem).status == ProblemStatus.accepted
    assert len(events_of(session, "problem", problem.id, "triaged")) == 1


def test_an_unknown_decision_is_invalid(org, as_user):
    problem = a_problem(as_user(org.mia))
    with pytest.raises(Invalid, match="The decision is one of: accept, reject, duplicate"):
        problems.triage_problem(as_user(org.fiona), problem.id, decision="maybe")


@pytest.mark.parametrize(
    ("persona", "reason"),
    [
        (
            "mia",
            "Only facilitators, administrators and the head of the problem's department triage this problem.",
        ),
        (
            "hanna",
            "Only facilitators, administrators and the head of the problem's department triage this problem.",
        ),
        ("vera", "Viewers have read-only access."),
    ],
)
def test_only_staff_and_the_departments_head_triage(org, as_user, session, persona, reason):
    problem = a_problem(as_user(org.mia))

    with pytest.raises(Forbidden) as refused:
        problems.triage_problem(as_user(getattr(org, persona)), problem.id, decision="accept")

    assert refused.value.detail == reason
    assert fresh(session, problem).status == ProblemStatus.new
    problems.triage_problem(as_user(org.admin), problem.id, decision="accept")
    assert fresh(session, problem).status == ProblemStatus.accepted


def test_triage_on_a_stale_version_is_a_conflict(org, as_user, session):
    problem = a_problem(as_user(org.mia))
    read_version = problem.version
    # Frank opens a cycle on it meanwhile, which accepts it (and bumps its version).
    cycles.open_cycle(
        as_user(org.frank),
        title="Queues",
        workflow="pdca",
        lead_id=org.frank.id,
        problem_ids=[problem.id],
    )

    with pytest.raises(Conflict, match="was changed by someone else"):
        problems.triage_problem(
            as_user(org.fiona), problem.id, decision="reject", reason="noise", version=read_version
        )

    stored = fresh(session, problem)
    assert (stored.status, stored.triaged_by_id) == (ProblemStatus.accepted, org.frank.id)


# --- heads triage their own department's problems -------------------------------------


@pytest.mark.parametrize(
    ("decision", "extra", "status"),
    [
        ("accept", {}, ProblemStatus.accepted),
        ("reject", {"reason": "Not a service problem"}, ProblemStatus.rejected),
        ("duplicate", {}, ProblemStatus.duplicate),
    ],
)
def test_a_head_triages_a_problem_of_their_own_department(
    org, as_user, session, decision, extra, status
):
    original = a_problem(as_user(org.mia), title="Hold music too loud", department_id=org.cs)
    problem = a_problem(as_user(org.mia), department_id=org.cs)
    if decision == "duplicate":
        extra = {"duplicate_of": original.id}

    problems.triage_problem(as_user(org.hanna), problem.id, decision=decision, **extra)

    assert fresh(session, problem).status == status
    (event,) = events_of(session, "problem", problem.id, "triaged")
    assert (event.actor_id, event.data["decision"]) == (org.hanna.id, decision)


def test_a_head_cannot_triage_a_problem_of_another_department(org, as_user, session):
    problem = a_problem(as_user(org.max), title="VPN drops", department_id=org.it)

    with pytest.raises(Forbidden) as refused:
        problems.triage_problem(as_user(org.hanna), problem.id, decision="accept")

    assert refused.value.detail == (
        "Only facilitators, administrators and the head of the problem's department "
        "triage this problem."
    )
    assert fresh(session, problem).status == ProblemStatus.new
    problems.triage_problem(as_user(org.ivan), problem.id, decision="accept")  # IT's head may
    assert fresh(session, problem).status == ProblemStatus.accepted
