"""The minutes in words, in one language and one time zone: the page, the Markdown
download and the PDF all draw from these sections, so they always say the same thing."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pdca import i18n
from pdca.services.catalog import WorkflowCatalog
from pdca.web.texts import snapshot_title


@dataclass(frozen=True)
class Section:
    title: str
    lines: list[str]
    empty: str = ""


@dataclass(frozen=True)
class MinutesText:
    title: str
    facts: list[tuple[str, str]]
    sections: list[Section] = field(default_factory=list)
    signature: str = ""


def attendance_titles(_: Callable[[str], str]) -> dict[str, str]:
    return {"present": _("present"), "excused": _("excused"), "absent": _("absent")}


def item_kind_titles(_: Callable[[str], str]) -> dict[str, str]:
    return {
        "overdue_action": _("Overdue actions"),
        "due_action": _("Due before the next meeting"),
        "to_verify": _("Done, waiting for verification"),
        "cycle_decision": _("Cycles waiting for a decision"),
        "untriaged_problem": _("Problems not yet triaged"),
        "kpi_breach": _("KPI breaches since the last meeting"),
        "carried_over": _("Carried over from the last meeting"),
        "free": _("Items from attendees"),
    }


def kpi_status_titles(_: Callable[[str], str]) -> dict[str, str]:
    return {
        "on_target": _("on target"),
        "off_target": _("off target"),
        "warning": _("warning"),
        "breach": _("breach"),
        "no_data": _("no data"),
    }


def in_zone(value: str | datetime | None, tz: ZoneInfo) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(tz)


def state_title(catalog: WorkflowCatalog, workflow: str, state: str, lang: str) -> str:
    try:
        titles = catalog.current(workflow).states[state].titles
    except (KeyError, ValueError, LookupError):
        return state
    return titles.get(lang) or titles.get("en") or state


def dept(d: dict[str, Any] | None, lang: str) -> str:
    if not d:
        return ""
    name = (d.get("name_zh") if lang == "zh_CN" else None) or d.get("name") or ""
    code = d.get("code") or ""
    return code if name in ("", code) else f"{code} {name}"


def decision_sentence(
    decision: dict[str, Any], lang: str, catalog: WorkflowCatalog, fmt_day: Callable[[str], str]
) -> str:
    """What was decided, from the decision's kind and parameters (never stored as prose)."""
    _ = i18n.translations(lang).gettext
    p, names = decision["params"], decision.get("names", {})
    kind = decision["kind"]
    none = _("nobody")
    if kind == "new_action":
        return _("New action %(key)s “%(title)s” in %(cycle)s: %(owner)s, due %(deadline)s") % {
            "key": p["key"],
            "title": p["title"],
            "cycle": p["cycle"],
            "owner": names.get("owner_id") or none,
            "deadline": fmt_day(p["deadline"]) if p.get("deadline") else "—",
        }
    if kind == "reassign":
        return _("%(key)s “%(title)s” reassigned from %(from)s to %(to)s") % {
            "key": p["key"],
            "title": p["title"],
            "from": names.get("from") or none,
            "to": names.get("to") or none,
        }
    if kind == "redate":
        return _("%(key)s “%(title)s” re-dated from %(from)s to %(to)s") % {
            "key": p["key"],
            "title": p["title"],
            "from": fmt_day(p["from"]) if p.get("from") else "—",
            "to": fmt_day(p["to"]) if p.get("to") else "—",
        }
    if kind == "transition":
        return _("%(key)s “%(title)s” moved from %(from)s to %(to)s") % {
            "key": p["key"],
            "title": p["title"],
            "from": state_title(catalog, p["workflow"], p["from"], lang),
            "to": state_title(catalog, p["workflow"], p["to"], lang),
        }
    if kind == "triage":
        text = (
            _("%(key)s “%(title)s” accepted")
            if p.get("decision") == "accept"
            else _("%(key)s “%(title)s” rejected")
        )
        return text % {"key": p["key"], "title": snapshot_title(p, lang)}
    if kind == "open_cycle":
        return _("Cycle %(key)s “%(title)s” opened on %(problem)s, led by %(lead)s") % {
            "key": p["key"],
            "title": p["title"],
            "problem": p["problem"],
            "lead": names.get("lead_id") or none,
        }
    return _("Note on %(key)s “%(title)s”") % {
        "key": p.get("key") or "—",
        "title": snapshot_title(p, lang),
    }


