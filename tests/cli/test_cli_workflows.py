"""`pdca workflows check` and `pdca workflows show`: what a person sees of the workflow files."""

from pathlib import Path

import pytest

from pdca import resources
from pdca.engine.registry import EFFECT_DESCRIPTIONS, GUARD_DESCRIPTIONS

from .conftest import Cli

SHIPPED = ("8d", "dmaic", "five_step", "pdca")


@pytest.fixture
def added(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli) -> Path:
    """PDCA_WORKFLOWS_DIR: a directory of workflows added to the built-in ones."""
    directory = tmp_path / "workflows"
    directory.mkdir()
    monkeypatch.setenv("PDCA_WORKFLOWS_DIR", str(directory))
    return directory


def a_copy_of_pdca(directory: Path, name: str) -> Path:
    text = (resources.workflows_dir() / "pdca.yaml").read_text(encoding="utf-8")
    path = directory / f"{name}.yaml"
    path.write_text(text.replace("name: pdca", f"name: {name}", 1), encoding="utf-8")
    return path


def test_check_passes_on_the_shipped_workflows(cli: Cli):
    result = cli("workflows", "check")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert [line.split()[1] for line in lines] == list(SHIPPED)
    pdca_line = lines[SHIPPED.index("pdca")]
    assert "PDCA cycle" in pdca_line
    assert " 6 states" in pdca_line
    assert "digest " in pdca_line


def test_an_added_directory_adds_its_workflows_to_the_shipped_ones(cli: Cli, added: Path):
    a_copy_of_pdca(added, "pdca_lite")
    result = cli("workflows", "check")
    assert result.exit_code == 0, result.output
    assert [line.split()[1] for line in result.stdout.strip().splitlines()] == [
        *SHIPPED, "pdca_lite"
    ]  # fmt: skip
    assert cli("workflows", "show", "pdca_lite").stdout.startswith("PDCA cycle")


def test_an_added_workflow_with_a_shipped_name_is_refused_naming_both_files(cli: Cli, added: Path):
    clash = a_copy_of_pdca(added, "pdca")
    result = cli("workflows", "check")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: {clash}: name: workflow 'pdca' is already defined by "
        f"{resources.workflows_dir() / 'pdca.yaml'}; give the added workflow a name of its own"
    )


def test_check_fails_naming_the_file_the_item_and_the_reason(cli: Cli, added: Path):
    broken = a_copy_of_pdca(added, "pdca_lite")
    text = broken.read_text(encoding="utf-8")
    broken.write_text(text.replace("guards: [actions_finished]", "guards: [all_done]", 1))
    result = cli("workflows", "check")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.strip().splitlines() == [
        f"error: {broken}: transitions[1] (start_check).guards: guard 'all_done' is not "
        f"registered (known: {', '.join(sorted(GUARD_DESCRIPTIONS))})"
    ]
    # The sound files are still listed, so one bad file does not hide the others.
    assert [line.split()[1] for line in result.stdout.strip().splitlines()] == list(SHIPPED)


def test_check_of_an_empty_directory_says_so(cli: Cli, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PDCA_WORKFLOWS_DIR", str(tmp_path))
    result = cli("workflows", "check")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: {tmp_path}: directory: holds no workflow files (*.yaml)"
    )


def test_show_prints_what_a_person_expects_of_the_pdca_workflow(cli: Cli):
    result = cli("workflows", "show", "pdca")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("PDCA cycle · PDCA 循环\n")
    assert "计划改进、执行改进、检查效果、处理并标准化。" in out
    assert "Initial state: plan (Plan · 计划)" in out
    for state in ("Plan · 计划", "Do · 执行", "Check · 检查", "Act · 处理",
                  "Closed, effective · 已关闭（有效）  [final]", "Cancelled · 已取消  [final]"):  # fmt: skip
        assert state in out
    assert "to leave it: objective, " in out and ", root cause\n" in out
    assert "signed: whoever fires it re-enters their password" in out
    assert "start_do: Start Do · 开始执行" in out
    assert "plan, do, check, act → cancelled" in out
    assert f"guard actions_planned: {GUARD_DESCRIPTIONS['actions_planned']}" in out
    assert f"effect resolve_problems: {EFFECT_DESCRIPTIONS['resolve_problems']}" in out
    assert "Diagram (Mermaid):\nstateDiagram-v2\n" in out
    assert "plan --> do: start_do" in out
    assert "act --> plan: next_iteration" in out


def test_show_lists_the_fields_a_workflow_declares(cli: Cli):
    out = cli("workflows", "show", "8d").stdout
    assert "Fields of this workflow:" in out
    assert "containment: Containment · 临时遏制措施 [text]" in out
    assert "to leave it: Team and charter (team_charter)" in out


def test_show_of_an_unknown_workflow_is_one_line(cli: Cli):
    result = cli("workflows", "show", "six_sigma")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: there is no workflow 'six_sigma'; known: 8d, dmaic, five_step, pdca"
    )
