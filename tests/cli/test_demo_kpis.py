"""`pdca demo`'s KPIs: a year of points, and the problems the monitoring rules found in them."""

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select
from typer.testing import Result

from pdca import migrate, resources
from pdca.db import make_engine
from pdca.demo import load_demo
from pdca.demo_kpis import BASELINE_DAYS, FIRST_DAY, KPIS, midnight, series
from pdca.engine import detection
from pdca.models import (
    Complaint,
    Cycle,
    CycleProblem,
    Event,
    Kpi,
    Measurement,
    Perspective,
    Problem,
    ProblemOccurrence,
    ProblemSource,
    ProblemStatus,
)
from pdca.services import indexes, kpis
from pdca.services.catalog import WorkflowCatalog
from pdca.services.context import Ctx
from pdca.settings import Settings
from pdca.web.texts import problem_text

OPEN = (ProblemStatus.new, ProblemStatus.accepted)
# What the rules must find in the demo's year, and nothing else.
EXPECTED_RULES = {
    "CS-SL": {"limit_breach", "spc_8_on_one_side"},
    "OPS-RESP": {"spc_8_on_one_side"},
    "BIL-ERR": {"spc_2_of_3_beyond_2_sigma"},
    "QA-TRAIN": {"warnings_in_a_row"},
    "LOG-OTD": {"limit_breach"},
    "CS-CSAT": set(),
    "CS-FCR": set(),  # its missing data is found by the schedule, not on ingest
    "FIN-CPC": set(),
    "IT-AVAIL": set(),
    # The members of the composite indexes move, but within their limits.
    "CS-NPS": set(),
    "CS-COMPL": set(),
    "FIN-OPEX": set(),
    "COQ-PREV": set(),
    "COQ-APPR": set(),
    "COQ-INT": set(),
    "COQ-EXT": set(),
}

LATEST_STATUS = {
    "CS-SL": {"warning", "breach"},
    "OPS-RESP": {"off_target"},
    "BIL-ERR": {"on_target"},
    "QA-TRAIN": {"warning"},
    "LOG-OTD": {"off_target", "warning"},
    "CS-CSAT": {"on_target"},
    "CS-FCR": {"off_target", "warning"},  # five days old: the scorecard says no data
    "FIN-CPC": {"on_target"},
    "IT-AVAIL": {"on_target"},
    "CS-NPS": {"on_target", "off_target", "warning"},
    "CS-COMPL": {"on_target", "off_target"},
    "FIN-OPEX": {"on_target"},
    "COQ-PREV": {"on_target"},
    "COQ-APPR": {"on_target"},
    "COQ-INT": {"on_target"},
    "COQ-EXT": {"off_target"},
}


@pytest.fixture(scope="module")
def demo_engine(loaded_demo: Result, demo_db: Settings) -> Iterator[Engine]:
    engine = make_engine(demo_db)
    yield engine
    engine.dispose()


@pytest.fixture
def demo(demo_engine: Engine) -> Iterator[Session]:
    with Session(demo_engine) as session:
        yield session


def demo_today(session: Session) -> date:
    """The day the demo was loaded: its feeds end at midnight of that day."""
    last = session.exec(select(Measurement.at).order_by(col(Measurement.at).desc())).first()
    assert last is not None
    return last.date()


def kpi_problems(session: Session) -> list[tuple[str, Problem]]:
    return list(
        session.exec(
            select(Kpi.code, Problem)
            .join(Kpi, col(Kpi.id) == Problem.kpi_id)
            .order_by(col(Problem.id))
        ).all()
    )


def fingerprint(session: Session) -> dict[str, object]:
    """The demo's KPI numbers, in a form two databases can be compared by."""
    points = session.exec(
        select(Kpi.code, Measurement.at, Measurement.value)
        .join(Kpi, col(Kpi.id) == Measurement.kpi_id)
        .order_by(Kpi.code, col(Measurement.at))
    ).all()
    problems = [
        (code, p.detection_rule, p.status, p.occurrences, p.reported_at, p.last_occurrence_at)
        for code, p in kpi_problems(session)
    ]
    linked = session.exec(
        select(Kpi.code, Cycle.state, Cycle.baseline, Cycle.result)
        .join(Kpi, col(Kpi.id) == Cycle.kpi_id)
        .order_by(Kpi.code)
    ).all()
    return {"points": points, "problems": problems, "cycles": linked}


