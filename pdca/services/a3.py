"""The A3 report of a cycle: everything its one page tells, gathered in a few queries.

Background (the problems it addresses), current condition (the KPI and its baseline),
goal, root-cause analysis (root cause, 5 whys, fishbone), countermeasures (the
actions), effect check (result against target, the KPI before and after, the verdict
and who gave it, who signed the closure) and standardisation with its follow-up (what
is still open, and problems that came back after the cycle closed).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, select

from pdca.engine.definition import FISHBONE_CATEGORIES, WHY_FIELDS
from pdca.models import Cycle, Department, Event, Problem, User
from pdca.services import cycles, kpis, queries
from pdca.services.context import Ctx
from pdca.services.kpis import CycleKpiNumbers
from pdca.services.queries import ActionFilter, ActionRow, Paging

KPI_DAYS_BEFORE = 60  # the KPI chart starts this long before the cycle opened


@dataclass(frozen=True)
class A3:
    cycle: Cycle
    lead: str
    department: Department | None
    problems: list[Problem]
    actions: list[ActionRow]
    kpi: CycleKpiNumbers | None
    points: list[tuple[datetime, float]]
    judged_by: str | None
    closure: Event | None  # the transition into a final state, signed or not
    closed_by: str | None
    recurrences: list[Problem]
    whys: list[str]
    fishbone: dict[str, list[str]]

    @property
    def open_actions(self) -> list[ActionRow]:
        return [r for r in self.actions if r.action.status in queries.UNFINISHED]


def _lines(text: object) -> list[str]:
    return [line.strip() for line in str(text or "").splitlines() if line.strip()]


def a3(ctx: Ctx, cycle_id: int) -> A3:
    cycle = cycles.get_cycle(ctx, cycle_id)
    session = ctx.session
    problem_ids = cycles.cycle_problem_ids(ctx, cycle_id)
    problems = (
        list(session.exec(select(Problem).where(col(Problem.id).in_(problem_ids))))
        if problem_ids
        else []
    )
    rows = queries.list_actions(ctx, Paging(500, 0, "id"), ActionFilter(cycle_id=cycle_id)).items
    numbers = kpis.cycle_kpi_numbers(ctx, cycle)
    points: list[tuple[datetime, float]] = []
    if numbers is not None:
        start = cycle.created_at - timedelta(days=KPI_DAYS_BEFORE)
        points = [(p.at, p.value) for p in kpis.series(ctx, numbers.kpi.id, start, None)]  # type: ignore[arg-type]
    final_states = set(cycles.definition_of(ctx, cycle).final_states())
    closure = session.exec(
        select(Event)
        .where(
            Event.entity_type == "cycle",
            Event.entity_id == cycle_id,
            Event.verb == "transition",
            col(Event.to_value).in_(final_states),
        )
        .order_by(col(Event.id).desc())
        .limit(1)
    ).first()
    wanted = {cycle.lead_id, cycle.effectiveness_by_id, closure.actor_id if closure else None}
    names = dict(
        session.exec(
            select(User.id, User.name).where(col(User.id).in_([i for i in wanted if i]))
        ).all()
    )
    recurrences = list(
        session.exec(
            select(Problem)
            .where(Problem.recurrence_of_cycle_id == cycle_id)
            .order_by(col(Problem.reported_at))
        )
    )
    extra = cycle.extra or {}
    return A3(
        cycle=cycle,
        lead=names.get(cycle.lead_id, "?"),
        department=session.get(Department, cycle.department_id) if cycle.department_id else None,
        problems=sorted(problems, key=lambda p: p.id or 0),
        actions=rows,
        kpi=numbers,
        points=points,
        judged_by=names.get(cycle.effectiveness_by_id) if cycle.effectiveness_by_id else None,
        closure=closure,
        closed_by=names.get(closure.actor_id) if closure and closure.actor_id else None,
        recurrences=recurrences,
        whys=[str(extra.get(name) or "") for name in WHY_FIELDS],
        fishbone={c: _lines(extra.get(f"fishbone_{c}")) for c in FISHBONE_CATEGORIES},
    )
