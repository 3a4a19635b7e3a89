"""`pdca demo`: a realistic organisation in an empty database, refused on one that has data."""

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, func, select
from typer.testing import Result

from pdca import migrate, resources
from pdca.db import make_engine
from pdca.demo import load_demo
from pdca.models import (
    Action,
    ActionDependency,
    ActionKind,
    ActionStatus,
    Cycle,
    CycleMember,
    Department,
    Event,
    Problem,
    ProblemSource,
    ProblemStatus,
    Role,
    User,
)
from pdca.services.catalog import WorkflowCatalog
from pdca.services.organisation import password_matches
from pdca.settings import Settings

from .conftest import Cli


@pytest.fixture(scope="module")
def demo_engine(loaded_demo: Result, demo_db: Settings) -> Iterator[Engine]:
    engine = make_engine(demo_db)
    yield engine
    engine.dispose()


@pytest.fixture
def demo(demo_engine: Engine) -> Iterator[Session]:
    """A session on the database `pdca demo` filled."""
    with Session(demo_engine) as session:
        yield session


def count(engine: Engine, model: type[SQLModel]) -> int:
    # A short transaction of its own: on SQLite an open one would hold the CLI's writer off.
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def one_error_line(result: Result) -> str:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_it_loads_the_organisation_and_prints_the_sign_in_list(loaded_demo):
    out = loaded_demo.stdout
    assert "Loaded the demo" in out
    assert "the password is demo-pass-123" in out
    assert "admin@demo.pdca" in out
    for role in Role:
        assert f"  {role.value} " in out
    sign_ins = [line for line in out.splitlines() if "@demo.pdca" in line]
    assert len(sign_ins) == 20


def test_it_has_cycles_in_every_state_of_every_shipped_workflow(demo):
    catalog = WorkflowCatalog.from_directory(resources.workflows_dir())
    found = {(w, s) for w, s in demo.exec(select(Cycle.workflow, Cycle.state)).all()}
    for name, definition in catalog.definitions.items():
        missing = {s for s in definition.states if (name, s) not in found}
        assert not missing, f"{name}: no cycle in {sorted(missing)}"


def test_one_pdca_cycle_was_escalated_after_three_failed_iterations(demo):
    escalated = demo.exec(select(Cycle).where(Cycle.escalated == True)).all()  # noqa: E712
    assert [(c.workflow, c.iteration) for c in escalated] == [("pdca", 4)]
    verdicts = demo.exec(
        select(Event.to_value)
        .where(Event.entity_id == escalated[0].id, Event.entity_type == "cycle")
        .where(Event.verb == "effectiveness_judged")
    ).all()
    assert verdicts == ["not_effective"] * 3


def test_closed_cycles_resolved_their_problems_and_were_judged_by_someone_else(demo):
    closed = demo.exec(select(Cycle).where(Cycle.state == "closed")).all()
    assert {c.workflow for c in closed} == {"pdca", "five_step", "dmaic", "8d"}
    for cycle in closed:
        assert cycle.effectiveness == "effective"
        assert cycle.effectiveness_by_id not in (None, cycle.lead_id)
    resolved = demo.exec(select(func.count()).where(Problem.status == ProblemStatus.resolved))
    assert resolved.one() >= len(closed)


def test_it_has_about_sixty_actions_some_overdue_and_some_due_this_week(demo):
    today = datetime.now(UTC).date()
    actions = demo.exec(select(Action)).all()
    assert len(actions) >= 55
    running = [a for a in actions if a.status in (ActionStatus.open, ActionStatus.in_progress)]
    assert all(a.deadline is not None for a in actions)
    overdue = [a for a in running if a.deadline < today]  # type: ignore[operator]
    this_week = [a for a in running if today <= a.deadline <= today + timedelta(days=7)]  # type: ignore[operator]
    assert len(overdue) >= 3
    assert len(this_week) >= 3


def test_actions_come_in_every_status_and_kind_across_departments(demo):
    actions = demo.exec(select(Action)).all()
    assert set(Counter(a.status for a in actions)) == set(ActionStatus)
    assert set(Counter(a.kind for a in actions)) == set(ActionKind)
    cycles = {c.id: c for c in demo.exec(select(Cycle)).all()}
    elsewhere = [a for a in actions if a.department_id != cycles[a.cycle_id].department_id]
    assert len(elsewhere) >= 15
    cancelled = [a for a in actions if a.status == ActionStatus.cancelled]
    assert all((a.cancel_reason or "").strip() for a in cancelled)
    dependencies = demo.exec(select(func.count()).select_from(ActionDependency)).one()
    assert dependencies >= 2


def test_verifiers_are_never_the_owners(demo):
    verified = demo.exec(select(Action).where(Action.status == ActionStatus.verified)).all()
    assert len(verified) >= 20
    for action in verified:
        assert action.verified_by_id is not None
        assert action.verified_by_id != action.owner_id


def test_problems_come_from_every_source_with_every_triage_outcome(demo):
    problems = demo.exec(select(Problem)).all()
    # Inspections, their plans and pass rates add their own findings and breaches.
    assert 25 <= len(problems) <= 80
    assert {p.source for p in problems} == set(ProblemSource)
    assert {p.status for p in problems} == set(ProblemStatus)
    for p in problems:
        if p.status == ProblemStatus.rejected:
            assert (p.rejection_reason or "").strip()
        if p.status == ProblemStatus.duplicate:
            assert p.duplicate_of_id is not None


