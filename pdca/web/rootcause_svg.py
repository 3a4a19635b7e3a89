"""The root-cause tools drawn as SVG: the 5-whys chain and the fishbone (Ishikawa).

Pure functions from words to markup, accessible like the charts (role="img", a
<title>, a <desc> with every word of the picture); classes only, colours in pdca.css.
"""

from collections.abc import Mapping, Sequence
from html import escape

from pdca.web.charts import _svg, _text_width

W = 720


def wrap(text: str, width: float, size: float = 11, max_lines: int = 3) -> list[str]:
    """Lines of at most `width` user units (CJK breaks anywhere, Latin at spaces)."""
    lines: list[str] = []
    for paragraph in (text or "").splitlines() or [""]:
        line = ""
        for word in _words(paragraph):
            candidate = line + word
            if line and _text_width(candidate.rstrip(), size) > width:
                lines.append(line.rstrip())
                line = word.lstrip()
            else:
                line = candidate
        lines.append(line.rstrip())
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(0, len(lines[-1]) - 1)] + "…"
    return lines


def _words(text: str) -> list[str]:
    """Latin words with their following space; each CJK character on its own."""
    words: list[str] = []
    current = ""
    for ch in text:
        if ord(ch) >= 0x2E80:
            if current:
                words.append(current)
                current = ""
            words.append(ch)
        elif ch == " ":
            words.append(current + " ")
            current = ""
        else:
            current += ch
    if current:
        words.append(current)
    return words


def _text_lines(x: float, y: float, lines: Sequence[str], css: str, anchor: str = "start") -> str:
    spans = "".join(
        f'<tspan x="{x:.1f}" dy="{0 if i == 0 else 14}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text class="{css}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{spans}</text>'


def five_whys(
    problem: str, whys: Sequence[str], root_cause: str, *, labels: Mapping[str, str], lang: str
) -> str:
    """The problem, each answered "why?", and the root cause, as a chain of boxes."""
    steps = [("problem", labels["problem"], problem)]
    steps += [
        ("why", labels["why"].replace("{n}", str(n)), text)
        for n, text in enumerate(whys, start=1)
        if text.strip()
    ]
    if root_cause.strip():
        steps.append(("root", labels["root"], root_cause))
    box_h, gap = 50, 14
    height = len(steps) * (box_h + gap) + 4
    parts = []
    for i, (css, title, text) in enumerate(steps):
        y = 2 + i * (box_h + gap)
        parts.append(
            f'<g class="step {css}"><rect x="2" y="{y}" width="{W - 4}" height="{box_h}" rx="6"/>'
            f'<text class="step-title" x="14" y="{y + 18}">{escape(title)}</text>'
            + _text_lines(150, y + 18, wrap(text, W - 170, max_lines=2), "step-text")
            + "</g>"
        )
        if i < len(steps) - 1:
            ay = y + box_h
            parts.append(
                f'<path class="arrow" d="M{W / 2},{ay + 1} v{gap - 4} l-4,-4 m4,4 l4,-4" fill="none"/>'
            )
    desc = "; ".join(f"{title}: {text}" for _css, title, text in steps)
    return _svg("five-whys", labels["label"], desc, "".join(parts), W, height)


def fishbone(
    effect: str,
    causes: Mapping[str, Sequence[str]],
    *,
    titles: Mapping[str, str],
    label: str,
    lang: str,
) -> str:
    """Six bones (three above the spine, three below) leading to the effect at the head."""
    categories = list(titles)
    per_bone = max([len(causes.get(c, ())) for c in categories] + [2])
    half = 40 + 26 * min(per_bone, 6)
    height = 2 * half + 40
    spine_y = half + 20
    head_w = 170
    spine_end = W - head_w - 10
    parts = [
        f'<line class="spine" x1="10" y1="{spine_y}" x2="{spine_end}" y2="{spine_y}"/>',
        f'<g class="head"><rect x="{spine_end}" y="{spine_y - 36}" width="{head_w}" height="72" rx="6"/>'
        + _text_lines(
            spine_end + 10, spine_y - 14, wrap(effect, head_w - 20, max_lines=4), "effect"
        )
        + "</g>",
    ]
    slot = (spine_end - 20) / 3
    for i, category in enumerate(categories):
        above = i < 3
        bx = 20 + slot * (i % 3) + slot * 0.85  # where the bone meets the spine
        top = spine_y - half + 6 if above else spine_y + half - 6
        x_top = bx - half * 0.55
        parts.append(
            f'<line class="bone" x1="{x_top:.1f}" y1="{top:.1f}" x2="{bx:.1f}" y2="{spine_y}"/>'
        )
        title_y = top - 6 if above else top + 14
        parts.append(
            f'<text class="category" x="{x_top:.1f}" y="{title_y:.1f}" text-anchor="middle">'
            f"{escape(titles[category])}</text>"
        )
        listed = [c for c in causes.get(category, ()) if c.strip()][:6]
        for j, cause in enumerate(listed):
            frac = (j + 1) / (len(listed) + 1)
            y = top + (spine_y - top) * frac
            x = x_top + (bx - x_top) * frac
            room = x - (20 + slot * (i % 3)) - 4  # to the bone on the left
            lines = wrap(cause, room, size=10, max_lines=2)
            spans = "".join(
                f'<tspan x="{x - 6:.1f}" dy="{0 if k == 0 else 11}">{escape(line)}</tspan>'
                for k, line in enumerate(lines)
            )
            parts.append(
                f'<line class="twig" x1="{x - 4:.1f}" y1="{y:.1f}" x2="{x - 30:.1f}" y2="{y:.1f}"/>'
                f'<text class="cause" x="{x - 6:.1f}" y="{y - 3 - 11 * (len(lines) - 1):.1f}" '
                f'text-anchor="end"><title>{escape(cause)}</title>{spans}</text>'
            )
    desc_parts = [f"{label}: {effect}"]
    for category in categories:
        listed = [c for c in causes.get(category, ()) if c.strip()]
        desc_parts.append(f"{titles[category]}: {', '.join(listed) if listed else '—'}")
    return _svg("fishbone", label, "; ".join(desc_parts), "".join(parts), W, height)
