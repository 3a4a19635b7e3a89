"""Minutes: written when the meeting ends, signed by the chair, read-only afterwards.

The minutes are data (ids, keys, names, dates and message parameters), stored on the
meeting when it ends, so they say what happened then whatever the records do later;
pages, Markdown and PDF render them in the reader's language.
"""

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from pdca.engine import detection
from pdca.models import (
    Action,
    Attendance,
    Department,
    Kpi,
    Measurement,
    Meeting,
    MeetingStatus,
    User,
)
from pdca.services import audit, kpis
from pdca.services.accounts import Signature, check_signature
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Conflict
from pdca.services.keys import key
from pdca.services.meetings import attendees_of, editing, meeting_label, move
from pdca.services.meetings_agenda import items_of
from pdca.services.meetings_decisions import decisions_of
from pdca.services.policy import can_sign_minutes, require
from pdca.services.store import compare_and_set

SIGNATURE_MEANING = "approved minutes"


def _names(ctx: Ctx, ids: set[int]) -> dict[int, str]:
    ids.discard(None)  # type: ignore[arg-type]
    if not ids:
        return {}
    rows = ctx.session.exec(select(User.id, User.name).where(col(User.id).in_(ids))).all()
    return {i: n for i, n in rows}  # type: ignore[misc]


def _departments(ctx: Ctx) -> dict[int, Department]:
    return {d.id: d for d in ctx.session.exec(select(Department))}  # type: ignore[misc]


def _department(departments: dict[int, Department], department_id: int | None) -> dict | None:
    d = departments.get(department_id) if department_id is not None else None
    return None if d is None else {"code": d.code, "name": d.name, "name_zh": d.name_zh}


def generate(ctx: Ctx, meeting: Meeting) -> dict[str, Any]:
    """The minutes of a meeting, as data: attendance and quorum, every decision with
    who, what and when, the new actions, what is carried over, and the KPIs shown."""
    assert meeting.id is not None
    departments = _departments(ctx)
    attendance = attendees_of(ctx, meeting.id)
    present = sum(1 for a, _ in attendance if a.status == Attendance.present)
    decisions = decisions_of(ctx, meeting.id)
    items = items_of(ctx, meeting)
    decided_items = {d.item_id for d in decisions}
    by_item = {i.id: i for i in items}
    people = {d.decided_by_id for d in decisions} | {meeting.chair_id}
    people |= {d.params.get("owner_id") for d in decisions} | {
        d.params.get("lead_id") for d in decisions
    }
    people |= {d.params.get(k) for d in decisions if d.kind == "reassign" for k in ("from", "to")}
    names = _names(ctx, {p for p in people if isinstance(p, int)})
    new_action_ids = [d.entity_id for d in decisions if d.kind == "new_action"]
    new_actions = (
        list(ctx.session.exec(select(Action).where(col(Action.id).in_(new_action_ids))))
        if new_action_ids
        else []
    )
    owner_names = _names(ctx, {a.owner_id for a in new_actions if a.owner_id is not None})
    kpi_ids = {i.entity_id for i in items if i.entity_type == "kpi"}
    kpi_ids |= {i.facts.get("kpi_id") for i in items if i.facts.get("kpi_id")}
    return {
        "meeting": {
            "id": meeting.id,
            "label": meeting_label(meeting.id),
            "title": meeting.title,
            "starts_at": meeting.starts_at.isoformat(),
            "started_at": meeting.started_at.isoformat() if meeting.started_at else None,
            "ended_at": ctx.now().isoformat(),
            "time_zone": meeting.time_zone,
            "chair": names.get(meeting.chair_id),
            "departments": [_department(departments, d) for d in meeting.department_ids],
        },
        "attendance": [
            {
                "name": user.name,
                "department": _department(departments, user.department_id),
                "status": a.status,
            }
            for a, user in attendance
        ],
        "quorum": {"needed": meeting.quorum, "present": present, "met": present >= meeting.quorum},
        "decisions": [
            {
                "kind": d.kind,
                "params": d.params,
                "names": {
                    k: names.get(v)
                    for k, v in d.params.items()
                    if isinstance(v, int) and (k in ("owner_id", "lead_id") or d.kind == "reassign")
                },
                "note": d.note,
                "by": names.get(d.decided_by_id),  # type: ignore[arg-type]
                "at": d.decided_at.isoformat(),
                "item_kind": by_item[d.item_id].kind if d.item_id in by_item else None,
                "department": _department(
                    departments, by_item[d.item_id].department_id if d.item_id in by_item else None
                ),
            }
            for d in decisions
        ],
        "new_actions": [
            {
                "key": key("action", a.id),
                "title": a.title,
                "owner": owner_names.get(a.owner_id),  # type: ignore[arg-type]
                "deadline": a.deadline.isoformat() if a.deadline else None,
                "department": _department(departments, a.department_id),
            }
            for a in new_actions
        ],
        "carried_over": [
            {
                "kind": i.facts.get("original_kind", i.kind),
                "key": i.facts.get("key") or i.facts.get("code"),
                "title": i.facts.get("title") or i.facts.get("name") or i.text,
                "generated": i.facts.get("generated"),
                "department": _department(departments, i.department_id),
            }
            for i in items
            if i.id not in decided_items
        ],
        "kpis": kpi_snapshot(ctx, {k for k in kpi_ids if isinstance(k, int)}, ctx.now()),
        "kpis_taken_at": ctx.now().isoformat(),
    }


