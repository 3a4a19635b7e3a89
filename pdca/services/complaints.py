"""Complaint intake: the taxonomy, receiving complaints, and the rules that raise problems.

A complaint arrives from a service desk, a call centre or a CRM (the API), from a
person at the web form, or in a CSV file. Its category's rule decides what becomes a
problem:

- a complaint of the category's `severe_from` severity or worse raises a problem of
  its own at once;
- otherwise, when `threshold` complaints of the category arrived within `window_days`,
  ONE problem is raised for the category and gathers them; while it stays open, every
  further complaint of the category joins it as one more occurrence (as KPI problems
  do), instead of raising a problem each.

Concurrency (PostgreSQL): receiving a complaint locks its category row until the commit,
so the complaints of one category are judged one after the other and each sees the ones
before it: 50 posted at once raise one problem. Beneath that, a partial unique index
(`uq_problems_open_complaint_category`) keeps one open volume problem per category
whatever path wrote it; a lost race is re-read and joined. An occurrence is counted
with an atomic `occurrences + 1` that leaves the version people edit with alone.
Every problem row is written before the first audit event (which takes the trail's
lock), as in pdca.services.kpi_findings.
"""

import bisect
import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select

from pdca.engine.facts import N_, Reason, because, because_n, on_line
from pdca.models import (
    Complaint,
    ComplaintCategory,
    ComplaintChannel,
    Department,
    Problem,
    ProblemSource,
    ProblemStatus,
    Severity,
)
from pdca.services import audit
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Conflict, Invalid, NotFound
from pdca.services.kpi_findings import OPEN_PROBLEM
from pdca.services.policy import can_manage_feedback, can_take_complaints, require
from pdca.services.store import check_version, compare_and_set, get_or_404
from pdca.services.text import storable

VOLUME = "complaint_volume"
SEVERE = "complaint_severe"
SEVERITY_RANK = {s.value: i for i, s in enumerate(Severity)}
CHANNELS = tuple(c.value for c in ComplaintChannel)
MAX_TEXT = 10_000
MAX_BATCH = 5_000
FUTURE_TOLERANCE = timedelta(hours=1)
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)

Deferred = list[Callable[[], None]]


# --- the taxonomy -------------------------------------------------------------------------

CATEGORY_FIELDS = ("code", "name", "name_zh", "threshold", "window_days", "severe_from", "active")


def _category_reasons(values: dict[str, Any]) -> list[str]:
    reasons = []
    code = str(values.get("code") or "")
    if not code.strip() or len(code) > 30:
        reasons.append("code: 1 to 30 characters, e.g. BILLING.")
    if not str(values.get("name") or "").strip() or len(str(values.get("name"))) > 200:
        reasons.append("name: give the category a name (at most 200 characters).")
    if values.get("name_zh") is not None and len(str(values["name_zh"])) > 200:
        reasons.append("name_zh: at most 200 characters.")
    if not isinstance(values.get("threshold"), int) or not 1 <= values["threshold"] <= 10_000:
        reasons.append("threshold: between 1 and 10000 complaints.")
    if not isinstance(values.get("window_days"), int) or not 1 <= values["window_days"] <= 366:
        reasons.append("window_days: between 1 and 366 days.")
    if values.get("severe_from") not in SEVERITY_RANK:
        reasons.append(f"severe_from: one of {', '.join(SEVERITY_RANK)}.")
    return reasons


def create_category(ctx: Ctx, **values: Any) -> ComplaintCategory:
    require(can_manage_feedback(ctx.actor))
    unknown = sorted(set(values) - set(CATEGORY_FIELDS))
    if unknown:
        raise Invalid(f"Unknown category fields: {', '.join(unknown)}.")
    values = {"threshold": 5, "window_days": 7, "severe_from": Severity.critical.value, **values}
    values["code"] = str(values.get("code") or "").strip().upper()
    values["name"] = str(values.get("name") or "").strip()
    values["name_zh"] = str(values.get("name_zh") or "").strip() or None
    reasons = _category_reasons(values)
    if reasons:
        raise Invalid("The category cannot be created.", reasons)
    with unit_of_work(ctx):
        if ctx.session.exec(
            select(ComplaintCategory).where(ComplaintCategory.code == values["code"])
        ).first():
            raise Conflict(f"A complaint category with the code {values['code']} already exists.")
        category = ComplaintCategory(**values, created_at=ctx.now())
        ctx.session.add(category)
        ctx.session.flush()
        assert category.id is not None
        audit.record(ctx, "complaint_category", category.id, "created", data=dict(values))
    return category


