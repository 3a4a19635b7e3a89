"""KPIs: manage indicators, ingest measurements, and raise problems when rules fire.

Ingest is all or nothing: every row is checked first, and one bad row stores
nothing of its batch. A point already stored (same KPI, same time) is counted as
a duplicate, not stored twice; a different value for a stored time is refused,
never silently replaced. Detection runs in the same transaction, so the points
and the problems they raise land together.
"""

import csv
import io
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, func, select

from pdca.engine import detection
from pdca.engine.detection import Finding, Point
from pdca.engine.facts import N_, Reason, because
from pdca.engine.indexes import TAG
from pdca.models import (
    Action,
    ActionStatus,
    Cycle,
    CycleProblem,
    Department,
    DetectionRule,
    Direction,
    Kpi,
    Measurement,
    Perspective,
    Problem,
    ProblemStatus,
    User,
)
from pdca.services import audit, indexes, kpi_findings, spc, text
from pdca.services.audit import SystemNote
from pdca.services.context import Ctx, unit_of_work
from pdca.services.cycles import get_cycle, kpi_defaults
from pdca.services.errors import Conflict, Forbidden, Invalid, NotFound
from pdca.services.keys import key
from pdca.services.kpi_findings import OPEN_PROBLEM, raise_or_recur, spec_of
from pdca.services.policy import can_manage_kpi, can_record, can_run_cycle, can_triage, require
from pdca.services.store import check_version, compare_and_set, get_or_404

MAX_BATCH = 100_000
FUTURE_TOLERANCE = timedelta(hours=1)
# No service measured anything before 1970; an earlier date is a typing slip (0314 for 2314).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)


# --- permissions ------------------------------------------------------------------


# --- managing KPIs ------------------------------------------------------------------

KPI_FIELDS = {
    "code",
    "name",
    "name_zh",
    "description",
    "unit",
    "department_id",
    "owner_id",
    "perspective",
    "direction",
    "target",
    "warning_limit",
    "breach_limit",
    "interval_hours",
    "rules",
    "warnings_in_a_row",
    "baseline_start",
    "baseline_end",
    "recovery_periods",
    "active",
    "tags",
}


def _validate(values: dict[str, Any]) -> list[str]:
    reasons = []
    if not str(values.get("code") or "").strip() or len(str(values.get("code"))) > 30:
        reasons.append("code: 1 to 30 characters, e.g. CS-SL.")
    if not str(values.get("name") or "").strip():
        reasons.append("name: give the KPI a name.")
    if values.get("perspective") not in Perspective.__members__:
        reasons.append(f"perspective: one of {', '.join(Perspective.__members__)}.")
    if values.get("direction") not in Direction.__members__:
        reasons.append("direction: 'higher' or 'lower' is better.")
    numbers = {k: values.get(k) for k in ("target", "warning_limit", "breach_limit")}
    for name, number in numbers.items():
        if number is not None and (
            not isinstance(number, int | float) or not math.isfinite(number)
        ):
            reasons.append(f"{name}: must be a finite number.")
    if numbers["target"] is None:
        reasons.append("target: give the target value.")
    unknown = [r for r in values.get("rules") or [] if r not in DetectionRule.__members__]
    if unknown:
        reasons.append(
            f"rules: unknown {', '.join(unknown)} (known: {', '.join(DetectionRule.__members__)})."
        )
    if not 1 <= int(values.get("interval_hours") or 0) <= 24 * 366:
        reasons.append("interval_hours: between 1 and 8784.")
    if not 2 <= int(values.get("warnings_in_a_row") or 0) <= 50:
        reasons.append("warnings_in_a_row: between 2 and 50.")
    if not 1 <= int(values.get("recovery_periods") or 0) <= 365:
        reasons.append("recovery_periods: between 1 and 365.")
    if not reasons:
        # Limits lie on the bad side of the target, the breach beyond the warning.
        target, warn, breach = (
            numbers["target"],
            numbers["warning_limit"],
            numbers["breach_limit"],
        )
        worse = (lambda a, b: a < b) if values["direction"] == "higher" else (lambda a, b: a > b)
        word = "below" if values["direction"] == "higher" else "above"
        if warn is not None and not worse(warn, target):
            reasons.append(
                f"warning_limit: must be {word} the target when {values['direction']} is better."
            )
        if breach is not None and not worse(breach, warn if warn is not None else target):
            reasons.append(f"breach_limit: must be {word} the warning limit (and the target).")
    tags = values.get("tags") or []
    if (
        not isinstance(tags, list)
        or len(tags) > 20
        or not all(isinstance(t, str) and TAG.match(t) for t in tags)
    ):
        reasons.append("tags: at most 20 words of letters, digits, ':', '_', '.', '-'.")
    start, end = values.get("baseline_start"), values.get("baseline_end")
    if (start is None) != (end is None) or (start and end and start >= end):
        reasons.append("baseline: give both start and end, start before end.")
    return reasons


