"""SPC checked against numbers worked out by hand: limits, the moving-range chart, the
Nelson rules on synthetic series (trend, oscillation, stratification, mixture), how far
a baseline can be trusted, and values too large for any chart.

Synthetic series sit around a chart with centre 100 and sigma 10 (lines at 70, 80,
90, 100, 110, 120, 130), "higher is better" unless said otherwise.
"""

import math
from datetime import UTC, datetime, timedelta

import pytest

from pdca.engine import detection as d
from pdca.engine.detection import ControlLimits, KpiSpec, Point

T0 = datetime(2026, 3, 1, tzinfo=UTC)
LIMITS = ControlLimits(centre=100.0, sigma=10.0)


def pts(values: list[float]) -> list[Point]:
    return [Point(T0 + timedelta(days=i), float(v)) for i, v in enumerate(values)]


def fired(rule: str, values: list[float], direction: str = "higher") -> list[int]:
    """The indexes at which `rule` raises a finding (what ingest turns into problems)."""
    spec = KpiSpec(
        direction=direction,
        target=100.0,
        warning_limit=None,
        breach_limit=None,
        interval=timedelta(days=1),
        rules=frozenset({rule}),
    )
    series = pts(values)
    return [
        series.index(next(p for p in series if p.at == f.at))
        for f in d.evaluate(spec, series, 0, LIMITS)
    ]


# --- limits by hand ------------------------------------------------------------------


def test_limits_and_the_moving_range_chart_worked_out_by_hand() -> None:
    baseline = [10, 12, 11, 13, 12, 14, 13, 15]
    # centre = 100 / 8 = 12.5; moving ranges 2, 1, 2, 1, 2, 1, 2: mean 11 / 7
    limits = d.control_limits(baseline)
    assert limits is not None
    assert limits.centre == 12.5
    assert limits.mr_bar == pytest.approx(11 / 7)
    assert limits.sigma == pytest.approx(11 / 7 / 1.128)  # 1.39311
    assert limits.line(3) == pytest.approx(12.5 + 3 * 1.393111, abs=1e-5)  # UCL 16.6793
    assert limits.line(-3) == pytest.approx(8.320667, abs=1e-5)
    assert limits.mr_ucl == pytest.approx(3.267 * 11 / 7)  # 5.1339
    assert d.moving_ranges(pts(baseline)) == [2, 1, 2, 1, 2, 1, 2]


def test_too_few_or_constant_baselines_give_no_limits() -> None:
    assert d.control_limits([1, 2, 3, 4, 5, 6, 7]) is None  # 7 < 8 points
    assert d.control_limits([5.0] * 30) is None  # no spread


def test_values_near_the_end_of_floats_give_no_limits_instead_of_an_overflow() -> None:
    assert d.control_limits([1e307 * (1 + i % 3) for i in range(20)]) is None
    assert d.control_limits([1e308 * (-1) ** i for i in range(20)]) is None  # infinite sigma


# --- the Western Electric rules on a shift ------------------------------------------------


def test_a_shift_of_8_below_the_centre_fires_at_the_8th_and_again_at_the_9th() -> None:
    values = [101, 102, *[95] * 9]
    assert fired("spc_8_on_one_side", values) == [9, 10]


# --- Nelson's rules 5–8, each at the point that completes it ------------------------------


def test_a_falling_trend_of_6_fires_at_the_6th_point() -> None:
    values = [100, 99, 97, 96, 94, 93, 92]  # 6 falling by index 5, 7 by index 6
    assert fired("spc_trend_6", values) == [5, 6]


def test_a_rising_trend_is_marked_but_raises_nothing_when_higher_is_better() -> None:
    values = [90, 91, 93, 94, 96, 97]
    assert fired("spc_trend_6", values) == []
    assert fired("spc_trend_6", values, direction="lower") == [5]
    assert d.spc_signals(pts(values), LIMITS, rules=["spc_trend_6"]) == {5: ["spc_trend_6"]}


def test_a_tie_breaks_a_trend() -> None:
    assert fired("spc_trend_6", [100, 99, 97, 97, 94, 93, 92]) == []


