"""Composite indexes computed from the measurements: per day, week and month, per
department, with the definition version kept beside each value, and watched like KPIs."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from pdca.engine import indexes as engine
from pdca.models import Event, IndexValue, IndexVersion, Problem
from pdca.services import indexes, kpis
from pdca.services.kpis import RowIn
from pdca.web.texts import problem_text

MONDAY = date(2026, 11, 2)


def at(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def day(n: int) -> date:
    return MONDAY + timedelta(days=n)


@pytest.fixture
def service_kpis(org, as_user):
    """Two QSI members in two departments: service level (CS) and response time (IT)."""
    fiona = as_user(org.fiona)
    kpis.create_kpi(
        fiona, code="CS-SL", name="Service level", unit="%", department_id=org.cs,
        direction="higher", target=80.0, warning_limit=75.0, breach_limit=70.0,
    )  # fmt: skip
    kpis.create_kpi(
        fiona, code="OPS-RESP", name="Response time", unit="h", department_id=org.it,
        direction="lower", target=4.0, warning_limit=6.0, breach_limit=8.0,
    )  # fmt: skip
    return fiona


@pytest.fixture
def three_members(service_kpis, org):
    """A third QSI member, so that the index stands on half of its six and is judged."""
    kpis.create_kpi(
        service_kpis, code="IT-AVAIL", name="CRM availability", unit="%", department_id=org.it,
        direction="higher", target=99.5, warning_limit=99.0, breach_limit=98.0,
    )  # fmt: skip
    return service_kpis


def feed(ctx, points):
    rows = [RowIn(i, code, at(d), v) for i, (code, d, v) in enumerate(points, 1)]
    return kpis.ingest(ctx, rows)


def value(session, period, start, scope=0, code="QSI"):
    return session.exec(
        select(IndexValue).where(
            IndexValue.code == code,
            IndexValue.period == period,
            IndexValue.start == start,
            IndexValue.scope == scope,
        )
    ).one()


def test_a_day_stands_on_the_members_with_data_and_says_how_many(service_kpis, session, org):
    feed(service_kpis, [("CS-SL", day(0), 75), ("OPS-RESP", day(0), 5)])
    v = value(session, "day", day(0))
    # QSI weights 25 (CS-SL) and 20 (OPS-RESP) of 100; the four others have no data:
    # 25/45 * 50 + 20/45 * 75 = 61.11…
    assert v.value == pytest.approx(25 / 45 * 50 + 20 / 45 * 75, abs=1e-4)
    assert (v.members_used, v.members_total) == (2, 6)
    by_kpi = {m["kpi"]: m for m in v.members}
    assert by_kpi["CS-FCR"]["score"] is None and by_kpi["CS-FCR"]["contribution"] == 0
    assert v.status == "breach"  # below the QSI's breach limit of 75
    # Each department's value stands on its own members only.
    cs, it = value(session, "day", day(0), org.cs), value(session, "day", day(0), org.it)
    assert (cs.value, cs.members_used, cs.members_total) == (50, 1, 1)
    assert (it.value, it.members_used, it.members_total) == (75, 1, 1)


def test_a_week_and_a_month_score_the_mean_of_their_days(service_kpis, session):
    feed(service_kpis, [("CS-SL", day(0), 72), ("CS-SL", day(1), 78), ("CS-SL", day(8), 80)])
    # The week of Monday 2 November: mean 75 → 50; the month: mean 76.67 → 66.67.
    assert value(session, "week", MONDAY).value == 50
    assert value(session, "week", day(7)).value == 100
    assert value(session, "month", date(2026, 11, 1)).value == pytest.approx(66.6667, abs=1e-3)


def test_a_late_point_recomputes_its_periods(service_kpis, session):
    feed(service_kpis, [("CS-SL", day(0), 75), ("CS-SL", day(2), 80)])
    assert value(session, "week", MONDAY).value == pytest.approx(75)  # mean 77.5
    feed(service_kpis, [("OPS-RESP", day(1), 4)])  # arrives late, for Tuesday
    week = value(session, "week", MONDAY)
    assert week.value == pytest.approx(25 / 45 * 75 + 20 / 45 * 100, abs=1e-4)
    assert week.members_used == 2


def test_changing_the_weights_leaves_the_old_values_as_they_were(service_kpis, session):
    ctx = service_kpis
    feed(ctx, [("CS-SL", day(0), 75), ("OPS-RESP", day(0), 5)])
    old = value(session, "day", day(0))
    before = (old.value, old.version_id)
    shipped = indexes.definition_of("QSI")
    # The organisation makes service level weigh 80 against response time's 20.
    raw = {
        **shipped.raw,
        "members": [
            {**m, "weight": 80 if m["kpi"] == "CS-SL" else 20} for m in shipped.raw["members"]
        ],
    }
    edited = engine.from_dict(raw, "qsi.yaml")
    definitions = {**indexes.builtin_definitions(), "QSI": edited}
    kpis_rows = [RowIn(1, "CS-SL", at(day(1)), 75), RowIn(2, "OPS-RESP", at(day(1)), 5)]
    kpis.ingest(ctx, kpis_rows)  # computed with the shipped weights first …
    session.delete(value(session, "day", day(1)))  # … then as if it came after the edit
    session.flush()
    indexes.recompute(ctx, {"CS-SL": at(day(1))}, definitions)

    unchanged = value(session, "day", day(0))
    assert (unchanged.value, unchanged.version_id) == before
    new = value(session, "day", day(1))
    assert new.value == pytest.approx(0.8 * 50 + 0.2 * 75)  # 55
    versions = {v.id: v.number for v in session.exec(select(IndexVersion))}
    assert (versions[unchanged.version_id], versions[new.version_id]) == (1, 2)
    # A late point for the old day is recomputed with the version that day was computed with.
    indexes.recompute(ctx, {"CS-SL": at(day(0))}, definitions)
    assert value(session, "day", day(0)).value == before[0]


def test_a_breach_raises_a_problem_naming_the_member_that_pulled_the_index_down(
    three_members, session, org
):
    ctx = three_members
    good = [
        (c, day(n), v)
        for n in range(3)
        for c, v in (("CS-SL", 82), ("OPS-RESP", 4.5), ("IT-AVAIL", 99.9))
    ]
    result = feed(ctx, good)
    assert result.index_problems_raised == []
    # Service level falls to its breach limit while response time holds.
    result = feed(
        ctx, [("CS-SL", day(3), 70), ("OPS-RESP", day(3), 4.6), ("IT-AVAIL", day(3), 99.9)]
    )
    # For the whole organisation only: Customer Service's QSI is CS-SL alone, whose own
    # rules speak for it.
    [problem_id] = result.index_problems_raised
    problem = session.get(Problem, problem_id)
    assert problem.index_scope == "QSI:0"
    assert value(session, "day", day(3), org.cs).status == "breach"
    assert problem.detection_rule == "limit_breach" and problem.department_id is None
    assert problem.kpi_id is None and problem.status == "new"
    assert problem.generated["pulled_down"][0]["kpi"] == "CS-SL"
    english = problem_text(problem, "en")
    assert english.title.startswith("QSI Service quality index (QSI):")
    assert "Pulled down most by CS-SL Service level" in english.description
    assert problem.generated["since"] == "2026-11-04"  # the last day on target
    chinese = problem_text(problem, "zh_CN")
    assert "CS-SL" in chinese.description and "服务质量指数" in chinese.title
    reported = session.exec(
        select(Event).where(Event.entity_type == "problem", Event.entity_id == problem_id)
    ).all()
    assert [e.verb for e in reported] == ["reported"]

    # Breaching again adds an occurrence to the open problem, never a second problem.
    again = feed(
        ctx, [("CS-SL", day(4), 69), ("OPS-RESP", day(4), 4.6), ("IT-AVAIL", day(4), 99.9)]
    )
    assert again.index_problems_raised == []
    session.refresh(problem)
    assert problem.occurrences == 2
    # Judging the same values again (a late point elsewhere) raises nothing new.
    assert feed(ctx, [("IT-AVAIL", day(5), 99.9)]).index_problems_raised == []
    feed(ctx, [("OPS-RESP", day(5), 4.4)])
    session.refresh(problem)
    assert problem.occurrences == 2


def test_a_value_on_fewer_than_half_of_its_members_is_shown_but_not_judged(service_kpis, session):
    # Two of QSI's six members: the value is there, in breach, and raises nothing.
    result = feed(service_kpis, [("CS-SL", day(0), 70), ("OPS-RESP", day(0), 8)])
    assert value(session, "day", day(0)).status == "breach"
    assert result.index_problems_raised == []


def test_the_scorecard_lines_and_the_values_read_back(service_kpis, session, org):
    feed(service_kpis, [("CS-SL", day(0), 75), ("OPS-RESP", day(0), 5)])
    lines = indexes.lines(service_kpis)
    assert [line.definition.code for line in lines] == ["PCI", "QCI", "QSI"]
    assert [line.status for line in lines][:2] == ["no_data", "no_data"]
    qsi = lines[2]
    assert qsi.latest is not None and qsi.latest.start == day(0)
    # A department sees only the indexes it owns members of.
    assert [line.definition.code for line in indexes.lines(service_kpis, org.cs)] == ["QSI"]
    assert [v.start for v in indexes.values(service_kpis, "qsi", period="week")] == [MONDAY]


def test_an_index_read_with_a_wrong_period_or_code_is_refused(service_kpis):
    from pdca.services.errors import Invalid, NotFound

    with pytest.raises(NotFound):
        indexes.values(service_kpis, "XYZ")
    with pytest.raises(Invalid):
        indexes.values(service_kpis, "QSI", period="year")


def test_the_pci_takes_the_survey_dimensions_by_their_tag_sharing_one_weight(org, as_user, session):
    """A survey's dimension KPIs (one per survey, department and dimension) are no names
    a definition could list: PCI selects them by the tag the survey feed gives them."""
    fiona = as_user(org.fiona)
    kpis.create_kpi(
        fiona, code="CS-CSAT", name="Customer satisfaction", department_id=org.cs,
        target=4.2, warning_limit=3.8, breach_limit=3.0,
    )  # fmt: skip
    for code, dept in (("CARE-ASS-CS", org.cs), ("CARE-EMP-IT", org.it)):
        kpis.create_kpi(
            fiona, code=code, name=code, department_id=dept, target=4.0, warning_limit=3.5,
            tags=["survey", "survey:CARE", "survey-dimension", f"dimension:{code[5:8]}"],
        )  # fmt: skip
    feed(fiona, [("CS-CSAT", day(0), 3.6), ("CARE-ASS-CS", day(0), 4.5), ("CARE-EMP-IT", day(0), 3.75)])  # fmt: skip
    # CSAT 3.6 → 50 on its limits (3.0 → 0, 4.2 → 100), weight 40; the dimensions, linear
    # 3 → 0 and 4.5 → 100, share the group's 20: ASS 4.5 → 100 and EMP 3.75 → 50, 10 each.
    # NPS and the complaint rate have no data: (40·50 + 10·100 + 10·50) / 60.
    v = value(session, "day", day(0), code="PCI")
    assert v.value == pytest.approx((40 * 50 + 10 * 100 + 10 * 50) / 60, abs=1e-4)
    assert (v.members_used, v.members_total) == (2, 4)  # CSAT and the group; NPS, COMPL not
    by_kpi = {m["kpi"]: m for m in v.members}
    assert by_kpi["CARE-EMP-IT"]["group"] == "survey-dimension"
    assert by_kpi["CARE-ASS-CS"]["share"] == pytest.approx(10 / 60, abs=1e-6)
    # A department's value stands on its own: in CS the one dimension takes the whole 20.
    cs = value(session, "day", day(0), org.cs, code="PCI")
    assert cs.value == pytest.approx((40 * 50 + 20 * 100) / 60, abs=1e-4)
    it = value(session, "day", day(0), org.it, code="PCI")
    assert (it.value, it.members_used, it.members_total) == (50, 1, 1)
