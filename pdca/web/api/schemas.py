"""Request and response shapes of the API (the OpenAPI schema is generated from these)."""

from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from pdca.web.api.types import (
    Day,
    FieldName,
    FieldValue,
    Flag,
    Id,
    Moment,
    Number,
    Text,
    Version,
    names_in_property_names,
)

T = TypeVar("T")

Role = Literal["admin", "facilitator", "head", "member", "viewer"]
Source = Literal["kpi", "complaint", "audit", "inspection", "internal", "suggestion"]
SeverityT = Literal["low", "medium", "high", "critical"]
ProblemCategoryT = Literal["process", "people", "system", "supplier", "policy", "environment"]
ProblemStatusT = Literal["new", "accepted", "rejected", "duplicate", "resolved"]
KindT = Literal["containment", "corrective", "preventive", "improvement", "standardisation"]
ActionStatusT = Literal["open", "in_progress", "done", "verified", "cancelled"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _absent_means_unchanged(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # leaving it out keeps the value; null is not one


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class ReasonOut(BaseModel):
    code: str
    message: str


class ProblemReason(BaseModel):
    """One reason of a refusal: what is wrong (and, for invalid input, where)."""

    code: str = Field(description="A code to branch on (`invalid`, `stale_version`…).")
    message: str
    field: str | None = Field(
        default=None, description="Where in the request, for invalid input (`body.title`)."
    )


class ProblemDetail(BaseModel):
    """An error (RFC 9457), with the reasons for validation errors and refusals."""

    type: str = Field(
        description="What kind of error: /api/v1/errors/<kind> (stale-version, "
        "transition-refused, invalid-input, not-found, forbidden, throttled…), "
        "which describes it. Branch on this, not on the wording.",
        examples=["/api/v1/errors/stale-version"],
    )
    title: str
    status: int
    detail: str
    reasons: list[ProblemReason] = []


class ErrorTypeOut(BaseModel):
    type: str
    status: int
    title: str
    description: str


# --- organisation -------------------------------------------------------------


DEPARTMENT_CODE = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,19}$"
EMAIL = r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"


class DepartmentCreate(Strict):
    code: Text(20, 1) = Field(pattern=DEPARTMENT_CODE, examples=["CS"])  # type: ignore[valid-type]
    name: Text(200, 1) = Field(examples=["Customer Service"])  # type: ignore[valid-type]
    name_zh: Text(200) | None = Field(default=None, examples=["客户服务部"])  # type: ignore[valid-type]


class DepartmentOut(BaseModel):
    id: int
    code: str
    name: str
    name_zh: str | None
    version: int


class UserCreate(Strict):
    email: Text(254) = Field(pattern=EMAIL, examples=["li.na@example.com"])  # type: ignore[valid-type]
    name: Text(200, 1)  # type: ignore[valid-type]
    role: Role = "member"
    department_code: Text(20) | None = Field(default=None, pattern=DEPARTMENT_CODE)  # type: ignore[valid-type]
    password: Text(200, 8) | None = None  # type: ignore[valid-type]
    locale: Literal["en", "zh_CN"] = "en"


class DepartmentUpdate(Strict):
    """Rename a department (the code stays). Only the fields you send change."""

    version: Version | None = None
    name: Text(200, 1) = Field(default=None, json_schema_extra=_absent_means_unchanged)  # type: ignore[valid-type]
    name_zh: Text(200) | None = None  # type: ignore[valid-type]


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    department_id: int | None
    active: bool
    locale: str
    version: int


class UserUpdate(Strict):
    """Rename, change the role, move to another department (null: none)."""

    version: Version | None = None
    name: Text(200, 1) = Field(default=None, json_schema_extra=_absent_means_unchanged)  # type: ignore[valid-type]
    role: Role = Field(default=None, json_schema_extra=_absent_means_unchanged)
    department_id: Id | None = None
    note: Text(2000) | None = None  # type: ignore[valid-type]


class ActiveIn(Strict):
    version: Version | None = None


# --- problems -----------------------------------------------------------------


class ProblemCreate(Strict):
    title: Text(300, 1)  # type: ignore[valid-type]
    source: Source
    severity: SeverityT = "medium"
    category: ProblemCategoryT | None = Field(
        default=None, description="What kind of problem (the Pareto counts by it)."
    )
    department_id: Id | None = None
    description: Text(10_000) | None = None  # type: ignore[valid-type]
    evidence: Text(10_000) | None = None  # type: ignore[valid-type]


class TriageIn(Strict):
    decision: Literal["accept", "reject", "duplicate"]
    reason: Text(2000) | None = None  # type: ignore[valid-type]
    duplicate_of: Id | None = None
    version: Version | None = None


class ResolveRecoveredIn(Strict):
    version: Version | None = None
    note: Text(2000) | None = None  # type: ignore[valid-type]


class ProblemUpdate(Strict):
    """Correct a problem. Only the fields you send change; null clears the optional ones."""

    version: Version | None = None
    title: Text(300, 1) = Field(default=None, json_schema_extra=_absent_means_unchanged)  # type: ignore[valid-type]
    severity: SeverityT = Field(default=None, json_schema_extra=_absent_means_unchanged)
    category: ProblemCategoryT | None = Field(
        default=None, description="What kind of problem; null: not said."
    )
    department_id: Id | None = None
    description: Text(10_000) | None = None  # type: ignore[valid-type]
    evidence: Text(10_000) | None = None  # type: ignore[valid-type]
    note: Text(2000) | None = Field(default=None, description="Why (kept in the trail).")  # type: ignore[valid-type]


class OccurrenceOut(BaseModel):
    """A detection rule firing for the problem (the first time and every time again)."""

    at: datetime
    kpi_id: int
    rule: str


class ProblemOut(BaseModel):
    id: int
    key: str
    title: str
    description: str | None
    source: str
    severity: str
    category: str | None = None
    status: str
    department_id: int | None
    reported_by_id: int | None
    reported_at: datetime
    evidence: str | None
    occurrences: int = Field(description="How many times it was detected (1 when reported).")
    kpi_id: int | None = Field(default=None, description="The KPI whose monitoring raised it.")
    detection_rule: str | None = None
    last_occurrence_at: datetime | None = None
    complaint_category_id: int | None = Field(
        default=None, description="The complaint category whose intake rule raised it."
    )
    occurrence_list: list[OccurrenceOut] = Field(
        default=[], description="Each time a detection rule fired for it, oldest first."
    )
    triaged_by_id: int | None
    triaged_at: datetime | None
    rejection_reason: str | None
    duplicate_of_id: int | None
    resolved_at: datetime | None
    cycle_ids: list[int]
    version: int


# --- cycles -------------------------------------------------------------------


PhaseFields = Annotated[
    dict[FieldName, FieldValue],
    Field(
        max_length=50,
        description="Phase fields by name: see GET /workflows/{name} for each workflow's "
        "fields, their types and bounds.",
        json_schema_extra=names_in_property_names,
    ),
]


class CycleCreate(Strict):
    title: Text(300, 1)  # type: ignore[valid-type]
    workflow: Text(50) = Field(examples=["pdca"])  # type: ignore[valid-type]
    lead_id: Id
    problem_ids: list[Id] = Field(min_length=1, max_length=200)
    department_id: Id | None = None
    member_ids: list[Id] = Field(default=[], max_length=200)
    fields: PhaseFields = {}


class CycleUpdate(Strict):
    """Only what you send changes: phase fields by name, the title, the lead, the team."""

    version: Version | None = None
    fields: PhaseFields = {}
    title: Text(300, 1) | None = None  # type: ignore[valid-type]
    lead_id: Id | None = None
    member_ids: list[Id] | None = Field(
        default=None, max_length=200, description="The whole team (the lead is always on it)."
    )
    note: Text(2000) | None = None  # type: ignore[valid-type]


class SignatureIn(Strict):
    meaning: Literal["verified effective", "verified not effective", "approved closure"]
    password: Text(200) | None = Field(  # type: ignore[valid-type]
        default=None,
        description="Re-entered password; not needed with an API token made for signing.",
    )


class TransitionIn(Strict):
    trigger: Text(50, 1) = Field(  # type: ignore[valid-type]
        pattern=r"^[a-z][a-z0-9_]*$",
        description="A trigger of the cycle's workflow (see GET /workflows/{name}); "
        "an unknown one is 422.",
    )
    version: Version | None = None
    note: Text(2000) | None = None  # type: ignore[valid-type]
    signature: SignatureIn | None = None


class EffectivenessIn(Strict):
    effective: Flag
    note: Text(2000) | None = None  # type: ignore[valid-type]
    version: Version


class TransitionOut(BaseModel):
    trigger: str
    dest: str
    title: str
    allowed: bool
    signed: bool = False
    needs_note: bool = False
    reasons: list[ReasonOut]


class CycleOut(BaseModel):
    id: int
    key: str
    title: str
    workflow: str
    workflow_version: int
    state: str
    state_title: str
    iteration: int
    failed_iterations: int = Field(description="Turns that ended not effective.")
    escalated: bool
    lead_id: int
    member_ids: list[int] = Field(default=[], description="The team, the lead included.")
    kpi_id: int | None = None
    department_id: int | None
    fields: dict[str, Any]
    effectiveness: str | None
    effectiveness_by_id: int | None
    effectiveness_at: datetime | None
    effectiveness_note: str | None
    created_at: datetime
    state_entered_at: datetime
    closed_at: datetime | None
    problem_ids: list[int]
    version: int


# --- actions ------------------------------------------------------------------


class ActionCreate(Strict):
    cycle_id: Id
    title: Text(300, 1)  # type: ignore[valid-type]
    department_id: Id
    owner_id: Id | None = None
    deadline: Day | None = None
    kind: KindT = "corrective"
    description: Text(10_000) | None = None  # type: ignore[valid-type]
    depends_on: list[Id] = Field(default=[], max_length=200)


class ActionUpdate(Strict):
    """Only the fields you send change; send null to clear an owner or deadline."""

    version: Version | None = None
    # An action always has a title, a department and a kind: these take no null.
    title: Text(300, 1) = Field(default=None, json_schema_extra=_absent_means_unchanged)  # type: ignore[valid-type]
    description: Text(10_000) | None = None  # type: ignore[valid-type]
    owner_id: Id | None = None
    department_id: Id = Field(default=None, json_schema_extra=_absent_means_unchanged)
    deadline: Day | None = None
    kind: KindT = Field(default=None, json_schema_extra=_absent_means_unchanged)
    note: Text(2000) | None = Field(default=None, description="Why (kept in the trail).")  # type: ignore[valid-type]


class ActionTransitionIn(Strict):
    trigger: Literal["start", "complete", "verify", "reopen", "cancel"]
    version: Version
    note: Text(2000) | None = None  # type: ignore[valid-type]
    effective: Flag | None = Field(default=None, description="For verify: was it effective?")
    signature: SignatureIn | None = None


class DependencyOut(BaseModel):
    """The other end of a dependency: which action, and where it stands."""

    id: int
    key: str
    title: str
    status: str


class DependencyAdd(Strict):
    depends_on_id: Id = Field(description="The action this one waits for.")
    version: Version


class DependenciesIn(Strict):
    depends_on: list[Id] = Field(
        max_length=200, description="Every action this one waits for (replaces the list)."
    )
    version: Version


class ActionOut(BaseModel):
    id: int
    key: str
    cycle_id: int
    cycle_title: str | None = None
    cycle_state: str | None = None
    workflow: str | None = None
    title: str
    description: str | None
    kind: str
    status: str
    owner_id: int | None
    owner_name: str | None = None
    department_id: int
    department_code: str | None = None
    deadline: date | None
    overdue: bool
    phase: str | None
    iteration: int
    created_at: datetime
    status_changed_at: datetime
    done_at: datetime | None
    cancel_reason: str | None
    verified_by_id: int | None
    verified_at: datetime | None
    verification_effective: bool | None
    verification_note: str | None
    blocked_by: list[str] = Field(default=[], description="Keys of the blockers still open.")
    depends_on: list[DependencyOut] = Field(
        default=[], description="Every action this one waits for, open or done."
    )
    blocks: list[DependencyOut] = Field(default=[], description="Every action waiting for it.")
    version: int


# --- evidence -----------------------------------------------------------------


class EvidenceOut(BaseModel):
    id: int
    entity_type: str
    entity_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by_id: int
    uploaded_by_name: str
    uploaded_at: datetime
    download_url: str


# --- comments -----------------------------------------------------------------


class CommentIn(Strict):
    entity_type: Literal["problem", "cycle", "action"]
    entity_id: Id
    body: Text(10_000, 1)  # type: ignore[valid-type]


class CommentPageOut(BaseModel):
    items: list["CommentOut"]
    total: int
    limit: int
    offset: int


class CommentOut(BaseModel):
    id: int
    entity_type: str
    entity_id: int
    author_id: int
    body: str
    created_at: datetime


# --- board, events, workflows, tokens, session ---------------------------------


class BoardLaneOut(BaseModel):
    department_id: int
    code: str
    name: str
    count: int
    cells: dict[str, list[ActionOut]]


class BoardOut(BaseModel):
    columns: list[str]
    column_counts: dict[str, int]
    lanes: list[BoardLaneOut]
    today: date
    truncated: bool


class EventPageOut(BaseModel):
    """A page of the trail. Follow `next_cursor` (null on the last page) to read on:
    a cursor stays right while events are added, where an offset would shift, and it
    costs the same on page 10,000 as on page 1."""

    items: list["EventOut"]
    total: int | None = Field(description="Counted for offset paging; null with a cursor.")
    limit: int
    offset: int
    next_cursor: str | None


class EventOut(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    entity_type: str
    entity_id: int
    verb: str
    field: str | None
    from_value: str | None
    to_value: str | None
    note: str | None
    data: dict[str, Any]
    signature_meaning: str | None
    signature_method: str | None


class VerificationOut(BaseModel):
    at: datetime
    by: str | None = Field(description="Who verified; null for `pdca audit verify`.")
    checked: int = Field(description="Events whose link was checked and held.")
    intact: bool
    broken_at: int | None = Field(description="The id of the first event that does not follow.")
    reason: str | None


class LastVerificationOut(BaseModel):
    last: VerificationOut | None


class PhaseFieldOut(BaseModel):
    """A field a cycle of the workflow carries, with its type and bounds."""

    name: str
    type: Literal["text", "number", "integer", "date", "choice"] = Field(
        description="text: a string; number: a JSON number; integer: a whole number; "
        "date: YYYY-MM-DD text; choice: one of `choices`."
    )
    titles: dict[str, str]
    builtin: bool = Field(description="Every workflow has it (false: this workflow's own).")
    choices: list[str] | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None


class WorkflowOut(BaseModel):
    name: str
    titles: dict[str, str]
    description: dict[str, str]
    initial: str
    fields: list[PhaseFieldOut]
    states: list[dict[str, Any]]
    transitions: list[dict[str, Any]]
    digest: str


class WorkflowDiagramOut(BaseModel):
    name: str
    format: Literal["mermaid"] = "mermaid"
    diagram: str


TokenScope = Literal["read", "write", "sign"]


class TokenCreate(Strict):
    name: Text(100, 1)  # type: ignore[valid-type]
    expires_in_days: StrictInt | None = Field(
        default=90, ge=1, le=3650, description="Null: never (not for a signing token: 30 at most)."
    )
    can_sign: Flag = Field(default=False, description="The same as adding the sign scope.")
    scopes: list[TokenScope] | None = Field(
        default=None,
        max_length=3,
        description="What the token may do (default read and write). A token cannot "
        "create a token with scopes it lacks.",
    )
    password: Text(200) | None = Field(  # type: ignore[valid-type]
        default=None,
        description="Your password again: required for a signing token.",
    )


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    can_sign: bool
    scopes: list[TokenScope]
    parent_id: int | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret: shown this once, store it now.")


class SessionIn(Strict):
    email: Text(254)  # type: ignore[valid-type]
    password: Text(200)  # type: ignore[valid-type]


class SessionOut(BaseModel):
    user: UserOut
    csrf_token: str


# --- KPIs -------------------------------------------------------------------------

PerspectiveT = Literal["financial", "customer", "internal_process", "learning_growth"]
RuleT = Literal[
    "limit_breach",
    "warnings_in_a_row",
    "spc_beyond_3_sigma",
    "spc_2_of_3_beyond_2_sigma",
    "spc_4_of_5_beyond_1_sigma",
    "spc_8_on_one_side",
    "spc_trend_6",
    "spc_14_alternating",
    "spc_15_within_1_sigma",
    "spc_8_beyond_1_sigma",
    "missing_data",
]


KpiTag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9:_.-]{0,39}$")]


class KpiCreate(Strict):
    code: Text(30, 1) = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", examples=["CS-SL"])  # type: ignore[valid-type]
    name: Text(200, 1) = Field(examples=["Service level (calls answered in 20 s)"])  # type: ignore[valid-type]
    name_zh: Text(200) | None = None  # type: ignore[valid-type]
    description: Text(10_000) | None = None  # type: ignore[valid-type]
    unit: Text(30) = Field(default="", examples=["%"])  # type: ignore[valid-type]
    department_id: Id
    owner_id: Id | None = None
    perspective: PerspectiveT = "customer"
    direction: Literal["higher", "lower"] = "higher"
    target: Number
    warning_limit: Number | None = None
    breach_limit: Number | None = None
    interval_hours: StrictInt = Field(default=24, ge=1, le=8784)
    rules: list[RuleT] = Field(default=[], max_length=7)
    warnings_in_a_row: StrictInt = Field(default=3, ge=2, le=50)
    baseline_start: Moment | None = None
    baseline_end: Moment | None = None
    recovery_periods: StrictInt = Field(default=7, ge=1, le=365)
    tags: list[KpiTag] = Field(
        default=[],
        max_length=20,
        description="Words an index definition selects KPIs by (`select: {tag: …}`).",
    )


class KpiUpdate(Strict):
    """Only the fields you send change; null clears the ones that may be empty."""

    version: Version | None = None
    # Every KPI has these: they take no null (leave them out to keep them).
    name: Text(200, 1) = Field(default=None, json_schema_extra=_absent_means_unchanged)  # type: ignore[valid-type]
    unit: Text(30) = Field(default=None, json_schema_extra=_absent_means_unchanged)  # type: ignore[valid-type]
    perspective: PerspectiveT = Field(default=None, json_schema_extra=_absent_means_unchanged)
    target: Number = Field(default=None, json_schema_extra=_absent_means_unchanged)
    interval_hours: StrictInt = Field(
        default=None, ge=1, le=8784, json_schema_extra=_absent_means_unchanged
    )
    rules: list[RuleT] = Field(
        default=None, max_length=7, json_schema_extra=_absent_means_unchanged
    )
    warnings_in_a_row: StrictInt = Field(
        default=None, ge=2, le=50, json_schema_extra=_absent_means_unchanged
    )
    recovery_periods: StrictInt = Field(
        default=None, ge=1, le=365, json_schema_extra=_absent_means_unchanged
    )
    active: Flag = Field(
        default=None,
        json_schema_extra=_absent_means_unchanged,
        description="false retires the KPI (no more checks); true brings it back.",
    )
    tags: list[KpiTag] = Field(
        default=None, max_length=20, json_schema_extra=_absent_means_unchanged
    )
    # These may be cleared with null.
    name_zh: Text(200) | None = None  # type: ignore[valid-type]
    description: Text(10_000) | None = None  # type: ignore[valid-type]
    owner_id: Id | None = None
    warning_limit: Number | None = None
    breach_limit: Number | None = None
    note: Text(2000) | None = None  # type: ignore[valid-type]


class KpiOut(BaseModel):
    id: int
    code: str
    name: str
    name_zh: str | None
    description: str | None
    unit: str
    department_id: int
    owner_id: int | None
    perspective: str
    direction: str
    target: float
    warning_limit: float | None
    breach_limit: float | None
    interval_hours: int
    rules: list[str]
    warnings_in_a_row: int
    baseline_start: datetime | None
    baseline_end: datetime | None
    recovery_periods: int
    active: bool
    tags: list[str]
    version: int


class PointIn(Strict):
    at: Moment = Field(
        description="When it was measured: ISO 8601 with a time zone, from 1970 to now."
    )
    value: Number


class PointOut(BaseModel):
    at: datetime
    value: float


class FindingOut(BaseModel):
    kpi: str
    rule: str
    at: datetime
    reason: str


class IngestOut(BaseModel):
    stored: int
    duplicates: int
    problems_raised: list[int]
    occurrences_added: int
    occurrences_withdrawn: int = Field(
        default=0,
        description="Occurrences that points of this batch unmade (a run they broke): findings "
        "are those of the series in time order, whatever order its points arrive in.",
    )
    findings: list[FindingOut]


class ControlLimitsOut(BaseModel):
    centre: float
    sigma: float
    ucl: float = Field(description="Upper control limit: centre + 3 sigma.")
    lcl: float = Field(description="Lower control limit: centre - 3 sigma.")
    mr_bar: float = Field(description="Mean moving range: the moving-range chart's centre.")
    mr_ucl: float = Field(description="Moving-range chart's upper limit: 3.267 x mr_bar.")


class SpcOut(BaseModel):
    """How far the KPI's statistical process control can be trusted."""

    state: Literal["off", "missing", "too_short", "constant", "unusable", "weak", "ok"]
    warning: bool = Field(description="True when SPC is chosen but off or weak.")
    message: str = Field(description="What the state means, in words.")
    baseline_points: int
    minimum_points: int
    recommended_points: int
    false_alarm_every: float | None = Field(
        description="Expected judged points between two false occurrences with these limits."
    )
    false_alarm_every_recommended: float | None = Field(
        description="The same with a baseline of the recommended size."
    )
    rules: list[RuleT]
    limits: ControlLimitsOut | None
    frozen: bool = Field(
        default=False, description="True when the limits were frozen after phase I."
    )


class BaselinePointOut(BaseModel):
    at: datetime
    value: float
    excluded: bool
    reason: str | None = Field(default=None, description="Why it is a special cause.")
    excluded_by_id: int | None = None
    excluded_at: datetime | None = None


class FrozenLimitsOut(BaseModel):
    centre: float
    sigma: float
    ucl: float
    lcl: float
    points: int = Field(description="How many baseline points the limits were frozen from.")
    frozen_by_id: int | None
    frozen_at: datetime


class LimitStepOut(BaseModel):
    """Limits recalculated after a process change: they judge the points from `starts_at`."""

    id: int
    starts_at: datetime
    centre: float
    sigma: float
    ucl: float
    lcl: float
    points: int
    cycle_id: int | None
    set_by_id: int | None
    set_at: datetime


class LimitProposalOut(BaseModel):
    """New limits a closed effective cycle proposes, from the points after its change."""

    cycle_id: int
    cycle_key: str
    starts_at: datetime
    points: int
    centre: float
    sigma: float
    ucl: float
    lcl: float


class BaselineOut(BaseModel):
    """Phase I: the baseline's points (the excluded ones with why), and the limits."""

    points: list[BaselinePointOut]
    computed: ControlLimitsOut | None = Field(
        description="The limits the baseline gives now, without its excluded points."
    )
    frozen: FrozenLimitsOut | None
    steps: list[LimitStepOut]
    proposals: list[LimitProposalOut]
    version: int = Field(description="The KPI's version, to send with a decision.")


class ExcludePointIn(Strict):
    at: Moment = Field(description="The baseline point's time.")
    reason: Text(500, 1) = Field(description="Why it is a special cause (kept in the trail).")  # type: ignore[valid-type]
    version: Version | None = None


class IncludePointIn(Strict):
    at: Moment
    version: Version | None = None
    note: Text(2000) | None = None  # type: ignore[valid-type]


class LimitsDecisionIn(Strict):
    version: Version | None = None
    note: Text(2000) | None = None  # type: ignore[valid-type]


class RecalculateIn(Strict):
    cycle_id: Id = Field(description="The closed effective cycle whose proposal is accepted.")
    version: Version | None = None
    note: Text(2000) | None = None  # type: ignore[valid-type]


class ScoreLineOut(BaseModel):
    kpi: KpiOut
    latest: PointOut | None
    status: Literal["on_target", "off_target", "warning", "breach", "no_data", "stale"] = Field(
        description="stale: the latest value is older than two measurement intervals."
    )
    trend: list[float]
    open_problems: int


class ParetoBarOut(BaseModel):
    label: str
    count: int


class ParetoOut(BaseModel):
    # Bars as objects, not [label, count] pairs: a tuple's `prefixItems` schema trips
    # some OpenAPI tools (Schemathesis among them), and names read better in clients.
    by: str
    bars: list[ParetoBarOut]
