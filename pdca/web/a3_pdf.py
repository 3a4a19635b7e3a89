"""The A3 report as a PDF: one landscape A3 sheet, two columns, as quality teams print it.

Text comes from pdca.web.a3_text (what the page shows too); the KPI chart is drawn with
fpdf2's own lines (the page's SVG charts take their colours from the stylesheet, which
a PDF does not have).
"""

from datetime import datetime

from fpdf import FPDF
from fpdf.fonts import FontFace

from pdca.services.a3 import A3
from pdca.web.a3_text import A3Text, Block
from pdca.web.pdf import new_document

PAGE_W, MARGIN, GUTTER = 420.0, 12.0, 10.0
COLUMN = (PAGE_W - 2 * MARGIN - GUTTER) / 2
INK, MUTED, ACCENT, GOOD, BAD = (
    (31, 41, 51),
    (82, 96, 109),
    (47, 111, 159),
    (47, 133, 90),
    (197, 48, 48),
)


def _words(text: A3Text) -> list[str]:
    words = [text.title, text.subtitle, *text.action_head, text.verdict]
    for block in [*text.left, *text.right]:
        words += [block.title, block.empty, *block.lines, *(a + b for a, b in block.facts)]
    return words + [cell for row in text.action_rows for cell in row]


def _column(pdf: FPDF, left: float) -> None:
    pdf.set_left_margin(left)
    pdf.set_right_margin(PAGE_W - left - COLUMN)
    pdf.set_x(left)


def _heading(pdf: FPDF, family: str, title: str) -> None:
    pdf.ln(2)
    pdf.set_font(family, size=12)
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(COLUMN, 6, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(190, 200, 210)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + COLUMN, pdf.get_y())
    pdf.ln(1)
    pdf.set_text_color(*INK)


def _block(pdf: FPDF, family: str, block: Block) -> None:
    _heading(pdf, family, block.title)
    pdf.set_font(family, size=9)
    for label, value in block.facts:
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(COLUMN, 4.6, label, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*INK)
        pdf.multi_cell(COLUMN, 4.6, value, new_x="LMARGIN", new_y="NEXT")
    for line in block.lines:
        pdf.multi_cell(COLUMN, 4.6, f"•  {line}", new_x="LMARGIN", new_y="NEXT")
    if not block.facts and not block.lines and block.empty:
        pdf.set_text_color(*MUTED)
        pdf.multi_cell(COLUMN, 4.6, block.empty, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*INK)


def _chart(pdf: FPDF, family: str, report: A3, height: float = 48) -> None:
    """The KPI over time: its points, the target (dashed), the day the cycle opened and
    the day its last action was done (thin verticals)."""
    points = report.points
    if report.kpi is None or len(points) < 2:
        return
    x0, y0, w, h = pdf.l_margin + 10, pdf.get_y() + 2, COLUMN - 12, height
    values = [v for _t, v in points] + [report.kpi.kpi.target]
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 or 1.0
    lo, hi = lo - pad, hi + pad
    t0, t1 = points[0][0].timestamp(), points[-1][0].timestamp()
    span = (t1 - t0) or 1.0

    def x(t: datetime) -> float:
        return x0 + w * (t.timestamp() - t0) / span

    def y(v: float) -> float:
        return y0 + h * (1 - (v - lo) / (hi - lo))

    pdf.set_draw_color(210, 218, 226)
    pdf.set_line_width(0.2)
    pdf.rect(x0, y0, w, h)
    pdf.set_font(family, size=7)
    pdf.set_text_color(*MUTED)
    for v in (hi - pad, lo + pad):
        pdf.text(pdf.l_margin, y(v) + 1, f"{v:.4g}")
    for when in (report.cycle.created_at, report.kpi.after_since):
        if when is not None and t0 <= when.timestamp() <= t1:
            pdf.set_draw_color(*MUTED)
            pdf.line(x(when), y0, x(when), y0 + h)
    pdf.set_draw_color(*GOOD)
    pdf.set_dash_pattern(dash=1.5, gap=1)
    pdf.line(x0, y(report.kpi.kpi.target), x0 + w, y(report.kpi.kpi.target))
    pdf.set_dash_pattern()
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(0.4)
    pdf.polyline([(x(t), y(v)) for t, v in points])
    pdf.set_line_width(0.2)
    pdf.set_text_color(*INK)
    pdf.set_y(y0 + h + 3)


def _actions(pdf: FPDF, family: str, text: A3Text) -> None:
    if not text.action_rows:
        return
    widths = (14, 70, 22, 38, 22, 20)
    usable = min(COLUMN, pdf.epw) - 0.01  # fpdf2 refuses a table a hair wider than the column
    scale = usable / sum(widths)
    pdf.set_font(family, size=8)
    with pdf.table(
        col_widths=tuple(w * scale for w in widths),
        width=usable,
        line_height=4.2,
        text_align="LEFT",
        first_row_as_headings=True,
        # The embedded CJK font has no bold face: headings in colour instead.
        headings_style=FontFace(emphasis="", color=ACCENT, fill_color=(238, 242, 247)),
        borders_layout="HORIZONTAL_LINES",
        align="LEFT",
    ) as table:
        table.row(text.action_head)
        for values in text.action_rows:
            table.row(values)


def a3_pdf(report: A3, text: A3Text, font: tuple[str, int] | None) -> bytes:
    pdf, family = new_document(
        text.title, font, _words(text), page_format="A3", orientation="landscape", margin=MARGIN
    )
    pdf.set_font(family, size=18)
    pdf.set_text_color(*INK)
    pdf.multi_cell(0, 9, text.title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=9)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(0, 5, text.subtitle, new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)
    top = pdf.get_y() + 2

    _column(pdf, MARGIN)
    pdf.set_y(top)
    for block in text.left:
        _block(pdf, family, block)
        if block.id == "current":
            _chart(pdf, family, report)
    left_end, left_page = pdf.get_y(), pdf.page

    pdf.page = 1
    _column(pdf, MARGIN + COLUMN + GUTTER)
    pdf.set_y(top)
    for block in text.right:
        _block(pdf, family, block)
        if block.id == "countermeasures":
            _actions(pdf, family, text)
        if block.id == "effect":
            _chart(pdf, family, report, height=40)
    if pdf.page < left_page or (pdf.page == left_page and pdf.get_y() < left_end):
        pdf.page = left_page
    return bytes(pdf.output())
