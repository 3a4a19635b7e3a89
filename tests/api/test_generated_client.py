"""A typed client generated from the OpenAPI document runs a problem's whole life.

openapi-python-client (a standard generator, no network) writes a Python package from
the document the app serves; the story then talks to a real server only through that
package: its models, its enums, its parsing of answers and errors. If the document
and the server drift apart (a field renamed, a status undeclared, an enum missing a
value), the generated code breaks here, not in a client's hands.
"""

import importlib
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pdca.settings import Settings
from pdca.web.app import create_app
from tests.live import serving
from tests.personas import PASSWORD

PACKAGE = "pdca_client"


@pytest.fixture(scope="session")
def typed_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The package `openapi-python-client` generates from the app's OpenAPI document."""
    out = tmp_path_factory.mktemp("generated")
    # The document does not depend on the data: an app that never opens its database.
    app = create_app(Settings(database_url=f"sqlite:///{out / 'unused.sqlite3'}", debug=True))
    document = out / "openapi.json"
    document.write_text(json.dumps(app.openapi()))
    config = out / "config.yaml"
    config.write_text(f"post_hooks: []\npackage_name_override: {PACKAGE}\n")
    generator = Path(sys.executable).parent / "openapi-python-client"
    done = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--config",
            str(config),
            "--output-path",
            str(out / PACKAGE),
            # A part of the document the generator cannot express is a broken contract.
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        cwd=out,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


