"""Composite quality indexes (QSI, QCI, PCI): computed per period and scope, watched like KPIs.

The definitions are YAML files (indexes/, shipped as pdca.indexes; the scoring is pure,
in pdca.engine.indexes). Values are derived data: a day, a week (Monday first) and a
month for each index, for the whole organisation (scope 0) and for each department that
owns a member KPI (its value stands on that department's members only).

- **Versions.** Each value keeps the definition version that computed it. When a late
  measurement changes a period that already has a value, the value is recomputed with
  *its own* version; only periods without a value take the current definition. So
  changing weights never rewrites history.
- **Missing members.** A member without data in a period is left out and the weights of
  the others are normalised without it; the value says on how many members it stood.
- **Watching.** The definition's `watch` period of the organisation's value is judged by
  the KPI detection rules (pdca.engine.detection) with the index's target and limits,
  higher being better, when it stood on at least half of its members; a department's
  value shows its status but raises nothing (it
  often stands on one of the department's KPIs, which raise their own). A finding raises
  a problem (or one more occurrence of the open one for that index, scope
  and rule), its texts stored as keys and parameters, naming the member that pulled
  the index down most since its last value on target.

Recomputing runs inside the ingest's transaction (pdca.services.kpis.ingest), so points
and the index values and problems they cause land together.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from pdca import resources
from pdca.engine import detection
from pdca.engine import indexes as engine
from pdca.engine.detection import Finding, Point
from pdca.engine.facts import N_
from pdca.engine.indexes import IndexDefinition, KpiFacts
from pdca.models import (
    Department,
    IndexValue,
    IndexVersion,
    Kpi,
    Measurement,
    Problem,
    ProblemSource,
    ProblemStatus,
    Severity,
)
from pdca.services import audit
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Invalid, NotFound

OPEN_PROBLEM = (ProblemStatus.new, ProblemStatus.accepted)
ALL = 0  # the scope of the whole organisation
LOOKBACK = 60  # earlier watched values the rules look back on


# --- definitions -----------------------------------------------------------------------


@cache
def builtin_definitions() -> dict[str, IndexDefinition]:
    """The shipped definitions, loaded once per process (they are files in the package)."""
    return engine.load_directory(resources.indexes_dir())


def definition_of(
    code: str, definitions: Mapping[str, IndexDefinition] | None = None
) -> IndexDefinition:
    found = (definitions or builtin_definitions()).get(code.strip().upper())
    if found is None:
        raise NotFound(f"There is no index with the code {code.strip().upper()}.")
    return found


def version_of(ctx: Ctx, definition: IndexDefinition) -> IndexVersion:
    """The stored snapshot of this definition; a new number when its content changed."""
    stored = ctx.session.exec(
        select(IndexVersion).where(IndexVersion.digest == definition.digest)
    ).first()
    if stored is not None:
        return stored
    last = ctx.session.exec(
        select(func.max(IndexVersion.number)).where(IndexVersion.code == definition.code)
    ).one()
    version = IndexVersion(
        code=definition.code,
        number=(last or 0) + 1,
        digest=definition.digest,
        definition=dict(definition.raw),
        created_at=ctx.now(),
    )
    ctx.session.add(version)
    ctx.session.flush()
    return version


def _stored_definition(
    ctx: Ctx, version_id: int, cache_: dict[int, IndexDefinition], tags: Mapping[str, list[str]]
) -> IndexDefinition:
    if version_id not in cache_:
        version = ctx.session.get(IndexVersion, version_id)
        assert version is not None
        stored = engine.from_dict(version.definition, f"index version {version_id}")
        cache_[version_id] = engine.resolve(stored, tags)
    return cache_[version_id]


def kpi_tags(ctx: Ctx) -> dict[str, list[str]]:
    """The tags of every tagged KPI (code → tags): what the definitions' selectors find."""
    return {
        code: list(tags)
        for code, tags in ctx.session.exec(select(Kpi.code, Kpi.tags).where(Kpi.active == True))  # noqa: E712
        if tags
    }


