"""Small builders shared by the use-case tests of the services: problems and cycles.

Each builder goes through the services, as a person would, so the rows it makes
are exactly what the product itself would have made (events included).
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from pdca.models import Action, Cycle, Event, Problem, Role, User
from pdca.services import actions, cycles, organisation, problems
from pdca.services.accounts import Signature

PASSWORD = "correct horse battery"  # every persona's, see tests/conftest.py


def signed(meaning: str) -> Signature:
    """The signature of a signed act (verifying, closing): its meaning and the password."""
    return Signature(meaning=meaning, password=PASSWORD)


# What Plan needs before Do: objective, target, root cause (and the criterion Check asks for).
PLAN_FIELDS: dict[str, Any] = {
    "objective": "Answer 80% of calls within 20 s",
    "baseline": 61,
    "target": 80,
    "root_cause": "Breaks overlap at noon",
    "success_criterion": "Service level >= 80% for two weeks",
}


def a_problem(ctx: Any, title: str = "Callers wait too long at lunchtime", **kw: Any) -> Problem:
    return problems.report_problem(ctx, title=title, **{"source": "complaint", **kw})


def a_colleague(as_user: Any, name: str = "Mo Member", department: str = "CS") -> User:
    """Another member of a department, to hand work over to."""
    email = name.split()[0].lower() + "@example.com"
    return organisation.create_user(
        as_user(None), email=email, name=name, role=Role.member, department_code=department
    )


@dataclass
class CycleWithActions:
    """Fiona leads; `rota` belongs to Customer Service (Mia), `ivr` to IT (Max)."""

    cycle: Cycle
    rota: Action
    ivr: Action
    problem: Problem


def a_planned_cycle(org: Any, as_user: Any, clock: Any, **fields: Any) -> CycleWithActions:
    """A PDCA cycle in Plan with its fields filled in and two actions in two departments."""
    fiona = as_user(org.fiona)
    problem = a_problem(as_user(org.mia), department_id=org.cs)
    cycle = cycles.open_cycle(
        fiona,
        title="Cut lunchtime waiting",
        workflow="pdca",
        lead_id=org.fiona.id,
        problem_ids=[problem.id],
        fields={**PLAN_FIELDS, **fields},
    )
    rota = actions.add_action(
        fiona,
        cycle.id,
        title="Stagger breaks",
        department_id=org.cs,
        owner_id=org.mia.id,
        deadline=clock.today() + timedelta(days=7),
    )
    ivr = actions.add_action(
        fiona,
        cycle.id,
        title="IVR callback",
        department_id=org.it,
        owner_id=org.max.id,
        deadline=clock.today() + timedelta(days=14),
    )
    return CycleWithActions(cycle, rota, ivr, problem)


def a_cycle_in_do(org: Any, as_user: Any, clock: Any, **fields: Any) -> CycleWithActions:
    built = a_planned_cycle(org, as_user, clock, **fields)
    cycles.fire_transition(
        as_user(org.fiona), built.cycle.id, trigger="start_do", version=built.cycle.version
    )
    return built


def finish_actions(org: Any, as_user: Any, built: CycleWithActions) -> None:
    """Each owner completes their action; Fiona (not an owner) verifies both."""
    for action, owner in ((built.rota, org.mia), (built.ivr, org.max)):
        actions.fire_action(as_user(owner), action.id, trigger="complete", version=action.version)
        actions.verify_action(
            as_user(org.fiona),
            action.id,
            effective=True,
            note="seen working",
            version=action.version,
            signature=signed("verified effective"),
        )


def a_cycle_in_check(org: Any, as_user: Any, clock: Any, **fields: Any) -> CycleWithActions:
    """Both actions done and verified; no result recorded yet."""
    built = a_cycle_in_do(org, as_user, clock, **fields)
    finish_actions(org, as_user, built)
    cycles.fire_transition(
        as_user(org.fiona), built.cycle.id, trigger="start_check", version=built.cycle.version
    )
    return built


def a_closed_cycle(org: Any, as_user: Any, clock: Any) -> CycleWithActions:
    built = a_cycle_in_check(org, as_user, clock)
    fiona, cycle = as_user(org.fiona), built.cycle
    cycles.update_cycle_fields(fiona, cycle.id, version=cycle.version, changes={"result": 84})
    cycles.record_effectiveness(
        as_user(org.frank),
        cycle.id,
        effective=True,
        note="84% for two weeks",
        version=cycle.version,
    )
    cycles.fire_transition(fiona, cycle.id, trigger="start_act", version=cycle.version)
    cycles.update_cycle_fields(
        fiona, cycle.id, version=cycle.version, changes={"standardisation": "Rota in the SOP"}
    )
    cycles.fire_transition(
        fiona,
        cycle.id,
        trigger="close_effective",
        version=cycle.version,
        signature=signed("approved closure"),
    )
    return built


# --- reading what was stored --------------------------------------------------


def events_of(session: Session, entity_type: str, entity_id: int, verb: str | None = None) -> list:
    query = select(Event).where(Event.entity_type == entity_type, Event.entity_id == entity_id)
    if verb is not None:
        query = query.where(Event.verb == verb)
    return list(session.exec(query.order_by(Event.id)))


def count(session: Session, model: type[SQLModel]) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def fresh(session: Session, row: Any) -> Any:
    """The row as the database holds it now, not as this session remembers it."""
    return session.exec(
        select(type(row)).where(type(row).id == row.id).execution_options(populate_existing=True)
    ).one()
