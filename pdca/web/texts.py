"""Texts the system wrote (not a person), shown in the reader's language.

They are stored as a message template with its parameters (habit 14): an event's
note, and the title, description and evidence of a problem raised by a KPI rule.
Rows written before that have only their English text, which is shown as it is.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pdca import i18n
from pdca.engine.facts import N_
from pdca.models import Event, Problem, ProblemOccurrence
from pdca.services import inspections
from pdca.services.audit import system_note_of


def trigger_titles(_: Any) -> dict[str, str]:
    """An action's moves, as their buttons and the API name them."""
    return {
        "start": _("Start"),
        "complete": _("Complete"),
        "verify": _("Verify"),
        "reopen": _("Reopen"),
        "cancel": _("Cancel"),
    }


def rule_titles(_: Any) -> dict[str, str]:
    return {
        "limit_breach": _("Breach of a limit"),
        "warnings_in_a_row": _("Warnings in a row"),
        "spc_beyond_3_sigma": _("A point beyond 3 sigma"),
        "spc_2_of_3_beyond_2_sigma": _("2 of 3 beyond 2 sigma"),
        "spc_4_of_5_beyond_1_sigma": _("4 of 5 beyond 1 sigma"),
        "spc_8_on_one_side": _("8 in a row on one side"),
        "spc_trend_6": _("A trend: 6 rising or falling"),
        "spc_14_alternating": _("14 alternating up and down"),
        "spc_15_within_1_sigma": _("15 hugging the centre line"),
        "spc_8_beyond_1_sigma": _("8 avoiding the centre line"),
        "missing_data": _("Missing data"),
    }


def rule_explanations(_: Any) -> dict[str, str]:
    """What each SPC rule looks for and what it usually means, in words (beside the chart)."""
    return {
        "spc_beyond_3_sigma": _(
            "One point outside the control limits (3 sigma): a special cause acted on that day."
        ),
        "spc_2_of_3_beyond_2_sigma": _(
            "2 of 3 points in a row more than 2 sigma out on the same side: an early shift."
        ),
        "spc_4_of_5_beyond_1_sigma": _(
            "4 of 5 points in a row more than 1 sigma out on the same side: a small shift."
        ),
        "spc_8_on_one_side": _(
            "8 points in a row on one side of the centre line: the level has moved."
        ),
        "spc_trend_6": _(
            "6 points in a row each higher (or lower) than the one before: a drift, e.g. wear "
            "or a growing backlog."
        ),
        "spc_14_alternating": _(
            "14 points in a row alternating up and down: over-adjustment, or two sources "
            "(shifts, teams) taking turns."
        ),
        "spc_15_within_1_sigma": _(
            "15 points in a row within 1 sigma of the centre: less spread than the limits "
            "expect; the baseline may mix several sources (stratification)."
        ),
        "spc_8_beyond_1_sigma": _(
            "8 points in a row more than 1 sigma away on both sides, none near the centre: a "
            "mixture of two processes."
        ),
    }


def _param(value: Any, lang: str) -> Any:
    if isinstance(value, dict) and "en" in value:
        return value.get(lang) or value["en"]
    return value


def translate(template: str, params: dict[str, Any], lang: str, plural: str | None = None) -> str:
    translations = i18n.translations(lang)
    if plural is not None:
        text = translations.ngettext(template, plural, int(params.get("count", 1)))
    else:
        text = translations.gettext(template)
    return str(text) % {k: _param(v, lang) for k, v in params.items()}


def event_note(entry: Event, lang: str) -> str:
    """The event's note: a person's words as written, the system's in the reader's language."""
    note = system_note_of(entry)
    if note is None:
        return entry.note or ""
    return translate(note.template, note.params, lang)


@dataclass(frozen=True)
class ProblemText:
    title: str
    description: str | None
    evidence: str | None


def problem_text(problem: Problem, lang: str) -> ProblemText:
    """Title, description and evidence; those a KPI rule wrote, in the reader's language."""
    written = problem.generated
    if not written:
        return ProblemText(problem.title, problem.description, problem.evidence)
    if written.get("kind") == "inspection":
        return _inspection_text(written, lang)
    reason = written["reason"]
    because = translate(reason["template"], reason["params"], lang, reason.get("plural"))
    kpi = written["kpi"]
    title = f"{kpi['code']} {_param(kpi['name'], lang)}: {because}"
    description = because
    recurrence = written.get("recurrence")
    if recurrence:
        description += "\n" + translate(
            N_(
                "This KPI was improved by %(cycle)s (%(title)s), closed as effective: its "
                "standardisation did not hold."
            ),
            recurrence,
            lang,
        )
    rule = written["rule"]
    rules = rule_titles(i18n.translations(lang).gettext)
    lines = [
        translate(N_("Rule: %(rule)s"), {"rule": rules.get(rule, rule)}, lang),
        *(
            f"{i18n.format_datetime(datetime.fromisoformat(at), lang, 'short')}  "
            f"{i18n.format_number(value, lang)} {written.get('unit') or ''}".rstrip()
            for at, value in written.get("points", [])
        ),
    ]
    return ProblemText(title, description, "\n".join(lines))


