"""Cycles: the board by phase, opening a cycle, and the cycle workspace."""

from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from pdca import i18n
from pdca.engine.definition import (
    ANALYSIS_FIELDS,
    BUILTIN_FIELDS,
    FISHBONE_CATEGORIES,
    WHY_FIELDS,
)
from pdca.models import Department, Kpi, Problem, User
from pdca.services import actions, comments, cycles, kpis, policy, queries
from pdca.services.accounts import Signature
from pdca.services.context import Ctx
from pdca.services.errors import Invalid, ServiceError
from pdca.services.queries import ActionFilter, EventFilter, Paging
from pdca.web import charts, rootcause_svg
from pdca.web.a3_text import fishbone_titles
from pdca.web.deps import ReleasingRoute
from pdca.web.diagram_svg import workflow_svg
from pdca.web.pages.board import kind_titles, status_titles
from pdca.web.pages.common import FormDep, PageCtx, evidence_context, set_flash, whole_number
from pdca.web.render import error_message, render

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)
Version = Annotated[int, Form(ge=1)]
Note = Annotated[str, Form(max_length=2000)]


def builtin_labels(_: Any) -> dict[str, str]:
    return {
        "objective": _("Objective"),
        "baseline": _("Baseline"),
        "target": _("Target"),
        "direction": _("Better when the value is"),
        "unit": _("Unit"),
        "root_cause": _("Root cause"),
        "root_cause_category": _("Root-cause category (the fishbone's bone)"),
        "success_criterion": _("Success criterion"),
        "effectiveness_window_days": _("Effectiveness window (days after the last action)"),
        "result": _("Result (measured)"),
        "result_note": _("Result (notes)"),
        "standardisation": _("What was standardised"),
    }


def history_verbs(_: Any) -> dict[str, str]:
    return {
        "opened": _("Opened"),
        "field_changed": _("Changed"),
        "transition": _("Moved"),
        "effectiveness_judged": _("Effectiveness judged"),
        "escalated": _("Escalated"),
        "member_added": _("Joined the team"),
        "problem_linked": _("Problem linked"),
        "commented": _("Commented"),
    }


def _names(ctx: Ctx, user_ids: set[int | None]) -> dict[int, str]:
    ids = [i for i in user_ids if i is not None]
    if not ids:
        return {}
    return dict(ctx.session.exec(select(User.id, User.name).where(col(User.id).in_(ids))).all())


# --- the cycle board ------------------------------------------------------------


@router.get("/cycles")
def cycle_board(request: Request, ctx: PageCtx, workflow: str = "pdca", dept: str = "") -> Response:
    if workflow not in ctx.catalog.definitions:
        workflow = ctx.catalog.names()[0]
    definition = ctx.catalog.definitions[workflow]
    departments = list(ctx.session.exec(select(Department).order_by(Department.code)))
    department = next((d for d in departments if d.code == dept.upper()), None)
    columns = queries.cycle_board(
        ctx, workflow, department_id=department.id if department else None
    )
    return render(
        request,
        "cycles/board.html",
        {
            "workflow": workflow,
            "definition": definition,
            "columns": columns,
            "departments": departments,
            "dept": department.code if department else "",
            "today": ctx.today(),
            "can_open": policy.can_open_cycle(ctx.actor) is None,
            "workflows": ctx.catalog.definitions,
            "export_query": urlencode(
                {"workflow": workflow, **({"dept": department.code} if department else {})}
            ),
        },
        block="cycle_board",
    )


# --- opening a cycle -------------------------------------------------------------


