"""Review meetings: series, meetings, their agenda, decisions and minutes."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from pdca import i18n
from pdca.models import Meeting, MeetingItem
from pdca.services import accounts, meetings
from pdca.services import meetings_agenda as agenda
from pdca.services import meetings_decisions as decisions
from pdca.services import meetings_minutes as minutes
from pdca.services.context import Ctx
from pdca.services.errors import Conflict
from pdca.web.api import schemas_meetings as s
from pdca.web.api.idempotency import ApiRoute
from pdca.web.api.schemas import PageOut
from pdca.web.deps import CtxDep
from pdca.web.minutes_pdf import find_font, minutes_pdf
from pdca.web.minutes_text import as_markdown, minutes_text
from pdca.web.zones import reader_zone

router = APIRouter(tags=["meetings"], route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]
MARKDOWN = "text/markdown; charset=utf-8"


def meeting_out(ctx: Ctx, meeting: Meeting) -> s.MeetingOut:
    assert meeting.id is not None
    attendees = meetings.attendees_of(ctx, meeting.id)
    present, met = meetings.quorum_of(ctx, meeting)
    return s.MeetingOut(
        **meeting.model_dump(exclude={"minutes", "created_by_id", "created_at"}),
        present=present,
        quorum_met=met,
        attendees=[
            s.AttendeeOut(user_id=u.id, name=u.name, status=a.status)  # type: ignore[arg-type]
            for a, u in attendees
        ],
    )


# --- series -------------------------------------------------------------------


@router.get("/meeting-series", response_model=list[s.SeriesOut])
def list_series(ctx: CtxDep) -> list[s.SeriesOut]:
    return [s.SeriesOut(**x.model_dump()) for x in meetings.list_series(ctx)]


@router.post("/meeting-series", status_code=201, response_model=s.SeriesOut)
def create_series(ctx: CtxDep, body: s.SeriesCreate) -> s.SeriesOut:
    return s.SeriesOut(**meetings.create_series(ctx, **body.model_dump()).model_dump())


@router.get("/meeting-series/{series_id}", response_model=s.SeriesOut)
def get_series(ctx: CtxDep, series_id: int) -> s.SeriesOut:
    return s.SeriesOut(**meetings.get_series(ctx, series_id).model_dump())


@router.patch(
    "/meeting-series/{series_id}",
    response_model=s.SeriesOut,
    summary="Change a series (its chair, facilitators, administrators); meetings already "
    "planned keep theirs",
)
def update_series(ctx: CtxDep, series_id: int, body: s.SeriesUpdate) -> s.SeriesOut:
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    series = meetings.update_series(ctx, series_id, version=body.version, changes=changes)
    return s.SeriesOut(**series.model_dump())


@router.post(
    "/meeting-series/{series_id}/meetings",
    status_code=201,
    response_model=s.MeetingOut,
    summary="Plan the series' next meeting",
)
def schedule_next(ctx: CtxDep, series_id: int) -> s.MeetingOut:
    return meeting_out(ctx, meetings.schedule_next(ctx, series_id))


# --- meetings -----------------------------------------------------------------


@router.get("/meetings", response_model=PageOut[s.MeetingOut])
def list_meetings(
    ctx: CtxDep,
    series_id: int | None = None,
    status: Literal["planned", "in_progress", "ended", "signed"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> PageOut[s.MeetingOut]:
    rows = meetings.list_meetings(ctx, series_id=series_id, status=status)
    page = rows[offset : offset + limit]
    return PageOut(
        items=[meeting_out(ctx, m) for m in page], total=len(rows), limit=limit, offset=offset
    )


@router.post("/meetings", status_code=201, response_model=s.MeetingOut)
def create_meeting(ctx: CtxDep, body: s.MeetingCreate) -> s.MeetingOut:
    return meeting_out(ctx, meetings.create_meeting(ctx, **body.model_dump()))


@router.get("/meetings/{meeting_id}", response_model=s.MeetingOut)
def get_meeting(ctx: CtxDep, meeting_id: int) -> s.MeetingOut:
    return meeting_out(ctx, meetings.get_meeting(ctx, meeting_id))


@router.post(
    "/meetings/{meeting_id}/prepare",
    response_model=s.MeetingOut,
    summary="Build the agenda from the data",
)
def prepare(ctx: CtxDep, meeting_id: int, body: s.VersionIn) -> s.MeetingOut:
    return meeting_out(ctx, agenda.prepare(ctx, meeting_id, version=body.version))


@router.post(
    "/meetings/{meeting_id}/start",
    response_model=s.MeetingOut,
    summary="Start: the agenda is rebuilt from this moment's data",
)
def start(ctx: CtxDep, meeting_id: int, body: s.VersionIn) -> s.MeetingOut:
    return meeting_out(ctx, agenda.start(ctx, meeting_id, version=body.version))


@router.post(
    "/meetings/{meeting_id}/end",
    response_model=s.MeetingOut,
    summary="End: the minutes are written; undecided items are carried over",
)
def end(ctx: CtxDep, meeting_id: int, body: s.VersionIn) -> s.MeetingOut:
    return meeting_out(ctx, minutes.end(ctx, meeting_id, version=body.version))


@router.put("/meetings/{meeting_id}/attendance", response_model=s.MeetingOut)
def set_attendance(ctx: CtxDep, meeting_id: int, body: s.AttendanceIn) -> s.MeetingOut:
    meeting = meetings.set_attendance(
        ctx, meeting_id, version=body.version, statuses=dict(body.attendance)
    )
    return meeting_out(ctx, meeting)


# --- agenda and decisions -------------------------------------------------------


def item_out(item: MeetingItem, decided: set[int]) -> s.ItemOut:
    return s.ItemOut(**item.model_dump(), decided=item.id in decided)


@router.get("/meetings/{meeting_id}/agenda", response_model=list[s.ItemOut])
def get_agenda(ctx: CtxDep, meeting_id: int) -> list[s.ItemOut]:
    meeting = meetings.get_meeting(ctx, meeting_id)
    decided = {d.item_id for d in decisions.decisions_of(ctx, meeting_id)}
    return [item_out(i, decided) for i in agenda.items_of(ctx, meeting)]


@router.post(
    "/meetings/{meeting_id}/agenda",
    status_code=201,
    response_model=s.ItemOut,
    summary="Add a free item (any attendee, before or during the meeting)",
)
def add_item(ctx: CtxDep, meeting_id: int, body: s.FreeItemIn) -> s.ItemOut:
    item = meetings.add_free_item(ctx, meeting_id, text=body.text, department_id=body.department_id)
    return item_out(item, set())


@router.get("/meetings/{meeting_id}/decisions", response_model=list[s.DecisionOut])
def list_decisions(ctx: CtxDep, meeting_id: int) -> list[s.DecisionOut]:
    meetings.get_meeting(ctx, meeting_id)
    return [s.DecisionOut(**d.model_dump()) for d in decisions.decisions_of(ctx, meeting_id)]


@router.post(
    "/meetings/{meeting_id}/decisions",
    status_code=201,
    response_model=s.DecisionOut,
    summary="Decide on an agenda item, through the ordinary service of what it changes",
)
def decide(ctx: CtxDep, meeting_id: int, body: s.DecisionIn) -> s.DecisionOut:
    fields = body.model_dump(exclude={"item_id"})
    made = decisions.decide(ctx, meeting_id, body.item_id, decisions.DecisionIn(**fields))
    return s.DecisionOut(**made.model_dump())


# --- minutes ------------------------------------------------------------------


def _minutes_of(ctx: Ctx, meeting_id: int) -> Meeting:
    meeting = meetings.get_meeting(ctx, meeting_id)
    if meeting.minutes is None:
        raise Conflict(
            f"{meetings.meeting_label(meeting_id)} has no minutes yet: it has not ended."
        )
    return meeting


@router.get(
    "/meetings/{meeting_id}/minutes",
    response_model=s.MinutesOut,
    summary="The minutes: JSON, or text/markdown or application/pdf (Accept or ?format=)",
    responses={200: {"content": {"text/markdown": {}, "application/pdf": {}}}},
)
def get_minutes(
    request: Request,
    ctx: CtxDep,
    meeting_id: int,
    format: Literal["json", "markdown", "pdf"] | None = None,
    lang: Literal["en", "zh_CN"] | None = None,
    tz: Annotated[
        str | None,
        Query(
            max_length=64,
            description="The reader's IANA time zone for Markdown and PDF (e.g. Europe/Berlin); "
            "without it, the zone of the browser session's cookie, else the meeting's.",
        ),
    ] = None,
) -> s.MinutesOut | Response:
    meeting = _minutes_of(ctx, meeting_id)
    accept = request.headers.get("accept", "")
    chosen = format or (
        "markdown"
        if "text/markdown" in accept
        else "pdf"
        if "application/pdf" in accept
        else "json"
    )
    if chosen == "json":
        return s.MinutesOut(
            meeting_id=meeting_id,
            status=meeting.status,
            signed_by_id=meeting.signed_by_id,
            signed_at=meeting.signed_at,
            minutes=meeting.minutes,  # type: ignore[arg-type]
        )
    language = lang or (
        ctx.actor.locale if ctx.actor and ctx.actor.locale in i18n.LANGUAGES else "en"
    )
    # An explicit zone must be a real one (422 otherwise); the cookie falls back quietly.
    zone = meetings.zone(tz) if tz else reader_zone(request, meeting.time_zone)
    text = minutes_text(
        meeting.minutes or {},
        language,
        zone,
        request.app.state.catalog,
        minutes.signed_by(ctx, meeting),
    )
    name = f"minutes-M-{meeting_id}"
    if chosen == "markdown":
        return Response(
            as_markdown(text),
            media_type=MARKDOWN,
            headers={"Content-Disposition": f'attachment; filename="{name}.md"'},
        )
    body = minutes_pdf(text, find_font(request.app.state.settings.pdf_font))
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
    )


@router.post(
    "/meetings/{meeting_id}/minutes/signature",
    response_model=s.MeetingOut,
    summary="The chair signs the minutes (password or signing token); read-only afterwards",
)
def sign_minutes(ctx: CtxDep, meeting_id: int, body: s.SignIn) -> s.MeetingOut:
    signature = accounts.Signature(meaning=body.meaning, password=body.password)
    return meeting_out(
        ctx, minutes.sign(ctx, meeting_id, version=body.version, signature=signature)
    )