def create_kpi(ctx: Ctx, **values: Any) -> Kpi:
    unknown = sorted(set(values) - KPI_FIELDS)
    if unknown:
        raise Invalid(f"Unknown KPI fields: {', '.join(unknown)}.")
    values = {
        "unit": "",
        "perspective": Perspective.customer,
        "direction": Direction.higher,
        "interval_hours": 24,
        "rules": [],
        "warnings_in_a_row": 3,
        "recovery_periods": 7,
        **values,
    }
    values["code"] = str(values.get("code") or "").strip().upper()
    if department_id := values.get("department_id"):
        require(can_manage_kpi(ctx.actor, department_id))
    reasons = _validate(values)
    if reasons:
        raise Invalid("The KPI cannot be created.", reasons)
    with unit_of_work(ctx):
        get_or_404(ctx, Department, values["department_id"], "Department")
        if values.get("owner_id") is not None:
            get_or_404(ctx, User, values["owner_id"], "User")
        if ctx.session.exec(select(Kpi).where(Kpi.code == values["code"])).first():
            raise Conflict(f"A KPI with the code {values['code']} already exists.")
        kpi = Kpi(**values, created_at=ctx.now())
        ctx.session.add(kpi)
        ctx.session.flush()
        assert kpi.id is not None
        audit.record(
            ctx,
            "kpi",
            kpi.id,
            "created",
            data={k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()},
        )
    return kpi


def update_kpi(
    ctx: Ctx, kpi_id: int, *, version: int | None, changes: dict[str, Any], note: str | None = None
) -> Kpi:
    unknown = sorted(set(changes) - KPI_FIELDS)
    if unknown:
        raise Invalid(f"Unknown KPI fields: {', '.join(unknown)}.")
    with unit_of_work(ctx):
        kpi = get_or_404(ctx, Kpi, kpi_id, "KPI")
        require(can_manage_kpi(ctx.actor, kpi.department_id))
        check_version(kpi, version, f"KPI {kpi.code}")
        if "code" in changes:
            changes = {**changes, "code": str(changes["code"] or "").strip().upper()}
        merged = {**kpi.model_dump(), **changes}
        reasons = _validate(merged)
        if reasons:
            raise Invalid("The KPI cannot be changed.", reasons)
        if "department_id" in changes:
            get_or_404(ctx, Department, changes["department_id"], "Department")
            require(can_manage_kpi(ctx.actor, changes["department_id"]))
        if changes.get("owner_id") is not None:
            # As when a KPI is created: an owner who does not exist is a 404, not a
            # foreign-key failure at the commit.
            get_or_404(ctx, User, changes["owner_id"], "User")
        before = {k: getattr(kpi, k) for k in changes}
        changed = {k: v for k, v in changes.items() if before[k] != v}
        if changed:
            compare_and_set(ctx, kpi, f"KPI {kpi.code}", changed)
            audit.record_changes(ctx, "kpi", kpi_id, before, changed, note=note)
    return kpi


def get_kpi(ctx: Ctx, kpi_id: int) -> Kpi:
    return get_or_404(ctx, Kpi, kpi_id, "KPI")


