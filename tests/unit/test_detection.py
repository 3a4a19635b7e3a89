"""Detection rules over a KPI's series: where each must fire, where it must not, both directions.

Series are written for "higher is better" (the bad side is low) around a control
chart with centre 100 and sigma 10 (lines at 70, 80, 90, 100, 110, 120, 130), and
mirrored around 100 for "lower is better" (the bad side is high).
"""

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pdca.engine import detection as d
from pdca.engine.detection import (
    ControlLimits,
    Finding,
    KpiSpec,
    Point,
    control_limits,
    evaluate,
    missing_data,
    spc_signals,
    status,
)
from pdca.models import DetectionRule
from pdca.web import texts

T0 = datetime(2024, 3, 1, tzinfo=UTC)
STEP = timedelta(hours=1)
LIMITS = ControlLimits(centre=100.0, sigma=10.0)
# The Western Electric set; Nelson's rules 5–8 have their own tests below.
ALL_RULES = frozenset(d.RULES) - set(d.NELSON_5_TO_8)
DIRECTIONS = ("higher", "lower")


def mirror(value: float, direction: str) -> float:
    """A value written for 'higher is better', moved to the same place for `direction`."""
    return value if direction == "higher" else 200.0 - value


def points(values: list[float], direction: str = "higher") -> list[Point]:
    return [Point(T0 + i * STEP, mirror(v, direction)) for i, v in enumerate(values)]


def spec(
    direction: str = "higher",
    rules: frozenset[str] | set[str] = ALL_RULES,
    *,
    target: float | None = 95.0,
    warning: float | None = 90.0,
    breach: float | None = 80.0,
    n: int = 3,
    interval: timedelta = timedelta(hours=24),
) -> KpiSpec:
    def m(v: float | None) -> float | None:
        return None if v is None else mirror(v, direction)

    return KpiSpec(
        direction=direction,
        target=m(target) if target is not None else mirror(95.0, direction),
        warning_limit=m(warning),
        breach_limit=m(breach),
        interval=interval,
        rules=frozenset(rules),
        warnings_in_a_row=n,
    )


def spc_spec(direction: str, rule: str) -> KpiSpec:
    return spec(direction, {rule}, warning=None, breach=None)


def fired(
    kpi: KpiSpec, values: list[float], limits: ControlLimits | None = LIMITS
) -> list[tuple[int, str]]:
    """(index, rule) of every finding of a batch evaluation of `values`."""
    series = points(values, kpi.direction)
    index = {p.at: i for i, p in enumerate(series)}
    return [(index[f.at], f.rule) for f in evaluate(kpi, series, 0, limits)]


def one_by_one(kpi: KpiSpec, series: list[Point], limits: ControlLimits | None) -> list[Finding]:
    out: list[Finding] = []
    for i in range(len(series)):
        out += evaluate(kpi, series[: i + 1], i, limits)
    return out


def test_rule_names_are_the_models_detection_rules() -> None:
    assert set(d.RULES) == {r.value for r in DetectionRule}
    assert len(d.RULES) == len(set(d.RULES))


# --- status ---------------------------------------------------------------------


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (130.0, "on_target"),
        (95.0, "on_target"),  # exactly on target meets it
        (92.0, "off_target"),
        (90.0, "off_target"),  # exactly on the warning limit is not past it
        (89.9, "warning"),
        (80.0, "warning"),  # exactly on the breach limit is not past it
        (79.9, "breach"),
        (-5.0, "breach"),
    ],
)
def test_status_is_direction_aware(direction: str, value: float, expected: str) -> None:
    assert status(spec(direction), mirror(value, direction)) == expected


def test_status_without_limits_and_without_data() -> None:
    kpi = spec("higher", warning=None, breach=None)
    assert status(kpi, -1e9) == "off_target"
    assert status(kpi, 95.0) == "on_target"
    assert status(kpi, None) == "no_data"


def test_spec_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="direction"):
        spec("up")
    with pytest.raises(ValueError, match="warnings_in_a_row"):
        spec(n=0)
    with pytest.raises(ValueError, match="interval"):
        spec(interval=timedelta(0))


# --- control limits -------------------------------------------------------------


def test_control_limits_from_a_known_baseline() -> None:
    limits = control_limits([10, 12, 11, 13, 12, 14, 13, 15])
    assert limits is not None
    assert limits.centre == pytest.approx(12.5)
    # moving ranges 2,1,2,1,2,1,2: mean 11/7; sigma = mean / d2 (1.128)
    assert limits.sigma == pytest.approx(11 / 7 / 1.128)
    assert limits.sigma == pytest.approx(1.39311, abs=1e-5)
    assert limits.line(3) == pytest.approx(12.5 + 3 * 11 / 7 / 1.128)
    assert limits.line(-2) == pytest.approx(12.5 - 2 * 11 / 7 / 1.128)
    assert limits.line(0) == limits.centre


