"""Request and response shapes of the meetings API."""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, StrictBool, StrictInt

from pdca.web.api.schemas import Strict
from pdca.web.api.types import Id

AttendanceT = Literal["present", "excused", "absent"]
DecisionKindT = Literal[
    "new_action", "reassign", "redate", "transition", "triage", "open_cycle", "note"
]
KindT = Literal["containment", "corrective", "preventive", "improvement", "standardisation"]


class SeriesCreate(Strict):
    title: str = Field(min_length=1, max_length=200, examples=["Weekly service-quality review"])
    weekday: StrictInt = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")
    local_time: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", examples=["10:00"])
    time_zone: str = Field(default="UTC", max_length=64, examples=["Asia/Shanghai"])
    interval_weeks: StrictInt = Field(default=1, ge=1, le=8)
    duration_minutes: StrictInt = Field(default=60, ge=5, le=600)
    chair_id: Id
    department_ids: list[Id] = Field(default=[], max_length=100)
    attendee_ids: list[Id] = Field(default=[], max_length=200)
    quorum: StrictInt = Field(default=1, ge=1, le=100)


class SeriesUpdate(Strict):
    """Only the fields sent change; `version` is the one you read (409 when stale)."""

    version: StrictInt = Field(description="The version you read; 409 if stale.")
    title: str | None = Field(default=None, min_length=1, max_length=200)
    weekday: StrictInt | None = Field(
        default=None, ge=0, le=6, description="0 = Monday … 6 = Sunday"
    )
    local_time: str | None = Field(default=None, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    time_zone: str | None = Field(default=None, max_length=64)
    interval_weeks: StrictInt | None = Field(default=None, ge=1, le=8)
    duration_minutes: StrictInt | None = Field(default=None, ge=5, le=600)
    chair_id: Id | None = None
    department_ids: list[Id] | None = Field(default=None, max_length=100)
    attendee_ids: list[Id] | None = Field(default=None, max_length=200)
    quorum: StrictInt | None = Field(default=None, ge=1, le=100)
    active: StrictBool | None = Field(
        default=None, description="false stops the series: none of its meetings can be planned."
    )


class SeriesOut(BaseModel):
    id: int
    title: str
    weekday: int
    local_time: str
    time_zone: str
    interval_weeks: int
    duration_minutes: int
    chair_id: int
    department_ids: list[int]
    attendee_ids: list[int]
    quorum: int
    active: bool
    version: int


class MeetingCreate(Strict):
    title: str = Field(min_length=1, max_length=200)
    starts_at: AwareDatetime = Field(description="With its offset; stored in UTC.")
    time_zone: str = Field(default="UTC", max_length=64)
    chair_id: Id
    department_ids: list[Id] = Field(default=[], max_length=100)
    attendee_ids: list[Id] = Field(default=[], max_length=200)
    quorum: StrictInt = Field(default=1, ge=1, le=100)


class VersionIn(Strict):
    version: StrictInt = Field(description="The version you read; 409 if stale.")


class AttendanceIn(Strict):
    version: StrictInt
    attendance: dict[int, AttendanceT] = Field(description="user id → present/excused/absent")


class AttendeeOut(BaseModel):
    user_id: int
    name: str
    status: str


class MeetingOut(BaseModel):
    id: int
    series_id: int | None
    title: str
    starts_at: datetime
    time_zone: str
    chair_id: int
    department_ids: list[int]
    quorum: int
    present: int
    quorum_met: bool
    status: str
    prepared_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    signed_by_id: int | None
    signed_at: datetime | None
    attendees: list[AttendeeOut]
    version: int


class FreeItemIn(Strict):
    text: str = Field(min_length=1, max_length=2000)
    department_id: Id | None = None


class ItemOut(BaseModel):
    id: int
    department_id: int | None
    kind: str
    entity_type: str | None
    entity_id: int | None
    facts: dict[str, Any]
    text: str | None
    carried_from_id: int | None
    decided: bool
    version: int


class DecisionIn(Strict):
    item_id: Id
    item_version: StrictInt | None = Field(
        default=None, description="The item's version; 409 if stale."
    )
    kind: DecisionKindT
    version: StrictInt | None = Field(
        default=None, description="The version of the action, cycle or problem decided on."
    )
    note: str | None = Field(default=None, max_length=2000)
    cycle_id: Id | None = None
    title: str | None = Field(default=None, max_length=300)
    department_id: Id | None = None
    owner_id: Id | None = None
    deadline: date | None = None
    action_kind: KindT = "corrective"
    trigger: str | None = Field(default=None, max_length=50)
    password: str | None = Field(default=None, max_length=200)
    triage: Literal["accept", "reject"] | None = None
    workflow: str = Field(default="pdca", max_length=50)
    lead_id: Id | None = None


class DecisionOut(BaseModel):
    id: int
    item_id: int
    kind: str
    entity_type: str | None
    entity_id: int | None
    params: dict[str, Any]
    note: str | None
    decided_by_id: int | None
    decided_at: datetime


class SignIn(Strict):
    version: StrictInt
    meaning: Literal["approved minutes"] = "approved minutes"
    password: str | None = Field(
        default=None,
        max_length=200,
        description="Re-entered password; not needed with an API token made for signing.",
    )


class MinutesOut(BaseModel):
    meeting_id: int
    status: str
    signed_by_id: int | None
    signed_at: datetime | None
    minutes: dict[str, Any]
