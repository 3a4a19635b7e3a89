"""Evidence from the pages: the upload forms of the action, cycle and problem pages,
downloads, and deletion. Each answers 303 back to the record's page with a flash."""

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from pdca import i18n
from pdca.services import evidence
from pdca.services.context import Ctx
from pdca.services.errors import ServiceError
from pdca.web.deps import ReleasingRoute
from pdca.web.pages import actions as action_pages
from pdca.web.pages.common import PageCtx, set_flash
from pdca.web.render import error_message, error_text, reason_text, render
from pdca.web.uploads import download, max_bytes, read_limited

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)
PAGES = {
    "action": "/actions/{}",
    "cycle": "/cycles/{}",
    "problem": "/problems/{}",
    "inspection": "/inspections/{}",
}


def _back(entity_type: str, entity_id: int) -> str:
    return PAGES[entity_type].format(entity_id) + "#evidence"


def _refused(
    request: Request, ctx: Ctx, entity_type: str, entity_id: int, error: ServiceError
) -> Response:
    """The refusal with its status and reason: on the action page next to the form,
    elsewhere on a page of its own that links back."""
    if entity_type == "action":
        return action_pages.after(request, ctx, entity_id, "", error, "evidence")
    context = {
        "title": error_text(error, request.state.lang),
        "detail": error_message(error, request.state.lang),
        "reasons": [reason_text(r, request.state.lang) for r in error.reasons],
        "back": _back(entity_type, entity_id),
    }
    return render(request, "evidence/refused.html", context, status_code=error.status_hint)


def _upload_route(collection: str, entity_type: str) -> None:
    def upload(
        request: Request,
        ctx: PageCtx,
        entity_id: int,
        file: Annotated[UploadFile, File()],
    ) -> Response:
        _ = i18n.translations(request.state.lang).gettext
        limit = max_bytes(request)
        try:
            added = evidence.attach(
                ctx,
                entity_type,
                entity_id,
                filename=file.filename or "",
                content_type=file.content_type,
                data=read_limited(file, limit),
                max_bytes=limit,
            )
        except ServiceError as exc:
            return _refused(request, ctx, entity_type, entity_id, exc)
        response = RedirectResponse(_back(entity_type, entity_id), status_code=303)
        set_flash(request, response, _("%(name)s attached.") % {"name": added.filename})
        return response

    router.add_api_route(
        f"/{collection}/{{entity_id:int}}/evidence",
        upload,
        methods=["POST"],
        name=f"upload_{entity_type}_evidence_page",
    )


for _collection, _entity_type in (
    ("actions", "action"),
    ("cycles", "cycle"),
    ("problems", "problem"),
    ("inspections", "inspection"),
):
    _upload_route(_collection, _entity_type)


@router.get("/evidence/{evidence_id:int}")
def get_file(ctx: PageCtx, evidence_id: int) -> Response:
    return download(evidence.get(ctx, evidence_id))


@router.post("/evidence/{evidence_id:int}/delete")
def delete_file(request: Request, ctx: PageCtx, evidence_id: int) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    found = evidence.info(ctx, evidence_id)  # an unknown file is a 404 page
    try:
        evidence.delete(ctx, evidence_id)
    except ServiceError as exc:
        return _refused(request, ctx, found.entity_type, found.entity_id, exc)
    response = RedirectResponse(_back(found.entity_type, found.entity_id), status_code=303)
    set_flash(request, response, _("%(name)s deleted.") % {"name": found.filename})
    return response
