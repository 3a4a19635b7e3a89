"""The server-drawn SVG charts: well-formed, accessible, and showing what the data says."""

import itertools
import math
import re
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from pdca.web import charts
from pdca.web.charts import (
    control_chart,
    nice_ticks,
    pareto,
    period_comparison,
    run_chart,
    sparkline,
)

NS = {"s": "http://www.w3.org/2000/svg"}
START = datetime(2024, 3, 1, tzinfo=UTC)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises if the markup is not well-formed XML


def find_all(root: ET.Element, path: str) -> list[ET.Element]:
    return root.findall(path, NS)


def classes(el: ET.Element) -> set[str]:
    return set(el.get("class", "").split())


def with_class(root: ET.Element, tag: str, css: str) -> list[ET.Element]:
    return [el for el in root.iter(f"{{{NS['s']}}}{tag}") if css in classes(el)]


def title(el: ET.Element) -> str:
    found = el.find("s:title", NS)
    return "" if found is None else (found.text or "")


def polyline_count(el: ET.Element) -> int:
    line = el.find(".//s:polyline", NS)
    return len(line.get("points").split()) if line is not None else 0


def daily(values, start=START):
    return [(start + timedelta(days=i), v) for i, v in enumerate(values)]


def sample_run(**kwargs):
    args = dict(target=95, warning=90, breach=88, unit="%", label="Service level", lang="en")
    args.update(kwargs)
    points = args.pop("points", daily([93.0, 94.5, 89.0, 87.0, 96.0, 92.3]))
    return run_chart(points, **args)


def all_charts() -> dict[str, str]:
    pts = daily([93.0, 94.5, 89.0, 87.0, 96.0, 92.3])
    return {
        "run": sample_run(),
        "control": control_chart(
            pts, centre=92, sigma=2, signals={3: ["Beyond 3σ"]}, unit="%", label="SPC", lang="en"
        ),
        "comparison": period_comparison(pts, pts, pts, unit="%", labels={}, lang="en"),
        "pareto": pareto([("a", 3), ("b", 1)], label="Sources", lang="en"),
        "sparkline": sparkline([1, 2, 3], label="Trend"),
        "empty run": run_chart(
            [], target=None, warning=None, breach=None, unit="", label="E", lang="en"
        ),
        "empty pareto": pareto([], label="P", lang="en"),
        "empty sparkline": sparkline([], label="S"),
        "empty comparison": period_comparison([], [], [], unit="", labels={}, lang="en"),
    }


# ---------------------------------------------------------------- every chart


@pytest.mark.parametrize("name", list(all_charts()))
def test_every_chart_is_well_formed_and_accessible(name):
    svg = all_charts()[name]
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-label")
    assert title(root) == root.get("aria-label")
    desc = root.find("s:desc", NS)
    assert desc is not None and desc.text
    assert root.get("aria-describedby") == desc.get("id")
    # A fixed viewBox and no fixed size: it scales to its container.
    assert re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox"))
    assert root.get("width") is None and root.get("height") is None


def test_a_label_with_markup_is_escaped_everywhere():
    evil = '<script>alert("x")</script> & co'
    outputs = [
        sample_run(label=evil, unit="<b>"),
        control_chart(
            daily([1, 2]),
            centre=1.5,
            sigma=0.5,
            signals={0: [evil]},
            unit="",
            label=evil,
            lang="en",
        ),
        period_comparison(daily([1]), [], [], unit="", labels={"current": evil}, lang="en"),
        pareto([(evil, 3)], label=evil, lang="en"),
        sparkline([1, 2], label=evil),
        run_chart(
            [], target=None, warning=None, breach=None, unit="", label=evil, lang="en", empty=evil
        ),
    ]
    for svg in outputs:
        assert "<script" not in svg and "<b>" not in svg
        root = parse(svg)
        assert not list(root.iter(f"{{{NS['s']}}}script"))
        assert evil in root.get("aria-label")  # read back intact by an XML parser
    assert parse(outputs[0]).get("aria-label") == evil
    assert title(parse(outputs[3])) == evil


# ---------------------------------------------------------------- run chart


