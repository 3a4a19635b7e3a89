"""Request and response shapes of the voice-of-the-customer API: complaints and surveys."""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from pdca.web.api.schemas import Strict
from pdca.web.api.types import Count, Flag, Id, Moment, Text, Version

ChannelT = Literal["phone", "email", "web", "in_person", "social_media"]
SeverityT = Literal["low", "medium", "high", "critical"]


class CategoryCreate(Strict):
    code: Text(30, 1) = Field(examples=["BILLING"])
    name: Text(200, 1) = Field(examples=["Billing errors"])
    name_zh: Text(200) | None = Field(default=None, examples=["账单错误"])
    threshold: Count = Field(
        default=5, description="Complaints within the window that raise one problem (1–10000)."
    )
    window_days: Count = Field(default=7, description="The window, in days (1–366).")
    severe_from: SeverityT = Field(
        default="critical", description="From this severity one complaint raises a problem."
    )


class CategoryUpdate(Strict):
    """Only the fields sent change; `version` is the one you read (409 when stale)."""

    version: Version
    name: Text(200, 1) | None = None
    name_zh: Text(200) | None = None
    threshold: Count | None = None
    window_days: Count | None = None
    severe_from: SeverityT | None = None
    active: Flag | None = None


class CategoryOut(BaseModel):
    id: int
    code: str
    name: str
    name_zh: str | None
    threshold: int
    window_days: int
    severe_from: str
    active: bool
    version: int


class ComplaintCreate(Strict):
    channel: ChannelT
    category: Text(30, 1) | Id = Field(
        description="The category's code (e.g. BILLING) or id.", examples=["BILLING"]
    )
    text: Text(10_000, 1) = Field(description="What the customer said.")
    severity: SeverityT = "medium"
    received_at: Moment | None = Field(
        default=None, description="When the complaint arrived (now when left out)."
    )
    customer_ref: Text(100) | None = Field(default=None, examples=["CUST-00042"])
    department_id: Id | None = None
    external_ref: Text(100) | None = Field(
        default=None,
        description="The sending system's own reference (a ticket number); sent twice, 409.",
        examples=["SD-2026-11-0042"],
    )


class ComplaintProgress(Strict):
    """Record the first response to the customer, the resolution, or both (each once)."""

    version: Version
    first_response_at: Moment | None = None
    resolved_at: Moment | None = None


class ComplaintOut(BaseModel):
    id: int
    channel: str
    category_id: int
    category: str = Field(description="The category's code.")
    text: str
    severity: str
    received_at: datetime
    customer_ref: str | None
    department_id: int | None
    external_ref: str | None
    problem_id: int | None = Field(description="The problem it raised or joined, if any.")
    problem_raised: bool = Field(
        default=False, description="True when receiving this complaint raised a new problem."
    )
    first_response_at: datetime | None
    resolved_at: datetime | None
    version: int


class ImportOut(BaseModel):
    received: int
    problems_raised: list[int]
    occurrences_added: int


# --- surveys ----------------------------------------------------------------------------------

QuestionKindT = Literal["rating", "nps", "choice", "text"]
InvitationChannelT = Literal["phone", "email", "web", "in_person", "social_media", "sms", "chat"]


class Titles(Strict):
    en: Text(300, 1)
    zh_CN: Text(300) | None = None


class QuestionIn(Strict):
    key: Text(20, 1) | None = Field(
        default=None, description="a-z, 0-9 and _, unique in the survey (q1, q2… when left out)."
    )
    kind: QuestionKindT
    title: Titles
    dimension: Text(10, 1) | None = Field(
        default=None, description="A quality dimension's code (TAN, REL, RES, ASS, EMP…)."
    )
    choices: list[Titles] = Field(default=[], max_length=20)
    gap: Flag = Field(
        default=False, description="A rating that also asks what the customer expected."
    )
    required: Flag | None = Field(default=None, description="All but free text by default.")


class SurveyCreate(Strict):
    code: Text(10, 1) = Field(examples=["CSAT"])
    title: Text(200, 1) = Field(examples=["How did we do?"])
    title_zh: Text(200) | None = Field(default=None, examples=["我们做得怎么样？"])
    department_id: Id = Field(description="Whose KPIs answers without a department feed.")
    questions: list[QuestionIn] = Field(min_length=1, max_length=40)


class QuestionsUpdate(Strict):
    """New questions: a new version when the survey has answers already."""

    version: Version
    questions: list[QuestionIn] = Field(min_length=1, max_length=40)