def test_control_limits_need_eight_points_and_some_spread() -> None:
    assert control_limits([10, 12, 11, 13, 12, 14, 13]) is None
    assert control_limits([7.0] * 30) is None
    assert control_limits([]) is None
    assert control_limits([1, 2, 3, 4, 5, 6, 7, float("nan")]) is None
    assert control_limits([1, 2, 3, 4, 5, 6, 7, 8]) == ControlLimits(4.5, 1 / 1.128)


# --- limit_breach ---------------------------------------------------------------


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_limit_breach_fires_on_each_point_past_the_breach_limit(direction: str) -> None:
    kpi = spec(direction, {"limit_breach"})
    assert fired(kpi, [95, 79, 95, 60, 75]) == [
        (1, "limit_breach"),
        (3, "limit_breach"),
        (4, "limit_breach"),
    ]
    [finding, *_] = evaluate(kpi, points([95, 79], direction), 0, None)
    assert finding.points == (Point(T0 + STEP, mirror(79, direction)),)
    assert finding.at == T0 + STEP
    expected = {
        "higher": "79 is below the breach limit (80).",
        "lower": "121 is above the breach limit (120).",
    }
    assert finding.reason.message == expected[direction]
    assert finding.reason.code == "limit_breach"


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_limit_breach_near_misses(direction: str) -> None:
    kpi = spec(direction, {"limit_breach"})
    assert fired(kpi, [80, 80.0001, 85, 300]) == []  # on the limit, inside, far on the good side
    other_rules = spec(direction, ALL_RULES - {"limit_breach"})
    assert "limit_breach" not in {rule for _, rule in fired(other_rules, [0, 0, 0])}


# --- warnings_in_a_row ----------------------------------------------------------


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_warnings_in_a_row_fires_at_each_multiple_of_n(direction: str) -> None:
    kpi = spec(direction, {"warnings_in_a_row"})
    assert fired(kpi, [95, 89, 85, 88]) == [(3, "warnings_in_a_row")]
    # a long run reports itself at the 3rd, 6th… point, not on every point
    assert fired(kpi, [89] * 7) == [(2, "warnings_in_a_row"), (5, "warnings_in_a_row")]
    # a breach is at warning level too
    assert fired(kpi, [85, 70, 85]) == [(2, "warnings_in_a_row")]
    [finding] = evaluate(kpi, points([95, 89, 85, 88], direction), 0, None)
    assert finding.points == tuple(points([95, 89, 85, 88], direction)[1:])
    expected = {
        "higher": "3 points in a row below the warning limit (90).",
        "lower": "3 points in a row above the warning limit (110).",
    }
    assert finding.reason.message == expected[direction]


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_warnings_in_a_row_near_misses(direction: str) -> None:
    kpi = spec(direction, {"warnings_in_a_row"})
    assert fired(kpi, [89, 85, 95, 88, 87]) == []  # the run is broken
    assert fired(kpi, [90, 90, 90, 90]) == []  # on the warning limit, not past it
    assert fired(kpi, [89, 89]) == []
    assert fired(kpi, [120, 130, 140, 150]) == []  # the good side


def test_warnings_in_a_row_with_n_one_and_without_a_warning_limit() -> None:
    kpi = spec("higher", {"warnings_in_a_row"}, n=1)
    assert fired(kpi, [95, 89, 85]) == [(1, "warnings_in_a_row"), (2, "warnings_in_a_row")]
    only_breach = spec("higher", {"warnings_in_a_row"}, warning=None, n=2)
    assert fired(only_breach, [85, 85, 79, 79]) == [(3, "warnings_in_a_row")]


def test_a_run_that_started_in_the_history_counts() -> None:
    kpi = spec("higher", {"warnings_in_a_row"})
    series = points([95, 89, 88, 87])
    assert [f.at for f in evaluate(kpi, series, 3, None)] == [series[3].at]
    assert evaluate(kpi, series, 4, None) == []