def _inspection_text(written: dict[str, Any], lang: str) -> ProblemText:
    """A problem an inspection's failed item raised (templates in pdca.services.inspections)."""
    params = {k: v for k, v in written.items() if k not in ("files", "recurrence")}
    title = translate(inspections.TITLE, params, lang)
    description = translate(inspections.DESCRIPTION, params, lang)
    if written.get("recurrence"):
        description += "\n" + translate(inspections.RECURRENCE, written["recurrence"], lang)
    lines = []
    if written.get("note"):
        lines.append(translate(inspections.NOTE, params, lang))
    if written.get("files"):
        names = ", ".join(f["filename"] for f in written["files"])
        lines.append(translate(inspections.FILES, {"files": names}, lang))
    return ProblemText(title, description, "\n".join(lines) or None)


def occurrence_reason(occurrence: ProblemOccurrence, lang: str) -> str:
    """Why a rule fired this time, in the reader's language when the template was kept."""
    evidence = occurrence.evidence or {}
    reason = evidence.get("reason_i18n")
    if isinstance(reason, dict) and "template" in reason:
        return translate(reason["template"], reason.get("params") or {}, lang, reason.get("plural"))
    return str(
        evidence.get("reason")
        or rule_titles(i18n.translations(lang).gettext).get(occurrence.rule, occurrence.rule)
    )


def value_words(_: Any) -> dict[str, dict[str, str]]:
    """Stored values of a field that are codes, by field: the words a reader sees."""
    yes_no = {"True": _("yes"), "False": _("no"), "true": _("yes"), "false": _("no")}
    return {
        "direction": {"lower": _("lower is better"), "higher": _("higher is better")},
        "effectiveness": {"effective": _("Effective"), "not_effective": _("Not effective")},
        "escalated": yes_no,
        "active": yes_no,
        "hard": yes_no,
        "effective": yes_no,
    }


def history_value(field: str | None, value: str | None, lang: str) -> str:
    """A value in a history line: codes in words, nothing as "none" (never a bare ∅)."""
    gettext = i18n.translations(lang).gettext
    if value is None or value == "":
        return str(gettext("none"))
    return value_words(gettext).get(field or "", {}).get(value, value)


def signature_meaning(meaning: str, lang: str) -> str:
    gettext = i18n.translations(lang).gettext
    words = {
        "verified effective": gettext("verified effective"),
        "verified not effective": gettext("verified not effective"),
        "approved closure": gettext("approved closure"),
        "approved minutes": gettext("approved minutes"),
    }
    return str(words.get(meaning, meaning))


def trail_words(_: Any) -> dict[str, dict[str, str]]:
    """What the audit trail page names: every verb, record kind and status it may show."""
    verbs = {
        "created": _("Created"),
        "field_changed": _("Changed"),
        "start": _("Started"),
        "complete": _("Completed"),
        "verify": _("Verified"),
        "reopen": _("Reopened"),
        "cancel": _("Cancelled"),
        "dependency_added": _("Now waits for"),
        "dependency_removed": _("No longer waits for"),
        "commented": _("Commented"),
        "evidence_added": _("Evidence attached"),
        "evidence_removed": _("Evidence deleted"),
        "escalated": _("Escalated"),
        "opened": _("Opened"),
        "transition": _("Moved"),
        "effectiveness_judged": _("Effectiveness judged"),
        "member_added": _("Joined the team"),
        "member_removed": _("Left the team"),
        "problem_linked": _("Problem linked"),
        "reported": _("Reported"),
        "triaged": _("Triaged"),
        "occurred": _("Occurred again"),
        "resolved": _("Resolved"),
        "linked_to_cycle": _("Linked to a cycle"),
        "measurements_ingested": _("Measurements stored"),
        "signed_in": _("Signed in"),
        "signed_out": _("Signed out"),
        "password_changed": _("Password changed"),
        "token_created": _("Token created"),
        "token_revoked": _("Token revoked"),
        "verified": _("Trail verified"),
        "agenda_built": _("Agenda built"),
        "attendance": _("Attendance taken"),
        "decided": _("Decided"),
        "minutes_signed": _("Minutes signed"),
        "planned": _("Planned"),
        "item_added": _("Agenda item added"),
        "calendar_feed_created": _("Calendar feed created"),
        "calendar_feed_revoked": _("Calendar feed revoked"),
        "notification_preferences_saved": _("Notification settings saved"),
        "prepared": _("Agenda built"),
        "in_progress": _("Started"),
        "ended": _("Ended"),
        "signed": _("Minutes signed"),
        "revised": _("New version"),
        "answered": _("Answers saved"),
        "submitted": _("Submitted"),
        "acknowledged": _("Acknowledged"),
    }
    records = {
        "action": _("Action"),
        "cycle": _("Cycle"),
        "problem": _("Problem"),
        "kpi": "KPI",
        "user": _("User"),
        "department": _("Department"),
        "trail": _("Audit trail"),
        "meeting": _("Meeting"),
        "meeting_series": _("Series"),
        "token": _("Token"),
        "board": _("Action board"),
        "wip_limit": _("WIP limits"),
        "webhook": _("Webhook"),
        "checklist": _("Checklist"),
        "inspection": _("Inspection"),
    }
    statuses = {
        "open": _("Open"),
        "in_progress": _("In progress"),
        "done": _("Done"),
        "verified": _("Verified"),
        "cancelled": _("Cancelled"),
        "new": _("New"),
        "accepted": _("Accepted"),
        "rejected": _("Rejected"),
        "duplicate": _("Duplicate"),
        "planned": _("Planned"),
        "ended": _("Ended"),
        "signed": _("Minutes signed"),
        "submitted": _("Submitted"),
        "acknowledged": _("Acknowledged"),
    }
    return {"verbs": verbs, "records": records, "statuses": statuses}
