"""Findings of KPI rules become problems and occurrences: raised, repeated, reconciled.

Findings are a function of the stored series (in time order) and the KPI's settings,
never of the order in which points arrived. After a batch is stored, every point from
the batch's earliest one to the end of the series is judged again and the stored
occurrences in that window are made to agree, keyed by (KPI, rule, time):

- a finding with no stored occurrence adds one (to the rule's open problem, or to a
  new problem);
- a stored occurrence that is no longer a finding (a late point broke the run it
  completed) is withdrawn: deleted, its problem's count lowered, and an `occurrence_
  withdrawn` event keeps its evidence in the trail. The problem itself stays as it
  is: people may already be working on it, and only they close it.

So any arrival order and batching leave the same occurrences as one batch in time
order (tests/services/test_kpi_order_free.py).

Concurrency (PostgreSQL): the ingest holds the KPI rows locked while it judges, so two
feeds of one KPI judge one after the other and each sees the other's points. Beneath
that, a partial unique index keeps one open problem per KPI and rule (a lost race is
re-read and counted as an occurrence), a unique index keeps one occurrence per KPI,
rule and time, and an occurrence is counted with an atomic `occurrences + 1` that
neither checks nor bumps the version people edit with: a feed never fails on a
problem someone is triaging, and their triage never fails on a feed's count.

Every problem row is written before the first audit event (which takes the trail's
lock): writers that lock a problem and then the trail never wait on us in reverse.
"""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from pdca.engine import detection
from pdca.engine.detection import ControlLimits, Finding, Point, SteppedLimits
from pdca.engine.facts import N_
from pdca.models import (
    Cycle,
    DetectionRule,
    Kpi,
    Measurement,
    Problem,
    ProblemOccurrence,
    ProblemSource,
    ProblemStatus,
    Severity,
)
from pdca.services import audit
from pdca.services.context import Ctx
from pdca.services.keys import key

OPEN_PROBLEM = (ProblemStatus.new, ProblemStatus.accepted)
RULE_SEVERITY = {
    DetectionRule.limit_breach: Severity.high,
    DetectionRule.missing_data: Severity.low,
}
LOOKBACK_POINTS = 60  # enough history before new points for every run rule

Deferred = list[Callable[[], None]]


# --- judging a window of the series ------------------------------------------------------


def history(ctx: Ctx, kpi: Kpi, before: datetime) -> list[tuple[datetime, float]]:
    """The points before `before` that the rules look back on: LOOKBACK_POINTS, and further
    back to the start of the current run of warnings (warnings_in_a_row counts all of it)."""
    spec, found = spec_of(kpi), []
    while True:
        page = list(
            ctx.session.exec(
                select(Measurement.at, Measurement.value)
                .where(Measurement.kpi_id == kpi.id, col(Measurement.at) < before)
                .order_by(col(Measurement.at).desc())
                .limit(LOOKBACK_POINTS)
            )
        )
        found = page[::-1] + found
        if (
            len(page) < LOOKBACK_POINTS
            or DetectionRule.warnings_in_a_row not in kpi.rules
            or any(detection.status(spec, v) not in ("warning", "breach") for _, v in page)
        ):
            return found
        before = page[-1][0]


def spec_of(kpi: Kpi) -> detection.KpiSpec:
    return detection.KpiSpec(
        direction=kpi.direction,
        target=kpi.target,
        warning_limit=kpi.warning_limit,
        breach_limit=kpi.breach_limit,
        interval=timedelta(hours=kpi.interval_hours),
        rules=frozenset(kpi.rules),
        warnings_in_a_row=kpi.warnings_in_a_row,
    )


def findings_from(
    ctx: Ctx,
    kpi: Kpi,
    start: datetime,
    limits: ControlLimits | SteppedLimits | None,
    judged_after: datetime | None,
) -> list[Finding]:
    """Every point rule's findings at points from `start` to the end of the stored series."""
    earlier = history(ctx, kpi, start)
    rest = list(
        ctx.session.exec(
            select(Measurement.at, Measurement.value)
            .where(Measurement.kpi_id == kpi.id, col(Measurement.at) >= start)
            .order_by(col(Measurement.at))
        )
    )
    series = [Point(at, value) for at, value in [*earlier, *rest]]
    # Limits recalculated after a process change judge every point from their step on.
    stepped = limits.steps[0][0] if isinstance(limits, SteppedLimits) and limits.steps else None
    return [
        f
        for f in detection.evaluate(spec_of(kpi), series, len(earlier), limits)
        if f.rule not in detection.SPC_RULES
        or (judged_after is not None and f.at > judged_after)
        or (stepped is not None and f.at >= stepped)
    ]


