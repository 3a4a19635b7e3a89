"""The dashboard's bar charts, drawn on the server as the KPI charts are (pdca.web.charts):
a fixed viewBox, role="img", a <title> and a <desc> that says the numbers in words, and
classes only (the colours live in pdca.css). The page shows each chart's table beside it.
"""

from collections.abc import Callable, Sequence
from html import escape

from pdca.web.charts import (
    _comma,
    _empty_svg,
    _num,
    _sep,
    _svg,
    _text_width,
    _truncate,
    nice_ticks,
)

W = 720
PAD_L, PAD_R, PAD_T = 48, 16, 34


def _fmt(lang: str) -> Callable[[float], str]:
    return lambda v: _num(v, lang)


def grouped_bars(
    categories: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float]]],
    *,
    label: str,
    lang: str,
    empty: str,
    height: int = 260,
    value_text: Callable[[float], str] | None = None,
    scale_top: float | None = None,
) -> str:
    """Bars per category, one per series (css key, name, values), with a legend on top;
    `scale_top` fixes the top of the scale (5 for ratings of 1 to 5)."""
    text = value_text or _fmt(lang)
    if not categories or not any(v for _k, _n, values in series for v in values):
        return _empty_svg("bars", label, empty)
    top_value = max(v for _k, _n, values in series for v in values)
    if scale_top is not None:
        top_value = max(top_value, scale_top)
    ticks = nice_ticks(0, top_value, 6 if scale_top is not None else 5)
    if len(ticks) > 1 and ticks[1] - ticks[0] < 1:
        ticks = list(range(0, int(ticks[-1]) + 2))
    rotate = len(categories) > 8
    base = height - (52 if rotate else 26)
    x0, x1 = PAD_L, W - PAD_R
    slot = (x1 - x0) / len(categories)
    bar_w = min(slot * 0.8 / len(series), 28)

    def y(v: float) -> float:
        return base - (base - PAD_T) * (v / ticks[-1] if ticks[-1] else 0)

    parts = ['<g class="grid">']
    for t in ticks:
        parts.append(
            f'<line x1="{x0}" y1="{y(t):.1f}" x2="{x1}" y2="{y(t):.1f}"/>'
            f'<text class="tick" x="{x0 - 6}" y="{y(t) + 4:.1f}" text-anchor="end">'
            f"{escape(_num(t, lang))}</text>"
        )
    parts.append(f'</g><g class="axis"><line x1="{x0}" y1="{base}" x2="{x1}" y2="{base}"/></g>')
    for i, name in enumerate(categories):
        cx = x0 + slot * (i + 0.5)
        left = cx - bar_w * len(series) / 2
        for j, (key, series_name, values) in enumerate(series):
            v = values[i]
            bx = left + j * bar_w
            title = escape(f"{name} · {series_name}: {text(v)}")
            parts.append(
                f'<g class="bar s-{key}" data-value="{v}"><title>{title}</title>'
                f'<rect x="{bx + 1:.1f}" y="{y(v):.1f}" width="{bar_w - 2:.1f}" '
                f'height="{base - y(v):.1f}"/>'
            )
            if v and bar_w >= 14:
                parts.append(
                    f'<text class="value" x="{bx + bar_w / 2:.1f}" y="{y(v) - 3:.1f}" '
                    f'text-anchor="middle">{escape(text(v))}</text>'
                )
            parts.append("</g>")
        short = escape(_truncate(name, 110 if rotate else slot - 4))
        if rotate:
            parts.append(
                f'<text class="bar-label" x="{cx:.1f}" y="{base + 12}" text-anchor="end" '
                f'transform="rotate(-35 {cx:.1f} {base + 12})">{short}</text>'
            )
        else:
            parts.append(
                f'<text class="bar-label" x="{cx:.1f}" y="{base + 16}" '
                f'text-anchor="middle">{short}</text>'
            )
    if len(series) > 1:
        lx = x0
        parts.append('<g class="legend">')
        for key, series_name, _values in series:
            parts.append(
                f'<g class="legend-item s-{key}"><rect x="{lx}" y="6" width="12" height="12"/>'
                f'<text x="{lx + 17}" y="16">{escape(series_name)}</text></g>'
            )
            lx += 17 + _text_width(series_name) + 22
        parts.append("</g>")
    desc = [label]
    for key, series_name, values in series:
        listed = _comma(lang).join(
            f"{c} {text(v)}" for c, v in zip(categories, values, strict=True)
        )
        desc.append(f"{series_name}: {listed}" if len(series) > 1 or key else listed)
    return _svg("bars", label, _sep(lang).join(desc), "".join(parts), W, height)


def hbars(
    rows: Sequence[tuple[str, float | None, str]],
    *,
    label: str,
    lang: str,
    empty: str,
    maximum: float | None = None,
    css: Callable[[float], str] | None = None,
) -> str:
    """One horizontal bar per row (name, value, the value as words), longest to `maximum`.

    A row without a value has no bar, only its words ("no data"); `css` picks a class
    per value (e.g. a rate under target drawn in the warning colour).
    """
    if not rows:
        return _empty_svg("hbars", label, empty)
    values = [v for _n, v, _t in rows if v is not None]
    top = maximum if maximum is not None else (max(values) if values else 1.0) or 1.0
    row_h = 26
    height = PAD_T // 2 + row_h * len(rows) + 8
    name_w = min(220.0, max(_text_width(n) for n, _v, _t in rows) + 12)
    words_w = max(_text_width(t, 10.5) for _n, _v, t in rows) + 14
    x0, x1 = name_w + 8, W - max(60.0, min(words_w, 300.0))
    parts = []
    for i, (name, v, words) in enumerate(rows):
        top_y = 8 + i * row_h
        mid = top_y + row_h / 2
        parts.append(
            f'<text class="bar-label" x="{x0 - 8}" y="{mid + 4:.1f}" text-anchor="end">'
            f"{escape(_truncate(name, name_w))}</text>"
        )
        width = 0.0 if v is None else max(0.0, (x1 - x0) * min(v / top, 1.0))
        kind = (css(v) if css and v is not None else "") or ""
        parts.append(
            f'<g class="bar {kind}" data-value="{"" if v is None else v}">'
            f"<title>{escape(f'{name}: {words}')}</title>"
            f'<rect x="{x0}" y="{top_y + 4}" width="{width:.1f}" height="{row_h - 8}"/></g>'
            f'<text class="value" x="{x0 + width + 6:.1f}" y="{mid + 4:.1f}">{escape(words)}</text>'
        )
    parts.append(f'<g class="axis"><line x1="{x0}" y1="4" x2="{x0}" y2="{height - 4}"/></g>')
    desc = [label, _comma(lang).join(f"{n} {t}" for n, _v, t in rows)]
    return _svg("hbars", label, _sep(lang).join(desc), "".join(parts), W, height)