# --- SPC ------------------------------------------------------------------------


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_beyond_3_sigma(direction: str) -> None:
    kpi = spc_spec(direction, "spc_beyond_3_sigma")
    assert fired(kpi, [100, 69, 100]) == [(1, "spc_beyond_3_sigma")]
    assert fired(kpi, [100, 70, 100]) == []  # exactly on the control limit
    assert fired(kpi, [100, 131, 100]) == []  # beyond, but for the better
    assert fired(kpi, [100, 69], limits=None) == []  # no limits, no SPC
    [finding] = evaluate(kpi, points([69], direction), 0, LIMITS)
    expected = {
        "higher": "69 is below the lower control limit (70, 3σ).",
        "lower": "131 is above the upper control limit (130, 3σ).",
    }
    assert finding.reason.message == expected[direction]


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_2_of_3_beyond_2_sigma(direction: str) -> None:
    kpi = spc_spec(direction, "spc_2_of_3_beyond_2_sigma")
    assert fired(kpi, [85, 79, 95, 78]) == [(3, "spc_2_of_3_beyond_2_sigma")]
    assert fired(kpi, [79, 78, 77]) == [
        (1, "spc_2_of_3_beyond_2_sigma"),
        (2, "spc_2_of_3_beyond_2_sigma"),
    ]
    series = points([85, 79, 95, 78], direction)
    [finding] = evaluate(kpi, series, 0, LIMITS)
    assert finding.points == (series[1], series[3])
    assert finding.at == series[3].at
    expected = {
        "higher": "2 of 3 points in a row more than 2σ below the centre line (under 80).",
        "lower": "2 of 3 points in a row more than 2σ above the centre line (over 120).",
    }
    assert finding.reason.message == expected[direction]


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_2_of_3_near_misses(direction: str) -> None:
    kpi = spc_spec(direction, "spc_2_of_3_beyond_2_sigma")
    assert fired(kpi, [100, 79, 121, 100, 100]) == []  # different sides
    assert fired(kpi, [79, 100, 100, 78]) == []  # 2 of 4, not of 3
    assert fired(kpi, [80, 79, 80]) == []  # the others exactly on the 2σ line
    assert fired(kpi, [79, 78, 100]) != []  # (the pattern itself does fire)
    assert fired(kpi, [121, 122, 123]) == []  # the good side


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_4_of_5_beyond_1_sigma(direction: str) -> None:
    kpi = spc_spec(direction, "spc_4_of_5_beyond_1_sigma")
    assert fired(kpi, [100, 89, 89, 100, 89, 89]) == [(5, "spc_4_of_5_beyond_1_sigma")]
    series = points([100, 89, 89, 100, 89, 88], direction)
    [finding] = evaluate(kpi, series, 0, LIMITS)
    assert finding.points == (series[1], series[2], series[4], series[5])
    expected = {
        "higher": "4 of 5 points in a row more than 1σ below the centre line (under 90).",
        "lower": "4 of 5 points in a row more than 1σ above the centre line (over 110).",
    }
    assert finding.reason.message == expected[direction]


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_4_of_5_near_misses(direction: str) -> None:
    kpi = spc_spec(direction, "spc_4_of_5_beyond_1_sigma")
    assert fired(kpi, [89, 89, 100, 100, 89, 100]) == []  # 3 of 5
    assert fired(kpi, [89, 90, 89, 89, 95]) == []  # one exactly on the 1σ line
    assert fired(kpi, [89, 111, 89, 111, 89, 111, 89]) == []  # sides alternate
    assert fired(kpi, [89, 89, 100, 95, 89, 89]) == []  # 4 of 6, not of 5
    assert fired(kpi, [111, 112, 113, 114, 115]) == []  # the good side


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_8_on_one_side(direction: str) -> None:
    kpi = spc_spec(direction, "spc_8_on_one_side")
    assert fired(kpi, [105] + [95] * 8) == [(8, "spc_8_on_one_side")]
    # the run goes on: the 9th point is again 8 in a row
    assert fired(kpi, [95] * 9) == [(7, "spc_8_on_one_side"), (8, "spc_8_on_one_side")]
    series = points([95] * 8, direction)
    [finding] = evaluate(kpi, series, 0, LIMITS)
    assert finding.points == tuple(series)
    assert finding.at == series[7].at


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_8_on_one_side_near_misses(direction: str) -> None:
    kpi = spc_spec(direction, "spc_8_on_one_side")
    assert fired(kpi, [95] * 7) == []  # 7 in a row
    assert fired(kpi, [95] * 7 + [100]) == []  # the 8th on the centre line
    assert fired(kpi, [95] * 4 + [100] + [95] * 4) == []  # broken by a point on the line
    assert fired(kpi, [95] * 7 + [105]) == []  # the 8th on the other side
    assert fired(kpi, [105] * 12) == []  # the good side


