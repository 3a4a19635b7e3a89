"""Board settings: WIP limits (soft or hard) and each user's saved views."""

from dataclasses import dataclass

from sqlmodel import col, func, select

from pdca.engine.facts import N_, because
from pdca.models import Action, ActionStatus, Department, SavedView, WipLimit
from pdca.services import audit
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Forbidden, Invalid, NotFound, Refused
from pdca.services.policy import can_triage, require

BOARD_STATUSES = (
    ActionStatus.open,
    ActionStatus.in_progress,
    ActionStatus.done,
    ActionStatus.verified,
)
STATUS_TITLE_LANGS = {
    "open": {"en": "Open", "zh_CN": "待办"},
    "in_progress": {"en": "In progress", "zh_CN": "进行中"},
    "done": {"en": "Done, awaiting verification", "zh_CN": "已完成待验证"},
    "verified": {"en": "Verified", "zh_CN": "已验证"},
}


@dataclass(frozen=True)
class Limits:
    """All limits, looked up by (status, department id or None for the whole column)."""

    by_scope: dict[tuple[str, int | None], WipLimit]

    def column(self, status: str) -> WipLimit | None:
        return self.by_scope.get((status, None))

    def lane(self, status: str, department_id: int) -> WipLimit | None:
        return self.by_scope.get((status, department_id))


_ALL_LIMITS = select(WipLimit)  # built once: every move of a card reads it


def wip_limits(ctx: Ctx) -> Limits:
    rows = ctx.session.exec(_ALL_LIMITS)
    return Limits({(w.status, w.department_id): w for w in rows})


def set_wip_limit(
    ctx: Ctx, *, status: str, department_id: int | None, max_cards: int | None, hard: bool = False
) -> WipLimit | None:
    """Set or clear (max_cards=None) one limit. Facilitators and admins manage the board."""
    require(can_triage(ctx.actor))
    if status not in BOARD_STATUSES:
        raise Invalid(f"WIP limits apply to the board's columns: {', '.join(BOARD_STATUSES)}.")
    if max_cards is not None and not 1 <= max_cards <= 1000:
        raise Invalid(N_("A WIP limit is between 1 and 1000 cards."))
    with unit_of_work(ctx):
        if department_id is not None and ctx.session.get(Department, department_id) is None:
            raise NotFound(f"Department {department_id} does not exist.")
        query = select(WipLimit).where(WipLimit.status == status)
        query = query.where(
            col(WipLimit.department_id).is_(None)
            if department_id is None
            else WipLimit.department_id == department_id
        )
        existing = ctx.session.exec(query).first()
        old = f"{existing.max_cards}{' hard' if existing.hard else ''}" if existing else None
        new = f"{max_cards}{' hard' if hard else ''}" if max_cards else None
        if max_cards is None:
            if existing is not None:
                ctx.session.delete(existing)
            result = None
        else:
            result = existing or WipLimit(status=status, department_id=department_id, max_cards=0)
            result.max_cards, result.hard = max_cards, hard
            ctx.session.add(result)
        ctx.session.flush()
        audit.record(
            ctx, "board", department_id or 0, "wip_limit_set", field=status, old=old, new=new
        )
    return result


def check_wip(ctx: Ctx, action: Action, status: str, department_id: int) -> None:
    """Refuse a move that would put more cards in a column or lane than a hard limit allows."""
    if status not in BOARD_STATUSES:
        return
    limits = wip_limits(ctx)
    reasons = []
    for limit, scope in (
        (limits.column(status), None),
        (limits.lane(status, department_id), department_id),
    ):
        if limit is None or not limit.hard:
            continue
        query = (
            select(func.count())
            .select_from(Action)
            .where(Action.status == status, Action.id != action.id)
        )
        if scope is not None:
            query = query.where(Action.department_id == scope)
        count = int(ctx.session.exec(query).one())
        if count + 1 > limit.max_cards:
            if scope is None:
                template = N_(
                    "'%(column)s' allows at most %(max)s cards on the board (hard WIP "
                    "limit); it already holds %(count)s. Finish or move a card first."
                )
            else:
                template = N_(
                    "'%(column)s' allows at most %(max)s cards on this department's "
                    "lane (hard WIP limit); it already holds %(count)s. Finish or move "
                    "a card first."
                )
            reasons.append(
                because(
                    "wip_limit",
                    template,
                    column=STATUS_TITLE_LANGS[status],
                    max=limit.max_cards,
                    count=count,
                )
            )
    if reasons:
        raise Refused(N_("The move would break a hard WIP limit."), reasons)


# --- saved views ----------------------------------------------------------------


def saved_views(ctx: Ctx) -> list[SavedView]:
    if ctx.actor is None:
        return []
    query = select(SavedView).where(SavedView.user_id == ctx.actor_id).order_by(SavedView.name)
    return list(ctx.session.exec(query))


def save_view(ctx: Ctx, *, name: str, query: str) -> SavedView:
    if ctx.actor is None:
        raise Forbidden("Sign in to save views.")
    name = name.strip()
    if not name or len(name) > 100:
        raise Invalid(N_("Name the view (1 to 100 characters)."))
    if len(query) > 2000:
        raise Invalid(N_("The view's filters are too long to save."))
    with unit_of_work(ctx):
        existing = ctx.session.exec(
            select(SavedView).where(SavedView.user_id == ctx.actor_id, SavedView.name == name)
        ).first()
        view = existing or SavedView(user_id=ctx.actor_id, name=name, query="")  # type: ignore[arg-type]
        view.query = query.lstrip("?")
        view.created_at = ctx.now()
        ctx.session.add(view)
        ctx.session.flush()
    return view


def delete_view(ctx: Ctx, view_id: int) -> None:
    with unit_of_work(ctx):
        view = ctx.session.get(SavedView, view_id)
        if view is None or view.user_id != ctx.actor_id:
            raise NotFound(N_("That saved view does not exist."))
        ctx.session.delete(view)