# --- what the demo holds ---------------------------------------------------------------


def test_the_summary_says_how_many_kpis_points_and_problems(loaded_demo):
    line = next(line for line in loaded_demo.stdout.splitlines() if line.startswith("KPIs:"))
    assert "16 KPIs" in line
    assert "monitoring raised 8 problems" in line


def test_a_year_of_points_for_kpis_in_every_perspective(demo):
    today = demo_today(demo)
    # The demo's designed KPIs (the survey's answers make KPIs of their own: not these).
    designed = {spec.code for spec in KPIS}
    found = [k for k in demo.exec(select(Kpi)).all() if k.code in designed]
    assert len(found) == len(designed) >= 8
    assert {k.perspective for k in found} == set(Perspective)
    assert len({k.department_id for k in found}) == 6
    assert all(k.name_zh and k.unit and k.baseline_start and k.baseline_end for k in found)
    counts = Counter(
        demo.exec(select(Kpi.code).join(Measurement, col(Measurement.kpi_id) == Kpi.id)).all()
    )
    for kpi in found:
        if kpi.interval_hours == 24 * 7:
            assert 52 <= counts[kpi.code] <= 53, kpi.code
        else:
            assert 355 <= counts[kpi.code] <= 365, kpi.code
    assert sorted(k.code for k in found if k.interval_hours == 24 * 7) == [
        "COQ-APPR", "COQ-EXT", "COQ-INT", "COQ-PREV", "CS-NPS", "FIN-OPEX", "QA-TRAIN"
    ]  # fmt: skip
    first = demo.exec(
        select(Measurement.at)
        .join(Kpi, col(Kpi.id) == Measurement.kpi_id)
        .where(col(Kpi.code).in_(designed))
        .order_by(col(Measurement.at))
    ).first()
    assert first == midnight(today + timedelta(days=FIRST_DAY))


def test_monitoring_raised_open_problems_for_the_shifted_kpis(demo):
    found = {(code, p.detection_rule) for code, p in kpi_problems(demo) if p.status in OPEN}
    # The inspections' score and pass-rate KPIs (INS-…, INSP-…) tell the inspections'
    # story (pdca/demo_inspections.py): low scores breach their limit, nothing else.
    inspections = {(code, rule) for code, rule in found if code.startswith(("INS-", "INSP-"))}
    assert inspections and {rule for _code, rule in inspections} == {"limit_breach"}
    assert found - inspections == {
        ("CS-SL", "limit_breach"),
        ("CS-SL", "spc_8_on_one_side"),
        ("OPS-RESP", "spc_8_on_one_side"),
        ("BIL-ERR", "spc_2_of_3_beyond_2_sigma"),
        ("QA-TRAIN", "warnings_in_a_row"),
        ("CS-FCR", "missing_data"),
        ("LOG-OTD", "limit_breach"),
        # Billing's recent dip in the survey's satisfaction (pdca/demo_feedback.py).
        ("CARE-CSAT-BIL", "limit_breach"),
    }
    for _code, problem in kpi_problems(demo):
        assert problem.source == ProblemSource.kpi
        assert problem.reported_by_id is None  # the monitoring, not a person
        assert problem.evidence and problem.detection_rule in problem.evidence
        occurrences = demo.exec(
            select(ProblemOccurrence).where(ProblemOccurrence.problem_id == problem.id)
        ).all()
        assert len(occurrences) == problem.occurrences


def test_service_level_breached_several_times_and_waits_for_a_cycle(demo):
    today = demo_today(demo)
    sl = [p for code, p in kpi_problems(demo) if code == "CS-SL"]
    breach = next(p for p in sl if p.detection_rule == "limit_breach")
    assert breach.occurrences >= 3
    assert breach.status == ProblemStatus.new
    assert today - timedelta(days=30) < breach.reported_at.date() < today
    shift = next(p for p in sl if p.detection_rule == "spc_8_on_one_side")
    assert shift.reported_at < breach.reported_at  # SPC saw the shift before the limit broke
    linked = demo.exec(
        select(CycleProblem).where(col(CycleProblem.problem_id).in_([p.id for p in sl]))
    ).all()
    assert linked == []