def test_the_reason_reads_as_a_sentence_and_translates() -> None:
    kpi = spc_spec("higher", "spc_8_on_one_side")
    limits = ControlLimits(centre=92.1, sigma=1.5)
    [finding] = evaluate(kpi, points([90.0] * 8), 0, limits)
    assert finding.reason.message == "8 points in a row below the centre line (92.1)."
    assert str(finding.reason) == finding.reason.message
    zh = {
        "%(count)d points in a row below the centre line (%(centre)s).": "连续 %(count)d 点低于中心线（%(centre)s）。"
    }
    text = finding.reason.translated(lambda s: zh.get(s, s), lambda s, p, n: p)
    assert text == "连续 8 点低于中心线（92.1）。"


def test_only_rules_named_in_the_spec_fire() -> None:
    values = [95] * 8 + [60, 61, 62, 63]  # 8 in a row, then 3σ, 2 of 3, 4 of 5, breach, warnings
    everything = {rule for _, rule in fired(spec("higher", ALL_RULES, n=2), values)}
    assert everything == ALL_RULES - {"missing_data"}
    for rule in everything:
        assert {r for _, r in fired(spec("higher", {rule}, n=2), values)} == {rule}
    assert fired(spec("higher", frozenset()), values) == []


def test_spc_signals_mark_both_sides_on_the_completing_point() -> None:
    values = [131, 100, 69, 100, *([105] * 8), 79, 78]
    marks = spc_signals(points(values), LIMITS, "higher")
    assert marks == {
        0: ["spc_beyond_3_sigma"],
        2: ["spc_beyond_3_sigma"],
        11: ["spc_8_on_one_side"],
        13: ["spc_2_of_3_beyond_2_sigma"],
    }
    assert spc_signals(points(values), LIMITS, "lower") == marks
    assert spc_signals(points(values), None, "higher") == {}
    # evaluate raises only the bad side's
    only_bad = fired(spec("higher", d.SPC_RULES), values)
    assert only_bad == [(2, "spc_beyond_3_sigma"), (13, "spc_2_of_3_beyond_2_sigma")]


def test_evaluate_needs_a_sorted_series() -> None:
    series = points([95, 95])
    with pytest.raises(ValueError, match="sorted"):
        evaluate(spec(), series[::-1], 0, LIMITS)


# --- missing data ---------------------------------------------------------------

NOW = datetime(2024, 3, 10, 12, tzinfo=UTC)


def test_missing_data_when_never_measured() -> None:
    finding = missing_data(spec(), None, NOW)
    assert finding is not None
    assert (finding.rule, finding.at, finding.points) == ("missing_data", NOW, ())
    assert finding.reason.message == "No measurement yet (one is expected every 24 h)."


def test_no_finding_when_measured_recently_or_exactly_on_time() -> None:
    kpi = spec()
    assert missing_data(kpi, NOW - timedelta(hours=2), NOW) is None
    assert missing_data(kpi, NOW - timedelta(hours=24), NOW) is None
    assert missing_data(kpi, NOW + timedelta(hours=1), NOW) is None  # a clock ahead


def test_missing_data_when_overdue() -> None:
    last = Point(NOW - timedelta(hours=25, minutes=30), 97.0)
    finding = missing_data(spec(), last, NOW)
    assert finding is not None
    assert (finding.rule, finding.at, finding.points) == ("missing_data", NOW, (last,))
    assert finding.reason.message == (
        "No measurement for 25 hours (one is expected every 24 h); "
        "the last was at 2024-03-09 10:30 UTC."
    )
    by_time = missing_data(spec(), last.at, NOW)
    assert by_time is not None
    assert by_time.points == ()
    assert by_time.reason == finding.reason
    assert missing_data(spec(), NOW - timedelta(hours=24, seconds=1), NOW) is not None


@pytest.mark.parametrize(
    ("lang", "region", "zone", "shown"),
    [
        ("zh_CN", "zh_CN", "Asia/Shanghai", "2024年3月9日 18:30"),
        ("en", "en_US", "America/New_York", "Mar 9, 2024, 5:30"),
        ("en", "en_GB", "Europe/London", "9 Mar 2024, 10:30"),
    ],
)
def test_the_last_measurement_time_reads_in_the_readers_locale_and_zone(
    lang: str, region: str, zone: str, shown: str
) -> None:
    """A Chinese reader in Shanghai sees 2024年3月9日 18:30, not an ISO date in UTC."""
    finding = missing_data(spec(), NOW - timedelta(hours=25, minutes=30), NOW)
    assert finding is not None
    stored = json.loads(json.dumps(dict(finding.reason.params)))  # as a problem keeps it
    reason = finding.reason

    text = texts.translate(
        reason.template or "", stored, lang, reason.plural, zone=ZoneInfo(zone), region=region
    )

    assert shown in text and "2024-03-09" not in text and "UTC" not in text
    if lang == "zh_CN":
        assert text.startswith("已有 25 小时没有测量数据")  # the Chinese sentence around it