def reconcile(
    ctx: Ctx, kpi: Kpi, start: datetime, findings: Sequence[Finding], why: str | None = None
) -> tuple[list[Finding], list[int], int, int]:
    """Make the stored occurrences from `start` on equal `findings`.

    Returns (findings added, problems raised, occurrences added to open problems,
    occurrences withdrawn). Only the KPI's point rules are reconciled: missing data is
    the scheduler's, and a rule the KPI no longer watches keeps what it said.
    """
    watched = [r for r in kpi.rules if r in detection.POINT_RULES]
    stored = {
        (o.rule, _utc(o.at)): o
        for o in ctx.session.exec(
            select(ProblemOccurrence).where(
                ProblemOccurrence.kpi_id == kpi.id,
                col(ProblemOccurrence.rule).in_(watched),
                col(ProblemOccurrence.at) >= start,
            )
        )
    }
    wanted = {(f.rule, _utc(f.at)): f for f in findings if f.rule in watched}
    deferred: Deferred = []
    added, raised, recurred = [], [], 0
    for finding_key, finding in wanted.items():
        if finding_key in stored:
            continue
        problem_id, new = _raise_or_recur(ctx, kpi, finding, deferred)
        added.append(finding)
        if new:
            raised.append(problem_id)
        else:
            recurred += 1
    gone = [o for k, o in stored.items() if k not in wanted]
    for occurrence in gone:
        _withdraw(ctx, occurrence, deferred, why)
    for write in deferred:  # the trail last: see the module's note on lock order
        write()
    return added, raised, recurred, len(gone)


def _utc(at: datetime) -> datetime:
    # SQLite hands times back as stored; the comparison key must not depend on it.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


# --- one finding: a new problem or one more occurrence --------------------------------------


def raise_or_recur(ctx: Ctx, kpi: Kpi, finding: Finding) -> tuple[int, bool]:
    """A new problem for the rule, or one more occurrence of the one still open."""
    deferred: Deferred = []
    result = _raise_or_recur(ctx, kpi, finding, deferred)
    for write in deferred:
        write()
    return result


def _open_problem(ctx: Ctx, kpi: Kpi, rule: str) -> Problem | None:
    return ctx.session.exec(
        select(Problem)
        .where(
            Problem.kpi_id == kpi.id,
            Problem.detection_rule == rule,
            col(Problem.status).in_(OPEN_PROBLEM),
        )
        .order_by(col(Problem.id).desc())
        .execution_options(populate_existing=True)
        .limit(1)
    ).first()


def _raise_or_recur(ctx: Ctx, kpi: Kpi, finding: Finding, deferred: Deferred) -> tuple[int, bool]:
    evidence = _evidence(finding)
    open_problem = _open_problem(ctx, kpi, finding.rule)
    if open_problem is None:
        problem = _new_problem(ctx, kpi, finding)
        try:
            with ctx.session.begin_nested():
                ctx.session.add(problem)
                ctx.session.flush()
        except IntegrityError:
            # Another feed raised it between our look and our insert (the partial unique
            # index uq_problems_open_kpi_rule said so): this finding is an occurrence of it.
            ctx.session.expunge(problem)
            open_problem = _open_problem(ctx, kpi, finding.rule)
            if open_problem is None:
                raise
        else:
            assert problem.id is not None
            _add_occurrence(ctx, problem.id, kpi, finding, evidence)
            deferred.append(lambda: _reported(ctx, kpi, problem, evidence))
            return problem.id, True
    assert open_problem.id is not None
    problem_id = open_problem.id
    # Atomic: concurrent feeds each add one, and the version people edit with is left alone.
    ctx.session.execute(
        update(Problem)
        .where(col(Problem.id) == problem_id)
        .values(
            occurrences=Problem.occurrences + 1,
            last_occurrence_at=func.coalesce(
                _later(col(Problem.last_occurrence_at), finding.at), finding.at
            ),
        )
        .execution_options(synchronize_session=False)
    )
    _add_occurrence(ctx, problem_id, kpi, finding, evidence)
    count = _occurrences(ctx, problem_id)
    deferred.append(
        lambda: audit.record(
            ctx,
            "problem",
            problem_id,
            "occurred",
            field="occurrences",
            old=count - 1,
            new=count,
            data=evidence,
        )
    )
    return problem_id, False


def _later(column: Any, at: datetime) -> Any:
    return case((column < at, at), else_=column)


def _occurrences(ctx: Ctx, problem_id: int) -> int:
    return int(
        ctx.session.exec(select(Problem.occurrences).where(col(Problem.id) == problem_id)).one()
    )


