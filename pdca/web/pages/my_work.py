"""My work: the landing page of heads and members, and the navigation bar's counts."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from pdca import i18n
from pdca.models import Role, User
from pdca.services import my_work
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.board import status_titles
from pdca.web.pages.common import PageCtx
from pdca.web.render import render

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)
LANDS_ON_MY_WORK = {Role.head, Role.member}


def landing_for(user: User) -> str:
    """Heads and members start the day with their work; others with the board."""
    return "/my-work" if user.role in LANDS_ON_MY_WORK else "/board"


@router.get("/")
def home(ctx: PageCtx) -> Response:
    assert ctx.actor is not None
    return RedirectResponse(landing_for(ctx.actor), status_code=303)


@router.get("/my-work")
def my_work_page(request: Request, ctx: PageCtx) -> Response:
    assert ctx.actor is not None
    _ = i18n.translations(request.state.lang).gettext
    work = my_work.my_work(ctx, ctx.actor)
    return render(
        request,
        "my_work/page.html",
        {"work": work, "today": ctx.today(), "status_titles": status_titles(_)},
    )
