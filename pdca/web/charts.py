"""KPI charts drawn as SVG on the server: pure functions from numbers to markup.

No chart library and nothing fetched from a CDN. Every chart has a fixed viewBox
(so it scales to its container), role="img", an aria-label, a <title> and a <desc>
that says in words what the picture shows. Colours and type live in pdca.css
(the "Charts" section); the markup only carries classes and geometry.

Robust by construction: NaN, infinities and None values are skipped, an empty
series gives a small "no data" picture, a single point is drawn, and long
series are thinned per pixel column (first, lowest, highest, last) so
thousands of points cost one short polyline.
"""

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache, wraps
from hashlib import sha1
from html import escape
from itertools import pairwise
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar

from babel import Locale
from babel.dates import format_date, format_time

from pdca.i18n import babel_locale

# Geometry of the time-series charts (user units of the viewBox).
W, H = 720, 280
PAD_L, PAD_R, PAD_T, PAD_B = 56, 104, 28, 30
DOT_LIMIT = 120  # draw a dot per point up to this many points; beyond, only the line
D4 = 3.267  # the moving-range chart's limit factor (n = 2), as in pdca.engine.detection
LABEL_GAP = 12  # minimum vertical distance between two labels at the right edge
# Past this, tick steps and scales lose their digits (ingest refuses such values too).
MAX_DRAWN = 1e15
F = TypeVar("F", bound=Callable[..., str])

_WORDS: dict[str, tuple[str, str]] = {
    "target": ("Target", "目标"),
    "warning": ("Warning", "预警"),
    "breach": ("Breach", "超限"),
    "latest": ("latest", "最新"),
    "min": ("min", "最小"),
    "max": ("max", "最大"),
    "mean": ("mean", "均值"),
    "points": ("{n} points", "{n} 个点"),
    "one_point": ("1 point", "1 个点"),
    "past_breach": ("{n} past the breach limit", "{n} 个点超过超限值"),
    "past_warning": ("{n} past the warning limit", "{n} 个点超过预警值"),
    "marked": ("{n} marked", "{n} 个点已标记"),
    "signals": ("{n} break a rule", "{n} 个点触发判异规则"),
    "current": ("This period", "本期"),
    "previous": ("Previous period", "上期"),
    "year_ago": ("Same period a year before", "去年同期"),
    "total": ("total", "合计"),
    "cumulative": ("cumulative", "累计"),
    "vital": ("{k} of {n} categories make 80 %", "{n} 类中前 {k} 类占 80 %"),
    "other": ("Other", "其他"),
    "day": ("Day {n}", "第 {n} 天"),
    "no_data": ("no data", "无数据"),
    "excluded": ("{n} excluded from the baseline", "{n} 个点已排除出基线"),
    "steps": ("limits recalculated {n}×", "控制限重算 {n} 次"),
    "ranges_out": ("{n} ranges above the limit", "{n} 个移动极差超过上限"),
    "too_large": (
        "The values are too far apart to draw (beyond ±1e15)",
        "数值相差过大（超出 ±1e15），无法绘制",
    ),
}


def _lang(lang: str) -> str:
    return "zh_CN" if (lang or "").replace("-", "_").lower().startswith("zh") else "en"


def _word(key: str, lang: str, **kwargs: object) -> str:
    en, zh = _WORDS[key]
    text = zh if _lang(lang) == "zh_CN" else en
    return text.format(**kwargs) if kwargs else text


def _sep(lang: str) -> str:
    return "；" if _lang(lang) == "zh_CN" else "; "


def _comma(lang: str) -> str:
    return "，" if _lang(lang) == "zh_CN" else ", "


def _count(n: int, lang: str) -> str:
    return _word("one_point", lang) if n == 1 else _word("points", lang, n=n)


# ---------------------------------------------------------------- numbers and ticks


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 × 10^k) covering [lo, hi], about `count` of them.

    The first tick is ≤ lo and the last ≥ hi, so the ticks can serve as the axis range.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("nice_ticks needs finite bounds")
    if lo > hi:
        lo, hi = hi, lo
    if lo == hi:
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    step = _nice_step((hi - lo) / max(count - 1, 1))
    decimals = _decimals(step)
    start = math.floor(lo / step + 1e-9)
    stop = math.ceil(hi / step - 1e-9)
    return [round(k * step, decimals) + 0.0 for k in range(start, stop + 1)]


def _nice_step(raw: float) -> float:
    exponent = math.floor(math.log10(raw))
    fraction = raw / 10**exponent
    nice = 1 if fraction <= 1 else 2 if fraction <= 2 else 5 if fraction <= 5 else 10
    return nice * 10.0**exponent


def _decimals(step: float) -> int:
    """Digits after the point that a tick step needs (0.25 → 2, 5 → 0)."""
    for d in range(0, 10):
        if abs(round(step, d) - step) <= abs(step) * 1e-9:
            return d
    return 10


@lru_cache(maxsize=8)
def _symbols(lang: str) -> tuple[str, str]:
    symbols = _locale(lang).number_symbols
    latn = symbols.get("latn", symbols) if isinstance(symbols, Mapping) else symbols
    return latn.get("group", ","), latn.get("decimal", ".")


def _num(value: float, lang: str, decimals: int | None = None) -> str:
    """A number for people: three significant digits unless told, grouped thousands."""
    if decimals is None:
        size = abs(value)
        decimals = 0 if size == 0 else max(0, min(4, 2 - math.floor(math.log10(size))))
        text = f"{value:,.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    else:
        text = f"{value:,.{decimals}f}"
    if text in ("-0", "-0.0"):
        text = text[1:]
    group, point = _symbols(lang)
    if (group, point) != (",", "."):
        text = text.replace(",", "\0").replace(".", point).replace("\0", group)
    return text.replace("-", "−")


