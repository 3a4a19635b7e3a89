"""A synthetic organisation at a chosen scale, valid as the services would leave it.

Departments, people, problems and cycles are few: the ORM writes them. Actions are
many: SQLAlchemy Core inserts them in bulk, each with its `created` audit event, spread
over departments, owners, kinds, deadlines (some overdue) and statuses. Every cycle is
in Do, where actions are worked; verified cards are recent so that the board shows
every card that was made.
"""

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from pdca.models import (
    Action,
    ActionKind,
    Cycle,
    CycleMember,
    CycleProblem,
    Department,
    Event,
    Problem,
    ProblemStatus,
    Role,
    User,
)
from pdca.services import accounts, audit, organisation
from pdca.services.catalog import WorkflowCatalog
from pdca.services.context import Ctx

DEPARTMENTS = (
    ("CS", "Customer Service", "客户服务部"),
    ("IT", "IT", "信息技术部"),
    ("BIL", "Billing", "账务部"),
    ("OPS", "Operations", "运营部"),
    ("QA", "Quality Assurance", "质量保证部"),
    ("HR", "Human Resources", "人力资源部"),
    ("FIN", "Finance", "财务部"),
    ("LOG", "Logistics", "物流部"),
)
MEMBERS_PER_DEPARTMENT = 2
CYCLES_PER_DEPARTMENT = 2
# Out of 20 cards: open 8, in progress 6, done 3, verified 2, cancelled 1.
STATUS_WHEEL = ("open",) * 8 + ("in_progress",) * 6 + ("done",) * 3 + ("verified",) * 2
STATUS_WHEEL += ("cancelled",)
KINDS = tuple(ActionKind)
ADMIN_EMAIL = "bench-admin@example.com"


@dataclass
class Organisation:
    password: str
    admin_id: int
    department_ids: list[int]
    cycle_ids: list[int]
    # Who may own a department's actions: its head and its members.
    owners: dict[int, list[int]]
    verifier_id: int
    token: str = ""
    actions: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def build(engine: Engine, catalog: WorkflowCatalog, now: datetime) -> Organisation:
    """Departments, ~27 people (one password, hashed once), 16 cycles in Do, a bearer token."""
    password = secrets.token_urlsafe(12)
    password_hash = organisation.hash_password(password)
    with Session(engine, expire_on_commit=False) as session:
        departments = [
            Department(code=code, name=name, name_zh=zh, created_at=now)
            for code, name, zh in DEPARTMENTS
        ]
        session.add_all(departments)
        session.flush()
        dept_ids = [d.id for d in departments]

        def person(email: str, name: str, role: Role, dept: int) -> User:
            user = User(
                email=email,
                name=name,
                role=role,
                department_id=dept,
                password_hash=password_hash,
                created_at=now,
            )
            session.add(user)
            return user

        admin = person(ADMIN_EMAIL, "Bench Admin", Role.admin, dept_ids[0])
        facilitators = [
            person(f"facilitator{i}@example.com", f"Facilitator {i}", Role.facilitator, dept_ids[i])
            for i in range(2)
        ]
        heads, members = {}, {}
        for (code, name, _), dept in zip(DEPARTMENTS, dept_ids, strict=True):
            heads[dept] = person(
                f"head.{code.lower()}@example.com", f"{name} Head", Role.head, dept
            )
            members[dept] = [
                person(
                    f"member{i}.{code.lower()}@example.com", f"{name} Member {i}", Role.member, dept
                )
                for i in range(MEMBERS_PER_DEPARTMENT)
            ]
        session.flush()

        version = catalog.register_version(session, "pdca")
        cycles = []
        for i in range(CYCLES_PER_DEPARTMENT * len(dept_ids)):
            dept = dept_ids[i % len(dept_ids)]
            lead = facilitators[i % len(facilitators)]
            problem = Problem(
                title=f"Synthetic problem {i + 1}",
                source="internal",
                department_id=dept,
                reported_by_id=lead.id,
                reported_at=now - timedelta(days=40),
                status=ProblemStatus.accepted,
                triaged_by_id=lead.id,
                triaged_at=now - timedelta(days=39),
            )
            cycle = Cycle(
                title=f"Synthetic cycle {i + 1}",
                workflow="pdca",
                workflow_version_id=version.id,  # type: ignore[arg-type]
                state="do",
                lead_id=lead.id,  # type: ignore[arg-type]
                department_id=dept,
                objective="Shorten the time to answer a complaint.",
                baseline=48.0,
                target=24.0,
                direction="lower",
                unit="h",
                root_cause="Hand-offs between departments wait in inboxes.",
                created_at=now - timedelta(days=35),
                state_entered_at=now - timedelta(days=20),
            )
            session.add_all([problem, cycle])
            session.flush()
            session.add(CycleProblem(cycle_id=cycle.id, problem_id=problem.id))  # type: ignore[arg-type]
            session.add(CycleMember(cycle_id=cycle.id, user_id=lead.id))  # type: ignore[arg-type]
            # Through the trail's own writer, so `pdca audit verify` holds on a bench database.
            opened = Ctx(
                session=session, actor=lead, catalog=catalog, clock=lambda c=cycle: c.created_at
            )
            audit.record(
                opened,
                "cycle",
                cycle.id,  # type: ignore[arg-type]
                "opened",
                field="state",
                new="plan",
                data={"workflow": "pdca", "problems": [problem.id]},
            )
            started = Ctx(
                session=session,
                actor=lead,
                catalog=catalog,
                clock=lambda c=cycle: c.state_entered_at,
            )
            audit.record(
                started,
                "cycle",
                cycle.id,  # type: ignore[arg-type]
                "start_do",
                field="state",
                old="plan",
                new="do",
            )
            cycles.append(cycle)
        session.commit()
        org = Organisation(
            password=password,
            admin_id=admin.id,  # type: ignore[arg-type]
            department_ids=dept_ids,  # type: ignore[arg-type]
            cycle_ids=[c.id for c in cycles],  # type: ignore[misc]
            owners={d: [heads[d].id, *(m.id for m in members[d])] for d in dept_ids},  # type: ignore[misc]
            verifier_id=facilitators[0].id,  # type: ignore[arg-type]
        )
        ctx = Ctx(session=session, actor=None, catalog=catalog, clock=lambda: now)
        org.token = accounts.create_token(ctx, org.admin_id, name="bench", expires_in_days=1).secret
    return org


