"""SQLModel tables. Plain data: rules live in pdca.services, workflow logic in pdca.engine.

Relationships are deliberately not declared: services query what they need
explicitly, which keeps the number of queries visible (and avoids sqlmodel#196).
"""

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy import event as sa_event
from sqlmodel import Field, SQLModel

# Named constraints so Alembic can alter them on SQLite (batch mode) and on PostgreSQL.
SQLModel.metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; pdca stores UTC-aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _at(*, nullable: bool = False, index: bool = False) -> Any:
    if nullable:
        return Field(default=None, sa_type=UTCDateTime(), nullable=True, index=index)
    return Field(default_factory=utcnow, sa_type=UTCDateTime(), nullable=False, index=index)


def _text(*, nullable: bool = True) -> Any:
    return Field(default=None if nullable else "", sa_type=Text(), nullable=nullable)


class Role(StrEnum):
    admin = "admin"
    facilitator = "facilitator"
    head = "head"
    member = "member"
    viewer = "viewer"


class ProblemCategory(StrEnum):
    """What kind of problem: where in the service it lies (the Pareto counts by it)."""

    process = "process"
    people = "people"
    system = "system"
    supplier = "supplier"
    policy = "policy"
    environment = "environment"


class ProblemSource(StrEnum):
    kpi = "kpi"
    complaint = "complaint"
    audit = "audit"
    inspection = "inspection"
    internal = "internal"
    suggestion = "suggestion"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class ProblemStatus(StrEnum):
    new = "new"
    accepted = "accepted"
    rejected = "rejected"
    duplicate = "duplicate"
    resolved = "resolved"


class ActionKind(StrEnum):
    containment = "containment"
    corrective = "corrective"
    preventive = "preventive"
    improvement = "improvement"
    standardisation = "standardisation"


class ActionStatus(StrEnum):
    open = "open"
    in_progress = "in_progress"
    done = "done"
    verified = "verified"
    cancelled = "cancelled"


class Direction(StrEnum):
    higher = "higher"
    lower = "lower"


class Effectiveness(StrEnum):
    effective = "effective"
    not_effective = "not_effective"


class Department(SQLModel, table=True):
    __tablename__ = "departments"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(20), unique=True, index=True)
    name: str = Field(sa_type=String(200))
    name_zh: str | None = Field(default=None, sa_type=String(200))
    created_at: datetime = _at()
    version: int = 1


class User(SQLModel, table=True):
    __tablename__ = "users"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_type=String(254), unique=True, index=True)
    name: str = Field(sa_type=String(200))
    role: str = Field(sa_type=String(20), default=Role.member)
    department_id: int | None = Field(default=None, foreign_key="departments.id", index=True)
    password_hash: str | None = Field(default=None, sa_type=String(200))
    locale: str = Field(default="en", sa_type=String(10))
    active: bool = True
    created_at: datetime = _at()
    version: int = 1


class WorkflowVersion(SQLModel, table=True):
    """A snapshot of one workflow file; cycles point at the snapshot they started with."""

    __tablename__ = "workflow_versions"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=String(50), index=True)
    number: int
    digest: str = Field(sa_type=String(64), unique=True)
    definition: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _at()


OPEN_COMPLAINT_VOLUME = (
    "status IN ('new', 'accepted') AND complaint_category_id IS NOT NULL "
    "AND detection_rule = 'complaint_volume'"
)


