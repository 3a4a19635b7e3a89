"""Fixtures for the API tests: the app on a fresh migrated database, a client, a token
per persona, and a small world of real data for the routes to act on.

Everything is set up through the services (as the CLI or the pages would); the
tests themselves then speak only HTTP.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pdca.models import User
from pdca.services import accounts, actions, cycles, kpis, problems
from pdca.services.context import Ctx
from pdca.web.app import create_app
from tests.conftest import Clock, Org
from tests.personas import VERIFIED_EFFECTIVE

PERSONAS = ("admin", "fiona", "frank", "hanna", "ivan", "mia", "max", "vera")

AsUser = Callable[[User | None], Ctx]


@pytest.fixture
def app(settings, engine, clock: Clock) -> FastAPI:
    """The app on the test's own migrated database, telling the time by the test clock."""
    return create_app(settings, clock=clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def tokens(org: Org, as_user: AsUser) -> dict[str, str]:
    """A bearer token per persona (`tokens["mia"]`), made as `pdca token create` would.

    `tokens["fiona_signing"]` is Fiona's token marked for signing: with it she can
    verify actions and close cycles without re-entering her password.
    """
    system = as_user(None)
    made = {
        name: accounts.create_token(system, getattr(org, name).id, name="api tests").secret
        for name in PERSONAS
    }
    made["fiona_signing"] = accounts.create_token(
        system, org.fiona.id, name="signing", can_sign=True, expires_in_days=30
    ).secret
    return made


@pytest.fixture
def auth() -> Callable[[str | None], dict[str, str]]:
    """auth(token) -> the request headers that present it; auth(None) -> no credentials."""

    def headers(token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}

    return headers


@dataclass(frozen=True)
class World:
    """Ids of real rows, each in the state its routes need."""

    problem: int  # new (untriaged), reported by Mia for CS
    cycle_problem: int  # accepted, addressed by `cycle`
    cycle: int  # PDCA in Do, led by Fiona, department CS
    action_cs: int  # open, CS, owned by Mia (a member), deadline in 7 days
    action_it: int  # open, IT, owned by Max (a member), deadline in 14 days
    action_done: int  # done, CS, owned by Mia: waiting for someone else to verify it
    cycle_in_check: int  # PDCA in Check, led by Frank: result recorded, action verified
    check_action: int  # verified, IT, owned by Max, in `cycle_in_check`
    cycle_in_plan: int  # PDCA in Plan, led by Frank: there to be cancelled
    spare_token: int  # Max's second token, there to be revoked
    kpi: int  # CS service level, owned by Mia, with two points in the last two days
    kpi_it: int  # IT's first-time fix rate, owned by Max


@pytest.fixture
def world(org: Org, as_user: AsUser, clock: Clock) -> World:
    mia, max_ = as_user(org.mia), as_user(org.max)
    fiona, frank = as_user(org.fiona), as_user(org.frank)
    today = clock.today()

    problem = problems.report_problem(
        mia,
        title="Callers wait too long at lunchtime",
        source="complaint",
        severity="high",
        department_id=org.cs,
    )
    cycle_problem = problems.report_problem(
        mia, title="Refunds take three weeks", source="complaint", department_id=org.cs
    )
    problems.triage_problem(fiona, cycle_problem.id, decision="accept")  # type: ignore[arg-type]

    # Fiona's cycle, in Do: actions in two departments, one of them already done.
    cycle = cycles.open_cycle(
        fiona,
        title="Pay refunds within five days",
        workflow="pdca",
        lead_id=org.fiona.id,  # type: ignore[arg-type]
        problem_ids=[cycle_problem.id],  # type: ignore[list-item]
        department_id=org.cs,
        fields={
            "objective": "Refund within 5 working days",
            "baseline": 15,
            "target": 5,
            "direction": "lower",
            "root_cause": "Refunds wait for a weekly batch in IT",
            "success_criterion": "Median refund time <= 5 days for 4 weeks",
        },
    )
    assert cycle.id is not None
    action_cs = actions.add_action(
        fiona,
        cycle.id,
        title="Approve refunds at the counter",
        department_id=org.cs,
        owner_id=org.mia.id,
        deadline=today + timedelta(days=7),
    )
    action_it = actions.add_action(
        fiona,
        cycle.id,
        title="Run the refund batch daily",
        department_id=org.it,
        owner_id=org.max.id,
        deadline=today + timedelta(days=14),
    )
    action_done = actions.add_action(
        fiona,
        cycle.id,
        title="Publish the refund checklist",
        department_id=org.cs,
        owner_id=org.mia.id,
        deadline=today + timedelta(days=3),
        kind="containment",
    )
    cycles.fire_transition(fiona, cycle.id, trigger="start_do", version=cycle.version)
    actions.fire_action(mia, action_done.id, trigger="complete", version=action_done.version)  # type: ignore[arg-type]

    # Frank's cycle, in Check: everything done and verified, the result recorded;
    # it waits for someone other than Frank to judge its effectiveness.
    it_problem = problems.report_problem(
        max_, title="Password resets take two days", source="internal", department_id=org.it
    )
    checked = cycles.open_cycle(
        frank,
        title="Self-service password resets",
        workflow="pdca",
        lead_id=org.frank.id,  # type: ignore[arg-type]
        problem_ids=[it_problem.id],  # type: ignore[list-item]
        department_id=org.it,
        fields={
            "objective": "Reset passwords within one hour",
            "baseline": 48,
            "target": 1,
            "direction": "lower",
            "root_cause": "Resets need a ticket and a technician",
            "success_criterion": "95% of resets within one hour",
        },
    )
    assert checked.id is not None
    check_action = actions.add_action(
        frank,
        checked.id,
        title="Self-service reset page",
        department_id=org.it,
        owner_id=org.max.id,
        deadline=today + timedelta(days=10),
    )
    cycles.fire_transition(frank, checked.id, trigger="start_do", version=checked.version)
    actions.fire_action(max_, check_action.id, trigger="complete", version=check_action.version)  # type: ignore[arg-type]
    cycles.fire_transition(frank, checked.id, trigger="start_check", version=checked.version)
    actions.verify_action(
        fiona,
        check_action.id,  # type: ignore[arg-type]
        effective=True,
        note="Tried it with three users",
        version=check_action.version,
        signature=VERIFIED_EFFECTIVE,
    )
    cycles.update_cycle_fields(frank, checked.id, version=checked.version, changes={"result": 0.5})

    planned_problem = problems.report_problem(
        max_, title="The VPN drops every afternoon", source="internal", department_id=org.it
    )
    planned = cycles.open_cycle(
        frank,
        title="A stable VPN",
        workflow="pdca",
        lead_id=org.frank.id,  # type: ignore[arg-type]
        problem_ids=[planned_problem.id],  # type: ignore[list-item]
    )

    spare = accounts.create_token(as_user(None), org.max.id, name="spare")  # type: ignore[arg-type]

    system = as_user(None)
    service_level = kpis.create_kpi(
        system,
        code="CS-SL",
        name="Calls answered within 20 s",
        unit="%",
        department_id=org.cs,
        owner_id=org.mia.id,
        perspective="customer",
        direction="higher",
        target=80.0,
        warning_limit=75.0,
        breach_limit=70.0,
    )
    kpis.ingest(
        system,
        [
            kpis.RowIn(n, service_level.id, clock.now - timedelta(days=n), value)
            for n, value in ((1, 82.0), (2, 79.5))
        ],
    )
    first_time_fix = kpis.create_kpi(
        system,
        code="IT-FTF",
        name="Tickets fixed at first contact",
        unit="%",
        department_id=org.it,
        owner_id=org.max.id,
        perspective="internal_process",
        target=60.0,
    )

    ids = (
        problem.id,
        cycle_problem.id,
        cycle.id,
        action_cs.id,
        action_it.id,
        action_done.id,
        checked.id,
        check_action.id,
        planned.id,
        spare.token.id,
        service_level.id,
        first_time_fix.id,
    )
    assert all(i is not None for i in ids)
    return World(*ids)  # type: ignore[arg-type]
