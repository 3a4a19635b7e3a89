"""KPIs from the command line: `pdca kpi import FILE.csv` and `pdca monitor run` (from cron).

The CLI tells the time by the wall clock, so the points in these files are dated
relative to the real "now".
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, col, func, select

from pdca.models import Event, Kpi, Measurement, Problem
from pdca.services import kpis, monitor
from pdca.services.context import Ctx


def ago(days: float) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).replace(microsecond=0).isoformat()


@pytest.fixture
def kpi(org, as_user) -> Kpi:
    return kpis.create_kpi(
        as_user(org.fiona),
        code="CS-SL",
        name="Service level",
        unit="%",
        department_id=org.cs,
        target=80.0,
        warning_limit=75.0,
        breach_limit=70.0,
        rules=["limit_breach", "missing_data"],
    )


def points(engine) -> list[tuple[str, float]]:
    with Session(engine) as reader:
        rows = reader.exec(
            select(Kpi.code, Measurement.value)
            .join(Kpi, col(Kpi.id) == Measurement.kpi_id)
            .order_by(col(Measurement.at))
        )
        return [(code, value) for code, value in rows]


def problems(engine) -> list[Problem]:
    with Session(engine) as reader:
        return list(reader.exec(select(Problem).order_by(col(Problem.id))))


def test_kpi_import_stores_a_good_file_and_says_what_it_did(
    cli, engine, kpi, tmp_path: Path
) -> None:
    file = tmp_path / "points.csv"
    file.write_text(
        "\ufeffkpi,at,value\n"  # a BOM, as spreadsheets write it
        f"CS-SL,{ago(3)},81\n"
        f"cs-sl,{ago(2)},82.5\n"
        f"CS-SL,{ago(1)},64\n",
        encoding="utf-8",
    )

    result = cli("kpi", "import", str(file))

    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "Stored 3 points (0 already there); 1 problems raised, 0 occurrences added."
    )
    assert points(engine) == [("CS-SL", 81), ("CS-SL", 82.5), ("CS-SL", 64)]
    [problem] = problems(engine)
    assert (problem.source, problem.detection_rule, problem.reported_by_id) == (
        "kpi",
        "limit_breach",
        None,
    )

    again = cli("kpi", "import", str(file))
    assert again.exit_code == 0, again.output
    assert "Stored 0 points (3 already there)" in again.output
    assert len(points(engine)) == 3
    with Session(engine) as reader:
        ingested = reader.exec(
            select(func.count())
            .select_from(Event)
            .where(Event.entity_type == "kpi", Event.verb == "measurements_ingested")
        ).one()
    assert ingested == 1


def test_kpi_import_of_a_bad_file_lists_each_bad_line_and_stores_nothing(
    cli, engine, kpi, tmp_path: Path
) -> None:
    file = tmp_path / "bad.csv"
    # Taken once: a second passing between writing the file and checking the message
    # (a busy machine) must not change the time the message quotes.
    future = ago(-2)
    file.write_text(
        "kpi,at,value\n"
        f"CS-SL,{ago(4)},81\n"
        "CS-SL,soon,81\n"
        f"CS-SL,{ago(3)},n/a\n"
        f"NOPE,{ago(2)},81\n"
        f"CS-SL,{future},81\n"
        f"CS-SL,{ago(1)},60\n",
        encoding="utf-8",
    )

    result = cli("kpi", "import", str(file))

    assert result.exit_code == 1
    errors = result.stderr.strip().splitlines()
    assert errors[:4] == [
        f"{file}: line 3: time 'soon' is not a date and time (ISO 8601).",
        f"{file}: line 4: value 'n/a' is not a number.",
        f"{file}: line 5: there is no KPI 'NOPE'.",
        f"{file}: line 6: {future} is in the future.",
    ]
    assert "Nothing was stored: 4 line(s) are wrong." in errors[-1]
    assert result.stdout == ""
    assert points(engine) == []
    assert problems(engine) == []


def test_kpi_import_of_a_file_that_is_not_there_or_has_no_header(
    cli, engine, kpi, tmp_path: Path
) -> None:
    missing = cli("kpi", "import", str(tmp_path / "nowhere.csv"))
    assert missing.exit_code == 1
    assert "cannot read" in missing.output

    headless = tmp_path / "headless.csv"
    headless.write_text(f"CS-SL,{ago(1)},81\n", encoding="utf-8")
    result = cli("kpi", "import", str(headless))
    assert result.exit_code == 1
    assert "kpi,at,value" in result.output
    assert points(engine) == []


def test_kpi_import_refuses_a_file_past_one_batch_at_the_limit_without_reading_it_all(
    cli, engine, kpi, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kpis, "MAX_BATCH", 3)
    file = tmp_path / "big.csv"
    when = ago(1)
    # Well past the batch the file turns to bytes that are not UTF-8: reading them would
    # be a different error, so the refusal proves the reader stopped at the limit.
    file.write_bytes(
        b"kpi,at,value\n"
        + b"".join(f"CS-SL,{when},8{i}\n".encode() for i in range(4))
        + b"\n" * 100_000  # more than the reader's read-ahead
        + b"\xff\xfe not text\n" * 10_000
    )

    result = cli("kpi", "import", str(file))

    assert result.exit_code == 1
    assert "A batch holds at most 3 points; split the file." in result.output
    assert points(engine) == []


def test_monitor_run_raises_a_missing_data_problem_once(cli, engine, kpi, session, catalog) -> None:
    wall_clock = Ctx(session=session, actor=None, catalog=catalog)
    kpis.ingest(wall_clock, [kpis.RowIn(1, "CS-SL", datetime.now(UTC) - timedelta(days=3), 81)])

    first = cli("monitor", "run")

    assert first.exit_code == 0, first.output
    assert first.output.strip() == "Checked the KPIs: 1 missing-data problems raised or repeated."
    [problem] = problems(engine)
    assert (problem.kpi_id, problem.detection_rule, problem.occurrences) == (
        kpi.id,
        "missing_data",
        1,
    )

    second = cli("monitor", "run")

    assert second.exit_code == 0, second.output
    assert second.output.strip() == "Checked the KPIs: 0 missing-data problems raised or repeated."
    [same] = problems(engine)
    assert same.occurrences == 1


def test_monitor_run_skips_while_another_worker_holds_the_lease(
    cli, engine, kpi, session, catalog
) -> None:
    wall_clock = Ctx(session=session, actor=None, catalog=catalog)  # the CLI's clock
    assert monitor.take_lease(wall_clock, "serve:elsewhere", timedelta(minutes=5))

    result = cli("monitor", "run")

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Another worker is running the monitor now; nothing done."
    assert problems(engine) == []


def test_monitor_run_on_a_database_that_is_not_migrated_says_so(cli) -> None:
    result = cli("monitor", "run")
    assert result.exit_code == 1
    assert "pdca db upgrade" in result.output
