"""Workflow definitions: load a YAML file, validate every item, fail precisely.

A definition is immutable once loaded. Its digest identifies the version a cycle
started with; the same dict (stored in the database) rebuilds the same definition.
"""

import functools
import hashlib
import json
import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pdca.engine.registry import EFFECTS, GUARDS

# libyaml's safe loader where it is installed: the pure-Python one took 0.1-0.3 s a
# workflow file, paid by every app and every CLI command that loads the catalog.
SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

LANGUAGES = ("en", "zh_CN")
IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
WORKFLOW_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")

# Fields every cycle has as columns; a workflow may require them without declaring them.
BUILTIN_FIELDS: dict[str, str] = {
    "objective": "text",
    "baseline": "number",
    "target": "number",
    "direction": "choice",
    "unit": "text",
    "root_cause": "text",
    "root_cause_category": "choice",
    "success_criterion": "text",
    "effectiveness_window_days": "integer",
    "result": "number",
    "result_note": "text",
    "standardisation": "text",
}
# The root-cause tools every cycle has, whatever its workflow: a 5-whys chain and an
# Ishikawa (fishbone) diagram with the six usual categories, one cause per line. They are
# kept with the workflow-declared fields (the cycle's `extra`), edited and audited alike.
WHY_FIELDS = tuple(f"why_{n}" for n in range(1, 6))
FISHBONE_CATEGORIES = ("people", "methods", "machines", "materials", "measurement", "environment")
# The values a built-in choice field takes.
CHOICES: dict[str, tuple[str, ...]] = {
    "direction": ("higher", "lower"),
    # The bone of the fishbone the root cause sits on (the Pareto counts problems by it).
    "root_cause_category": FISHBONE_CATEGORIES,
}
ANALYSIS_FIELDS: dict[str, str] = {
    **dict.fromkeys(WHY_FIELDS, "text"),
    **{f"fishbone_{c}": "text" for c in FISHBONE_CATEGORIES},
}
ANALYSIS_FIELD_TITLES: dict[str, dict[str, str]] = {
    **{f"why_{n}": {"en": f"Why? ({n})", "zh_CN": f"为什么？（{n}）"} for n in range(1, 6)},
    "fishbone_people": {"en": "Causes: people", "zh_CN": "原因：人"},
    "fishbone_methods": {"en": "Causes: methods", "zh_CN": "原因：方法"},
    "fishbone_machines": {"en": "Causes: machines and tools", "zh_CN": "原因：机器与工具"},
    "fishbone_materials": {"en": "Causes: materials and inputs", "zh_CN": "原因：材料与输入"},
    "fishbone_measurement": {"en": "Causes: measurement", "zh_CN": "原因：测量"},
    "fishbone_environment": {"en": "Causes: environment", "zh_CN": "原因：环境"},
}
FIELD_TYPES = ("text", "number", "integer", "date")
BUILTIN_FIELD_TITLES: dict[str, dict[str, str]] = {
    "objective": {"en": "Objective", "zh_CN": "目标"},
    "baseline": {"en": "Baseline", "zh_CN": "基线"},
    "target": {"en": "Target", "zh_CN": "目标值"},
    "direction": {"en": "Better direction", "zh_CN": "改善方向"},
    "unit": {"en": "Unit", "zh_CN": "单位"},
    "root_cause": {"en": "Root cause", "zh_CN": "根本原因"},
    "root_cause_category": {"en": "Root-cause category", "zh_CN": "根本原因类别"},
    "success_criterion": {"en": "Success criterion", "zh_CN": "成功标准"},
    "effectiveness_window_days": {"en": "Effectiveness window", "zh_CN": "有效性观察期"},
    "result": {"en": "Result", "zh_CN": "结果"},
    "result_note": {"en": "Result notes", "zh_CN": "结果说明"},
    "standardisation": {"en": "Standardisation", "zh_CN": "标准化"},
}


class WorkflowError(ValueError):
    """A workflow file is wrong: says which file, which item and why."""

    def __init__(self, source: str, item: str, reason: str) -> None:
        self.source, self.item, self.reason = source, item, reason
        super().__init__(f"{source}: {item}: {reason}")


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    titles: Mapping[str, str]


