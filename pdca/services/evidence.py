"""Evidence: files attached to actions, cycles and problems.

The bytes live in the database (table `evidence`), so every server process and
every replica serves the same files without a shared disk. Each upload and each
deletion is an event on the record it belongs to, with the file's SHA-256: the
trail still proves what was attached after the file itself is gone.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from pdca.engine.facts import N_, because
from pdca.models import Action, Cycle, Evidence, Inspection, Problem, User
from pdca.services import audit
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Invalid, NotFound, TooLarge
from pdca.services.keys import key
from pdca.services.policy import (
    can_attach_evidence,
    can_delete_evidence,
    can_fill_inspection,
    can_manage_action,
    can_run_cycle,
    can_triage_problem,
    require,
)
from pdca.services.store import get_or_404

ATTACHABLE: dict[str, type[Action] | type[Cycle] | type[Problem] | type[Inspection]] = {
    "action": Action,
    "cycle": Cycle,
    "problem": Problem,
    "inspection": Inspection,
}
_CONTENT_TYPE = re.compile(
    r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,63}$"
)
OCTET_STREAM = "application/octet-stream"


@dataclass(frozen=True)
class EvidenceInfo:
    """What a list shows of a file: everything but its bytes."""

    id: int
    entity_type: str
    entity_id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by_id: int
    uploaded_by_name: str
    uploaded_at: datetime


def too_large(limit: int) -> TooLarge:
    return TooLarge(
        because(
            "too_large",
            "The file is larger than %(limit)s bytes, the most that can be uploaded.",
            limit=limit,
        )
    )


def clean_filename(name: str) -> str:
    """The name without folders or control characters, at most 255 characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(
        c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C"
    )
    name = name.strip().strip(".")
    return name[-255:]


def _record(ctx: Ctx, entity_type: str, entity_id: int) -> Action | Cycle | Problem | Inspection:
    if entity_type not in ATTACHABLE:
        raise Invalid(
            f"Evidence goes on an action, a cycle, a problem or an inspection, not {entity_type!r}."
        )
    return get_or_404(ctx, ATTACHABLE[entity_type], entity_id, entity_type.capitalize())


def attach(
    ctx: Ctx,
    entity_type: str,
    entity_id: int,
    *,
    filename: str,
    content_type: str | None,
    data: bytes,
    max_bytes: int,
) -> Evidence:
    require(can_attach_evidence(ctx.actor))
    if ctx.actor is None:
        raise Invalid("Evidence needs an uploader.")
    if len(data) > max_bytes:
        raise too_large(max_bytes)
    name = clean_filename(filename)
    reasons = []
    if not name:
        reasons.append(N_("The file needs a name."))
    if not data:
        reasons.append(N_("The file is empty."))
    if reasons:
        raise Invalid(N_("The file cannot be attached."), reasons)
    kind = (content_type or "").split(";")[0].strip().lower()
    if not _CONTENT_TYPE.match(kind):
        kind = OCTET_STREAM
    with unit_of_work(ctx):
        _record(ctx, entity_type, entity_id)
        digest = hashlib.sha256(data).hexdigest()
        evidence = Evidence(
            entity_type=entity_type,
            entity_id=entity_id,
            filename=name,
            content_type=kind,
            size=len(data),
            sha256=digest,
            uploaded_by_id=ctx.actor_id,  # type: ignore[arg-type]
            uploaded_at=ctx.now(),
            data=data,
        )
        ctx.session.add(evidence)
        ctx.session.flush()
        audit.record(
            ctx,
            entity_type,
            entity_id,
            "evidence_added",
            data={
                "evidence_id": evidence.id,
                "filename": name,
                "size": len(data),
                "sha256": digest,
            },
        )
    return evidence


def _manages(ctx: Ctx, entity_type: str, entity_id: int) -> bool:
    record = _record(ctx, entity_type, entity_id)
    if isinstance(record, Action):
        cycle = get_or_404(ctx, Cycle, record.cycle_id, "Cycle")
        return can_manage_action(ctx.actor, record, cycle) is None
    if isinstance(record, Cycle):
        return can_run_cycle(ctx.actor, record) is None
    if isinstance(record, Inspection):
        return can_fill_inspection(ctx.actor, record.inspector_id) is None
    return can_triage_problem(ctx.actor, record) is None


def delete(ctx: Ctx, evidence_id: int) -> Evidence:
    """Delete the file; its events (upload and this deletion) stay in the trail."""
    with unit_of_work(ctx):
        evidence = get_or_404(ctx, Evidence, evidence_id, "Evidence")
        manages = _manages(ctx, evidence.entity_type, evidence.entity_id)
        require(can_delete_evidence(ctx.actor, evidence.uploaded_by_id, manages))
        audit.record(
            ctx,
            evidence.entity_type,
            evidence.entity_id,
            "evidence_removed",
            data={
                "evidence_id": evidence.id,
                "filename": evidence.filename,
                "size": evidence.size,
                "sha256": evidence.sha256,
            },
        )
        ctx.session.delete(evidence)
    return evidence


def may_delete(ctx: Ctx, info: EvidenceInfo, manages_the_record: bool) -> bool:
    """For a page: offer the delete button only to those the service would let."""
    return can_delete_evidence(ctx.actor, info.uploaded_by_id, manages_the_record) is None


def get(ctx: Ctx, evidence_id: int) -> Evidence:
    """The file with its bytes, for a download."""
    evidence = ctx.session.get(Evidence, evidence_id)
    if evidence is None:
        raise NotFound(f"Evidence {evidence_id} does not exist.")
    return evidence


_INFO_COLUMNS = (
    Evidence.id,
    Evidence.entity_type,
    Evidence.entity_id,
    Evidence.filename,
    Evidence.content_type,
    Evidence.size,
    Evidence.sha256,
    Evidence.uploaded_by_id,
    User.name,
    Evidence.uploaded_at,
)


def info(ctx: Ctx, evidence_id: int) -> EvidenceInfo:
    row = ctx.session.exec(
        select(*_INFO_COLUMNS)
        .join(User, col(User.id) == Evidence.uploaded_by_id)
        .where(Evidence.id == evidence_id)
    ).first()
    if row is None:
        raise NotFound(f"Evidence {evidence_id} does not exist.")
    return EvidenceInfo(*row)


def evidence_on(ctx: Ctx, entity_type: str, entity_id: int) -> list[EvidenceInfo]:
    """The files on one record, oldest first, without their bytes (one query)."""
    _record(ctx, entity_type, entity_id)
    rows = ctx.session.exec(
        select(*_INFO_COLUMNS)
        .join(User, col(User.id) == Evidence.uploaded_by_id)
        .where(Evidence.entity_type == entity_type, Evidence.entity_id == entity_id)
        .order_by(col(Evidence.uploaded_at), col(Evidence.id))
    )
    return [EvidenceInfo(*r) for r in rows]


def label(entity_type: str, entity_id: int) -> str:
    return key(entity_type, entity_id)
