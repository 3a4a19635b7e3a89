"""An index's members' contributions as a waterfall, drawn on the server like the KPI
charts (pdca.web.charts): from the previous period's value, each member's change of
contribution as a step up or down, to this period's value. Fixed viewBox, role="img",
a <title> and a <desc> saying the numbers; the page shows the same numbers as a table.
"""

from collections.abc import Sequence
from html import escape

from pdca.web.charts import _empty_svg, _num, _sep, _svg, _truncate, nice_ticks

W, H = 720, 300
PAD_L, PAD_R, PAD_T, PAD_B = 48, 16, 20, 54


def waterfall(
    start: tuple[str, float] | None,
    steps: Sequence[tuple[str, float]],
    end: tuple[str, float],
    *,
    label: str,
    lang: str,
    empty: str,
) -> str:
    """Bars: `start` (name, value), each step (name, change), `end` (name, value).

    Without a start (no previous period) the steps are the members' contributions,
    stacked from zero up to the end value.
    """
    if not steps:
        return _empty_svg("waterfall", label, empty)
    level = start[1] if start else 0.0
    levels = [level]
    for _name, change in steps:
        level += change
        levels.append(level)
    top = max([*levels, end[1], 100.0 if start else end[1]])
    ticks = nice_ticks(0, max(top, 1.0), 5)
    base, x0, x1 = H - PAD_B, PAD_L, W - PAD_R
    bars = [*([start] if start else []), *steps, end]
    slot = (x1 - x0) / len(bars)
    bar_w = min(slot * 0.7, 60)

    def y(v: float) -> float:
        return base - (base - PAD_T) * v / ticks[-1]

    parts = ['<g class="grid">']
    for t in ticks:
        parts.append(
            f'<line x1="{x0}" y1="{y(t):.1f}" x2="{x1}" y2="{y(t):.1f}"/>'
            f'<text class="tick" x="{x0 - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{_num(t, lang)}</text>'
        )
    parts.append(f'</g><g class="axis"><line x1="{x0}" y1="{base}" x2="{x1}" y2="{base}"/></g>')
    level = start[1] if start else 0.0
    for i, (name, number) in enumerate(bars):
        cx = x0 + slot * (i + 0.5)
        total = (start is not None and i == 0) or i == len(bars) - 1
        if total:
            lo, hi, css, text = 0.0, number, "total", _num(number, lang)
        else:
            lo, hi = sorted((level, level + number))
            css = "up" if number >= 0 else "down"
            text = ("+" if number >= 0 else "−") + _num(abs(number), lang)
            level += number
        height = max(y(lo) - y(hi), 1.0)
        parts.append(
            f'<g class="bar {css}" data-label="{escape(name)}" data-value="{number:.2f}">'
            f"<title>{escape(name)}: {escape(text)}</title>"
            f'<rect x="{cx - bar_w / 2:.1f}" y="{y(hi):.1f}" width="{bar_w:.1f}" height="{height:.1f}"/>'
            f'<text class="value" x="{cx:.1f}" y="{y(hi) - 4:.1f}" text-anchor="middle">{escape(text)}</text>'
            f'<text class="bar-label" x="{cx:.1f}" y="{base + 14}" text-anchor="end" '
            f'transform="rotate(-30 {cx:.1f} {base + 14})">{escape(_truncate(name, 80))}</text></g>'
        )
    said = [f"{n} {_num(v, lang)}" for n, v in bars]
    return _svg("waterfall", label, _sep(lang).join([label, *said]), "".join(parts), W, H)