def resolved(
    ctx: Ctx, definition: IndexDefinition, tags: Mapping[str, list[str]] | None = None
) -> IndexDefinition:
    """The definition with its selectors replaced by the KPIs they find today."""
    if not definition.selectors:
        return definition
    return engine.resolve(definition, kpi_tags(ctx) if tags is None else tags)


# --- computing ---------------------------------------------------------------------------


def _day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _facts(kpi: Kpi) -> KpiFacts:
    return KpiFacts(kpi.direction, kpi.target, kpi.warning_limit, kpi.breach_limit)


def _spec(definition: IndexDefinition) -> detection.KpiSpec:
    watch = definition.watch
    return detection.KpiSpec(
        direction=detection.HIGHER,
        target=watch.target,
        warning_limit=watch.warning_limit,
        breach_limit=watch.breach_limit,
        interval=timedelta(days=1),
        rules=frozenset(watch.rules),
        warnings_in_a_row=watch.warnings_in_a_row,
    )


def status_of(definition: IndexDefinition, value: float) -> str:
    return detection.status(_spec(definition), value)


def _restricted(definition: IndexDefinition, codes: set[str]) -> IndexDefinition:
    """The definition over the members in `codes` (a department's share of the index)."""
    return replace(definition, members=tuple(m for m in definition.members if m.kpi in codes))


@dataclass
class Recomputed:
    values: int = 0
    problems_raised: list[int] | None = None
    occurrences_added: int = 0


def recompute(
    ctx: Ctx,
    since: Mapping[str, datetime],
    definitions: Mapping[str, IndexDefinition] | None = None,
) -> Recomputed:
    """Recompute every index that stands on a KPI in `since` (code → earliest new point),
    from the period holding that point on, then judge the watched values again.

    Runs in the caller's transaction (the ingest's) or in one of its own.
    """
    result = Recomputed(problems_raised=[])
    with unit_of_work(ctx):
        defs = (definitions or builtin_definitions()).values()
        tags = kpi_tags(ctx) if any(d.selectors for d in defs) else {}
        for definition in defs:
            codes = {m.kpi for m in engine.resolve(definition, tags).members} | (
                {definition.per_base} if definition.per_base else set()
            )
            touched = [at for code, at in since.items() if code in codes]
            if not touched:
                continue
            earliest = _day(min(touched))
            for period in engine.PERIODS:
                result.values += _compute(ctx, definition, period, earliest, tags)
            _watch(ctx, definition, earliest, result)
    return result


def recompute_all(ctx: Ctx, definitions: Mapping[str, IndexDefinition] | None = None) -> Recomputed:
    """Every index from its members' first point on (after a definition was added)."""
    defs = definitions or builtin_definitions()
    tags = kpi_tags(ctx)
    codes = {m.kpi for d in defs.values() for m in engine.resolve(d, tags).members} | {
        d.per_base for d in defs.values() if d.per_base
    }
    first = dict(
        ctx.session.exec(
            select(Kpi.code, func.min(Measurement.at))
            .join(Measurement, col(Measurement.kpi_id) == Kpi.id)
            .where(col(Kpi.code).in_(codes))
            .group_by(col(Kpi.code))
        ).all()
    )
    return recompute(ctx, {c: at for c, at in first.items() if at is not None}, defs)


