"""Composite quality indexes: definitions (YAML, validated) and pure scoring.

An index (QSI, QCI, PCI …) stands on member KPIs. Each member has a weight and a
scoring method that turns the member's value for a period into a score from 0 to 100:

- `limits` (the default): the KPI's breach limit scores 0 and its target 100, linear
  between, clipped. The KPI's own polarity follows from the order of the two values
  (lower is better: the breach limit lies above the target), so no sign is needed.
  Without a breach limit the warning limit stands in.
- `linear`: two given values, `score_0` and `score_100`, linear between, clipped.
  `score_0: 10, score_100: 0` is "lower is better".
- `pass_fail`: 100 when the value is `at_least` (or `at_most`) the given threshold,
  else 0; with no threshold, when the value meets the KPI's target.

An index may be a ratio to a cost base KPI (`per_base`): each member's value is
divided by the base's value of the same period (as a percentage) before it is scored,
which is how a quality-cost index is built from cost-of-quality KPIs.

Weights are normalised over the members that have data in the period: the value is
the weighted mean of the scores present, and the value always says on how many
members it stood. A member without data is never scored as zero.

A member may name KPIs by a tag instead of by code (`select: {tag: survey-dimension}`):
a survey's dimension KPIs are made per survey and department (CARE-ASS-BIL …) and no
list written in advance can name them. The selector is one member with one weight: the
KPIs it finds share that weight equally among those with data in the period, and the
group counts as one member in "stood on n of m". A KPI named by code is never counted
again by a selector, nor by a second selector. What a tag finds is known only with the
KPIs at hand: the services resolve a definition (`resolve`) before they compute it.

Nothing here touches the database: the services read the KPIs and the measurements.
"""

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from pdca.engine.definition import SAFE_LOADER
from pdca.engine.detection import HIGHER, LOWER, POINT_RULES

LANGUAGES = ("en", "zh_CN")
CODE = re.compile(r"^[A-Z][A-Z0-9-]{0,19}$")
KPI_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,29}$")
TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:_.-]{0,39}$")
METHODS = ("limits", "linear", "pass_fail")
PERIODS = ("day", "week", "month")
CATEGORIES = ("prevention", "appraisal", "internal_failure", "external_failure")


class IndexDefinitionError(ValueError):
    """An index file is wrong: says which file, which item and why."""

    def __init__(self, source: str, item: str, reason: str) -> None:
        self.source, self.item, self.reason = source, item, reason
        super().__init__(f"{source}: {item}: {reason}")


@dataclass(frozen=True)
class Scoring:
    method: str = "limits"
    score_0: float | None = None
    score_100: float | None = None
    at_least: float | None = None
    at_most: float | None = None


@dataclass(frozen=True)
class Member:
    """A member KPI, or a selector of KPIs by tag (`select`, with `kpi` empty) until the
    definition is resolved; a KPI a selector found keeps the selector's tag as `group`."""

    kpi: str
    weight: float
    scoring: Scoring
    category: str | None = None
    select: str | None = None
    group: str | None = None

    @property
    def key(self) -> str:
        """What names the member in the definition: its KPI code, or `tag:<tag>`."""
        return f"tag:{self.select}" if self.select else self.kpi


@dataclass(frozen=True)
class Watch:
    period: str
    target: float
    warning_limit: float | None
    breach_limit: float | None
    rules: tuple[str, ...]
    warnings_in_a_row: int = 3


