"""Inspections: checklist templates (versioned), inspections, and the problems they find.

A template's body is written once per version: revising it adds a version, and an
inspection keeps the version it was created with, so a past inspection never changes
under its answers. The inspector saves answers as they go (planned → in progress),
submits (every item answered; the score computed from the weights), and the head of
the inspected department acknowledges.

Each failed item raises a problem (source "inspection") keyed by its department and
clause; the same clause failing again while that problem is open adds an occurrence
to it instead. A partial unique index (uq_problems_open_finding_key) keeps one open
problem per key whatever two submissions race: the loser re-reads and counts an
occurrence. Counting is an atomic `occurrences + 1` that leaves the version people
edit with alone. Problem rows are written before the trail (see kpi_findings).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from pdca.engine import checklist
from pdca.engine.facts import N_, because
from pdca.models import (
    ChecklistTemplate,
    ChecklistVersion,
    Cycle,
    CycleProblem,
    Department,
    Evidence,
    Inspection,
    InspectionFinding,
    InspectionReview,
    InspectionStatus,
    Problem,
    ProblemSource,
    ProblemStatus,
    Role,
    User,
)
from pdca.services import audit, inspection_kpis
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Conflict, Invalid
from pdca.services.keys import key
from pdca.services.policy import (
    can_acknowledge_inspection,
    can_fill_inspection,
    can_manage_checklists,
    can_skip_inspection,
    require,
)
from pdca.services.store import check_version, compare_and_set, get_or_404

OPEN_PROBLEM = (ProblemStatus.new, ProblemStatus.accepted)
UNFINISHED = (InspectionStatus.planned, InspectionStatus.in_progress)
CODE_MAX = 30
NOTE_MAX = 2000

Deferred = list[Callable[[], None]]


# --- checklist templates ---------------------------------------------------------------------


def _check_body(body: Any) -> None:
    problems = checklist.validate(body)
    if problems:
        raise Invalid(N_("The checklist cannot be saved."), problems)


def _check_titles(title: str, title_zh: str | None) -> list[str]:
    reasons = []
    if not title.strip():
        reasons.append(N_("Give the checklist a title."))
    if len(title) > 200 or len(title_zh or "") > 200:
        reasons.append(N_("A title has at most 200 characters."))
    return reasons


def create_template(
    ctx: Ctx, *, code: str, title: str, title_zh: str | None = None, body: dict[str, Any]
) -> ChecklistTemplate:
    require(can_manage_checklists(ctx.actor))
    code = code.strip().upper()
    reasons = _check_titles(title, title_zh)
    if not code or len(code) > CODE_MAX:
        reasons.append(N_("Give the checklist a code of at most 30 characters."))
    reasons += checklist.validate(body)
    if reasons:
        raise Invalid(N_("The checklist cannot be saved."), reasons)
    with unit_of_work(ctx):
        if ctx.session.exec(
            select(ChecklistTemplate.id).where(ChecklistTemplate.code == code)
        ).first():
            raise Conflict(
                because(
                    "duplicate_code", "A checklist with code %(checklist)s exists.", checklist=code
                )
            )
        template = ChecklistTemplate(
            code=code, title=title.strip(), title_zh=(title_zh or "").strip() or None
        )
        ctx.session.add(template)
        ctx.session.flush()
        assert template.id is not None
        ctx.session.add(
            ChecklistVersion(
                template_id=template.id, number=1, body=body, created_by_id=ctx.actor_id
            )
        )
        audit.record(
            ctx,
            "checklist",
            template.id,
            "created",
            new=1,
            data={"code": code, "title": template.title, "items": _item_count(body)},
        )
    return template


def _item_count(body: dict[str, Any]) -> int:
    return sum(len(s["items"]) for s in body["sections"])


def revise_template(
    ctx: Ctx,
    template_id: int,
    *,
    version: int | None,
    body: dict[str, Any] | None = None,
    title: str | None = None,
    title_zh: str | None = None,
    active: bool | None = None,
) -> ChecklistTemplate:
    """Change the titles, retire it, or revise its body: a new version, never an edit."""
    require(can_manage_checklists(ctx.actor))
    if body is not None:
        _check_body(body)
    with unit_of_work(ctx):
        template = get_or_404(ctx, ChecklistTemplate, template_id, "Checklist")
        check_version(template, version, "Checklist")
        reasons = _check_titles(
            template.title if title is None else title,
            template.title_zh if title_zh is None else title_zh,
        )
        if reasons:
            raise Invalid(N_("The checklist cannot be saved."), reasons)
        values: dict[str, Any] = {}
        if title is not None:
            values["title"] = title.strip()
        if title_zh is not None:
            values["title_zh"] = title_zh.strip() or None
        if active is not None:
            values["active"] = active
        if body is not None and body != current_body(ctx, template):
            values["current_version"] = template.current_version + 1
            ctx.session.add(
                ChecklistVersion(
                    template_id=template_id,
                    number=values["current_version"],
                    body=body,
                    created_by_id=ctx.actor_id,
                )
            )
        if not values:
            return template
        compare_and_set(ctx, template, "Checklist", values)
        ctx.session.flush()
        audit.record(
            ctx,
            "checklist",
            template_id,
            "revised" if "current_version" in values else "field_changed",
            old=template.current_version,
            new=values.get("current_version", template.current_version),
            data={k: v for k, v in values.items() if k != "current_version"},
        )
        ctx.session.refresh(template)
    return template


def list_templates(ctx: Ctx, *, active: bool | None = None) -> list[ChecklistTemplate]:
    query = select(ChecklistTemplate).order_by(col(ChecklistTemplate.code))
    if active is not None:
        query = query.where(ChecklistTemplate.active == active)
    return list(ctx.session.exec(query))


def get_template(ctx: Ctx, template_id: int) -> ChecklistTemplate:
    return get_or_404(ctx, ChecklistTemplate, template_id, "Checklist")


def get_version(ctx: Ctx, template_id: int, number: int) -> ChecklistVersion:
    found = ctx.session.exec(
        select(ChecklistVersion).where(
            ChecklistVersion.template_id == template_id, ChecklistVersion.number == number
        )
    ).first()
    if found is None:
        get_template(ctx, template_id)
        raise Invalid(
            because(
                "no_version",
                "Checklist %(checklist)s has no version %(number)s.",
                checklist=template_id,
                number=number,
            )
        )
    return found


def current_body(ctx: Ctx, template: ChecklistTemplate) -> dict[str, Any]:
    assert template.id is not None
    return get_version(ctx, template.id, template.current_version).body


# --- inspections ------------------------------------------------------------------------------


def create_inspection(
    ctx: Ctx, *, checklist_id: int, department_id: int, inspector_id: int, due_on: date
) -> Inspection:
    require(can_manage_checklists(ctx.actor))
    with unit_of_work(ctx):
        template = get_template(ctx, checklist_id)
        department = get_or_404(ctx, Department, department_id, "Department")
        inspector = get_or_404(ctx, User, inspector_id, "User")
        reasons = []
        if not template.active:
            reasons.append(N_("The checklist is retired."))
        if not inspector.active or inspector.role == Role.viewer:
            reasons.append(N_("The inspector must be an active user who may write."))
        if reasons:
            raise Invalid(N_("The inspection cannot be planned."), reasons)
        version = get_version(ctx, checklist_id, template.current_version)
        inspection = Inspection(
            checklist_version_id=version.id,  # type: ignore[arg-type]
            department_id=department_id,
            inspector_id=inspector_id,
            due_on=due_on,
            created_by_id=ctx.actor_id,
            created_at=ctx.now(),
        )
        ctx.session.add(inspection)
        ctx.session.flush()
        assert inspection.id is not None
        audit.record(
            ctx,
            "inspection",
            inspection.id,
            "planned",
            new=InspectionStatus.planned,
            data={
                "checklist": template.code,
                "checklist_version": version.number,
                "department": department.code,
                "inspector_id": inspector_id,
                "due_on": due_on.isoformat(),
            },
        )
    return inspection


@dataclass(frozen=True)
class Sheet:
    """An inspection with what its form needs: the template, its version and the items."""

    inspection: Inspection
    template: ChecklistTemplate
    checklist_version: ChecklistVersion
    items: list[checklist.Item]
    department: Department
    inspector: User

    @property
    def sections(self) -> list[tuple[dict[str, str], list[checklist.Item]]]:
        body = self.checklist_version.body
        return [
            (section["title"], [i for i in self.items if i.section == n])
            for n, section in enumerate(body["sections"])
        ]

    @property
    def judged(self) -> dict[str, checklist.Judged]:
        return {
            j.item.id: j for j in checklist.judge_all(self.items, self.inspection.answers or {})
        }


def get_inspection(ctx: Ctx, inspection_id: int) -> Inspection:
    return get_or_404(ctx, Inspection, inspection_id, "Inspection")


def sheet(ctx: Ctx, inspection_id: int) -> Sheet:
    inspection = get_inspection(ctx, inspection_id)
    version = ctx.session.get(ChecklistVersion, inspection.checklist_version_id)
    assert version is not None
    template = ctx.session.get(ChecklistTemplate, version.template_id)
    department = ctx.session.get(Department, inspection.department_id)
    inspector = ctx.session.get(User, inspection.inspector_id)
    assert template is not None and department is not None and inspector is not None
    return Sheet(
        inspection, template, version, checklist.items_of(version.body), department, inspector
    )


def is_overdue(inspection: Inspection, today: date) -> bool:
    return inspection.status in UNFINISHED and inspection.due_on < today


def _parsed_answers(
    items: list[checklist.Item],
    given: dict[str, dict[str, Any]],
    stored: dict[str, dict[str, Any]],
) -> tuple[dict[str, dict[str, Any]], list[Any]]:
    """The answers given, checked; a note or value left out keeps what was stored."""
    known = {i.id: i for i in items}
    answers: dict[str, dict[str, Any]] = {}
    reasons: list[Any] = []
    for item_id, answer in given.items():
        item = known.get(item_id)
        if item is None:
            reasons.append(
                because("unknown_item", "The checklist has no item %(item)s.", item=item_id)
            )
            continue
        before = stored.get(item_id, {})
        raw = answer["value"] if "value" in answer else before.get("value")
        value, wrong = checklist.parse_value(item, raw)
        note = str((answer["note"] if "note" in answer else before.get("note")) or "").strip()
        if wrong:
            reasons.append(
                because(
                    "invalid_answer",
                    "%(question)s: %(reason)s",
                    question=item.question,
                    reason=wrong,
                )
            )
        elif len(note) > NOTE_MAX:
            reasons.append(
                because(
                    "note_too_long",
                    "%(question)s: at most 2,000 characters.",
                    question=item.question,
                )
            )
        else:
            answers[item_id] = {"value": value, "note": note}
    return answers, reasons


def _not_a_review(inspection: Inspection) -> None:
    if inspection.kind != "checklist":
        raise Conflict(
            because("expert_review", "An expert review is scored by its reviewers, not answered.")
        )


def save_answers(
    ctx: Ctx, inspection_id: int, *, answers: dict[str, dict[str, Any]], version: int | None
) -> Inspection:
    """Store the answers given (others stay as they were); the first save starts it."""
    with unit_of_work(ctx):
        found = sheet(ctx, inspection_id)
        inspection = found.inspection
        require(can_fill_inspection(ctx.actor, inspection.inspector_id))
        check_version(inspection, version, "Inspection")
        _not_a_review(inspection)
        if inspection.status not in UNFINISHED:
            raise Conflict(
                because("submitted", "The inspection is submitted: its answers are final.")
            )
        parsed, reasons = _parsed_answers(found.items, answers, inspection.answers or {})
        if reasons:
            raise Invalid(N_("The answers cannot be saved."), reasons)
        merged = {**(inspection.answers or {}), **parsed}
        values: dict[str, Any] = {"answers": merged}
        if inspection.status == InspectionStatus.planned:
            values |= {"status": InspectionStatus.in_progress, "started_at": ctx.now()}
        changed = [k for k, v in parsed.items() if (inspection.answers or {}).get(k) != v]
        old_status = inspection.status
        compare_and_set(ctx, inspection, "Inspection", values)
        if changed or "status" in values:
            audit.record(
                ctx,
                "inspection",
                inspection_id,
                "answered",
                old=old_status,
                new=values.get("status", old_status),
                data={"items": changed},
            )
        ctx.session.refresh(inspection)
    return inspection


def submit(
    ctx: Ctx,
    inspection_id: int,
    *,
    version: int | None,
    answers: dict[str, dict[str, Any]] | None = None,
) -> Inspection:
    """Final answers: every item answered; the score computed; each failed item found."""
    with unit_of_work(ctx):
        found = sheet(ctx, inspection_id)
        inspection = found.inspection
        require(can_fill_inspection(ctx.actor, inspection.inspector_id))
        check_version(inspection, version, "Inspection")
        _not_a_review(inspection)
        if inspection.status not in UNFINISHED:
            raise Conflict(because("submitted", "The inspection is submitted already."))
        parsed, reasons = _parsed_answers(found.items, answers or {}, inspection.answers or {})
        merged = {**(inspection.answers or {}), **parsed}
        missing = checklist.unanswered(found.items, merged)
        if missing:
            reasons += [
                because("unanswered", "%(question)s: not answered yet.", question=i.question)
                for i in missing
            ]
        if reasons:
            raise Invalid(N_("The inspection cannot be submitted."), reasons)
        judged = checklist.judge_all(found.items, merged)
        score = checklist.score(judged)
        failed = [j for j in judged if j.failed]
        pass_score = float(found.checklist_version.body.get("pass_score", 80))
        old_status = inspection.status
        compare_and_set(
            ctx,
            inspection,
            "Inspection",
            {
                "answers": merged,
                "status": InspectionStatus.submitted,
                "started_at": inspection.started_at or ctx.now(),
                "submitted_at": ctx.now(),
                "score": score,
                "passed": (score is None or score >= pass_score) and not failed,
                "failed_items": len(failed),
            },
        )
        ctx.session.refresh(inspection)
        deferred: Deferred = []
        files = _files(ctx, inspection_id)
        for finding in failed:
            _find(ctx, found, finding, files, deferred)
        audit.record(
            ctx,
            "inspection",
            inspection_id,
            "submitted",
            old=old_status,
            new=InspectionStatus.submitted,
            data={"score": score, "failed": [j.item.id for j in failed]},
        )
        for write in deferred:
            write()
        inspection_kpis.feed(ctx, inspection, found.template, found.department, pass_score)
    return inspection


def acknowledge(
    ctx: Ctx, inspection_id: int, *, version: int | None, note: str | None = None
) -> Inspection:
    with unit_of_work(ctx):
        inspection = get_inspection(ctx, inspection_id)
        require(can_acknowledge_inspection(ctx.actor, inspection.department_id))
        check_version(inspection, version, "Inspection")
        if inspection.status != InspectionStatus.submitted:
            raise Conflict(
                because("not_submitted", "Only a submitted inspection can be acknowledged.")
            )
        if note is not None and len(note) > NOTE_MAX:
            raise Invalid(N_("A note has at most 2,000 characters."))
        compare_and_set(
            ctx,
            inspection,
            "Inspection",
            {
                "status": InspectionStatus.acknowledged,
                "acknowledged_by_id": ctx.actor_id,
                "acknowledged_at": ctx.now(),
                "acknowledgement_note": (note or "").strip() or None,
            },
        )
        audit.record(
            ctx,
            "inspection",
            inspection_id,
            "acknowledged",
            old=InspectionStatus.submitted,
            new=InspectionStatus.acknowledged,
            note=(note or "").strip() or None,
        )
        ctx.session.refresh(inspection)
    return inspection


def skip(ctx: Ctx, inspection_id: int, *, reason: str, version: int | None) -> Inspection:
    """A due inspection not done on purpose: who, when and why are kept, and the
    programme shows it as skipped rather than overdue. Only one not yet submitted."""
    with unit_of_work(ctx):
        inspection = get_inspection(ctx, inspection_id)
        require(can_skip_inspection(ctx.actor, inspection.department_id))
        check_version(inspection, version, "Inspection")
        if inspection.status not in UNFINISHED:
            raise Conflict(
                because("not_due", "Only an inspection not yet submitted can be skipped.")
            )
        reason = (reason or "").strip()
        if not reason:
            raise Invalid(N_("Say why the inspection is skipped."))
        if len(reason) > NOTE_MAX:
            raise Invalid(N_("A reason has at most 2,000 characters."))
        old_status = inspection.status
        compare_and_set(
            ctx,
            inspection,
            "Inspection",
            {
                "status": InspectionStatus.skipped,
                "skip_reason": reason,
                "skipped_by_id": ctx.actor_id,
                "skipped_at": ctx.now(),
            },
        )
        audit.record(
            ctx,
            "inspection",
            inspection_id,
            "skipped",
            old=old_status,
            new=InspectionStatus.skipped,
            note=reason,
        )
        ctx.session.refresh(inspection)
    return inspection


@dataclass(frozen=True)
class InspectionFilter:
    department_id: int | None = None
    inspector_id: int | None = None
    status: str | None = None


def list_inspections(
    ctx: Ctx, found: InspectionFilter = InspectionFilter(), limit: int = 200, offset: int = 0
) -> tuple[list[Inspection], int]:
    query = select(Inspection)
    if found.department_id is not None:
        query = query.where(Inspection.department_id == found.department_id)
    if found.inspector_id is not None:
        query = query.where(Inspection.inspector_id == found.inspector_id)
    if found.status is not None:
        query = query.where(Inspection.status == found.status)
    rows = list(ctx.session.exec(query.order_by(col(Inspection.due_on).desc(), col(Inspection.id))))
    return rows[offset : offset + limit], len(rows)


def findings_of(ctx: Ctx, inspection_id: int) -> list[InspectionFinding]:
    return list(
        ctx.session.exec(
            select(InspectionFinding)
            .where(InspectionFinding.inspection_id == inspection_id)
            .order_by(col(InspectionFinding.id))
        )
    )


# --- My work: due inspections and those to acknowledge ----------------------------------------


@dataclass(frozen=True)
class InspectionLine:
    inspection: Inspection
    template: ChecklistTemplate
    department_code: str


def _lines(ctx: Ctx, condition: Any, limit: int = 200) -> list[InspectionLine]:
    rows = ctx.session.exec(
        select(Inspection, ChecklistTemplate, Department.code)
        .join(ChecklistVersion, col(ChecklistVersion.id) == Inspection.checklist_version_id)
        .join(ChecklistTemplate, col(ChecklistTemplate.id) == ChecklistVersion.template_id)
        .join(Department, col(Department.id) == Inspection.department_id)
        .where(condition)
        .order_by(col(Inspection.due_on), col(Inspection.id))
        .limit(limit)
    )
    return [InspectionLine(*row) for row in rows]


def due_for(ctx: Ctx, user: User) -> list[InspectionLine]:
    """Inspections the user is to fill in, or expert reviews waiting for their score,
    the earliest due first."""
    to_score = select(InspectionReview.inspection_id).where(
        InspectionReview.reviewer_id == user.id, col(InspectionReview.score).is_(None)
    )
    return _lines(
        ctx,
        col(Inspection.status).in_(UNFINISHED)
        & (
            ((Inspection.inspector_id == user.id) & (Inspection.kind == "checklist"))
            | col(Inspection.id).in_(to_score)
        ),
    )


def to_acknowledge(ctx: Ctx, user: User) -> list[InspectionLine]:
    if user.role != Role.head or user.department_id is None or not user.active:
        return []
    return _lines(
        ctx,
        (Inspection.department_id == user.department_id)
        & (Inspection.status == InspectionStatus.submitted),
    )


# --- findings: a failed item raises a problem or recurs in the open one ------------------------


def finding_key(department_id: int, clause: str) -> str:
    return f"inspection:{department_id}:{clause}"[:140]


def _files(ctx: Ctx, inspection_id: int) -> list[dict[str, Any]]:
    return [
        {"evidence_id": i, "filename": n}
        for i, n in ctx.session.exec(
            select(Evidence.id, Evidence.filename)
            .where(Evidence.entity_type == "inspection", Evidence.entity_id == inspection_id)
            .order_by(col(Evidence.id))
        )
    ]


def _open_problem(ctx: Ctx, finding: str) -> Problem | None:
    return ctx.session.exec(
        select(Problem)
        .where(Problem.finding_key == finding, col(Problem.status).in_(OPEN_PROBLEM))
        .execution_options(populate_existing=True)
    ).first()


def _answer_text(judged: checklist.Judged) -> Any:
    if judged.item.kind == "score":
        return f"{judged.value}/{judged.item.max_score}"
    if judged.item.kind == "number":
        return f"{judged.value:g}"
    return {"yes": {"en": "yes", "zh_CN": "是"}, "no": {"en": "no", "zh_CN": "否"}}.get(
        judged.value, judged.value
    )


def _find(
    ctx: Ctx,
    found: Sheet,
    judged: checklist.Judged,
    files: list[dict[str, Any]],
    deferred: Deferred,
) -> None:
    inspection, item = found.inspection, judged.item
    assert inspection.id is not None
    finding = finding_key(inspection.department_id, item.clause)
    evidence = {
        "inspection": key("inspection", inspection.id),
        "inspection_id": inspection.id,
        "item": item.id,
        "clause": item.clause,
        "answer": _answer_text(judged),
        "note": judged.note,
        "files": files,
    }
    problem = _open_problem(ctx, finding)
    if problem is None:
        new = _new_problem(ctx, found, judged, finding, evidence)
        try:
            with ctx.session.begin_nested():
                ctx.session.add(new)
                ctx.session.flush()
        except IntegrityError:
            # Another submission raised it between our look and our insert: ours recurs.
            if new in ctx.session:  # the savepoint's rollback may have expunged it already
                ctx.session.expunge(new)
            problem = _open_problem(ctx, finding)
            if problem is None:
                raise
        else:
            assert new.id is not None
            _record_finding(ctx, found, item, new.id, raised=True)
            deferred.append(lambda: _reported(ctx, new, evidence))
            return
    assert problem.id is not None
    problem_id = problem.id
    # Atomic: concurrent submissions each add one; the version people edit with stays.
    ctx.session.execute(
        update(Problem)
        .where(col(Problem.id) == problem_id)
        .values(occurrences=Problem.occurrences + 1, last_occurrence_at=ctx.now())
        .execution_options(synchronize_session=False)
    )
    _record_finding(ctx, found, item, problem_id, raised=False)
    count = int(
        ctx.session.exec(select(Problem.occurrences).where(col(Problem.id) == problem_id)).one()
    )
    deferred.append(
        lambda: audit.record(
            ctx,
            "problem",
            problem_id,
            "occurred",
            field="occurrences",
            old=count - 1,
            new=count,
            data=evidence,
        )
    )


def _record_finding(
    ctx: Ctx, found: Sheet, item: checklist.Item, problem_id: int, *, raised: bool
) -> None:
    ctx.session.add(
        InspectionFinding(
            inspection_id=found.inspection.id,  # type: ignore[arg-type]
            item_id=item.id,
            clause=item.clause,
            severity=item.severity,
            department_id=found.inspection.department_id,
            problem_id=problem_id,
            raised=raised,
            at=ctx.now(),
        )
    )
    ctx.session.flush()


def _earlier_effective_cycle(ctx: Ctx, finding: str) -> Cycle | None:
    """A cycle closed as effective on a problem of the same clause: this is a recurrence."""
    return ctx.session.exec(
        select(Cycle)
        .join(CycleProblem, col(CycleProblem.cycle_id) == Cycle.id)
        .join(Problem, col(Problem.id) == CycleProblem.problem_id)
        .where(
            Problem.finding_key == finding,
            Cycle.state == "closed",
            Cycle.effectiveness == "effective",
        )
        .order_by(col(Cycle.closed_at).desc())
        .limit(1)
    ).first()


def _new_problem(
    ctx: Ctx,
    found: Sheet,
    judged: checklist.Judged,
    finding: str,
    evidence: dict[str, Any],
) -> Problem:
    item, template = judged.item, found.template
    earlier = _earlier_effective_cycle(ctx, finding)
    generated = {
        "kind": "inspection",
        "clause": item.clause,
        "question": item.question,
        "checklist": {"en": template.title, "zh_CN": template.title_zh or template.title},
        "department": found.department.code,
        **{k: evidence[k] for k in ("inspection", "answer", "note", "files")},
        "recurrence": (
            {"cycle": key("cycle", earlier.id), "title": earlier.title}
            if earlier is not None
            else None
        ),
    }
    english = problem_english(generated)
    return Problem(
        title=english[0][:300],
        description=english[1],
        evidence=english[2],
        generated=generated,
        source=ProblemSource.inspection,
        severity=item.severity,
        department_id=found.inspection.department_id,
        reported_by_id=ctx.actor_id,
        reported_at=ctx.now(),
        last_occurrence_at=ctx.now(),
        finding_key=finding,
        recurrence_of_cycle_id=earlier.id if earlier is not None else None,
    )


# The texts of a problem an inspection raised: templates here, rendered per reader (texts.py).
TITLE = N_("%(clause)s failed: %(question)s")
DESCRIPTION = N_(
    "Inspection %(inspection)s of %(department)s with the checklist “%(checklist)s” found "
    "this item failed (answer: %(answer)s)."
)
RECURRENCE = N_(
    "This clause was improved by %(cycle)s (%(title)s), closed as effective: its "
    "standardisation did not hold."
)
NOTE = N_("Inspector's note: %(note)s")
FILES = N_("Evidence on the inspection: %(files)s")


def _en(value: Any) -> Any:
    return value.get("en") if isinstance(value, dict) and "en" in value else value


def problem_english(written: dict[str, Any]) -> tuple[str, str, str]:
    params = {k: _en(v) for k, v in written.items()}
    title = TITLE % params
    description = DESCRIPTION % params
    if written.get("recurrence"):
        description += "\n" + RECURRENCE % written["recurrence"]
    lines = []
    if written.get("note"):
        lines.append(NOTE % params)
    if written.get("files"):
        lines.append(FILES % {"files": ", ".join(f["filename"] for f in written["files"])})
    return title, description, "\n".join(lines)


def _reported(ctx: Ctx, problem: Problem, evidence: dict[str, Any]) -> None:
    assert problem.id is not None
    audit.record(
        ctx,
        "problem",
        problem.id,
        "reported",
        new=ProblemStatus.new,
        data={
            "title": problem.title,
            "source": "inspection",
            "severity": problem.severity,
            **evidence,
            "recurrence_of_cycle_id": problem.recurrence_of_cycle_id,
        },
    )