def test_a_last_time_stored_as_text_before_still_reads() -> None:
    old = {"count": 25, "interval": 24, "last": "2024-03-09 10:30 UTC"}
    text = texts.translate(
        "No measurement for %(count)d hour (one is expected every %(interval)s h); "
        "the last was at %(last)s.",
        old,
        "en",
        "No measurement for %(count)d hours (one is expected every %(interval)s h); "
        "the last was at %(last)s.",
    )
    assert text.endswith("the last was at 2024-03-09 10:30 UTC.")


def test_missing_data_only_when_the_rule_is_on() -> None:
    kpi = spec(rules=ALL_RULES - {"missing_data"})
    assert missing_data(kpi, None, NOW) is None
    assert missing_data(kpi, NOW - timedelta(days=30), NOW) is None


# --- batch == one by one --------------------------------------------------------

CRAFTED = [
    # overlapping: 8 in a row, then beyond 3σ + 2 of 3 + 4 of 5 + breach + warnings
    [95] * 8 + [60, 61, 79, 85],
    # a long warning run crossing breaches, with a recovery in the middle
    [89, 85, 79, 88, 70, 95, 89, 89, 89, 89, 89, 89, 89],
    # signals on both sides, alternating
    [131, 69, 121, 79, 122, 78, 111, 89, 111, 89, 89, 89],
    # a slow drift down through every line
    [100 - i * 2.5 for i in range(20)],
]


@pytest.mark.parametrize("values", CRAFTED)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_crafted_series_batch_equals_one_by_one(values: list[float], direction: str) -> None:
    kpi = spec(direction, n=2)
    series = points(values, direction)
    batch = evaluate(kpi, series, 0, LIMITS)
    assert len({f.rule for f in batch}) >= 3  # the series do hold overlapping signals
    assert one_by_one(kpi, series, LIMITS) == batch
    index = {p.at: i for i, p in enumerate(series)}
    for k in range(len(series) + 1):  # any split into history and a batch of new points
        assert evaluate(kpi, series, k, LIMITS) == [f for f in batch if index[f.at] >= k]


ON_LINES = [
    69,
    70,
    71,
    79,
    80,
    81,
    89,
    90,
    91,
    95,
    100,
    105,
    109,
    110,
    111,
    119,
    120,
    121,
    130,
    131,
]
value_strategy = st.one_of(
    st.sampled_from(ON_LINES), st.floats(min_value=50, max_value=150, allow_nan=False)
)


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(value_strategy, min_size=1, max_size=40),
    direction=st.sampled_from(DIRECTIONS),
    n=st.integers(min_value=1, max_value=4),
    with_limits=st.booleans(),
    cuts=st.lists(st.integers(min_value=1, max_value=39), max_size=5),
)
def test_random_series_batch_equals_one_by_one_and_any_chunking(
    values: list[float], direction: str, n: int, with_limits: bool, cuts: list[int]
) -> None:
    kpi = spec(direction, n=n)
    limits = LIMITS if with_limits else None
    series = [Point(T0 + i * STEP, v) for i, v in enumerate(values)]
    batch = evaluate(kpi, series, 0, limits)
    assert one_by_one(kpi, series, limits) == batch

    # arriving in chunks (history, then a batch) finds the same
    bounds = sorted({0, len(series), *(c for c in cuts if c < len(series))})
    chunked: list[Finding] = []
    for lo, hi in pairwise(bounds):
        chunked += evaluate(kpi, series[:hi], lo, limits)
    assert chunked == batch

    index = {p.at: i for i, p in enumerate(series)}
    for f in batch:
        i = index[f.at]
        # the evidence ends with the completing point and comes from before it
        assert f.points[-1] == series[i]
        assert all(p in series[: i + 1] for p in f.points)
        if f.rule in d.SPC_RULES:
            # only the bad side raises problems, and the chart marks them too
            centre = LIMITS.centre
            assert all(
                p.value < centre if direction == "higher" else p.value > centre for p in f.points
            )
            assert f.rule in spc_signals(series, limits, direction)[i]


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.sampled_from(ON_LINES), min_size=1, max_size=30), n=st.integers(1, 4))
def test_mirrored_series_with_the_other_direction_fire_alike(values: list[float], n: int) -> None:
    higher = fired(spec("higher", n=n), values)
    lower = fired(spec("lower", n=n), values)  # `fired` mirrors the values for "lower"
    assert higher == lower
