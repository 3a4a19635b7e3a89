"""Statistical process control of one KPI as people read it: is SPC on, can its limits
be trusted, how often will it cry wolf, and which points of a window broke which rule.

The rules are judged on the history, then drawn for the window: a chart of the last 30
days marks the signals that the points before those days completed too.

Limits come from the baseline (phase I): its points minus those people excluded as
special causes, until people freeze them; after a process change they may be
recalculated from the points after it (`LimitStep`), and the earlier points keep the
limits they were judged by. See pdca.services.control_limits for those decisions.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import col, select

from pdca.engine import detection
from pdca.engine.detection import BaselineHealth, ControlLimits, Point, SteppedLimits
from pdca.models import BaselineExclusion, Kpi, LimitStep, Measurement
from pdca.services.context import Ctx

SPC_BASELINE_POINTS = 20  # without a baseline period, the first points set the control limits


@dataclass(frozen=True)
class BaselinePoint:
    at: datetime
    value: float
    excluded: BaselineExclusion | None  # left out of the limits: a special cause, and why


def exclusions_of(ctx: Ctx, kpi: Kpi) -> dict[datetime, BaselineExclusion]:
    return {
        as_utc(e.at): e
        for e in ctx.session.exec(
            select(BaselineExclusion).where(BaselineExclusion.kpi_id == kpi.id)
        )
    }


def baseline_points(ctx: Ctx, kpi: Kpi) -> list[BaselinePoint]:
    """The baseline as phase I reviews it: every point of the baseline period, or (without
    one) the first points up to SPC_BASELINE_POINTS kept ones, the excluded ones marked."""
    excluded = exclusions_of(ctx, kpi)
    query = select(Measurement.at, Measurement.value).where(Measurement.kpi_id == kpi.id)
    if kpi.baseline_start and kpi.baseline_end:
        query = query.where(
            col(Measurement.at) >= kpi.baseline_start, col(Measurement.at) <= kpi.baseline_end
        )
        rows = ctx.session.exec(query.order_by(col(Measurement.at)))
        return [BaselinePoint(at, value, excluded.get(as_utc(at))) for at, value in rows]
    rows = ctx.session.exec(
        query.order_by(col(Measurement.at)).limit(SPC_BASELINE_POINTS + len(excluded))
    )
    found, kept = [], 0
    for at, value in rows:
        if kept == SPC_BASELINE_POINTS:
            break
        point = BaselinePoint(at, value, excluded.get(as_utc(at)))
        found.append(point)
        kept += point.excluded is None
    return found


def baseline_values(ctx: Ctx, kpi: Kpi) -> list[float | None]:
    """The values the limits are computed from, in time order; None for an excluded point
    (a gap: no moving range bridges it)."""
    return [p.value if p.excluded is None else None for p in baseline_points(ctx, kpi)]


def baseline_end(ctx: Ctx, kpi: Kpi) -> datetime | None:
    """SPC judges only the points after the baseline that sets its limits, so that limits
    never shift under the points they judge (None: the baseline is not complete yet)."""
    if kpi.baseline_start and kpi.baseline_end:
        return kpi.baseline_end
    points = baseline_points(ctx, kpi)
    kept = [p for p in points if p.excluded is None]
    return points[-1].at if len(kept) == SPC_BASELINE_POINTS else None


def is_frozen(kpi: Kpi) -> bool:
    return kpi.frozen_centre is not None and kpi.frozen_sigma is not None


def computed_limits(ctx: Ctx, kpi: Kpi) -> ControlLimits | None:
    """The limits the baseline gives now (what freezing would keep)."""
    return detection.control_limits(baseline_values(ctx, kpi))


def control_limits_of(ctx: Ctx, kpi: Kpi) -> ControlLimits | None:
    """The limits of the baseline segment: frozen ones if people froze them, else computed."""
    if is_frozen(kpi):
        return ControlLimits(centre=kpi.frozen_centre, sigma=kpi.frozen_sigma)  # type: ignore[arg-type]
    return computed_limits(ctx, kpi)


def steps_of(ctx: Ctx, kpi: Kpi) -> list[LimitStep]:
    return list(
        ctx.session.exec(
            select(LimitStep).where(LimitStep.kpi_id == kpi.id).order_by(col(LimitStep.starts_at))
        )
    )


def limits_of(ctx: Ctx, kpi: Kpi) -> SteppedLimits | None:
    """Every segment's limits: the baseline's, then each recalculation's from its time."""
    steps = tuple(
        (as_utc(s.starts_at), ControlLimits(centre=s.centre, sigma=s.sigma))
        for s in steps_of(ctx, kpi)
    )
    first = control_limits_of(ctx, kpi)
    if first is None and not steps:
        return None
    return SteppedLimits(first, steps)


