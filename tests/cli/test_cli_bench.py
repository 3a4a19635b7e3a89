"""`pdca bench` at a tiny scale: every figure is there, each beside a floor and a ratio.

The quick preset is swapped for a tiny one (two small boards, a fraction of a second
per figure), so this runs the whole machinery (throwaway database, organisation,
server subprocess, sign-in, every figure) in seconds. Speed is not judged here.
"""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pdca.bench import run as bench_run
from pdca.cli import app
from tests.conftest import POSTGRES_URL

TINY = bench_run.Config(
    cards=(20, 40),
    seconds=0.2,
    latency_budget=0.05,
    at_least=2,
    floor_reps=2,
    ingest_batch=200,
    ingest_batches=2,
    threads=2,
)

FIGURES = [
    "board page, 20 cards",
    "template HTML per card, 20 cards",
    "template render per card, 20 cards",
    "board page, 40 cards",
    "template HTML per card, 40 cards",
    "template render per card, 40 cards",
    "board fragment, 20 cards",
    "board fragment, 40 cards",
    "page cost per card, 40 vs 20 cards",
    "/healthz",
    "API list /api/v1/actions?limit=50",
    "board fragment polled (HX-Request)",
    "action transition via HTTP API",
    "card move through the page: time",
    "card move through the page: size",
    "action transition via the service (fire_action)",
    "ingest with every detection rule (kpis.ingest)",
]


def test_it_prints_every_figure_beside_its_floor_and_writes_the_same_as_json(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(bench_run.PRESETS, bench_run.Preset.quick, TINY)
    out = tmp_path / "bench.json"
    db = "sqlite" if backend == "sqlite" else POSTGRES_URL

    result = CliRunner().invoke(app, ["bench", "--db", db, "--json", str(out)])

    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())["rows"]
    by_figure = {r["figure"]: r for r in rows}
    assert sorted(by_figure) == sorted(FIGURES)
    for row in rows:
        assert row["value"] > 0, row
        assert row["floor"] and row["floor_value"] > 0, row
        assert row["ratio"] == pytest.approx(row["value"] / row["floor_value"]), row
    # Each target the issue sets has its verdict; the table shows every figure and ratio.
    targeted = {r["figure"] for r in rows if r["target"]}
    assert "/healthz" in targeted and "card move through the page: size" in targeted
    assert all(by_figure[f]["verdict"] in ("PASS", "GAP") for f in targeted)
    for figure in FIGURES:
        line = next(line for line in result.output.splitlines() if line.startswith(figure))
        assert "×" in line, line
    assert "targets met" in result.output


def test_it_refuses_an_unknown_preset_and_a_database_that_is_not_postgresql() -> None:
    runner = CliRunner()
    preset = runner.invoke(app, ["bench", "--preset", "huge"])
    assert preset.exit_code == 1
    assert "--preset is quick or full" in preset.output
    url = runner.invoke(app, ["bench", "--db", "mysql://nobody@nowhere/db"])
    assert url.exit_code == 1
    assert "not a PostgreSQL URL" in url.output