def update_category(
    ctx: Ctx, category_id: int, *, version: int | None, changes: dict[str, Any]
) -> ComplaintCategory:
    require(can_manage_feedback(ctx.actor))
    unknown = sorted(set(changes) - set(CATEGORY_FIELDS) | ({"code"} & set(changes)))
    if unknown:
        raise Invalid(f"These fields cannot be changed: {', '.join(unknown)}.")
    if "name" in changes:
        changes = {**changes, "name": str(changes["name"] or "").strip()}
    if "name_zh" in changes:
        changes = {**changes, "name_zh": str(changes["name_zh"] or "").strip() or None}
    with unit_of_work(ctx):
        category = get_or_404(ctx, ComplaintCategory, category_id, "Complaint category")
        check_version(category, version, f"Category {category.code}")
        reasons = _category_reasons({**category.model_dump(), **changes})
        if reasons:
            raise Invalid("The category cannot be changed.", reasons)
        before = {k: getattr(category, k) for k in changes}
        changed = {k: v for k, v in changes.items() if before[k] != v}
        if changed:
            compare_and_set(ctx, category, f"Category {category.code}", changed)
            audit.record_changes(ctx, "complaint_category", category_id, before, changed)
    return category


def categories(ctx: Ctx, *, active_only: bool = False) -> list[ComplaintCategory]:
    query = select(ComplaintCategory).order_by(ComplaintCategory.code)
    if active_only:
        query = query.where(col(ComplaintCategory.active).is_(True))
    return list(ctx.session.exec(query))


def category_by_ref(ctx: Ctx, ref: int | str, *, lock: bool = False) -> ComplaintCategory:
    if isinstance(ref, int):
        return get_or_404(ctx, ComplaintCategory, ref, "Complaint category", lock=lock)
    query = select(ComplaintCategory).where(ComplaintCategory.code == ref.strip().upper())
    if lock:
        query = query.with_for_update()
    found = ctx.session.exec(query.execution_options(populate_existing=True)).first()
    if found is None:
        raise NotFound(f"There is no complaint category with the code {ref.strip().upper()}.")
    return found


# --- receiving complaints -------------------------------------------------------------------


@dataclass(frozen=True)
class ComplaintIn:
    """One complaint as a client sent it; `line` names it in error messages (CSV line)."""

    channel: str
    category: int | str  # an id or a code
    text: str
    severity: str = Severity.medium.value
    received_at: datetime | None = None
    customer_ref: str | None = None
    department_id: int | None = None
    external_ref: str | None = None
    line: int = 0


@dataclass
class Intake:
    complaints: list[Complaint] = field(default_factory=list)
    problems_raised: list[int] = field(default_factory=list)
    occurrences_added: int = 0


def _reasons_of(ctx: Ctx, item: ComplaintIn, line: int | None) -> list[Reason]:
    """What is wrong with one complaint; each reason on its line of a file (when `line`)."""
    reasons = []
    if item.channel not in CHANNELS:
        reasons.append(
            because("invalid", "channel: one of %(choices)s.", choices=", ".join(CHANNELS))
        )
    if item.severity not in SEVERITY_RANK:
        reasons.append(
            because("invalid", "severity: one of %(choices)s.", choices=", ".join(SEVERITY_RANK))
        )
    if not item.text.strip():
        reasons.append(because("invalid", "text: say what the customer complained about."))
    elif len(item.text) > MAX_TEXT or not storable(item.text):
        reasons.append(
            because("invalid", "text: at most %(limit)s characters of text.", limit=f"{MAX_TEXT:,}")
        )
    for name in ("customer_ref", "external_ref"):
        value = getattr(item, name)
        if value is not None and (len(value) > 100 or not storable(value)):
            reasons.append(because("invalid", "%(field)s: at most 100 characters.", field=name))
    if item.received_at is not None:
        if item.received_at.tzinfo is None:
            reasons.append(because("invalid", "received_at: give a time zone (Z or +08:00)."))
        elif not EARLIEST <= item.received_at <= ctx.now() + FUTURE_TOLERANCE:
            reasons.append(because("invalid", "received_at: not in the future, not before 1970."))
    return reasons if line is None else [on_line(line, r) for r in reasons]


def receive(ctx: Ctx, item: ComplaintIn) -> Intake:
    """Receive one complaint and apply its category's rule, in one transaction."""
    return receive_many(ctx, [item])


