"""Checklist templates (versioned) and inspections: plan, answer, submit, acknowledge."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from pdca.models import ChecklistTemplate
from pdca.services import inspection_reviews, inspections
from pdca.services.context import Ctx
from pdca.web.api import schemas as s
from pdca.web.api import schemas_inspections as si
from pdca.web.api.http import created, etag, expected_version, preconditions
from pdca.web.api.idempotency import ApiRoute
from pdca.web.api.types import QueryBool, QueryId
from pdca.web.deps import CtxDep

router = APIRouter(tags=["inspections"], route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


def checklist_out(
    ctx: Ctx, template: ChecklistTemplate, response: Response | None = None
) -> si.ChecklistOut:
    if response is not None:
        etag(response, template.version)
    return si.ChecklistOut(
        **template.model_dump(exclude={"created_at"}), body=inspections.current_body(ctx, template)
    )


@router.get("/checklists", response_model=list[si.ChecklistOut], summary="Checklist templates")
def list_checklists(ctx: CtxDep, active: QueryBool | None = None) -> list[si.ChecklistOut]:
    return [checklist_out(ctx, t) for t in inspections.list_templates(ctx, active=active)]


@router.post("/checklists", status_code=201, response_model=si.ChecklistOut)
def create_checklist(ctx: CtxDep, body: si.ChecklistCreate, response: Response) -> si.ChecklistOut:
    template = inspections.create_template(
        ctx, code=body.code, title=body.title, title_zh=body.title_zh, body=body.body.stored()
    )
    created(response, f"/checklists/{template.id}")
    return checklist_out(ctx, template, response)


@router.get("/checklists/{checklist_id}", response_model=si.ChecklistOut)
def get_checklist(ctx: CtxDep, checklist_id: int, response: Response) -> si.ChecklistOut:
    return checklist_out(ctx, inspections.get_template(ctx, checklist_id), response)


@router.patch(
    "/checklists/{checklist_id}",
    response_model=si.ChecklistOut,
    summary="Change titles or retire it; a new body is a new version (past inspections keep theirs)",
)
def update_checklist(
    ctx: CtxDep, checklist_id: int, body: si.ChecklistUpdate, request: Request, response: Response
) -> si.ChecklistOut:
    with preconditions(request):
        template = inspections.revise_template(
            ctx,
            checklist_id,
            version=expected_version(request, body.version),
            body=body.body.stored() if body.body is not None else None,
            title=body.title,
            title_zh=body.title_zh,
            active=body.active,
        )
    return checklist_out(ctx, template, response)


@router.get("/checklists/{checklist_id}/versions/{number}", response_model=si.ChecklistVersionOut)
def get_checklist_version(ctx: CtxDep, checklist_id: int, number: int) -> si.ChecklistVersionOut:
    found = inspections.get_version(ctx, checklist_id, number)
    return si.ChecklistVersionOut(
        **found.model_dump(include={"template_id", "number", "body", "created_at"})
    )


def inspection_out(
    ctx: Ctx, inspection_id: int, response: Response | None = None
) -> si.InspectionOut:
    sheet = inspections.sheet(ctx, inspection_id)
    found = sheet.inspection
    if response is not None:
        etag(response, found.version)
    return si.InspectionOut(
        **found.model_dump(exclude={"checklist_version_id", "created_at", "created_by_id"}),
        checklist_id=sheet.template.id,  # type: ignore[arg-type]
        checklist_version=sheet.checklist_version.number,
        overdue=inspections.is_overdue(found, ctx.today()),
        findings=[
            si.InspectionFindingOut(
                **f.model_dump(include=set(si.InspectionFindingOut.model_fields))
            )
            for f in inspections.findings_of(ctx, inspection_id)
        ],
    )


@router.get("/inspections", response_model=s.PageOut[si.InspectionOut])
def list_inspections(
    ctx: CtxDep,
    department_id: QueryId | None = None,
    inspector_id: QueryId | None = None,
    status: si.InspectionStatusT | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Any:
    rows, total = inspections.list_inspections(
        ctx,
        inspections.InspectionFilter(department_id, inspector_id, status),
        limit=limit,
        offset=offset,
    )
    return s.PageOut(
        items=[inspection_out(ctx, r.id) for r in rows],  # type: ignore[arg-type]
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post("/inspections", status_code=201, response_model=si.InspectionOut)
def create_inspection(
    ctx: CtxDep, body: si.InspectionCreate, response: Response
) -> si.InspectionOut:
    found = inspections.create_inspection(ctx, **body.model_dump())
    created(response, f"/inspections/{found.id}")
    return inspection_out(ctx, found.id, response)  # type: ignore[arg-type]


@router.get("/inspections/{inspection_id}", response_model=si.InspectionOut)
def get_inspection(ctx: CtxDep, inspection_id: int, response: Response) -> si.InspectionOut:
    return inspection_out(ctx, inspection_id, response)


def _answers(given: dict[str, si.AnswerIn]) -> dict[str, dict[str, Any]]:
    return {k: v.model_dump(exclude_unset=True) for k, v in given.items()}


@router.put(
    "/inspections/{inspection_id}/answers",
    response_model=si.InspectionOut,
    summary="Save answers as you go (the ones sent; others stay); the first save starts it",
)
def save_answers(
    ctx: CtxDep, inspection_id: int, body: si.AnswersIn, request: Request, response: Response
) -> si.InspectionOut:
    with preconditions(request):
        inspections.save_answers(
            ctx,
            inspection_id,
            answers=_answers(body.answers),
            version=expected_version(request, body.version),
        )
    return inspection_out(ctx, inspection_id, response)


@router.post(
    "/inspections/{inspection_id}/submit",
    response_model=si.InspectionOut,
    summary="Submit: every item answered; scores it; each failed clause raises or recurs a problem",
)
def submit(
    ctx: CtxDep, inspection_id: int, body: si.SubmitIn, request: Request, response: Response
) -> si.InspectionOut:
    with preconditions(request):
        inspections.submit(
            ctx,
            inspection_id,
            answers=_answers(body.answers),
            version=expected_version(request, body.version),
        )
    return inspection_out(ctx, inspection_id, response)


@router.post(
    "/inspections/{inspection_id}/acknowledge",
    response_model=si.InspectionOut,
    summary="The head of the inspected department acknowledges the result",
)
def acknowledge(
    ctx: CtxDep, inspection_id: int, body: si.AcknowledgeIn, request: Request, response: Response
) -> si.InspectionOut:
    with preconditions(request):
        inspections.acknowledge(
            ctx, inspection_id, note=body.note, version=expected_version(request, body.version)
        )
    return inspection_out(ctx, inspection_id, response)


@router.post(
    "/inspections/{inspection_id}/skip",
    response_model=si.InspectionOut,
    summary="Skip a due inspection with a reason (quality staff or the department's head)",
)
def skip(
    ctx: CtxDep, inspection_id: int, body: si.SkipIn, request: Request, response: Response
) -> si.InspectionOut:
    with preconditions(request):
        inspections.skip(
            ctx, inspection_id, reason=body.reason, version=expected_version(request, body.version)
        )
    return inspection_out(ctx, inspection_id, response)


# --- expert reviews ---------------------------------------------------------------------------


def reviews_out(found: inspection_reviews.Reviews) -> si.ReviewsOut:
    return si.ReviewsOut(
        inspection_id=found.inspection.id,  # type: ignore[arg-type]
        status=found.inspection.status,  # type: ignore[arg-type]
        mean=found.mean,
        waiting=found.waiting,
        reviews=[
            si.ReviewOut(
                reviewer_id=u.id,  # type: ignore[arg-type]
                reviewer=u.name,
                score=r.score,
                comment=r.comment,
                submitted_at=r.submitted_at,
                version=r.version,
            )
            for r, u in found.reviews
        ],
    )


@router.post(
    "/expert-reviews",
    status_code=201,
    response_model=si.InspectionOut,
    summary="Plan an expert review: named reviewers each score and comment",
)
def create_expert_review(
    ctx: CtxDep, body: si.ExpertReviewCreate, response: Response
) -> si.InspectionOut:
    found = inspection_reviews.create_review(ctx, **body.model_dump())
    created(response, f"/inspections/{found.id}")
    return inspection_out(ctx, found.id, response)  # type: ignore[arg-type]


@router.get(
    "/inspections/{inspection_id}/reviews",
    response_model=si.ReviewsOut,
    summary="An expert review's scores, each reviewer's and their mean",
)
def get_reviews(ctx: CtxDep, inspection_id: int) -> si.ReviewsOut:
    return reviews_out(inspection_reviews.reviews_of(ctx, inspection_id))


@router.put(
    "/inspections/{inspection_id}/reviews/mine",
    response_model=si.ReviewsOut,
    summary="A named reviewer gives their score and comment (once)",
)
def score_review(ctx: CtxDep, inspection_id: int, body: si.ReviewScoreIn) -> si.ReviewsOut:
    return reviews_out(
        inspection_reviews.score(
            ctx, inspection_id, value=body.score, comment=body.comment, version=body.version
        )
    )