def test_14_points_alternating_up_and_down_fire_at_the_14th() -> None:
    values = [100 + (3 if i % 2 else -3) for i in range(15)]
    assert fired("spc_14_alternating", values) == [13, 14]
    broken = [*values[:7], values[6], *values[8:]]  # two equal neighbours at 6 and 7
    assert fired("spc_14_alternating", broken) == []


def test_15_points_hugging_the_centre_fire_at_the_15th() -> None:
    values = [100 + (i % 5 - 2) * 4.5 for i in range(15)]  # 91 … 109, all within 1σ
    assert fired("spc_15_within_1_sigma", values) == [14]
    assert fired("spc_15_within_1_sigma", values[:14]) == []
    # A point on the 1σ line (110) is not beyond it: still within.
    assert fired("spc_15_within_1_sigma", [*values[:14], 110]) == [14]
    assert fired("spc_15_within_1_sigma", [*values[:14], 110.5]) == []


def test_8_points_avoiding_the_centre_on_both_sides_fire_at_the_8th() -> None:
    mixture = [115, 85, 116, 84, 117, 83, 118, 82]  # none within 1σ, both sides
    assert fired("spc_8_beyond_1_sigma", mixture) == [7]
    one_side = [115, 116, 117, 118, 115, 116, 117, 118]
    assert fired("spc_8_beyond_1_sigma", one_side) == []


def test_each_nelson_finding_says_why_in_words() -> None:
    spec = KpiSpec("higher", 100.0, None, None, timedelta(days=1), frozenset(d.NELSON_5_TO_8))
    series = pts([100, 99, 97, 96, 94, 93])
    [finding] = d.evaluate(spec, series, 0, LIMITS)
    assert finding.reason.message == (
        "6 points in a row each lower than the one before (100 down to 93): a trend."
    )
    assert len(finding.points) == 6


# --- how far a baseline can be trusted ---------------------------------------------------


def test_a_baseline_says_when_spc_is_off_or_weak() -> None:
    we = list(d.WESTERN_ELECTRIC)
    assert d.baseline_health([], we).state == "missing"
    assert d.baseline_health([1, 2, 3], we).state == "too_short"
    assert d.baseline_health([4.0] * 20, we).state == "constant"
    assert d.baseline_health([1e308 * (-1) ** i for i in range(20)], we).state == "unusable"
    assert d.baseline_health(list(range(10)), []).state == "off"
    weak = d.baseline_health([100 + (i * 7) % 5 for i in range(20)], we)
    assert (weak.state, weak.warning, weak.points) == ("weak", True, 20)
    assert weak.false_alarm_every is not None and weak.false_alarm_every_recommended is not None
    assert weak.false_alarm_every < weak.false_alarm_every_recommended
    ok = d.baseline_health([100 + (i * 7) % 5 for i in range(60)], we)
    assert (ok.state, ok.warning) == ("ok", False)


def test_the_false_alarm_risk_falls_as_the_baseline_grows_and_adds_up_over_rules() -> None:
    we = d.WESTERN_ELECTRIC
    rates = [d.false_alarm_rate(n, we) for n in (8, 20, 50, 100, 1000)]
    assert rates == sorted(rates, reverse=True)
    # Known limits: the textbook's one-sided rates, e.g. beyond 3σ below: 0.00135.
    assert d.false_alarm_rate(0, ["spc_beyond_3_sigma"]) == pytest.approx(0.00135, rel=0.25)
    both = d.false_alarm_rate(20, ["spc_beyond_3_sigma", "spc_8_on_one_side"])
    assert both == pytest.approx(
        d.false_alarm_rate(20, ["spc_beyond_3_sigma"])
        + d.false_alarm_rate(20, ["spc_8_on_one_side"])
    )
    # 20 points (the default baseline) cry wolf at least twice as often as known limits.
    assert d.false_alarm_rate(20, we) > 2 * d.false_alarm_rate(0, we)
    assert math.isfinite(1 / d.false_alarm_rate(20, we))
