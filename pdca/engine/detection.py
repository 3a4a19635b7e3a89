"""Detection: pure rules over one KPI's series of measurements.

Nothing here touches the database. The services layer loads a KPI's points,
builds a `KpiSpec`, calls `evaluate` (on ingest) or `missing_data` (on a
schedule), and turns each `Finding` into a Problem or an occurrence of an open
one. Rule names are the values of `pdca.models.DetectionRule`, repeated here as
strings because the engine may not import the models (see pyproject's
import-linter contracts); a unit test keeps the two lists equal.

Semantics, and why:

- **Each point is judged only against the points before it.** `evaluate(spec,
  series, new_from, limits)` walks `series` (history, then the new points,
  sorted by time) and returns the findings *completed* by each point at index
  ``>= new_from``. What a point completes depends on that point and its
  predecessors only, so the same findings come out whether points arrive one
  by one (``new_from = len(series) - 1`` each time) or in one batch. That is
  what makes ingest order-free (the issue's "Done when"). The history passed in
  must reach back far enough: 7 points for the SPC rules, and the whole current
  run of warning-level points for `warnings_in_a_row` (counting is from the
  start of `series`). Passing every point since the baseline is always enough.

- **limit_breach**: a point strictly past the breach limit on the bad side
  (below it when higher is better, above it when lower is better). A point
  exactly on a limit is not past it: a limit is the last acceptable value.
  Every breaching point is a finding; the services add repeats to the open
  problem as occurrences.

- **warnings_in_a_row**: a point fires when the run of consecutive points at
  warning level or worse (`status` is warning or breach) reaches a multiple of
  `spec.warnings_in_a_row`: with 3, the 3rd, 6th, 9th… point of a run. A long
  bad run thus keeps reporting itself without firing on every point. The
  evidence is the last `warnings_in_a_row` points of the run.

- **SPC** on an individuals chart (skipped when `limits` is None: too few
  baseline points or no spread). The usual Western Electric / Nelson rules,
  each firing at the point that completes the pattern, the point itself being
  part of it:
    * `spc_beyond_3_sigma`: the point is beyond 3σ;
    * `spc_2_of_3_beyond_2_sigma`: it is beyond 2σ, and so is at least one
      other of the last 3 points, on the same side;
    * `spc_4_of_5_beyond_1_sigma`: it is beyond 1σ, and at least 4 of the last
      5 points are beyond 1σ on that side;
    * `spc_8_on_one_side`: it and the 7 points before it are all strictly on
      one side of the centre line (a point on the line breaks the run).
  "Beyond" is strict, as for limits. A run that goes on keeps completing the
  pattern (the 9th point on one side is again 8 in a row), as SPC software
  marks it. `evaluate` raises only signals on the **bad side** for the KPI's
  direction: a shift for the better is not a quality problem.
  `spc_signals` reports both sides, because a control chart marks every point
  that broke a rule, good or bad.

- **missing_data**: no point within `spec.interval` before `now`, i.e. more
  than `interval` has passed since the last point (exactly `interval` is still
  on time), or no point ever. The finding is dated `now`; its evidence is the
  last point when the caller passes it.

- Only rules named in `spec.rules` fire.

Every finding carries a `Reason` built with `because`/`because_n` so pages can
show it in the reader's language; numbers are already formatted in the params.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

from pdca.engine.facts import Reason, because, because_n, moment

LIMIT_BREACH = "limit_breach"
WARNINGS_IN_A_ROW = "warnings_in_a_row"
SPC_BEYOND_3_SIGMA = "spc_beyond_3_sigma"
SPC_2_OF_3_BEYOND_2_SIGMA = "spc_2_of_3_beyond_2_sigma"
SPC_4_OF_5_BEYOND_1_SIGMA = "spc_4_of_5_beyond_1_sigma"
SPC_8_ON_ONE_SIDE = "spc_8_on_one_side"
# Nelson's supplementary rules (5–8 here, after the four Western Electric ones).
SPC_TREND_6 = "spc_trend_6"
SPC_14_ALTERNATING = "spc_14_alternating"
SPC_15_WITHIN_1_SIGMA = "spc_15_within_1_sigma"
SPC_8_BEYOND_1_SIGMA = "spc_8_beyond_1_sigma"
MISSING_DATA = "missing_data"

# In the order findings for one point are listed.
RULES = (
    LIMIT_BREACH,
    WARNINGS_IN_A_ROW,
    SPC_BEYOND_3_SIGMA,
    SPC_2_OF_3_BEYOND_2_SIGMA,
    SPC_4_OF_5_BEYOND_1_SIGMA,
    SPC_8_ON_ONE_SIDE,
    SPC_TREND_6,
    SPC_14_ALTERNATING,
    SPC_15_WITHIN_1_SIGMA,
    SPC_8_BEYOND_1_SIGMA,
    MISSING_DATA,
)
WESTERN_ELECTRIC = (
    SPC_BEYOND_3_SIGMA,
    SPC_2_OF_3_BEYOND_2_SIGMA,
    SPC_4_OF_5_BEYOND_1_SIGMA,
    SPC_8_ON_ONE_SIDE,
)
NELSON_5_TO_8 = (SPC_TREND_6, SPC_14_ALTERNATING, SPC_15_WITHIN_1_SIGMA, SPC_8_BEYOND_1_SIGMA)
SPC_RULES = frozenset(WESTERN_ELECTRIC + NELSON_5_TO_8)
# Rules judged on the points as they come (everything but the scheduled missing-data check).
POINT_RULES = frozenset(RULES) - {MISSING_DATA}

ON_TARGET = "on_target"
OFF_TARGET = "off_target"
WARNING = "warning"
BREACH = "breach"
NO_DATA = "no_data"

HIGHER = "higher"
LOWER = "lower"

# Individuals chart: sigma is estimated as the mean moving range over d2 (n = 2).
D2 = 1.128
# Moving-range chart: its upper limit is D4 × the mean moving range (n = 2); no lower one.
D4 = 3.267
MIN_BASELINE_POINTS = 8
# How many points before a new one the SPC rules look at (15 within 1σ: 14 before).
SPC_LOOKBACK = 14
# Values past this size are refused at ingest: sums and spreads of them stay finite
# (1e15 is still an exact integer in a float), and no service indicator comes near it.
MAX_ABS_VALUE = 1e15

ABOVE, BELOW = 1, -1
BOTH = 0  # a pattern with no side (oscillation, stratification, mixture): bad either way


@dataclass(frozen=True)
class Point:
    at: datetime  # UTC-aware
    value: float


@dataclass(frozen=True)
class KpiSpec:
    direction: str  # "higher" or "lower" is better
    target: float
    warning_limit: float | None  # past it (on the bad side) is a warning
    breach_limit: float | None  # past it (on the bad side) is a breach
    interval: timedelta  # a point is expected at least this often
    rules: frozenset[str]  # DetectionRule values
    warnings_in_a_row: int = 3

    def __post_init__(self) -> None:
        if self.direction not in (HIGHER, LOWER):
            raise ValueError(f"direction must be 'higher' or 'lower', not {self.direction!r}")
        if self.warnings_in_a_row < 1:
            raise ValueError("warnings_in_a_row must be at least 1")
        if self.interval <= timedelta(0):
            raise ValueError("interval must be positive")

    @property
    def bad_side(self) -> int:
        """ABOVE (+1) when lower is better, BELOW (-1) when higher is better."""
        return BELOW if self.direction == HIGHER else ABOVE


@dataclass(frozen=True)
class ControlLimits:
    centre: float
    sigma: float  # individuals chart: mean moving range / 1.128

    def line(self, k: float) -> float:
        """The line k sigma from the centre (k < 0 is below it)."""
        return self.centre + k * self.sigma

    @property
    def mr_bar(self) -> float:
        """The mean moving range the sigma came from (the moving-range chart's centre)."""
        return self.sigma * D2

    @property
    def mr_ucl(self) -> float:
        """The moving-range chart's upper limit: D4 (3.267) × the mean moving range."""
        return D4 * self.mr_bar


@dataclass(frozen=True)
class SteppedLimits:
    """Control limits that change over time: `first` until the first step, then each
    step's limits from its time on (a process change was made and the limits were
    recalculated from the points after it).

    The run rules never reach across a step: a pattern is judged on the points of one
    segment only, since the points before a change belong to another process.
    """

    first: ControlLimits | None
    steps: tuple[tuple[datetime, ControlLimits], ...] = ()

    def per_point(self, series: Sequence[Point]) -> list[tuple[int, ControlLimits | None]]:
        """For each point: (index of its segment's first point, the limits it is judged by)."""
        out: list[tuple[int, ControlLimits | None]] = []
        k, floor = -1, 0
        for i, point in enumerate(series):
            while k + 1 < len(self.steps) and point.at >= self.steps[k + 1][0]:
                k, floor = k + 1, i
            out.append((floor, self.first if k < 0 else self.steps[k][1]))
        return out


Limits = ControlLimits | SteppedLimits | None


def _per_point(limits: Limits, series: Sequence[Point]) -> list[tuple[int, ControlLimits | None]]:
    if isinstance(limits, SteppedLimits):
        return limits.per_point(series)
    return [(0, limits)] * len(series)


def _spc_in_segment(
    values: Sequence[float], i: int, floor: int, limits: ControlLimits
) -> list[tuple[str, int, int]]:
    """`_spc_at` on the points of i's segment only (at most the 15 a rule looks at)."""
    lo = max(floor, i - SPC_LOOKBACK)
    return [
        (rule, side, first + lo)
        for rule, side, first in _spc_at(values[lo : i + 1], i - lo, limits)
    ]


@dataclass(frozen=True)
class Finding:
    rule: str  # the DetectionRule value
    at: datetime  # the point that completed the signal (or `now` for missing data)
    points: tuple[Point, ...]  # the evidence: the points that form the signal
    reason: Reason


def _past(value: float, limit: float, side: int) -> bool:
    """Strictly beyond `limit` on `side` (ABOVE or BELOW)."""
    return value > limit if side == ABOVE else value < limit


def status(spec: KpiSpec, value: float | None) -> str:
    """Where one value stands: on_target, off_target, warning or breach (no_data for None).

    Direction-aware: past a limit means on the bad side of it, strictly. A value
    that meets the target (equal counts) is on_target; one within the limits but
    short of the target is off_target.
    """
    if value is None:
        return NO_DATA
    bad = spec.bad_side
    if spec.breach_limit is not None and _past(value, spec.breach_limit, bad):
        return BREACH
    if spec.warning_limit is not None and _past(value, spec.warning_limit, bad):
        return WARNING
    if _past(value, spec.target, bad):
        return OFF_TARGET
    return ON_TARGET


def control_limits(baseline: Sequence[float | None]) -> ControlLimits | None:
    """Centre and sigma of an individuals chart from a baseline period's values.

    A None is a point excluded in phase I (a special cause): it counts in neither the
    centre nor a moving range, and the points on either side of it are not neighbours
    (no range bridges the gap). None with fewer than 8 points (too few to estimate a
    spread) or when every value is the same (sigma would be 0 and every later point a
    signal).
    """
    values = [float(v) for v in baseline if v is not None]
    if len(values) < MIN_BASELINE_POINTS or not all(math.isfinite(v) for v in values):
        return None
    try:
        centre = math.fsum(values) / len(values)
        moving_ranges = [
            abs(float(b) - float(a))
            for a, b in pairwise(baseline)
            if a is not None and b is not None
        ]
        if not moving_ranges:
            return None
        sigma = math.fsum(moving_ranges) / len(moving_ranges) / D2
    except OverflowError:  # values near the float's end (1e307): no chart can hold them
        return None
    # An infinite spread (±1e308 alternating) would put every line at ±inf.
    if not (sigma > 0 and math.isfinite(sigma) and math.isfinite(centre + 3 * sigma)):
        return None
    if not math.isfinite(centre - 3 * sigma):
        return None
    return ControlLimits(centre=centre, sigma=sigma)


def moving_ranges(series: Sequence[Point]) -> list[float]:
    """|x[i] − x[i−1]| for each point after the first: the moving-range chart's values."""
    return [abs(b.value - a.value) for a, b in pairwise(series)]


# --- SPC ------------------------------------------------------------------------


def _spc_at(values: Sequence[float], i: int, limits: ControlLimits) -> list[tuple[str, int, int]]:
    """The SPC patterns point i completes: (rule, side, index of the first point).

    `side` is ABOVE or BELOW for a shift or a trend, BOTH for the patterns that have no
    side (alternation, stratification, mixture).
    """
    found: list[tuple[str, int, int]] = []
    value = values[i]
    for side in (ABOVE, BELOW):
        if not _past(value, limits.centre, side):
            continue
        if _past(value, limits.line(3 * side), side):
            found.append((SPC_BEYOND_3_SIGMA, side, i))
        if _past(value, limits.line(2 * side), side):
            start = max(0, i - 2)
            line = limits.line(2 * side)
            if sum(_past(v, line, side) for v in values[start : i + 1]) >= 2:
                found.append((SPC_2_OF_3_BEYOND_2_SIGMA, side, start))
        if _past(value, limits.line(side), side):
            start = max(0, i - 4)
            line = limits.line(side)
            if sum(_past(v, line, side) for v in values[start : i + 1]) >= 4:
                found.append((SPC_4_OF_5_BEYOND_1_SIGMA, side, start))
        if i >= 7 and all(_past(v, limits.centre, side) for v in values[i - 7 : i]):
            found.append((SPC_8_ON_ONE_SIDE, side, i - 7))
        break  # a point is on one side only
    found.extend(_nelson_at(values, i, limits))
    return found


def _nelson_at(
    values: Sequence[float], i: int, limits: ControlLimits
) -> list[tuple[str, int, int]]:
    """Nelson's rules 5–8 as numbered here, each completed by point i.

    - trend: 6 points in a row each strictly higher (or lower) than the one before;
    - 14 points in a row alternating up and down (no two equal neighbours);
    - 15 points in a row within 1σ of the centre, either side (on the line counts as
      within, since "beyond" is strict);
    - 8 points in a row beyond 1σ with points on both sides of the centre (all on one
      side is already a shift, said by the rules above).
    """
    found: list[tuple[str, int, int]] = []
    if i >= 5:
        window = values[i - 5 : i + 1]
        steps = [b - a for a, b in pairwise(window)]
        if all(step > 0 for step in steps):
            found.append((SPC_TREND_6, ABOVE, i - 5))
        elif all(step < 0 for step in steps):
            found.append((SPC_TREND_6, BELOW, i - 5))
    if i >= 13:
        steps = [b - a for a, b in pairwise(values[i - 13 : i + 1])]
        if all(a * b < 0 for a, b in pairwise(steps)):
            found.append((SPC_14_ALTERNATING, BOTH, i - 13))
    upper, lower = limits.line(1), limits.line(-1)
    if i >= 14 and all(lower <= v <= upper for v in values[i - 14 : i + 1]):
        found.append((SPC_15_WITHIN_1_SIGMA, BOTH, i - 14))
    if i >= 7:
        window = values[i - 7 : i + 1]
        if (
            all(v > upper or v < lower for v in window)
            and any(v > upper for v in window)
            and any(v < lower for v in window)
        ):
            found.append((SPC_8_BEYOND_1_SIGMA, BOTH, i - 7))
    return found


def spc_signals(
    series: Sequence[Point],
    limits: Limits,
    direction: str | None = None,
    rules: Iterable[str] | None = None,
    start: int = 0,
) -> dict[int, list[str]]:
    """Index → SPC rules broken at that point, on either side, for marking a control chart.

    Each signal is marked on the point that completed it. `direction` is accepted
    for symmetry with `evaluate` but filters nothing: the chart marks good-side
    shifts too (a lasting improvement is worth seeing). `rules` limits the marks to a
    rule set (default: the Western Electric rules). Only points from index `start` are
    marked, but every pattern is judged on the whole `series`: pass the history before
    a chart's window so that the points at its left edge keep their rings.
    """
    if direction is not None and direction not in (HIGHER, LOWER):
        raise ValueError(f"direction must be 'higher' or 'lower', not {direction!r}")
    if limits is None:
        return {}
    wanted = frozenset(WESTERN_ELECTRIC if rules is None else rules) & SPC_RULES
    values = [p.value for p in series]
    judged_by = _per_point(limits, series)
    marks: dict[int, list[str]] = {}
    for i in range(max(start, 0), len(values)):
        floor, limits_i = judged_by[i]
        if limits_i is None:
            continue
        found = [
            rule
            for rule, _side, _start in _spc_in_segment(values, i, floor, limits_i)
            if rule in wanted
        ]
        if found:
            marks[i] = list(dict.fromkeys(found))
    return marks


# --- Evaluation -----------------------------------------------------------------


def evaluate(
    spec: KpiSpec, series: Sequence[Point], new_from: int, limits: Limits
) -> list[Finding]:
    """Findings completed by each point of `series` at index >= `new_from`.

    `series` is sorted by time (history first); each point is judged against
    the points before it only, so batches and single points give the same
    findings. Listed by point, then in the order of `RULES`.
    """
    for a, b in pairwise(series):
        if b.at < a.at:
            raise ValueError("series must be sorted by time")
    start = max(new_from, 0)
    if start >= len(series):
        return []
    rules = spec.rules
    values = [p.value for p in series]
    judged_by = (
        _per_point(limits, series)
        if limits is not None and not SPC_RULES.isdisjoint(rules)
        else None
    )
    findings: list[Finding] = []
    streak = 0
    for i, point in enumerate(series):
        level = status(spec, point.value)
        streak = streak + 1 if level in (WARNING, BREACH) else 0
        if i < start:
            continue
        if LIMIT_BREACH in rules and level == BREACH:
            findings.append(_breach(spec, point))
        n = spec.warnings_in_a_row
        if WARNINGS_IN_A_ROW in rules and streak and streak % n == 0:
            findings.append(_warnings(spec, tuple(series[i - n + 1 : i + 1])))
        if judged_by is not None:
            floor, limits_i = judged_by[i]
            if limits_i is None:
                continue
            for rule, side, first in _spc_in_segment(values, i, floor, limits_i):
                if side in (spec.bad_side, BOTH) and rule in rules:
                    findings.append(_spc(rule, side, series, first, i, limits_i))
    return findings


def missing_data(spec: KpiSpec, last_at: datetime | Point | None, now: datetime) -> Finding | None:
    """A finding at `now` when no point came within `spec.interval` before it.

    `last_at` is the time of the KPI's last point, or that point itself (then it
    is the evidence), or None when the KPI was never measured.
    """
    if MISSING_DATA not in spec.rules:
        return None
    interval = _hours(spec.interval)
    if last_at is None:
        reason = because(
            MISSING_DATA,
            "No measurement yet (one is expected every %(interval)s h).",
            interval=interval,
        )
        return Finding(MISSING_DATA, now, (), reason)
    last = last_at if isinstance(last_at, Point) else None
    at = last_at.at if isinstance(last_at, Point) else last_at
    elapsed = now - at
    if elapsed <= spec.interval:
        return None
    reason = because_n(
        MISSING_DATA,
        "No measurement for %(count)d hour (one is expected every %(interval)s h); "
        "the last was at %(last)s.",
        "No measurement for %(count)d hours (one is expected every %(interval)s h); "
        "the last was at %(last)s.",
        int(elapsed.total_seconds() // 3600),
        interval=interval,
        last=moment(at),
    )
    return Finding(MISSING_DATA, now, (last,) if last is not None else (), reason)


# --- Reasons ----------------------------------------------------------------------
# Templates are literal so `pybabel extract -k because:2 -k because_n:2,3` finds them.


def _num(value: float) -> str:
    """92.1, 0.0125, 12500: readable, without float noise or exponents."""
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:.0f}"
    # Four significant digits: 80.49, not the 80.4884 of a computed sigma line.
    return f"{value:.4g}"


def _hours(interval: timedelta) -> str:
    return _num(interval.total_seconds() / 3600)


def _breach(spec: KpiSpec, point: Point) -> Finding:
    params = {"value": _num(point.value), "limit": _num(spec.breach_limit or 0.0)}
    if spec.bad_side == BELOW:
        reason = because(LIMIT_BREACH, "%(value)s is below the breach limit (%(limit)s).", **params)
    else:
        reason = because(LIMIT_BREACH, "%(value)s is above the breach limit (%(limit)s).", **params)
    return Finding(LIMIT_BREACH, point.at, (point,), reason)


def _warnings(spec: KpiSpec, points: tuple[Point, ...]) -> Finding:
    limit = spec.warning_limit if spec.warning_limit is not None else spec.breach_limit
    count, shown = len(points), _num(limit if limit is not None else 0.0)
    if spec.bad_side == BELOW:
        reason = because_n(
            WARNINGS_IN_A_ROW,
            "%(count)d point in a row below the warning limit (%(limit)s).",
            "%(count)d points in a row below the warning limit (%(limit)s).",
            count,
            limit=shown,
        )
    else:
        reason = because_n(
            WARNINGS_IN_A_ROW,
            "%(count)d point in a row above the warning limit (%(limit)s).",
            "%(count)d points in a row above the warning limit (%(limit)s).",
            count,
            limit=shown,
        )
    return Finding(WARNINGS_IN_A_ROW, points[-1].at, points, reason)


def _spc(
    rule: str, side: int, series: Sequence[Point], first: int, i: int, limits: ControlLimits
) -> Finding:
    window = series[first : i + 1]
    centre = _num(limits.centre)
    below = side == BELOW
    if rule == SPC_BEYOND_3_SIGMA:
        points: tuple[Point, ...] = (series[i],)
        params = {"value": _num(series[i].value), "limit": _num(limits.line(3 * side))}
        if below:
            reason = because(
                rule, "%(value)s is below the lower control limit (%(limit)s, 3σ).", **params
            )
        else:
            reason = because(
                rule, "%(value)s is above the upper control limit (%(limit)s, 3σ).", **params
            )
    elif rule == SPC_2_OF_3_BEYOND_2_SIGMA:
        line = limits.line(2 * side)
        points = tuple(p for p in window if _past(p.value, line, side))
        params = {"count": len(points), "limit": _num(line), "centre": centre}
        if below:
            reason = because(
                rule,
                "%(count)d of 3 points in a row more than 2σ below the centre line "
                "(under %(limit)s).",
                **params,
            )
        else:
            reason = because(
                rule,
                "%(count)d of 3 points in a row more than 2σ above the centre line "
                "(over %(limit)s).",
                **params,
            )
    elif rule == SPC_4_OF_5_BEYOND_1_SIGMA:
        line = limits.line(side)
        points = tuple(p for p in window if _past(p.value, line, side))
        params = {"count": len(points), "limit": _num(line), "centre": centre}
        if below:
            reason = because(
                rule,
                "%(count)d of 5 points in a row more than 1σ below the centre line "
                "(under %(limit)s).",
                **params,
            )
        else:
            reason = because(
                rule,
                "%(count)d of 5 points in a row more than 1σ above the centre line "
                "(over %(limit)s).",
                **params,
            )
    elif rule in NELSON_5_TO_8:
        points = tuple(window)
        reason = _nelson_reason(rule, side, points, limits)
    else:
        points = tuple(window)
        params = {"count": len(points), "centre": centre}
        if below:
            reason = because(
                rule, "%(count)d points in a row below the centre line (%(centre)s).", **params
            )
        else:
            reason = because(
                rule, "%(count)d points in a row above the centre line (%(centre)s).", **params
            )
    return Finding(rule, series[i].at, points, reason)


def _nelson_reason(
    rule: str, side: int, points: tuple[Point, ...], limits: ControlLimits
) -> Reason:
    count = len(points)
    if rule == SPC_TREND_6:
        params = {"count": count, "first": _num(points[0].value), "last": _num(points[-1].value)}
        if side == BELOW:
            return because(
                rule,
                "%(count)d points in a row each lower than the one before "
                "(%(first)s down to %(last)s): a trend.",
                **params,
            )
        return because(
            rule,
            "%(count)d points in a row each higher than the one before "
            "(%(first)s up to %(last)s): a trend.",
            **params,
        )
    if rule == SPC_14_ALTERNATING:
        return because(
            rule,
            "%(count)d points in a row alternating up and down: over-adjustment, or two "
            "sources taking turns.",
            count=count,
        )
    low, high = _num(limits.line(-1)), _num(limits.line(1))
    if rule == SPC_15_WITHIN_1_SIGMA:
        return because(
            rule,
            "%(count)d points in a row within 1σ of the centre line (%(low)s to %(high)s): "
            "the limits may mix several sources (stratification).",
            count=count,
            low=low,
            high=high,
        )
    return because(
        rule,
        "%(count)d points in a row more than 1σ from the centre line, on both sides "
        "(outside %(low)s to %(high)s): a mixture of two processes.",
        count=count,
        low=low,
        high=high,
    )


# --- How far SPC can be trusted ---------------------------------------------------------

RECOMMENDED_BASELINE_POINTS = 50


@dataclass(frozen=True)
class BaselineHealth:
    """See pdca.services.spc.SpcHealth, which this fills."""

    state: str
    points: int
    minimum: int = MIN_BASELINE_POINTS
    recommended: int = RECOMMENDED_BASELINE_POINTS
    false_alarm_every: float | None = None
    false_alarm_every_recommended: float | None = None
    rules: list[str] | None = None

    @property
    def warning(self) -> bool:
        return self.state not in ("off", "ok")


def false_alarm_rate(baseline_points: int, rules: Iterable[str]) -> float:
    """Expected false occurrences per judged point of a stable process (normal, no shift)
    whose limits came from `baseline_points` points (0: limits known exactly), counting
    what `evaluate` raises (the bad side, and the side-less rules).

    Each rule raises its own occurrences, so the rates add. Between the tabulated sizes
    the rate is interpolated linearly in 1/n (the estimation error shrinks like 1/n).
    """
    rates = [(n, sum(row.get(r, 0.0) for r in rules)) for n, row in _FALSE_ALARMS.items()]
    known = next(rate for n, rate in rates if n == 0)
    sized = sorted((n, rate) for n, rate in rates if n > 0)
    n = baseline_points
    if n <= 0:
        return known
    if n <= sized[0][0]:
        return sized[0][1]
    for (n0, r0), (n1, r1) in pairwise([*sized, (math.inf, known)]):
        if n0 <= n <= n1:
            w = (1 / n0 - 1 / n) / (1 / n0 - (0 if n1 == math.inf else 1 / n1))
            return r0 + w * (r1 - r0)
    return known


def baseline_health(baseline: Sequence[float | None], rules: Sequence[str]) -> BaselineHealth:
    """Whether limits from `baseline` can judge points with `rules`, and at what cost
    (a None is an excluded point, as in `control_limits`)."""
    spc = [r for r in rules if r in SPC_RULES]
    kept = [v for v in baseline if v is not None]
    n = len(kept)
    if not spc:
        return BaselineHealth("off", n)
    if n == 0:
        return BaselineHealth("missing", 0, rules=spc)
    if n < MIN_BASELINE_POINTS:
        return BaselineHealth("too_short", n, rules=spc)
    if len(set(kept)) == 1:
        return BaselineHealth("constant", n, rules=spc)
    if control_limits(baseline) is None:
        return BaselineHealth("unusable", n, rules=spc)
    every, better = (1 / false_alarm_rate(k, spc) for k in (n, RECOMMENDED_BASELINE_POINTS))
    state = "weak" if n < RECOMMENDED_BASELINE_POINTS else "ok"
    return BaselineHealth(
        state, n, false_alarm_every=every, false_alarm_every_recommended=better, rules=spc
    )


def frozen_health(points: int, rules: Sequence[str]) -> BaselineHealth:
    """The health of limits frozen from `points` baseline points (phase I done)."""
    spc = [r for r in rules if r in SPC_RULES]
    if not spc:
        return BaselineHealth("off", points)
    every, better = (1 / false_alarm_rate(k, spc) for k in (points, RECOMMENDED_BASELINE_POINTS))
    return BaselineHealth(
        "weak" if points < RECOMMENDED_BASELINE_POINTS else "ok",
        points,
        false_alarm_every=every,
        false_alarm_every_recommended=better,
        rules=spc,
    )


# Measured by simulation (docs/spc_false_alarms.py): 1,500 baselines of n standard normal
# points each, then 400 points judged against their limits; the mean number of judged
# points between two false occurrences, per rule, in the order of `_TABLE_RULES`.
# n = 0 stands for limits known exactly (the textbook's 1/0.00135 = 741 for beyond 3σ on
# one side). The side-less rules count both sides, as `evaluate` raises them.
_TABLE_RULES = (*WESTERN_ELECTRIC, *NELSON_5_TO_8)
_FALSE_ALARM_EVERY: dict[int, tuple[int, ...]] = {
    8: (61, 68, 59, 61, 784, 229, 34, 188),
    10: (84, 98, 83, 85, 736, 232, 51, 271),
    15: (134, 155, 118, 102, 673, 228, 72, 676),
    20: (195, 232, 164, 135, 726, 220, 91, 1310),
    25: (242, 301, 189, 139, 760, 231, 108, 1667),
    30: (253, 305, 216, 168, 697, 221, 134, 1690),
    40: (317, 393, 226, 169, 717, 208, 165, 2532),
    50: (377, 493, 277, 177, 758, 210, 192, 3774),
    75: (458, 571, 329, 202, 773, 205, 191, 4545),
    100: (514, 655, 342, 208, 715, 217, 213, 5607),
    150: (605, 770, 368, 224, 740, 219, 253, 4255),
    200: (596, 849, 393, 235, 780, 209, 253, 8451),
    0: (771, 992, 445, 259, 670, 223, 298, 7407),
}
_FALSE_ALARMS: dict[int, dict[str, float]] = {
    n: {rule: 1 / every for rule, every in zip(_TABLE_RULES, row, strict=True)}
    for n, row in _FALSE_ALARM_EVERY.items()
}
