"""Rows of the bench: each figure beside its floor from the same run, the ratio, the target.

A target applies to the ratio (figure ÷ floor: "≥ 0.5×", "≤ 1.5×") or to the figure
itself ("≤ 10 KB"). A row without a target is shown for comparison only (no verdict).
"""

import json
import operator
from dataclasses import asdict, dataclass, field
from typing import Any

UNITS = {
    "ms": "{:,.1f} ms",
    "µs": "{:,.1f} µs",
    "B": "{:,.0f} B",
    "rps": "{:,.0f} rps",
    "/s": "{:,.0f}/s",
    "MB": "{:,.1f} MB",
    "ms/card": "{:,.3f} ms/card",
    "µs/card": "{:,.1f} µs/card",
    "B/card": "{:,.0f} B/card",
    "points/s": "{:,.0f} points/s",
}


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return UNITS.get(unit, "{:,.2f} " + unit).format(value)


@dataclass(frozen=True)
class Target:
    """`on` is "ratio" or "value"; `op` "<=" or ">="; `text` as the issue words it."""

    on: str
    op: str
    limit: float
    text: str

    def met(self, value: float, ratio: float | None) -> bool | None:
        subject = ratio if self.on == "ratio" else value
        if subject is None:
            return None
        return bool((operator.le if self.op == "<=" else operator.ge)(subject, self.limit))


def at_most(limit: float, text: str | None = None, on: str = "ratio") -> Target:
    return Target(on, "<=", limit, text or f"≤ {limit:g}×")


def at_least(limit: float, text: str | None = None, on: str = "ratio") -> Target:
    return Target(on, ">=", limit, text or f"≥ {limit:g}×")


@dataclass
class Row:
    section: str
    figure: str
    value: float
    unit: str
    floor: str
    floor_value: float
    floor_unit: str
    target: Target | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if not self.floor_value:
            return None
        return self.value / self.floor_value

    @property
    def verdict(self) -> str:
        if self.target is None:
            return ""
        met = self.target.met(self.value, self.ratio)
        if met is None:
            return "GAP"
        return "PASS" if met else "GAP"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = self.target.text if self.target else None
        data["target_on"] = self.target.on if self.target else None
        data["ratio"] = self.ratio
        data["verdict"] = self.verdict or None
        return data


@dataclass
class Report:
    meta: dict[str, Any]
    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def as_json(self) -> str:
        return json.dumps(
            {"meta": self.meta, "rows": [r.as_dict() for r in self.rows]},
            ensure_ascii=False,
            indent=2,
        )

    def table(self) -> str:
        header = ("figure", "value", "floor", "floor value", "ratio", "target", "")
        section = None
        out: list[str] = []
        cells = [
            (
                r.figure,
                fmt(r.value, r.unit),
                r.floor,
                fmt(r.floor_value, r.floor_unit),
                f"{r.ratio:,.2f}×" if r.ratio is not None else "—",
                r.target.text if r.target else "—",
                r.verdict,
            )
            for r in self.rows
        ]
        widths = [max(len(c[i]) for c in [header, *cells]) for i in range(len(header))]

        def line(c: tuple[str, ...]) -> str:
            return "  ".join(
                c[i].ljust(widths[i]) if i in (0, 2, 5, 6) else c[i].rjust(widths[i])
                for i in range(len(c))
            ).rstrip()

        out.append(line(header))
        # Rows grouped by section, sections in the order they first appeared.
        order = list(dict.fromkeys(r.section for r in self.rows))
        paired = sorted(zip(self.rows, cells, strict=True), key=lambda p: order.index(p[0].section))
        for row, c in paired:
            if row.section != section:
                section = row.section
                out.append(f"── {section}")
            out.append(line(c))
            if row.note:
                out.append(f"     {row.note}")
        passed = sum(r.verdict == "PASS" for r in self.rows)
        gaps = sum(r.verdict == "GAP" for r in self.rows)
        out.append("")
        out.append(f"{passed} of {passed + gaps} targets met (PASS); {gaps} GAP")
        return "\n".join(out)
