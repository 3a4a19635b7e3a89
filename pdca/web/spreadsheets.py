"""Tables written as CSV or XLSX, streamed: what every export and the dashboard share.

CSV is UTF-8 with a byte-order mark, so that spreadsheet programs read Chinese as
Chinese, and CRLF line ends. XLSX is written by openpyxl in write-only mode (rows go
to a temporary file as they come, never all in memory): typed cells (numbers as
numbers, dates as dates), a bold header row, frozen panes below it, column widths.

People's text that begins with =, +, -, @ (or a tab or carriage return) would be run
as a formula by a spreadsheet (CSV injection): such a cell is written with a leading
apostrophe, which spreadsheets show as text. The audit trail's text is kind "exact":
kept exactly as stored (so its hashes can be checked again), a string cell that openpyxl
never turns into a formula, with the control characters XML cannot carry (a carriage
return, which XML reads as a line feed) in the format's own escape `_xHHHH_` (and a
literal "_x" as "_x005F_x"), which Excel decodes and `openpyxl.utils.escape.unescape`
undoes. Its times are kind "timestamp", shown to the second.
"""

import csv
import io
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

BOM = "\ufeff"
CSV_MEDIA = "text/csv; charset=utf-8"
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
WIDTHS = {
    "text": 28,
    "exact": 28,
    "code": 14,
    "int": 10,
    "float": 12,
    "percent": 10,
    "bool": 9,
    "date": 12,
    "datetime": 18,
    "timestamp": 20,
}
DATETIME_FORMATS = {"timestamp": "yyyy-mm-dd hh:mm:ss"}
NUMBER_FORMATS = {"percent": "0.0%", "float": "0.###"}
CHUNK = 64 * 1024
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")


def ooxml_escape(value: str) -> str:
    """Text as an XLSX cell keeps it byte for byte once unescaped (tab and line feed stay)."""
    return CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", value.replace("_x", "_x005F_x"))


@dataclass(frozen=True)
class Sheet:
    """One table: its name, (title, kind) per column, and its rows (typed values)."""

    name: str
    columns: Sequence[tuple[str, str]]
    rows: Iterable[Sequence[Any]]
    # Turns a code (a status, a kind) into words for people; None keeps the code.
    words: Callable[[int, Any], Any] | None = None


def defuse(value: str) -> str:
    """Text a spreadsheet would run as a formula, made text again."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _value(kind: str, value: Any, zone: tzinfo) -> Any:
    if value is None:
        return None
    if kind == "text":
        return defuse(str(value))
    if kind in ("datetime", "timestamp") and isinstance(value, datetime):
        return value.astimezone(zone)
    return value


def _rows(sheet: Sheet, zone: tzinfo) -> Iterator[list[Any]]:
    kinds = [kind for _title, kind in sheet.columns]
    for row in sheet.rows:
        values = list(row)
        if sheet.words is not None:
            values = [sheet.words(i, v) for i, v in enumerate(values)]
        yield [_value(kind, v, zone) for kind, v in zip(kinds, values, strict=True)]


def _csv_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def csv_stream(sheets: Sequence[Sheet], zone: tzinfo) -> Iterator[bytes]:
    """The tables one after the other (each under its name when there are several)."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    for number, sheet in enumerate(sheets):
        if len(sheets) > 1:
            if number:
                writer.writerow([])
            writer.writerow([defuse(sheet.name)])
        writer.writerow([defuse(title) for title, _kind in sheet.columns])
        for count, row in enumerate(_rows(sheet, zone), start=1):
            writer.writerow([_csv_text(v) for v in row])
            if count % 500 == 0:
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode()


def _sheet_title(name: str, taken: set[str]) -> str:
    # Excel: at most 31 characters, none of []:*?/\ and each name once.
    title = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    base, n = title, 2
    while title in taken:
        title = f"{base[:28]} {n}"
        n += 1
    taken.add(title)
    return title


def xlsx_stream(sheets: Sequence[Sheet], zone: tzinfo) -> Iterator[bytes]:
    """The workbook, one worksheet per table, built in a temporary file then streamed."""
    book = Workbook(write_only=True)
    bold = Font(bold=True)
    taken: set[str] = set()
    for sheet in sheets:
        ws = book.create_sheet(_sheet_title(sheet.name, taken))
        for i, (title, kind) in enumerate(sheet.columns, start=1):
            width = max(WIDTHS.get(kind, 14), min(len(title) + 2, 40))
            ws.column_dimensions[get_column_letter(i)].width = width
        ws.freeze_panes = "A2"
        header = []
        for title, _kind in sheet.columns:
            cell = WriteOnlyCell(ws, value=defuse(title))
            cell.font = bold
            header.append(cell)
        ws.append(header)
        kinds = [kind for _title, kind in sheet.columns]
        for row in _rows(sheet, zone):
            ws.append([_xlsx_cell(ws, kind, v) for kind, v in zip(kinds, row, strict=True)])
    with tempfile.TemporaryFile() as file:
        book.save(file)
        file.seek(0)
        while chunk := file.read(CHUNK):
            yield chunk


def _xlsx_cell(ws: Any, kind: str, value: Any) -> Any:
    if isinstance(value, datetime):
        # Excel keeps no zone: the time as the reader's clock shows it (the header says which).
        cell = WriteOnlyCell(ws, value=value.replace(tzinfo=None))
        cell.number_format = DATETIME_FORMATS.get(kind, "yyyy-mm-dd hh:mm")
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = "yyyy-mm-dd"
        return cell
    if isinstance(value, str):
        # Never a formula: openpyxl would make one of any text that starts with "=".
        cell = WriteOnlyCell(ws, value=ooxml_escape(value) if kind == "exact" else value)
        cell.data_type = "s"
        return cell
    if kind in NUMBER_FORMATS and isinstance(value, int | float) and not isinstance(value, bool):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = NUMBER_FORMATS[kind]
        return cell
    return value


def disposition(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}