def test_run_chart_plots_every_point_and_the_three_limit_lines():
    root = parse(sample_run())
    series = with_class(root, "g", "series")[0]
    assert series.get("data-count") == "6"
    assert polyline_count(series) == 6
    assert len(with_class(root, "circle", "point")) == 6
    lines = {kind: with_class(root, "g", kind) for kind in ("target", "warning", "breach")}
    texts = {kind: "".join(g[0].itertext()) for kind, g in lines.items()}
    assert texts == {"target": "Target 95 %", "warning": "Warning 90 %", "breach": "Breach 88 %"}
    for groups in lines.values():
        assert len(groups) == 1 and groups[0].find("s:line", NS) is not None
    desc = root.find("s:desc", NS).text
    assert "latest 92.3 %" in desc and "Target 95 %" in desc and "6 points" in desc


def test_run_chart_leaves_out_the_lines_it_was_not_given():
    root = parse(sample_run(warning=None, breach=float("nan")))
    assert with_class(root, "g", "target")
    assert not with_class(root, "g", "warning") and not with_class(root, "g", "breach")


def line_y(root, kind):
    return float(with_class(root, "g", kind)[0].find("s:line", NS).get("y1"))


def test_the_y_range_covers_the_data_and_a_distant_target():
    root = parse(
        sample_run(points=daily([50.0, 52.0, 51.0]), target=200, warning=None, breach=None)
    )
    y_target = line_y(root, "target")
    ys = [float(c.get("cy")) for c in with_class(root, "circle", "point")]
    top, bottom = charts.PAD_T, charts.H - charts.PAD_B
    assert top <= y_target <= bottom
    assert all(y_target < y <= bottom for y in ys)  # the target is above every point
    ticks = [
        float(t.text.replace(",", ""))
        for t in with_class(root, "text", "tick")[:20]
        if t.text.replace(",", "").replace(".", "").isdigit()
    ]
    assert max(ticks) >= 200 and min(ticks) <= 50


def dot_colours(root):
    """Each dot's colour classes, in time order (coloured dots are drawn last, on top)."""
    dots = sorted(with_class(root, "circle", "point"), key=lambda c: float(c.get("cx")))
    return [sorted(classes(c) - {"point"}) for c in dots]


def test_points_past_the_limits_are_coloured_by_direction():
    values = [80.0, 89.0, 92.0, 99.0]  # breach 88, warning 90
    lower_is_bad = parse(sample_run(points=daily(values), bad_above=False))
    assert dot_colours(lower_is_bad) == [["bad"], ["warn"], [], []]
    higher_is_bad = parse(sample_run(points=daily(values), warning=90, breach=95, bad_above=True))
    assert dot_colours(higher_is_bad) == [[], [], ["warn"], ["bad"]]
    desc = higher_is_bad.find("s:desc", NS).text
    assert "1 past the breach limit" in desc and "1 past the warning limit" in desc


def test_without_a_direction_only_the_marked_points_are_coloured_and_ringed():
    values = [80.0, 89.0, 92.0, 99.0]
    root = parse(sample_run(points=daily(values), marked={2}))
    coloured = [c for c in with_class(root, "circle", "point") if classes(c) - {"point"}]
    assert len(coloured) == 1 and classes(coloured[0]) == {"point", "bad"}
    marked = with_class(root, "g", "marked")
    assert len(marked) == 1 and marked[0].get("data-index") == "2"
    assert with_class(marked[0], "circle", "ring")
    assert title(coloured[0]) == "Mar 3: 92 %"


def test_nan_inf_and_none_are_skipped_and_indices_still_refer_to_the_input():
    points = daily([1.0, float("nan"), float("inf"), None, 3.0, float("-inf"), 2.0])
    root = parse(sample_run(points=points, target=None, warning=None, breach=None, marked={4}))
    series = with_class(root, "g", "series")[0]
    assert series.get("data-count") == "3"
    assert polyline_count(series) == 3
    assert with_class(root, "g", "marked")[0].get("data-index") == "4"
    assert "nan" not in ET.tostring(root, encoding="unicode").lower()


def test_empty_and_all_nan_input_say_there_is_no_data_in_the_callers_words():
    for points in ([], daily([float("nan"), float("inf")])):
        svg = sample_run(points=points, empty="Noch keine Daten")
        root = parse(svg)
        assert "chart-empty" in classes(root)
        assert "Noch keine Daten" in "".join(root.itertext())
        assert root.get("role") == "img"
    assert "No data" in "".join(parse(sample_run(points=[])).itertext())


def test_a_single_point_is_drawn_under_its_date():
    root = parse(sample_run(points=daily([92.3]), warning=None, breach=None))
    points = with_class(root, "circle", "point")
    assert len(points) == 1
    x = float(points[0].get("cx"))
    assert charts.PAD_L < x < charts.W - charts.PAD_R
    ticks = [t.text for t in root.findall(".//s:g[@class='axis']/s:text", NS)]
    assert ticks == ["Mar 1"]


