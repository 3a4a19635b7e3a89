"""Statistical process control of one KPI as people read it: is SPC on, can its limits
be trusted, how often will it cry wolf, and which points of a window broke which rule.

The rules are judged on the history, then drawn for the window: a chart of the last 30
days marks the signals that the points before those days completed too.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from pdca.engine import detection
from pdca.engine.detection import BaselineHealth, ControlLimits, Point
from pdca.models import Kpi, Measurement
from pdca.services.context import Ctx

SPC_BASELINE_POINTS = 20  # without a baseline period, the first points set the control limits


def baseline_values(ctx: Ctx, kpi: Kpi) -> list[float]:
    query = select(Measurement.value).where(Measurement.kpi_id == kpi.id)
    if kpi.baseline_start and kpi.baseline_end:
        query = query.where(
            col(Measurement.at) >= kpi.baseline_start, col(Measurement.at) <= kpi.baseline_end
        )
    else:
        query = query.order_by(col(Measurement.at)).limit(SPC_BASELINE_POINTS)
    return list(ctx.session.exec(query))


def control_limits_of(ctx: Ctx, kpi: Kpi) -> ControlLimits | None:
    return detection.control_limits(baseline_values(ctx, kpi))


def health_of(ctx: Ctx, kpi: Kpi) -> BaselineHealth:
    """What the KPI's SPC stands on.

    state: `off` (no SPC rule chosen), `missing` (no baseline point yet), `too_short`
    (fewer than the 8 points a spread needs), `constant` (no spread: every later point
    would be a signal), `unusable` (values too large to compute limits), `weak` (limits
    from fewer than 50 points: false alarms far more often than the textbook's) or `ok`.
    """
    if not any(r in detection.SPC_RULES for r in kpi.rules):
        return BaselineHealth("off", 0)
    return detection.baseline_health(baseline_values(ctx, kpi), kpi.rules)


@dataclass(frozen=True)
class ChartData:
    window: list[Point]  # the points shown
    before: Point | None  # the point just before the window (for the first moving range)
    limits: ControlLimits | None
    signals: dict[int, list[str]]  # index into `window` → SPC rules that point completed
    rules: list[str]  # the rule set the marks come from


def chart_data(ctx: Ctx, kpi: Kpi, start: datetime, limit: int = 20_000) -> ChartData:
    """The window from `start` on, with its signals judged on the history before it too."""
    limits = control_limits_of(ctx, kpi)
    history = list(
        ctx.session.exec(
            select(Measurement.at, Measurement.value)
            .where(Measurement.kpi_id == kpi.id, col(Measurement.at) < start)
            .order_by(col(Measurement.at).desc())
            .limit(detection.SPC_LOOKBACK)
        )
    )[::-1]
    window = list(
        ctx.session.exec(
            select(Measurement.at, Measurement.value)
            .where(Measurement.kpi_id == kpi.id, col(Measurement.at) >= start)
            .order_by(col(Measurement.at))
            .limit(limit)
        )
    )
    series = [Point(at, value) for at, value in [*history, *window]]
    chosen = [r for r in kpi.rules if r in detection.SPC_RULES] or list(detection.WESTERN_ELECTRIC)
    marks = detection.spc_signals(series, limits, kpi.direction, chosen, start=len(history))
    return ChartData(
        window=series[len(history) :],
        before=series[len(history) - 1] if history else None,
        limits=limits,
        signals={i - len(history): rules for i, rules in marks.items()},
        rules=chosen,
    )