def _compute(
    ctx: Ctx,
    current: IndexDefinition,
    period: str,
    earliest: date,
    tags: Mapping[str, list[str]],
) -> int:
    """Values of one index and period kind from the period holding `earliest` on."""
    start = engine.period_start(period, earliest)
    current = engine.resolve(current, tags)
    codes = {m.kpi for m in current.members}
    # A stored value keeps its version, whose members may differ from today's: read them all.
    stored = {
        (v.scope, v.start): v
        for v in ctx.session.exec(
            select(IndexValue).where(
                IndexValue.code == current.code,
                IndexValue.period == period,
                col(IndexValue.start) >= start,
            )
        )
    }
    cache_: dict[int, IndexDefinition] = {}
    for v in stored.values():
        old = _stored_definition(ctx, v.version_id, cache_, tags)
        codes |= {m.kpi for m in old.members}
    base_code = current.per_base
    kpis = {
        k.code: k
        for k in ctx.session.exec(
            select(Kpi).where(col(Kpi.code).in_(codes | ({base_code} if base_code else set())))
        )
    }
    by_id = {k.id: k.code for k in kpis.values()}
    sums: dict[tuple[str, date], list[float]] = defaultdict(lambda: [0.0, 0])  # type: ignore[arg-type, return-value]
    if by_id:
        for kpi_id, at, value in ctx.session.exec(
            select(Measurement.kpi_id, Measurement.at, Measurement.value).where(
                col(Measurement.kpi_id).in_(list(by_id)),
                col(Measurement.at) >= _midnight(start),
            )
        ):
            cell = sums[(by_id[kpi_id], engine.period_start(period, _day(at)))]
            cell[0] += value
            cell[1] += 1
    means = {key: total / n for key, (total, n) in sums.items() if n}
    starts = sorted({s for _, s in means})
    facts = {code: _facts(k) for code, k in kpis.items()}
    current_version: IndexVersion | None = None
    written = 0
    for period_start in starts:
        for scope in _scopes(kpis, codes):
            existing = stored.get((scope, period_start))
            if existing is not None:
                definition = _stored_definition(ctx, existing.version_id, cache_, tags)
                version_id = existing.version_id
            else:
                definition = current
                if current_version is None:
                    current_version = version_of(ctx, current)
                version_id = current_version.id  # type: ignore[assignment]
            if scope != ALL:
                own = {c for c, k in kpis.items() if k.department_id == scope}
                definition = _restricted(definition, own)
                if not definition.members:
                    continue
            values = {
                m.kpi: means[(m.kpi, period_start)]
                for m in definition.members
                if (m.kpi, period_start) in means
            }
            if not values:
                continue
            base = means.get((definition.per_base, period_start)) if definition.per_base else None
            scored = engine.compose(definition, values, facts, base)
            if scored.value is None:
                continue
            members = [
                {
                    "kpi": m.kpi,
                    "weight": m.weight,
                    "share": round(m.share, 6),
                    "value": None if m.value is None else round(m.value, 6),
                    "score": None if m.score is None else round(m.score, 4),
                    "contribution": round(m.contribution, 4),
                    **({"group": m.group} if m.group else {}),
                }
                for m in scored.members
            ]
            fields = {
                "version_id": version_id,
                "value": round(scored.value, 4),
                "members_used": scored.used,
                "members_total": scored.total,
                "members": members,
                "status": status_of(definition, scored.value),
            }
            if existing is None:
                ctx.session.add(
                    IndexValue(
                        code=current.code,
                        scope=scope,
                        period=period,
                        start=period_start,
                        computed_at=ctx.now(),
                        **fields,
                    )
                )
                written += 1
            elif any(getattr(existing, k) != v for k, v in fields.items()):
                for k, v in fields.items():
                    setattr(existing, k, v)
                existing.computed_at = ctx.now()
                ctx.session.add(existing)
                written += 1
    ctx.session.flush()
    return written


def _scopes(kpis: Mapping[str, Kpi], codes: Iterable[str]) -> list[int]:
    departments = sorted({kpis[c].department_id for c in codes if c in kpis})
    return [ALL, *departments]


# --- watching ------------------------------------------------------------------------------


def scope_key(code: str, scope: int) -> str:
    return f"{code}:{scope}"