def test_dates_are_short_and_localised():
    en = parse(sample_run(points=daily([1.0] * 30)))
    zh = parse(sample_run(points=daily([1.0] * 30), lang="zh_CN"))
    en_ticks = [t.text for t in en.findall(".//s:g[@class='axis']/s:text", NS)]
    zh_ticks = [t.text for t in zh.findall(".//s:g[@class='axis']/s:text", NS)]
    assert 3 <= len(en_ticks) <= 8 and all(re.fullmatch(r"Mar \d+", t) for t in en_ticks)
    assert len(zh_ticks) == len(en_ticks) and all(re.fullmatch(r"3月\d+日", t) for t in zh_ticks)
    assert "目标 95 %" in "".join(zh.itertext())


def test_a_year_of_daily_points_gets_month_ticks():
    root = parse(sample_run(points=daily([1.0] * 366, start=datetime(2024, 1, 1, tzinfo=UTC))))
    ticks = [t.text for t in root.findall(".//s:g[@class='axis']/s:text", NS)]
    assert ticks[0] == "Jan 2024" and 3 <= len(ticks) <= 8
    assert all(re.fullmatch(r"[A-Z][a-z]{2}( \d{4})?", t) for t in ticks)


def test_thousands_of_points_are_thinned_but_keep_their_extremes():
    values = [50.0 + math.sin(i / 50) for i in range(5000)]
    values[3210] = 500.0  # one spike must survive the thinning
    root = parse(
        sample_run(
            points=[(START + timedelta(hours=i), v) for i, v in enumerate(values)],
            target=None,
            warning=None,
            breach=None,
        )
    )
    series = with_class(root, "g", "series")[0]
    assert series.get("data-count") == "5000"
    coords = series.find("s:polyline", NS).get("points").split()
    assert len(coords) < 5000
    ys = sorted(float(c.split(",")[1]) for c in coords)
    mid = (charts.PAD_T + charts.H - charts.PAD_B) / 2
    assert ys[0] < mid < ys[1]  # the spike is still drawn, high above the rest
    assert not with_class(root, "circle", "point")  # no dot per point in a long series


def test_5000_points_render_quickly():
    points = [
        (START + timedelta(hours=i), 50 + 10 * math.sin(i / 200) + (i % 7)) for i in range(5000)
    ]
    kwargs = dict(
        target=55, warning=60, breach=62, unit="ms", label="Latency", lang="en", bad_above=True
    )
    run_chart(points[:10], **kwargs)  # warm the locale data
    timings = {}
    started = time.perf_counter()
    svg = run_chart(points, **kwargs)
    timings["run_chart"] = time.perf_counter() - started
    started = time.perf_counter()
    control_chart(points, centre=55, sigma=4, signals={}, unit="ms", label="SPC", lang="en")
    timings["control_chart"] = time.perf_counter() - started
    started = time.perf_counter()
    sparkline([v for _, v in points], label="trend")
    timings["sparkline"] = time.perf_counter() - started
    print(
        " ".join(f"{name}: {seconds * 1000:.1f} ms" for name, seconds in timings.items()),
        f"({len(svg)} bytes)",
    )
    parse(svg)
    assert all(seconds < 0.5 for seconds in timings.values()), timings
    # Coloured points of a long series are one path of dots, counted.
    root = parse(svg)
    counted = sum(int(p.get("data-count")) for p in with_class(root, "path", "dots"))
    assert counted > 0


# ---------------------------------------------------------------- control chart