@dataclass(frozen=True)
class IndexDefinition:
    code: str
    titles: Mapping[str, str]
    description: Mapping[str, str]
    members: tuple[Member, ...]
    watch: Watch
    per_base: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    source: str = ""

    @property
    def digest(self) -> str:
        canonical = json.dumps(self.raw, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def title(self, lang: str = "en") -> str:
        return self.titles.get(lang) or self.titles["en"]

    @property
    def selectors(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.select)

    def weights(self) -> dict[str, float]:
        """Each member's share of the whole (the weights normalised to sum to 1), by key;
        a selector's share is its group's, whatever number of KPIs it finds."""
        total = sum(m.weight for m in self.members)
        return {m.key: m.weight / total for m in self.members}


def resolve(definition: IndexDefinition, tags: Mapping[str, Iterable[str]]) -> IndexDefinition:
    """The definition with each selector replaced by the KPIs that carry its tag
    (`tags`: KPI code → its tags), in code order, each with the selector's weight and
    scoring and the tag as its group. A KPI already a member stays where it is."""
    if not definition.selectors:
        return definition
    taken = {m.kpi for m in definition.members if not m.select}
    if definition.per_base:
        taken.add(definition.per_base)
    members: list[Member] = []
    for member in definition.members:
        if not member.select:
            members.append(member)
            continue
        for code in sorted(c for c, t in tags.items() if member.select in t and c not in taken):
            taken.add(code)
            members.append(
                Member(code, member.weight, member.scoring, member.category, group=member.select)
            )
    return replace(definition, members=tuple(members))


# --- loading ----------------------------------------------------------------------------


def load_file(path: Path) -> IndexDefinition:
    source = str(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except OSError as exc:
        raise IndexDefinitionError(source, "file", f"cannot be read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        raise IndexDefinitionError(source, where, f"is not valid YAML ({exc})") from exc
    definition = from_dict(raw, source)
    if definition.code.lower() != path.stem.lower():
        raise IndexDefinitionError(
            source, "code", f"is {definition.code!r} but the file is named {path.name!r}"
        )
    return definition


def load_directory(directory: Path) -> dict[str, IndexDefinition]:
    if not directory.is_dir():
        raise IndexDefinitionError(str(directory), "directory", "does not exist")
    found: dict[str, IndexDefinition] = {}
    for path in sorted(directory.glob("*.yaml")):
        definition = load_file(path)
        found[definition.code] = definition
    return found


def from_dict(raw: Any, source: str) -> IndexDefinition:
    return _Parser(source).index(raw)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, item: str, reason: str) -> IndexDefinitionError:
        return IndexDefinitionError(self.source, item, reason)

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

    def titles(self, value: Any, item: str) -> dict[str, str]:
        mapping = self.mapping(value, item, set(LANGUAGES), set(LANGUAGES))
        for lang, text in mapping.items():
            if not isinstance(text, str) or not text.strip():
                raise self.fail(f"{item}.{lang}", "must be a non-empty text")
        return dict(mapping)

    def number(self, value: Any, item: str, *, optional: bool = False) -> float | None:
        if value is None and optional:
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.fail(item, "must be a finite number")
        return float(value)

    def index(self, raw: Any) -> IndexDefinition:
        top = self.mapping(
            raw,
            "index",
            {"code", "titles", "description", "members", "watch", "per_base"},
            {"code", "titles", "members", "watch"},
        )
        code = top["code"]
        if not isinstance(code, str) or not CODE.match(code):
            raise self.fail("code", "must be 1 to 20 capitals, digits or '-', e.g. QSI")
        per_base = top.get("per_base")
        if per_base is not None and (not isinstance(per_base, str) or not KPI_CODE.match(per_base)):
            raise self.fail("per_base", "must be a KPI code, e.g. FIN-OPEX")
        members = self.members(top["members"], per_base)
        if per_base is not None and per_base in {m.kpi for m in members if not m.select}:
            raise self.fail("per_base", f"{per_base} is a member too; the base cannot score itself")
        return IndexDefinition(
            code=code,
            titles=self.titles(top["titles"], "titles"),
            description=self.titles(top["description"], "description")
            if "description" in top
            else {},
            members=members,
            watch=self.watch(top["watch"]),
            per_base=per_base,
            raw=raw,
            source=self.source,
        )

    def members(self, raw: Any, per_base: str | None) -> tuple[Member, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.fail("members", "must be a list of at least one member")
        found: list[Member] = []
        for i, item in enumerate(raw):
            where = f"members[{i}]"
            entry = self.mapping(
                item, where, {"kpi", "select", "weight", "scoring", "category"}, set()
            )
            if ("kpi" in entry) == ("select" in entry):
                raise self.fail(where, "names one KPI (kpi) or selects KPIs by tag (select)")
            kpi, tag = "", None
            if "select" in entry:
                tag = self.selector(entry["select"], f"{where}.select")
                if tag in {m.select for m in found}:
                    raise self.fail(f"{where}.select", f"the tag {tag} is selected twice")
            else:
                kpi = entry["kpi"]
                if not isinstance(kpi, str) or not KPI_CODE.match(kpi):
                    raise self.fail(f"{where}.kpi", "must be a KPI code, e.g. CS-SL")
                if kpi in {m.kpi for m in found}:
                    raise self.fail(f"{where}.kpi", f"{kpi} is a member twice")
            weight = self.number(entry.get("weight", 1), f"{where}.weight")
            assert weight is not None
            if weight <= 0:
                raise self.fail(f"{where}.weight", "must be above 0")
            category = entry.get("category")
            if category is not None and category not in CATEGORIES:
                raise self.fail(f"{where}.category", f"one of {', '.join(CATEGORIES)}")
            scoring = self.scoring(entry.get("scoring", "limits"), f"{where}.scoring")
            if per_base is not None and scoring.method == "limits":
                raise self.fail(
                    f"{where}.scoring",
                    "a ratio to a base is scored on given values (linear or pass_fail), "
                    "not on the KPI's own limits",
                )
            found.append(Member(kpi, weight, scoring, category, select=tag))
        return tuple(found)

    def selector(self, raw: Any, where: str) -> str:
        entry = self.mapping(raw, where, {"tag"}, {"tag"})
        tag = entry["tag"]
        if not isinstance(tag, str) or not TAG.match(tag):
            raise self.fail(
                f"{where}.tag", "must be a KPI tag: letters, digits, ':', '_', '.', '-'"
            )
        return tag

    def scoring(self, raw: Any, where: str) -> Scoring:
        if isinstance(raw, str):
            raw = {"method": raw}
        entry = self.mapping(
            raw, where, {"method", "score_0", "score_100", "at_least", "at_most"}, {"method"}
        )
        method = entry["method"]
        if method not in METHODS:
            raise self.fail(f"{where}.method", f"one of {', '.join(METHODS)}")
        allowed = {
            "limits": set(),
            "linear": {"score_0", "score_100"},
            "pass_fail": {"at_least", "at_most"},
        }[method]
        extra = sorted(set(entry) - allowed - {"method"})
        if extra:
            raise self.fail(f"{where}.{extra[0]}", f"does not belong to the {method} method")
        values = {k: self.number(entry[k], f"{where}.{k}") for k in allowed if k in entry}
        if method == "linear":
            if "score_0" not in values or "score_100" not in values:
                raise self.fail(where, "linear needs both score_0 and score_100")
            if values["score_0"] == values["score_100"]:
                raise self.fail(where, "score_0 and score_100 must differ")
        if method == "pass_fail" and len(values) > 1:
            raise self.fail(where, "give at_least or at_most, not both")
        return Scoring(method=method, **values)

    def watch(self, raw: Any) -> Watch:
        entry = self.mapping(
            raw,
            "watch",
            {"period", "target", "warning_limit", "breach_limit", "rules", "warnings_in_a_row"},
            {"period", "target"},
        )
        if entry["period"] not in PERIODS:
            raise self.fail("watch.period", f"one of {', '.join(PERIODS)}")
        target = self.number(entry["target"], "watch.target")
        warning = self.number(entry.get("warning_limit"), "watch.warning_limit", optional=True)
        breach = self.number(entry.get("breach_limit"), "watch.breach_limit", optional=True)
        assert target is not None
        for name, value in (
            ("target", target),
            ("warning_limit", warning),
            ("breach_limit", breach),
        ):
            if value is not None and not 0 <= value <= 100:
                raise self.fail(f"watch.{name}", "an index runs from 0 to 100")
        # An index is higher-is-better: limits lie below the target, the breach lowest.
        if warning is not None and not warning < target:
            raise self.fail("watch.warning_limit", "must be below the target")
        if breach is not None and not breach < (warning if warning is not None else target):
            raise self.fail("watch.breach_limit", "must be below the warning limit and the target")
        rules = entry.get("rules", ["limit_breach"])
        if not isinstance(rules, list) or not all(isinstance(r, str) for r in rules):
            raise self.fail("watch.rules", "must be a list of rule names")
        unknown = [r for r in rules if r not in POINT_RULES]
        if unknown:
            raise self.fail(
                "watch.rules", f"unknown {unknown[0]!r} (known: {', '.join(sorted(POINT_RULES))})"
            )
        in_a_row = entry.get("warnings_in_a_row", 3)
        if isinstance(in_a_row, bool) or not isinstance(in_a_row, int) or not 2 <= in_a_row <= 50:
            raise self.fail("watch.warnings_in_a_row", "a whole number from 2 to 50")
        return Watch(entry["period"], target, warning, breach, tuple(rules), in_a_row)


# --- scoring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiFacts:
    """What scoring needs of a member KPI."""

    direction: str  # higher | lower
    target: float
    warning_limit: float | None
    breach_limit: float | None


def clip(score: float) -> float:
    return max(0.0, min(100.0, score))


def linear(value: float, score_0: float, score_100: float) -> float:
    """0 at `score_0`, 100 at `score_100`, linear between, clipped to 0–100."""
    return clip(100.0 * (value - score_0) / (score_100 - score_0))


def score(scoring: Scoring, value: float, kpi: KpiFacts | None) -> float | None:
    """A member's score for one value, or None when its KPI gives nothing to score on."""
    if scoring.method == "linear":
        assert scoring.score_0 is not None and scoring.score_100 is not None
        return linear(value, scoring.score_0, scoring.score_100)
    if scoring.method == "pass_fail":
        if scoring.at_least is not None:
            return 100.0 if value >= scoring.at_least else 0.0
        if scoring.at_most is not None:
            return 100.0 if value <= scoring.at_most else 0.0
        if kpi is None:
            return None
        met = value >= kpi.target if kpi.direction == HIGHER else value <= kpi.target
        return 100.0 if met else 0.0
    if kpi is None:
        return None
    zero = kpi.breach_limit if kpi.breach_limit is not None else kpi.warning_limit
    if zero is None or zero == kpi.target:
        return None
    # Polarity is in the order: lower is better puts the breach limit above the target.
    assert kpi.direction in (HIGHER, LOWER)
    return linear(value, zero, kpi.target)


@dataclass(frozen=True)
class MemberScore:
    kpi: str
    weight: float  # as defined (a selector's: its group's whole weight)
    share: float  # normalised over the members with data (0 for a missing member)
    value: float | None  # the period's value (a percentage of the base for a ratio index)
    score: float | None
    contribution: float  # share × score: the points it adds to the index
    group: str | None = None  # the selector's tag that found this KPI

    @property
    def unit(self) -> str:
        """What counts as one member: the KPI, or its whole selector group."""
        return f"tag:{self.group}" if self.group else self.kpi


@dataclass(frozen=True)
class IndexScore:
    value: float | None  # None when no member had data
    members: tuple[MemberScore, ...]

    @property
    def used(self) -> int:
        return len({m.unit for m in self.members if m.score is not None})

    @property
    def total(self) -> int:
        return len({m.unit for m in self.members})

    @property
    def missing(self) -> list[str]:
        """The members without a score: KPI codes, or `tag:<tag>` for a group with none."""
        scored = {m.unit for m in self.members if m.score is not None}
        return list(dict.fromkeys(m.unit for m in self.members if m.unit not in scored))


def compose(
    definition: IndexDefinition,
    values: Mapping[str, float],
    kpis: Mapping[str, KpiFacts],
    base: float | None = None,
) -> IndexScore:
    """The weighted index of one period from the members' period values.

    `values` holds the members with data (by KPI code); `base` is the cost base's value
    for a ratio index. A member without value (or with nothing to score on) is missing:
    the weights of the others are normalised without it.
    """
    scored: list[tuple[Member, float | None, float | None]] = []
    for member in definition.members:
        value = values.get(member.kpi)
        if value is not None and definition.per_base is not None:
            value = 100.0 * value / base if base else None
        result = None if value is None else score(member.scoring, value, kpis.get(member.kpi))
        scored.append((member, value, result))
    # A group's weight is shared by its KPIs that have a score this period.
    in_group: dict[str, int] = {}
    for member, _, result in scored:
        if member.group and result is not None:
            in_group[member.group] = in_group.get(member.group, 0) + 1

    def weight(member: Member) -> float:
        return member.weight / in_group[member.group] if member.group else member.weight

    present = sum(weight(m) for m, _, s in scored if s is not None)
    members = []
    for member, value, result in scored:
        share = weight(member) / present if result is not None and present else 0.0
        members.append(
            MemberScore(
                member.kpi,
                member.weight,
                share,
                value,
                result,
                share * result if result is not None else 0.0,
                member.group,
            )
        )
    total = sum(m.contribution for m in members) if present else None
    return IndexScore(total, tuple(members))


def drop_by_member(
    now: Sequence[Mapping[str, Any]], before: Sequence[Mapping[str, Any]]
) -> list[tuple[str, float]]:
    """Each member's change of contribution from `before` to `now`, the largest drop first.

    Contributions are stored per value as {kpi, contribution, …}; a member missing on
    one side counts as contributing nothing there, since the others' shares took its place.
    """
    was = {m["kpi"]: float(m.get("contribution") or 0.0) for m in before}
    is_ = {m["kpi"]: float(m.get("contribution") or 0.0) for m in now}
    changes = [(kpi, is_.get(kpi, 0.0) - was.get(kpi, 0.0)) for kpi in dict.fromkeys([*is_, *was])]
    return sorted(changes, key=lambda kc: (kc[1], kc[0]))


def period_start(kind: str, day: date) -> date:
    """The first day of the day/week (Monday)/month that holds `day`."""
    if kind == "day":
        return day
    if kind == "week":
        return day - timedelta(days=day.weekday())
    if kind == "month":
        return day.replace(day=1)
    raise ValueError(f"period must be one of {PERIODS}, not {kind!r}")


def next_period(kind: str, start: date) -> date:
    """The first day of the period after the one starting at `start`."""
    if kind == "day":
        return start + timedelta(days=1)
    if kind == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
