"""The Pareto of problems by what kind of problem they are (their category) and by the
root-cause category their cycles found (the bone of the fishbone), beside source,
department and KPI; both categories are set as the other fields are, and audited."""

import pytest

from pdca.services import cycles, kpis, problems
from pdca.services.errors import Invalid
from tests.services.builders_services import a_problem, events_of, fresh


def a_cycle_on(fiona, org, problem_ids, category):
    cycle = cycles.open_cycle(
        fiona,
        title="Look into it",
        workflow="pdca",
        lead_id=org.fiona.id,
        problem_ids=problem_ids,
        fields={"root_cause": "Found it"},
    )
    if category:
        cycles.update_cycle_fields(
            fiona, cycle.id, version=cycle.version, changes={"root_cause_category": category}
        )
    return cycle


def test_problems_are_counted_by_their_category(org, as_user, session) -> None:
    mia, fiona = as_user(org.mia), as_user(org.fiona)
    for category in ("process", "process", "system", None):
        a_problem(mia, department_id=org.cs, category=category)
    late = a_problem(mia, department_id=org.cs)

    problems.update_problem(fiona, late.id, version=late.version, changes={"category": "supplier"})

    assert kpis.pareto(fiona, "category") == [("process", 2), ("supplier", 1), ("system", 1)]
    [change] = events_of(session, "problem", late.id, "field_changed")
    assert (change.field, change.from_value, change.to_value) == ("category", None, "supplier")
    assert fresh(session, late).category == "supplier"


def test_problems_are_counted_by_the_root_cause_category_of_their_cycles(org, as_user) -> None:
    mia, fiona = as_user(org.mia), as_user(org.fiona)
    p1, p2, p3, p4 = (a_problem(mia, department_id=org.cs) for _ in range(4))
    a_cycle_on(fiona, org, [p1.id, p2.id], "methods")
    a_cycle_on(fiona, org, [p3.id], "machines")
    a_cycle_on(fiona, org, [p1.id], "methods")  # a second look at P1: counted once
    a_cycle_on(fiona, org, [p4.id], None)  # not analysed yet: not counted

    assert kpis.pareto(fiona, "root_cause") == [("methods", 2), ("machines", 1)]


def test_unknown_categories_are_refused_with_the_choices(org, as_user) -> None:
    mia, fiona = as_user(org.mia), as_user(org.fiona)
    with pytest.raises(Invalid) as refused:
        a_problem(mia, category="weather")
    assert "one of: process, people, system, supplier, policy, environment" in str(
        refused.value.reasons[0].message
    )
    cycle = a_cycle_on(fiona, org, [a_problem(mia, department_id=org.cs).id], None)
    with pytest.raises(Invalid) as bad:
        cycles.update_cycle_fields(
            fiona, cycle.id, version=cycle.version, changes={"root_cause_category": "luck"}
        )
    assert "'people', 'methods', 'machines'" in bad.value.reasons[0].message
    with pytest.raises(Invalid, match="category"):
        kpis.pareto(fiona, "weather")
