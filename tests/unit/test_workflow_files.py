"""Workflow files: the shipped ones load and are sound; each broken one fails precisely."""

import json
from collections import deque
from pathlib import Path

import pytest

from pdca import resources
from pdca.engine.definition import WorkflowError, from_dict, load_directory, load_file
from pdca.engine.registry import EFFECTS, GUARDS

WORKFLOWS = resources.workflows_dir()
SHIPPED = ("pdca", "five_step", "dmaic", "8d")
BROKEN = Path(__file__).parent.parent / "fixtures" / "broken_workflows"

# file → (item, a fragment of the reason)
EXPECTED_ERRORS = {
    "unknown_source_state": ("transitions[0] (start_do).source", "unknown state 'planning'"),
    "unknown_dest_state": ("transitions[2] (start_check).dest", "unknown state 'chek'"),
    "unknown_initial_state": ("initial", "unknown state 'draft'"),
    "unreachable_state": ("states.review", "is unreachable from the initial state 'plan'"),
    "dead_end_state": (
        "states.on_hold",
        "is a dead end: it is not final and no transition leaves it",
    ),
    "loop_without_exit": ("states.waiting", "is a dead end: no final state can be reached"),
    "unregistered_guard": (
        "transitions[2] (start_check).guards",
        "guard 'all_actions_done' is not registered (known: actions_finished,",
    ),
    "unregistered_effect": (
        "transitions[3] (close).effects",
        "effect 'notify_everyone' is not registered (known: resolve_problems,",
    ),
    "unknown_required_field": (
        "states.plan.requires",
        "unknown field 'budget' (declare it under 'fields'",
    ),
    "missing_zh_title": ("states.do.titles", "missing required key 'zh_CN'"),
    "misspelt_key": ("transitions[2] (start_check)", "unknown key 'gaurds' (allowed:"),
    "duplicate_trigger": (
        "transitions[4] (start_do)",
        "trigger 'start_do' is defined twice from 'plan'",
    ),
    "final_state_left": ("transitions[4] (reopen).source", "state 'closed' is final"),
    "no_final_state": ("states", "no state is final; a cycle could never close"),
    "name_mismatch": ("name", "is 'pdca_copy' but the file is named 'name_mismatch.yaml'"),
    "invalid_yaml": ("line 9", "is not valid YAML (while parsing a flow sequence"),
}


def test_every_broken_file_has_an_expected_error_and_every_expected_error_a_file():
    assert sorted(p.stem for p in BROKEN.glob("*.yaml")) == sorted(EXPECTED_ERRORS)


@pytest.mark.parametrize("name", sorted(EXPECTED_ERRORS))
def test_a_broken_workflow_file_fails_naming_the_file_the_item_and_the_reason(name):
    path = BROKEN / f"{name}.yaml"
    item, reason = EXPECTED_ERRORS[name]

    with pytest.raises(WorkflowError) as failure:
        load_file(path)

    error = failure.value
    assert error.source == str(path)
    assert error.item == item
    assert reason in error.reason
    assert str(error).startswith(f"{path}: {item}: ")


def test_a_directory_with_one_broken_file_fails_on_that_file(tmp_path):
    for name in SHIPPED:
        (tmp_path / f"{name}.yaml").write_text((WORKFLOWS / f"{name}.yaml").read_text("utf-8"))
    broken = tmp_path / "unregistered_guard.yaml"
    broken.write_text((BROKEN / "unregistered_guard.yaml").read_text("utf-8"), encoding="utf-8")

    with pytest.raises(WorkflowError) as failure:
        load_directory(tmp_path)

    assert failure.value.source == str(broken)
    assert failure.value.item == "transitions[2] (start_check).guards"


def test_an_empty_directory_is_not_a_set_of_workflows(tmp_path):
    with pytest.raises(WorkflowError) as failure:
        load_directory(tmp_path)

    assert (failure.value.source, failure.value.item) == (str(tmp_path), "directory")


# --- the shipped workflows ----------------------------------------------------


def test_exactly_the_four_shipped_workflows_load_from_the_workflows_folder():
    assert sorted(load_directory(WORKFLOWS)) == sorted(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_workflow_has_a_stable_digest(name):
    first, again = load_file(WORKFLOWS / f"{name}.yaml"), load_file(WORKFLOWS / f"{name}.yaml")

    assert len(first.digest) == 64
    assert first.digest == again.digest
    # The database keeps the definition as JSON: the round trip keeps the version's identity.
    stored = json.loads(json.dumps(first.raw, ensure_ascii=False))
    assert from_dict(stored, "stored").digest == first.digest
    # Key order in the file does not make a new version.
    reordered = dict(reversed(list(first.raw.items())))
    assert from_dict(reordered, "reordered").digest == first.digest


def test_each_shipped_workflow_has_its_own_digest():
    digests = {load_file(WORKFLOWS / f"{name}.yaml").digest for name in SHIPPED}
    assert len(digests) == len(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_workflow_is_rebuilt_equal_from_its_raw_data(name):
    definition = load_file(WORKFLOWS / f"{name}.yaml")

    rebuilt = from_dict(definition.raw, definition.source)

    assert rebuilt == definition
    assert rebuilt.states == definition.states
    assert rebuilt.transitions == definition.transitions


@pytest.mark.parametrize("name", SHIPPED)
def test_in_a_shipped_workflow_every_state_is_reachable_and_can_reach_the_end(name):
    # The loader refuses unreachable states and dead ends (see the broken files above);
    # here the shipped graphs are walked independently of it, forwards and backwards.
    definition = load_file(WORKFLOWS / f"{name}.yaml")
    edges = [(s, t.dest) for t in definition.transitions for s in t.sources]

    def walk(starts, step):
        seen, queue = set(starts), deque(starts)
        while queue:
            here = queue.popleft()
            for nxt in step(here):
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        return seen

    forwards = walk([definition.initial], lambda s: [b for a, b in edges if a == s])
    backwards = walk(definition.final_states(), lambda s: [a for a, b in edges if b == s])

    assert forwards == set(definition.states)
    assert backwards == set(definition.states)
    assert {"closed", "cancelled"} <= set(definition.final_states())


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_workflow_names_only_registered_guards_and_effects(name):
    definition = load_file(WORKFLOWS / f"{name}.yaml")

    guards = {g for t in definition.transitions for g in t.guards}
    effects = {e for t in definition.transitions for e in t.effects}

    assert guards
    assert guards <= set(GUARDS)
    assert effects <= set(EFFECTS)
    assert "resolve_problems" in effects


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_workflow_has_titles_in_both_languages(name):
    definition = load_file(WORKFLOWS / f"{name}.yaml")

    titled = [definition, *definition.states.values(), *definition.transitions]

    assert all(set(item.titles) == {"en", "zh_CN"} for item in titled)


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_workflow_can_cancel_from_every_open_state_without_its_fields(name):
    definition = load_file(WORKFLOWS / f"{name}.yaml")
    open_states = {s for s, state in definition.states.items() if not state.final}

    cancel = next(t for t in definition.transitions if t.trigger == "cancel")

    assert set(cancel.sources) == open_states
    assert cancel.dest == "cancelled"
    assert cancel.guards == ("note_given",)
    assert cancel.check_requirements is False