def _withdraw(
    ctx: Ctx, occurrence: ProblemOccurrence, deferred: Deferred, why: str | None = None
) -> None:
    problem_id = occurrence.problem_id
    data = {"rule": occurrence.rule, "at": _utc(occurrence.at).isoformat(), **occurrence.evidence}
    ctx.session.execute(
        delete(ProblemOccurrence)
        .where(col(ProblemOccurrence.id) == occurrence.id)
        .execution_options(synchronize_session=False)
    )
    ctx.session.expunge(occurrence)
    latest = (
        select(func.max(ProblemOccurrence.at))
        .where(ProblemOccurrence.problem_id == problem_id)
        .scalar_subquery()
    )
    ctx.session.execute(
        update(Problem)
        .where(col(Problem.id) == problem_id)
        .values(occurrences=Problem.occurrences - 1, last_occurrence_at=latest)
        .execution_options(synchronize_session=False)
    )
    count = _occurrences(ctx, problem_id)
    deferred.append(
        lambda: audit.record(
            ctx,
            "problem",
            problem_id,
            "occurrence_withdrawn",
            field="occurrences",
            old=count + 1,
            new=count,
            # A message key, not English: each reader sees it in their own language.
            system_note=audit.SystemNote(
                why
                or N_("A point that arrived later changed the series: this is no longer a signal."),
                {},
            ),
            data=data,
        )
    )


def _evidence(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "reason": finding.reason.message,
        "reason_i18n": _reason_i18n(finding),
        "points": [{"at": p.at.isoformat(), "value": p.value} for p in finding.points],
    }


def _new_problem(ctx: Ctx, kpi: Kpi, finding: Finding) -> Problem:
    earlier = ctx.session.exec(
        select(Cycle)
        .where(Cycle.kpi_id == kpi.id, Cycle.state == "closed", Cycle.effectiveness == "effective")
        .order_by(col(Cycle.closed_at).desc())
        .limit(1)
    ).first()
    description = finding.reason.message
    if earlier is not None:
        description += (
            f"\nThis KPI was improved by {key('cycle', earlier.id)} "
            f"({earlier.title}), closed as effective: its standardisation did not hold."
        )
    points = "\n".join(f"{p.at.isoformat()}  {p.value:g} {kpi.unit}" for p in finding.points)
    return Problem(
        title=f"{kpi.code} {kpi.name}: {finding.reason.message}"[:300],
        generated=_written_by_rule(kpi, finding, earlier),
        description=description,
        source=ProblemSource.kpi,
        severity=RULE_SEVERITY.get(finding.rule, Severity.medium),  # type: ignore[call-overload]
        department_id=kpi.department_id,
        reported_by_id=ctx.actor_id,
        reported_at=ctx.now(),
        evidence=f"Rule: {finding.rule}\n{points}",
        kpi_id=kpi.id,
        detection_rule=finding.rule,
        last_occurrence_at=finding.at,
        recurrence_of_cycle_id=earlier.id if earlier is not None else None,
    )


def _reported(ctx: Ctx, kpi: Kpi, problem: Problem, evidence: dict[str, Any]) -> None:
    assert problem.id is not None
    audit.record(
        ctx,
        "problem",
        problem.id,
        "reported",
        new=ProblemStatus.new,
        data={
            "title": problem.title,
            "source": "kpi",
            "kpi": kpi.code,
            **evidence,
            "recurrence_of_cycle_id": problem.recurrence_of_cycle_id,
        },
    )


def _add_occurrence(
    ctx: Ctx, problem_id: int, kpi: Kpi, finding: Finding, evidence: dict[str, Any]
) -> None:
    ctx.session.add(
        ProblemOccurrence(
            problem_id=problem_id,
            kpi_id=kpi.id,  # type: ignore[arg-type]
            rule=finding.rule,
            at=finding.at,
            evidence=evidence,
        )
    )
    ctx.session.flush()


def _reason_i18n(finding: Finding) -> dict[str, Any]:
    reason = finding.reason
    return {
        "template": reason.template or reason.message,
        "plural": reason.plural,
        "params": dict(reason.params),
    }


def _written_by_rule(kpi: Kpi, finding: Finding, earlier: Cycle | None) -> dict[str, Any]:
    """The problem's texts as templates and parameters (rendered in each reader's language)."""
    return {
        "kpi": {"code": kpi.code, "name": {"en": kpi.name, "zh_CN": kpi.name_zh or kpi.name}},
        "unit": kpi.unit,
        "rule": finding.rule,
        "reason": _reason_i18n(finding),
        "points": [[p.at.isoformat(), p.value] for p in finding.points],
        "recurrence": (
            {"cycle": key("cycle", earlier.id), "title": earlier.title}  # type: ignore[arg-type]
            if earlier is not None
            else None
        ),
    }
