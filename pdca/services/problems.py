"""Problems: report and triage."""

from typing import Any

from sqlmodel import select

from pdca.models import Department, Problem, ProblemCategory, ProblemSource, ProblemStatus, Severity
from pdca.services import audit
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Conflict, Invalid
from pdca.services.keys import key
from pdca.services.policy import can_report_problem, can_triage_problem, require
from pdca.services.store import check_version, compare_and_set, get_or_404

TRIAGE_DECISIONS = ("accept", "reject", "duplicate")


def report_problem(
    ctx: Ctx,
    *,
    title: str,
    source: str,
    severity: str = Severity.medium,
    department_id: int | None = None,
    description: str | None = None,
    evidence: str | None = None,
    category: str | None = None,
) -> Problem:
    require(can_report_problem(ctx.actor))
    reasons = []
    if not title.strip():
        reasons.append("Give the problem a title.")
    if len(title) > 300:
        reasons.append("A title has at most 300 characters.")
    if source not in ProblemSource.__members__:
        reasons.append(
            f"Unknown source {source!r}; one of: {', '.join(ProblemSource.__members__)}."
        )
    if severity not in Severity.__members__:
        reasons.append(f"Unknown severity {severity!r}; one of: {', '.join(Severity.__members__)}.")
    if category is not None and category not in ProblemCategory.__members__:
        reasons.append(_unknown_category(category))
    if reasons:
        raise Invalid("The problem cannot be reported.", reasons)
    with unit_of_work(ctx):
        if department_id is not None:
            get_or_404(ctx, Department, department_id, "Department")
        problem = Problem(
            title=title.strip(),
            source=source,
            severity=severity,
            category=category,
            department_id=department_id,
            description=description,
            evidence=evidence,
            reported_by_id=ctx.actor_id,
            reported_at=ctx.now(),
        )
        ctx.session.add(problem)
        ctx.session.flush()
        assert problem.id is not None
        audit.record(
            ctx,
            "problem",
            problem.id,
            "reported",
            new=ProblemStatus.new,
            data={
                "title": problem.title,
                "source": source,
                "severity": severity,
                **({"category": category} if category else {}),
            },
        )
    return problem


def _unknown_category(category: object) -> str:
    return f"Unknown category {category!r}; one of: {', '.join(ProblemCategory.__members__)}."


def triage_problem(
    ctx: Ctx,
    problem_id: int,
    *,
    decision: str,
    reason: str | None = None,
    duplicate_of: int | None = None,
    version: int | None = None,
) -> Problem:
    if decision not in TRIAGE_DECISIONS:
        raise Invalid(f"The decision is one of: {', '.join(TRIAGE_DECISIONS)}.")
    with unit_of_work(ctx):
        problem = get_or_404(ctx, Problem, problem_id, "Problem")
        require(can_triage_problem(ctx.actor, problem))
        check_version(problem, version, key("problem", problem_id))
        if problem.status != ProblemStatus.new:
            raise Conflict(f"{key('problem', problem_id)} was already triaged ({problem.status}).")
        values: dict = {"triaged_by_id": ctx.actor_id, "triaged_at": ctx.now()}
        if decision == "accept":
            values["status"] = ProblemStatus.accepted
        elif decision == "reject":
            if not (reason or "").strip():
                raise Invalid("Say why the problem is rejected.", ["A reason is required."])
            values |= {"status": ProblemStatus.rejected, "rejection_reason": reason}
        else:
            if duplicate_of is None:
                raise Invalid("Say which problem this one duplicates.")
            if duplicate_of == problem_id:
                raise Invalid("A problem cannot duplicate itself.")
            original = get_or_404(ctx, Problem, duplicate_of, "Problem")
            if original.status == ProblemStatus.duplicate:
                raise Invalid(
                    f"{key('problem', duplicate_of)} is itself a duplicate; point at "
                    f"{key('problem', original.duplicate_of_id)} instead."
                )
            if original.status == ProblemStatus.rejected:
                # A rejected problem is no problem: nothing would ever carry this one on.
                raise Invalid(
                    f"{key('problem', duplicate_of)} was rejected; a problem cannot "
                    "duplicate a rejected one. Reject this one too, or accept it."
                )
            values |= {"status": ProblemStatus.duplicate, "duplicate_of_id": duplicate_of}
        old_status = problem.status
        compare_and_set(ctx, problem, key("problem", problem_id), values)
        audit.record(
            ctx,
            "problem",
            problem_id,
            "triaged",
            field="status",
            old=old_status,
            new=values["status"],
            note=reason,
            data={"decision": decision, "duplicate_of": duplicate_of},
        )
    return problem


def get_problem(ctx: Ctx, problem_id: int) -> Problem:
    return get_or_404(ctx, Problem, problem_id, "Problem")


def problems_of_status(ctx: Ctx, *statuses: str) -> list[Problem]:
    query = select(Problem).where(Problem.status.in_(statuses)).order_by(Problem.id)  # type: ignore[attr-defined]
    return list(ctx.session.exec(query))


PROBLEM_CHANGES = ("title", "severity", "category", "department_id", "description", "evidence")


def update_problem(
    ctx: Ctx,
    problem_id: int,
    *,
    version: int | None,
    changes: dict[str, Any],
    note: str | None = None,
) -> Problem:
    """Correct a problem's title, severity, department, description or evidence.

    Those who triage it may (staff, the head of its department); moving it to another
    department needs the right to triage it there too.
    """
    unknown = sorted(set(changes) - set(PROBLEM_CHANGES))
    if unknown:
        raise Invalid(f"These fields cannot be changed here: {', '.join(unknown)}.")
    reasons = []
    if "title" in changes:
        changes = {**changes, "title": str(changes["title"] or "").strip()}
        if not changes["title"]:
            reasons.append("Give the problem a title.")
        elif len(changes["title"]) > 300:
            reasons.append("A title has at most 300 characters.")
    if "severity" in changes and changes["severity"] not in Severity.__members__:
        reasons.append(f"Unknown severity; one of: {', '.join(Severity.__members__)}.")
    category = changes.get("category")
    if category is not None and category not in ProblemCategory.__members__:
        reasons.append(_unknown_category(category))
    if reasons:
        raise Invalid("The problem cannot be changed.", reasons)
    with unit_of_work(ctx):
        problem = get_or_404(ctx, Problem, problem_id, "Problem")
        require(can_triage_problem(ctx.actor, problem))
        label = key("problem", problem_id)
        check_version(problem, version, label)
        moved_to = changes.get("department_id", problem.department_id)
        if moved_to != problem.department_id:
            if moved_to is not None:
                get_or_404(ctx, Department, moved_to, "Department")
            require(can_triage_problem(ctx.actor, Problem(department_id=moved_to)))  # type: ignore[call-arg]
        before = {k: getattr(problem, k) for k in changes}
        changed = {k: v for k, v in changes.items() if before[k] != v}
        if changed:
            written = {}
            if problem.generated and changed.keys() & {"title", "description", "evidence"}:
                # A person rewrote what a rule wrote: from now on the words are theirs.
                written = {"generated": None}
            compare_and_set(ctx, problem, label, {**changed, **written})
            audit.record_changes(ctx, "problem", problem_id, before, changed, note=note)
    return problem