def test_the_feed_that_stopped_raised_missing_data(demo):
    today = demo_today(demo)
    fcr = demo.exec(select(Kpi).where(Kpi.code == "CS-FCR")).one()
    last = demo.exec(
        select(Measurement.at)
        .where(Measurement.kpi_id == fcr.id)
        .order_by(col(Measurement.at).desc())
    ).first()
    assert last == midnight(today - timedelta(days=5))
    missing = next(p for c, p in kpi_problems(demo) if c == "CS-FCR")
    assert missing.detection_rule == "missing_data"
    assert missing.last_occurrence_at == midnight(today)


def test_a_recurring_breach_links_the_cycle_that_closed_as_effective(demo):
    problems = [p for code, p in kpi_problems(demo) if code == "LOG-OTD"]
    first, again = problems
    otd = demo.exec(select(Kpi).where(Kpi.code == "LOG-OTD")).one()
    assert first.status == ProblemStatus.resolved
    assert first.recurrence_of_cycle_id is None
    assert again.status == ProblemStatus.new
    assert again.recurrence_of_cycle_id is not None
    cycle = demo.get(Cycle, again.recurrence_of_cycle_id)
    assert cycle is not None
    assert (cycle.state, cycle.effectiveness, cycle.kpi_id) == ("closed", "effective", otd.id)
    assert cycle.effectiveness_by_id != cycle.lead_id
    assert cycle.standardisation
    assert cycle.closed_at is not None and cycle.closed_at < again.reported_at
    assert demo.get(CycleProblem, (cycle.id, first.id)) is not None
    assert cycle.baseline is not None and cycle.baseline < otd.target <= (cycle.result or 0)
    assert "did not hold" in (again.description or "")
    signed = demo.exec(
        select(Event).where(
            Event.entity_type == "cycle", Event.entity_id == cycle.id, Event.to_value == "closed"
        )
    ).one()
    assert signed.at == cycle.closed_at


def test_a_cycle_on_billing_errors_is_in_check_with_the_kpis_numbers(demo):
    err = demo.exec(select(Kpi).where(Kpi.code == "BIL-ERR")).one()
    cycle = demo.exec(select(Cycle).where(Cycle.kpi_id == err.id)).one()
    assert cycle.state == "check"
    problem = next(p for c, p in kpi_problems(demo) if c == "BIL-ERR")
    assert demo.get(CycleProblem, (cycle.id, problem.id)) is not None
    ctx = Ctx(session=demo, actor=None, catalog=WorkflowCatalog({}))
    numbers = kpis.cycle_kpi_numbers(ctx, cycle)
    assert numbers is not None
    assert numbers.baseline is not None and numbers.baseline > err.target
    assert numbers.after is not None and numbers.after <= err.target
    assert numbers.after_points >= 20
    assert numbers.meets_target


def test_the_scorecard_shows_breaches_warnings_and_silence(demo):
    today = demo_today(demo)
    at = datetime.combine(today, time(12), tzinfo=UTC)
    ctx = Ctx(session=demo, actor=None, catalog=WorkflowCatalog({}), clock=lambda: at)
    status = {
        line.kpi.code: line.status for lines in kpis.scorecard(ctx).values() for line in lines
    }
    assert status["CS-FCR"] == "stale"  # its latest value is older than two intervals
    assert status["CS-SL"] in ("warning", "breach")
    assert status["QA-TRAIN"] == "warning"
    for code in ("CS-CSAT", "BIL-ERR", "FIN-CPC", "IT-AVAIL"):
        assert status[code] == "on_target", code