class Problem(SQLModel, table=True):
    __tablename__ = "problems"
    # One open problem per KPI and rule, whatever races: concurrent feeds that both find
    # none open cannot both raise one (habit 15).
    __table_args__ = (
        Index(
            "uq_problems_open_kpi_rule",
            "kpi_id",
            "detection_rule",
            unique=True,
            postgresql_where=text("status IN ('new', 'accepted') AND kpi_id IS NOT NULL"),
            sqlite_where=text("status IN ('new', 'accepted') AND kpi_id IS NOT NULL"),
        ),
        # The same for a composite index (per its scope: the index and department).
        Index(
            "uq_problems_open_index_rule",
            "index_scope",
            "detection_rule",
            unique=True,
            postgresql_where=text("status IN ('new', 'accepted') AND index_scope IS NOT NULL"),
            sqlite_where=text("status IN ('new', 'accepted') AND index_scope IS NOT NULL"),
        ),
        # One open volume problem per complaint category: 50 complaints posted at once
        # raise one problem and 49 occurrences, never two problems (habit 15).
        Index(
            "uq_problems_open_complaint_category",
            "complaint_category_id",
            unique=True,
            postgresql_where=text(OPEN_COMPLAINT_VOLUME),
            sqlite_where=text(OPEN_COMPLAINT_VOLUME),
        ),
        # One open problem per failed clause and department (inspection findings).
        Index(
            "uq_problems_open_finding_key",
            "finding_key",
            unique=True,
            postgresql_where=text("status IN ('new', 'accepted') AND finding_key IS NOT NULL"),
            sqlite_where=text("status IN ('new', 'accepted') AND finding_key IS NOT NULL"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_type=String(300))
    description: str | None = _text()
    source: str = Field(sa_type=String(20), index=True)
    # What kind of problem it is (ProblemCategory), for the Pareto; None until someone says.
    category: str | None = Field(default=None, sa_type=String(30))
    severity: str = Field(sa_type=String(20), default=Severity.medium)
    status: str = Field(sa_type=String(20), default=ProblemStatus.new, index=True)
    department_id: int | None = Field(default=None, foreign_key="departments.id", index=True)
    reported_by_id: int | None = Field(default=None, foreign_key="users.id")
    reported_at: datetime = _at(index=True)
    evidence: str | None = _text()
    occurrences: int = 1
    triaged_by_id: int | None = Field(default=None, foreign_key="users.id")
    triaged_at: datetime | None = _at(nullable=True)
    rejection_reason: str | None = _text()
    duplicate_of_id: int | None = Field(default=None, foreign_key="problems.id")
    resolved_at: datetime | None = _at(nullable=True)
    # Raised by KPI monitoring: which indicator and rule, and when it last fired.
    kpi_id: int | None = Field(default=None, foreign_key="kpis.id", index=True)
    detection_rule: str | None = Field(default=None, sa_type=String(40))
    last_occurrence_at: datetime | None = _at(nullable=True)
    # Raised by watching a composite index: "QSI:0" (all departments) or "QSI:<department id>".
    index_scope: str | None = Field(default=None, sa_type=String(40), index=True)
    # A breach after a cycle on this KPI closed as effective: its standardisation did not hold.
    recurrence_of_cycle_id: int | None = Field(default=None, foreign_key="cycles.id")
    # Raised by an inspection finding: "inspection:<department id>:<clause>".
    finding_key: str | None = Field(default=None, sa_type=String(140), index=True)
    # What a KPI rule wrote, as message templates and parameters, so that every reader
    # sees the title, description and evidence in their own language (title,
    # description and evidence above hold the English, for the API and search).
    generated: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    # Raised by the complaint intake rules: the category whose complaints it gathers.
    complaint_category_id: int | None = Field(
        default=None, foreign_key="complaint_categories.id", index=True
    )
    version: int = 1


class Cycle(SQLModel, table=True):
    __tablename__ = "cycles"
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_type=String(300))
    workflow: str = Field(sa_type=String(50), index=True)
    workflow_version_id: int = Field(foreign_key="workflow_versions.id")
    state: str = Field(sa_type=String(50), index=True)
    iteration: int = 1
    # Turns of the spiral that ended judged not effective (or not judged); escalation counts these.
    failed_iterations: int = 0
    escalated: bool = False
    lead_id: int = Field(foreign_key="users.id", index=True)
    department_id: int | None = Field(default=None, foreign_key="departments.id", index=True)
    objective: str | None = _text()
    baseline: float | None = None
    target: float | None = None
    direction: str | None = Field(default=None, sa_type=String(10))
    unit: str | None = Field(default=None, sa_type=String(30))
    root_cause: str | None = _text()
    # Which bone of the fishbone the root cause sits on (FISHBONE_CATEGORIES), for the Pareto.
    root_cause_category: str | None = Field(default=None, sa_type=String(30))
    success_criterion: str | None = _text()
    effectiveness_window_days: int | None = None
    result: float | None = None
    result_note: str | None = _text()
    effectiveness: str | None = Field(default=None, sa_type=String(20))
    effectiveness_by_id: int | None = Field(default=None, foreign_key="users.id")
    effectiveness_at: datetime | None = _at(nullable=True)
    effectiveness_note: str | None = _text()
    standardisation: str | None = _text()
    # The KPI the cycle aims to move: its baseline and result come from the measurements.
    kpi_id: int | None = Field(default=None, foreign_key="kpis.id", index=True)
    # Fields a workflow file declares beyond the common ones (8D's D-steps, DMAIC's control plan).
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _at()
    state_entered_at: datetime = _at()
    closed_at: datetime | None = _at(nullable=True)
    version: int = 1


class CycleProblem(SQLModel, table=True):
    __tablename__ = "cycle_problems"
    cycle_id: int = Field(foreign_key="cycles.id", primary_key=True)
    problem_id: int = Field(foreign_key="problems.id", primary_key=True, index=True)


class CycleMember(SQLModel, table=True):
    __tablename__ = "cycle_members"
    cycle_id: int = Field(foreign_key="cycles.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)


class Action(SQLModel, table=True):
    __tablename__ = "actions"
    __table_args__ = (Index("ix_actions_department_status", "department_id", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycles.id", index=True)
    title: str = Field(sa_type=String(300))
    description: str | None = _text()
    kind: str = Field(sa_type=String(20), default=ActionKind.corrective)
    status: str = Field(sa_type=String(20), default=ActionStatus.open, index=True)
    owner_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    department_id: int = Field(foreign_key="departments.id")
    deadline: date | None = Field(default=None, index=True)
    # Where in the cycle the action was planned: its phase (e.g. "plan", "d3_contain")
    # and the turn of the spiral (a new iteration needs newly planned actions).
    phase: str | None = Field(default=None, sa_type=String(50))
    iteration: int = 1
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = _at()
    status_changed_at: datetime = _at()
    done_at: datetime | None = _at(nullable=True)
    cancel_reason: str | None = _text()
    verified_by_id: int | None = Field(default=None, foreign_key="users.id")
    verified_at: datetime | None = _at(nullable=True)
    verification_effective: bool | None = None
    verification_note: str | None = _text()
    version: int = 1


class ActionDependency(SQLModel, table=True):
    """`action_id` cannot be completed while `depends_on_id` is still open."""

    __tablename__ = "action_dependencies"
    action_id: int = Field(foreign_key="actions.id", primary_key=True)
    depends_on_id: int = Field(foreign_key="actions.id", primary_key=True, index=True)


class Event(SQLModel, table=True):
    """The audit trail: append-only, one row per change, written with the change."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_entity", "entity_type", "entity_id"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _at(index=True)
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    entity_type: str = Field(sa_type=String(20))
    entity_id: int
    verb: str = Field(sa_type=String(50))
    field: str | None = Field(default=None, sa_type=String(50))
    from_value: str | None = _text()
    to_value: str | None = _text()
    note: str | None = _text()
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Electronic signature (21 CFR Part 11 §11.50 style): the signer is the actor,
    # signed at `at`, with the meaning they stated and how they proved who they are.
    signature_meaning: str | None = Field(default=None, sa_type=String(100))
    signature_method: str | None = Field(default=None, sa_type=String(20))
    # Tamper evidence: SHA-256 over the previous event's hash and this event's fields
    # (one global chain in id order; see pdca.services.audit.chain_hash).
    hash: str | None = Field(default=None, sa_type=String(64))


class Comment(SQLModel, table=True):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_entity", "entity_type", "entity_id"),)
    id: int | None = Field(default=None, primary_key=True)
    entity_type: str = Field(sa_type=String(20))
    entity_id: int
    author_id: int = Field(foreign_key="users.id")
    body: str = Field(sa_type=Text())
    created_at: datetime = _at()


class Evidence(SQLModel, table=True):
    """A file attached to an action, a cycle or a problem, kept in the database itself
    so that every server process sees it. Deleting it keeps its audit events."""

    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_entity", "entity_type", "entity_id"),)
    id: int | None = Field(default=None, primary_key=True)
    entity_type: str = Field(sa_type=String(20))
    entity_id: int
    filename: str = Field(sa_type=String(255))
    content_type: str = Field(sa_type=String(100))
    size: int
    sha256: str = Field(sa_type=String(64))
    uploaded_by_id: int = Field(foreign_key="users.id")
    uploaded_at: datetime = _at()
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class ApiToken(SQLModel, table=True):
    """A bearer token: only its SHA-256 is stored; the secret is shown once."""

    __tablename__ = "api_tokens"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(sa_type=String(100))
    prefix: str = Field(sa_type=String(16))
    token_hash: str = Field(sa_type=String(64), unique=True)
    # A signing token may sign verifications and closures through the API.
    can_sign: bool = False
    # What the token may do, space-separated: read, write, sign (sign mirrors can_sign).
    scopes: str = Field(default="read write", sa_type=String(50))
    # The token that minted this one (None: a password, a session or the CLI did);
    # revoking a token revokes the tokens it minted.
    parent_id: int | None = Field(default=None, foreign_key="api_tokens.id", index=True)
    created_at: datetime = _at()
    expires_at: datetime | None = _at(nullable=True)
    last_used_at: datetime | None = _at(nullable=True)
    revoked_at: datetime | None = _at(nullable=True)


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie carries the signed id; revocable server-side."""

    __tablename__ = "web_sessions"
    id: str = Field(sa_type=String(64), primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    csrf_token: str = Field(sa_type=String(64))
    created_at: datetime = _at()
    expires_at: datetime = _at()


class SignInFailure(SQLModel, table=True):
    """Failed sign-ins, counted per e-mail to throttle password guessing."""

    __tablename__ = "sign_in_failures"
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_type=String(254), index=True)
    at: datetime = _at(index=True)
    # The client's address, throttled too; and whether the e-mail is a user's (the
    # failures for unknown e-mails are capped, so they cannot fill the table).
    address: str | None = Field(default=None, sa_type=String(45), index=True)
    known: bool = True


class IdempotencyKey(SQLModel, table=True):
    """A POST sent with an Idempotency-Key, and the answer its retries get for 24 hours.

    One row per (user, key): the unique index decides which of two concurrent retries
    runs the request. `status` is None while it runs; then the first answer is kept.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    key: str = Field(sa_type=String(255))
    # SHA-256 of the method, path, query and body: the same key with another request is refused.
    fingerprint: str = Field(sa_type=String(64))
    request_line: str = Field(sa_type=String(300))  # "POST /api/v1/problems", for the refusal
    created_at: datetime = _at(index=True)
    status: int | None = None
    headers: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    body: bytes | None = Field(default=None, sa_type=LargeBinary(), nullable=True)
    completed_at: datetime | None = _at(nullable=True)


class WipLimit(SQLModel, table=True):
    """At most `max_cards` cards in a board column, board-wide or in one department's lane.

    Soft limits colour the lane; hard limits refuse a move past them.
    """

    __tablename__ = "wip_limits"
    __table_args__ = (UniqueConstraint("status", "department_id", name="uq_wip_limits_scope"),)
    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(sa_type=String(20))
    department_id: int | None = Field(default=None, foreign_key="departments.id")
    max_cards: int
    hard: bool = False
    version: int = 1


class SavedView(SQLModel, table=True):
    """A board filter a user named and keeps (the query string of the board URL)."""

    __tablename__ = "saved_views"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(sa_type=String(100))
    query: str = Field(sa_type=String(2000))
    created_at: datetime = _at()


class Perspective(StrEnum):
    """The balanced scorecard's four perspectives."""

    financial = "financial"
    customer = "customer"
    internal_process = "internal_process"
    learning_growth = "learning_growth"


class DetectionRule(StrEnum):
    limit_breach = "limit_breach"
    warnings_in_a_row = "warnings_in_a_row"
    spc_beyond_3_sigma = "spc_beyond_3_sigma"
    spc_2_of_3_beyond_2_sigma = "spc_2_of_3_beyond_2_sigma"
    spc_4_of_5_beyond_1_sigma = "spc_4_of_5_beyond_1_sigma"
    spc_8_on_one_side = "spc_8_on_one_side"
    # Nelson's supplementary rules, chosen per KPI beside the Western Electric ones.
    spc_trend_6 = "spc_trend_6"
    spc_14_alternating = "spc_14_alternating"
    spc_15_within_1_sigma = "spc_15_within_1_sigma"
    spc_8_beyond_1_sigma = "spc_8_beyond_1_sigma"
    missing_data = "missing_data"


class Kpi(SQLModel, table=True):
    """An indicator: what is measured, what good looks like, and which rules watch it."""

    __tablename__ = "kpis"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(30), unique=True, index=True)
    name: str = Field(sa_type=String(200))
    name_zh: str | None = Field(default=None, sa_type=String(200))
    description: str | None = _text()
    unit: str = Field(default="", sa_type=String(30))
    department_id: int = Field(foreign_key="departments.id", index=True)
    owner_id: int | None = Field(default=None, foreign_key="users.id")
    perspective: str = Field(sa_type=String(30), default=Perspective.customer)
    direction: str = Field(sa_type=String(10), default=Direction.higher)
    target: float
    # Past the warning limit is a warning; past the breach limit, a breach (direction-aware).
    warning_limit: float | None = None
    breach_limit: float | None = None
    # How often a point is expected; no point for longer raises "missing data".
    interval_hours: int = 24
    rules: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    warnings_in_a_row: int = 3
    # Control limits (SPC) come from this baseline period's points.
    baseline_start: datetime | None = _at(nullable=True)
    baseline_end: datetime | None = _at(nullable=True)
    # Periods within limits after which an open KPI problem offers to be resolved.
    recovery_periods: int = 7
    active: bool = True
    # Words an index definition selects KPIs by (`select: {tag: survey-dimension}`).
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _at()
    # Phase I done: the control limits people froze after reviewing the baseline (its
    # special causes excluded); detection uses them until they are unfrozen.
    frozen_centre: float | None = None
    frozen_sigma: float | None = None
    frozen_points: int | None = None
    frozen_by_id: int | None = Field(default=None, foreign_key="users.id")
    frozen_at: datetime | None = _at(nullable=True)
    version: int = 1


class BaselineExclusion(SQLModel, table=True):
    """A baseline point left out of the control limits (phase I): a special cause, and why."""

    __tablename__ = "baseline_exclusions"
    __table_args__ = (UniqueConstraint("kpi_id", "at", name="uq_baseline_exclusions_kpi_at"),)
    id: int | None = Field(default=None, primary_key=True)
    kpi_id: int = Field(foreign_key="kpis.id", index=True)
    at: datetime = _at()  # the measurement's time
    reason: str = Field(sa_type=Text())
    excluded_by_id: int | None = Field(default=None, foreign_key="users.id")
    excluded_at: datetime = _at()


class LimitStep(SQLModel, table=True):
    """Control limits recalculated after a process change: they judge the points from
    `starts_at` on; the limits before stay for the earlier points."""

    __tablename__ = "kpi_limit_steps"
    __table_args__ = (UniqueConstraint("kpi_id", "starts_at", name="uq_kpi_limit_steps_kpi_at"),)
    id: int | None = Field(default=None, primary_key=True)
    kpi_id: int = Field(foreign_key="kpis.id", index=True)
    starts_at: datetime = _at()
    centre: float
    sigma: float
    points: int  # how many points after the change the limits came from
    cycle_id: int | None = Field(default=None, foreign_key="cycles.id")
    set_by_id: int | None = Field(default=None, foreign_key="users.id")
    set_at: datetime = _at()


class Measurement(SQLModel, table=True):
    """One point of a KPI; the same KPI and time twice is one point."""

    __tablename__ = "measurements"
    __table_args__ = (UniqueConstraint("kpi_id", "at", name="uq_measurements_kpi_at"),)
    id: int | None = Field(default=None, primary_key=True)
    kpi_id: int = Field(foreign_key="kpis.id", index=True)
    at: datetime = _at(index=True)
    value: float
    received_at: datetime = _at()


class ProblemOccurrence(SQLModel, table=True):
    """A detection rule firing for a problem: the first time and every time again."""

    __tablename__ = "problem_occurrences"
    # A rule fires once at a point: re-judging a series is idempotent.
    __table_args__ = (
        UniqueConstraint("kpi_id", "rule", "at", name="uq_problem_occurrences_kpi_rule_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    problem_id: int = Field(foreign_key="problems.id", index=True)
    kpi_id: int = Field(foreign_key="kpis.id", index=True)
    rule: str = Field(sa_type=String(40))
    at: datetime = _at()
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Lease(SQLModel, table=True):
    """Who runs a scheduled job now: taken by compare-and-set, so several workers never both do."""

    __tablename__ = "leases"
    name: str = Field(sa_type=String(50), primary_key=True)
    holder: str = Field(sa_type=String(100))
    until: datetime = _at()


class MeetingStatus(StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    ended = "ended"
    signed = "signed"


class Attendance(StrEnum):
    present = "present"
    excused = "excused"
    absent = "absent"


class MeetingSeries(SQLModel, table=True):
    """A recurring cross-department review: when it meets, for which departments, who sits in."""

    __tablename__ = "meeting_series"
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_type=String(200))
    # Local wall-clock time in `time_zone` (IANA name): "every Tuesday 10:00 Asia/Shanghai".
    weekday: int  # 0 = Monday
    local_time: str = Field(sa_type=String(5))  # "HH:MM"
    time_zone: str = Field(default="UTC", sa_type=String(64))
    interval_weeks: int = 1
    duration_minutes: int = 60
    chair_id: int = Field(foreign_key="users.id")
    department_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    attendee_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    quorum: int = 1
    active: bool = True
    created_at: datetime = _at()
    version: int = 1


class Meeting(SQLModel, table=True):
    """One review meeting: planned, in progress, ended (minutes drafted), signed (read-only)."""

    __tablename__ = "meetings"
    id: int | None = Field(default=None, primary_key=True)
    series_id: int | None = Field(default=None, foreign_key="meeting_series.id", index=True)
    title: str = Field(sa_type=String(200))
    starts_at: datetime = _at(index=True)
    time_zone: str = Field(default="UTC", sa_type=String(64))
    chair_id: int = Field(foreign_key="users.id")
    department_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    quorum: int = 1
    status: str = Field(default=MeetingStatus.planned, sa_type=String(20), index=True)
    prepared_at: datetime | None = _at(nullable=True)
    started_at: datetime | None = _at(nullable=True)
    ended_at: datetime | None = _at(nullable=True)
    # The minutes as generated at the end: data (ids, keys, params), rendered per reader.
    minutes: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    signed_by_id: int | None = Field(default=None, foreign_key="users.id")
    signed_at: datetime | None = _at(nullable=True)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = _at()
    version: int = 1


class MeetingAttendee(SQLModel, table=True):
    __tablename__ = "meeting_attendees"
    meeting_id: int = Field(foreign_key="meetings.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)
    status: str = Field(default=Attendance.absent, sa_type=String(10))


class MeetingItem(SQLModel, table=True):
    """One agenda line: a snapshot of what the data said (kind, entity, facts) when built."""

    __tablename__ = "meeting_items"
    __table_args__ = (Index("ix_meeting_items_entity", "entity_type", "entity_id"),)
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    department_id: int | None = Field(default=None, foreign_key="departments.id")
    position: int = 0
    kind: str = Field(sa_type=String(30))
    entity_type: str | None = Field(default=None, sa_type=String(20))
    entity_id: int | None = None
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # A free item's words, as its author typed them.
    text: str | None = _text()
    added_by_id: int | None = Field(default=None, foreign_key="users.id")
    # The item of an earlier meeting that was left undecided and comes back here.
    carried_from_id: int | None = Field(default=None, foreign_key="meeting_items.id")
    created_at: datetime = _at()
    version: int = 1


class MeetingDecision(SQLModel, table=True):
    """What the meeting decided on an item, and the record the decision made or changed."""

    __tablename__ = "meeting_decisions"
    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meetings.id", index=True)
    item_id: int = Field(foreign_key="meeting_items.id", index=True)
    kind: str = Field(sa_type=String(30))
    entity_type: str | None = Field(default=None, sa_type=String(20))
    entity_id: int | None = None
    # Message parameters (keys, names, dates): the sentence is rendered in the reader's language.
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    note: str | None = _text()
    decided_by_id: int | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime = _at()


# The database refuses UPDATE and DELETE on events (migration 0009 installs the same
# triggers; these make `metadata.create_all`, as the PostgreSQL tests use, agree).
_EVENTS_APPEND_ONLY_PG = (
    "CREATE FUNCTION events_append_only() RETURNS trigger AS $$ BEGIN "
    "RAISE EXCEPTION 'the audit trail is append-only: %% on events refused', TG_OP; "
    "END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
    "FOR EACH ROW EXECUTE FUNCTION events_append_only()",
    "CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events "
    "FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()",
)
_EVENTS_APPEND_ONLY_SQLITE = tuple(
    f"CREATE TRIGGER events_no_{verb.lower()} BEFORE {verb} ON events BEGIN SELECT "
    f"RAISE(ABORT, 'the audit trail is append-only: {verb} on events refused'); END"
    for verb in ("UPDATE", "DELETE")
)
for _statement in _EVENTS_APPEND_ONLY_PG:
    sa_event.listen(
        Event.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql")
    )
for _statement in _EVENTS_APPEND_ONLY_SQLITE:
    sa_event.listen(Event.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))


# --- notifications: inbox, preferences, escalation, webhooks and their outbox -----------


class Notification(SQLModel, table=True):
    """One line in a person's inbox. Its text is a message key plus parameters (`kind`,
    `params`), rendered in the reader's language; `dedupe` makes producing it idempotent."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "dedupe", name="uq_notifications_user_dedupe"),
        Index("ix_notifications_user_unread", "user_id", "read_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id")
    kind: str = Field(sa_type=String(30))
    entity_type: str = Field(sa_type=String(20))
    entity_id: int
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    dedupe: str = Field(sa_type=String(120))
    created_at: datetime = _at()
    read_at: datetime | None = _at(nullable=True)


class NotificationPreference(SQLModel, table=True):
    """What a person wants to hear about, how, and when; no row means the defaults."""

    __tablename__ = "notification_preferences"
    user_id: int = Field(foreign_key="users.id", primary_key=True)
    # Kinds left out of the inbox, and kinds also mailed at once (space-separated).
    kinds_off: str = Field(default="", sa_type=String(400))
    urgent_kinds: str = Field(default="", sa_type=String(400))
    email_digest: bool = True
    digest_hour: int = 7
    time_zone: str = Field(default="UTC", sa_type=String(64))
    due_soon_days: int = 2
    muted: bool = False
    # The private calendar feed: only the token's SHA-256 is kept (like API tokens).
    calendar_token_hash: str | None = Field(default=None, sa_type=String(64), unique=True)
    calendar_token_prefix: str | None = Field(default=None, sa_type=String(16))
    version: int = 1


class Outbox(SQLModel, table=True):
    """A message to send (a mail or a webhook delivery), written in the transaction that
    decided to send it; the unique key makes deciding twice harmless, and the sender
    claims a row by compare-and-set before it sends (see pdca.services.outbox)."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("channel", "dedupe", name="uq_outbox_channel_dedupe"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_type=String(10))  # mail | webhook
    dedupe: str = Field(sa_type=String(160))
    user_id: int | None = Field(default=None, foreign_key="users.id")
    webhook_id: int | None = Field(default=None, foreign_key="webhooks.id", index=True)
    kind: str = Field(sa_type=String(30))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", sa_type=String(10))  # pending|sending|sent|failed
    attempts: int = 0
    created_at: datetime = _at()
    next_attempt_at: datetime = _at()
    claimed_at: datetime | None = _at(nullable=True)
    claimed_by: str | None = Field(default=None, sa_type=String(100))
    sent_at: datetime | None = _at(nullable=True)
    last_result: str | None = Field(default=None, sa_type=String(300))


class Webhook(SQLModel, table=True):
    """Another system that wants to hear of events: a URL, the kinds it wants, a secret."""

    __tablename__ = "webhooks"
    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_type=String(500))
    kinds: str = Field(default="", sa_type=String(400))  # space-separated
    secret: str = Field(sa_type=String(64))
    active: bool = True
    created_at: datetime = _at()
    version: int = 1


class EscalationLadder(SQLModel, table=True):
    """The organisation's ladder for overdue actions: one row (id 1), steps as data,
    e.g. [{"days": 0, "to": "owner"}, {"days": 3, "to": "head"}, {"days": 7, "to": "quality"}]."""

    __tablename__ = "escalation_ladders"
    id: int | None = Field(default=None, primary_key=True)
    steps: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    version: int = 1


class EscalationStep(SQLModel, table=True):
    """A step of the ladder taken for one action and deadline: taken once (unique)."""

    __tablename__ = "escalation_steps"
    __table_args__ = (
        UniqueConstraint("action_id", "deadline", "step", name="uq_escalation_steps_once"),
    )
    id: int | None = Field(default=None, primary_key=True)
    action_id: int = Field(foreign_key="actions.id", index=True)
    deadline: date
    step: int
    to: str = Field(sa_type=String(20))
    department_id: int | None = Field(default=None, foreign_key="departments.id")
    at: datetime = _at()


class InspectionEscalation(SQLModel, table=True):
    """A step of the escalation ladder taken for an overdue inspection: taken once."""

    __tablename__ = "inspection_escalations"
    __table_args__ = (
        UniqueConstraint("inspection_id", "due_on", "step", name="uq_inspection_escalations_once"),
    )
    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspections.id", index=True)
    due_on: date
    step: int
    to: str = Field(sa_type=String(20))
    at: datetime = _at()


class JobCursor(SQLModel, table=True):
    """How far a job has read an append-only table (the trail): its last id."""

    __tablename__ = "job_cursors"
    name: str = Field(sa_type=String(50), primary_key=True)
    position: int = 0


class IndexVersion(SQLModel, table=True):
    """A snapshot of one index definition; every computed value points at the one it used."""

    __tablename__ = "index_versions"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(20), index=True)
    number: int
    digest: str = Field(sa_type=String(64), unique=True)
    definition: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = _at()


class IndexValue(SQLModel, table=True):
    """A composite index for one period and scope, with the members it stood on.

    `scope` is the department's id, or 0 for the whole organisation (no foreign key: 0
    is no department). A value is kept with the definition version that computed it, so
    a later change of weights leaves it as it was.
    """

    __tablename__ = "index_values"
    __table_args__ = (
        UniqueConstraint(
            "code", "scope", "period", "start", name="uq_index_values_code_scope_period_start"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(20), index=True)
    scope: int = 0
    period: str = Field(sa_type=String(10))
    start: date
    version_id: int = Field(foreign_key="index_versions.id")
    value: float
    members_used: int
    members_total: int
    # [{kpi, weight, share, value, score, contribution}], in the definition's order.
    members: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    status: str = Field(sa_type=String(20))
    # The watch rules this value completed (once each: judging again raises nothing new).
    signals: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    computed_at: datetime = _at()


# --- feedback: complaint intake (surveys follow) -----------------------------------------


class ComplaintChannel(StrEnum):
    phone = "phone"
    email = "email"
    web = "web"
    in_person = "in_person"
    social_media = "social_media"


class ComplaintCategory(SQLModel, table=True):
    """One entry of the editable complaint taxonomy, with the intake rule that watches it:
    `threshold` complaints within `window_days` raise one problem; one complaint of
    severity `severe_from` or worse raises one at once."""

    __tablename__ = "complaint_categories"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(30), unique=True, index=True)
    name: str = Field(sa_type=String(200))
    name_zh: str | None = Field(default=None, sa_type=String(200))
    threshold: int = 5
    window_days: int = 7
    severe_from: str = Field(default=Severity.critical, sa_type=String(20))
    active: bool = True
    created_at: datetime = _at()
    version: int = 1


class Complaint(SQLModel, table=True):
    """What a customer complained about, as the service desk, call centre or CRM sent it."""

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_category_received", "category_id", "received_at"),)
    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(sa_type=String(20))
    category_id: int = Field(foreign_key="complaint_categories.id")
    customer_ref: str | None = Field(default=None, sa_type=String(100), index=True)
    department_id: int | None = Field(default=None, foreign_key="departments.id", index=True)
    severity: str = Field(default=Severity.medium, sa_type=String(20))
    received_at: datetime = _at(index=True)
    text: str = Field(sa_type=Text())
    # The sending system's own reference (a ticket number): the same one twice is refused.
    external_ref: str | None = Field(default=None, sa_type=String(100), unique=True)
    problem_id: int | None = Field(default=None, foreign_key="problems.id", index=True)
    first_response_at: datetime | None = _at(nullable=True)
    resolved_at: datetime | None = _at(nullable=True)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = _at()
    version: int = 1


# --- feedback: surveys, invitations, answers ------------------------------------------------


class QuestionKind(StrEnum):
    rating = "rating"  # 1 to 5
    nps = "nps"  # 0 to 10: how likely to recommend
    choice = "choice"  # one of the question's choices
    text = "text"  # free words


class QualityDimension(SQLModel, table=True):
    """A dimension of service quality a question is tagged with (SERVQUAL's five by default)."""

    __tablename__ = "quality_dimensions"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(10), unique=True, index=True)
    name: str = Field(sa_type=String(100))
    name_zh: str | None = Field(default=None, sa_type=String(100))
    position: int = 0
    active: bool = True
    version: int = 1


class Survey(SQLModel, table=True):
    """A satisfaction survey; its questions live in versions (see SurveyVersion)."""

    __tablename__ = "surveys"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(10), unique=True, index=True)
    title: str = Field(sa_type=String(200))
    title_zh: str | None = Field(default=None, sa_type=String(200))
    # Whose KPIs the answers feed when an answer names no department (the open link).
    department_id: int = Field(foreign_key="departments.id")
    current_version_id: int | None = Field(default=None)
    # The anonymous open link: only the SHA-256 of its token is kept.
    open_token_hash: str | None = Field(default=None, sa_type=String(64), unique=True)
    # The last day whose answers became KPI measurements.
    fed_through: date | None = None
    active: bool = True
    created_at: datetime = _at()
    version: int = 1


# --- inspections: checklist templates (versioned), inspections, findings -------------------


class InspectionStatus(StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    submitted = "submitted"
    acknowledged = "acknowledged"
    skipped = "skipped"  # not done, on purpose: who skipped it and why are recorded


class ChecklistTemplate(SQLModel, table=True):
    """A checklist people edit; what it asks lives in its versions (`ChecklistVersion`)."""

    __tablename__ = "checklist_templates"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_type=String(30), unique=True, index=True)
    title: str = Field(sa_type=String(200))
    title_zh: str | None = Field(default=None, sa_type=String(200))
    # The version new inspections get; earlier versions stay as inspections used them.
    current_version: int = 1
    active: bool = True
    created_at: datetime = _at()
    version: int = 1


class SurveyVersion(SQLModel, table=True):
    """The questions of a survey as they were asked: editing a survey that has answers
    makes a new version, so every answer keeps the questions it answered."""

    __tablename__ = "survey_versions"
    __table_args__ = (UniqueConstraint("survey_id", "number", name="uq_survey_versions_number"),)
    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="surveys.id", index=True)
    number: int
    questions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = _at()