def kpi_by_code(ctx: Ctx, code: str) -> Kpi:
    kpi = ctx.session.exec(select(Kpi).where(Kpi.code == code.strip().upper())).first()
    if kpi is None:
        raise NotFound(f"There is no KPI with the code {code.strip().upper()}.")
    return kpi


# --- ingest ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RowIn:
    """One point as a client sent it; `line` names it in error messages (CSV line, list index)."""

    line: int
    kpi: str | int  # a KPI code or id
    at: Any
    value: Any


@dataclass
class IngestResult:
    stored: int = 0
    duplicates: int = 0
    findings: list[tuple[str, Finding]] = field(default_factory=list)  # (kpi code, finding)
    problems_raised: list[int] = field(default_factory=list)
    occurrences_added: int = 0
    # Occurrences a late point unmade (the run they completed is broken now).
    occurrences_withdrawn: int = 0
    # Problems raised by the composite indexes these points changed (pdca.services.indexes).
    index_problems_raised: list[int] = field(default_factory=list)


def rows_from_csv(source: str | Iterable[str]) -> list[RowIn]:
    """Rows of a `kpi,at,value` CSV (header first); line numbers as an editor shows them.

    `source` may be an open file: it is read line by line and refused as soon as it
    holds more points than one batch may, so a huge file is never read whole.
    """
    reader = csv.reader(io.StringIO(source) if isinstance(source, str) else source)
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if header[:3] != ["kpi", "at", "value"]:
            raise Invalid(
                "The first line must be the header kpi,at,value.",
                [because("invalid", "line %(line)s: expected the header kpi,at,value.", line=1)],
            )
        rows = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(rows) == MAX_BATCH:
                raise Invalid(f"A batch holds at most {MAX_BATCH:,} points; split the file.")
            cells = [*cells, "", "", ""][:3]
            rows.append(
                RowIn(reader.line_num, cells[0].strip(), cells[1].strip(), cells[2].strip())
            )
    except csv.Error as exc:
        # A field past the csv module's limit (131,072 characters) or a stray quote at the
        # end: the file's fault, named with its line.
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
    if not rows:
        raise Invalid("The file holds no measurement.", ["The file holds no measurement."])
    return rows


def _parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError("has no time zone (add Z or +08:00)")
    return parsed.astimezone(UTC)


def ingest(ctx: Ctx, rows: Sequence[RowIn]) -> IngestResult:
    """Store a batch of points (all or nothing) and run detection on them."""
    if not rows:
        raise Invalid("The batch holds no point.")
    if len(rows) > MAX_BATCH:
        raise Invalid(f"A batch holds at most {MAX_BATCH:,} points; split it.")
    with unit_of_work(ctx):
        kpis = _kpis_for(ctx, rows)
        parsed, reasons = _check_rows(ctx, rows, kpis)
        result = IngestResult()
        by_kpi: dict[int, dict[datetime, tuple[int, float]]] = defaultdict(dict)
        for line, kpi, at, value in parsed:
            seen = by_kpi[kpi.id].get(at)  # type: ignore[index]
            if seen is not None and seen[1] != value:
                reasons.append(
                    because(
                        "invalid",
                        "line %(line)s: line %(other)s gives another value for %(kpi)s at %(at)s.",
                        line=line,
                        other=seen[0],
                        kpi=kpi.code,
                        at=at.isoformat(),
                    )
                )
            elif seen is not None:
                result.duplicates += 1  # the same point twice in one batch counts once
            by_kpi[kpi.id][at] = (line, value)  # type: ignore[index]
        stored_values = _stored_values(ctx, by_kpi)
        new_rows = []
        for kpi_id, points in by_kpi.items():
            for at, (line, value) in sorted(points.items()):
                existing = stored_values.get((kpi_id, at))
                if existing is None:
                    new_rows.append(
                        {"kpi_id": kpi_id, "at": at, "value": value, "received_at": ctx.now()}
                    )
                elif existing == value:
                    result.duplicates += 1
                else:
                    code = next(k.code for k in kpis.values() if k.id == kpi_id)
                    reasons.append(
                        because(
                            "invalid",
                            "line %(line)s: %(kpi)s already has %(value)s at %(at)s; a stored "
                            "point is never replaced.",
                            line=line,
                            kpi=code,
                            value=f"{existing:g}",
                            at=at.isoformat(),
                        )
                    )
        if reasons:
            raise Invalid(
                because(
                    "invalid",
                    "Nothing was stored: %(count)s line(s) are wrong.",
                    count=len(reasons),
                ),
                reasons[:200],
            )
        if new_rows:
            # The KPI rows are locked, so no other feed stores these times meanwhile; should
            # one anyway (a path that skips the lock), its point stands and ours is a
            # duplicate, never a 500.
            ctx.session.execute(_insert_new(ctx), new_rows)
        result.stored = len(new_rows)
        new_by_kpi: dict[int, list[datetime]] = defaultdict(list)
        for row in new_rows:
            new_by_kpi[row["kpi_id"]].append(row["at"])
        for kpi in {k.id: k for k in kpis.values()}.values():
            if kpi.id in new_by_kpi:
                _rejudge(ctx, kpi, min(new_by_kpi[kpi.id]), result)  # type: ignore[index]
        if new_by_kpi:
            # Late points recompute the index periods they fall in, in this transaction.
            codes = {k.id: k.code for k in kpis.values()}
            recomputed = indexes.recompute(
                ctx, {codes[kpi_id]: min(times) for kpi_id, times in new_by_kpi.items()}
            )
            result.index_problems_raised.extend(recomputed.problems_raised or [])
        for kpi_id, times in new_by_kpi.items():
            audit.record(
                ctx,
                "kpi",
                kpi_id,
                "measurements_ingested",
                data={
                    "stored": len(times),
                    "from": min(times).isoformat(),
                    "to": max(times).isoformat(),
                },
            )
    return result