def test_control_chart_draws_the_centre_and_sigma_lines_and_marks_the_signals():
    values = [50.0, 51.0, 49.0, 50.5, 58.0, 50.0, 52.0, 52.5]
    signals = {4: ["Beyond 3σ"], 6: ["2 of 3 beyond 2σ", "4 of 5 beyond 1σ"], 2: []}
    root = parse(
        control_chart(
            daily(values),
            centre=50,
            sigma=2,
            signals=signals,
            unit="min",
            label="Response",
            lang="en",
        )
    )
    labels = {
        " ".join(sorted(classes(g) - {"ref"})): "".join(g.itertext())
        for g in with_class(root, "g", "ref")
    }
    assert labels["centre"] == "CL 50"
    assert labels["sigma3 ucl"] == "UCL 56"
    assert labels["lcl sigma3"] == "LCL 44"
    assert (
        len([k for k in labels if k == "sigma1"]) == 1 and len(with_class(root, "g", "sigma1")) == 2
    )
    assert len(with_class(root, "g", "sigma2")) == 2
    assert line_y(root, "ucl") < line_y(root, "centre") < line_y(root, "lcl")

    flagged = with_class(root, "g", "signal")
    assert [g.get("data-index") for g in flagged] == ["4", "6"]  # an empty rule list marks nothing
    assert "Beyond 3σ" in title(flagged[0]) and title(flagged[0]).startswith("Mar 5: 58 min")
    assert "2 of 3 beyond 2σ" in title(flagged[1]) and "4 of 5 beyond 1σ" in title(flagged[1])
    assert all(with_class(g, "circle", "ring") for g in flagged)
    # Every point is plotted: the flagged ones as rings, the others as plain dots.
    assert len(with_class(root, "circle", "point")) == len(values)
    assert "2 break a rule" in root.find("s:desc", NS).text


def test_control_chart_range_covers_the_control_limits():
    root = parse(
        control_chart(
            daily([50.0, 50.1]), centre=50, sigma=5, signals={}, unit="", label="x", lang="en"
        )
    )
    top, bottom = charts.PAD_T, charts.H - charts.PAD_B
    assert top <= line_y(root, "ucl") < line_y(root, "lcl") <= bottom


def test_control_chart_without_a_usable_sigma_draws_only_the_centre():
    root = parse(
        control_chart(
            daily([1.0, 2.0]), centre=1.5, sigma=0, signals={}, unit="", label="x", lang="en"
        )
    )
    assert with_class(root, "g", "centre") and not with_class(root, "g", "ucl")
    single = parse(
        control_chart(
            daily([1.0]),
            centre=1,
            sigma=0.1,
            signals={0: ["Beyond 3σ"]},
            unit="",
            label="x",
            lang="zh_CN",
        )
    )
    assert len(with_class(single, "g", "signal")) == 1


# ---------------------------------------------------------------- period comparison


def test_period_comparison_aligns_the_three_periods_by_day_offset():
    current = daily([90.0, 91.0, 92.0], start=datetime(2024, 3, 1, tzinfo=UTC))
    previous = daily([88.0, 87.0, 86.0, 85.0], start=datetime(2024, 2, 1, tzinfo=UTC))
    year_ago = daily([80.0, 81.0], start=datetime(2023, 3, 1, tzinfo=UTC))
    labels = {"current": "March 2024", "previous": "February 2024", "year_ago": "March 2023"}
    root = parse(period_comparison(current, previous, year_ago, unit="%", labels=labels, lang="en"))
    groups = {key: with_class(root, "g", f"s-{key}") for key in ("current", "previous", "year-ago")}
    series = {key: next(g for g in gs if "series" in classes(g)) for key, gs in groups.items()}
    assert {k: g.get("data-count") for k, g in series.items()} == {
        "current": "3",
        "previous": "4",
        "year-ago": "2",
    }
    first_x = {
        k: float(g.find("s:polyline", NS).get("points").split()[0].split(",")[0])
        for k, g in series.items()
    }
    assert first_x["current"] == first_x["previous"] == first_x["year-ago"]
    legend = "".join(with_class(root, "g", "legend")[0].itertext())
    assert "March 2024" in legend and "February 2024" in legend and "March 2023" in legend
    desc = root.find("s:desc", NS).text
    assert "March 2024: 3 points" in desc and "mean 91 %" in desc


def test_period_comparison_with_a_missing_period_says_so():
    root = parse(period_comparison(daily([1.0, 2.0]), [], [], unit="", labels={}, lang="zh_CN"))
    absent = with_class(root, "g", "absent")
    assert len(absent) == 2
    assert "无数据" in "".join(absent[0].itertext())
    assert "本期" in "".join(root.itertext())


# ---------------------------------------------------------------- pareto