def _watch(ctx: Ctx, definition: IndexDefinition, earliest: date, result: Recomputed) -> None:
    period = definition.watch.period
    start = engine.period_start(period, earliest)
    spec = _spec(definition)
    # Only the organisation's index raises problems: a department's value often stands on
    # one or two of its own KPIs, whose own rules already raise theirs.
    for scope in (ALL,):
        earlier = list(
            ctx.session.exec(
                select(IndexValue)
                .where(
                    IndexValue.code == definition.code,
                    IndexValue.period == period,
                    IndexValue.scope == scope,
                    col(IndexValue.start) < start,
                )
                .order_by(col(IndexValue.start).desc())
                .limit(LOOKBACK)
            )
        )[::-1]
        rest = list(
            ctx.session.exec(
                select(IndexValue)
                .where(
                    IndexValue.code == definition.code,
                    IndexValue.period == period,
                    IndexValue.scope == scope,
                    col(IndexValue.start) >= start,
                )
                .order_by(col(IndexValue.start))
            )
        )
        # A value on fewer than half of its members is shown but not judged: it says too
        # little of the whole to raise a problem about the whole.
        earlier = [r for r in earlier if judged(r)]
        rest = [r for r in rest if judged(r)]
        rows = [*earlier, *rest]
        series = [Point(_midnight(v.start), v.value) for v in rows]
        findings = detection.evaluate(spec, series, len(earlier), None)
        by_day: dict[date, list[Finding]] = defaultdict(list)
        for finding in findings:
            by_day[_day(finding.at)].append(finding)
        for i, row in enumerate(rest, start=len(earlier)):
            wanted = [f for f in by_day.get(row.start, []) if f.rule in definition.watch.rules]
            said = set(row.signals)
            new = [f for f in wanted if f.rule not in said]
            if {f.rule for f in wanted} != said:
                # A late point changed this value: what it no longer completes is dropped
                # from its record (the problem it raised stays, for people to close).
                row.signals = sorted({f.rule for f in wanted})
                ctx.session.add(row)
            for finding in new:
                problem_id, raised = _raise_or_recur(ctx, definition, scope, row, rows[:i], finding)
                if raised:
                    result.problems_raised.append(problem_id)  # type: ignore[union-attr]
                else:
                    result.occurrences_added += 1
    ctx.session.flush()


def judged(value: IndexValue) -> bool:
    """Whether the watch rules judge this value: it stood on at least half its members."""
    return value.members_used * 2 >= value.members_total


def _reference(rows: list[IndexValue]) -> IndexValue | None:
    """The value the drop is measured from: the latest earlier one on target, else the
    latest earlier one within limits, else the one just before."""
    for wanted in (("on_target",), ("on_target", "off_target")):
        found = next((r for r in reversed(rows) if r.status in wanted), None)
        if found is not None:
            return found
    return rows[-1] if rows else None


def pulled_down(
    now: IndexValue, earlier: list[IndexValue]
) -> tuple[IndexValue | None, list[tuple[str, float]]]:
    """The reference value and each member's change of contribution since, largest drop first."""
    reference = _reference(earlier)
    if reference is None:
        # No earlier value: what each member falls short of 100 is its part of the gap.
        return None, sorted(
            (
                (m["kpi"], -(m["share"] * (100.0 - (m["score"] or 0.0))))
                for m in now.members
                if m["score"] is not None
            ),
            key=lambda kc: (kc[1], kc[0]),
        )
    return reference, engine.drop_by_member(now.members, reference.members)


def _open_problem(ctx: Ctx, key: str, rule: str) -> Problem | None:
    return ctx.session.exec(
        select(Problem)
        .where(
            Problem.index_scope == key,
            Problem.detection_rule == rule,
            col(Problem.status).in_(OPEN_PROBLEM),
        )
        .execution_options(populate_existing=True)
    ).first()


