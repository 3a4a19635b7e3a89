"""A workflow drawn as SVG on the server, with the current state marked.

The phases run left to right; the way back (a new turn of the spiral) arcs above;
final states sit below. A transition that leaves every phase for the same final
state (cancel) is drawn once, as a note, rather than as a fan of arrows.
"""

from html import escape

from pdca.engine.definition import WorkflowDefinition

BOX_W, BOX_H, GAP, TOP = 132, 44, 30, 70


def workflow_svg(definition: WorkflowDefinition, current: str | None, lang: str) -> str:
    main = [s for s in definition.states.values() if not s.final]
    finals = [s for s in definition.states.values() if s.final]
    x_of = {s.name: 10 + i * (BOX_W + GAP) for i, s in enumerate(main)}
    width = 20 + len(main) * (BOX_W + GAP)
    final_y = TOP + BOX_H + 70
    for i, s in enumerate(finals):
        x_of[s.name] = width - (len(finals) - i) * (BOX_W + GAP)
    height = final_y + BOX_H + 30
    index = {s.name: i for i, s in enumerate(main)}
    title = lambda titles: titles.get(lang) or titles["en"]  # noqa: E731

    parts: list[str] = []
    everywhere = _from_every_phase(definition, [s.name for s in main])
    for t in definition.transitions:
        if t.dest in everywhere and everywhere[t.dest] == t.trigger:
            continue
        label = escape(title(t.titles))
        for source in t.sources:
            sx, dx = x_of[source], x_of[t.dest]
            if t.dest in index and index[t.dest] == index[source] + 1:
                y = TOP + BOX_H / 2
                parts.append(_arrow(f"M{sx + BOX_W},{y} L{dx - 4},{y}", label))
            elif t.dest in index:
                # Back to an earlier phase: an arc above the row.
                y = TOP
                mid = (sx + dx + BOX_W) / 2
                parts.append(
                    _arrow(
                        f"M{sx + BOX_W / 2},{y} Q{mid},{y - 60} {dx + BOX_W / 2},{y - 4}",
                        label,
                        label_at=(mid, y - 34),
                    )
                )
            else:
                parts.append(
                    _arrow(
                        f"M{sx + BOX_W / 2},{TOP + BOX_H} L{dx + BOX_W / 2},{final_y - 4}",
                        label,
                        label_at=((sx + dx + BOX_W) / 2 + 6, (TOP + BOX_H + final_y) / 2),
                    )
                )
    for state in [*main, *finals]:
        x = x_of[state.name]
        y = final_y if state.final else TOP
        is_current = state.name == current
        css = "state current" if is_current else ("state final" if state.final else "state")
        current_attr = ' aria-current="step"' if is_current else ""
        parts.append(
            f'<g class="{css}"{current_attr}><rect x="{x}" y="{y}" width="{BOX_W}" '
            f'height="{BOX_H}" rx="8"/><text x="{x + BOX_W / 2}" y="{y + BOX_H / 2 + 5}" '
            f'text-anchor="middle">{escape(title(state.titles))}</text></g>'
        )
    for dest, trigger in everywhere.items():
        t = next(t for t in definition.transitions if t.trigger == trigger and t.dest == dest)
        x = x_of[dest]
        parts.append(
            f'<text class="note" x="{x + BOX_W / 2}" y="{final_y + BOX_H + 18}" '
            f'text-anchor="middle">↖ {escape(title(t.titles))}</text>'
        )
    label = escape(title(definition.titles))
    return (
        f'<svg class="workflow-diagram" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{label}" xmlns="http://www.w3.org/2000/svg">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>'
        f"</defs>{''.join(parts)}</svg>"
    )


def _arrow(path: str, label: str, label_at: tuple[float, float] | None = None) -> str:
    text = ""
    if label_at is not None:
        text = f'<text class="edge-label" x="{label_at[0]}" y="{label_at[1]}" text-anchor="middle">{label}</text>'
    return f'<g class="edge"><title>{label}</title><path d="{path}" marker-end="url(#arrow)"/>{text}</g>'


def _from_every_phase(definition: WorkflowDefinition, phases: list[str]) -> dict[str, str]:
    """final state → trigger, for a transition that every phase can take to it."""
    result = {}
    for t in definition.transitions:
        if definition.states[t.dest].final and set(t.sources) >= set(phases) and len(phases) > 1:
            result[t.dest] = t.trigger
    return result
