"""The A3 report in the reader's words: one structure that the page and the PDF both draw,
so the printed sheet and the downloaded one say the same."""

from dataclasses import dataclass, field
from typing import Any

from pdca import i18n
from pdca.engine.definition import FISHBONE_CATEGORIES
from pdca.services.a3 import A3
from pdca.services.keys import key
from pdca.web import texts
from pdca.web.pages.board import kind_titles, status_titles
from pdca.web.pages.problems import source_titles


@dataclass
class Block:
    """One box of the A3: a title, label–value facts, then lines of text."""

    id: str
    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    empty: str = ""


@dataclass
class A3Text:
    title: str
    subtitle: str
    left: list[Block]
    right: list[Block]
    action_head: list[str]
    action_rows: list[list[str]]
    fishbone_titles: dict[str, str]
    why_label: str
    verdict: str


def fishbone_titles(_: Any) -> dict[str, str]:
    return {
        "people": _("People"),
        "methods": _("Methods"),
        "machines": _("Machines and tools"),
        "materials": _("Materials and inputs"),
        "measurement": _("Measurement"),
        "environment": _("Environment"),
    }


def a3_text(report: A3, lang: str, workflow_title: str, state_title: str) -> A3Text:
    _ = i18n.translations(lang).gettext
    c = report.cycle
    number = lambda v: "—" if v is None else i18n.format_number(v, lang)  # noqa: E731
    day = lambda d: "—" if d is None else i18n.format_date(d, lang)  # noqa: E731
    unit = f" {c.unit}" if c.unit else ""
    sources = source_titles(_)
    department = ""
    if report.department is not None:
        d = report.department
        department = f"{d.code} · {(d.name_zh or d.name) if lang == 'zh_CN' else d.name}"

    background = Block(
        "background",
        _("Background and problem statement"),
        facts=[(_("Objective"), c.objective or "—")],
        lines=[
            f"{key('problem', p.id)} {texts.problem_text(p, lang).title} "
            f"({sources.get(p.source, p.source)}, {day(p.reported_at)})"
            for p in report.problems
        ],
        empty=_("No problem is linked."),
    )
    current = Block("current", _("Current condition"), empty=_("No KPI is linked to this cycle."))
    current.facts.append((_("Baseline"), f"{number(c.baseline)}{unit}"))
    if report.kpi is not None:
        k = report.kpi
        current.facts.append(
            (
                _("KPI"),
                f"{k.kpi.code} {(k.kpi.name_zh or k.kpi.name) if lang == 'zh_CN' else k.kpi.name}",
            )
        )
        current.facts.append(
            (
                _("Mean before the cycle"),
                f"{number(None if k.baseline is None else round(k.baseline, 2))}{unit}",
            )
        )
    better = {"higher": _("higher"), "lower": _("lower")}
    goal = Block(
        "goal",
        _("Goal"),
        facts=[
            (_("Target"), f"{number(c.target)}{unit}"),
            (_("Better when the value is"), better.get(c.direction or "", "—")),
            (_("Success criterion"), c.success_criterion or "—"),
        ],
    )
    analysis = Block(
        "analysis",
        _("Root-cause analysis"),
        facts=[(_("Root cause"), c.root_cause or "—")],
        lines=[
            _("Why? (%(n)s)") % {"n": n} + f" {text}"
            for n, text in enumerate(report.whys, start=1)
            if text.strip()
        ],
    )
    titles = fishbone_titles(_)
    for category in FISHBONE_CATEGORIES:
        if report.fishbone[category]:
            analysis.facts.append((titles[category], "; ".join(report.fishbone[category])))

    statuses, kinds = status_titles(_), kind_titles(_)
    action_head = [_("Key"), _("Countermeasure"), _("Kind"), _("Owner"), _("Deadline"), _("Status")]
    action_rows = [
        [
            key("action", r.action.id),
            r.action.title,
            kinds.get(r.action.kind, r.action.kind),
            f"{r.owner_name or _('Unassigned')} ({r.department_code})",
            day(r.action.deadline),
            statuses.get(r.action.status, r.action.status),
        ]
        for r in report.actions
    ]
    countermeasures = Block(
        "countermeasures",
        _("Countermeasures"),
        empty="" if action_rows else _("No action is planned yet."),
    )

    verdict = _("not judged yet")
    if c.effectiveness:
        word = _("Effective") if c.effectiveness == "effective" else _("Not effective")
        verdict = _("%(verdict)s, judged by %(who)s on %(day)s") % {
            "verdict": word,
            "who": report.judged_by or "?",
            "day": day(c.effectiveness_at),
        }
    effect = Block(
        "effect",
        _("Effect check"),
        facts=[
            (_("Result against target"), f"{number(c.result)}{unit} / {number(c.target)}{unit}"),
            (_("Verdict"), verdict),
        ],
    )
    if c.result_note:
        effect.facts.append((_("Result (notes)"), c.result_note))
    if c.effectiveness_note:
        effect.facts.append((_("Note"), c.effectiveness_note))
    if report.kpi is not None and report.kpi.after is not None:
        effect.facts.append(
            (
                _("Mean since the last action was done"),
                f"{number(round(report.kpi.after, 2))}{unit}",
            )
        )
    if report.closure is not None:
        signed = report.closure.signature_meaning
        effect.facts.append(
            (
                _("Closed"),
                (
                    _("%(day)s by %(who)s, signed: %(meaning)s")
                    if signed
                    else _("%(day)s by %(who)s")
                )
                % {
                    "day": day(report.closure.at),
                    "who": report.closed_by or "?",
                    "meaning": texts.signature_meaning(signed, lang) if signed else "",
                },
            )
        )
    follow = Block(
        "follow_up",
        _("Standardisation and follow-up"),
        facts=[(_("What was standardised"), c.standardisation or "—")],
    )
    if report.open_actions:
        follow.lines.append(
            _("Still open: %(keys)s")
            % {"keys": ", ".join(key("action", r.action.id) for r in report.open_actions)}
        )
    for p in report.recurrences:
        follow.lines.append(
            _("Came back after closure: %(key)s %(title)s (%(day)s)")
            % {
                "key": key("problem", p.id),
                "title": texts.problem_text(p, lang).title,
                "day": day(p.reported_at),
            }
        )
    subtitle = " · ".join(
        part
        for part in (
            workflow_title,
            state_title,
            _("Lead: %(name)s") % {"name": report.lead},
            department,
            _("opened %(day)s") % {"day": day(c.created_at)},
            _("closed %(day)s") % {"day": day(c.closed_at)} if c.closed_at else "",
            _("iteration %(n)s") % {"n": c.iteration} if c.iteration > 1 else "",
        )
        if part
    )
    return A3Text(
        title=f"A3 · {key('cycle', c.id)} {c.title}",
        subtitle=subtitle,
        left=[background, current, goal, analysis],
        right=[countermeasures, effect, follow],
        action_head=action_head,
        action_rows=action_rows,
        fishbone_titles=titles,
        why_label=_("Why? ({n})"),
        verdict=verdict,
    )
