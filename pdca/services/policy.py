"""Who may do what: the one permission model that every use case calls.

Each check returns None when allowed, or the reason in words; `require` turns a
reason into Forbidden. Keeping the reasons here means the pages can hide a
button and the API can refuse with the very same sentence.
"""

from pdca.engine.facts import N_
from pdca.models import Action, Cycle, Kpi, Problem, Role, User
from pdca.services.errors import Forbidden

STAFF = {Role.admin, Role.facilitator}


def _role(user: User | None) -> str | None:
    return None if user is None else user.role


def _active(user: User | None) -> str | None:
    if user is None:
        return None  # the system itself (set-up commands, monitors)
    if not user.active:
        return N_("Your account is deactivated.")
    if user.role == Role.viewer:
        return N_("Viewers have read-only access.")
    return None


def _system_or(user: User | None, allowed: bool, reason: str) -> str | None:
    blocked = _active(user)
    if blocked:
        return blocked
    if user is None or user.role == Role.admin or allowed:
        return None
    return reason


def can_manage_organisation(user: User | None) -> str | None:
    return _system_or(user, False, N_("Only administrators manage users and departments."))


def can_report_problem(user: User | None) -> str | None:
    return _system_or(user, True, "")


def can_triage(user: User | None) -> str | None:
    return _system_or(
        user,
        _role(user) == Role.facilitator,
        N_("Only facilitators and administrators triage problems."),
    )


def _heads(user: User | None, department_id: int | None) -> bool:
    return (
        user is not None
        and user.role == Role.head
        and department_id is not None
        and user.department_id == department_id
    )


def can_triage_problem(user: User | None, problem: Problem) -> str | None:
    """Accept, reject or mark a duplicate: staff, or the head of the problem's department."""
    return _system_or(
        user,
        _role(user) == Role.facilitator or _heads(user, problem.department_id),
        N_(
            "Only facilitators, administrators and the head of the problem's department "
            "triage this problem."
        ),
    )


def can_open_cycle(user: User | None) -> str | None:
    """Whether to offer opening a cycle at all; `can_open_cycle_for` decides for real."""
    return _system_or(
        user,
        _role(user) in (Role.facilitator, Role.head),
        N_("Only facilitators, department heads and administrators open cycles."),
    )


def can_open_cycle_for(
    user: User | None, department_id: int | None, problem_departments: list[int | None]
) -> str | None:
    """Staff open any cycle; a head, a cycle of their department on its own problems."""
    general = can_open_cycle(user)
    if general:
        return general
    if user is None or user.role != Role.head:
        return None
    if _heads(user, department_id) and all(_heads(user, d) for d in problem_departments):
        return None
    return N_("A department head opens cycles only for their own department, on its own problems.")


def can_lead(user: User) -> str | None:
    if not user.active:
        return f"{user.name} is deactivated and cannot lead a cycle."
    if user.role == Role.viewer:
        return f"{user.name} is a viewer and cannot lead a cycle."
    return None


def can_run_cycle(user: User | None, cycle: Cycle) -> str | None:
    """Edit phase fields, plan actions, fire transitions: the lead or a facilitator."""
    allowed = _role(user) == Role.facilitator or (user is not None and user.id == cycle.lead_id)
    return _system_or(
        user,
        allowed,
        N_("Only the cycle's lead, facilitators and administrators can change this cycle."),
    )


def can_plan_action(user: User | None, cycle: Cycle, department_id: int) -> str | None:
    if can_run_cycle(user, cycle) is None:
        return None
    allowed = user is not None and user.role == Role.head and user.department_id == department_id
    return _system_or(
        user,
        allowed,
        N_(
            "Only the cycle's lead, facilitators, administrators and the head of the responsible "
            "department can plan actions."
        ),
    )


def can_manage_action(user: User | None, action: Action, cycle: Cycle) -> str | None:
    """Assign, reassign, re-date, cancel and reopen."""
    if can_run_cycle(user, cycle) is None:
        return None
    allowed = (
        user is not None and user.role == Role.head and user.department_id == action.department_id
    )
    return _system_or(
        user,
        allowed,
        N_(
            "Only the head of the responsible department, the cycle's lead and facilitators can "
            "reassign, re-date, cancel or reopen this action."
        ),
    )


def can_work_on_action(user: User | None, action: Action, cycle: Cycle) -> str | None:
    """Start and complete: the owner, or anyone who manages the action."""
    if user is not None and user.id == action.owner_id and _active(user) is None:
        return None
    if can_manage_action(user, action, cycle) is None:
        return None
    return _system_or(
        user, False, N_("Only the owner of this action and its managers can work on it.")
    )


def can_verify_action(user: User | None, action: Action) -> str | None:
    if user is not None and user.id == action.owner_id:
        return N_("The owner of an action cannot verify it; someone else must.")
    return _system_or(
        user,
        _role(user) == Role.facilitator,
        N_("Only facilitators and administrators verify actions."),
    )


def can_confirm_effectiveness(user: User | None, cycle: Cycle) -> str | None:
    if user is not None and user.id == cycle.lead_id:
        return N_("The cycle's lead cannot confirm its own effectiveness; someone else must.")
    return _system_or(
        user,
        _role(user) in (Role.facilitator, Role.head),
        N_("Only facilitators, department heads and administrators confirm effectiveness."),
    )