def kpi_snapshot(ctx: Ctx, kpi_ids: set[int], at: datetime) -> list[dict[str, Any]]:
    """The readings of the KPIs the meeting looked at, as they stood at `at`: each KPI's
    last measurement taken by then (never a later one, even if it is already stored),
    judged against its limits. The minutes keep this, so they show what the room saw."""
    if not kpi_ids:
        return []
    snapshot = []
    for kpi in ctx.session.exec(select(Kpi).where(col(Kpi.id).in_(kpi_ids)).order_by(Kpi.code)):
        last = ctx.session.exec(
            select(Measurement.at, Measurement.value)
            .where(Measurement.kpi_id == kpi.id, col(Measurement.at) <= at)
            .order_by(col(Measurement.at).desc())
            .limit(1)
        ).first()
        # A reading older than two intervals says nothing about now (as on the scorecard).
        stale = last is None or last[0] < at - timedelta(hours=kpi.interval_hours) * 2
        snapshot.append(
            {
                "code": kpi.code,
                "name": kpi.name,
                "name_zh": kpi.name_zh,
                "unit": kpi.unit,
                "target": kpi.target,
                "latest": last[1] if last else None,
                "latest_at": last[0].isoformat() if last else None,
                "status": (
                    detection.NO_DATA if stale else detection.status(kpis.spec_of(kpi), last[1])  # type: ignore[index]
                ),
            }
        )
    return snapshot


def signed_by(ctx: Ctx, meeting: Meeting) -> tuple[str, datetime] | None:
    """Who signed the minutes and when, or None while they are not signed."""
    if meeting.signed_by_id is None or meeting.signed_at is None:
        return None
    signer = ctx.session.get(User, meeting.signed_by_id)
    return (signer.name if signer else "?"), meeting.signed_at


def end(ctx: Ctx, meeting_id: int, *, version: int | None) -> Meeting:
    """Close the meeting and write its minutes; undecided items go to the next meeting."""
    with unit_of_work(ctx):
        meeting = editing(ctx, meeting_id, version)
        if meeting.status != MeetingStatus.in_progress:
            raise Conflict(f"{meeting_label(meeting_id)} is {meeting.status}; it cannot end.")
        minutes = generate(ctx, meeting)
        move(ctx, meeting, MeetingStatus.ended, {"ended_at": ctx.now(), "minutes": minutes})
    return meeting


def sign(ctx: Ctx, meeting_id: int, *, version: int | None, signature: Signature | None) -> Meeting:
    """The chair signs the minutes (password re-entered, as for a verification)."""
    with unit_of_work(ctx):
        meeting = editing(ctx, meeting_id, version)
        require(can_sign_minutes(ctx.actor, meeting.chair_id))
        if meeting.status != MeetingStatus.ended:
            raise Conflict(
                f"{meeting_label(meeting_id)} is {meeting.status}: only the minutes of an "
                "ended meeting are signed."
            )
        method = check_signature(ctx, signature, (SIGNATURE_MEANING,))
        old = meeting.status
        compare_and_set(
            ctx,
            meeting,
            meeting_label(meeting_id),
            {
                "status": MeetingStatus.signed,
                "signed_by_id": ctx.actor_id,
                "signed_at": ctx.now(),
            },
        )
        audit.record(
            ctx,
            "meeting",
            meeting_id,
            "minutes_signed",
            field="status",
            old=old,
            new=MeetingStatus.signed,
            signature=(SIGNATURE_MEANING, method) if method != "system" else None,
        )
    return meeting
