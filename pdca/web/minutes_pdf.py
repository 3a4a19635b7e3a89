"""The minutes as a PDF (fpdf2), with a font that has Chinese characters embedded
(how the font is found and refused: pdca.web.pdf)."""

from pdca.web.minutes_text import MinutesText
from pdca.web.pdf import NO_FONT, find_font, new_document

__all__ = ["NO_FONT", "find_font", "minutes_pdf"]


def _words(text: MinutesText) -> list[str]:
    words = [text.title, text.signature, *(f"{a}{b}" for a, b in text.facts)]
    return words + [s.title + s.empty + "".join(s.lines) for s in text.sections]


def minutes_pdf(text: MinutesText, font: tuple[str, int] | None) -> bytes:
    pdf, family = new_document(text.title, font, _words(text))
    width = pdf.epw

    pdf.set_font(family, size=17)
    pdf.multi_cell(width, 9, text.title, new_x="LMARGIN", new_y="NEXT", align="L")
    pdf.ln(2)
    pdf.set_font(family, size=10)
    for label, value in text.facts:
        pdf.multi_cell(width, 5.5, f"{label}: {value}", new_x="LMARGIN", new_y="NEXT", align="L")
    for section in text.sections:
        pdf.ln(4)
        pdf.set_font(family, size=13)
        pdf.multi_cell(width, 7, section.title, new_x="LMARGIN", new_y="NEXT", align="L")
        pdf.set_draw_color(160, 160, 160)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
        pdf.ln(1.5)
        pdf.set_font(family, size=10)
        for line in section.lines or [section.empty]:
            pdf.multi_cell(
                width,
                5.5,
                f"•  {line}" if section.lines else line,
                new_x="LMARGIN",
                new_y="NEXT",
                align="L",
            )
    pdf.ln(6)
    pdf.set_font(family, size=9)
    pdf.multi_cell(width, 5, text.signature, new_x="LMARGIN", new_y="NEXT", align="L")
    return bytes(pdf.output())
