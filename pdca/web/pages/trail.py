"""The audit trail page: its last verification, verifying it now, exports, and the events."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from pdca import i18n
from pdca.models import User
from pdca.services import policy, queries, trail
from pdca.services.errors import Invalid
from pdca.services.queries import EventFilter, Paging
from pdca.web.api.routes_trail import download
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.common import PageCtx, set_flash
from pdca.web.render import render
from pdca.web.texts import trail_words

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)
PER_PAGE = 50
ENTITY_TYPES = ("action", "cycle", "problem", "kpi", "user", "department", "token", "trail")


def _page_number(raw: str) -> int:
    return int(raw) if raw.isdigit() and 0 < int(raw) < 100_000 else 1


@router.get("/trail")
def trail_page(request: Request, ctx: PageCtx, type: str = "", page: str = "1") -> Response:
    policy.require(policy.can_audit_trail(ctx.actor))
    _ = i18n.translations(request.state.lang).gettext
    entity_type = type if type in ENTITY_TYPES else ""
    number = _page_number(page)
    try:
        events = queries.list_events(
            ctx,
            Paging(PER_PAGE, (number - 1) * PER_PAGE, "-id"),
            EventFilter(entity_type=entity_type or None),
        )
    except Invalid:
        events = queries.list_events(ctx, Paging(PER_PAGE, 0, "-id"), EventFilter())
    # Whoever acted, and the people that user events are about.
    actor_ids = {e.actor_id for e in events.items if e.actor_id is not None} | {
        e.entity_id for e in events.items if e.entity_type == "user"
    }
    names = (
        dict(ctx.session.exec(select(User.id, User.name).where(col(User.id).in_(actor_ids))).all())
        if actor_ids
        else {}
    )
    pages = max(1, -(-events.total // PER_PAGE))

    def page_url(n: int) -> str:
        return f"/trail?page={n}" + (f"&type={entity_type}" if entity_type else "")

    return render(
        request,
        "trail/page.html",
        {
            "last": trail.last_verification(ctx),
            "events": events.items,
            "total": events.total,
            "names": names,
            **trail_words(_),
            "entity_type": entity_type,
            "entity_types": ENTITY_TYPES,
            "number": number,
            "pages": pages,
            "page_url": page_url,
        },
    )


@router.post("/trail/verify")
def verify(request: Request, ctx: PageCtx) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    found = trail.verify(ctx)
    response = RedirectResponse("/trail", status_code=303)
    if found.intact:
        set_flash(
            request,
            response,
            _("The trail is intact: %(n)s events checked.") % {"n": f"{found.checked:,}"},
        )
    else:
        set_flash(
            request,
            response,
            _("The trail is broken at event %(id)s.") % {"id": found.broken_at},
            kind="error",
        )
    return response


def _export(request: Request, ctx: PageCtx, fmt: trail.Format) -> Response:
    trail.check_export(ctx)
    return download(request.app.state.engine, fmt, f"{ctx.now():%Y%m%d-%H%M%S}")


@router.get("/trail/export.csv")
def export_csv(request: Request, ctx: PageCtx) -> Response:
    return _export(request, ctx, "csv")


@router.get("/trail/export.xlsx")
def export_xlsx(request: Request, ctx: PageCtx) -> Response:
    return _export(request, ctx, "xlsx")


@router.get("/trail/export.json")
def export_json(request: Request, ctx: PageCtx) -> Response:
    return _export(request, ctx, "json")