def minutes_text(
    minutes: dict[str, Any],
    lang: str,
    tz: ZoneInfo,
    catalog: WorkflowCatalog,
    signed: tuple[str, datetime] | None = None,
) -> MinutesText:
    _ = i18n.translations(lang).gettext
    meeting = minutes["meeting"]

    def when(value: str | None) -> str:
        moment = in_zone(value, tz)
        return i18n.format_datetime(moment.replace(tzinfo=None), lang, "medium") if moment else ""

    def day(value: str) -> str:
        return i18n.format_date(date.fromisoformat(value), lang, "medium")

    zone_name = str(tz.key)
    facts = [
        (_("When"), f"{when(meeting.get('started_at') or meeting['starts_at'])} ({zone_name})"),
        (_("Ended"), f"{when(meeting['ended_at'])} ({zone_name})"),
        (_("Chair"), meeting.get("chair") or ""),
        (
            _("Departments"),
            ", ".join(dept(d, lang) for d in meeting.get("departments") or []) or _("All"),
        ),
    ]
    quorum = minutes["quorum"]
    quorum_line = (
        _("Quorum met: %(present)d present of %(needed)d needed.")
        if quorum["met"]
        else _("Quorum NOT met: %(present)d present of %(needed)d needed.")
    ) % {"present": quorum["present"], "needed": quorum["needed"]}
    statuses = attendance_titles(_)
    attendance = [
        f"{a['name']} ({dept(a.get('department'), lang)}): {statuses.get(a['status'], a['status'])}"
        for a in minutes["attendance"]
    ] + [quorum_line]
    decisions = []
    for d in minutes["decisions"]:
        line = decision_sentence(d, lang, catalog, day)
        by = _("by %(who)s, %(when)s") % {"who": d.get("by") or _("system"), "when": when(d["at"])}
        where = dept(d.get("department"), lang)
        text = f"{where + ' · ' if where else ''}{line} — {by}"
        if d.get("note"):
            text += f". {_('Note')}: {d['note']}"
        decisions.append(text)
    new_actions = [
        _("%(key)s “%(title)s” (%(department)s): %(owner)s, due %(deadline)s")
        % {
            "key": a["key"],
            "title": a["title"],
            "department": dept(a.get("department"), lang),
            "owner": a.get("owner") or _("nobody"),
            "deadline": day(a["deadline"]) if a.get("deadline") else "—",
        }
        for a in minutes["new_actions"]
    ]
    kinds = item_kind_titles(_)
    carried = [
        f"{dept(c.get('department'), lang)} · {kinds.get(c['kind'], c['kind'])}: "
        f"{(c.get('key') + ' ') if c.get('key') else ''}{snapshot_title(c, lang)}"
        for c in minutes["carried_over"]
    ]
    kpi_status = kpi_status_titles(_)
    kpi_lines = [
        _("%(code)s %(name)s: %(latest)s %(unit)s at %(when)s (target %(target)s), %(status)s")
        % {
            "code": k["code"],
            "name": (k.get("name_zh") if lang == "zh_CN" else None) or k["name"],
            "latest": i18n.format_number(k["latest"], lang) if k.get("latest") is not None else "—",
            "unit": k.get("unit") or "",
            "when": when(k.get("latest_at")) or "—",
            "target": i18n.format_number(k["target"], lang),
            "status": kpi_status.get(k["status"], k["status"]),
        }
        for k in minutes["kpis"]
    ]
    signature = ""
    if signed is not None:
        signature = _("Signed by %(who)s on %(when)s (approved minutes, password re-entered).") % {
            "who": signed[0],
            "when": f"{when(signed[1].isoformat())} ({zone_name})",
        }
    return MinutesText(
        title=_("Minutes: %(title)s") % {"title": meeting["title"]},
        facts=facts,
        sections=[
            Section(_("Attendance"), attendance),
            Section(_("Decisions"), decisions, _("No decision was taken.")),
            Section(_("New actions"), new_actions, _("No new action.")),
            Section(_("Carried over to the next meeting"), carried, _("Nothing is carried over.")),
            Section(
                _("KPIs shown, as they stood when the meeting ended"),
                kpi_lines,
                _("No KPI was shown."),
            ),
        ],
        signature=signature or _("Not signed yet."),
    )


def as_markdown(text: MinutesText) -> str:
    out = [f"# {text.title}", ""]
    out += [f"- **{label}:** {value}" for label, value in text.facts]
    for section in text.sections:
        out += ["", f"## {section.title}", ""]
        out += [f"- {line}" for line in section.lines] or [f"_{section.empty}_"]
    out += ["", f"_{text.signature}_", ""]
    return "\n".join(out)
