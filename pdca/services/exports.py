"""Every list as rows for a spreadsheet: the list's own filters, streamed in batches.

Each export reads the very query its list reads (pdca.services.queries), in id order,
a batch at a time from after the last id of the batch before (keyset, not offset:
deep batches cost what the first one costs), and forgets each batch once it is
written, so 100,000 rows take the memory of one batch.

The rows come as typed values in the order of their columns: times as UTC datetimes,
deadlines as dates, counts as integers, codes (a status, a kind) as their codes. The
web layer titles the columns and writes CSV or XLSX.

An export runs in a session of its own (`exporting`): a stream outlives the request
whose connection has long gone back to the pool.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from pdca.models import Action, Cycle, Department, Kpi, Measurement, Problem, User
from pdca.services import queries
from pdca.services.context import Ctx
from pdca.services.keys import key
from pdca.services.queries import ActionFilter, CycleFilter, KpiFilter, ProblemFilter

BATCH = 500
REPORTER = aliased(User, name="reporter")
CYCLE_LEAD = aliased(User, name="cycle_lead")


@dataclass(frozen=True)
class Column:
    key: str
    kind: str  # text | code | int | float | bool | date | datetime


def _columns(spec: str) -> tuple[Column, ...]:
    return tuple(Column(*item.split(":")) for item in spec.split())


PROBLEM_COLUMNS = _columns(
    "key:text title:text source:code severity:code status:code department:text "
    "reported_at:datetime reported_by:text occurrences:int kpi:text cycles:text "
    "triaged_at:datetime resolved_at:datetime rejection_reason:text"
)
CYCLE_COLUMNS = _columns(
    "key:text title:text workflow:code state:code iteration:int escalated:bool lead:text "
    "department:text objective:text baseline:float target:float unit:text result:float "
    "effectiveness:code created_at:datetime closed_at:datetime problems:text"
)
ACTION_COLUMNS = _columns(
    "key:text title:text kind:code status:code owner:text department:text deadline:date "
    "overdue:bool cycle:text cycle_title:text created_at:datetime done_at:datetime "
    "verified_at:datetime verified_effective:bool cancel_reason:text"
)
MEASUREMENT_COLUMNS = _columns(
    "kpi:text kpi_name:text unit:text perspective:code department:text direction:code "
    "target:float at:datetime value:float"
)


@contextmanager
def exporting(ctx: Ctx) -> Iterator[Ctx]:
    """The same user, clock and workflows, in a session of the export's own."""
    with Session(ctx.session.get_bind(), expire_on_commit=False) as session:
        yield replace(ctx, session=session)


def _batches(ctx: Ctx, query: Select, id_column: Any) -> Iterator[list[Any]]:
    after = 0
    while True:
        # execute, not exec: rows as tuples even when sqlmodel took the select for a scalar one.
        batch = list(
            ctx.session.execute(query.where(id_column > after).order_by(id_column).limit(BATCH))
        )
        if not batch:
            return
        yield batch
        last = batch[-1][0]
        after = last if isinstance(last, int) else last.id
        # Forget the batch: the session's identity map would otherwise keep every row.
        ctx.session.expunge_all()


def problem_rows(ctx: Ctx, f: ProblemFilter) -> Iterator[tuple[Any, ...]]:
    query = (
        queries.problem_query(f)
        .add_columns(Department.code, REPORTER.name, Kpi.code)
        .outerjoin(Department, col(Department.id) == Problem.department_id)
        .outerjoin(REPORTER, REPORTER.id == Problem.reported_by_id)
        .outerjoin(Kpi, col(Kpi.id) == Problem.kpi_id)
    )
    for batch in _batches(ctx, query, col(Problem.id)):
        cycles = queries.cycles_addressing(ctx, [p.id for p, *_ in batch])
        for p, department, reporter, kpi in batch:
            yield (
                key("problem", p.id),
                p.title,
                p.source,
                p.severity,
                p.status,
                department,
                p.reported_at,
                reporter,
                p.occurrences,
                kpi,
                ", ".join(key("cycle", c) for c in cycles[p.id]),
                p.triaged_at,
                p.resolved_at,
                p.rejection_reason,
            )


def cycle_rows(ctx: Ctx, f: CycleFilter) -> Iterator[tuple[Any, ...]]:
    query = (
        queries.cycle_query(f)
        .add_columns(CYCLE_LEAD.name, Department.code)
        .join(CYCLE_LEAD, CYCLE_LEAD.id == Cycle.lead_id)
        .outerjoin(Department, col(Department.id) == Cycle.department_id)
    )
    for batch in _batches(ctx, query, col(Cycle.id)):
        extras = queries.cycle_extras(ctx, [c for c, *_ in batch])
        for c, lead, department in batch:
            yield (
                key("cycle", c.id),
                c.title,
                c.workflow,
                c.state,
                c.iteration,
                c.escalated,
                lead,
                department,
                c.objective,
                c.baseline,
                c.target,
                c.unit,
                c.result,
                c.effectiveness,
                c.created_at,
                c.closed_at,
                ", ".join(key("problem", p) for p in extras.problem_ids[c.id]),  # type: ignore[index]
            )


def action_rows(ctx: Ctx, f: ActionFilter) -> Iterator[tuple[Any, ...]]:
    # Plain columns, not Action objects: building 100,000 ORM objects was most of the time.
    query = queries.action_query(ctx, f).with_only_columns(
        col(Action.id),
        Action.title,
        Action.kind,
        Action.status,
        queries.OWNER.name,
        Department.code,
        Action.deadline,
        Action.cycle_id,
        Cycle.title,
        Action.created_at,
        Action.done_at,
        Action.verified_at,
        Action.verification_effective,
        Action.cancel_reason,
    )
    today = ctx.today()
    unfinished = set(queries.UNFINISHED)
    for batch in _batches(ctx, query, col(Action.id)):
        for (
            action_id,
            title,
            kind,
            status,
            owner,
            department,
            deadline,
            cycle_id,
            cycle_title,
            created_at,
            done_at,
            verified_at,
            effective,
            cancel_reason,
        ) in batch:
            overdue = deadline is not None and deadline < today and status in unfinished
            yield (
                key("action", action_id),
                title,
                kind,
                status,
                owner,
                department,
                deadline,
                overdue,
                key("cycle", cycle_id),
                cycle_title,
                created_at,
                done_at,
                verified_at,
                effective,
                cancel_reason,
            )


def measurement_rows(ctx: Ctx, f: KpiFilter) -> Iterator[tuple[Any, ...]]:
    """Every point of the KPIs the filters keep, with the KPI it belongs to."""
    kpi_ids = queries.kpi_query(f).with_only_columns(col(Kpi.id)).order_by(None)
    query = (
        select(Measurement, Kpi, Department.code)
        .join(Kpi, col(Kpi.id) == Measurement.kpi_id)
        .join(Department, col(Department.id) == Kpi.department_id)
        .where(col(Measurement.kpi_id).in_(kpi_ids))
    )
    for batch in _batches(ctx, query, col(Measurement.id)):
        for m, k, department in batch:
            yield (
                k.code,
                k.name,
                k.unit,
                k.perspective,
                department,
                k.direction,
                k.target,
                m.at,
                m.value,
            )
