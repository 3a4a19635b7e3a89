"""Rows → response shapes. Kept apart so routes stay one call long."""

from datetime import date

from pdca.engine.machine import TransitionOption
from pdca.models import Action, ActionStatus, ApiToken, Cycle, Problem, ProblemOccurrence
from pdca.services.actions import Link, Links
from pdca.services.cycles import field_values
from pdca.services.keys import key
from pdca.services.queries import ActionRecord, ActionRow
from pdca.web.api import schemas as s
from pdca.web.render import reason_text

UNFINISHED = (ActionStatus.open, ActionStatus.in_progress)


def problem_out(
    problem: Problem, cycle_ids: list[int], seen: list[ProblemOccurrence] | None = None
) -> s.ProblemOut:
    return s.ProblemOut(
        **problem.model_dump(),
        key=key("problem", problem.id),
        cycle_ids=cycle_ids,
        occurrence_list=[
            s.OccurrenceOut(at=o.at, kpi_id=o.kpi_id, rule=o.rule) for o in seen or []
        ],
    )


def cycle_out(
    cycle: Cycle,
    version_number: int,
    state_title: str,
    problem_ids: list[int],
    member_ids: list[int] | None = None,
) -> s.CycleOut:
    data = cycle.model_dump()
    return s.CycleOut(
        **{k: data[k] for k in s.CycleOut.model_fields if k in data},
        key=key("cycle", cycle.id),
        workflow_version=version_number,
        state_title=state_title,
        fields=field_values(cycle),
        problem_ids=problem_ids,
        member_ids=member_ids or [],
    )


def _link_out(link: Link) -> s.DependencyOut:
    return s.DependencyOut(id=link.id, key=link.key, title=link.title, status=link.status)


# The answer's fields that are the action's own columns, read by name: from an Action or
# from a listing's row alike (model_dump of an ORM object was most of a list's cost).
_ACTION_FIELDS = tuple(f for f in s.ActionOut.model_fields if f in Action.__table__.c)  # type: ignore[attr-defined]


def action_out(
    action: Action | ActionRecord,
    today: date,
    row: ActionRow | None = None,
    blocked_by: tuple[int, ...] = (),
    links: Links | None = None,
) -> s.ActionOut:
    overdue = (
        action.deadline is not None and action.deadline < today and action.status in UNFINISHED
    )
    extra = {}
    if row is not None:
        extra = {
            "owner_name": row.owner_name,
            "department_code": row.department_code,
            "cycle_title": row.cycle_title,
            "cycle_state": row.cycle_state,
            "workflow": row.workflow,
        }
        blocked_by = row.blocked_by
    return s.ActionOut.model_validate(
        {
            **{name: getattr(action, name) for name in _ACTION_FIELDS},
            "key": key("action", action.id),
            "overdue": overdue,
            "blocked_by": [key("action", b) for b in blocked_by],
            "depends_on": [_link_out(x) for x in links.depends_on] if links else [],
            "blocks": [_link_out(x) for x in links.blocks] if links else [],
            **extra,
        }
    )


def transition_out(
    option: TransitionOption, lang: str = "en", permission: str | None = None
) -> s.TransitionOut:
    reasons = [s.ReasonOut(code=r.code, message=reason_text(r, lang)) for r in option.reasons]
    if permission:
        reasons.insert(0, s.ReasonOut(code="forbidden", message=reason_text(permission, lang)))
    return s.TransitionOut(
        trigger=option.trigger,
        dest=option.dest,
        title=option.titles.get(lang) or option.titles["en"],
        allowed=option.allowed and not permission,
        signed=option.signed,
        needs_note=option.needs_note,
        reasons=reasons,
    )


def token_out(token: ApiToken) -> s.TokenOut:
    return s.TokenOut(**{**token.model_dump(), "scopes": token.scopes.split()})