def test_people_cover_every_role_and_sign_in_with_the_demo_password(demo):
    users = demo.exec(select(User)).all()
    assert 18 <= len(users) <= 24
    roles = Counter(u.role for u in users)
    assert set(roles) == set(Role)
    assert roles[Role.admin] >= 1
    departments = demo.exec(select(Department)).all()
    assert {d.code for d in departments} == {"CS", "IT", "OPS", "BIL", "LOG", "QA"}
    assert all(d.name_zh for d in departments)
    heads = {u.department_id for u in users if u.role == Role.head}
    assert heads == {d.id for d in departments}
    admin = next(u for u in users if u.email == "admin@demo.pdca")
    assert admin.role == Role.admin
    assert password_matches(admin, "demo-pass-123")
    assert len({u.password_hash for u in users}) == 1  # the same demo password for all


def test_every_row_has_its_audit_trail(demo):
    def ids_with(entity_type: str, verb: str) -> set[int]:
        query = select(Event.entity_id).where(Event.entity_type == entity_type, Event.verb == verb)
        return set(demo.exec(query).all())

    assert ids_with("cycle", "opened") == set(demo.exec(select(Cycle.id)).all())
    assert ids_with("action", "created") == set(demo.exec(select(Action.id)).all())
    assert ids_with("problem", "reported") == set(demo.exec(select(Problem.id)).all())
    assert ids_with("user", "created") == set(demo.exec(select(User.id)).all())
    latest = demo.exec(select(func.max(Event.at))).one()
    assert latest is not None and latest.replace(tzinfo=UTC) <= datetime.now(UTC)
    assert demo.exec(select(func.count()).select_from(CycleMember)).one() > 31


def test_an_auditor_finds_the_demos_trail_intact(demo_cli: Cli, loaded_demo):
    # Issue 10: `pdca audit verify` passes on the demo (its events are chained as written).
    result = demo_cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "The audit trail is intact" in result.stdout


def test_a_second_demo_refuses_with_one_line_and_says_why(demo_cli: Cli, demo_engine):
    before = count(demo_engine, Action)
    line = one_error_line(demo_cli("demo"))
    assert "already holds data" in line
    assert "--if-empty" in line
    assert count(demo_engine, Action) == before


def test_demo_if_empty_keeps_the_data_and_carries_on(demo_cli: Cli, demo_engine):
    before = count(demo_engine, Problem)
    result = demo_cli("demo", "--if-empty")
    assert result.exit_code == 0, result.output
    assert "kept it" in result.stdout
    assert count(demo_engine, Problem) == before


def test_demo_refuses_a_database_without_the_schema(cli: Cli):
    line = one_error_line(cli("demo"))
    assert "run `pdca db upgrade`" in line


def test_demo_refuses_after_someone_was_created_and_keeps_them(cli: Cli, engine):
    created = cli(
        "user",
        "create",
        "ops@example.com",
        "--name",
        "Ops",
        "--role",
        "admin",
        "--password",
        "long-enough-1",
    )
    assert created.exit_code == 0, created.output
    assert "1 users" in one_error_line(cli("demo"))
    assert cli("demo", "--if-empty").exit_code == 0
    assert count(engine, User) == 1


def test_a_demo_that_fails_half_way_leaves_the_database_empty(cli: Cli, engine, monkeypatch):
    import pdca.cli
    from pdca.demo import load_demo
    from pdca.services.errors import Invalid

    def fails_after_the_departments(session, catalog, now):  # type: ignore[no-untyped-def]
        monkeypatch.setattr("pdca.demo._Player.play", _boom)
        return load_demo(session, catalog, now)

    def _boom(*_args: object) -> None:
        raise Invalid("the demo broke half-way")

    monkeypatch.setattr(pdca.cli, "load_demo", fails_after_the_departments)
    assert "half-way" in one_error_line(cli("demo"))
    assert count(engine, Department) == 0
    assert count(engine, Event) == 0


def test_the_demo_is_the_same_whatever_the_time_of_day(tmp_path):
    """Seeded, and laid out by whole days: two loads on the same day write the same trail."""
    catalog = WorkflowCatalog.from_directory(resources.workflows_dir())
    trails = []
    for n, hour in enumerate((0, 23)):
        settings = Settings(database_url=f"sqlite:///{tmp_path / f'{n}.sqlite3'}")
        migrate.upgrade(settings)
        engine = make_engine(settings)
        with Session(engine, expire_on_commit=False) as session:
            load_demo(session, catalog, datetime(2026, 11, 25, hour, 30, tzinfo=UTC))
            events = session.exec(select(Event).order_by(Event.id)).all()
            trails.append([(e.entity_type, e.entity_id, e.verb, e.to_value, e.at) for e in events])
            assert max(e.at for e in events) < datetime(2026, 11, 25, 0, 30, tzinfo=UTC)
        engine.dispose()
    assert trails[0] == trails[1]