class SurveyInvitation(SQLModel, table=True):
    """A one-time link to answer a survey, sent when a case closes."""

    __tablename__ = "survey_invitations"
    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="surveys.id", index=True)
    token_hash: str = Field(sa_type=String(64), unique=True)
    case_ref: str | None = Field(default=None, sa_type=String(100))
    department_id: int = Field(foreign_key="departments.id", index=True)
    channel: str | None = Field(default=None, sa_type=String(20))
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = _at(index=True)
    expires_at: datetime = _at()
    answered_at: datetime | None = _at(nullable=True)


class SurveyResponse(SQLModel, table=True):
    """One answer to a survey: what was answered, and the scores drawn from it."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        # One answer per invitation, whatever races: the database says no to a second.
        UniqueConstraint("invitation_id", name="uq_survey_responses_invitation_id"),
        Index("ix_survey_responses_survey_submitted", "survey_id", "submitted_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    survey_id: int = Field(foreign_key="surveys.id")
    survey_version_id: int = Field(foreign_key="survey_versions.id")
    invitation_id: int | None = Field(default=None, foreign_key="survey_invitations.id")
    department_id: int = Field(foreign_key="departments.id", index=True)
    channel: str | None = Field(default=None, sa_type=String(20))
    submitted_at: datetime = _at(index=True)
    lang: str = Field(default="en", sa_type=String(10))
    # SHA-256 of the sender's address, only to limit how often one address answers.
    address_hash: str | None = Field(default=None, sa_type=String(64), index=True)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Drawn from the answers: the mean rating (CSAT, 1–5), the NPS answer (0–10), and
    # per dimension the mean perceived and expected ratings.
    csat: float | None = None
    nps: int | None = None
    dimensions: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class ChecklistVersion(SQLModel, table=True):
    """One version of a checklist's body (sections and items): written once, never changed."""

    __tablename__ = "checklist_versions"
    __table_args__ = (
        UniqueConstraint("template_id", "number", name="uq_checklist_versions_template_number"),
    )
    id: int | None = Field(default=None, primary_key=True)
    template_id: int = Field(foreign_key="checklist_templates.id", index=True)
    number: int
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = _at()