def can_comment(user: User | None) -> str | None:
    return _system_or(user, True, "")


def can_manage_kpi(user: User | None, department_id: int) -> str | None:
    allowed = user is not None and user.role == Role.head and user.department_id == department_id
    return _system_or(
        user,
        allowed or _role(user) == Role.facilitator,
        N_("Only facilitators, administrators and the department's head manage its KPIs."),
    )


def can_record(user: User | None, kpi: Kpi) -> str | None:
    """Record measurements: the KPI's owner or department, facilitators, administrators."""
    allowed = user is not None and (
        user.role == Role.facilitator
        or user.id == kpi.owner_id
        or user.department_id == kpi.department_id
    )
    return _system_or(
        user,
        allowed,
        N_("Only the KPI's owner, its department, facilitators and administrators record points."),
    )


def can_attach_evidence(user: User | None) -> str | None:
    return _system_or(user, True, "")


def can_delete_evidence(
    user: User | None, uploaded_by_id: int, manages_the_record: bool
) -> str | None:
    """The uploader, or whoever manages what the file is attached to (its head, lead, staff)."""
    if user is not None and user.id == uploaded_by_id and _active(user) is None:
        return None
    return _system_or(
        user,
        manages_the_record,
        N_("Only whoever uploaded a file and those who manage the record can delete it."),
    )


AUDITORS = {Role.admin, Role.facilitator, Role.viewer}


def can_audit_trail(user: User | None) -> str | None:
    """Verify the whole trail and export it: administrators, quality managers, auditors.

    Verifying only reads (its record is the verifier's own event), so viewers may.
    """
    if user is None:
        return None
    if not user.active:
        return N_("Your account is deactivated.")
    if user.role in AUDITORS:
        return None
    return N_("Only administrators, facilitators and auditors verify and export the trail.")


def can_plan_meetings(user: User | None) -> str | None:
    """Create series and meetings: facilitators, department heads and administrators."""
    return _system_or(
        user,
        _role(user) in (Role.facilitator, Role.head),
        N_("Only facilitators, department heads and administrators plan review meetings."),
    )


def can_run_meeting(user: User | None, chair_id: int) -> str | None:
    """Prepare, start, walk, decide, take attendance and end: the chair or a facilitator."""
    allowed = _role(user) == Role.facilitator or (user is not None and user.id == chair_id)
    return _system_or(
        user, allowed, N_("Only the meeting's chair, facilitators and administrators run it.")
    )


def can_edit_series(user: User | None, chair_id: int) -> str | None:
    """Change a series (its time, people, quorum): its chair, facilitators, administrators."""
    allowed = _role(user) == Role.facilitator or (user is not None and user.id == chair_id)
    return _system_or(
        user,
        allowed,
        N_("Only the series' chair, facilitators and administrators change a meeting series."),
    )


def can_sign_minutes(user: User | None, chair_id: int) -> str | None:
    """The minutes are the chair's to sign, no one else's."""
    if user is not None and user.id != chair_id:
        return N_("Only the meeting's chair signs its minutes.")
    return _active(user)


def can_add_agenda_item(user: User | None) -> str | None:
    return _system_or(user, True, "")


def can_manage_checklists(user: User | None) -> str | None:
    """Write and revise checklist templates, and plan inspections: quality staff."""
    return _system_or(
        user,
        _role(user) == Role.facilitator,
        N_("Only facilitators and administrators manage checklists and plan inspections."),
    )


def can_fill_inspection(user: User | None, inspector_id: int) -> str | None:
    """Answer, save and submit: the inspector named on it, no one else."""
    if user is not None and user.id != inspector_id:
        return N_("Only the inspector named on an inspection fills it in.")
    return _active(user)


def can_skip_inspection(user: User | None, department_id: int) -> str | None:
    """Skip a due inspection with a reason: quality staff, or the inspected department's head."""
    return _system_or(
        user,
        _role(user) == Role.facilitator or _heads(user, department_id),
        N_(
            "Only facilitators, administrators and the head of the inspected department "
            "skip an inspection."
        ),
    )


def can_acknowledge_inspection(user: User | None, department_id: int) -> str | None:
    """The head of the inspected department (or an administrator) acknowledges the result."""
    return _system_or(
        user,
        _heads(user, department_id),
        N_("Only the head of the inspected department acknowledges an inspection."),
    )


def require(reason: str | None) -> None:
    if reason:
        raise Forbidden(reason)


def can_set_control_limits(user: User | None) -> str | None:
    """Phase I (exclude baseline points, freeze limits) and recalculating limits: staff."""
    return _system_or(
        user,
        _role(user) == Role.facilitator,
        N_("Only facilitators and administrators set a KPI's control limits."),
    )


def can_manage_feedback(user: User | None) -> str | None:
    """Edit the complaint taxonomy, its intake rules and the surveys: staff only."""
    return _system_or(
        user,
        _role(user) == Role.facilitator,
        N_("Only facilitators and administrators manage complaint categories and surveys."),
    )


def can_take_complaints(user: User | None) -> str | None:
    """Receive a complaint, record its first response or its resolution: anyone who may
    report a problem (a service desk's token belongs to such a user)."""
    return _system_or(user, True, "")
