"""Request and response shapes of the notifications API (inbox, preferences, webhooks,
the escalation ladder)."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt

from pdca.web.api.schemas import Strict, _absent_means_unchanged
from pdca.web.api.types import Id

KindT = Literal[
    "assigned",
    "due_soon",
    "overdue",
    "escalated",
    "to_verify",
    "verified",
    "reopened",
    "cycle_refused",
    "cycle_escalated",
    "cycle_closed",
    "problem_raised",
    "meeting",
    "mentioned",
]
EventKindT = Literal[
    "action.assigned",
    "action.done",
    "action.verified",
    "action.reopened",
    "action.escalated",
    "cycle.closed",
    "cycle.escalated",
    "problem.raised",
]
TargetT = Literal["owner", "head", "quality"]


class NotificationOut(BaseModel):
    id: int
    kind: str
    text: str = Field(description="The notification in the caller's language.")
    link: str = Field(description="The page of the thing it is about.")
    created_at: datetime
    read: bool


class ReadIn(Strict):
    """Mark these of your notifications read; without ids, all (up to `up_to` if given)."""

    ids: list[Id] | None = Field(default=None, max_length=500)
    up_to: StrictInt | None = Field(default=None, ge=1)


class ReadOut(BaseModel):
    marked: int
    unread: int


class PreferencesIn(Strict):
    version: StrictInt = Field(ge=0, description="0 when you never saved any.")
    kinds: list[KindT] = Field(description="The kinds you want in your inbox.")
    urgent_kinds: list[KindT] = Field(default=[], description="Also mailed at once.")
    email_digest: StrictBool = True
    digest_hour: StrictInt = Field(ge=0, le=23, description="In your time zone.")
    time_zone: str = Field(max_length=64, examples=["Asia/Shanghai"])
    due_soon_days: StrictInt = Field(ge=0, le=30)
    muted: StrictBool = False
    # Read-only, but accepted: a client may PUT back exactly what it read (GET, change a
    # field, PUT) without learning which fields to drop.
    calendar_feed: StrictBool = Field(
        default=None,
        json_schema_extra=_absent_means_unchanged,
        description=(
            "Read-only: whether your calendar feed is on (turned on and off on your profile "
            "page). Leave it out, or send the value you read; another value is a 422 "
            "(`calendar_feed_read_only`)."
        ),
    )


class PreferencesOut(BaseModel):
    version: int
    kinds: list[str]
    urgent_kinds: list[str]
    email_digest: bool
    digest_hour: int
    time_zone: str
    due_soon_days: int
    muted: bool
    calendar_feed: bool = Field(
        description="Whether your calendar feed is on. Read-only here: a PUT may send it back "
        "unchanged; the feed is turned on and off on your profile page."
    )


class WebhookIn(Strict):
    url: str = Field(min_length=1, max_length=500, examples=["https://desk.example.org/hooks/pdca"])
    kinds: list[EventKindT] = Field(min_length=1)


class WebhookUpdate(WebhookIn):
    version: StrictInt = Field(ge=1)
    active: StrictBool = True


class DeliveryOut(BaseModel):
    id: int
    kind: str
    status: str
    attempts: int
    last_result: str | None
    created_at: datetime
    sent_at: datetime | None


class WebhookOut(BaseModel):
    id: int
    url: str
    kinds: list[str]
    active: bool
    version: int
    created_at: datetime
    secret: str = Field(description="Signs every delivery (HMAC-SHA256 of '<timestamp>.<body>').")
    recent: list[DeliveryOut]


class StepIn(Strict):
    days: StrictInt = Field(ge=0, le=365, description="Days past the deadline.")
    to: TargetT


class LadderIn(Strict):
    version: StrictInt = Field(ge=0, description="0 while the default ladder was never saved.")
    steps: list[StepIn] = Field(max_length=6)


class LadderOut(BaseModel):
    version: int
    steps: list[StepIn]