def receive_many(ctx: Ctx, items: Sequence[ComplaintIn]) -> Intake:
    """Receive a batch (a CSV file): all or nothing, every bad line named."""
    require(can_take_complaints(ctx.actor))
    if not items:
        raise Invalid("The batch holds no complaint.", ["The batch holds no complaint."])
    if len(items) > MAX_BATCH:
        raise Invalid(f"A batch holds at most {MAX_BATCH:,} complaints; split it.")
    single = len(items) == 1 and items[0].line == 0
    reasons: list[Reason | str] = []
    for item in items:
        reasons += _reasons_of(ctx, item, None if single else item.line)
    if reasons:
        raise Invalid("The complaint cannot be received." if single else _nothing(reasons), reasons)
    with unit_of_work(ctx):
        # Categories locked in id order until the commit: complaints of one category are
        # judged one after the other, and two batches never deadlock on each other.
        wanted: dict[int | str, ComplaintCategory] = {}
        found: dict[int, ComplaintCategory] = {}
        for item in items:
            try:
                category = _find_category(ctx, item.category)
            except (NotFound, Invalid) as exc:
                if single:
                    raise
                reasons.append(on_line(item.line, exc.summary or Reason("invalid", exc.detail)))
                continue
            wanted[item.category] = found.setdefault(category.id, category)  # type: ignore[arg-type]
        for category_id in sorted(found):
            category_by_ref(ctx, category_id, lock=True)
        departments = {item.department_id for item in items if item.department_id is not None}
        for department_id in departments:
            if ctx.session.get(Department, department_id) is None:
                if single:
                    raise NotFound(f"Department {department_id} does not exist.")
                reasons.append(f"department_id: department {department_id} does not exist.")
        refs = [i.external_ref for i in items if i.external_ref]
        if len(refs) != len(set(refs)):
            reasons.append("external_ref: the same reference twice in one batch.")
        if refs:
            taken = set(
                ctx.session.exec(
                    select(Complaint.external_ref).where(col(Complaint.external_ref).in_(refs))
                )
            )
            reasons += [f"external_ref: {r} was received already." for r in sorted(taken)]
        if reasons:
            if single:  # one complaint: its one reason is a clash with what was received
                raise Conflict(reasons[0], reasons)
            raise Invalid(_nothing(reasons), reasons[:200])
        result = Intake()
        deferred: Deferred = []
        for item in sorted(items, key=lambda i: (i.received_at or ctx.now(), i.line)):
            category = wanted[item.category]
            complaint = Complaint(
                channel=item.channel,
                category_id=category.id,  # type: ignore[arg-type]
                text=item.text.strip(),
                severity=item.severity,
                received_at=item.received_at or ctx.now(),
                customer_ref=(item.customer_ref or "").strip() or None,
                department_id=item.department_id,
                external_ref=(item.external_ref or "").strip() or None,
                created_by_id=ctx.actor_id,
                created_at=ctx.now(),
            )
            ctx.session.add(complaint)
            ctx.session.flush()
            result.complaints.append(complaint)
            _judge(ctx, category, complaint, result, deferred)
        # The trail last: see the module's note on lock order.
        for complaint in result.complaints:
            assert complaint.id is not None
            audit.record(
                ctx,
                "complaint",
                complaint.id,
                "received",
                data={
                    "channel": complaint.channel,
                    "category": wanted_code(wanted, complaint.category_id),
                    "severity": complaint.severity,
                    "received_at": complaint.received_at.isoformat(),
                    "problem_id": complaint.problem_id,
                },
            )
        for write in deferred:
            write()
    return result


def wanted_code(wanted: dict[int | str, ComplaintCategory], category_id: int) -> str:
    return next(c.code for c in wanted.values() if c.id == category_id)


def _nothing(reasons: Sequence[Reason | str]) -> Reason:
    return because(
        "invalid", "Nothing was received: %(count)s line(s) are wrong.", count=len(reasons)
    )


def _find_category(ctx: Ctx, ref: int | str) -> ComplaintCategory:
    category = category_by_ref(ctx, ref)
    if not category.active:
        raise Invalid(
            f"The complaint category {category.code} is retired.",
            [f"category: {category.code} is retired; choose another."],
        )
    return category