def _with_unit(text: str, unit: str) -> str:
    return f"{text} {unit}" if unit else text


# ---------------------------------------------------------------- dates


@lru_cache(maxsize=8)
def _locale(lang: str) -> Locale:
    return babel_locale(_lang(lang))


@lru_cache(maxsize=64)
def _pattern(lang: str, skeleton: str) -> str:
    skeletons = _locale(lang).datetime_skeletons
    pattern = skeletons.get(skeleton)
    return str(getattr(pattern, "pattern", pattern)) if pattern else skeleton


@lru_cache(maxsize=4096)
def _day(d: date, lang: str, skeleton: str = "MMMd") -> str:
    """A short date: "Mar 5" in English, "3月5日" in Chinese (Babel's skeleton for the locale)."""
    return format_date(d, _pattern(lang, skeleton), locale=_locale(lang))


def _to_datetime(t: datetime | date) -> datetime:
    if not isinstance(t, datetime):
        t = datetime(t.year, t.month, t.day)
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _when(t: datetime | date, lang: str) -> str:
    """The moment of one point, for its tooltip: the date, and the time when it has one."""
    if isinstance(t, datetime) and (t.hour, t.minute) != (0, 0):
        return f"{_day(t.date(), lang)} {format_time(t.time(), _pattern(lang, 'Hm'), locale=_locale(lang))}"
    return _day(t if not isinstance(t, datetime) else t.date(), lang)


_STEPS = [
    ("h", 1),
    ("h", 2),
    ("h", 3),
    ("h", 6),
    ("h", 12),
    ("d", 1),
    ("d", 2),
    ("d", 7),
    ("d", 14),
    ("m", 1),
    ("m", 2),
    ("m", 3),
    ("m", 6),
    ("m", 12),
    ("m", 24),
    ("m", 60),
    ("m", 120),
]
_UNIT_SECONDS = {"h": 3600.0, "d": 86400.0, "m": 30.44 * 86400.0}


