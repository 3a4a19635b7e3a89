"""Expert reviews: an inspection whose named reviewers each score and comment.

Quality staff name the reviewers (colleagues, or experts from outside the organisation
given a read-only viewer account: being named on a review is what lets them write that
one review and nothing else). Each reviewer scores 0–100 once and comments; when the
last has scored, the review is submitted with the mean of their scores, passes if the
mean reaches the checklist's pass score, and the mean becomes a point of the
checklist's score KPI like any inspection's score.
"""

from dataclasses import dataclass
from datetime import date
from statistics import fmean

from sqlmodel import col, select

from pdca.engine.facts import N_, because
from pdca.models import (
    Department,
    Inspection,
    InspectionReview,
    InspectionStatus,
    User,
)
from pdca.services import audit, inspection_kpis, inspections
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Conflict, Forbidden, Invalid
from pdca.services.policy import can_manage_checklists, require
from pdca.services.store import check_version, compare_and_set, get_or_404

KIND = "expert_review"
COMMENT_MAX = 2000
MAX_REVIEWERS = 12


def create_review(
    ctx: Ctx, *, checklist_id: int, department_id: int, due_on: date, reviewer_ids: list[int]
) -> Inspection:
    """An expert review of a department against a checklist, by the reviewers named."""
    require(can_manage_checklists(ctx.actor))
    with unit_of_work(ctx):
        template = inspections.get_template(ctx, checklist_id)
        department = get_or_404(ctx, Department, department_id, "Department")
        reasons = []
        if not template.active:
            reasons.append(N_("The checklist is retired."))
        if not reviewer_ids:
            reasons.append(N_("Name at least one reviewer."))
        if len(set(reviewer_ids)) != len(reviewer_ids):
            reasons.append(N_("A reviewer is named twice."))
        if len(reviewer_ids) > MAX_REVIEWERS:
            reasons.append(N_("At most 12 reviewers."))
        reviewers = [get_or_404(ctx, User, r, "User") for r in reviewer_ids]
        if any(not r.active for r in reviewers):
            reasons.append(N_("Every reviewer must be an active user."))
        if reasons:
            raise Invalid(N_("The expert review cannot be planned."), reasons)
        version = inspections.get_version(ctx, checklist_id, template.current_version)
        inspection = Inspection(
            checklist_version_id=version.id,  # type: ignore[arg-type]
            department_id=department_id,
            # The organiser stands as the inspector: the reviewers write the scores.
            inspector_id=ctx.actor_id,  # type: ignore[arg-type]
            due_on=due_on,
            kind=KIND,
            created_by_id=ctx.actor_id,
            created_at=ctx.now(),
        )
        ctx.session.add(inspection)
        ctx.session.flush()
        assert inspection.id is not None
        for reviewer_id in reviewer_ids:
            ctx.session.add(InspectionReview(inspection_id=inspection.id, reviewer_id=reviewer_id))
        audit.record(
            ctx,
            "inspection",
            inspection.id,
            "planned",
            new=InspectionStatus.planned,
            data={
                "kind": KIND,
                "checklist": template.code,
                "department": department.code,
                "reviewer_ids": reviewer_ids,
                "due_on": due_on.isoformat(),
            },
        )
    return inspection


@dataclass(frozen=True)
class Reviews:
    inspection: Inspection
    reviews: list[tuple[InspectionReview, User]]

    @property
    def scores(self) -> list[float]:
        return [r.score for r, _ in self.reviews if r.score is not None]

    @property
    def mean(self) -> float | None:
        return round(fmean(self.scores), 1) if self.scores else None

    @property
    def waiting(self) -> int:
        return sum(1 for r, _ in self.reviews if r.score is None)

    def of(self, user: User | None) -> InspectionReview | None:
        return next((r for r, u in self.reviews if user is not None and u.id == user.id), None)


def reviews_of(ctx: Ctx, inspection_id: int) -> Reviews:
    inspection = inspections.get_inspection(ctx, inspection_id)
    rows = ctx.session.exec(
        select(InspectionReview, User)
        .join(User, col(User.id) == InspectionReview.reviewer_id)
        .where(InspectionReview.inspection_id == inspection_id)
        .order_by(col(InspectionReview.id))
    )
    return Reviews(inspection, [(r, u) for r, u in rows])


def score(
    ctx: Ctx, inspection_id: int, *, value: float, comment: str | None, version: int | None
) -> Reviews:
    """A named reviewer's score (0–100) and comment, given once; the last one submits."""
    with unit_of_work(ctx):
        found = reviews_of(ctx, inspection_id)
        inspection = found.inspection
        if inspection.kind != KIND:
            raise Conflict(because("not_review", "This inspection is not an expert review."))
        mine = found.of(ctx.actor)
        if mine is None or ctx.actor is None or not ctx.actor.active:
            raise Forbidden(N_("Only the reviewers named on this review score it."))
        check_version(mine, version, "Review")
        if mine.score is not None or inspection.status not in inspections.UNFINISHED:
            raise Conflict(because("reviewed", "Your score is given: it is final."))
        if not 0 <= value <= 100:
            raise Invalid(N_("A score is from 0 to 100."))
        comment = (comment or "").strip()
        if len(comment) > COMMENT_MAX:
            raise Invalid(N_("A comment has at most 2,000 characters."))
        compare_and_set(
            ctx,
            mine,
            "Review",
            {"score": float(value), "comment": comment or None, "submitted_at": ctx.now()},
        )
        audit.record(
            ctx,
            "inspection",
            inspection_id,
            "reviewed",
            data={"reviewer_id": ctx.actor_id, "score": float(value)},
            note=comment or None,
        )
        found = reviews_of(ctx, inspection_id)
        if found.waiting == 0:
            _submit(ctx, found)
        else:
            ctx.session.refresh(inspection)
    return reviews_of(ctx, inspection_id)


def _submit(ctx: Ctx, found: Reviews) -> None:
    """Every reviewer has scored: the review is submitted with the mean."""
    sheet = inspections.sheet(ctx, found.inspection.id)  # type: ignore[arg-type]
    inspection = sheet.inspection
    mean = found.mean
    pass_score = float(sheet.checklist_version.body.get("pass_score", 80))
    old_status = inspection.status
    compare_and_set(
        ctx,
        inspection,
        "Inspection",
        {
            "status": InspectionStatus.submitted,
            "started_at": inspection.started_at or ctx.now(),
            "submitted_at": ctx.now(),
            "score": mean,
            "passed": mean is not None and mean >= pass_score,
        },
    )
    ctx.session.refresh(inspection)
    audit.record(
        ctx,
        "inspection",
        inspection.id,  # type: ignore[arg-type]
        "submitted",
        old=old_status,
        new=InspectionStatus.submitted,
        data={"score": mean, "scores": found.scores},
    )
    inspection_kpis.feed(ctx, inspection, sheet.template, sheet.department, pass_score)
