"""The minutes as a PDF (fpdf2), with a font that has Chinese characters embedded.

The font is PDCA_PDF_FONT when set (a .ttf, .otf or .ttc; `path#N` picks the N-th font
of a collection), else the first of the usual system places that exists. Without one,
minutes that fit Windows-1252 (English ones) still render with a core font; any other text is refused
with the reason and the fix, never drawn as empty boxes.
"""

from functools import lru_cache
from pathlib import Path

from fpdf import FPDF

from pdca.services.errors import Unavailable
from pdca.web.minutes_text import MinutesText

# (path, index in a collection): Simplified Chinese first.
SYSTEM_FONTS = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),  # Debian, Ubuntu: fonts-noto-cjk
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),  # Arch
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),  # Fedora
    ("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/System/Library/Fonts/PingFang.ttc", 0),  # macOS
    ("C:/Windows/Fonts/msyh.ttc", 0),  # Windows: Microsoft YaHei
)
NO_FONT = (
    "PDF minutes with Chinese text need a CJK font: install fonts-noto-cjk, or set "
    "PDCA_PDF_FONT to a .ttf, .otf or .ttc file that has Chinese characters."
)


@lru_cache(maxsize=4)
def find_font(configured: str | None) -> tuple[str, int] | None:
    """(path, collection index) of the font to embed, or None when there is none."""
    if configured:
        path, _, index = configured.partition("#")
        if not Path(path).is_file():
            raise Unavailable(f"PDCA_PDF_FONT names {path!r}, which is not a file.")
        return path, int(index) if index.isdigit() else 0
    for path, index in SYSTEM_FONTS:
        if Path(path).is_file():
            return path, index
    return None


def _fits_core_font(text: MinutesText) -> bool:
    words = [text.title, text.signature, *(f"{a}{b}" for a, b in text.facts)]
    words += [s.title + s.empty + "".join(s.lines) for s in text.sections]
    try:
        "".join(words).encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def minutes_pdf(text: MinutesText, font: tuple[str, int] | None) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(text.title)
    pdf.set_creator("pdca")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    if font is not None:
        pdf.add_font("body", fname=font[0], collection_font_number=font[1])
        family = "body"
    elif _fits_core_font(text):
        pdf.core_fonts_encoding = "windows-1252"  # its quotes, dashes and bullets
        family = "helvetica"
    else:
        raise Unavailable(NO_FONT)
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