def rows_from_csv(source: str | Iterable[str]) -> list[ComplaintIn]:
    """Complaints of a CSV file whose header names its columns: channel, category, text
    (required), severity, received_at, customer_ref, department (a code or an id is
    resolved by the caller: here the cell is kept), external_ref."""
    reader = csv.DictReader(io.StringIO(source) if isinstance(source, str) else source)
    required = {"channel", "category", "text"}
    try:
        header = {h.strip().lower() for h in reader.fieldnames or []}
        if not required <= header:
            raise Invalid(
                "The first line must name the columns: channel, category, text (and optionally "
                "severity, received_at, customer_ref, department_id, external_ref).",
                [
                    because(
                        "invalid",
                        "line %(line)s: missing %(columns)s.",
                        line=1,
                        columns=", ".join(sorted(required - header)),
                    )
                ],
            )
        rows: list[ComplaintIn] = []
        reasons: list[Reason] = []
        for raw in reader:
            cells = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
            if not any(cells.values()):
                continue
            if len(rows) == MAX_BATCH:
                raise Invalid(f"A file holds at most {MAX_BATCH:,} complaints; split it.")
            line = reader.line_num
            received_at = None
            if cells.get("received_at"):
                try:
                    received_at = _parse_time(cells["received_at"])
                except ValueError:
                    reasons.append(
                        because(
                            "invalid",
                            "line %(line)s: received_at: not an ISO 8601 time with a zone.",
                            line=line,
                        )
                    )
            department_id = None
            if cells.get("department_id"):
                if not cells["department_id"].isascii() or not cells["department_id"].isdigit():
                    reasons.append(
                        because(
                            "invalid",
                            "line %(line)s: department_id: a department's number.",
                            line=line,
                        )
                    )
                else:
                    department_id = int(cells["department_id"])
            category: int | str = cells.get("category", "")
            rows.append(
                ComplaintIn(
                    channel=cells.get("channel", ""),
                    category=category,
                    text=cells.get("text", ""),
                    severity=cells.get("severity") or Severity.medium.value,
                    received_at=received_at,
                    customer_ref=cells.get("customer_ref") or None,
                    department_id=department_id,
                    external_ref=cells.get("external_ref") or None,
                    line=line,
                )
            )
    except csv.Error as exc:
        line = reader.line_num
        raise Invalid(
            because(
                "invalid",
                "Line %(line)s cannot be read as CSV: %(error)s.",
                line=line,
                error=str(exc),
            ),
            [because("invalid", "line %(line)s: %(error)s.", line=line, error=str(exc))],
        ) from exc
    if reasons:
        raise Invalid(_nothing(reasons), reasons[:200])
    if not rows:
        raise Invalid("The file holds no complaint.", ["The file holds no complaint."])
    return rows


def _parse_time(value: str) -> datetime:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError("no time zone")
    return parsed.astimezone(UTC)


# --- the intake rules -------------------------------------------------------------------------