def health_of(ctx: Ctx, kpi: Kpi) -> BaselineHealth:
    """What the KPI's SPC stands on.

    state: `off` (no SPC rule chosen), `missing` (no baseline point yet), `too_short`
    (fewer than the 8 points a spread needs), `constant` (no spread: every later point
    would be a signal), `unusable` (values too large to compute limits), `weak` (limits
    from fewer than 50 points: false alarms far more often than the textbook's) or `ok`.
    Frozen limits are judged by the points they were frozen from.
    """
    if not any(r in detection.SPC_RULES for r in kpi.rules):
        return BaselineHealth("off", 0)
    if is_frozen(kpi):
        return detection.frozen_health(kpi.frozen_points or 0, kpi.rules)
    return detection.baseline_health(baseline_values(ctx, kpi), kpi.rules)


@dataclass(frozen=True)
class Segment:
    """The limits in force over part of a chart's window (x from `start`, None: its left edge)."""

    start: datetime | None
    limits: ControlLimits | None
    step: LimitStep | None  # None: the baseline's limits


@dataclass(frozen=True)
class ChartData:
    window: list[Point]  # the points shown
    before: Point | None  # the point just before the window (for the first moving range)
    limits: ControlLimits | None  # the limits in force at the window's end
    signals: dict[int, list[str]]  # index into `window` → SPC rules that point completed
    rules: list[str]  # the rule set the marks come from
    segments: list[Segment]  # the limits of the window, left to right
    excluded: dict[int, str]  # index into `window` → why that baseline point is left out


def chart_data(ctx: Ctx, kpi: Kpi, start: datetime, limit: int = 20_000) -> ChartData:
    """The window from `start` on, with its signals judged on the history before it too."""
    limits = limits_of(ctx, kpi)
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
    series = [Point(as_utc(at), value) for at, value in [*history, *window]]
    chosen = [r for r in kpi.rules if r in detection.SPC_RULES] or list(detection.WESTERN_ELECTRIC)
    marks = detection.spc_signals(series, limits, kpi.direction, chosen, start=len(history))
    shown = series[len(history) :]
    segments = _segments(ctx, kpi, limits, start)
    excluded = exclusions_of(ctx, kpi)
    return ChartData(
        window=shown,
        before=series[len(history) - 1] if history else None,
        limits=segments[-1].limits,
        signals={i - len(history): rules for i, rules in marks.items()},
        rules=chosen,
        segments=segments,
        excluded={i: excluded[p.at].reason for i, p in enumerate(shown) if p.at in excluded},
    )


def _segments(ctx: Ctx, kpi: Kpi, limits: SteppedLimits | None, start: datetime) -> list[Segment]:
    if limits is None:
        return [Segment(None, None, None)]
    steps = steps_of(ctx, kpi)
    segments = [Segment(None, limits.first, None)]
    for step, (at, step_limits) in zip(steps, limits.steps, strict=True):
        if at <= as_utc(start):
            segments = [Segment(None, step_limits, step)]  # in force from the window's edge
        else:
            segments.append(Segment(at, step_limits, step))
    return segments


def as_utc(at: datetime) -> datetime:
    # SQLite hands times back as stored; comparisons must not depend on it.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