def test_pareto_sorts_bars_descending_and_the_cumulative_reaches_100_percent():
    data = [
        ("Audit", 12),
        ("Complaint", 42),
        ("KPI", 25),
        ("Inspection", 9),
        ("Complaint", 3),
        ("Empty", 0),
    ]
    root = parse(pareto(data, label="Problems by source", lang="en"))
    bars = with_class(root, "g", "bar")
    assert [(b.get("data-label"), int(b.get("data-count"))) for b in bars] == [
        ("Complaint", 45),
        ("KPI", 25),
        ("Audit", 12),
        ("Inspection", 9),
    ]
    heights = [float(b.find("s:rect", NS).get("height")) for b in bars]
    assert heights == sorted(heights, reverse=True)
    cumulative = [
        float(c.get("data-cumulative"))
        for c in with_class(root, "g", "cumulative")[0].findall("s:circle", NS)
    ]
    assert cumulative == sorted(cumulative) and cumulative[-1] == 100.0
    assert polyline_count(with_class(root, "g", "cumulative")[0]) == 4
    assert "cumulative 100 %" in title(bars[-1])
    mark = with_class(root, "g", "mark80")
    assert len(mark) == 1 and "".join(mark[0].itertext()) == "80 %"
    # The bars that make the first 80 % are the vital few: 45 (49 %), 25 (76 %), 12 (90 %).
    assert [("vital" in classes(b)) for b in bars] == [True, True, True, False]
    assert "3 of 4 categories make 80 %" in root.find("s:desc", NS).text


def test_pareto_gathers_a_long_tail_as_other():
    data = [(f"Dept {i:02d}", 100 - i) for i in range(30)]
    root = parse(pareto(data, label="By department", lang="zh_CN", max_bars=10))
    bars = with_class(root, "g", "bar")
    assert len(bars) == 10 and bars[-1].get("data-label") == "其他"
    assert sum(int(b.get("data-count")) for b in bars) == sum(c for _, c in data)
    counts = [int(b.get("data-count")) for b in bars[:-1]]
    assert counts == sorted(counts, reverse=True)


# ---------------------------------------------------------------- sparkline


def test_sparkline_draws_the_values_and_skips_nan():
    root = parse(sparkline([1.0, float("nan"), 3.0, 2.0, float("inf")], label="Trend"))
    assert root.get("viewBox") == f"0 0 {charts.SPARK_W} {charts.SPARK_H}"
    assert polyline_count(root) == 3
    assert with_class(root, "circle", "last")
    assert "latest 2" in root.find("s:desc", NS).text
    single = parse(sparkline([5.0], label="One"))
    assert with_class(single, "circle", "last")
    assert "chart-empty" in classes(parse(sparkline([float("nan")], label="None", empty="—")))


# ---------------------------------------------------------------- ticks


@pytest.mark.parametrize(
    ("lo", "hi"),
    [
        (0, 42),
        (0.013, 0.0171),
        (-3.2, 1234),
        (5, 5),
        (92.3, 95),
        (-1e6, -2e5),
        (0, 1),
        (0.1, 0.3),
        (17, 17.0001),
    ],
)
def test_nice_ticks_are_round_numbers_covering_the_range(lo, hi):
    ticks = nice_ticks(lo, hi)
    assert ticks[0] <= lo and ticks[-1] >= hi
    assert 2 <= len(ticks) <= 11
    steps = {round(b - a, 12) for a, b in itertools.pairwise(ticks)}
    assert len({f"{s:.10g}" for s in steps}) == 1  # evenly spaced
    step = steps.pop()
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 9) in (1, 2, 5)
    for t in ticks:
        assert round(t / step, 9).is_integer()  # multiples of the step


def test_nice_ticks_examples():
    assert nice_ticks(0, 42, 6) == [0, 10, 20, 30, 40, 50]
    assert nice_ticks(92.3, 95) == [92, 93, 94, 95]
    assert nice_ticks(0.1, 0.3) == [0.1, 0.15, 0.2, 0.25, 0.3]
    assert nice_ticks(5, 5) == [4.5, 5, 5.5]
    with pytest.raises(ValueError):
        nice_ticks(0, float("nan"))


def test_the_moving_range_axis_starts_at_zero_a_range_is_never_negative() -> None:
    # Ranges of 0 and 4 with MR̄ 2: padding below 0 used to draw a tick at -1 (or -5).
    values = [100.0, 100.0, 104.0, 104.0, 100.0, 100.0, 104.0]
    points = [(START + timedelta(days=i), v) for i, v in enumerate(values)]

    svg = charts.moving_range_chart(points, mr_bar=2.0, unit="%", label="MR", lang="en")

    ticks = [
        t.text for t in with_class(parse(svg), "text", "tick") if t.get("text-anchor") == "end"
    ]
    numbers = [float(t.replace("−", "-")) for t in ticks if t and t[0] in "-−0123456789"]
    assert numbers[0] == 0
    assert min(numbers) == 0
