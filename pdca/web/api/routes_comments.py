"""Comments on problems, cycles and actions."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from pdca.services import comments
from pdca.web.api import schemas as s
from pdca.web.api.idempotency import ApiRoute
from pdca.web.api.types import QueryId
from pdca.web.deps import CtxDep

router = APIRouter(tags=["comments"], route_class=ApiRoute)
Entity = Literal["problem", "cycle", "action"]


@router.get("/comments", response_model=s.CommentPageOut)
def list_comments(
    ctx: CtxDep,
    entity_type: Entity,
    entity_id: QueryId,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> s.CommentPageOut:
    """The comments on one problem, cycle or action, oldest first (404 if it does not exist)."""
    found = comments.comments_on(ctx, entity_type, entity_id, limit=limit, offset=offset)
    return s.CommentPageOut(
        items=[s.CommentOut(**c.model_dump()) for c in found],
        total=comments.count_comments(ctx, entity_type, entity_id),
        limit=limit,
        offset=offset,
    )


@router.post(
    "/comments",
    status_code=201,
    response_model=s.CommentOut,
    summary="Comment on a problem, a cycle or an action",
)
def add_comment(ctx: CtxDep, body: s.CommentIn) -> s.CommentOut:
    comment = comments.add_comment(ctx, body.entity_type, body.entity_id, body.body)
    return s.CommentOut(**comment.model_dump())
