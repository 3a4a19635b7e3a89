"""The demo's review meetings: a weekly series with two past meetings (decided, minutes
signed, some items carried over) and the next one prepared and ready to start.

Everything goes through the services, at the times the meetings were held.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from pdca.models import Attendance, Meeting
from pdca.services import actions, cycles, meetings, problems
from pdca.services import meetings_agenda as agenda
from pdca.services import meetings_decisions as decisions
from pdca.services import meetings_minutes as minutes
from pdca.services.accounts import Signature

if TYPE_CHECKING:
    from pdca.demo import _Player

CHAIR = "sarah.chen"
DEPARTMENTS = ("CS", "IT", "OPS", "QA")
ATTENDEES = ("li.na", "david.okafor", "liu.yang", "maria.lopez", "zhang.wei")
# Who came to each past meeting (the others were excused, one was simply absent).
PRESENT = (
    ("sarah.chen", "li.na", "david.okafor", "maria.lopez", "zhang.wei"),
    ("sarah.chen", "li.na", "liu.yang", "maria.lopez"),
)
NOTES = (
    ("Walked through with the owner; the date holds.", "已与负责人确认，期限不变。"),
    ("Waiting for the supplier; look again next week.", "等待供应商回复，下周再看。"),
)
FREE_ITEMS = (
    ("li.na", "CS", "新员工耳机不够用，需要采购十副。"),
    ("david.okafor", "IT", "Monitoring alerts reach the wrong on-call rota."),
)


@dataclass(frozen=True)
class MeetingSummary:
    series: int
    past: int
    ready: int


def load_meetings(player: "_Player", password: str) -> MeetingSummary:
    ids = [player.users[login].id for login in ATTENDEES]
    player.goto(-22)
    series = meetings.create_series(
        player.as_(CHAIR),
        title="Weekly service-quality review",
        weekday=1,
        local_time="10:00",
        time_zone="Asia/Shanghai",
        chair_id=player.users[CHAIR].id,  # type: ignore[arg-type]
        department_ids=[player.departments[code] for code in DEPARTMENTS],
        attendee_ids=ids,  # type: ignore[arg-type]
        quorum=3,
    )
    assert series.id is not None
    _cycle_waiting_for_act(player, password)
    # The third meeting is the next one from today: the two before it were held.
    upcoming = meetings.occurrence_after(series, player.day0)
    player.t = upcoming - timedelta(days=15)
    for number, present in enumerate(PRESENT):
        meeting = meetings.schedule_next(player.as_(CHAIR), series.id)
        _hold(player, meeting, number, present, password)
    ready = meetings.schedule_next(player.as_(CHAIR), series.id)
    # Yesterday at the latest: the demo writes nothing later than the day before it is loaded.
    player.t = min(ready.starts_at, player.day0) - timedelta(days=1)
    for login, code, text in FREE_ITEMS:
        meetings.add_free_item(
            player.as_(login), ready.id, text=text, department_id=player.departments[code]
        )  # type: ignore[arg-type]
    agenda.prepare(player.as_(CHAIR), ready.id, version=ready.version)  # type: ignore[arg-type]
    return MeetingSummary(series.id, len(PRESENT), ready.id)  # type: ignore[arg-type]


def _cycle_waiting_for_act(player: "_Player", password: str) -> None:
    """An Operations cycle whose check is done: the meeting decides to move it to Act."""
    problem = problems.report_problem(
        player.as_("sun.li"),
        title="Night-shift handovers lose open tickets",
        source="internal",
        severity="medium",
        department_id=player.departments["OPS"],
    )
    lead = player.users["tom.becker"]
    cycle = cycles.open_cycle(
        player.as_("tom.becker"),
        title="Handover checklist for the night shift",
        workflow="pdca",
        lead_id=lead.id,  # type: ignore[arg-type]
        problem_ids=[problem.id],  # type: ignore[list-item]
        department_id=player.departments["OPS"],
        fields={
            "objective": "No ticket lost at the night handover",
            "baseline": 6,
            "target": 0,
            "direction": "lower",
            "root_cause": "Handover is oral; nothing lists the open tickets",
            "success_criterion": "No lost ticket for four weeks",
        },
    )
    assert cycle.id is not None
    action = actions.add_action(
        player.as_("tom.becker"),
        cycle.id,
        title="Print the open-ticket list at every handover",
        department_id=player.departments["OPS"],
        owner_id=player.users["sun.li"].id,
        deadline=player.t.date() + timedelta(days=5),
    )
    assert action.id is not None
    cycles.fire_transition(
        player.as_("tom.becker"), cycle.id, trigger="start_do", version=cycle.version
    )
    player.t += timedelta(days=3)
    actions.fire_action(player.as_("sun.li"), action.id, trigger="complete", version=action.version)
    cycles.fire_transition(
        player.as_("tom.becker"), cycle.id, trigger="start_check", version=cycle.version
    )
    actions.verify_action(
        player.as_("zhang.wei"),
        action.id,
        effective=True,
        note="Checked three handovers",
        version=action.version,
        signature=Signature("verified effective", password),
    )
    cycles.update_cycle_fields(
        player.as_("tom.becker"), cycle.id, version=cycle.version, changes={"result": 0}
    )
    cycles.record_effectiveness(
        player.as_("liu.yang"),
        cycle.id,
        effective=True,
        note="No lost ticket since",
        version=cycle.version,
    )


def _hold(
    player: "_Player", meeting: Meeting, number: int, present: tuple[str, ...], password: str
) -> None:
    """Start the meeting at its time, take attendance, decide a few items, end and sign."""
    assert meeting.id is not None
    player.t = meeting.starts_at + timedelta(minutes=2)
    chair = player.as_(CHAIR)
    meeting = agenda.start(chair, meeting.id, version=meeting.version)
    statuses = {
        player.users[login].id: (
            Attendance.present
            if login in present
            else Attendance.absent
            if login == "liu.yang"
            else Attendance.excused
        )
        for login in (CHAIR, *ATTENDEES)
    }
    meeting = meetings.set_attendance(chair, meeting.id, version=meeting.version, statuses=statuses)  # type: ignore[arg-type]
    items = agenda.items_of(chair, meeting)
    # One note in each of the first departments; the rest is carried over.
    seen: set[int | None] = set()
    for item in items:
        if item.department_id in seen or item.entity_type is None:
            continue
        seen.add(item.department_id)
        english, chinese = NOTES[len(seen) % len(NOTES)]
        player.t += timedelta(minutes=4)
        decisions.decide(
            player.as_(CHAIR),
            meeting.id,  # type: ignore[arg-type]
            item.id,  # type: ignore[arg-type]
            decisions.DecisionIn(
                kind="note", item_version=item.version, note=chinese if number else english
            ),
        )
        if len(seen) == 2:
            break
    player.t = meeting.starts_at + timedelta(minutes=55)
    meeting = minutes.end(player.as_(CHAIR), meeting.id, version=meeting.version)  # type: ignore[arg-type]
    player.t += timedelta(hours=3)
    minutes.sign(
        player.as_(CHAIR),
        meeting.id,  # type: ignore[arg-type]
        version=meeting.version,
        signature=Signature(minutes.SIGNATURE_MEANING, password),
    )