class SurveyOut(BaseModel):
    id: int
    code: str
    title: str
    title_zh: str | None
    department_id: int
    version_number: int = Field(description="The number of the questions' current version.")
    questions: list[dict[str, Any]]
    active: bool
    fed_through: date | None = Field(description="The last day whose answers became KPI points.")
    open_link: bool = Field(description="Whether the anonymous open link is on.")
    version: int


class InvitationCreate(Strict):
    department_id: Id | None = Field(default=None, description="The survey's when left out.")
    case_ref: Text(100) | None = Field(default=None, examples=["SD-2026-11-0042"])
    channel: InvitationChannelT | None = None
    valid_days: Count = Field(default=30, description="How long the link works (1–365 days).")


class InvitationOut(BaseModel):
    id: int
    survey_id: int
    token: str = Field(description="Shown once: only its digest is kept.")
    url: str = Field(description="The public answer page, to send to the customer.")
    case_ref: str | None
    department_id: int
    channel: str | None
    expires_at: datetime


class OpenLinkOut(BaseModel):
    token: str
    url: str


class DimensionCreate(Strict):
    code: Text(10, 1) = Field(examples=["ACC"])
    name: Text(100, 1) = Field(examples=["Accessibility"])
    name_zh: Text(100) | None = Field(default=None, examples=["可及性"])


class DimensionUpdate(Strict):
    """Only the fields sent change; `active: false` retires the dimension (questions that
    have it keep it; new ones cannot choose it)."""

    version: Version
    name: Text(100, 1) | None = None
    name_zh: Text(100) | None = None
    active: Flag | None = None


class DimensionOut(BaseModel):
    id: int
    code: str
    name: str
    name_zh: str | None
    active: bool
    version: int


# --- complaint analysis -----------------------------------------------------------------------


class TripleOut(BaseModel):
    current: float | None
    previous: float | None = Field(description="The period of the same length just before.")
    year_ago: float | None = Field(description="The same period a year before.")


class CategoryCountOut(BaseModel):
    category_id: int
    code: str
    name: str
    name_zh: str | None
    counts: TripleOut
    cumulative_share: float = Field(description="Cumulative % of the current period (Pareto).")


class CauseCountOut(BaseModel):
    cause: str = Field(description="A fishbone category of the cycles, or not_analysed.")
    counts: TripleOut


class WeekOut(BaseModel):
    week_start: date
    current: int
    previous: int
    year_ago: int


class DepartmentTimesOut(BaseModel):
    department_id: int | None
    code: str | None
    complaints: TripleOut
    first_response_hours: TripleOut = Field(description="Medians, in hours.")
    resolution_hours: TripleOut = Field(description="Medians, in hours.")


class RepeaterOut(BaseModel):
    customer_ref: str
    complaints: int


class AnalysisOut(BaseModel):
    start: date
    end: date = Field(description="Exclusive.")
    days: int
    totals: TripleOut
    categories: list[CategoryCountOut]
    root_causes: list[CauseCountOut]
    weeks: list[WeekOut]
    departments: list[DepartmentTimesOut]
    repeat_customers: TripleOut = Field(description="Customers who complained more than once.")
    top_repeaters: list[RepeaterOut]


class GapCellOut(BaseModel):
    dimension: str
    pairs: int = Field(description="Answers to gap questions (expected and perceived, 1–5).")
    expected: float | None = Field(description="Mean expectation over the pairs.")
    perceived: float | None = Field(description="Mean perception over the pairs.")
    gap: float | None = Field(description="perceived − expected: below 0 is a shortfall.")


class GapPeriodOut(BaseModel):
    start: date
    cells: list[GapCellOut]


class GapDepartmentOut(BaseModel):
    department_id: int
    code: str
    cells: list[GapCellOut]


class GapDimensionOut(BaseModel):
    code: str
    name: str
    name_zh: str | None


class GapAnalysisOut(BaseModel):
    start: date
    end: date = Field(description="Exclusive.")
    by: Literal["week", "month"]
    survey_id: int | None
    department_id: int | None
    dimensions: list[GapDimensionOut]
    overall: list[GapCellOut]
    periods: list[GapPeriodOut] = Field(description="Oldest first; periods with answers only.")
    departments: list[GapDepartmentOut] = Field(
        description="Every department with answers (the department filter does not apply)."
    )
