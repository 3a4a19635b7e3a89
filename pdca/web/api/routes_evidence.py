"""Evidence files on actions, cycles and problems: upload, list, download, delete."""

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import Response

from pdca.services import evidence
from pdca.services.evidence import EvidenceInfo
from pdca.web.api import schemas as s
from pdca.web.api.idempotency import ApiRoute
from pdca.web.deps import CtxDep
from pdca.web.uploads import download, max_bytes, read_limited

router = APIRouter(tags=["evidence"], route_class=ApiRoute)
COLLECTIONS = {
    "actions": "action",
    "cycles": "cycle",
    "problems": "problem",
    "inspections": "inspection",
}


def evidence_out(info: EvidenceInfo) -> s.EvidenceOut:
    return s.EvidenceOut(
        **{k: getattr(info, k) for k in s.EvidenceOut.model_fields if hasattr(info, k)},
        download_url=f"/api/v1/evidence/{info.id}",
    )


def _routes_for(collection: str, entity_type: str) -> None:
    path = f"/{collection}/{{entity_id}}/evidence"

    def list_evidence(ctx: CtxDep, entity_id: int) -> list[s.EvidenceOut]:
        return [evidence_out(i) for i in evidence.evidence_on(ctx, entity_type, entity_id)]

    def upload(
        request: Request,
        response: Response,
        ctx: CtxDep,
        entity_id: int,
        file: Annotated[UploadFile, File(description="The file (multipart/form-data).")],
    ) -> s.EvidenceOut:
        limit = max_bytes(request)
        added = evidence.attach(
            ctx,
            entity_type,
            entity_id,
            filename=file.filename or "",
            content_type=file.content_type,
            data=read_limited(file, limit),
            max_bytes=limit,
        )
        response.headers["Location"] = f"/api/v1/evidence/{added.id}"
        return evidence_out(evidence.info(ctx, added.id))  # type: ignore[arg-type]

    router.add_api_route(
        path,
        list_evidence,
        methods=["GET"],
        response_model=list[s.EvidenceOut],
        summary=f"The files attached to the {entity_type}",
        operation_id=f"list_{entity_type}_evidence",
    )
    router.add_api_route(
        path,
        upload,
        methods=["POST"],
        status_code=201,
        response_model=s.EvidenceOut,
        summary=f"Attach a file to the {entity_type} (413 past the size limit)",
        operation_id=f"upload_{entity_type}_evidence",
        responses={413: {"model": s.ProblemDetail, "description": "The file is too large"}},
    )


for _collection, _entity_type in COLLECTIONS.items():
    _routes_for(_collection, _entity_type)


@router.get(
    "/evidence/{evidence_id}",
    summary="Download a file (as an attachment)",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def get_evidence(ctx: CtxDep, evidence_id: int) -> Response:
    return download(evidence.get(ctx, evidence_id))


@router.delete("/evidence/{evidence_id}", status_code=204, summary="Delete a file")
def delete_evidence(ctx: CtxDep, evidence_id: int) -> Response:
    evidence.delete(ctx, evidence_id)
    return Response(status_code=204)
