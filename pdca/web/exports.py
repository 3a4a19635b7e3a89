"""Export responses: a list's rows (pdca.services.exports) as a CSV or XLSX download.

Pages get column titles and codes (statuses, kinds…) in the reader's language and
times in the reader's zone; the API gets the column keys, the codes and UTC, which a
program can rely on. Both read the same rows through the same filters.
"""

from collections.abc import Callable, Iterator, Sequence
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.responses import StreamingResponse

from pdca import i18n
from pdca.services import exports
from pdca.services.context import Ctx
from pdca.services.exports import Column
from pdca.web.pages.board import kind_titles
from pdca.web.pages.board import status_titles as action_status_titles
from pdca.web.pages.kpis import perspective_titles
from pdca.web.pages.problems import severity_titles, source_titles
from pdca.web.pages.problems import status_titles as problem_status_titles
from pdca.web.spreadsheets import CSV_MEDIA, XLSX_MEDIA, Sheet, csv_stream, disposition, xlsx_stream

UTC = ZoneInfo("UTC")
FORMATS = ("csv", "xlsx")
LISTS: dict[str, tuple[tuple[Column, ...], Callable[[Ctx, Any], Iterator[tuple[Any, ...]]]]] = {
    "problems": (exports.PROBLEM_COLUMNS, exports.problem_rows),
    "cycles": (exports.CYCLE_COLUMNS, exports.cycle_rows),
    "actions": (exports.ACTION_COLUMNS, exports.action_rows),
    "measurements": (exports.MEASUREMENT_COLUMNS, exports.measurement_rows),
}


def column_titles(_: Any) -> dict[str, str]:
    return {
        "key": _("Key"),
        "title": _("Title"),
        "source": _("Source"),
        "severity": _("Severity"),
        "status": _("Status"),
        "department": _("Department"),
        "reported_at": _("Reported"),
        "reported_by": _("Reported by"),
        "occurrences": _("Occurrences"),
        "kpi": _("KPI"),
        "kpi_name": _("KPI name"),
        "cycles": _("Cycles"),
        "triaged_at": _("Triaged"),
        "resolved_at": _("Resolved"),
        "rejection_reason": _("Reason for rejection"),
        "workflow": _("Workflow"),
        "state": _("Phase"),
        "iteration": _("Iteration"),
        "escalated": _("Escalated"),
        "lead": _("Lead"),
        "objective": _("Objective"),
        "baseline": _("Baseline"),
        "target": _("Target"),
        "unit": _("Unit"),
        "result": _("Result"),
        "effectiveness": _("Effectiveness"),
        "created_at": _("Created"),
        "closed_at": _("Closed"),
        "problems": _("Problems"),
        "kind": _("Kind"),
        "owner": _("Owner"),
        "deadline": _("Deadline"),
        "overdue": _("Overdue"),
        "cycle": _("Cycle"),
        "cycle_title": _("Cycle title"),
        "done_at": _("Done"),
        "verified_at": _("Verified"),
        "verified_effective": _("Verified effective"),
        "cancel_reason": _("Reason for cancelling"),
        "perspective": _("Perspective"),
        "direction": _("Better when"),
        "at": _("Time"),
        "value": _("Value"),
    }


def _code_words(ctx: Ctx, lang: str, columns: Sequence[Column]) -> Callable[[int, Any], Any]:
    """Codes in words: statuses, kinds, sources… and each workflow's phase titles."""
    _ = i18n.translations(lang).gettext
    by_key: dict[str, dict[str, str]] = {
        "source": source_titles(_),
        "severity": severity_titles(_),
        "kind": kind_titles(_),
        "perspective": perspective_titles(_),
        "direction": {"higher": _("higher"), "lower": _("lower")},
        "effectiveness": {"effective": _("Effective"), "not_effective": _("Not effective")},
        "workflow": {
            name: d.titles.get(lang) or d.titles["en"]
            for name, d in ctx.catalog.definitions.items()
        },
        "state": {
            state: st.titles.get(lang) or st.titles["en"]
            for d in ctx.catalog.definitions.values()
            for state, st in d.states.items()
        },
    }
    status = problem_status_titles(_) if columns is exports.PROBLEM_COLUMNS else {}
    if columns is exports.ACTION_COLUMNS:
        status = action_status_titles(_)
    by_key["status"] = status
    maps = [by_key.get(c.key) if c.kind == "code" else None for c in columns]

    def words(index: int, value: Any) -> Any:
        found = maps[index]
        return found.get(value, value) if found and value is not None else value

    return words


def sheet_for(
    ctx: Ctx,
    name: str,
    rows: Iterator[tuple[Any, ...]],
    lang: str | None,
    zone: tzinfo,
    title: str | None = None,
) -> Sheet:
    columns = LISTS[name][0]
    if lang is None:
        return Sheet(title or name, [(c.key, c.kind) for c in columns], rows)
    titles = column_titles(i18n.translations(lang).gettext)
    zone_name = str(zone)
    headed = [
        (f"{titles[c.key]} ({zone_name})" if c.kind == "datetime" else titles[c.key], c.kind)
        for c in columns
    ]
    return Sheet(title or name, headed, rows, _code_words(ctx, lang, columns))


def download(
    ctx: Ctx,
    name: str,
    filters: Any,
    fmt: str,
    *,
    lang: str | None = None,
    zone: tzinfo = UTC,
    title: str | None = None,
) -> StreamingResponse:
    """The whole filtered list `name` as a streamed CSV or XLSX file."""
    rows_of = LISTS[name][1]

    def stream() -> Iterator[bytes]:
        with exports.exporting(ctx) as own:
            sheet = sheet_for(own, name, rows_of(own, filters), lang, zone, title)
            writer = csv_stream if fmt == "csv" else xlsx_stream
            yield from writer([sheet], zone)

    filename = f"pdca-{name}-{ctx.now():%Y%m%d-%H%M}.{fmt}"
    return StreamingResponse(
        stream(),
        media_type=CSV_MEDIA if fmt == "csv" else XLSX_MEDIA,
        headers=disposition(filename),
    )


def tables_download(
    sheets: Sequence[Sheet], fmt: str, filename: str, zone: tzinfo = UTC
) -> StreamingResponse:
    """Tables already in memory (the dashboard's) as one CSV or a workbook of sheets."""
    writer = csv_stream if fmt == "csv" else xlsx_stream
    return StreamingResponse(
        writer(sheets, zone),
        media_type=CSV_MEDIA if fmt == "csv" else XLSX_MEDIA,
        headers=disposition(f"{filename}.{fmt}"),
    )