def test_the_service_quality_index_breaches_and_names_service_level_as_the_cause(demo):
    # The demo's KPIs feed the three indexes; QSI stands on six of them and falls with
    # the service level, whose weight is the largest, through its breach limit.
    today = demo_today(demo)
    at = datetime.combine(today, time(12), tzinfo=UTC)
    ctx = Ctx(session=demo, actor=None, catalog=WorkflowCatalog({}), clock=lambda: at)
    lines = {line.definition.code: line for line in indexes.lines(ctx)}
    assert sorted(lines) == ["PCI", "QCI", "QSI"]
    assert all(line.latest is not None for line in lines.values())
    assert lines["QSI"].status == "breach"
    assert lines["QSI"].latest.members_used == 5  # CS-FCR stopped reporting
    # PCI stands on the survey's dimensions too, selected by their tag: one group of
    # weight 20 whose KPIs (five dimensions, two departments) share it. Billing's dip
    # in the survey's last weeks holds the index below its target of 80.
    pci = lines["PCI"].latest
    grouped = [m for m in pci.members if m.get("group") == "survey-dimension"]
    assert len(grouped) == 10 and pci.members_total == 4
    assert lines["PCI"].status == "off_target"
    problem = demo.exec(
        select(Problem).where(
            Problem.index_scope == "QSI:0", Problem.detection_rule == "limit_breach"
        )
    ).one()
    assert problem.status in OPEN and problem.kpi_id is None
    top = problem.generated["pulled_down"][0]
    assert top["kpi"] == "CS-SL"
    assert "Pulled down most by CS-SL Service level" in problem_text(problem, "en").description
    assert "拉低最多的是 CS-SL 服务水平" in problem_text(problem, "zh_CN").description


def test_the_demo_complaints_raise_problems_through_the_rules_not_one_each(demo):
    # The billing spike of the last weeks and the critical outage (pdca/demo_feedback.py).
    linked = Counter(
        c.problem_id
        for c in demo.exec(select(Complaint).where(col(Complaint.problem_id).is_not(None)))
    )
    assert len(linked) >= 2, "the spike and the outage each raise a problem"
    raised = demo.exec(select(Problem).where(col(Problem.id).in_(list(linked)))).all()
    assert {p.source for p in raised} == {ProblemSource.complaint}
    assert max(linked.values()) > 1  # a category over its threshold: one problem, many complaints
    total = demo.exec(select(func.count()).select_from(Complaint)).one()
    assert sum(linked.values()) < total  # most complaints stay below every rule


# --- the same every time ----------------------------------------------------------------


def test_loading_the_demo_again_gives_the_same_numbers(demo, tmp_path):
    """Seeded: another load on the same day (here on SQLite) holds the very same KPI data."""
    today = demo_today(demo)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'again.sqlite3'}")
    migrate.upgrade(settings)
    engine = make_engine(settings)
    try:
        with Session(engine, expire_on_commit=False) as session:
            catalog = WorkflowCatalog.from_directory(resources.workflows_dir())
            load_demo(session, catalog, datetime.combine(today, time(15, 45), tzinfo=UTC))
            again = fingerprint(session)
    finally:
        engine.dispose()
    assert again == fingerprint(demo)
    stored: dict[str, list[float]] = {code: [] for code in EXPECTED_RULES}
    for code, _at, value in again["points"]:  # type: ignore[attr-defined]
        if code in stored:  # the designed series; the survey's KPIs are tested with it
            stored[code].append(value)
    for spec in KPIS:
        assert stored[spec.code] == [v for _d, v in series(spec, today)]


@pytest.mark.parametrize("offset", range(0, 35, 5))
def test_the_rules_find_the_same_stories_whatever_the_day(offset):
    """The series move with the weekdays; the designed shifts (and only they) fire every day."""
    today = date(2026, 11, 25) + timedelta(days=offset)
    for spec in KPIS:
        points = series(spec, today)
        limits = detection.control_limits([v for d, v in points if d < FIRST_DAY + BASELINE_DAYS])
        kpi_spec = detection.KpiSpec(
            direction=spec.direction,
            target=spec.target,
            warning_limit=spec.warning,
            breach_limit=spec.breach,
            interval=timedelta(days=7 if spec.weekly else 1),
            rules=frozenset(spec.rules),
        )
        findings = detection.evaluate(
            kpi_spec,
            [detection.Point(midnight(today + timedelta(days=d)), v) for d, v in points],
            0,
            limits,
        )
        assert {f.rule for f in findings} == EXPECTED_RULES[spec.code], spec.code
        if spec.code == "CS-SL":
            assert sum(f.rule == "limit_breach" for f in findings) >= 3
        # Where the scorecard shows it today.
        assert detection.status(kpi_spec, points[-1][1]) in LATEST_STATUS[spec.code], spec.code
