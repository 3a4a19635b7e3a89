"""Lists leave the app as spreadsheets: `format=csv|xlsx` on the API's lists, with the
list's own filters, every row (not a page), typed cells, and text that cannot run as a
formula. The JSON answer of the same lists does not change."""

import csv
import io
import resource
import time
import tracemalloc
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from pdca.bench import org as bench_org
from pdca.services import actions, problems
from tests.api.conftest import World
from tests.conftest import NOW, Org

API = "/api/v1"


def rows_of_csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "a spreadsheet needs the BOM to read UTF-8"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_the_actions_as_csv_are_every_action_the_filters_find_not_a_page(
    client, tokens, auth, world: World
) -> None:
    response = client.get(
        f"{API}/actions",
        params={"format": "csv", "limit": 1, "cycle_id": world.cycle},
        headers=auth(tokens["vera"]),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = rows_of_csv(response.content)
    assert [r["key"] for r in rows] == [
        f"A-{world.action_cs}",
        f"A-{world.action_it}",
        f"A-{world.action_done}",
    ]
    done = rows[2]
    assert (done["status"], done["kind"], done["department"]) == ("done", "containment", "CS")
    assert done["deadline"] == "2026-11-28"
    assert done["done_at"].endswith("+00:00")  # times in UTC for programs


def test_the_same_filters_give_the_same_rows_as_the_json_list(
    client, tokens, auth, world: World
) -> None:
    params = {"q": "dept:IT", "status": "open"}
    page = client.get(f"{API}/actions", params=params, headers=auth(tokens["mia"])).json()
    exported = rows_of_csv(
        client.get(
            f"{API}/actions", params={**params, "format": "csv"}, headers=auth(tokens["mia"])
        ).content
    )
    assert [r["key"] for r in exported] == sorted(
        (f"A-{item['id']}" for item in page["items"]), key=lambda k: int(k[2:])
    )
    assert page["total"] == len(exported) == 1


def test_an_xlsx_export_has_a_header_frozen_below_it_and_typed_cells(
    client, tokens, auth, world: World
) -> None:
    response = client.get(
        f"{API}/actions", params={"format": "xlsx"}, headers=auth(tokens["fiona"])
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["key", "title", "kind", "status"]
    assert sheet[1][0].font.bold and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width >= 20
    column = {name: i for i, name in enumerate(header)}
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == 4  # every action of the world
    deadline = rows[0][column["deadline"]]
    created = rows[0][column["created_at"]]
    overdue = rows[0][column["overdue"]]
    assert isinstance(deadline, datetime) and deadline.date() >= NOW.date()  # a date cell
    assert isinstance(created, datetime)
    assert overdue is False


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_written_as_text(
    client, tokens, auth, as_user, org: Org, world: World
) -> None:
    evil = problems.report_problem(
        as_user(org.mia),
        title='=HYPERLINK("http://evil.example","click")',
        source="complaint",
        department_id=org.cs,
    )
    for fmt in ("csv", "xlsx"):
        response = client.get(
            f"{API}/problems",
            params={"format": fmt, "q": "HYPERLINK"},
            headers=auth(tokens["mia"]),
        )
        if fmt == "csv":
            [row] = rows_of_csv(response.content)
            title = row["title"]
        else:
            sheet = load_workbook(io.BytesIO(response.content)).active
            cell = sheet.cell(row=2, column=2)
            assert cell.data_type == "s"  # a string, never a formula
            title = cell.value
        assert title == "'" + evil.title


def test_chinese_text_survives_the_csv_for_spreadsheet_programs(
    client, tokens, auth, as_user, org: Org, world: World
) -> None:
    problems.report_problem(
        as_user(org.mia), title="退款等待三周", source="complaint", department_id=org.cs
    )
    response = client.get(
        f"{API}/problems", params={"format": "csv", "q": "退款"}, headers=auth(tokens["mia"])
    )
    assert [r["title"] for r in rows_of_csv(response.content)] == ["退款等待三周"]


def test_cycles_and_kpi_measurements_export_with_their_filters(
    client, tokens, auth, org: Org, world: World
) -> None:
    cycles = rows_of_csv(
        client.get(
            f"{API}/cycles",
            params={"format": "csv", "lead_id": org.frank.id},
            headers=auth(tokens["mia"]),
        ).content
    )
    assert [c["key"] for c in cycles] == [f"C-{world.cycle_in_check}", f"C-{world.cycle_in_plan}"]
    assert {c["lead"] for c in cycles} == {"Frank Facilitator"}
    points = rows_of_csv(
        client.get(
            f"{API}/kpis", params={"format": "csv", "q": "CS-SL"}, headers=auth(tokens["mia"])
        ).content
    )
    assert [(p["kpi"], float(p["value"])) for p in points] == [("CS-SL", 79.5), ("CS-SL", 82.0)]


def test_an_unknown_format_is_refused_and_json_stays_the_default(
    client, tokens, auth, world: World
) -> None:
    refused = client.get(f"{API}/actions", params={"format": "pdf"}, headers=auth(tokens["mia"]))
    assert refused.status_code == 422
    default = client.get(f"{API}/actions", params={"limit": 1}, headers=auth(tokens["mia"]))
    assert default.json()["limit"] == 1 and len(default.json()["items"]) == 1


def test_cancel_reason_and_dates_keep_their_types_in_csv(
    client, tokens, auth, as_user, org: Org, world: World
) -> None:
    actions.fire_action(
        as_user(org.fiona), world.action_it, trigger="cancel", version=1, note="-1 no budget"
    )
    [row] = [
        r
        for r in rows_of_csv(
            client.get(
                f"{API}/actions", params={"format": "csv"}, headers=auth(tokens["mia"])
            ).content
        )
        if r["key"] == f"A-{world.action_it}"
    ]
    assert row["status"] == "cancelled"
    assert row["cancel_reason"] == "'-1 no budget"
    assert date.fromisoformat(row["deadline"])


@pytest.mark.slow
def test_100000_actions_stream_as_csv_in_bounded_memory(client, engine, catalog) -> None:
    """Rows go out a batch at a time: the export's own allocations stay flat, whatever
    the number of rows (the whole list in memory would be hundreds of megabytes)."""
    built = bench_org.build(engine, catalog, NOW)
    bench_org.grow(engine, built, 100_000, NOW)
    tracemalloc.start()
    started = time.perf_counter()
    rows = 0
    size = 0
    with client.stream(
        "GET",
        f"{API}/actions",
        params={"format": "csv"},
        headers={"Authorization": f"Bearer {built.token}"},
    ) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            rows += chunk.count(b"\r\n")
            size += len(chunk)
    elapsed = time.perf_counter() - started
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"\n100,000 actions as CSV: {size / 1e6:.1f} MB in {elapsed:.1f} s; "
        f"peak traced allocations {peak / 1e6:.1f} MB; "
        f"process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    assert rows == 100_000 + 1  # the header and every action
    assert peak < 40e6