@dataclass(frozen=True)
class StateDef:
    name: str
    titles: Mapping[str, str]
    description: Mapping[str, str]
    requires: tuple[str, ...]
    final: bool


@dataclass(frozen=True)
class TransitionDef:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    titles: Mapping[str, str]
    guards: tuple[str, ...]
    effects: tuple[str, ...]
    # Leaving a state normally needs the state's required fields; cancelling does not.
    check_requirements: bool = True
    # A signed act: the person firing it re-enters their password and states its meaning.
    signed: bool = False


@dataclass(frozen=True)
class WorkflowDefinition:
    name: str
    titles: Mapping[str, str]
    description: Mapping[str, str]
    initial: str
    fields: tuple[FieldDef, ...]
    states: Mapping[str, StateDef]
    transitions: tuple[TransitionDef, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    source: str = ""

    @property
    def digest(self) -> str:
        canonical = json.dumps(self.raw, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def field_type(self, name: str) -> str | None:
        if name in BUILTIN_FIELDS:
            return BUILTIN_FIELDS[name]
        if name in ANALYSIS_FIELDS:
            return ANALYSIS_FIELDS[name]
        for f in self.fields:
            if f.name == name:
                return f.type
        return None

    def transition(self, trigger: str, source: str) -> TransitionDef | None:
        for t in self.transitions:
            if t.trigger == trigger and source in t.sources:
                return t
        return None

    def transitions_from(self, state: str) -> list[TransitionDef]:
        return [t for t in self.transitions if state in t.sources]

    def final_states(self) -> list[str]:
        return [s.name for s in self.states.values() if s.final]

    def title(self, lang: str = "en") -> str:
        return self.titles.get(lang) or self.titles["en"]


# --- loading ----------------------------------------------------------------


def load_file(path: Path) -> WorkflowDefinition:
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorkflowError(source, "file", f"cannot be read ({exc.strerror})") from exc
    return _parse(path, text)


@functools.lru_cache(maxsize=64)
def _parse(path: Path, text: str) -> WorkflowDefinition:
    # Definitions are frozen, so the same text read again (every app and CLI command
    # loads the catalog) can share one; a changed file is a new key and parsed anew.
    source = str(path)
    try:
        raw = yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        raise WorkflowError(source, where, f"is not valid YAML ({exc})") from exc
    definition = from_dict(raw, source)
    if definition.name != path.stem:
        raise WorkflowError(
            source, "name", f"is {definition.name!r} but the file is named {path.name!r}"
        )
    return definition


def workflow_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise WorkflowError(str(directory), "directory", "does not exist")
    files = sorted(directory.glob("*.yaml"))
    if not files:
        raise WorkflowError(str(directory), "directory", "holds no workflow files (*.yaml)")
    return files


def files_by_name(directories: list[Path]) -> dict[str, Path]:
    """Each workflow's file across the directories; a name given twice is an error."""
    found: dict[str, Path] = {}
    for directory in directories:
        for path in workflow_files(directory):
            if path.stem in found:
                raise WorkflowError(
                    str(path),
                    "name",
                    f"workflow {path.stem!r} is already defined by {found[path.stem]}; "
                    "give the added workflow a name of its own",
                )
            found[path.stem] = path
    return found


def load_directory(directory: Path) -> dict[str, WorkflowDefinition]:
    return load_directories([directory])


def load_directories(directories: list[Path]) -> dict[str, WorkflowDefinition]:
    return {name: load_file(path) for name, path in files_by_name(directories).items()}


def from_dict(raw: Any, source: str) -> WorkflowDefinition:
    return _Parser(source).workflow(raw)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, item: str, reason: str) -> WorkflowError:
        return WorkflowError(self.source, item, reason)

    def mapping(self, value: Any, item: str, allowed: set[str], required: set[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(item, f"must be a mapping, not {type(value).__name__}")
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise self.fail(
                item, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
            )
        missing = sorted(required - set(value))
        if missing:
            raise self.fail(item, f"missing required key {missing[0]!r}")
        return value

    def titles(self, value: Any, item: str, required: bool = True) -> dict[str, str]:
        if value is None and not required:
            return {}
        mapping = self.mapping(value, item, set(LANGUAGES), set(LANGUAGES) if required else set())
        for lang, text in mapping.items():
            if not isinstance(text, str) or not text.strip():
                raise self.fail(f"{item}.{lang}", "must be a non-empty text")
        return dict(mapping)

    def names(self, value: Any, item: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(item, "must be a name or a list of names")
        return tuple(value)

    def workflow(self, raw: Any) -> WorkflowDefinition:
        top = self.mapping(
            raw,
            "workflow",
            {"name", "titles", "description", "initial", "fields", "states", "transitions"},
            {"name", "titles", "initial", "states", "transitions"},
        )
        name = top["name"]
        if not isinstance(name, str) or not WORKFLOW_NAME.match(name):
            raise self.fail("name", "must be lower-case letters, digits and underscores")
        fields = self.fields(top.get("fields") or [])
        states = self.states(top["states"], fields)
        initial = top["initial"]
        if initial not in states:
            raise self.fail("initial", f"unknown state {initial!r}")
        if states[initial].final:
            raise self.fail("initial", f"state {initial!r} is final; a cycle could never run")
        transitions = self.transitions(top["transitions"], states)
        definition = WorkflowDefinition(
            name=name,
            titles=self.titles(top["titles"], "titles"),
            description=self.titles(top.get("description"), "description", required=False),
            initial=initial,
            fields=fields,
            states=states,
            transitions=transitions,
            raw=raw,
            source=self.source,
        )
        self.check_graph(definition)
        return definition

    def fields(self, raw: Any) -> tuple[FieldDef, ...]:
        if not isinstance(raw, list):
            raise self.fail("fields", "must be a list")
        result: list[FieldDef] = []
        for i, entry in enumerate(raw):
            item = f"fields[{i}]"
            entry = self.mapping(entry, item, {"name", "type", "titles"}, {"name", "titles"})
            fname = entry["name"]
            if not isinstance(fname, str) or not IDENTIFIER.match(fname):
                raise self.fail(f"{item}.name", "must be lower-case letters, digits and _")
            if (
                fname in BUILTIN_FIELDS
                or fname in ANALYSIS_FIELDS
                or any(f.name == fname for f in result)
            ):
                raise self.fail(f"{item} ({fname})", "is declared twice or is a built-in field")
            ftype = entry.get("type", "text")
            if ftype not in FIELD_TYPES:
                raise self.fail(f"{item} ({fname})", f"type must be one of {FIELD_TYPES}")
            result.append(FieldDef(fname, ftype, self.titles(entry["titles"], f"{item}.titles")))
        return tuple(result)

    def states(self, raw: Any, fields: tuple[FieldDef, ...]) -> dict[str, StateDef]:
        if not isinstance(raw, dict) or not raw:
            raise self.fail("states", "must be a non-empty mapping of state names")
        known_fields = set(BUILTIN_FIELDS) | set(ANALYSIS_FIELDS) | {f.name for f in fields}
        states: dict[str, StateDef] = {}
        for name, entry in raw.items():
            item = f"states.{name}"
            if not isinstance(name, str) or not IDENTIFIER.match(name):
                raise self.fail(item, "state names are lower-case letters, digits and _")
            entry = self.mapping(
                entry, item, {"titles", "description", "requires", "final"}, {"titles"}
            )
            requires = self.names(entry.get("requires"), f"{item}.requires")
            for required in requires:
                if required not in known_fields:
                    raise self.fail(
                        f"{item}.requires",
                        f"unknown field {required!r} (declare it under 'fields' or use one of "
                        f"{', '.join(sorted(BUILTIN_FIELDS))})",
                    )
            final = entry.get("final", False)
            if not isinstance(final, bool):
                raise self.fail(f"{item}.final", "must be true or false")
            if final and requires:
                raise self.fail(f"{item}.requires", "a final state is never left")
            states[name] = StateDef(
                name=name,
                titles=self.titles(entry["titles"], f"{item}.titles"),
                description=self.titles(
                    entry.get("description"), f"{item}.description", required=False
                ),
                requires=requires,
                final=final,
            )
        return states

    def transitions(self, raw: Any, states: dict[str, StateDef]) -> tuple[TransitionDef, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.fail("transitions", "must be a non-empty list")
        result: list[TransitionDef] = []
        seen: set[tuple[str, str]] = set()
        for i, entry in enumerate(raw):
            trigger = entry.get("trigger") if isinstance(entry, dict) else None
            item = f"transitions[{i}]" + (f" ({trigger})" if isinstance(trigger, str) else "")
            entry = self.mapping(
                entry,
                item,
                {
                    "trigger",
                    "source",
                    "dest",
                    "titles",
                    "guards",
                    "effects",
                    "check_requirements",
                    "signed",
                },
                {"trigger", "source", "dest", "titles"},
            )
            if not isinstance(trigger, str) or not IDENTIFIER.match(trigger):
                raise self.fail(item, "trigger must be lower-case letters, digits and _")
            sources = self.names(entry["source"], f"{item}.source")
            if not sources:
                raise self.fail(f"{item}.source", "names no state")
            for source in sources:
                if source not in states:
                    raise self.fail(f"{item}.source", f"unknown state {source!r}")
                if states[source].final:
                    raise self.fail(f"{item}.source", f"state {source!r} is final")
                if (trigger, source) in seen:
                    raise self.fail(item, f"trigger {trigger!r} is defined twice from {source!r}")
                seen.add((trigger, source))
            dest = entry["dest"]
            if dest not in states:
                raise self.fail(f"{item}.dest", f"unknown state {dest!r}")
            guards = self.names(entry.get("guards"), f"{item}.guards")
            for g in guards:
                if g not in GUARDS:
                    raise self.fail(
                        f"{item}.guards",
                        f"guard {g!r} is not registered (known: {', '.join(sorted(GUARDS))})",
                    )
            effects = self.names(entry.get("effects"), f"{item}.effects")
            for e in effects:
                if e not in EFFECTS:
                    raise self.fail(
                        f"{item}.effects",
                        f"effect {e!r} is not registered (known: {', '.join(sorted(EFFECTS))})",
                    )
            check = entry.get("check_requirements", True)
            if not isinstance(check, bool):
                raise self.fail(f"{item}.check_requirements", "must be true or false")
            signed = entry.get("signed", False)
            if not isinstance(signed, bool):
                raise self.fail(f"{item}.signed", "must be true or false")
            result.append(
                TransitionDef(
                    trigger=trigger,
                    sources=sources,
                    dest=dest,
                    titles=self.titles(entry["titles"], f"{item}.titles"),
                    guards=guards,
                    effects=effects,
                    check_requirements=check,
                    signed=signed,
                )
            )
        return tuple(result)

    def check_graph(self, definition: WorkflowDefinition) -> None:
        if not definition.final_states():
            raise self.fail("states", "no state is final; a cycle could never close")
        reachable = {definition.initial}
        queue = deque([definition.initial])
        while queue:
            state = queue.popleft()
            for t in definition.transitions_from(state):
                if t.dest not in reachable:
                    reachable.add(t.dest)
                    queue.append(t.dest)
        for name, state in definition.states.items():
            if name not in reachable:
                raise self.fail(
                    f"states.{name}",
                    f"is unreachable from the initial state {definition.initial!r}",
                )
            if not state.final and not definition.transitions_from(name):
                raise self.fail(
                    f"states.{name}", "is a dead end: it is not final and no transition leaves it"
                )
        # A loop of states with exits only into each other is a dead end too.
        can_finish = set(definition.final_states())
        changed = True
        while changed:
            changed = False
            for t in definition.transitions:
                if t.dest in can_finish:
                    for source in t.sources:
                        if source not in can_finish:
                            can_finish.add(source)
                            changed = True
        for name in definition.states:
            if name not in can_finish:
                raise self.fail(f"states.{name}", "is a dead end: no final state can be reached")
