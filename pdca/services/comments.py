"""Comments on problems, cycles and actions."""

from sqlmodel import col, func, select

from pdca.engine.facts import N_
from pdca.models import Action, Comment, Cycle, Problem
from pdca.services import audit
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Invalid
from pdca.services.policy import can_comment, require
from pdca.services.store import get_or_404

COMMENTABLE = {"problem": Problem, "cycle": Cycle, "action": Action}


def add_comment(ctx: Ctx, entity_type: str, entity_id: int, body: str) -> Comment:
    require(can_comment(ctx.actor))
    if entity_type not in COMMENTABLE:
        raise Invalid(f"Comments go on a problem, a cycle or an action, not {entity_type!r}.")
    if not body.strip():
        raise Invalid(N_("A comment cannot be empty."))
    if len(body) > 10_000:
        raise Invalid(N_("A comment has at most 10,000 characters."))
    if ctx.actor is None:
        raise Invalid("Comments need an author.")
    with unit_of_work(ctx):
        get_or_404(ctx, COMMENTABLE[entity_type], entity_id, entity_type.capitalize())
        comment = Comment(
            entity_type=entity_type,
            entity_id=entity_id,
            author_id=ctx.actor_id,  # type: ignore[arg-type]
            body=body.strip(),
            created_at=ctx.now(),
        )
        ctx.session.add(comment)
        ctx.session.flush()
        audit.record(ctx, entity_type, entity_id, "commented", data={"comment_id": comment.id})
    return comment


def comments_on(
    ctx: Ctx, entity_type: str, entity_id: int, *, limit: int | None = None, offset: int = 0
) -> list[Comment]:
    """The comments on a problem, cycle or action, oldest first; NotFound for a missing
    one, as when commenting on it (an empty list would say it exists)."""
    if entity_type not in COMMENTABLE:
        raise Invalid(f"Comments go on a problem, a cycle or an action, not {entity_type!r}.")
    get_or_404(ctx, COMMENTABLE[entity_type], entity_id, entity_type.capitalize())
    query = (
        select(Comment)
        .where(Comment.entity_type == entity_type, Comment.entity_id == entity_id)
        .order_by(col(Comment.created_at), col(Comment.id))
        .offset(offset)
        .limit(limit)
    )
    return list(ctx.session.exec(query))


def count_comments(ctx: Ctx, entity_type: str, entity_id: int) -> int:
    query = select(func.count()).where(
        Comment.entity_type == entity_type, Comment.entity_id == entity_id
    )
    return int(ctx.session.exec(query).one())