def grow(engine: Engine, org: Organisation, cards: int, now: datetime) -> None:
    """Add actions (each with its audit event) until the board holds `cards` cards."""
    start = org.actions
    if cards <= start:
        return
    today = now.date()
    rows = [_action_row(org, i, now, today) for i in range(start, cards)]
    with engine.begin() as conn:
        before = conn.execute(select(func.coalesce(func.max(Action.id), 0))).scalar_one()
        conn.execute(insert(Action), rows)
        made = conn.execute(
            select(Action.id, Action.created_by_id, Action.created_at, Action.status)
            .where(col(Action.id) > before)
            .order_by(col(Action.id))
        ).all()
        events = [
            {
                "at": created_at,
                "actor_id": by,
                "entity_type": "action",
                "entity_id": action_id,
                "verb": "created",
                "field": "status",
                "from_value": None,
                "to_value": "open",
                "note": None,
                "data": {"bench": True},
                "signature_meaning": None,
                "signature_method": None,
            }
            for action_id, by, created_at, _status in made
        ]
        audit.chain_rows(audit.last_hash_of(conn), events)
        conn.execute(insert(Event), events)
    for row in rows:
        org.by_status[row["status"]] = org.by_status.get(row["status"], 0) + 1
    org.actions = cards


def _action_row(org: Organisation, i: int, now: datetime, today: date) -> dict[str, object]:
    dept = org.department_ids[i % len(org.department_ids)]
    owners = org.owners[dept]
    status = STATUS_WHEEL[(i * 7) % len(STATUS_WHEEL)]
    created = now - timedelta(days=30, minutes=i)
    changed = now - timedelta(days=1 + i % 6, minutes=i)
    done = status in ("done", "verified")
    return {
        "cycle_id": org.cycle_ids[(i // len(org.department_ids)) % len(org.cycle_ids)],
        "title": f"Synthetic action {i + 1}: shorten hand-off {i % 97}",
        "description": None,
        "kind": KINDS[i % len(KINDS)],
        "status": status,
        "owner_id": owners[i % len(owners)],
        "department_id": dept,
        # From three weeks overdue to six weeks ahead.
        "deadline": today + timedelta(days=(i * 11) % 63 - 21),
        "phase": "plan",
        "iteration": 1,
        "created_by_id": org.verifier_id,
        "created_at": created,
        "status_changed_at": changed if status != "open" else created,
        "done_at": changed if done else None,
        "cancel_reason": "Superseded by another action." if status == "cancelled" else None,
        "verified_by_id": org.verifier_id if status == "verified" else None,
        "verified_at": changed if status == "verified" else None,
        "verification_effective": True if status == "verified" else None,
        "verification_note": None,
        "version": 1,
    }


def open_actions(engine: Engine, count: int, *, skip: int = 0) -> list[tuple[int, int]]:
    """(id, version) of open actions that have an owner: ones a card move can start."""
    with Session(engine) as session:
        rows = session.exec(
            select(Action.id, Action.version)
            .where(Action.status == "open", col(Action.owner_id).is_not(None))
            .order_by(col(Action.id).desc())
            .offset(skip)
            .limit(count)
        ).all()
    return [(int(i), int(v)) for i, v in rows]  # type: ignore[arg-type]


def workable_actions(engine: Engine, count: int, *, skip: int = 0) -> list[list[int]]:
    """[id, version, turn] of owned actions in the start → complete → reopen loop
    (turn 0 open, 1 in progress, 2 done), oldest first: the card moves take the newest."""
    turns = {"open": 0, "in_progress": 1, "done": 2}
    with Session(engine) as session:
        rows = session.exec(
            select(Action.id, Action.version, Action.status)
            .where(col(Action.status).in_(turns), col(Action.owner_id).is_not(None))
            .order_by(col(Action.id))
            .offset(skip)
            .limit(count)
        ).all()
    return [[int(i), int(v), turns[s]] for i, v, s in rows]  # type: ignore[arg-type]