def _raise_or_recur(
    ctx: Ctx,
    definition: IndexDefinition,
    scope: int,
    row: IndexValue,
    earlier: list[IndexValue],
    finding: Finding,
) -> tuple[int, bool]:
    key = scope_key(definition.code, scope)
    written = _written(ctx, definition, scope, row, earlier, finding)
    problem = _open_problem(ctx, key, finding.rule)
    if problem is None:
        candidate = Problem(
            title=_english_title(written)[:300],
            generated=written,
            description=_english_description(written),
            source=ProblemSource.kpi,
            severity=Severity.high if finding.rule == detection.LIMIT_BREACH else Severity.medium,
            department_id=scope or None,
            reported_by_id=ctx.actor_id,
            reported_at=ctx.now(),
            evidence=f"Rule: {finding.rule}\n"
            + "\n".join(f"{p.at.date().isoformat()}  {p.value:g}" for p in finding.points),
            index_scope=key,
            detection_rule=finding.rule,
            last_occurrence_at=finding.at,
        )
        try:
            with ctx.session.begin_nested():
                ctx.session.add(candidate)
                ctx.session.flush()
        except IntegrityError:
            # Another feed raised it meanwhile (uq_problems_open_index_rule): recur on it.
            ctx.session.expunge(candidate)
            problem = _open_problem(ctx, key, finding.rule)
            if problem is None:
                raise
        else:
            assert candidate.id is not None
            audit.record(
                ctx,
                "problem",
                candidate.id,
                "reported",
                new=ProblemStatus.new,
                data={
                    "title": candidate.title,
                    "source": "index",
                    "index": key,
                    **_evidence(written),
                },
            )
            return candidate.id, True
    assert problem.id is not None
    ctx.session.execute(
        update(Problem)
        .where(col(Problem.id) == problem.id)
        .values(occurrences=Problem.occurrences + 1, last_occurrence_at=finding.at)
        .execution_options(synchronize_session=False)
    )
    count = int(
        ctx.session.exec(select(Problem.occurrences).where(col(Problem.id) == problem.id)).one()
    )
    audit.record(
        ctx,
        "problem",
        problem.id,
        "occurred",
        field="occurrences",
        old=count - 1,
        new=count,
        data=_evidence(written),
    )
    return problem.id, False


def _evidence(written: dict[str, Any]) -> dict[str, Any]:
    return {
        "rule": written["rule"],
        "reason_i18n": written["reason"],
        "points": [{"at": at, "value": v} for at, v in written["points"]],
        "pulled_down": written["pulled_down"],
    }


def _written(
    ctx: Ctx,
    definition: IndexDefinition,
    scope: int,
    row: IndexValue,
    earlier: list[IndexValue],
    finding: Finding,
) -> dict[str, Any]:
    """The problem's texts as templates and parameters (rendered in each reader's language)."""
    reference, changes = pulled_down(row, earlier)
    names = {
        k.code: {"en": k.name, "zh_CN": k.name_zh or k.name}
        for k in ctx.session.exec(select(Kpi).where(col(Kpi.code).in_([c for c, _ in changes])))
    }
    department = ctx.session.get(Department, scope) if scope else None
    reason = finding.reason
    return {
        "kind": "index",
        "index": {"code": definition.code, "name": dict(definition.titles)},
        "department": department.code if department else None,
        "period": row.period,
        "start": row.start.isoformat(),
        "value": row.value,
        "members_used": row.members_used,
        "members_total": row.members_total,
        "rule": finding.rule,
        "reason": {
            "template": reason.template or reason.message,
            "plural": reason.plural,
            "params": dict(reason.params),
        },
        "since": reference.start.isoformat() if reference else None,
        "since_value": reference.value if reference else None,
        "pulled_down": [
            {"kpi": code, "name": names.get(code, {"en": code}), "points": round(change, 2)}
            for code, change in changes
            if change < 0
        ][:3],
        "points": [[p.at.isoformat(), p.value] for p in finding.points],
    }


# Templates of the texts an index problem shows (rendered by pdca.web.texts).
TOP_MEMBER = N_("Pulled down most by %(kpi)s %(name)s: %(points)s points since %(since)s.")
TOP_MEMBER_NO_REFERENCE = N_(
    "Pulled down most by %(kpi)s %(name)s: %(points)s points below full marks."
)
STOOD_ON = N_("The value stood on %(used)s of %(total)s members.")


def _english_title(written: dict[str, Any]) -> str:
    reason = written["reason"]
    count = reason["params"].get("count", 1)
    template = reason["plural"] if reason.get("plural") and count != 1 else reason["template"]
    because = template % {
        k: v.get("en") if isinstance(v, dict) else v for k, v in reason["params"].items()
    }
    where = f" ({written['department']})" if written["department"] else ""
    return f"{written['index']['code']}{where} {written['index']['name']['en']}: {because}"


