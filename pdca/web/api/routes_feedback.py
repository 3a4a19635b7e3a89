"""The voice of the customer: the complaint taxonomy, complaint intake and progress."""

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Request, Response, UploadFile

from pdca.models import Complaint, ComplaintCategory, Survey
from pdca.services import complaint_analysis as analysis
from pdca.services import complaints, gap_analysis, surveys
from pdca.services.complaints import ComplaintFilter, ComplaintIn
from pdca.services.errors import Invalid
from pdca.web.api import schemas as s
from pdca.web.api import schemas_feedback as f
from pdca.web.api.http import created, etag, expected_version, preconditions
from pdca.web.api.idempotency import ApiRoute
from pdca.web.api.types import QueryBool, QueryDay, QueryId, QueryMoment
from pdca.web.deps import CtxDep
from pdca.web.uploads import read_limited

router = APIRouter(tags=["feedback"], route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


def category_out(category: ComplaintCategory, response: Response | None = None) -> f.CategoryOut:
    if response is not None:
        etag(response, category.version)
    return f.CategoryOut(**category.model_dump())


def complaint_out(
    complaint: Complaint,
    codes: dict[int, str],
    response: Response | None = None,
    raised: bool = False,
) -> f.ComplaintOut:
    if response is not None:
        etag(response, complaint.version)
    return f.ComplaintOut(
        **complaint.model_dump(),
        category=codes.get(complaint.category_id, ""),
        problem_raised=raised,
    )


def _codes(ctx: Any) -> dict[int, str]:
    return {c.id: c.code for c in complaints.categories(ctx)}  # type: ignore[misc]


@router.get(
    "/complaint-categories",
    response_model=list[f.CategoryOut],
    summary="The complaint taxonomy, with each category's intake rule",
)
def list_categories(ctx: CtxDep, active: QueryBool | None = None) -> list[f.CategoryOut]:
    return [
        category_out(c) for c in complaints.categories(ctx) if active is None or c.active == active
    ]


@router.post(
    "/complaint-categories",
    status_code=201,
    response_model=f.CategoryOut,
    summary="Add a category to the taxonomy (facilitators and administrators)",
)
def create_category(ctx: CtxDep, body: f.CategoryCreate, response: Response) -> f.CategoryOut:
    category = complaints.create_category(ctx, **body.model_dump())
    created(response, f"/complaint-categories/{category.id}")
    return category_out(category, response)


@router.patch(
    "/complaint-categories/{category_id}",
    response_model=f.CategoryOut,
    summary="Rename a category, change its rule, or retire it (`active: false`)",
)
def update_category(
    ctx: CtxDep, category_id: int, body: f.CategoryUpdate, request: Request, response: Response
) -> f.CategoryOut:
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    with preconditions(request):
        category = complaints.update_category(
            ctx,
            category_id,
            version=expected_version(request, body.version),
            changes=changes,
        )
    return category_out(category, response)


@router.post(
    "/complaints",
    status_code=201,
    response_model=f.ComplaintOut,
    summary="Receive a complaint (a service desk, call centre or CRM calls this); its "
    "category's rule may raise a problem or add it to the open one",
)
def receive_complaint(ctx: CtxDep, body: f.ComplaintCreate, response: Response) -> f.ComplaintOut:
    intake = complaints.receive(ctx, ComplaintIn(**body.model_dump()))
    complaint = intake.complaints[0]
    created(response, f"/complaints/{complaint.id}")
    return complaint_out(
        complaint,
        _codes(ctx),
        response,
        raised=complaint.problem_id is not None and complaint.problem_id in intake.problems_raised,
    )


@router.get(
    "/complaints",
    response_model=s.PageOut[f.ComplaintOut],
    summary="Complaints, newest first",
)
def list_complaints(
    ctx: CtxDep,
    category_id: QueryId | None = None,
    department_id: QueryId | None = None,
    problem_id: QueryId | None = None,
    customer_ref: Annotated[str | None, Query(max_length=100)] = None,
    since: QueryMoment | None = None,
    until: QueryMoment | None = None,
    unresolved: QueryBool = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> s.PageOut[f.ComplaintOut]:
    rows, total = complaints.find_complaints(
        ctx,
        ComplaintFilter(
            category_id=category_id,
            department_id=department_id,
            problem_id=problem_id,
            customer_ref=customer_ref,
            since=since,
            until=until,
            open_only=unresolved,
        ),
        limit=limit,
        offset=offset,
    )
    codes = _codes(ctx)
    return s.PageOut(
        items=[complaint_out(c, codes) for c in rows], total=total, limit=limit, offset=offset
    )


@router.get("/complaints/{complaint_id}", response_model=f.ComplaintOut)
def get_complaint(ctx: CtxDep, complaint_id: int, response: Response) -> f.ComplaintOut:
    return complaint_out(complaints.get_complaint(ctx, complaint_id), _codes(ctx), response)


@router.patch(
    "/complaints/{complaint_id}",
    response_model=f.ComplaintOut,
    summary="Record the first response to the customer and/or the resolution (each once)",
)
def record_progress(
    ctx: CtxDep,
    complaint_id: int,
    body: f.ComplaintProgress,
    request: Request,
    response: Response,
) -> f.ComplaintOut:
    with preconditions(request):
        complaint = complaints.record_progress(
            ctx,
            complaint_id,
            version=expected_version(request, body.version),
            first_response_at=body.first_response_at,
            resolved_at=body.resolved_at,
        )
    return complaint_out(complaint, _codes(ctx), response)


# --- surveys ----------------------------------------------------------------------------------


def survey_out(ctx: Any, survey: Survey, response: Response | None = None) -> f.SurveyOut:
    if response is not None:
        etag(response, survey.version)
    current = surveys.current_version(ctx, survey)
    return f.SurveyOut(
        **survey.model_dump(exclude={"open_token_hash"}),
        open_link=survey.open_token_hash is not None,
        version_number=current.number,
        questions=current.questions,
    )


def _questions(body: list[f.QuestionIn]) -> list[dict[str, Any]]:
    return [q.model_dump(exclude_none=True) for q in body]


@router.get("/quality-dimensions", response_model=list[f.DimensionOut])
def list_dimensions(ctx: CtxDep) -> list[f.DimensionOut]:
    return [f.DimensionOut(**d.model_dump()) for d in surveys.dimensions(ctx)]


@router.post(
    "/quality-dimensions",
    status_code=201,
    response_model=f.DimensionOut,
    summary="Add a quality dimension questions can be tagged with (staff)",
)
def create_dimension(ctx: CtxDep, body: f.DimensionCreate) -> f.DimensionOut:
    dimension = surveys.create_dimension(ctx, **body.model_dump())
    return f.DimensionOut(**dimension.model_dump())


@router.patch(
    "/quality-dimensions/{dimension_id}",
    response_model=f.DimensionOut,
    summary="Rename a quality dimension, or retire it (`active: false`): questions that "
    "have it keep it, new ones cannot choose it",
)
def update_dimension(
    ctx: CtxDep, dimension_id: int, body: f.DimensionUpdate, request: Request, response: Response
) -> f.DimensionOut:
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    with preconditions(request):
        dimension = surveys.update_dimension(
            ctx, dimension_id, version=expected_version(request, body.version), changes=changes
        )
    etag(response, dimension.version)
    return f.DimensionOut(**dimension.model_dump())


@router.get("/surveys", response_model=list[f.SurveyOut])
def list_surveys(ctx: CtxDep) -> list[f.SurveyOut]:
    return [survey_out(ctx, s_) for s_ in surveys.surveys(ctx)]


@router.post(
    "/surveys", status_code=201, response_model=f.SurveyOut, summary="Create a survey (staff)"
)
def create_survey(ctx: CtxDep, body: f.SurveyCreate, response: Response) -> f.SurveyOut:
    survey = surveys.create_survey(
        ctx,
        code=body.code,
        title=body.title,
        title_zh=body.title_zh,
        department_id=body.department_id,
        questions=_questions(body.questions),
    )
    created(response, f"/surveys/{survey.id}")
    return survey_out(ctx, survey, response)


@router.get("/surveys/{survey_id}", response_model=f.SurveyOut)
def get_survey(ctx: CtxDep, survey_id: int, response: Response) -> f.SurveyOut:
    return survey_out(ctx, surveys.get_survey(ctx, survey_id), response)


@router.put(
    "/surveys/{survey_id}/questions",
    response_model=f.SurveyOut,
    summary="Replace the questions; a survey with answers gets a new version",
)
def edit_questions(
    ctx: CtxDep, survey_id: int, body: f.QuestionsUpdate, request: Request, response: Response
) -> f.SurveyOut:
    with preconditions(request):
        surveys.edit_questions(
            ctx,
            survey_id,
            version=expected_version(request, body.version),
            questions=_questions(body.questions),
        )
    return survey_out(ctx, surveys.get_survey(ctx, survey_id), response)


@router.post(
    "/surveys/{survey_id}/invitations",
    status_code=201,
    response_model=f.InvitationOut,
    summary="A one-time link for a customer whose case closed (the token is shown once)",
)
def create_invitation(
    ctx: CtxDep, survey_id: int, body: f.InvitationCreate, request: Request
) -> f.InvitationOut:
    made = surveys.invite(ctx, survey_id, **body.model_dump())
    return invitation_out(made, request)


def invitation_out(made: surveys.NewInvitation, request: Request) -> f.InvitationOut:
    return f.InvitationOut(
        **made.invitation.model_dump(exclude={"token_hash"}),
        token=made.token,
        url=str(request.base_url).rstrip("/") + f"/s/{made.token}",
    )


CSV_LIMIT = 2 * 1024 * 1024


@router.post(
    "/surveys/{survey_id}/invitations/import",
    status_code=201,
    response_model=list[f.InvitationOut],
    summary="One-time links from a CSV file (columns case_ref, department, channel): all or "
    "nothing, every bad line named; the tokens are shown once",
)
def import_invitations(
    ctx: CtxDep,
    survey_id: int,
    request: Request,
    file: Annotated[UploadFile, File(description="A UTF-8 CSV file (multipart/form-data).")],
) -> list[f.InvitationOut]:
    data = read_limited(file, CSV_LIMIT)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("The file is not UTF-8 text.", ["file: not UTF-8 text."]) from None
    made = surveys.invite_many(ctx, survey_id, surveys.invitations_from_csv(text))
    return [invitation_out(m, request) for m in made]


@router.post(
    "/surveys/{survey_id}/open-link",
    response_model=f.OpenLinkOut,
    summary="A new anonymous link anyone may answer (rate-limited); the old one stops working",
)
def make_open_link(ctx: CtxDep, survey_id: int, request: Request) -> f.OpenLinkOut:
    token = surveys.open_link(ctx, survey_id)
    return f.OpenLinkOut(token=token, url=str(request.base_url).rstrip("/") + f"/s/{token}")


@router.delete(
    "/surveys/{survey_id}/open-link",
    status_code=204,
    summary="Turn the anonymous open link off (invitations keep working)",
)
def close_open_link(ctx: CtxDep, survey_id: int) -> Response:
    surveys.close_open_link(ctx, survey_id)
    return Response(status_code=204)


@router.get(
    "/complaint-analysis",
    response_model=f.AnalysisOut,
    summary="Pareto by category and root cause, weekly trend, response and resolution "
    "times by department, repeat customers: each beside the previous period and a year before",
)
def complaint_analysis(
    ctx: CtxDep,
    days: Annotated[int, Query(ge=7, le=366)] = 90,
    end: QueryDay | None = None,
) -> f.AnalysisOut:
    found = analysis.analyse(ctx, days=days, end=end)
    data = asdict(found)
    return f.AnalysisOut(
        **{k: v for k, v in data.items() if k not in ("root_causes", "weeks", "top_repeaters")},
        root_causes=[{"cause": cause, "counts": asdict(t)} for cause, t in found.root_causes],
        weeks=[
            {"week_start": w, "current": a, "previous": b, "year_ago": c}
            for w, a, b, c in found.weeks
        ],
        top_repeaters=[{"customer_ref": r, "complaints": n} for r, n in found.top_repeaters],
    )


def _cells(found: gap_analysis.GapAnalysis, cells: dict[str, gap_analysis.Cell]) -> list[Any]:
    return [
        f.GapCellOut(dimension=d.code, **_cell(cells.get(d.code, gap_analysis.EMPTY)))
        for d in found.dimensions
    ]


def _cell(cell: gap_analysis.Cell) -> dict[str, Any]:
    return {**asdict(cell), "gap": cell.gap}


@router.get(
    "/gap-analysis",
    response_model=f.GapAnalysisOut,
    summary="SERVQUAL gaps (perceived − expected) per quality dimension, over time and by "
    "department",
)
def gap_analysis_(
    ctx: CtxDep,
    days: Annotated[int, Query(ge=7, le=731)] = 365,
    by: Literal["week", "month"] = "month",
    survey_id: QueryId | None = None,
    department_id: QueryId | None = None,
    end: QueryDay | None = None,
) -> f.GapAnalysisOut:
    found = gap_analysis.analyse(
        ctx, days=days, by=by, survey_id=survey_id, department_id=department_id, end=end
    )
    return f.GapAnalysisOut(
        start=found.start,
        end=found.end,
        by=found.by,  # type: ignore[arg-type]
        survey_id=found.survey_id,
        department_id=found.department_id,
        dimensions=[
            f.GapDimensionOut(code=d.code, name=d.name, name_zh=d.name_zh) for d in found.dimensions
        ],
        overall=_cells(found, found.overall),
        periods=[f.GapPeriodOut(start=p.key, cells=_cells(found, p.cells)) for p in found.periods],
        departments=[
            f.GapDepartmentOut(department_id=d.key, code=d.label, cells=_cells(found, d.cells))
            for d in found.departments
        ],
    )