class InspectionPlan(SQLModel, table=True):
    """A schedule of inspections: which checklist, which departments, how often, who
    inspects, and (for a spot check) how many cases to draw from which list."""

    __tablename__ = "inspection_plans"
    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_type=String(200))
    title_zh: str | None = Field(default=None, sa_type=String(200))
    checklist_id: int = Field(foreign_key="checklist_templates.id", index=True)
    department_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # daily, weekly, monthly, quarterly, or rrule (then `rrule` holds an RFC 5545 RRULE).
    frequency: str = Field(sa_type=String(20))
    rrule: str | None = Field(default=None, sa_type=String(500))
    starts_on: date
    ends_on: date | None = None
    # Who inspects: the named people, or else every active user with this role.
    inspector_role: str | None = Field(default=None, sa_type=String(20))
    inspector_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Independent: an inspector is never a member of the department inspected.
    independent: bool = False
    # Spot checks (抽查): draw `sample_size` cases of `sample_source` from the period.
    sample_size: int = 0
    sample_source: str | None = Field(default=None, sa_type=String(30))
    active: bool = True
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = _at()
    version: int = 1


class Inspection(SQLModel, table=True):
    """One check of a department against one checklist version, by one inspector."""

    __tablename__ = "inspections"
    __table_args__ = (
        Index("ix_inspections_inspector_status", "inspector_id", "status"),
        # A plan makes one inspection per department and date, whatever runs the job.
        UniqueConstraint("plan_id", "department_id", "due_on", name="uq_inspections_plan_due"),
    )
    id: int | None = Field(default=None, primary_key=True)
    checklist_version_id: int = Field(foreign_key="checklist_versions.id", index=True)
    department_id: int = Field(foreign_key="departments.id", index=True)
    inspector_id: int = Field(foreign_key="users.id")
    due_on: date = Field(index=True)
    status: str = Field(default=InspectionStatus.planned, sa_type=String(20), index=True)
    # {item id: {"value": ..., "note": ...}}, saved as the inspector goes.
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    score: float | None = None
    passed: bool | None = None
    failed_items: int = 0
    started_at: datetime | None = _at(nullable=True)
    submitted_at: datetime | None = _at(nullable=True)
    acknowledged_by_id: int | None = Field(default=None, foreign_key="users.id")
    acknowledged_at: datetime | None = _at(nullable=True)
    acknowledgement_note: str | None = _text()
    plan_id: int | None = Field(default=None, foreign_key="inspection_plans.id", index=True)
    # A spot check's sample: the seed drawn, the period and list it was drawn from, and
    # the cases drawn, so an auditor can draw it again and compare.
    sample_seed: int | None = None
    sample_source: str | None = Field(default=None, sa_type=String(30))
    sample_from: date | None = None
    sample_to: date | None = None
    sample: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # "checklist": the inspector answers its items; "expert_review": named reviewers
    # (InspectionReview) each score and comment, and the score is their mean.
    kind: str = Field(default="checklist", sa_type=String(20))
    # Skipped on purpose (the department closed, the service was not run that month).
    skip_reason: str | None = _text()
    skipped_by_id: int | None = Field(default=None, foreign_key="users.id")
    skipped_at: datetime | None = _at(nullable=True)
    created_by_id: int | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = _at()
    version: int = 1


