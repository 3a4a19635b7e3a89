"""Request and response shapes of the checklists and inspections API."""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from pdca.web.api.schemas import SeverityT, Strict
from pdca.web.api.types import Count, Day, Flag, Id, Number, Text, Version

ItemKindT = Literal["yes_no", "score", "number", "text"]
InspectionStatusT = Literal["planned", "in_progress", "submitted", "acknowledged", "skipped"]


class Bilingual(Strict):
    en: Text(500, 1)
    zh_CN: Text(500) | None = None


class ItemIn(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,29}$", examples=["greeting"])
    question: Bilingual
    clause: Text(100, 1) = Field(description="The requirement or clause, e.g. ISO 9001 8.2.1.")
    kind: ItemKindT
    weight: Number = Field(default=1, ge=0, le=100)
    severity: SeverityT = "medium"
    guidance: Bilingual | None = None
    max_score: Count | None = Field(default=None, description="score items: the top score")
    pass_at: Number | None = Field(default=None, description="score items: lowest passing")
    minimum: Number | None = Field(default=None, description="number items: lowest passing")
    maximum: Number | None = Field(default=None, description="number items: highest passing")


class SectionIn(Strict):
    title: Bilingual
    items: list[ItemIn] = Field(min_length=1, max_length=200)


class ChecklistBody(Strict):
    sections: list[SectionIn] = Field(min_length=1, max_length=50)
    pass_score: Number = Field(default=80, ge=0, le=100)

    def stored(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class ChecklistCreate(Strict):
    code: Text(30, 1)
    title: Text(200, 1)
    title_zh: Text(200) | None = None
    body: ChecklistBody


class ChecklistUpdate(Strict):
    """A new body makes a new version; inspections keep the version they were made with."""

    version: Version | None = None
    title: Text(200, 1) | None = None
    title_zh: Text(200) | None = None
    active: Flag | None = None
    body: ChecklistBody | None = None


class ChecklistOut(BaseModel):
    id: int
    code: str
    title: str
    title_zh: str | None
    current_version: int
    active: bool
    version: int
    body: dict[str, Any] = Field(description="The current version's sections and items.")


class ChecklistVersionOut(BaseModel):
    template_id: int
    number: int
    body: dict[str, Any]
    created_at: datetime


class InspectionCreate(Strict):
    checklist_id: Id
    department_id: Id
    inspector_id: Id
    due_on: Day


class AnswerIn(Strict):
    value: Number | Text(2000) | None = Field(
        description="yes_no: yes, no or na; score and number: a number (or na); text: text."
    )
    note: Text(2000) | None = Field(default=None, description="Left out: the note stays.")


class AnswersIn(Strict):
    version: Version | None = None
    answers: dict[str, AnswerIn] = Field(max_length=200)


class SubmitIn(Strict):
    version: Version | None = None
    answers: dict[str, AnswerIn] = Field(default={}, max_length=200)


class AcknowledgeIn(Strict):
    version: Version | None = None
    note: Text(2000) | None = None


class SkipIn(Strict):
    version: Version | None = None
    reason: Text(2000) = Field(description="Why the inspection is not done; required.")


class InspectionFindingOut(BaseModel):
    item_id: str
    clause: str
    severity: str
    problem_id: int
    raised: bool = Field(description="True: raised the problem; false: one more occurrence.")


class InspectionOut(BaseModel):
    id: int
    checklist_id: int
    checklist_version: int
    department_id: int
    inspector_id: int
    due_on: date
    status: InspectionStatusT
    overdue: bool
    answers: dict[str, Any]
    score: float | None
    passed: bool | None
    failed_items: int
    started_at: datetime | None
    submitted_at: datetime | None
    acknowledged_by_id: int | None
    acknowledged_at: datetime | None
    acknowledgement_note: str | None
    findings: list[InspectionFindingOut]
    plan_id: int | None = Field(description="The plan that made it, if a plan did.")
    sample_seed: int | None = Field(description="A spot check's random seed.")
    sample_source: str | None
    sample_from: date | None
    sample_to: date | None
    sample: list[str] | None = Field(description="The cases drawn, e.g. A-12 or CP-7.")
    kind: Literal["checklist", "expert_review"] = "checklist"
    skip_reason: str | None = Field(default=None, description="Why it was skipped, if it was.")
    skipped_by_id: int | None = None
    skipped_at: datetime | None = None
    version: int


# --- plans, spot checks, the programme ---------------------------------------------------------

FrequencyT = Literal["daily", "weekly", "monthly", "quarterly", "rrule"]
InspectorRoleT = Literal["facilitator", "head", "member", "admin"]
SampleSourceT = Literal["closed_actions", "complaints"]


class PlanCreate(Strict):
    title: Text(200, 1)
    title_zh: Text(200) | None = None
    checklist_id: Id
    department_ids: list[Id] = Field(min_length=1, max_length=200)
    frequency: FrequencyT
    rrule: Text(500) | None = Field(
        default=None, description="frequency rrule: an RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO"
    )
    starts_on: Day
    ends_on: Day | None = None
    inspector_role: InspectorRoleT | None = Field(
        default=None, description="Everyone active with this role, in turn (or name people)."
    )
    inspector_ids: list[Id] = Field(default=[], max_length=100)
    independent: Flag = Field(
        default=False, description="Never a member of the department inspected."
    )
    sample_size: Count = Field(default=0, le=100, description="Spot check: cases to draw.")
    sample_source: SampleSourceT | None = None


class PlanUpdate(Strict):
    version: Version | None = None
    title: Text(200, 1) | None = None
    title_zh: Text(200) | None = None
    ends_on: Day | None = None
    active: Flag | None = None


class PlanOut(BaseModel):
    id: int
    title: str
    title_zh: str | None
    checklist_id: int
    department_ids: list[int]
    frequency: FrequencyT
    rrule: str | None
    starts_on: date
    ends_on: date | None
    inspector_role: str | None
    inspector_ids: list[int]
    independent: bool
    sample_size: int
    sample_source: str | None
    active: bool
    version: int


class ScheduledOut(BaseModel):
    made: int = Field(description="Inspections made now; 0 when all were made before.")


class SampleOut(BaseModel):
    inspection_id: int
    seed: int
    source: SampleSourceT
    sample_from: date
    sample_to: date
    recorded: list[str] = Field(description="The cases drawn when the inspection was made.")
    redrawn: list[str] = Field(description="The cases the same seed draws from the list now.")
    same: bool


class ProgrammeCellOut(BaseModel):
    month: int
    planned: int
    done: int
    overdue: int
    skipped: int
    skip_reasons: list[str] = Field(description="Why each skipped inspection was skipped.")


class ProgrammeRowOut(BaseModel):
    department_id: int
    department: str
    months: list[ProgrammeCellOut]


class ProgrammeOut(BaseModel):
    year: int
    rows: list[ProgrammeRowOut]


class ClauseBarOut(BaseModel):
    clause: str
    failures: int
    share: float = Field(description="Percent of all failed items.")
    cumulative: float = Field(description="Running percent, for the Pareto line.")


# --- expert reviews ------------------------------------------------------------------------------


class ExpertReviewCreate(Strict):
    checklist_id: Id
    department_id: Id
    due_on: Day
    reviewer_ids: list[Id] = Field(
        min_length=1, max_length=12, description="The reviewers, each named once."
    )


class ReviewScoreIn(Strict):
    version: Version | None = None
    score: Number = Field(ge=0, le=100, description="This reviewer's score, 0–100; final.")
    comment: Text(2000) | None = None


class ReviewOut(BaseModel):
    reviewer_id: int
    reviewer: str
    score: float | None = Field(description="None until the reviewer has scored.")
    comment: str | None
    submitted_at: datetime | None
    version: int


class ReviewsOut(BaseModel):
    inspection_id: int
    status: InspectionStatusT
    mean: float | None = Field(description="The mean of the scores given so far.")
    waiting: int = Field(description="Reviewers who have not scored yet.")
    reviews: list[ReviewOut]
