"""Benchmark: how fast `kpis.ingest` stores points, detection on, beside a raw insert.

Not part of the default test run (the file is not named test_*.py). Run it with

    make bench                      # SQLite, then PostgreSQL
    python -m pytest tests/bench -p no:cacheprovider -s -o python_files='bench_*.py' [--db=postgres]

Each path gets batches of BATCH points, one transaction a batch, into the same
`measurements` table of the same database, in the same run, taking turns batch by
batch so that the table grows alike under all of them:

- raw insert: the same (kpi_id, at, value) rows into a scratch KPI with a plain
  `INSERT … executemany` (SQLAlchemy Core: no checks, no detection, no audit);
- `kpis.ingest` with the limit rules (breach, warnings in a row);
- `kpis.ingest` with every rule, SPC included (its run rules find signals in plain
  noise about once in a hundred points: each is an occurrence, an update and an
  audit event in the same transaction).

The series is a steady noise around 100 with a breach every 2,500 points, one
point a minute, in the past. Points per second are points stored / wall time of
the batches (commits included).
"""

import os
import random
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlmodel import Session, func, select

from pdca.models import Measurement, Problem, ProblemOccurrence
from pdca.services import kpis
from pdca.services.context import Ctx
from pdca.services.kpis import RowIn
from tests.conftest import NOW

BATCH = 10_000
BATCHES = int(os.environ.get("PDCA_BENCH_BATCHES", "5"))
LIMIT_RULES = ["limit_breach", "warnings_in_a_row"]
ALL_RULES = [
    *LIMIT_RULES,
    "spc_beyond_3_sigma",
    "spc_2_of_3_beyond_2_sigma",
    "spc_4_of_5_beyond_1_sigma",
    "spc_8_on_one_side",
]


@dataclass
class Figure:
    path: str
    points: int
    seconds: float
    findings: int = 0

    @property
    def rate(self) -> float:
        return self.points / self.seconds


def series(count: int) -> list[tuple[object, float]]:
    """(at, value): one point a minute ending an hour before now; noise, and breaches."""
    rng = random.Random(20261125)
    start = NOW - timedelta(hours=1) - timedelta(minutes=count)
    return [
        (
            start + timedelta(minutes=i),
            85.0 if i % 2_500 == 2_499 else round(100 + rng.gauss(0, 1.5), 2),
        )
        for i in range(count)
    ]


def a_kpi(ctx: Ctx, org, code: str, rules: list[str]):
    return kpis.create_kpi(
        ctx,
        code=code,
        name=f"Benchmark {code}",
        unit="%",
        department_id=org.cs,
        direction="higher",
        target=95.0,
        warning_limit=92.0,
        breach_limit=90.0,
        interval_hours=1,
        rules=rules,
    )


def raw_insert(session: Session, kpi_id: int, batch, figure: Figure) -> None:
    rows = [{"kpi_id": kpi_id, "at": at, "value": value, "received_at": NOW} for at, value in batch]
    began = time.perf_counter()
    session.execute(insert(Measurement), rows)  # executemany
    session.commit()
    figure.seconds += time.perf_counter() - began
    figure.points += len(rows)


def ingest(ctx: Ctx, code: str, batch, figure: Figure) -> None:
    rows = [RowIn(i, code, at, value) for i, (at, value) in enumerate(batch, start=1)]
    began = time.perf_counter()
    result = kpis.ingest(ctx, rows)
    figure.seconds += time.perf_counter() - began
    figure.points += result.stored
    figure.findings += len(result.findings)


@pytest.mark.bench
def test_ingest_rate_beside_the_raw_insert_rate(
    org, as_user, session, backend, capsys: pytest.CaptureFixture[str]
) -> None:
    system = as_user(None)
    points = series(BATCH * BATCHES)
    scratch = a_kpi(system, org, "SCRATCH", [])
    a_kpi(system, org, "LIMITS", LIMIT_RULES)
    a_kpi(system, org, "ALL", ALL_RULES)

    raw = Figure("raw INSERT executemany", 0, 0.0)
    limits = Figure("kpis.ingest, limit rules", 0, 0.0)
    every = Figure("kpis.ingest, all rules (SPC too)", 0, 0.0)
    # Batch by batch, each path in turn: the table grows alike under all three.
    for i in range(0, len(points), BATCH):
        batch = points[i : i + BATCH]
        raw_insert(session, scratch.id, batch, raw)
        ingest(system, "LIMITS", batch, limits)
        ingest(system, "ALL", batch, every)
    figures = [raw, limits, every]

    stored = session.exec(select(func.count()).select_from(Measurement)).one()
    assert stored == 3 * len(points) == sum(f.points for f in figures)
    problems = session.exec(select(func.count()).select_from(Problem)).one()
    occurrences = session.exec(select(func.count()).select_from(ProblemOccurrence)).one()
    with capsys.disabled():
        print()
        print(
            f"Ingest benchmark on {backend}: {BATCHES} batches of {BATCH:,} points per path "
            f"({problems} problems, {occurrences} occurrences raised)"
        )
        print(
            f"{'path':<34} {'points':>8} {'seconds':>8} {'points/s':>10} {'vs raw':>7} {'findings':>9}"
        )
        for f in figures:
            print(
                f"{f.path:<34} {f.points:>8,} {f.seconds:>8.2f} {f.rate:>10,.0f} "
                f"{f.rate / raw.rate:>6.0%} {f.findings:>9,}"
            )