def _insert_new(ctx: Ctx) -> Any:
    dialect = ctx.session.get_bind().dialect.name
    maker = pg_insert if dialect == "postgresql" else sqlite_insert if dialect == "sqlite" else None
    if maker is None:
        return insert(Measurement)
    return maker(Measurement).on_conflict_do_nothing(index_elements=["kpi_id", "at"])


def _kpis_for(ctx: Ctx, rows: Sequence[RowIn]) -> dict[str | int, Kpi]:
    refs = {r.kpi for r in rows}
    codes = {str(r).strip().upper() for r in refs if not isinstance(r, int)}
    ids = {r for r in refs if isinstance(r, int)}
    # Locked in id order until the commit (FOR UPDATE on PostgreSQL; SQLite's write
    # transaction is serial already): two feeds of one KPI judge its series one after the
    # other, each seeing the other's points, and never deadlock on each other.
    found = list(
        ctx.session.exec(
            select(Kpi)
            .where(col(Kpi.code).in_(codes) | col(Kpi.id).in_(ids))
            .order_by(col(Kpi.id))
            .with_for_update(of=Kpi)
            .execution_options(populate_existing=True)
        )
    )
    result: dict[str | int, Kpi] = {}
    for ref in refs:
        for kpi in found:
            if (isinstance(ref, int) and kpi.id == ref) or (
                not isinstance(ref, int) and kpi.code == str(ref).strip().upper()
            ):
                result[ref] = kpi
    return result