def _english_description(written: dict[str, Any]) -> str:
    lines = []
    top = written["pulled_down"][:1]
    for member in top:
        params = {
            "kpi": member["kpi"],
            "name": member["name"]["en"],
            "points": f"{member['points']:g}",
            "since": written["since"],
        }
        lines.append((TOP_MEMBER if written["since"] else TOP_MEMBER_NO_REFERENCE) % params)
    lines.append(STOOD_ON % {"used": written["members_used"], "total": written["members_total"]})
    return "\n".join(lines)


# --- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class IndexLine:
    """One index on the scorecard: its latest watched value and recent trend for a scope."""

    definition: IndexDefinition
    scope: int
    latest: IndexValue | None
    status: str  # as a KPI's: on_target … breach, or no_data
    trend: list[float]
    open_problems: int


def lines(
    ctx: Ctx,
    department_id: int | None = None,
    definitions: Mapping[str, IndexDefinition] | None = None,
    trend_points: int = 30,
) -> list[IndexLine]:
    """One line per index for the scope (a department, or all of them), in code order."""
    scope = department_id or ALL
    found = []
    defs = definitions or builtin_definitions()
    open_counts = dict(
        ctx.session.exec(
            select(Problem.index_scope, func.count())
            .where(
                col(Problem.index_scope).in_([scope_key(c, scope) for c in defs]),
                col(Problem.status).in_(OPEN_PROBLEM),
            )
            .group_by(col(Problem.index_scope))
        ).all()
    )
    for code in sorted(defs):
        definition = defs[code]
        recent = list(
            ctx.session.exec(
                select(IndexValue)
                .where(
                    IndexValue.code == code,
                    IndexValue.scope == scope,
                    IndexValue.period == definition.watch.period,
                )
                .order_by(col(IndexValue.start).desc())
                .limit(trend_points)
            )
        )[::-1]
        if department_id is not None and not recent:
            continue  # the department owns none of its members
        latest = recent[-1] if recent else None
        found.append(
            IndexLine(
                definition,
                scope,
                latest,
                latest.status if latest else "no_data",
                [v.value for v in recent],
                open_counts.get(scope_key(code, scope), 0),
            )
        )
    return found


def values(
    ctx: Ctx,
    code: str,
    *,
    period: str | None = None,
    department_id: int | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int = 1000,
    definitions: Mapping[str, IndexDefinition] | None = None,
) -> list[IndexValue]:
    """An index's values for one period kind and scope, oldest first (`end` excluded)."""
    definition = definition_of(code, definitions)
    period = period or definition.watch.period
    if period not in engine.PERIODS:
        raise Invalid(f"period: one of {', '.join(engine.PERIODS)}.")
    if start is not None and end is not None and start >= end:
        raise Invalid("start must be before end.")
    query = select(IndexValue).where(
        IndexValue.code == definition.code,
        IndexValue.period == period,
        IndexValue.scope == (department_id or ALL),
    )
    if start is not None:
        query = query.where(col(IndexValue.start) >= start)
    if end is not None:
        query = query.where(col(IndexValue.start) < end)
    rows = list(ctx.session.exec(query.order_by(col(IndexValue.start).desc()).limit(limit)))
    return rows[::-1]


def value_at(ctx: Ctx, code: str, period: str, scope: int, start: date) -> IndexValue | None:
    return ctx.session.exec(
        select(IndexValue).where(
            IndexValue.code == code,
            IndexValue.period == period,
            IndexValue.scope == scope,
            IndexValue.start == start,
        )
    ).first()


def version_number(ctx: Ctx, version_id: int) -> int:
    version = ctx.session.get(IndexVersion, version_id)
    return version.number if version else 0


def year_before(period: str, start: date) -> date:
    """The start of the same period a year before (the week of the same ISO week number)."""
    if period == "week":
        return start - timedelta(weeks=52)
    if period == "month":
        return start.replace(year=start.year - 1)
    try:
        return start.replace(year=start.year - 1)
    except ValueError:  # 29 February
        return start - timedelta(days=365)


def previous(period: str, start: date) -> date:
    if period == "day":
        return start - timedelta(days=1)
    if period == "week":
        return start - timedelta(days=7)
    return (start - timedelta(days=1)).replace(day=1)
