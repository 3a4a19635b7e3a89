"""A cycle keeps the workflow version it started with: editing a file never breaks it.

Each test copies workflows/ to a folder of its own, opens a cycle under the copy,
edits the copy and loads it again, as a restart after an edit would.
"""

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from sqlmodel import select

from pdca import resources
from pdca.engine.definition import load_file
from pdca.engine.facts import ActionFact, CycleFacts
from pdca.engine.machine import TransitionRefused, UnknownTrigger, WorkflowMachine
from pdca.models import WorkflowVersion
from pdca.services import actions, cycles
from pdca.services.catalog import WorkflowCatalog
from pdca.services.context import Ctx
from pdca.services.errors import Invalid, Refused
from tests.services.builders_services import PLAN_FIELDS, a_problem

WORKFLOWS = resources.workflows_dir()


@pytest.fixture
def workflows(tmp_path) -> Path:
    copy = tmp_path / "workflows"
    shutil.copytree(WORKFLOWS, copy)
    return copy


def edit(directory: Path, name: str, change) -> None:
    path = directory / f"{name}.yaml"
    raw = yaml.safe_load(path.read_text("utf-8"))
    change(raw)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), "utf-8")


def as_fiona(org, session, clock, catalog: WorkflowCatalog) -> Ctx:
    return Ctx(session=session, actor=org.fiona, catalog=catalog, clock=clock)


def a_planned_pdca_cycle(ctx, org, clock, **fields):
    cycle = cycles.open_cycle(
        ctx,
        title="Cut lunchtime waiting",
        workflow="pdca",
        lead_id=org.fiona.id,
        problem_ids=[a_problem(ctx, department_id=org.cs).id],
        fields={**PLAN_FIELDS, **fields},
    )
    actions.add_action(
        ctx,
        cycle.id,
        title="Stagger breaks",
        department_id=org.cs,
        owner_id=org.mia.id,
        deadline=clock.today() + timedelta(days=7),
    )
    return cycle


def version_number(ctx, cycle) -> int:
    return cycles.workflow_version(ctx, cycle).number


def triggers(ctx, cycle) -> list[str]:
    return [o.trigger for o in cycles.available_transitions(ctx, cycle.id)]


def test_a_running_cycle_keeps_its_rules_when_plan_gains_a_required_field(
    org, session, clock, workflows
):
    before = as_fiona(org, session, clock, WorkflowCatalog.from_directory(workflows))
    running = a_planned_pdca_cycle(before, org, clock)
    assert version_number(before, running) == 1

    edit(workflows, "pdca", lambda raw: raw["states"]["plan"]["requires"].append("unit"))
    after = as_fiona(org, session, clock, WorkflowCatalog.from_directory(workflows))
    newer = a_planned_pdca_cycle(after, org, clock)

    assert version_number(after, newer) == 2
    with pytest.raises(Refused) as refusal:
        cycles.fire_transition(after, newer.id, trigger="start_do", version=newer.version)
    assert [r.message for r in refusal.value.reasons] == ["Unit is missing."]

    # The running cycle is read back from its stored version, not from the edited file.
    original = cycles.definition_of(after, running)
    assert original.source == "stored workflow pdca v1"
    assert original.states["plan"].requires == ("objective", "baseline", "target", "root_cause")
    cycles.fire_transition(after, running.id, trigger="start_do", version=running.version)
    assert running.state == "do"

    cycles.update_cycle_fields(after, newer.id, version=newer.version, changes={"unit": "%"})
    cycles.fire_transition(after, newer.id, trigger="start_do", version=newer.version)
    assert newer.state == "do"
    stored = session.exec(select(WorkflowVersion).order_by(WorkflowVersion.number)).all()
    assert [(v.name, v.number) for v in stored] == [("pdca", 1), ("pdca", 2)]
    assert stored[1].definition["states"]["plan"]["requires"] == [
        "objective",
        "baseline",
        "target",
        "root_cause",
        "unit",
    ]


