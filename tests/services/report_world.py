"""A hand-built data set whose dashboard figures are known by heart.

Rows are written straight into the tables (the dashboard only reads), with the times
chosen so that every median, percentile and rate below can be checked with a pencil.
The period is the three weeks Monday 2 November to Sunday 22 November 2026; "now" is
the test clock, Wednesday 25 November 2026 09:00 UTC.

Problems (CS unless said): P1 complaint, reported 3 Nov, resolved 20 Nov. P2 kpi,
reported 4 Nov, accepted. P3 audit, IT, reported 10 Nov, rejected 11 Nov. P4 new,
reported 24 Nov (after the period). P5 accepted, reported 1 Aug. P6 complaint,
reported 16 Nov, a recurrence after C1.

Cycles: C1 pdca on P1, opened 5 Nov, closed 20 Nov effective at turn 1. C2 pdca on P2,
opened 6 Nov, closed 16 Nov effective at turn 2. C3 pdca IT on P5, opened 12 Nov,
escalated, open. C4 pdca, opened 1 Oct, cancelled 10 Nov. C5 dmaic IT on P2, opened
13 Nov, open.

Actions: A1 CS due 10 Nov, done 9 Nov 12:00 (created 5 Nov), verified 11 Nov 12:00.
A2 CS due 10 Nov, done 10 Nov 12:00 (created 5 Nov), verified 13 Nov 12:00. A3 IT due
12 Nov, done 14 Nov (created 6 Nov). A4 IT due 15 Nov, open. A5 CS due 18 Nov,
cancelled. A6 CS due 30 Nov. A7 CS due 24 Nov. A8 IT in C5 due 20 Nov, done 19 Nov
(created 13 Nov).

KPIs: CS-SL (customer) fired 3 times in the period and once before; FIN-CPC
(financial, lower is better, target 4.5 €) fired once, points 4.0 5.0 5.5 4.5 in the
period and 9.0 before; FIN-SAV (financial, IT, higher is better, target 100) points
90 and 110.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlmodel import Session

from pdca.models import (
    Action,
    Cycle,
    CycleProblem,
    Kpi,
    Measurement,
    Problem,
    ProblemOccurrence,
)
from pdca.services.catalog import WorkflowCatalog
from pdca.services.reports import DashboardFilter
from tests.conftest import Org

PERIOD = DashboardFilter(since=date(2026, 11, 2), until=date(2026, 11, 22))


def at(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@dataclass(frozen=True)
class ReportWorld:
    problems: dict[str, int]
    cycles: dict[str, int]
    actions: dict[str, int]
    kpis: dict[str, int]


def build(session: Session, catalog: WorkflowCatalog, org: Org) -> ReportWorld:
    pdca = catalog.register_version(session, "pdca").id
    dmaic = catalog.register_version(session, "dmaic").id
    lead = org.fiona.id

    def problem(name: str, **values: object) -> Problem:
        row = Problem(title=f"Problem {name}", department_id=org.cs, **values)  # type: ignore[arg-type]
        session.add(row)
        return row

    p = {
        "P1": problem(
            "P1",
            source="complaint",
            status="resolved",
            reported_at=at(11, 3),
            resolved_at=at(11, 20),
        ),
        "P2": problem("P2", source="kpi", status="accepted", reported_at=at(11, 4)),
        "P3": problem(
            "P3",
            source="audit",
            status="rejected",
            reported_at=at(11, 10),
            triaged_at=at(11, 11),
        ),
        "P4": problem("P4", source="internal", status="new", reported_at=at(11, 24)),
        "P5": problem("P5", source="internal", status="accepted", reported_at=at(8, 1)),
    }
    p["P3"].department_id = org.it
    session.flush()

    def cycle(name: str, version: int | None, workflow: str = "pdca", **values: object) -> Cycle:
        row = Cycle(
            title=f"Cycle {name}",
            workflow=workflow,
            workflow_version_id=version,  # type: ignore[arg-type]
            lead_id=lead,  # type: ignore[arg-type]
            department_id=values.pop("department_id", org.cs),  # type: ignore[arg-type]
            **values,  # type: ignore[arg-type]
        )
        session.add(row)
        return row

    c = {
        "C1": cycle(
            "C1",
            pdca,
            state="closed",
            created_at=at(11, 5),
            closed_at=at(11, 20),
            effectiveness="effective",
        ),
        "C2": cycle(
            "C2",
            pdca,
            state="closed",
            created_at=at(11, 6),
            closed_at=at(11, 16),
            effectiveness="effective",
            iteration=2,
            failed_iterations=1,
        ),
        "C3": cycle(
            "C3",
            pdca,
            state="plan",
            created_at=at(11, 12),
            escalated=True,
            iteration=4,
            failed_iterations=3,
            department_id=org.it,
        ),
        "C4": cycle("C4", pdca, state="cancelled", created_at=at(10, 1), closed_at=at(11, 10)),
        "C5": cycle(
            "C5", dmaic, "dmaic", state="define", created_at=at(11, 13), department_id=org.it
        ),
    }
    session.flush()
    p["P6"] = problem(
        "P6",
        source="complaint",
        status="new",
        reported_at=at(11, 16),
        recurrence_of_cycle_id=c["C1"].id,
    )
    for cycle_name, problem_name in (("C1", "P1"), ("C2", "P2"), ("C3", "P5"), ("C5", "P2")):
        session.add(CycleProblem(cycle_id=c[cycle_name].id, problem_id=p[problem_name].id))  # type: ignore[arg-type]

    def action(name: str, cycle_name: str, department: int, **values: object) -> Action:
        row = Action(
            title=f"Action {name}",
            cycle_id=c[cycle_name].id,  # type: ignore[arg-type]
            department_id=department,
            **values,  # type: ignore[arg-type]
        )
        session.add(row)
        return row

    a = {
        "A1": action(
            "A1",
            "C1",
            org.cs,
            status="verified",
            created_at=at(11, 5),
            deadline=date(2026, 11, 10),
            done_at=at(11, 9, 12),
            verified_at=at(11, 11, 12),
        ),
        "A2": action(
            "A2",
            "C1",
            org.cs,
            status="verified",
            created_at=at(11, 5),
            deadline=date(2026, 11, 10),
            done_at=at(11, 10, 12),
            verified_at=at(11, 13, 12),
        ),
        "A3": action(
            "A3",
            "C1",
            org.it,
            status="done",
            created_at=at(11, 6),
            deadline=date(2026, 11, 12),
            done_at=at(11, 14),
        ),
        "A4": action(
            "A4", "C1", org.it, status="open", created_at=at(11, 6), deadline=date(2026, 11, 15)
        ),
        "A5": action(
            "A5",
            "C1",
            org.cs,
            status="cancelled",
            created_at=at(11, 6),
            deadline=date(2026, 11, 18),
        ),
        "A6": action("A6", "C1", org.cs, created_at=at(11, 6), deadline=date(2026, 11, 30)),
        "A7": action("A7", "C1", org.cs, created_at=at(11, 6), deadline=date(2026, 11, 24)),
        "A8": action(
            "A8",
            "C5",
            org.it,
            status="done",
            created_at=at(11, 13),
            deadline=date(2026, 11, 20),
            done_at=at(11, 19),
        ),
    }

    def kpi(code: str, department: int, **values: object) -> Kpi:
        row = Kpi(code=code, name=f"KPI {code}", department_id=department, **values)  # type: ignore[arg-type]
        session.add(row)
        return row

    k = {
        "CS-SL": kpi("CS-SL", org.cs, perspective="customer", target=80.0, unit="%"),
        "FIN-CPC": kpi(
            "FIN-CPC", org.cs, perspective="financial", direction="lower", target=4.5, unit="€"
        ),
        "FIN-SAV": kpi(
            "FIN-SAV", org.it, perspective="financial", direction="higher", target=100.0
        ),
    }
    session.flush()
    for when in (at(10, 20), at(11, 3), at(11, 9), at(11, 21)):
        session.add(
            ProblemOccurrence(
                problem_id=p["P2"].id, kpi_id=k["CS-SL"].id, rule="limit_breach", at=when
            )  # type: ignore[arg-type]
        )
    session.add(
        ProblemOccurrence(
            problem_id=p["P2"].id, kpi_id=k["FIN-CPC"].id, rule="limit_breach", at=at(11, 12)
        )  # type: ignore[arg-type]
    )
    for code, points in (
        ("FIN-CPC", ((10, 30, 9.0), (11, 2, 4.0), (11, 3, 5.0), (11, 4, 5.5), (11, 22, 4.5))),
        ("FIN-SAV", ((11, 5, 90.0), (11, 6, 110.0))),
        ("CS-SL", ((11, 5, 50.0),)),
    ):
        for month, day, value in points:
            session.add(Measurement(kpi_id=k[code].id, at=at(month, day), value=value))  # type: ignore[arg-type]
    session.commit()
    return ReportWorld(
        {name: row.id for name, row in p.items()},  # type: ignore[misc]
        {name: row.id for name, row in c.items()},  # type: ignore[misc]
        {name: row.id for name, row in a.items()},  # type: ignore[misc]
        {name: row.id for name, row in k.items()},  # type: ignore[misc]
    )
