"""Reports people take to their meetings: the improvement dashboard, the Export menus of
the list pages, and a cycle's A3 report with its 5 whys and fishbone, on screen and as PDF."""

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook
from pypdf import PdfReader
from sqlmodel import Session, select

from pdca.models import Event
from pdca.services import actions, cycles, problems
from pdca.services.catalog import WorkflowCatalog
from tests.conftest import Org
from tests.services.report_world import build


def test_the_dashboard_shows_the_periods_figures_with_a_table_beside_each_chart(
    client_for, session: Session, catalog: WorkflowCatalog, org: Org
) -> None:
    build(session, catalog, org)
    fiona = client_for("fiona").client
    page = fiona.get("/dashboard", params={"since": "2026-11-02", "until": "2026-11-22"})
    assert page.status_code == 200
    html = page.text
    assert html.count('role="img"') >= 7  # a chart per figure, each described in words
    assert 'id="weeks-table"' in html and 'id="on_time-table"' in html
    assert "Effective at the first turn" in html
    # The tiles: 4 raised, 2 closed, 3 of 5 actions on time, 2 of 4 ended cycles effective.
    tiles = html[html.index('data-testid="tiles"') :]
    for figure in (
        '"tile-value">4<',
        '"tile-value">2<',
        '"tile-value">60 %<',
        '"tile-value">50 %<',
    ):
        assert figure in tiles


def test_a_date_the_dashboard_cannot_read_is_refused_in_place_with_the_input_kept(
    client_for, org: Org
) -> None:
    fiona = client_for("fiona").client
    page = fiona.get("/dashboard", params={"since": "2026-13-45"})
    assert page.status_code == 422
    assert 'data-testid="dashboard-error"' in page.text
    assert 'value="2026-13-45"' in page.text


def test_the_dashboard_exports_every_table_as_a_sheet_of_a_workbook(
    client_for, session: Session, catalog: WorkflowCatalog, org: Org
) -> None:
    build(session, catalog, org)
    hanna = client_for("hanna").client
    response = hanna.get(
        "/dashboard/export.xlsx", params={"since": "2026-11-02", "until": "2026-11-22"}
    )
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert len(book.sheetnames) == 8
    weeks = book.worksheets[0]
    rows = list(weeks.iter_rows(min_row=2, values_only=True))
    assert [(r[0].date().isoformat(), r[1], r[2]) for r in rows] == [
        ("2026-11-02", 2, 0),
        ("2026-11-09", 1, 1),
        ("2026-11-16", 1, 1),
    ]


def test_the_problem_lists_export_keeps_its_filters_and_speaks_the_readers_language(
    client_for, as_user, org: Org
) -> None:
    mia = as_user(org.mia)
    problems.report_problem(mia, title="Lunch queue", source="complaint", department_id=org.cs)
    problems.report_problem(mia, title="Printer jams", source="internal", department_id=org.it)
    signed_in = client_for("hanna")
    hanna = signed_in.client
    hanna.post("/language", data={"csrf_token": signed_in.csrf, "lang": "zh_CN", "next": "/"})
    listed = hanna.get("/problems", params={"source": "complaint"})
    assert "/exports/problems.csv?source=complaint" in listed.text
    response = hanna.get("/exports/problems.csv", params={"source": "complaint"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["编号", "标题", "来源"]
    assert [r[1:3] for r in rows[1:]] == [["Lunch queue", "投诉"]]


def test_a_lead_records_the_5_whys_and_the_fishbone_and_the_a3_shows_them_in_chinese(
    client_for, as_user, session: Session, clock, org: Org
) -> None:
    fiona_ctx = as_user(org.fiona)
    problem = problems.report_problem(
        as_user(org.mia), title="退款需要三周", source="complaint", department_id=org.cs
    )
    cycle = cycles.open_cycle(
        fiona_ctx,
        title="五个工作日内退款",
        workflow="pdca",
        lead_id=org.fiona.id,  # type: ignore[arg-type]
        problem_ids=[problem.id],  # type: ignore[list-item]
        department_id=org.cs,
        fields={"objective": "5 天内退款", "baseline": 15, "target": 5, "direction": "lower"},
    )
    actions.add_action(
        fiona_ctx,
        cycle.id,  # type: ignore[arg-type]
        title="柜台直接审批退款",
        department_id=org.cs,
        owner_id=org.mia.id,
        deadline=clock.today() + timedelta(days=7),
    )
    signed_in = client_for("fiona", next=f"/cycles/{cycle.id}")
    fiona = signed_in.client
    saved = fiona.post(
        f"/cycles/{cycle.id}/fields",
        data={
            "csrf_token": signed_in.csrf,
            "version": cycle.version,
            "why_1": "退款为什么慢？要等每周一次的批处理。",
            "why_2": "为什么要等批处理？IT 每周只运行一次。",
            "fishbone_methods": "每周批处理\n人工核对",
            "fishbone_people": "审批人太少",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    changed = session.exec(
        select(Event.field).where(Event.entity_id == cycle.id, Event.verb == "field_changed")
    ).all()
    assert {"why_1", "why_2", "fishbone_methods", "fishbone_people"} <= set(changed)

    workspace = fiona.get(f"/cycles/{cycle.id}")
    assert f'href="/cycles/{cycle.id}/a3"' in workspace.text
    assert 'class="chart five-whys"' in workspace.text
    assert 'class="chart fishbone"' in workspace.text

    fiona.post("/language", data={"csrf_token": signed_in.csrf, "lang": "zh_CN", "next": "/"})
    page = fiona.get(f"/cycles/{cycle.id}/a3")
    assert page.status_code == 200
    for heading in ("背景与问题陈述", "现状", "目标", "根本原因分析", "对策", "效果确认"):
        assert heading in page.text
    assert "柜台直接审批退款" in page.text

    pdf = fiona.get(f"/cycles/{cycle.id}/a3.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.content))
    box = reader.pages[0].mediabox
    assert float(box.width) > float(box.height)  # landscape
    assert round(float(box.width) / 72 * 25.4) == 420  # A3
    # pypdf reads the embedded CJK font's two-byte codes with a NUL between characters.
    text = "".join("".join(p.extract_text().replace("\x00", "").split()) for p in reader.pages)
    for words in ("背景与问题陈述", "根本原因分析", "要等每周一次的批处理", "柜台直接审批退款"):
        assert words in text