def _check_rows(
    ctx: Ctx, rows: Sequence[RowIn], kpis: dict[str | int, Kpi]
) -> tuple[list[tuple[int, Kpi, datetime, float]], list[Reason]]:
    reasons: list[Reason] = []
    parsed = []
    allowed: dict[int, str | None] = {}
    latest_allowed = ctx.now() + FUTURE_TOLERANCE
    for row in rows:
        kpi = kpis.get(row.kpi)
        if kpi is None:
            reasons.append(
                because(
                    "invalid",
                    "line %(line)s: there is no KPI %(kpi)s.",
                    line=row.line,
                    kpi=repr(row.kpi),
                )
            )
            continue
        if kpi.id not in allowed:
            allowed[kpi.id] = can_record(ctx.actor, kpi)  # type: ignore[index]
        if allowed[kpi.id]:  # type: ignore[index]
            raise Forbidden(str(allowed[kpi.id]))  # type: ignore[index]
        try:
            at = _parse_time(row.at)
        except (TypeError, ValueError) as exc:
            shown = repr(row.at.isoformat() if isinstance(row.at, datetime) else row.at)
            sentence = (
                N_("line %(line)s: time %(time)s has no time zone (add Z or +08:00).")
                if "time zone" in str(exc)
                else N_("line %(line)s: time %(time)s is not a date and time (ISO 8601).")
            )
            reasons.append(because("invalid", sentence, line=row.line, time=shown))
            continue
        try:
            value = _number(row.value)
        except (TypeError, ValueError, OverflowError):
            reasons.append(
                because(
                    "invalid",
                    "line %(line)s: value %(value)s is not a number.",
                    line=row.line,
                    value=repr(row.value),
                )
            )
            continue
        if abs(value) > detection.MAX_ABS_VALUE:
            reasons.append(
                because(
                    "invalid",
                    "line %(line)s: value %(value)s is too large; a KPI's values lie between "
                    "-1e15 and 1e15.",
                    line=row.line,
                    value=repr(row.value),
                )
            )
            continue
        if at < EARLIEST:
            reasons.append(
                because(
                    "invalid",
                    "line %(line)s: %(at)s is before 1970.",
                    line=row.line,
                    at=at.isoformat(),
                )
            )
            continue
        if at > latest_allowed:
            reasons.append(
                because(
                    "invalid",
                    "line %(line)s: %(at)s is in the future.",
                    line=row.line,
                    at=at.isoformat(),
                )
            )
            continue
        parsed.append((row.line, kpi, at, value))
    return parsed, reasons


