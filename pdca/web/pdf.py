"""PDF documents (fpdf2) with a font that has Chinese characters embedded: the minutes
and the A3 report share how the font is found and how a document starts.

The font is PDCA_PDF_FONT when set (a .ttf, .otf or .ttc; `path#N` picks the N-th font
of a collection), else the first of the usual system places that exists. Without one,
documents that fit Windows-1252 (English ones) still render with a core font; any other
text is refused with the reason and the fix, never drawn as empty boxes.
"""

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

from fpdf import FPDF

from pdca.services.errors import Unavailable

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
    "PDF documents with Chinese text need a CJK font: install fonts-noto-cjk, or set "
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


def fits_core_font(words: Iterable[str]) -> bool:
    try:
        "".join(words).encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def new_document(
    title: str,
    font: tuple[str, int] | None,
    words: Iterable[str],
    *,
    page_format: str = "A4",
    orientation: str = "portrait",
    margin: float | None = None,
) -> tuple[FPDF, str]:
    """A document with its first page and the font family to write with.

    `words` is every text the document will hold: without an embedded font they must fit
    the core font, else the document is refused (Unavailable) with the fix.
    """
    pdf = FPDF(orientation=orientation, format=page_format)
    pdf.set_title(title)
    pdf.set_creator("pdca")
    if margin is not None:
        pdf.set_margins(margin, margin, margin)
    pdf.set_auto_page_break(auto=True, margin=15 if margin is None else margin)
    pdf.add_page()
    if font is not None:
        pdf.add_font("body", fname=font[0], collection_font_number=font[1])
        return pdf, "body"
    if fits_core_font(words):
        pdf.core_fonts_encoding = "windows-1252"  # its quotes, dashes and bullets
        return pdf, "helvetica"
    raise Unavailable(NO_FONT)