class Api:
    """The generated operations, called as one persona: `api.call("problems", "triage", …)`."""

    def __init__(self, package: ModuleType, base_url: str, token: str) -> None:
        self.package = package
        self.client = package.AuthenticatedClient(base_url=base_url, token=token, timeout=30)

    def detailed(self, tag: str, operation: str, **kwargs: Any) -> Any:
        module = importlib.import_module(f"{PACKAGE}.api.{tag}.{operation}")
        return module.sync_detailed(client=self.client, **kwargs)

    def call(self, tag: str, operation: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.detailed(tag, operation, **kwargs)
        assert response.status_code == status, response.content
        return response.parsed


@pytest.fixture
def live_url(app) -> Iterator[str]:
    with serving(app) as server:
        yield server.url


def test_a_generated_client_runs_a_problem_from_report_to_resolved(
    typed_client: ModuleType, live_url: str, org, tokens, clock
):
    m = importlib.import_module(f"{PACKAGE}.models")
    mia, fiona, frank, max_ = (
        Api(typed_client, live_url, tokens[name]) for name in ("mia", "fiona", "frank", "max")
    )
    deadline = clock.today() + timedelta(days=14)

    # --- Mia reports a complaint; her script retries with the same key ------------------
    report = m.ProblemCreate(
        title="Customers wait over 5 minutes on the hotline",
        source=m.ProblemCreateSource.COMPLAINT,
        severity=m.ProblemCreateSeverity.HIGH,
        department_id=org.cs,
    )
    key = str(uuid.uuid4())
    first = mia.detailed("problems", "report_problem", body=report, idempotency_key=key)
    assert first.status_code == HTTPStatus.CREATED
    problem = first.parsed
    assert isinstance(problem, m.ProblemOut)
    assert (problem.status, problem.reported_by_id) == ("new", org.mia.id)
    assert first.headers["location"] == f"/api/v1/problems/{problem.id}"
    retried = mia.detailed("problems", "report_problem", body=report, idempotency_key=key)
    assert retried.headers["idempotent-replayed"] == "true"
    assert retried.parsed.id == problem.id

    # --- Fiona accepts it and opens a cycle she leads ----------------------------------
    problem = fiona.call(
        "problems",
        "triage",
        problem_id=problem.id,
        body=m.TriageIn(decision=m.TriageInDecision.ACCEPT, version=problem.version),
    )
    assert problem.status == "accepted"
    cycle = fiona.call(
        "cycles",
        "open_cycle",
        201,
        body=m.CycleCreate(
            title="Cut hotline waiting time",
            workflow=m.CycleCreateWorkflow.PDCA,
            lead_id=org.fiona.id,
            problem_ids=[problem.id],
            department_id=org.cs,
            member_ids=[org.mia.id, org.max.id],
        ),
    )
    assert (cycle.state, cycle.problem_ids) == ("plan", [problem.id])
    assert {org.mia.id, org.max.id} <= set(cycle.member_ids)

    # Start Do is refused while the plan is empty; the client reads why.
    options = {t.trigger: t for t in fiona.call("cycles", "cycle_transitions", cycle_id=cycle.id)}
    assert options["start_do"].allowed is False
    assert any("Objective" in r.message for r in options["start_do"].reasons)
    refused = fiona.detailed(
        "cycles",
        "fire_cycle_transition",
        cycle_id=cycle.id,
        body=m.TransitionIn(trigger=m.TransitionInTrigger.START_DO, version=cycle.version),
    )
    assert refused.status_code == HTTPStatus.CONFLICT
    assert isinstance(refused.parsed, m.ProblemDetail)
    assert refused.parsed.type_ == "/api/v1/errors/transition-refused"
    assert "Objective is missing." in [r.message for r in refused.parsed.reasons]

    # --- The plan, then an action in each department -----------------------------------
    def edit(cycle: Any, **fields: Any) -> Any:
        return fiona.call(
            "cycles",
            "update_cycle",
            cycle_id=cycle.id,
            body=m.CycleUpdate(version=cycle.version, fields=m.CycleUpdateFields.from_dict(fields)),
        )

    cycle = edit(
        cycle,
        objective="Answer hotline calls faster",
        baseline=312,
        target=120,
        unit="s",
        direction="lower",
        root_cause="Peak-hour calls queue behind a single overflow line.",
    )
    assert cycle.fields["target"] == 120
    actions = [
        fiona.call(
            "actions",
            "add_action",
            201,
            body=m.ActionCreate(
                cycle_id=cycle.id,
                title=title,
                department_id=department,
                owner_id=owner,
                deadline=deadline,
                kind=m.ActionCreateKind.CORRECTIVE,
            ),
        )
        for title, department, owner in (
            ("Call-back script for queued callers", org.cs, org.mia.id),
            ("Route overflow calls to a second line", org.it, org.max.id),
        )
    ]
    assert [(a.department_code, a.status, a.deadline) for a in actions] == [
        ("CS", "open", deadline),
        ("IT", "open", deadline),
    ]

    def move(api: Api, cycle: Any, trigger: str, **extra: Any) -> Any:
        body = m.TransitionIn(
            trigger=m.TransitionInTrigger(trigger), version=cycle.version, **extra
        )
        return api.call("cycles", "fire_cycle_transition", cycle_id=cycle.id, body=body)

    cycle = move(fiona, cycle, "start_do")
    assert cycle.state == "do"

    # --- Each owner moves their own action; someone else verifies it, signing ----------
    def act(api: Api, action: Any, trigger: str, **extra: Any) -> Any:
        body = m.ActionTransitionIn(
            trigger=m.ActionTransitionInTrigger(trigger), version=action.version, **extra
        )
        return api.call("actions", "fire_action_transition", action_id=action.id, body=body)

    for owner, verifier, index in ((mia, fiona, 0), (max_, frank, 1)):
        action = act(owner, actions[index], "start")
        assert action.status == "in_progress"
        action = act(owner, action, "complete", note="Done")
        assert action.status == "done"
        signature = m.SignatureIn(
            meaning=m.SignatureInMeaning.VERIFIED_EFFECTIVE, password=PASSWORD
        )
        action = act(verifier, action, "verify", effective=True, signature=signature)
        assert (action.status, action.verification_effective) == ("verified", True)
        actions[index] = action

    # --- Check, judged by someone other than the lead; Act; closed, signed -------------
    cycle = move(fiona, cycle, "start_check")
    cycle = edit(
        cycle,
        result=95,
        result_note="Median wait over two weeks",
        success_criterion="Median wait at most 120 s for two weeks",
    )
    cycle = frank.call(
        "cycles",
        "judge_effectiveness",
        cycle_id=cycle.id,
        body=m.EffectivenessIn(effective=True, version=cycle.version, note="312 s to 95 s"),
    )
    assert cycle.effectiveness == "effective"
    cycle = move(fiona, cycle, "start_act")
    cycle = edit(cycle, standardisation="Overflow routing and call-back script in SOP-CS-7")
    stale = fiona.detailed(
        "cycles",
        "fire_cycle_transition",
        cycle_id=cycle.id,
        body=m.TransitionIn(trigger=m.TransitionInTrigger.CLOSE_EFFECTIVE, version=1),
    )
    assert stale.status_code == HTTPStatus.CONFLICT
    assert stale.parsed.type_ == "/api/v1/errors/stale-version"
    closure = m.SignatureIn(meaning=m.SignatureInMeaning.APPROVED_CLOSURE, password=PASSWORD)
    cycle = move(fiona, cycle, "close_effective", note="Target met", signature=closure)
    assert (cycle.state, cycle.state_title) == ("closed", "Closed, effective")

    # --- The complaint is resolved, and the trail says who did what --------------------
    problem = mia.call("problems", "get_problem", problem_id=problem.id)
    assert (problem.status, problem.cycle_ids) == ("resolved", [cycle.id])
    trail = fiona.call("audit", "list_events", entity_type="cycle", entity_id=cycle.id, limit=500)
    transitions = [e for e in trail.items if e.verb == "transition"]
    assert [e.to_value for e in transitions] == ["do", "check", "act", "closed"]
    assert transitions[-1].signature_meaning == "approved closure"