def _new_form_context(ctx: Ctx, form: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    query = select(Problem).where(col(Problem.status).in_(("new", "accepted")))
    if ctx.actor is not None and ctx.actor.role == "head":
        # A head opens cycles on their own department's problems only: offer just those.
        query = query.where(Problem.department_id == ctx.actor.department_id)
    open_problems = list(
        ctx.session.exec(query.order_by(col(Problem.reported_at).desc()).limit(300))
    )
    leads = list(
        ctx.session.exec(select(User).where(User.active, User.role != "viewer").order_by(User.name))
    )
    departments = list(ctx.session.exec(select(Department).order_by(Department.code)))
    return {
        "form": form,
        "errors": errors,
        "problems": open_problems,
        "leads": leads,
        "departments": departments,
        "workflows": ctx.catalog.definitions,
    }


@router.get("/cycles/new")
def new_cycle_form(request: Request, ctx: PageCtx, problem: int | None = None) -> Response:
    policy.require(policy.can_open_cycle(ctx.actor))
    form = {
        "title": "",
        "workflow": "pdca",
        "lead_id": ctx.actor_id,
        "department_id": None,
        "problem_ids": [problem] if problem else [],
        "objective": "",
    }
    if problem:
        chosen = ctx.session.get(Problem, problem)
        if chosen is not None:
            form["title"] = chosen.title
            form["department_id"] = chosen.department_id
    return render(request, "cycles/new.html", _new_form_context(ctx, form, {}))


@router.post("/cycles/new")
def open_cycle(request: Request, ctx: PageCtx, data: FormDep) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    form = {
        "title": str(data.get("title", ""))[:300],
        "workflow": str(data.get("workflow", "")),
        "lead_id": _int(data.get("lead_id")),
        "department_id": _int(data.get("department_id")),
        "problem_ids": [i for i in (_int(v) for v in data.getlist("problem_ids")) if i],
        "objective": str(data.get("objective", ""))[:5000],
    }
    errors: dict[str, str] = {}
    if not form["title"].strip():
        errors["title"] = _("Give the cycle a title.")
    if not form["problem_ids"]:
        errors["problem_ids"] = _("Choose at least one problem the cycle addresses.")
    if form["lead_id"] is None:
        errors["lead_id"] = _("Choose who leads the cycle.")
    if not errors:
        try:
            cycle = cycles.open_cycle(
                ctx,
                title=form["title"],
                workflow=form["workflow"],
                lead_id=form["lead_id"],
                problem_ids=form["problem_ids"],
                department_id=form["department_id"],
                fields={"objective": form["objective"]} if form["objective"].strip() else None,
            )
        except ServiceError as exc:
            errors["form"] = error_message(exc, request.state.lang)
        else:
            response = RedirectResponse(f"/cycles/{cycle.id}", status_code=303)
            set_flash(request, response, _("Cycle %(key)s opened.") % {"key": f"C-{cycle.id}"})
            return response
    return render(request, "cycles/new.html", _new_form_context(ctx, form, errors), status_code=422)


def _int(value: Any) -> int | None:
    return whole_number(value)


# --- the workspace ----------------------------------------------------------------


def workspace_context(
    request: Request,
    ctx: Ctx,
    cycle_id: int,
    *,
    field_errors: dict[str, str] | None = None,
    entered: dict[str, Any] | None = None,
    problem: ServiceError | None = None,
    problem_at: str | None = None,
) -> dict[str, Any]:
    lang = request.state.lang
    _ = i18n.translations(lang).gettext
    cycle = cycles.get_cycle(ctx, cycle_id)
    definition = cycles.definition_of(ctx, cycle)
    version = cycles.workflow_version(ctx, cycle)
    state = definition.states[cycle.state]
    labels = builtin_labels(_)
    values = cycles.field_values(cycle)
    required_here = set(state.requires)
    required_anywhere = {f for s in definition.states.values() for f in s.requires}
    fields = []
    for name in [*BUILTIN_FIELDS, *(f.name for f in definition.fields)]:
        declared = next((f for f in definition.fields if f.name == name), None)
        label = (declared.titles.get(lang) or declared.titles["en"]) if declared else labels[name]
        value = (entered or {}).get(name, values.get(name))
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # 1874, not 1874.0
        fields.append(
            {
                "name": name,
                "label": label,
                "type": definition.field_type(name),
                "value": "" if value is None else value,
                "required_here": name in required_here,
                "used": name in required_anywhere,
                "error": (field_errors or {}).get(name),
            }
        )
    permission = policy.can_run_cycle(ctx.actor, cycle)
    options = cycles.available_transitions(ctx, cycle_id)
    rows = queries.list_actions(ctx, Paging(500, 0, "id"), ActionFilter(cycle_id=cycle_id)).items
    events = queries.list_events(
        ctx, Paging(200, 0, "-id"), EventFilter(entity_type="cycle", entity_id=cycle_id)
    ).items
    notes = comments.comments_on(ctx, "cycle", cycle_id)
    problem_ids = cycles.cycle_problem_ids(ctx, cycle_id)
    linked = (
        list(ctx.session.exec(select(Problem).where(col(Problem.id).in_(problem_ids))))
        if problem_ids
        else []
    )
    team = cycles.members(ctx, cycle_id)
    names = _names(
        ctx,
        {
            cycle.lead_id,
            cycle.effectiveness_by_id,
            *(e.actor_id for e in events),
            *(c.author_id for c in notes),
        },
    )
    departments = list(ctx.session.exec(select(Department).order_by(Department.code)))
    people = list(
        ctx.session.exec(select(User).where(User.active, User.role != "viewer").order_by(User.name))
    )
    final = state.final
    window_end = cycles.effectiveness_window_end(ctx, cycle)
    numbers = kpis.cycle_kpi_numbers(ctx, cycle)
    kpi_chart = None
    if numbers is not None:
        kpi = numbers.kpi
        points = kpis.series(ctx, kpi.id, cycle.created_at - timedelta(days=60), None)  # type: ignore[arg-type]
        opened = max((i for i, p in enumerate(points) if p.at < cycle.created_at), default=None)
        kpi_chart = charts.run_chart(
            [(p.at, p.value) for p in points],
            target=kpi.target,
            warning=kpi.warning_limit,
            breach=kpi.breach_limit,
            unit=kpi.unit,
            label=f"{kpi.code} {i18n.kpi_name(kpi, lang)}",
            lang=lang,
            bad_above=kpi.direction == "lower",
            marked=[opened] if opened is not None else [],
            empty=_("No data"),
        )
    analysis = _analysis(cycle, definition, lang, entered)
    return {
        "analysis": analysis,
        "cycle": cycle,
        "definition": definition,
        "version": version,
        "state": state,
        "fields": fields,
        "options": options,
        "permission": permission,
        "rows": rows,
        "events": events,
        "comments": notes,
        "problems": linked,
        "team": team,
        "names": names,
        "departments": departments,
        "people": people,
        "final": final,
        "svg": workflow_svg(definition, cycle.state, lang),
        "can_edit": permission is None and not final,
        "can_plan": not final
        and any(policy.can_plan_action(ctx.actor, cycle, d.id) is None for d in departments),  # type: ignore[arg-type]
        "can_judge": (
            not final
            and cycle.effectiveness is None
            and policy.can_confirm_effectiveness(ctx.actor, cycle) is None
        ),
        "can_comment": policy.can_comment(ctx.actor) is None,
        "window_end": window_end,
        "verbs": history_verbs(_),
        "fishbone_titles": fishbone_titles(_),
        "field_titles": {
            **{f["name"]: f["label"] for f in fields},
            **{f["name"]: f["label"] for f in [*analysis["whys"], *analysis["fishbone"]]},
        },
        "state_titles": {
            n: st.titles.get(lang) or st.titles["en"] for n, st in definition.states.items()
        },
        "kpi_numbers": numbers,
        "kpi_chart": kpi_chart,
        "linkable_kpis": []
        if numbers is not None or final
        else list(ctx.session.exec(select(Kpi).where(Kpi.active).order_by(Kpi.code))),
        "today": ctx.today(),
        "status_titles": status_titles(_),
        "kinds": kind_titles(_),
        "problem": problem,
        "problem_at": problem_at,
        **evidence_context(ctx, "cycle", cycle_id, permission is None),
    }


def _analysis(
    cycle: Any, definition: Any, lang: str, entered: dict[str, Any] | None
) -> dict[str, Any]:
    """The 5 whys and the fishbone: their fields (as typed, after a refusal) and pictures."""
    _ = i18n.translations(lang).gettext
    extra = cycle.extra or {}

    def value(name: str) -> str:
        return str((entered or {}).get(name, extra.get(name)) or "")

    whys = [
        {"name": name, "label": _("Why? (%(n)s)") % {"n": n}, "value": value(name)}
        for n, name in enumerate(WHY_FIELDS, start=1)
    ]
    titles = fishbone_titles(_)
    bones = [
        {"name": f"fishbone_{c}", "label": titles[c], "value": value(f"fishbone_{c}")}
        for c in FISHBONE_CATEGORIES
    ]
    causes = {
        c: [v for v in value(f"fishbone_{c}").splitlines() if v.strip()]
        for c in FISHBONE_CATEGORIES
    }
    whys_svg = (
        rootcause_svg.five_whys(
            cycle.title,
            [extra.get(name) or "" for name in WHY_FIELDS],
            cycle.root_cause or "",
            labels={
                "problem": _("Problem"),
                "why": _("Why? ({n})"),
                "root": _("Root cause"),
                "label": _("5 whys"),
            },
            lang=lang,
        )
        if any(extra.get(name) for name in WHY_FIELDS)
        else None
    )
    fishbone_svg = (
        rootcause_svg.fishbone(
            cycle.title, causes, titles=titles, label=_("Fishbone (Ishikawa) diagram"), lang=lang
        )
        if any(causes.values())
        else None
    )
    return {
        "whys": whys,
        "fishbone": bones,
        "whys_svg": whys_svg,
        "fishbone_svg": fishbone_svg,
        # Open where the analysis is done: the workflow's first phase, or once it has words.
        "open": cycle.state == definition.initial or any(extra.get(n) for n in ANALYSIS_FIELDS),
    }


@router.get("/cycles/{cycle_id}")
def workspace(request: Request, ctx: PageCtx, cycle_id: int) -> Response:
    return render(
        request,
        "cycles/workspace.html",
        workspace_context(request, ctx, cycle_id),
        block="workspace",
    )


def _after(
    request: Request,
    ctx: Ctx,
    cycle_id: int,
    message: str,
    error: ServiceError | None = None,
    where: str | None = None,
    field_errors: dict[str, str] | None = None,
    entered: dict[str, Any] | None = None,
) -> Response:
    """Success: 303 back to the workspace. A refusal: the workspace again, saying why."""
    if error is None and not field_errors:
        response = RedirectResponse(f"/cycles/{cycle_id}#{where or 'workspace'}", status_code=303)
        set_flash(request, response, message)
        return response
    context = workspace_context(
        request,
        ctx,
        cycle_id,
        field_errors=field_errors,
        entered=entered,
        problem=error,
        problem_at=where,
    )
    status = error.status_hint if error else 422
    return render(request, "cycles/workspace.html", context, block="workspace", status_code=status)


@router.post("/cycles/{cycle_id}/fields")
def save_fields(request: Request, ctx: PageCtx, data: FormDep, cycle_id: int) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    version = _int(data.get("version"))
    cycle = cycles.get_cycle(ctx, cycle_id)
    definition = cycles.definition_of(ctx, cycle)
    names = [*BUILTIN_FIELDS, *ANALYSIS_FIELDS, *(f.name for f in definition.fields)]
    entered = {n: str(data[n]) for n in names if n in data}
    current = cycles.field_values(cycle)
    # Only what the person changed: an untouched empty box is not an edit.
    changes = {
        n: v
        for n, v in entered.items()
        if (v.strip() or None) != (None if current.get(n) is None else str(current[n]))
        and not _same_number(v, current.get(n))
    }
    try:
        cycles.update_cycle_fields(
            ctx, cycle_id, changes=changes, version=version, note=str(data.get("note", "")) or None
        )
    except Invalid as exc:
        field_errors = {r.message.split(":")[0]: r.message for r in exc.reasons} or {
            "form": exc.detail
        }
        return _after(
            request, ctx, cycle_id, "", where="fields", field_errors=field_errors, entered=entered
        )
    except ServiceError as exc:
        return _after(request, ctx, cycle_id, "", exc, "fields", entered=entered)
    return _after(request, ctx, cycle_id, _("Saved."), where="fields")


def _same_number(text: str, value: Any) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return float(text) == float(value)
    except ValueError:
        return False


@router.post("/cycles/{cycle_id}/transitions")
def fire(
    request: Request,
    ctx: PageCtx,
    cycle_id: int,
    trigger: Annotated[str, Form(max_length=50)],
    version: Version,
    note: Note = "",
    password: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    signature = Signature("approved closure", password) if password else None
    try:
        cycle = cycles.fire_transition(
            ctx, cycle_id, trigger=trigger, version=version, note=note or None, signature=signature
        )
    except ServiceError as exc:
        return _after(request, ctx, cycle_id, "", exc, "transitions")
    state = cycles.definition_of(ctx, cycle).states[cycle.state]
    title = state.titles.get(request.state.lang) or state.titles["en"]
    return _after(
        request, ctx, cycle_id, _("Moved to %(state)s.") % {"state": title}, where="transitions"
    )


@router.post("/cycles/{cycle_id}/effectiveness")
def judge(
    request: Request,
    ctx: PageCtx,
    cycle_id: int,
    version: Version,
    effective: Annotated[str, Form(max_length=5)],
    note: Note = "",
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    try:
        cycles.record_effectiveness(
            ctx, cycle_id, effective=effective == "1", note=note or None, version=version
        )
    except ServiceError as exc:
        return _after(request, ctx, cycle_id, "", exc, "effectiveness")
    return _after(request, ctx, cycle_id, _("Effectiveness recorded."), where="effectiveness")


@router.post("/cycles/{cycle_id}/actions")
def add_action(
    request: Request,
    ctx: PageCtx,
    cycle_id: int,
    title: Annotated[str, Form(max_length=300)],
    department_id: Annotated[int, Form()],
    kind: Annotated[str, Form(max_length=20)] = "corrective",
    owner_id: Annotated[int | None, Form()] = None,
    deadline: Annotated[date | None, Form()] = None,
    depends_on: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    try:
        blockers = [
            int(p.strip().upper().removeprefix("A-")) for p in depends_on.split(",") if p.strip()
        ]
    except ValueError:
        error = Invalid(_("List the actions it depends on as keys, e.g. A-3, A-7."))
        return _after(request, ctx, cycle_id, "", error, "actions")
    try:
        action = actions.add_action(
            ctx,
            cycle_id,
            title=title,
            department_id=department_id,
            owner_id=owner_id,
            deadline=deadline,
            kind=kind,
            depends_on=blockers,
        )
    except ServiceError as exc:
        return _after(request, ctx, cycle_id, "", exc, "actions")
    return _after(
        request,
        ctx,
        cycle_id,
        _("Action %(key)s added.") % {"key": f"A-{action.id}"},
        where="actions",
    )


@router.post("/cycles/{cycle_id}/comments")
def comment(
    request: Request, ctx: PageCtx, cycle_id: int, body: Annotated[str, Form(max_length=10_000)]
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    try:
        comments.add_comment(ctx, "cycle", cycle_id, body)
    except ServiceError as exc:
        return _after(request, ctx, cycle_id, "", exc, "comments")
    return _after(request, ctx, cycle_id, _("Comment added."), where="comments")


@router.post("/cycles/{cycle_id}/kpi")
def link_kpi(
    request: Request, ctx: PageCtx, cycle_id: int, version: Version, kpi_id: Annotated[int, Form()]
) -> Response:
    _ = i18n.translations(request.state.lang).gettext
    try:
        kpis.link_cycle_to_kpi(ctx, cycle_id, kpi_id, version=version)
    except ServiceError as exc:
        return _after(request, ctx, cycle_id, "", exc, "effectiveness")
    return _after(
        request, ctx, cycle_id, _("The cycle now aims at this KPI."), where="effectiveness"
    )