def _judge(
    ctx: Ctx, category: ComplaintCategory, complaint: Complaint, result: Intake, deferred: Deferred
) -> None:
    if SEVERITY_RANK[complaint.severity] >= SEVERITY_RANK[category.severe_from]:
        problem = _new_problem(ctx, category, complaint, SEVERE, 1)
        ctx.session.add(problem)
        ctx.session.flush()
        _link(ctx, [complaint], problem.id)  # type: ignore[arg-type]
        result.problems_raised.append(problem.id)  # type: ignore[arg-type]
        deferred.append(lambda: _reported(ctx, category, problem, [complaint.id]))  # type: ignore[list-item]
        return
    open_problem = _open_volume_problem(ctx, category)
    if open_problem is None:
        # Complaints arrive in any order (a CSV of last week, a desk that was offline):
        # the rule looks at every window of `window_days` that holds this complaint, so
        # the outcome does not depend on which of them arrived last.
        window = timedelta(days=category.window_days)
        nearby = list(
            ctx.session.exec(
                select(Complaint)
                .where(
                    Complaint.category_id == category.id,
                    col(Complaint.received_at) > complaint.received_at - window,
                    col(Complaint.received_at) < complaint.received_at + window,
                )
                .order_by(col(Complaint.received_at), col(Complaint.id))
            )
        )
        densest = densest_window(
            [_utc(c.received_at) for c in nearby], _utc(complaint.received_at), window
        )
        if densest < category.threshold:
            return
        gathered = [c for c in nearby if c.problem_id is None]
        problem = _new_problem(ctx, category, complaint, VOLUME, densest)
        problem.occurrences = len(gathered)
        try:
            with ctx.session.begin_nested():
                ctx.session.add(problem)
                ctx.session.flush()
        except IntegrityError:
            # Another writer raised it between our look and our insert (the partial unique
            # index said so): this complaint joins that one.
            ctx.session.expunge(problem)
            open_problem = _open_volume_problem(ctx, category)
            if open_problem is None:
                raise
        else:
            problem_id = problem.id
            assert problem_id is not None
            _link(ctx, gathered, problem_id)
            result.problems_raised.append(problem_id)
            ids = [c.id for c in gathered]
            deferred.append(lambda: _reported(ctx, category, problem, ids))  # type: ignore[arg-type]
            return
    problem_id = open_problem.id
    assert problem_id is not None
    ctx.session.execute(
        update(Problem)
        .where(col(Problem.id) == problem_id)
        .values(
            occurrences=Problem.occurrences + 1,
            last_occurrence_at=func.coalesce(
                case(
                    (
                        col(Problem.last_occurrence_at) < complaint.received_at,
                        complaint.received_at,
                    ),
                    else_=col(Problem.last_occurrence_at),
                ),
                complaint.received_at,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    _link(ctx, [complaint], problem_id)
    result.occurrences_added += 1
    count = int(
        ctx.session.exec(select(Problem.occurrences).where(col(Problem.id) == problem_id)).one()
    )
    complaint_id = complaint.id
    deferred.append(
        lambda: audit.record(
            ctx,
            "problem",
            problem_id,
            "occurred",
            field="occurrences",
            old=count - 1,
            new=count,
            data={"rule": VOLUME, "complaint_id": complaint_id},
        )
    )


def densest_window(times: Sequence[datetime], at: datetime, window: timedelta) -> int:
    """The most of `times` (sorted) that one window of length `window` holding `at` holds."""
    best = 0
    for i, start in enumerate(times):
        if not at - window < start <= at:
            continue
        end = bisect.bisect_left(times, start + window)
        best = max(best, end - i)
    return best


def _utc(at: datetime) -> datetime:
    # SQLite hands times back without a zone when read raw; the rule compares in UTC.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _open_volume_problem(ctx: Ctx, category: ComplaintCategory) -> Problem | None:
    return ctx.session.exec(
        select(Problem)
        .where(
            Problem.complaint_category_id == category.id,
            Problem.detection_rule == VOLUME,
            col(Problem.status).in_(OPEN_PROBLEM),
        )
        .order_by(col(Problem.id).desc())
        .execution_options(populate_existing=True)
        .limit(1)
    ).first()


def _link(ctx: Ctx, complaints: Sequence[Complaint], problem_id: int) -> None:
    ids = [c.id for c in complaints]
    if not ids:
        return
    ctx.session.execute(
        update(Complaint)
        .where(col(Complaint.id).in_(ids))
        .values(problem_id=problem_id)
        .execution_options(synchronize_session=False)
    )
    for complaint in complaints:
        # Mirror the write without marking the row dirty (no second UPDATE).
        set_committed_value(complaint, "problem_id", problem_id)


def _reason(category: ComplaintCategory, complaint: Complaint, rule: str, count: int) -> dict:
    name = {"en": category.name, "zh_CN": category.name_zh or category.name}
    if rule == SEVERE:
        return {
            "template": N_("%(category)s: a severe complaint"),
            "plural": None,
            "params": {"category": name},
        }
    if category.window_days == 1:
        reason = because_n(
            VOLUME,
            "%(category)s: %(count)d complaint within a day",
            "%(category)s: %(count)d complaints within a day",
            count,
            category=name["en"],
        )
    else:
        reason = because_n(
            VOLUME,
            "%(category)s: %(count)d complaint within %(days)d days",
            "%(category)s: %(count)d complaints within %(days)d days",
            count,
            category=name["en"],
            days=category.window_days,
        )
    return {
        "template": reason.template,
        "plural": reason.plural,
        "params": {**reason.params, "category": name},
    }


def _new_problem(
    ctx: Ctx, category: ComplaintCategory, complaint: Complaint, rule: str, count: int
) -> Problem:
    reason = _reason(category, complaint, rule, count)
    params = {k: v.get("en") if isinstance(v, dict) else v for k, v in reason["params"].items()}
    english = (reason["plural"] if reason["plural"] and count != 1 else reason["template"]) % params
    return Problem(
        title=english[:300],
        description=complaint.text if rule == SEVERE else english,
        source=ProblemSource.complaint,
        severity=complaint.severity if rule == SEVERE else Severity.medium,
        department_id=complaint.department_id,
        reported_by_id=ctx.actor_id,
        reported_at=ctx.now(),
        evidence=f"Rule: {rule}",
        detection_rule=rule,
        complaint_category_id=category.id,
        last_occurrence_at=complaint.received_at,
        generated={
            "kind": "complaint",
            "rule": rule,
            "reason": reason,
            "category": {"code": category.code, "name": reason["params"]["category"]},
            "complaint_text": complaint.text[:2000] if rule == SEVERE else None,
        },
    )


def _reported(
    ctx: Ctx, category: ComplaintCategory, problem: Problem, complaint_ids: list[int]
) -> None:
    assert problem.id is not None
    audit.record(
        ctx,
        "problem",
        problem.id,
        "reported",
        new=ProblemStatus.new,
        data={
            "title": problem.title,
            "source": "complaint",
            "rule": problem.detection_rule,
            "category": category.code,
            "complaint_ids": complaint_ids,
        },
    )


# --- answering and resolving ------------------------------------------------------------------


def get_complaint(ctx: Ctx, complaint_id: int) -> Complaint:
    return get_or_404(ctx, Complaint, complaint_id, "Complaint")


def record_progress(
    ctx: Ctx,
    complaint_id: int,
    *,
    version: int | None,
    first_response_at: datetime | None = None,
    resolved_at: datetime | None = None,
) -> Complaint:
    """The first answer the customer got, and when the complaint was resolved; each is
    recorded once (a later correction is a new complaint's business, not a rewrite)."""
    require(can_take_complaints(ctx.actor))
    if first_response_at is None and resolved_at is None:
        raise Invalid(
            "Give the time of the first response or of the resolution.",
            ["first_response_at or resolved_at is required."],
        )
    with unit_of_work(ctx):
        complaint = get_or_404(ctx, Complaint, complaint_id, "Complaint")
        check_version(complaint, version, f"Complaint {complaint_id}")
        values: dict[str, Any] = {}
        reasons = []
        for name, at in (("first_response_at", first_response_at), ("resolved_at", resolved_at)):
            if at is None:
                continue
            if at.tzinfo is None:
                reasons.append(f"{name}: give a time zone (Z or +08:00).")
            elif getattr(complaint, name) is not None:
                reasons.append(f"{name}: already recorded.")
            elif at < complaint.received_at:
                reasons.append(f"{name}: not before the complaint was received.")
            elif at > ctx.now() + FUTURE_TOLERANCE:
                reasons.append(f"{name}: not in the future.")
            else:
                values[name] = at
        if (
            resolved_at is not None
            and complaint.first_response_at is None
            and "first_response_at" not in values
        ):
            # Resolving answers the customer too: the resolution is then the first response.
            values.setdefault("first_response_at", values.get("resolved_at"))
        if reasons:
            raise Invalid("The complaint cannot be updated.", reasons)
        before = {k: getattr(complaint, k) for k in values}
        compare_and_set(ctx, complaint, f"Complaint {complaint_id}", values)
        audit.record_changes(ctx, "complaint", complaint_id, before, values)
    return complaint


@dataclass(frozen=True)
class ComplaintFilter:
    category_id: int | None = None
    department_id: int | None = None
    problem_id: int | None = None
    customer_ref: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    open_only: bool = False


def complaint_query(found: ComplaintFilter) -> Any:
    query = select(Complaint).order_by(col(Complaint.received_at).desc(), col(Complaint.id).desc())
    if found.category_id is not None:
        query = query.where(Complaint.category_id == found.category_id)
    if found.department_id is not None:
        query = query.where(Complaint.department_id == found.department_id)
    if found.problem_id is not None:
        query = query.where(Complaint.problem_id == found.problem_id)
    if found.customer_ref:
        query = query.where(Complaint.customer_ref == found.customer_ref)
    if found.since is not None:
        query = query.where(col(Complaint.received_at) >= found.since)
    if found.until is not None:
        query = query.where(col(Complaint.received_at) < found.until)
    if found.open_only:
        query = query.where(col(Complaint.resolved_at).is_(None))
    return query


def find_complaints(
    ctx: Ctx, found: ComplaintFilter, *, limit: int = 100, offset: int = 0
) -> tuple[list[Complaint], int]:
    query = complaint_query(found)
    total = ctx.session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = list(ctx.session.exec(query.limit(limit).offset(offset)))
    return rows, int(total)


def complaints_of_problem(ctx: Ctx, problem_id: int) -> list[Complaint]:
    return find_complaints(ctx, ComplaintFilter(problem_id=problem_id), limit=500)[0]