def time_ticks(
    t0: float, t1: float, tz: tzinfo, lang: str, max_ticks: int = 7
) -> list[tuple[float, str]]:
    """Calendar ticks (timestamp, label) within [t0, t1]: whole hours, days, weeks or months."""
    span = max(t1 - t0, 1.0)
    unit, n = next(
        ((u, k) for u, k in _STEPS if span / (_UNIT_SECONDS[u] * k) <= max_ticks - 1),
        _STEPS[-1],
    )
    start = datetime.fromtimestamp(t0, tz)
    ticks: list[tuple[float, str]] = []
    if unit == "h":
        cur = start.replace(minute=0, second=0, microsecond=0)
        cur = cur.replace(hour=cur.hour - cur.hour % n)
        step = timedelta(hours=n)
        while (ts := cur.timestamp()) <= t1:
            if ts >= t0:
                text = (
                    _day(cur.date(), lang)
                    if cur.hour == 0
                    else format_time(cur.time(), _pattern(lang, "Hm"), locale=_locale(lang))
                )
                ticks.append((ts, text))
            cur += step
    elif unit == "d":
        cur = start.replace(hour=0, minute=0, second=0, microsecond=0)
        if n >= 7:
            cur -= timedelta(days=cur.weekday())  # weeks start on Monday
        while (ts := cur.timestamp()) <= t1:
            if ts >= t0:
                ticks.append((ts, _day(cur.date(), lang)))
            cur += timedelta(days=n)
    else:
        year, month = start.year, start.month
        if n < 12:
            month -= (month - 1) % n
        else:
            month, year = 1, year - year % (n // 12)
        first = True
        while True:
            cur = start.replace(
                year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0
            )
            ts = cur.timestamp()
            if ts > t1:
                break
            if ts >= t0:
                if n >= 12:
                    text = _day(cur.date(), lang, "y")
                elif first or month == 1:
                    text = _day(cur.date(), lang, "yMMM")
                else:
                    text = _day(cur.date(), lang, "MMM")
                ticks.append((ts, text))
                first = False
            month += n
            year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return ticks


# ---------------------------------------------------------------- data


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class _Point(NamedTuple):
    ts: float  # seconds since the epoch: the x position
    v: float
    index: int  # position in the caller's sequence (what `marked` and `signals` refer to)
    t: datetime


def _clean(points: Sequence[tuple[datetime, float]]) -> list[_Point]:
    """Finite points in time order, each keeping its index in the caller's sequence."""
    out = []
    append, isfinite, make = out.append, math.isfinite, _Point._make
    for i, item in enumerate(points):
        try:
            t, raw = item
            v = float(raw)
        except (TypeError, ValueError):
            continue
        if not isfinite(v):
            continue
        if type(t) is not datetime or t.tzinfo is None:
            if not isinstance(t, date):
                continue
            t = _to_datetime(t)
        append(make(((t - _EPOCH).total_seconds(), v, i, t)))
    out.sort(key=itemgetter(0))
    return out


def _finite(value: float | None) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


class _Scale:
    """Linear map from a domain to a range of user units."""

    def __init__(self, d0: float, d1: float, r0: float, r1: float) -> None:
        self.d0, self.r0 = d0, r0
        self.k = (r1 - r0) / (d1 - d0) if d1 != d0 else 0.0
        self.mid = (r0 + r1) / 2 if d1 == d0 else None

    def __call__(self, value: float) -> float:
        if self.mid is not None:
            return self.mid
        return self.r0 + (value - self.d0) * self.k

    def linear(self) -> tuple[float, float]:
        """(a, k) such that the scale is a + k · value: for mapping many values quickly."""
        if self.mid is not None:
            return self.mid, 0.0
        return self.r0 - self.d0 * self.k, self.k


class Undrawable(ValueError):
    """Values a chart cannot place: their span overflows a float (±1e308 side by side)."""


def _drawable(css: str, width: int = W, height: int = 80) -> Callable[[F], F]:
    """A chart whose values cannot be placed answers with a picture that says so."""

    def wrap(draw: F) -> F:
        @wraps(draw)
        def chart(*args: Any, **kwargs: Any) -> str:
            try:
                return draw(*args, **kwargs)
            except Undrawable:
                lang = str(kwargs.get("lang", "en"))
                return _empty_svg(
                    css, str(kwargs.get("label", "")), _word("too_large", lang), width, height
                )

        return chart  # type: ignore[return-value]

    return wrap


def _y_axis(
    values: list[float], extra: list[float], floor: float | None = None
) -> tuple[list[float], _Scale]:
    """Round ticks covering the data and the reference lines, and the scale they define.

    `floor`: no tick below it (a range is never negative: its axis starts at 0)."""
    every = values + [float(e) for e in extra if _finite(e)]
    lo, hi = min(every), max(every)
    if not math.isfinite(hi - lo) or max(abs(lo), abs(hi)) > MAX_DRAWN:
        raise Undrawable(f"values from {lo} to {hi}")
    pad = (hi - lo) * 0.06 if hi > lo else (abs(lo) * 0.1 or 1.0)
    bottom = lo - pad if floor is None else max(floor, lo - pad)
    ticks = nice_ticks(bottom, hi + pad, 5)
    return ticks, _Scale(ticks[0], ticks[-1], H - PAD_B, PAD_T)


def _decimate(xy: list[tuple[float, float]], columns: float) -> list[tuple[float, float]]:
    """Keep the first, lowest, highest and last point of every pixel column: what a
    polyline of all the points would look like, in at most four points a column."""
    if len(xy) <= 2 * columns:
        return xy
    out: list[tuple[float, float]] = []
    bucket: list[tuple[float, float]] = []
    column = None
    for p in xy:
        c = int(p[0])
        if c != column and bucket:
            out.extend(_extremes(bucket))
            bucket = []
        column = c
        bucket.append(p)
    out.extend(_extremes(bucket))
    return out


def _extremes(bucket: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(bucket) <= 4:
        return bucket
    lo = min(range(len(bucket)), key=lambda i: bucket[i][1])
    hi = max(range(len(bucket)), key=lambda i: bucket[i][1])
    keep = sorted({0, lo, hi, len(bucket) - 1})
    return [bucket[i] for i in keep]


def _polyline(xy: list[tuple[float, float]], css: str = "line") -> str:
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    return f'<polyline class="{css}" fill="none" points="{coords}"/>'


# ---------------------------------------------------------------- shared markup


def _svg(css: str, label: str, desc: str, body: str, width: int = W, height: int = H) -> str:
    uid = sha1(f"{css}|{label}|{desc}".encode()).hexdigest()[:10]
    label_e = escape(label)
    return (
        f'<svg class="chart {css}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{label_e}" aria-describedby="chart-{uid}" '
        'xmlns="http://www.w3.org/2000/svg" font-size="11" '
        'font-family="system-ui, sans-serif">'
        f'<title>{label_e}</title><desc id="chart-{uid}">{escape(desc)}</desc>{body}</svg>'
    )


def _empty_svg(css: str, label: str, empty: str, width: int = W, height: int = 80) -> str:
    body = (
        f'<rect class="frame" x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" '
        f'rx="6" fill="none"/><text class="empty-text" x="{width / 2}" y="{height / 2 + 4}" '
        f'text-anchor="middle">{escape(empty)}</text>'
    )
    return _svg(f"{css} chart-empty", label, f"{label}: {empty}", body, width, height)


def _grid(ticks: list[float], y: _Scale, unit: str, lang: str, x0: float, x1: float) -> str:
    decimals = _decimals(ticks[1] - ticks[0]) if len(ticks) > 1 else 0
    parts = ['<g class="grid">']
    for v in ticks:
        py = y(v)
        parts.append(
            f'<line x1="{x0}" y1="{py:.1f}" x2="{x1}" y2="{py:.1f}"/>'
            f'<text class="tick" x="{x0 - 6}" y="{py + 4:.1f}" text-anchor="end">'
            f"{escape(_num(v, lang, decimals))}</text>"
        )
    parts.append("</g>")
    if unit:
        parts.append(
            f'<text class="unit" x="{x0 - 6}" y="{PAD_T - 12}" text-anchor="end">{escape(unit)}</text>'
        )
    return "".join(parts)


def _x_axis(ticks: list[tuple[float, str]], x: _Scale, x0: float, x1: float) -> str:
    base = H - PAD_B
    parts = [f'<g class="axis"><line x1="{x0}" y1="{base}" x2="{x1}" y2="{base}"/>']
    for value, text in ticks:
        px = x(value)
        anchor = "middle"
        if px - x0 < 20:
            anchor = "start"
        elif x1 - px < 20:
            anchor = "end"
        parts.append(
            f'<line x1="{px:.1f}" y1="{base}" x2="{px:.1f}" y2="{base + 4}"/>'
            f'<text class="tick" x="{px:.1f}" y="{base + 16}" text-anchor="{anchor}">'
            f"{escape(text)}</text>"
        )
    parts.append("</g>")
    return "".join(parts)


def _spread(wanted: list[float], lo: float, hi: float, gap: float = LABEL_GAP) -> list[float]:
    """Label positions near the wanted ones (sorted ascending), at least `gap` apart, within [lo, hi]."""
    placed: list[float] = []
    for w in wanted:
        placed.append(max(w, placed[-1] + gap) if placed else max(w, lo))
    for i in range(len(placed) - 1, -1, -1):
        limit = hi if i == len(placed) - 1 else placed[i + 1] - gap
        placed[i] = min(placed[i], limit)
    return placed


def _hlines(lines: list[tuple[str, float, str]], y: _Scale, x0: float, x1: float) -> str:
    """Horizontal reference lines (css, value, label), labelled in the right margin."""
    if not lines:
        return ""
    ordered = sorted(lines, key=lambda line: y(line[1]))
    label_y = _spread([y(v) + 4 for _, v, _ in ordered], 10, H - 4)
    parts = []
    for (css, v, text), ly in zip(ordered, label_y, strict=True):
        py = y(v)
        label = f'<text x="{x1 + 6}" y="{ly:.1f}">{escape(text)}</text>' if text else ""
        parts.append(
            f'<g class="ref {css}"><line x1="{x0}" y1="{py:.1f}" x2="{x1}" y2="{py:.1f}"/>'
            f"{label}</g>"
        )
    return "".join(parts)


def _frame_time(
    pts: list[_Point], extra: list[float], unit: str, lang: str, floor: float | None = None
) -> tuple[_Scale, _Scale, str]:
    """Scales, grid and x axis for a chart of points over time."""
    x0, x1 = PAD_L, W - PAD_R
    t0, t1 = pts[0].ts, pts[-1].ts
    if t1 - t0 < 3600:
        # A lone point (or a burst within the hour) sits in the middle, under its own date.
        x_ticks = [(t0, _when(pts[0].t, lang))]
        t0, t1 = t0 - 43200, t1 + 43200
    else:
        x_ticks = time_ticks(t0, t1, pts[0].t.tzinfo or UTC, lang)
    x = _Scale(t0, t1, x0 + 6, x1 - 6)
    ticks, y = _y_axis([p.v for p in pts], extra, floor)
    body = _grid(ticks, y, unit, lang, x0, x1) + _x_axis(x_ticks, x, x0, x1)
    return x, y, body


def _point_title(p: _Point, unit: str, lang: str, extra: str = "") -> str:
    text = f"{_when(p.t, lang)}: {_with_unit(_num(p.v, lang), unit)}"
    return escape(f"{text} — {extra}" if extra else text)


def _series(pts: list[_Point], x: _Scale, y: _Scale, css: str = "series") -> str:
    ax, kx, ay, ky = x.linear() + y.linear()
    xy = _decimate([(ax + kx * p[0], ay + ky * p[1]) for p in pts], W - PAD_L - PAD_R)
    return f'<g class="{css}" data-count="{len(pts)}">{_polyline(xy)}'


def _summary(pts: list[_Point], unit: str, lang: str) -> list[str]:
    values = [p.v for p in pts]
    u = lambda v: _with_unit(_num(v, lang), unit)  # noqa: E731
    span = f"{_day(pts[0].t.date(), lang)} – {_day(pts[-1].t.date(), lang)}"
    return [
        f"{_count(len(pts), lang)} ({span})",
        f"{_word('latest', lang)} {u(values[-1])}",
        f"{_word('min', lang)} {u(min(values))}{_comma(lang)}{_word('max', lang)} {u(max(values))}",
    ]


# ---------------------------------------------------------------- the charts


@_drawable("run-chart")
def run_chart(
    points: Sequence[tuple[datetime, float]],
    *,
    target: float | None,
    warning: float | None,
    breach: float | None,
    unit: str,
    label: str,
    lang: str,
    marked: Collection[int] = (),
    bad_above: bool | None = None,
    empty: str = "No data",
) -> str:
    """Values over time with the target, warning and breach lines.

    With `bad_above` known (True when higher is worse), points past the breach limit are
    red and past the warning limit amber; `marked` (indices into `points`) are ringed
    and, when the direction is unknown, the only ones coloured.
    """
    pts = _clean(points)
    if not pts:
        return _empty_svg("run-chart", label, empty)
    limits = [
        (kind, float(value))
        for kind, value in (("target", target), ("warning", warning), ("breach", breach))
        if _finite(value)
    ]
    x, y, body = _frame_time(pts, [v for _, v in limits], unit, lang)
    marked = set(marked)
    lines = [
        (kind, v, f"{_word(kind, lang)} {_with_unit(_num(v, lang), unit)}") for kind, v in limits
    ]

    limit_of = dict(limits)

    def status(v: float) -> str:
        if bad_above is None:
            return ""
        for kind in ("breach", "warning"):
            limit = limit_of.get(kind)
            if limit is not None and (v > limit if bad_above else v < limit):
                return "bad" if kind == "breach" else "warn"
        return ""

    parts = [body, _hlines(lines, y, PAD_L, W - PAD_R), _series(pts, x, y)]
    counts = {"bad": 0, "warn": 0}
    dots = len(pts) <= DOT_LIMIT
    highlights = []
    # A long series shows its coloured points as one path of round dots, not thousands of
    # elements with tooltips; marked points always get their own ring and tooltip.
    bulk: dict[str, list[str]] = {"bad": [], "warn": []}
    for p in pts:
        css = status(p.v)
        if css:
            counts[css] += 1
        is_marked = p.index in marked
        if is_marked and not css:
            css = "bad"
        if not (dots or css):
            continue
        cx, cy = x(p.ts), y(p.v)
        if not (dots or is_marked):
            bulk[css].append(f"M{cx:.1f},{cy:.1f}h0")
            continue
        dot = (
            f'<circle class="{("point " + css).strip()}" cx="{cx:.1f}" cy="{cy:.1f}" r="3">'
            f"<title>{_point_title(p, unit, lang)}</title></circle>"
        )
        if is_marked:
            highlights.append(
                f'<g class="marked" data-index="{p.index}"><circle class="ring" cx="{cx:.1f}" '
                f'cy="{cy:.1f}" r="7" fill="none"/>{dot}</g>'
            )
        elif css:
            highlights.append(dot)
        else:
            parts.append(dot)
    parts.append("</g>")
    for css in ("warn", "bad"):
        if bulk[css]:
            parts.append(
                f'<path class="dots {css}" data-count="{len(bulk[css])}" fill="none" '
                f'stroke-width="5" stroke-linecap="round" d="{"".join(bulk[css])}"/>'
            )
    parts.extend(highlights)

    desc = [label, *_summary(pts, unit, lang)]
    desc += [f"{_word(k, lang)} {_with_unit(_num(v, lang), unit)}" for k, v in limits]
    if counts["bad"]:
        desc.append(_word("past_breach", lang, n=counts["bad"]))
    if counts["warn"]:
        desc.append(_word("past_warning", lang, n=counts["warn"]))
    n_marked = sum(1 for p in pts if p.index in marked)
    if n_marked:
        desc.append(_word("marked", lang, n=n_marked))
    return _svg("run-chart", label, _sep(lang).join(desc), "".join(parts))


@_drawable("control-chart")
def control_chart(
    points: Sequence[tuple[datetime, float]],
    *,
    centre: float,
    sigma: float,
    signals: Mapping[int, list[str]],
    unit: str,
    label: str,
    lang: str,
    empty: str = "No data",
    steps: Sequence[tuple[datetime, float, float]] = (),
    step_label: str = "",
    excluded: Mapping[int, str] | None = None,
) -> str:
    """An individuals chart: centre line, ±1σ and ±2σ guides, ±3σ control limits (UCL/LCL).

    `signals` maps an index into `points` to the names of the rules that point broke;
    those points are ringed and their <title> names the rules. `steps` are limits
    recalculated after a process change, (from when, centre, sigma): each segment of the
    chart shows its own limits (stepped lines), the last one labelled, with a dashed
    upright line named `step_label` at each change. `excluded` maps an index to why that
    baseline point is left out of the limits: it is drawn hollow with a cross.
    """
    pts = _clean(points)
    if not pts:
        return _empty_svg("control-chart", label, empty)
    segments = [(None, centre, sigma)] + [
        (_to_datetime(at), c, s) for at, c, s in steps if _finite(c) and _finite(s)
    ]
    every_ref = [_limit_refs(c, s, lang) for _, c, s in segments]
    refs = every_ref[-1]
    extra = [v for seg in every_ref for _, v, _ in seg]
    x, y, body = _frame_time(pts, extra, unit, lang)
    last_sigma = segments[-1][2]
    if len(refs) > 1 and abs(y(refs[0][1] + float(last_sigma)) - y(refs[0][1])) < LABEL_GAP:
        # The σ guides are too close together to label: keep the lines, name only the limits.
        refs = [
            (css, v, text if not css.startswith(("sigma1", "sigma2")) else "")
            for css, v, text in refs
        ]
    starts = [PAD_L] + [
        min(max(x((at - _EPOCH).total_seconds()), PAD_L), W - PAD_R)
        for at, _, _ in segments[1:]
        if at is not None
    ]
    parts = [body]
    for k, seg_refs in enumerate(every_ref[:-1]):
        quiet = [(f"{css} earlier", v, "") for css, v, _ in seg_refs]
        parts.append(_hlines(quiet, y, starts[k], starts[k + 1]))
    parts.append(_hlines(refs, y, starts[-1], W - PAD_R))
    for sx in starts[1:]:
        parts.append(
            f'<g class="step-line"><line x1="{sx:.1f}" y1="{PAD_T - 6}" x2="{sx:.1f}" '
            f'y2="{H - PAD_B}"/><text x="{sx + 4:.1f}" y="{PAD_T - 10}">{escape(step_label)}'
            "</text></g>"
        )
    parts.append(_series(pts, x, y))
    dots = len(pts) <= DOT_LIMIT
    flagged = []
    left_out = excluded or {}
    for p in pts:
        rules = [r for r in signals.get(p.index, ()) if r]
        cx, cy = x(p.ts), y(p.v)
        if p.index in left_out:
            title = _point_title(p, unit, lang, left_out[p.index])
            flagged.append(
                f'<g class="excluded" data-index="{p.index}"><title>{title}</title>'
                f'<circle class="point excluded" cx="{cx:.1f}" cy="{cy:.1f}" r="4.5"/>'
                f'<path class="cross" d="M{cx - 3:.1f},{cy - 3:.1f}l6,6m0,-6l-6,6"/></g>'
            )
        elif rules:
            title = _point_title(p, unit, lang, _sep(lang).join(rules))
            flagged.append(
                f'<g class="signal" data-index="{p.index}"><title>{title}</title>'
                f'<circle class="ring" cx="{cx:.1f}" cy="{cy:.1f}" r="7" fill="none"/>'
                f'<circle class="point bad" cx="{cx:.1f}" cy="{cy:.1f}" r="3.5"/></g>'
            )
        elif dots:
            parts.append(
                f'<circle class="point" cx="{cx:.1f}" cy="{cy:.1f}" r="3">'
                f"<title>{_point_title(p, unit, lang)}</title></circle>"
            )
    parts.append("</g>")
    parts.extend(flagged)

    desc = [label, *_summary(pts, unit, lang)]
    desc += [text for css, _, text in refs if css == "centre" or css.startswith("sigma3")]
    rings = sum(1 for p in pts if p.index not in left_out and signals.get(p.index))
    if rings:
        desc.append(_word("signals", lang, n=rings))
    if left_out:
        desc.append(_word("excluded", lang, n=sum(1 for p in pts if p.index in left_out)))
    if len(segments) > 1:
        desc.append(_word("steps", lang, n=len(segments) - 1))
    return _svg("control-chart", label, _sep(lang).join(desc), "".join(parts))


def _limit_refs(centre: float, sigma: float, lang: str) -> list[tuple[str, float, str]]:
    """The centre line, the ±3σ control limits and the ±1σ, ±2σ guides of one segment."""
    refs: list[tuple[str, float, str]] = []
    if _finite(centre):
        c = float(centre)
        refs.append(("centre", c, f"CL {_num(c, lang)}"))
        if _finite(sigma) and float(sigma) > 0:
            s = float(sigma)
            refs += [
                ("sigma3 ucl", c + 3 * s, f"UCL {_num(c + 3 * s, lang)}"),
                ("sigma3 lcl", c - 3 * s, f"LCL {_num(c - 3 * s, lang)}"),
            ]
            refs += [
                (f"sigma{k}", c + sign * k * s, f"{'+' if sign > 0 else '−'}{k}σ")
                for k in (1, 2)
                for sign in (1, -1)
            ]
    return refs


@_drawable("moving-range-chart")
def moving_range_chart(
    points: Sequence[tuple[datetime, float]],
    *,
    mr_bar: float,
    unit: str,
    label: str,
    lang: str,
    empty: str = "No data",
) -> str:
    """The moving-range chart beside an individuals chart: |x[i] − x[i−1]|, dated at the
    later point, with its centre (the mean moving range of the baseline) and its upper
    limit D4 × MR̄ = 3.267 × MR̄; ranges past the limit are ringed. Pass the point before
    the window too, so that the window's first point has its range."""
    pts = _clean(points)
    ranges = _clean([(b.t, abs(b.v - a.v)) for a, b in pairwise(pts)])
    if not ranges:
        return _empty_svg("moving-range-chart", label, empty)
    refs: list[tuple[str, float, str]] = []
    ucl = math.inf
    if _finite(mr_bar) and mr_bar > 0:
        ucl = D4 * mr_bar
        refs = [
            ("centre", mr_bar, f"MR̄ {_num(mr_bar, lang)}"),
            ("sigma3 ucl", ucl, f"UCL {_num(ucl, lang)}"),
        ]
    x, y, body = _frame_time(ranges, [v for _, v, _ in refs], unit, lang, floor=0.0)
    parts = [body, _hlines(refs, y, PAD_L, W - PAD_R), _series(ranges, x, y)]
    flagged = []
    dots = len(ranges) <= DOT_LIMIT
    for p in ranges:
        cx, cy = x(p.ts), y(p.v)
        title = _point_title(p, unit, lang)
        if p.v > ucl:
            flagged.append(
                f'<g class="signal"><title>{title}</title>'
                f'<circle class="ring" cx="{cx:.1f}" cy="{cy:.1f}" r="7" fill="none"/>'
                f'<circle class="point bad" cx="{cx:.1f}" cy="{cy:.1f}" r="3.5"/></g>'
            )
        elif dots:
            parts.append(
                f'<circle class="point" cx="{cx:.1f}" cy="{cy:.1f}" r="3"><title>{title}</title>'
                "</circle>"
            )
    parts.append("</g>")
    parts.extend(flagged)
    desc = [label, *_summary(ranges, unit, lang), *(text for _, _, text in refs)]
    if flagged:
        desc.append(_word("ranges_out", lang, n=len(flagged)))
    return _svg("control-chart moving-range-chart", label, _sep(lang).join(desc), "".join(parts))


_PERIODS = ("current", "previous", "year_ago")


@_drawable("period-comparison")
def period_comparison(
    current: Sequence[tuple[datetime, float]],
    previous: Sequence[tuple[datetime, float]],
    year_ago: Sequence[tuple[datetime, float]],
    *,
    unit: str,
    labels: Mapping[str, str],
    lang: str,
    empty: str = "No data",
    starts: Mapping[str, datetime] | None = None,
    label: str | None = None,
) -> str:
    """This period, the previous one and the same period a year before, aligned by the
    number of days since each period's start, with a legend.

    `labels` names the series (keys "current", "previous", "year_ago"; missing keys get
    a default); `starts` gives each period's start, else its first point's day is used.
    `label` names the chart (default: the three series names).
    """
    series = {
        key: _clean(pts) for key, pts in zip(_PERIODS, (current, previous, year_ago), strict=True)
    }
    names = {key: labels.get(key) or _word(key, lang) for key in _PERIODS}
    label = label or " / ".join(names.values())
    if not any(series.values()):
        return _empty_svg("period-comparison", label, empty)

    day = 86400.0
    origin: dict[str, float] = {}
    for key, pts in series.items():
        given = (starts or {}).get(key)
        if given is not None:
            origin[key] = _to_datetime(given).timestamp()
        elif pts:
            first = pts[0].t
            origin[key] = first.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    offsets = {k: [(p.ts - origin[k]) / day for p in pts] for k, pts in series.items() if pts}
    max_off = max(max(o) for o in offsets.values())
    min_off = min(min(o) for o in offsets.values())
    lo, hi = min(0.0, min_off), max(max_off, 1.0)
    x0, x1 = PAD_L, W - PAD_R
    x = _Scale(lo, hi, x0 + 6, x1 - 6)
    ticks, y = _y_axis([p.v for pts in series.values() for p in pts], [])

    if "current" in origin:
        # Calendar ticks of this period, placed at their day offsets.
        first = series["current"][0].t if series["current"] else datetime.now(UTC)
        tz = first.tzinfo or UTC
        base = origin["current"]
        x_ticks = [
            ((ts - base) / day, text)
            for ts, text in time_ticks(base + lo * day, base + hi * day, tz, lang)
        ]
    else:
        step = max(1.0, _nice_step((hi - lo) / 5))
        x_ticks = [
            (d, _word("day", lang, n=int(d) + 1))
            for d in (lo + k * step for k in range(int((hi - lo) / step) + 1))
        ]
    parts = [_grid(ticks, y, unit, lang, x0, x1), _x_axis(x_ticks, x, x0, x1)]

    # Draw the oldest first so this period is on top.
    for key in reversed(_PERIODS):
        pts = series[key]
        if not pts:
            continue
        ax, kx, ay, ky = x.linear() + y.linear()
        xy = [(ax + kx * o, ay + ky * p.v) for o, p in zip(offsets[key], pts, strict=True)]
        parts.append(
            f'<g class="series s-{key.replace("_", "-")}" data-count="{len(pts)}">'
            f"{_polyline(_decimate(xy, x1 - x0))}"
        )
        if len(pts) <= DOT_LIMIT // 2:
            for (cx, cy), p in zip(xy, pts, strict=True):
                title = _point_title(p, unit, lang, names[key])
                parts.append(
                    f'<circle class="point" cx="{cx:.1f}" cy="{cy:.1f}" r="2.5"><title>{title}</title></circle>'
                )
        parts.append("</g>")

    # Legend along the top.
    lx = x0
    parts.append('<g class="legend">')
    for key in _PERIODS:
        text = names[key] if series[key] else f"{names[key]} ({_word('no_data', lang)})"
        css = key.replace("_", "-")
        parts.append(
            f'<g class="legend-item s-{css}{"" if series[key] else " absent"}">'
            f'<line class="line" x1="{lx}" y1="10" x2="{lx + 20}" y2="10"/>'
            f'<text x="{lx + 25}" y="14">{escape(text)}</text></g>'
        )
        lx += 25 + _text_width(text) + 22
    parts.append("</g>")

    desc = [label]
    for key in _PERIODS:
        pts = series[key]
        if not pts:
            desc.append(f"{names[key]}: {_word('no_data', lang)}")
            continue
        mean = sum(p.v for p in pts) / len(pts)
        u = lambda v: _with_unit(_num(v, lang), unit)  # noqa: E731
        desc.append(
            f"{names[key]}: {_count(len(pts), lang)}{_comma(lang)}"
            f"{_word('latest', lang)} {u(pts[-1].v)}{_comma(lang)}{_word('mean', lang)} {u(mean)}"
        )
    return _svg("period-comparison", label, _sep(lang).join(desc), "".join(parts))


def _text_width(text: str, size: float = 11) -> float:
    """Rough rendered width: CJK characters are square, Latin ones about 0.58 em."""
    return sum(size if ord(ch) >= 0x2E80 else size * 0.58 for ch in text)


def _truncate(text: str, width: float, size: float = 11) -> str:
    if _text_width(text, size) <= width:
        return text
    out = ""
    for ch in text:
        if _text_width(out + ch + "…", size) > width:
            break
        out += ch
    return out.rstrip() + "…"


PARETO_H = 300


def pareto(
    bars: Sequence[tuple[str, int]],
    *,
    label: str,
    lang: str,
    empty: str = "No data",
    max_bars: int = 15,
    other: str | None = None,
) -> str:
    """Counts by category, largest first, with the cumulative share as a line and the
    80 % mark; the categories that together make the first 80 % are highlighted.

    Repeated categories are summed; counts that are not positive are left out; past
    `max_bars` the smallest categories are gathered at the end as `other`.
    """
    totals: dict[str, int] = {}
    for item in bars:
        try:
            name, raw = item
            count = int(raw)
        except (TypeError, ValueError, OverflowError):
            continue
        if count > 0:
            totals[str(name)] = totals.get(str(name), 0) + count
    if not totals:
        return _empty_svg("pareto", label, empty)
    ordered = sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    if len(ordered) > max_bars:
        rest = sum(c for _, c in ordered[max_bars - 1 :])
        ordered = [*ordered[: max_bars - 1], (other or _word("other", lang), rest)]
    total = sum(c for _, c in ordered)

    height = PARETO_H
    x0, x1 = PAD_L, W - 52
    slot = (x1 - x0) / len(ordered)
    bar_w = min(slot * 0.72, 70)
    rotate = any(_text_width(name) > slot - 6 for name, _ in ordered)
    base = height - (78 if rotate else 34)
    top = PAD_T
    count_ticks = nice_ticks(0, max(c for _, c in ordered), 6)
    if len(count_ticks) > 1 and count_ticks[1] - count_ticks[0] < 1:
        count_ticks = list(range(0, int(count_ticks[-1]) + 2))
    yc = _Scale(count_ticks[0], count_ticks[-1], base, top)
    yp = _Scale(0, 100, base, top)

    parts = ['<g class="grid">']
    decimals = _decimals(count_ticks[1] - count_ticks[0]) if len(count_ticks) > 1 else 0
    for v in count_ticks:
        py = yc(v)
        parts.append(
            f'<line x1="{x0}" y1="{py:.1f}" x2="{x1}" y2="{py:.1f}"/>'
            f'<text class="tick" x="{x0 - 6}" y="{py + 4:.1f}" text-anchor="end">{_num(v, lang, decimals)}</text>'
        )
    for pct in (0, 20, 40, 60, 100):
        parts.append(f'<text class="tick pct" x="{x1 + 6}" y="{yp(pct) + 4:.1f}">{pct} %</text>')
    parts.append(f'</g><g class="axis"><line x1="{x0}" y1="{base}" x2="{x1}" y2="{base}"/></g>')

    cumulative = 0
    vital = 0
    line_xy = []
    dots = []
    for i, (name, count) in enumerate(ordered):
        before = cumulative
        cumulative += count
        share = 100.0 * count / total
        cum_pct = 100.0 * cumulative / total
        in_vital = before * 100.0 < 80.0 * total  # the bars that reach 80 %, this one included
        vital += in_vital
        cx = x0 + slot * (i + 0.5)
        top_y = yc(count)
        name_e = escape(name)
        title = escape(
            f"{name}: {count} ({_num(share, lang)} %){_comma(lang)}"
            f"{_word('cumulative', lang)} {_num(cum_pct, lang)} %"
        )
        parts.append(
            f'<g class="bar{" vital" if in_vital else ""}" data-label="{name_e}" data-count="{count}">'
            f"<title>{title}</title>"
            f'<rect x="{cx - bar_w / 2:.1f}" y="{top_y:.1f}" width="{bar_w:.1f}" '
            f'height="{base - top_y:.1f}"/>'
            f'<text class="value" x="{cx:.1f}" y="{top_y - 4:.1f}" text-anchor="middle">{count}</text></g>'
        )
        if rotate:
            room = min(110.0, (cx - 4) / math.cos(math.radians(35)))
            short = escape(_truncate(name, room))
            parts.append(
                f'<text class="bar-label" x="{cx:.1f}" y="{base + 12}" text-anchor="end" '
                f'transform="rotate(-35 {cx:.1f} {base + 12})">{short}</text>'
            )
        else:
            parts.append(
                f'<text class="bar-label" x="{cx:.1f}" y="{base + 16}" text-anchor="middle">{name_e}</text>'
            )
        py = yp(cum_pct)
        line_xy.append((cx, py))
        dots.append(
            f'<circle class="point" cx="{cx:.1f}" cy="{py:.1f}" r="3" data-cumulative="{cum_pct:.1f}">'
            f"<title>{escape(_word('cumulative', lang))} {_num(cum_pct, lang)} %</title></circle>"
        )
    # The 80 % mark: a line across, named on the percentage axis in place of its tick.
    p80 = yp(80)
    parts.append(
        f'<g class="ref mark80"><line x1="{x0}" y1="{p80:.1f}" x2="{x1}" y2="{p80:.1f}"/>'
        f'<text x="{x1 + 6}" y="{p80 + 4:.1f}">80 %</text></g>'
    )
    parts.append(f'<g class="cumulative">{_polyline(line_xy)}{"".join(dots)}</g>')

    listed = _comma(lang).join(f"{name} {count}" for name, count in ordered[:10])
    if len(ordered) > 10:
        listed += _comma(lang) + "…"
    desc = [
        label,
        f"{listed} ({_word('total', lang)} {total})",
        _word("vital", lang, k=vital, n=len(ordered)),
    ]
    return _svg("pareto", label, _sep(lang).join(desc), "".join(parts), W, height)


SPARK_W, SPARK_H = 120, 28


def sparkline(
    values: Sequence[float],
    *,
    label: str,
    lang: str = "en",
    empty: str = "No data",
) -> str:
    """A tiny trend line (no axes) for the scorecard; the latest value is a dot."""
    clean = [float(v) for v in values if _finite(v)]
    if not clean:
        return _empty_svg("sparkline", label, empty, SPARK_W, SPARK_H)
    if not math.isfinite(max(clean) - min(clean)):
        return _empty_svg("sparkline", label, _word("too_large", lang), SPARK_W, SPARK_H)
    lo, hi = min(clean), max(clean)
    pad = 3
    x = _Scale(0, len(clean) - 1, pad, SPARK_W - pad)
    y = _Scale(lo, hi, SPARK_H - pad, pad)
    xy = _decimate([(x(i), y(v)) for i, v in enumerate(clean)], SPARK_W)
    lx, ly = xy[-1]
    body = (
        f'<g class="series" data-count="{len(clean)}">{_polyline(xy)}'
        f'<circle class="last" cx="{lx:.1f}" cy="{ly:.1f}" r="2.2"/></g>'
    )
    desc = _sep(lang).join(
        [
            label,
            f"{_word('latest', lang)} {_num(clean[-1], lang)}",
            f"{_word('min', lang)} {_num(lo, lang)}{_comma(lang)}{_word('max', lang)} {_num(hi, lang)}",
        ]
    )
    return _svg("sparkline", label, desc, body, SPARK_W, SPARK_H)