def test_a_running_cycle_keeps_a_transition_that_the_file_renamed(org, session, clock, workflows):
    before = as_fiona(org, session, clock, WorkflowCatalog.from_directory(workflows))
    running = a_planned_pdca_cycle(before, org, clock)

    def rename_start_do(raw):
        (start_do,) = [t for t in raw["transitions"] if t["trigger"] == "start_do"]
        start_do["trigger"] = "begin_do"

    edit(workflows, "pdca", rename_start_do)
    after = as_fiona(org, session, clock, WorkflowCatalog.from_directory(workflows))
    newer = a_planned_pdca_cycle(after, org, clock)

    assert triggers(after, running) == ["start_do", "cancel"]
    assert triggers(after, newer) == ["begin_do", "cancel"]
    # The running cycle's version has no such step: bad input (422), not a refused guard.
    with pytest.raises(Invalid) as refusal:
        cycles.fire_transition(after, running.id, trigger="begin_do", version=running.version)
    assert (
        refusal.value.detail
        == "'begin_do' cannot be fired from state 'plan' (possible: start_do, cancel)"
    )
    assert [r.message for r in refusal.value.reasons] == ["Possible now: start_do, cancel."]

    cycles.fire_transition(after, running.id, trigger="start_do", version=running.version)
    cycles.fire_transition(after, newer.id, trigger="begin_do", version=newer.version)
    assert (running.state, newer.state) == ("do", "do")
    assert (version_number(after, running), version_number(after, newer)) == (1, 2)


def test_a_process_with_the_old_file_still_loaded_reuses_the_stored_version(
    org, session, clock, workflows
):
    old_files = WorkflowCatalog.from_directory(workflows)
    first = a_planned_pdca_cycle(as_fiona(org, session, clock, old_files), org, clock)
    edit(workflows, "pdca", lambda raw: raw["titles"].update(en="PDCA, revised"))
    new_files = WorkflowCatalog.from_directory(workflows)

    second = a_planned_pdca_cycle(as_fiona(org, session, clock, new_files), org, clock)
    third = a_planned_pdca_cycle(as_fiona(org, session, clock, old_files), org, clock)

    ctx = as_fiona(org, session, clock, new_files)
    assert [version_number(ctx, c) for c in (first, second, third)] == [1, 2, 1]


def test_a_running_cycle_outlives_the_removal_of_its_workflow_file(org, session, clock, workflows):
    before = as_fiona(org, session, clock, WorkflowCatalog.from_directory(workflows))
    running = a_planned_pdca_cycle(before, org, clock)

    (workflows / "pdca.yaml").unlink()
    after = as_fiona(org, session, clock, WorkflowCatalog.from_directory(workflows))

    with pytest.raises(Invalid, match="Unknown workflow 'pdca'; choose one of: 8d, dmaic"):
        a_planned_pdca_cycle(after, org, clock)
    cycles.fire_transition(after, running.id, trigger="start_do", version=running.version)
    assert running.state == "do"


# --- the engine on its own: plain facts, no database -------------------------------------


@pytest.fixture(scope="module")
def pdca_machine() -> WorkflowMachine:
    return WorkflowMachine(load_file(WORKFLOWS / "pdca.yaml"))


def plain_facts(state: str, **kw) -> CycleFacts:
    fields = {
        "objective": "Answer calls in 20 s",
        "baseline": 61,
        "target": 80,
        "root_cause": "Breaks overlap",
    }
    action = ActionFact("A-1", "Stagger breaks", "open", owner_id=5, deadline=date(2026, 12, 1))
    return CycleFacts(
        **{
            "key": "C-1",
            "state": state,
            "iteration": 1,
            "lead_id": 1,
            "fields": fields,
            "actions": (action,),
            **kw,
        }
    )


def test_the_engine_refuses_an_unknown_trigger_and_lists_what_is_possible(pdca_machine):
    with pytest.raises(UnknownTrigger) as failure:
        pdca_machine.fire("close_effective", "plan", plain_facts("plan"))

    assert failure.value.available == ["start_do", "cancel"]
    assert str(failure.value) == (
        "'close_effective' cannot be fired from state 'plan' (possible: start_do, cancel)"
    )

    with pytest.raises(UnknownTrigger) as made_up:
        pdca_machine.fire("jump_to_the_end", "check", plain_facts("check"))
    assert made_up.value.available == ["start_act", "cancel"]

    with pytest.raises(UnknownTrigger) as from_the_end:
        pdca_machine.fire("cancel", "closed", plain_facts("closed"))
    assert from_the_end.value.available == []
    assert str(from_the_end.value).endswith("(possible: none)")


def test_the_engine_moves_plain_facts_and_names_the_effects_to_perform(pdca_machine):
    assert pdca_machine.fire("start_do", "plan", plain_facts("plan")) == ("do", ())
    assert pdca_machine.fire("next_iteration", "act", plain_facts("act")) == (
        "plan",
        ("start_next_iteration",),
    )

    with pytest.raises(TransitionRefused) as refusal:
        pdca_machine.fire("start_check", "do", plain_facts("do"))
    assert [r.message for r in refusal.value.reasons] == ["1 action is not done: A-1"]