class InspectionReview(SQLModel, table=True):
    """One named reviewer's score and comment on an expert review (an inspection of kind
    "expert_review"); the inspection's score is the mean of its reviewers' scores."""

    __tablename__ = "inspection_reviews"
    __table_args__ = (
        UniqueConstraint("inspection_id", "reviewer_id", name="uq_inspection_reviews_reviewer"),
    )
    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspections.id", index=True)
    reviewer_id: int = Field(foreign_key="users.id", index=True)
    score: float | None = None
    comment: str | None = _text()
    submitted_at: datetime | None = _at(nullable=True)
    version: int = 1


class InspectionFinding(SQLModel, table=True):
    """A failed item of a submitted inspection, and the problem it raised or recurred in."""

    __tablename__ = "inspection_findings"
    __table_args__ = (
        UniqueConstraint("inspection_id", "item_id", name="uq_inspection_findings_item"),
    )
    id: int | None = Field(default=None, primary_key=True)
    inspection_id: int = Field(foreign_key="inspections.id", index=True)
    item_id: str = Field(sa_type=String(30))
    clause: str = Field(sa_type=String(100))
    severity: str = Field(sa_type=String(20))
    department_id: int = Field(foreign_key="departments.id")
    problem_id: int = Field(foreign_key="problems.id", index=True)
    raised: bool = False  # True: this finding raised the problem; False: an occurrence
    at: datetime = _at()
