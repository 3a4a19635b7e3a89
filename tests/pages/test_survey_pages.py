"""Survey pages: Vera reads the gap analysis; Fiona edits a survey's questions."""

from pdca.services import organisation
from tests.services.test_gap_analysis import answered_survey


def test_a_viewer_reads_the_gaps_in_a_chart_and_tables_in_both_languages(
    org, client_for, as_user, clock
):
    answered_survey(org, as_user, clock)
    vera = client_for("vera")
    page = vera.client.get("/surveys/gaps?by=month")
    assert page.status_code == 200
    assert '<svg class="chart bars"' in page.text and 'role="img"' in page.text
    overall = page.text.split('data-testid="gap-overall"')[1].split("</table>")[0]
    assert "−1.67" in overall or "-1.67" in overall  # RES: 3 against 14/3
    assert "+0.33" in overall  # ASS: 13/3 against 4
    months = page.text.split('data-testid="gap-periods"')[1].split("</table>")[0]
    assert "2026-10" in months and "2026-11" in months
    only_cs = vera.client.get("/surveys/gaps?dept=CS")
    cs = only_cs.text.split('data-testid="gap-overall"')[1].split("</table>")[0]
    assert "2.5" in cs and "0.5" in cs
    organisation.set_locale(as_user(org.vera), "zh_CN")
    chinese = vera.client.get("/surveys/gaps")
    assert "差距分析" in chinese.text and "响应性" in chinese.text


def test_unknown_filters_fall_back_instead_of_failing(org, client_for):
    page = client_for("vera").client.get("/surveys/gaps?survey=NOPE&dept=XX&days=7&by=year")
    assert page.status_code == 200
    assert "No answer to a gap question in this period." in page.text
