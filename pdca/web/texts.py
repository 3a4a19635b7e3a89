"""Texts the system wrote (not a person), shown in the reader's language.

They are stored as a message template with its parameters (habit 14): an event's
note, and the title, description and evidence of a problem raised by a KPI rule.
Rows written before that have only their English text, which is shown as it is.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from pdca import i18n
from pdca.engine.facts import N_
from pdca.models import Event, Problem, ProblemOccurrence
from pdca.services import inspections
from pdca.services.audit import system_note_of
from pdca.services.indexes import STOOD_ON, TOP_MEMBER, TOP_MEMBER_NO_REFERENCE


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
        "complaint_volume": _("Many complaints of one category"),
        "complaint_severe": _("A severe complaint"),
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


def _param(value: Any, lang: str, zone: tzinfo | None = None, region: str | None = None) -> Any:
    if isinstance(value, dict) and "en" in value:
        return value.get(lang) or value["en"]
    if isinstance(value, dict) and "utc" in value:
        # A moment (see engine.facts.moment): in the reader's locale and zone, as pages show times.
        at = datetime.fromisoformat(value["utc"]).astimezone(zone or UTC)
        return i18n.format_datetime(at, region or lang, "medium")
    return value


def translate(
    template: str,
    params: dict[str, Any],
    lang: str,
    plural: str | None = None,
    *,
    zone: tzinfo | None = None,
    region: str | None = None,
) -> str:
    """A stored template and its parameters in the reader's language (times in `zone`,
    formatted for `region`, e.g. en_US; UTC and the language's own format without them)."""
    translations = i18n.translations(lang)
    if plural is not None:
        text = translations.ngettext(template, plural, int(params.get("count", 1)))
    else:
        text = translations.gettext(template)
    return str(text) % {k: _param(v, lang, zone, region) for k, v in params.items()}


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


def problem_text(
    problem: Problem, lang: str, zone: tzinfo | None = None, region: str | None = None
) -> ProblemText:
    """Title, description and evidence; those a KPI rule wrote, in the reader's language."""
    written = problem.generated
    if not written:
        return ProblemText(problem.title, problem.description, problem.evidence)
    if written.get("kind") == "complaint":
        return _complaint_problem_text(problem, written, lang)
    if written.get("kind") == "inspection":
        return _inspection_text(written, lang)
    reason = written["reason"]
    because = translate(
        reason["template"], reason["params"], lang, reason.get("plural"), zone=zone, region=region
    )
    if written.get("kind") == "index":
        return _index_problem_text(written, because, lang)
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


def snapshot_title(snapshot: dict[str, Any], lang: str) -> str:
    """The title of a problem kept in a snapshot (an agenda item's facts, a decision, the
    minutes): when the system wrote it, the snapshot keeps its message (`generated`) and
    the reader gets it in their language; otherwise the title as people typed it."""
    title = str(snapshot.get("title") or "")
    written = snapshot.get("generated")
    if not isinstance(written, dict) or not written:
        return title
    try:
        return problem_text(Problem(title=title, generated=written), lang).title
    except (KeyError, TypeError, ValueError):
        return title  # a snapshot from before its message was kept whole


def _index_problem_text(written: dict[str, Any], because: str, lang: str) -> ProblemText:
    """A problem a composite index raised: which member pulled it down, and how far."""
    index = written["index"]
    where = f" ({written['department']})" if written.get("department") else ""
    title = f"{index['code']}{where} {_param(index['name'], lang)}: {because}"
    lines = [because]
    for member in written.get("pulled_down", [])[:1]:
        params = {
            "kpi": member["kpi"],
            "name": member["name"],
            "points": i18n.format_number(member["points"], lang),
            "since": i18n.format_date(date.fromisoformat(written["since"]), lang, "short")
            if written.get("since")
            else "",
        }
        template = TOP_MEMBER if written.get("since") else TOP_MEMBER_NO_REFERENCE
        lines.append(translate(template, params, lang))
    lines.append(
        translate(
            STOOD_ON,
            {"used": written["members_used"], "total": written["members_total"]},
            lang,
        )
    )
    rules = rule_titles(i18n.translations(lang).gettext)
    rule = written["rule"]
    evidence = [
        translate(N_("Rule: %(rule)s"), {"rule": rules.get(rule, rule)}, lang),
        *(
            f"{i18n.format_date(datetime.fromisoformat(at).date(), lang, 'short')}  "
            f"{i18n.format_number(value, lang)}"
            for at, value in written.get("points", [])
        ),
    ]
    return ProblemText(title, "\n".join(lines), "\n".join(evidence))


def _complaint_problem_text(problem: Problem, written: dict[str, Any], lang: str) -> ProblemText:
    """A problem the complaint intake rules raised: its words in the reader's language."""
    reason = written["reason"]
    title = translate(reason["template"], reason["params"], lang, reason.get("plural"))
    rule = str(written.get("rule"))
    description = written.get("complaint_text") or title
    evidence = translate(
        N_("Rule: %(rule)s"),
        {"rule": rule_titles(i18n.translations(lang).gettext).get(rule, rule)},
        lang,
    )
    return ProblemText(title, description, evidence)


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


def occurrence_reason(
    occurrence: ProblemOccurrence, lang: str, zone: tzinfo | None = None, region: str | None = None
) -> str:
    """Why a rule fired this time, in the reader's language when the template was kept."""
    evidence = occurrence.evidence or {}
    reason = evidence.get("reason_i18n")
    if isinstance(reason, dict) and "template" in reason:
        params = reason.get("params") or {}
        return translate(
            reason["template"], params, lang, reason.get("plural"), zone=zone, region=region
        )
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
        "category": {
            "process": _("Process"),
            "people": _("People and skills"),
            "system": _("Systems and tools"),
            "supplier": _("Supplier"),
            "policy": _("Policy and rules"),
            "environment": _("Environment"),
        },
        "root_cause_category": {
            "people": _("People"),
            "methods": _("Methods"),
            "machines": _("Machines and tools"),
            "materials": _("Materials and inputs"),
            "measurement": _("Measurement"),
            "environment": _("Environment"),
        },
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
        "baseline_point_excluded": _("Baseline point excluded"),
        "baseline_point_included": _("Baseline point counted again"),
        "limits_frozen": _("Control limits frozen"),
        "limits_unfrozen": _("Control limits unfrozen"),
        "limits_recalculated": _("Control limits recalculated"),
        "limits_step_removed": _("Recalculated limits withdrawn"),
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
        "received": _("Complaint received"),
        # A survey's answer and an inspection's saved answers share the verb.
        "answered": _("Answered"),
        "questions_changed": _("Questions changed"),
        "open_link_made": _("Open link made"),
        "revised": _("New version"),
        "submitted": _("Submitted"),
        "acknowledged": _("Acknowledged"),
        "reviewed": _("Scored by a reviewer"),
        "skipped": _("Skipped"),
        "open_link_closed": _("Open link turned off"),
        "wip_limit_set": _("WIP limit set"),
        "escalation_ladder_saved": _("Escalation ladder saved"),
        "occurrence_withdrawn": _("Occurrence withdrawn"),
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
        "complaint": _("Complaint"),
        "complaint_category": _("Complaint category"),
        "survey": _("Survey"),
        "survey_response": _("Survey answer"),
        "invitation": _("Survey invitation"),
        "dimension": _("Quality dimension"),
        "checklist": _("Checklist"),
        "inspection": _("Inspection"),
        "inspection_plan": _("Inspection plan"),
        "organisation": _("Organisation"),
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