def _number(value: Any) -> float:
    """A measurement's value: a number, or text in plain decimal notation (not `true`,
    `1_000` or full-width digits, which float() would quietly take)."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, str):
        return text.plain_number(value)
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)
    return number


def _stored_values(
    ctx: Ctx, by_kpi: dict[int, dict[datetime, tuple[int, float]]]
) -> dict[tuple[int, datetime], float]:
    result: dict[tuple[int, datetime], float] = {}
    for kpi_id, points in by_kpi.items():
        if not points:
            continue
        times = list(points)
        rows = ctx.session.exec(
            select(Measurement.at, Measurement.value).where(
                Measurement.kpi_id == kpi_id,
                col(Measurement.at) >= min(times),
                col(Measurement.at) <= max(times),
            )
        )
        wanted = set(times)
        for at, value in rows:
            if at in wanted:
                result[(kpi_id, at)] = value
    return result


def _rejudge(
    ctx: Ctx, kpi: Kpi, earliest: datetime, result: IngestResult, why: str | None = None
) -> None:
    """Judge every point from `earliest` (the batch's first) to the end of the series again,
    and make the stored occurrences agree (see pdca.services.kpi_findings): a late point
    re-judges the points after it, and a baseline completed late judges what waited on it.
    People changing the limits (phase I, a recalculation) re-judge what those limits judge."""
    limits = spc.limits_of(ctx, kpi) if any(r.startswith("spc") for r in kpi.rules) else None
    judged_after = spc.baseline_end(ctx, kpi) if limits is not None else None
    findings = kpi_findings.findings_from(ctx, kpi, earliest, limits, judged_after)
    added, raised, recurred, withdrawn = kpi_findings.reconcile(
        ctx, kpi, earliest, findings, why=why
    )
    result.findings.extend((kpi.code, f) for f in added)
    result.problems_raised.extend(raised)
    result.occurrences_added += recurred
    result.occurrences_withdrawn += withdrawn


def rejudge(ctx: Ctx, kpi: Kpi, earliest: datetime, why: str) -> IngestResult:
    """Inside a use case that changed what judges the KPI: judge from `earliest` again."""
    result = IngestResult()
    _rejudge(ctx, kpi, earliest, result, why)
    return result


# --- missing data (on a schedule) ---------------------------------------------------------


def check_missing_data(ctx: Ctx) -> list[int]:
    """Raise or repeat a missing-data problem for each KPI gone quiet; at most once an interval."""
    now = ctx.now()
    touched = []
    with unit_of_work(ctx):
        kpis = [
            k
            for k in ctx.session.exec(select(Kpi).where(Kpi.active))
            if DetectionRule.missing_data in k.rules
        ]
        last = (
            dict(
                ctx.session.exec(
                    select(Measurement.kpi_id, func.max(Measurement.at))
                    .where(col(Measurement.kpi_id).in_([k.id for k in kpis]))
                    .group_by(col(Measurement.kpi_id))
                ).all()
            )
            if kpis
            else {}
        )
        for kpi in kpis:
            finding = detection.missing_data(spec_of(kpi), last.get(kpi.id), now)
            if finding is None:
                continue
            open_problem = ctx.session.exec(
                select(Problem).where(
                    Problem.kpi_id == kpi.id,
                    Problem.detection_rule == DetectionRule.missing_data,
                    col(Problem.status).in_(OPEN_PROBLEM),
                )
            ).first()
            interval = timedelta(hours=kpi.interval_hours)
            recent = (
                open_problem is not None
                and open_problem.last_occurrence_at is not None
                and open_problem.last_occurrence_at > now - interval
            )
            if recent:
                continue  # already said within this interval
            problem_id, _raised = raise_or_recur(ctx, kpi, finding)
            touched.append(problem_id)
    return touched


# --- recovery ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Recovery:
    periods_within: int
    needed: int

    @property
    def recovered(self) -> bool:
        return self.periods_within >= self.needed


def recovery_of(ctx: Ctx, problem: Problem) -> Recovery | None:
    """How many latest points since the problem last fired are within limits."""
    if problem.kpi_id is None or problem.status not in OPEN_PROBLEM:
        return None
    kpi = get_kpi(ctx, problem.kpi_id)
    since = problem.last_occurrence_at or problem.reported_at
    values = list(
        ctx.session.exec(
            select(Measurement.value)
            .where(Measurement.kpi_id == kpi.id, col(Measurement.at) > since)
            .order_by(col(Measurement.at).desc())
            .limit(kpi.recovery_periods)
        )
    )
    spec = spec_of(kpi)
    within = 0
    for value in values:
        if detection.status(spec, value) in ("warning", "breach"):
            break
        within += 1
    if problem.detection_rule == DetectionRule.missing_data and values:
        within = max(within, len(values))
    return Recovery(within, kpi.recovery_periods)


def resolve_recovered(
    ctx: Ctx, problem_id: int, *, version: int | None, note: str | None = None
) -> Problem:
    require(can_triage(ctx.actor))
    with unit_of_work(ctx):
        problem = get_or_404(ctx, Problem, problem_id, "Problem")
        label = key("problem", problem_id)
        check_version(problem, version, label)
        recovery = recovery_of(ctx, problem)
        if recovery is None:
            raise Conflict(f"{label} is not an open problem raised by a KPI.")
        if not recovery.recovered:
            raise Conflict(
                f"{label}: only {recovery.periods_within} of the {recovery.needed} "
                "latest periods are within limits."
            )
        old = problem.status
        compare_and_set(
            ctx, problem, label, {"status": ProblemStatus.resolved, "resolved_at": ctx.now()}
        )
        audit.record(
            ctx,
            "problem",
            problem_id,
            "resolved",
            field="status",
            old=old,
            new=ProblemStatus.resolved,
            note=note or "The KPI recovered.",
            data={"periods_within_limits": recovery.periods_within},
        )
    return problem


# --- reading: series, scorecard, Pareto, cycle numbers --------------------------------------


def series(
    ctx: Ctx,
    kpi_id: int,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 5000,
) -> list[Point]:
    query = select(Measurement.at, Measurement.value).where(Measurement.kpi_id == kpi_id)
    if start is not None:
        query = query.where(col(Measurement.at) >= start)
    if end is not None:
        query = query.where(col(Measurement.at) < end)
    rows = list(ctx.session.exec(query.order_by(col(Measurement.at).desc()).limit(limit)))
    return [Point(at, value) for at, value in reversed(rows)]


@dataclass(frozen=True)
class ScoreLine:
    kpi: Kpi
    latest: Point | None
    # on_target | off_target | warning | breach | no_data (never measured) | stale (the
    # latest value is older than two intervals: shown, but not judged as current)
    status: str
    trend: list[float]
    open_problems: int


def scorecard(
    ctx: Ctx, department_id: int | None = None, trend_days: int = 30
) -> dict[str, list[ScoreLine]]:
    """KPIs by perspective with status, latest value and trend: four queries in all."""
    query = select(Kpi).where(Kpi.active).order_by(Kpi.code)
    if department_id is not None:
        query = query.where(Kpi.department_id == department_id)
    kpis = list(ctx.session.exec(query))
    ids = [k.id for k in kpis]
    since = ctx.now() - timedelta(days=trend_days)
    recent: dict[int, list[Point]] = defaultdict(list)
    latest: dict[int, Point] = {}
    if ids:
        for kpi_id, at, value in ctx.session.exec(
            select(Measurement.kpi_id, Measurement.at, Measurement.value)
            .where(col(Measurement.kpi_id).in_(ids), col(Measurement.at) >= since)
            .order_by(col(Measurement.at))
        ):
            recent[kpi_id].append(Point(at, value))
        stale = [i for i in ids if i not in recent]
        if stale:
            newest = dict(
                ctx.session.exec(
                    select(Measurement.kpi_id, func.max(Measurement.at))
                    .where(col(Measurement.kpi_id).in_(stale))
                    .group_by(col(Measurement.kpi_id))
                ).all()
            )
            for kpi_id, at in newest.items():
                value = ctx.session.exec(
                    select(Measurement.value).where(
                        Measurement.kpi_id == kpi_id, Measurement.at == at
                    )
                ).one()
                latest[kpi_id] = Point(at, value)
        open_counts = dict(
            ctx.session.exec(
                select(Problem.kpi_id, func.count())
                .where(col(Problem.kpi_id).in_(ids), col(Problem.status).in_(OPEN_PROBLEM))
                .group_by(col(Problem.kpi_id))
            ).all()
        )
    else:
        open_counts = {}
    result: dict[str, list[ScoreLine]] = {p: [] for p in Perspective.__members__}
    for kpi in kpis:
        points = recent.get(kpi.id, [])  # type: ignore[arg-type]
        last = points[-1] if points else latest.get(kpi.id)  # type: ignore[arg-type]
        state = freshness(ctx, kpi, last)
        result[kpi.perspective].append(
            ScoreLine(kpi, last, state, [p.value for p in points], open_counts.get(kpi.id, 0))
        )
    return result


def freshness(ctx: Ctx, kpi: Kpi, last: Point | None) -> str:
    """The KPI's status from its latest point, or no_data / stale when there is none recent."""
    if last is None:
        return "no_data"
    if last.at < ctx.now() - timedelta(hours=kpi.interval_hours) * 2:
        return "stale"
    return detection.status(spec_of(kpi), last.value)


PARETO_BY = ("source", "department", "kpi", "category", "root_cause")


def pareto(ctx: Ctx, by: str, since: datetime | None = None) -> list[tuple[str, int]]:
    """Problems counted by source, department, KPI, category or root-cause category (the
    fishbone bone named by the cycles that worked on them), most first. A problem without
    a category, or not yet worked on by a cycle that names one, is not counted there; one
    whose cycles name two root-cause categories counts once for each."""
    columns: dict[str, Any] = {
        "source": Problem.source,
        "department": Department.code,
        "kpi": Kpi.code,
        "category": Problem.category,
        "root_cause": Cycle.root_cause_category,
    }
    if by not in columns:
        raise Invalid(
            "Group problems by source, department, kpi, category or root_cause.",
            [f"by: one of {', '.join(PARETO_BY)}."],
        )
    column = columns[by]
    counted = func.count(func.distinct(Problem.id)) if by == "root_cause" else func.count()
    query = select(column, counted).select_from(Problem)
    if by == "department":
        query = query.join(Department, col(Department.id) == Problem.department_id)
    if by == "kpi":
        query = query.join(Kpi, col(Kpi.id) == Problem.kpi_id)
    if by == "category":
        query = query.where(col(Problem.category).is_not(None))
    if by == "root_cause":
        query = (
            query.join(CycleProblem, col(CycleProblem.problem_id) == Problem.id)
            .join(Cycle, col(Cycle.id) == CycleProblem.cycle_id)
            .where(col(Cycle.root_cause_category).is_not(None))
        )
    if since is not None:
        query = query.where(col(Problem.reported_at) >= since)
    query = query.where(col(Problem.status) != ProblemStatus.duplicate)
    rows = ctx.session.exec(query.group_by(column).order_by(counted.desc(), column))
    return [(str(label), int(count)) for label, count in rows]


@dataclass(frozen=True)
class CycleKpiNumbers:
    kpi: Kpi
    baseline: float | None  # mean of the points before the cycle opened
    baseline_points: int
    after: float | None  # mean of the points since the last action of this turn was done
    after_points: int
    after_since: datetime | None
    meets_target: bool | None


def cycle_kpi_numbers(ctx: Ctx, cycle: Cycle, window_days: int = 30) -> CycleKpiNumbers | None:
    """Did the change move the KPI? The baseline before the cycle and the result after Do."""
    if cycle.kpi_id is None:
        return None
    kpi = get_kpi(ctx, cycle.kpi_id)
    before = list(
        ctx.session.exec(
            select(Measurement.value).where(
                Measurement.kpi_id == kpi.id,
                col(Measurement.at) < cycle.created_at,
                col(Measurement.at) >= cycle.created_at - timedelta(days=window_days),
            )
        )
    )
    done = ctx.session.exec(
        select(func.max(Action.done_at)).where(
            Action.cycle_id == cycle.id,
            Action.iteration == cycle.iteration,
            col(Action.status).in_([ActionStatus.done, ActionStatus.verified]),
        )
    ).one()
    after: list[float] = []
    if done is not None:
        after = list(
            ctx.session.exec(
                select(Measurement.value).where(
                    Measurement.kpi_id == kpi.id, col(Measurement.at) > done
                )
            )
        )
    mean_after = sum(after) / len(after) if after else None
    meets = None
    if mean_after is not None:
        meets = mean_after >= kpi.target if kpi.direction == "higher" else mean_after <= kpi.target
    return CycleKpiNumbers(
        kpi,
        sum(before) / len(before) if before else None,
        len(before),
        mean_after,
        len(after),
        done,
        meets,
    )


def link_cycle_to_kpi(ctx: Ctx, cycle_id: int, kpi_id: int, *, version: int | None) -> Cycle:
    """Aim a cycle at a KPI: its baseline, target, direction and unit come from the KPI."""
    with unit_of_work(ctx):
        cycle = get_cycle(ctx, cycle_id, lock=True)
        require(can_run_cycle(ctx.actor, cycle))
        label = key("cycle", cycle_id)
        check_version(cycle, version, label)
        kpi = get_kpi(ctx, kpi_id)
        if cycle.effectiveness is not None:
            raise Conflict(f"Effectiveness of {label} was already judged; link the KPI before.")
        defaults = kpi_defaults(ctx, kpi.id, cycle.created_at)  # type: ignore[arg-type]
        # What the team already wrote stays: the KPI only fills what is empty.
        values: dict[str, Any] = {
            "kpi_id": kpi.id,
            "target": defaults["target"],
            "direction": defaults["direction"],
        }
        for name in ("unit", "baseline"):
            if getattr(cycle, name) in (None, "") and defaults.get(name) is not None:
                values[name] = defaults[name]
        old = {k: getattr(cycle, k) for k in values}
        compare_and_set(ctx, cycle, label, values)
        audit.record_changes(
            ctx,
            "cycle",
            cycle_id,
            old,
            values,
            system_note=SystemNote(N_("linked to KPI %(code)s"), {"code": kpi.code}),
        )
    return cycle
