"""Problems: the list (filters in the URL), the report form, and a problem's page with triage.

Routes parse the form, call one service and render; the services decide. The page
checks the shape of what was typed (so each message can sit next to its field, in
the reader's language) and asks `policy` what to offer, so it never shows a form
the service would refuse.
"""

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from pdca import i18n
from pdca.models import (
    Cycle,
    Department,
    Kpi,
    Problem,
    ProblemOccurrence,
    ProblemSource,
    ProblemStatus,
    Severity,
    User,
)
from pdca.services import complaints, keys, kpis, policy, problems, queries
from pdca.services.context import Ctx
from pdca.services.errors import Conflict, Invalid, NotFound, ServiceError
from pdca.services.problems import TRIAGE_DECISIONS
from pdca.services.queries import EventFilter, Paging, ProblemFilter
from pdca.web.deps import ReleasingRoute
from pdca.web.pages.common import MAX_ID, PageCtx, evidence_context, set_flash, whole_number
from pdca.web.render import error_message, is_htmx, render, with_flash_oob

router = APIRouter(include_in_schema=False, route_class=ReleasingRoute)

DEFAULT_LIMIT = 25
PAGE_SIZES = (25, 50, 100)
DEFAULT_SORT = "-reported_at"
SORTS = ("-reported_at", "reported_at", "-severity", "title")
SEARCH_LIMIT = 200
TITLE_LIMIT = 300  # the column's width
TEXT_LIMIT = 10_000  # description and evidence, as the API allows
REASON_LIMIT = 2000
HISTORY_LIMIT = 500
# Problems a cycle may still be opened on (a rejected, duplicate or resolved one may not).
OPEN_STATUSES = (ProblemStatus.new, ProblemStatus.accepted)
FILTER_FIELDS = ("q", "status", "source", "severity", "dept")
REPORT_FIELDS = ("title", "source", "severity", "department", "description", "evidence")

SEVERITY_BADGES = {"low": "", "medium": "badge-warn", "high": "badge-bad", "critical": "badge-bad"}
STATUS_BADGES = {
    "new": "badge-warn",
    "accepted": "",
    "rejected": "",
    "duplicate": "",
    "resolved": "badge-ok",
}

Text = Annotated[str, Form(max_length=100_000)]


# --- the words the pages use for stored values: one place, all translatable ---------


def status_titles(_: Any) -> dict[str, str]:
    return {
        "new": _("New"),
        "accepted": _("Accepted"),
        "rejected": _("Rejected"),
        "duplicate": _("Duplicate"),
        "resolved": _("Resolved"),
    }


def source_titles(_: Any) -> dict[str, str]:
    return {
        "kpi": _("KPI"),
        "complaint": _("Complaint"),
        "audit": _("Audit"),
        "inspection": _("Inspection"),
        "internal": _("Internal"),
        "suggestion": _("Suggestion"),
    }


def severity_titles(_: Any) -> dict[str, str]:
    return {
        "low": _("Low"),
        "medium": _("Medium"),
        "high": _("High"),
        "critical": _("Critical"),
    }


def sort_titles(_: Any) -> dict[str, str]:
    return {
        "-reported_at": _("Newest first"),
        "reported_at": _("Oldest first"),
        "-severity": _("Most severe first"),
        "title": _("Title (A–Z)"),
    }


def decision_titles(_: Any) -> dict[str, str]:
    return {
        "accept": _("Accept: it goes into a cycle"),
        "reject": _("Reject, with a reason"),
        "duplicate": _("Duplicate of another problem"),
    }


def verb_titles(_: Any) -> dict[str, str]:
    return {
        "reported": _("Reported"),
        "triaged": _("Triaged"),
        "linked_to_cycle": _("Linked to a cycle"),
        "resolved": _("Resolved"),
        "commented": _("Commented"),
        "occurred": _("Occurred again"),
    }


def category_titles(_: Any) -> dict[str, str]:
    return {
        "process": _("Process"),
        "people": _("People and skills"),
        "system": _("Systems and tools"),
        "supplier": _("Supplier"),
        "policy": _("Policy and rules"),
        "environment": _("Environment"),
    }


def labels(_: Any) -> dict[str, dict[str, str]]:
    """Titles and badge styles of statuses, sources and severities, for every problem page."""
    return {
        "status": status_titles(_),
        "source": source_titles(_),
        "severity": severity_titles(_),
        "category": category_titles(_),
        "status_badge": STATUS_BADGES,
        "severity_badge": SEVERITY_BADGES,
    }


def _gettext(request: Request) -> Any:
    return i18n.translations(request.state.lang).gettext


def _department_titles(request: Request, departments: list[Department]) -> dict[int, str]:
    zh = request.state.lang == "zh_CN"
    return {d.id: (d.name_zh or d.name) if zh else d.name for d in departments}  # type: ignore[misc]


def _all_departments(ctx: Ctx) -> list[Department]:
    return list(ctx.session.exec(select(Department).order_by(Department.code)))


# --- the list -------------------------------------------------------------------


def _int(text: str | None, default: int) -> int:
    number = whole_number(text)
    return default if number is None else number


def _list_form(request: Request, departments: list[Department]) -> dict[str, Any]:
    """The list's choices from the URL; unknown values are dropped, not fatal (old bookmarks)."""
    params = request.query_params

    def chosen(name: str, allowed: Any) -> list[str]:
        return [v for v in dict.fromkeys(params.getlist(name)) if v in allowed]

    dept = params.get("dept", "").strip().upper()
    sort = params.get("sort", DEFAULT_SORT)
    return {
        "q": params.get("q", "").strip()[:SEARCH_LIMIT],
        "status": chosen("status", ProblemStatus.__members__),
        "source": chosen("source", ProblemSource.__members__),
        "severity": chosen("severity", Severity.__members__),
        "dept": dept if dept in {d.code for d in departments} else "",
        "sort": sort if sort in SORTS else DEFAULT_SORT,
        "limit": min(max(_int(params.get("limit"), DEFAULT_LIMIT), 1), max(PAGE_SIZES)),
        "offset": min(_int(params.get("offset"), 0), MAX_ID),
    }


def list_url(form: dict[str, Any], **changes: Any) -> str:
    """The list's URL with these choices: what the pager and the links share."""
    merged = {**form, **changes}
    params: list[tuple[str, Any]] = [(name, merged[name]) for name in FILTER_FIELDS if merged[name]]
    if merged["sort"] != DEFAULT_SORT:
        params.append(("sort", merged["sort"]))
    if merged["limit"] != DEFAULT_LIMIT:
        params.append(("limit", merged["limit"]))
    if merged["offset"]:
        params.append(("offset", merged["offset"]))
    return "/problems" + ("?" + urlencode(params, doseq=True) if params else "")


def _filter_of(form: dict[str, Any], departments: list[Department]) -> ProblemFilter:
    department_ids = {d.code: d.id for d in departments}
    return ProblemFilter(
        status=form["status"],
        source=form["source"],
        severity=form["severity"],
        department_id=department_ids.get(form["dept"]),
        q=form["q"] or None,
    )


def problem_filter(request: Request, ctx: Ctx) -> ProblemFilter:
    """The list's filters from the URL: what its export reads too."""
    departments = _all_departments(ctx)
    return _filter_of(_list_form(request, departments), departments)


def export_query(form: dict[str, Any]) -> str:
    """The list's filters (not its page) as a query string for the export links."""
    params = [(name, form[name]) for name in FILTER_FIELDS if form[name]]
    return urlencode(params, doseq=True)


def list_context(request: Request, ctx: Ctx) -> dict[str, Any]:
    """The list page and its #problem_list block: four queries, whatever the page size."""
    _ = _gettext(request)
    departments = _all_departments(ctx)
    form = _list_form(request, departments)
    page = queries.list_problems(
        ctx,
        Paging(limit=form["limit"], offset=form["offset"], sort=form["sort"]),
        _filter_of(form, departments),
    )
    offset, limit = page.offset, page.limit
    return {
        "page": page,
        "form": form,
        "filtered": any(form[name] for name in FILTER_FIELDS),
        "addressing": queries.cycles_addressing(ctx, [p.id for p in page.items]),  # type: ignore[misc]
        "departments": departments,
        "department_titles": _department_titles(request, departments),
        "department_codes": {d.id: d.code for d in departments},
        "labels": labels(_),
        "sorts": sort_titles(_),
        "page_sizes": sorted({*PAGE_SIZES, form["limit"]}),
        "first": offset + 1 if page.items else 0,
        "last": offset + len(page.items),
        "previous_url": list_url(form, offset=max(offset - limit, 0)) if offset else None,
        "next_url": list_url(form, offset=offset + limit) if offset + limit < page.total else None,
        "first_page_url": list_url(form, offset=0),
        "may_report": policy.can_report_problem(ctx.actor) is None,
        "export_query": export_query(form),
    }


@router.get("/problems")
def problem_list(request: Request, ctx: PageCtx) -> Response:
    context = list_context(request, ctx)
    return render(request, "problems/list.html", context, block="problem_list")


# --- reporting ----------------------------------------------------------------------


def _report_page(
    request: Request,
    departments: list[Department],
    form: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    context = {
        "form": form,
        "errors": errors,
        "first_error": next((name for name in REPORT_FIELDS if name in errors), None),
        "departments": departments,
        "department_titles": _department_titles(request, departments),
        "labels": labels(_gettext(request)),
        "title_limit": TITLE_LIMIT,
        "text_limit": TEXT_LIMIT,
    }
    return render(
        request, "problems/new.html", context, block="report_form", status_code=status_code
    )


@router.get("/problems/new")
def report_form(request: Request, ctx: PageCtx) -> Response:
    policy.require(policy.can_report_problem(ctx.actor))
    actor = ctx.actor
    department = actor.department_id if actor is not None else None
    form = {
        "title": "",
        "source": "",
        "severity": Severity.medium.value,
        "department": str(department or ""),
        "description": "",
        "evidence": "",
    }
    return _report_page(request, _all_departments(ctx), form, {})


def _report_errors(
    request: Request, departments: list[Department], form: dict[str, str]
) -> dict[str, str]:
    """Field → message for what cannot be right whatever the rules (the service checks too)."""
    _ = _gettext(request)
    errors = {}
    title = form["title"].strip()
    if not title:
        errors["title"] = _("Give the problem a title.")
    elif len(title) > TITLE_LIMIT:
        errors["title"] = _("A title has at most %(n)s characters; this one has %(len)s.") % {
            "n": TITLE_LIMIT,
            "len": len(title),
        }
    if form["source"] not in ProblemSource.__members__:
        errors["source"] = _("Choose where the problem was found.")
    if form["severity"] not in Severity.__members__:
        errors["severity"] = _("Choose how severe the problem is.")
    if form["department"] and form["department"] not in {str(d.id) for d in departments}:
        errors["department"] = _("Choose a department from the list.")
    for name in ("description", "evidence"):
        if len(form[name]) > TEXT_LIMIT:
            errors[name] = _("At most %(n)s characters, please.") % {
                "n": i18n.format_number(TEXT_LIMIT, request.state.lang)
            }
    return errors


@router.post("/problems/new")
def report(
    request: Request,
    ctx: PageCtx,
    title: Text = "",
    source: Text = "",
    severity: Text = "",
    department: Text = "",
    description: Text = "",
    evidence: Text = "",
) -> Response:
    _ = _gettext(request)
    policy.require(policy.can_report_problem(ctx.actor))
    form = {
        "title": title,
        "source": source,
        "severity": severity,
        "department": department.strip(),
        "description": description,
        "evidence": evidence,
    }
    departments = _all_departments(ctx)
    errors = _report_errors(request, departments, form)
    if not errors:
        try:
            problem = problems.report_problem(
                ctx,
                title=title,
                source=source,
                severity=severity,
                department_id=_int(form["department"], 0) or None,
                description=description.strip() or None,
                evidence=evidence.strip() or None,
            )
        except (Invalid, NotFound) as exc:
            errors["form"] = error_message(exc, request.state.lang)
        else:
            target = f"/problems/{problem.id}"
            message = _("%(key)s reported. Thank you.") % {"key": keys.key("problem", problem.id)}
            if is_htmx(request):
                # htmx follows HX-Redirect with a real page load, which shows the flash.
                response: Response = Response(status_code=200, headers={"HX-Redirect": target})
            else:
                response = RedirectResponse(target, status_code=303)
            set_flash(request, response, message)
            return response
    return _report_page(request, departments, form, errors, status_code=422)


# --- one problem --------------------------------------------------------------------


def _state_title(ctx: Ctx, lang: str, cycle: Cycle) -> str:
    definition = ctx.catalog.definitions.get(cycle.workflow)
    if definition is None or cycle.state not in definition.states:
        return cycle.state
    titles = definition.states[cycle.state].titles
    return titles.get(lang) or titles["en"]


def detail_context(
    request: Request,
    ctx: Ctx,
    problem_id: int,
    *,
    triage: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    alert: str | None = None,
) -> dict[str, Any]:
    """A problem with its triage, cycles, duplicates and history: a fixed number of queries."""
    _ = _gettext(request)
    lang = request.state.lang
    problem = problems.get_problem(ctx, problem_id)
    cycle_ids = queries.cycles_addressing(ctx, [problem_id])[problem_id]
    cycles = (
        list(ctx.session.exec(select(Cycle).where(col(Cycle.id).in_(cycle_ids)).order_by(Cycle.id)))
        if cycle_ids
        else []
    )
    duplicates = list(
        ctx.session.exec(
            select(Problem).where(Problem.duplicate_of_id == problem_id).order_by(Problem.id)
        )
    )
    original = (
        ctx.session.get(Problem, problem.duplicate_of_id) if problem.duplicate_of_id else None
    )
    history = queries.list_events(
        ctx,
        Paging(limit=HISTORY_LIMIT, sort="id"),
        EventFilter(entity_type="problem", entity_id=problem_id),
    )
    people = {e.actor_id for e in history.items}
    people |= {problem.reported_by_id, problem.triaged_by_id}
    people.discard(None)
    names = (
        dict(ctx.session.exec(select(User.id, User.name).where(col(User.id).in_(people))).all())
        if people
        else {}
    )
    department = (
        ctx.session.get(Department, problem.department_id) if problem.department_id else None
    )
    may_triage = policy.can_triage_problem(ctx.actor, problem) is None
    return {
        "problem": problem,
        "department": department,
        "department_title": (
            _department_titles(request, [department])[department.id] if department else None  # type: ignore[index]
        ),
        "cycles": cycles,
        "cycle_states": {c.id: _state_title(ctx, lang, c) for c in cycles},
        "duplicates": duplicates,
        "original": original,
        "history": history,
        "names": names,
        "labels": labels(_),
        "verbs": verb_titles(_),
        "decisions": decision_titles(_),
        "may_triage": may_triage,
        "show_triage_form": may_triage and problem.status == ProblemStatus.new,
        "may_edit": policy.can_triage_problem(ctx.actor, problem) is None,
        "may_open_cycle": (
            policy.can_open_cycle_for(ctx.actor, problem.department_id, [problem.department_id])
            is None
            and problem.status in OPEN_STATUSES
        ),
        "triage": triage or {"decision": "", "reason": "", "duplicate_of": ""},
        "errors": errors or {},
        "alert": alert,
        "reason_limit": REASON_LIMIT,
        **evidence_context(ctx, "problem", problem_id, may_triage),
        **_monitoring(ctx, problem, policy.can_triage(ctx.actor) is None),
        "complaints": (
            complaints.complaints_of_problem(ctx, problem_id)
            if problem.source == "complaint"
            else []
        ),
    }


def _monitoring(ctx: Ctx, problem: Problem, may_triage: bool) -> dict[str, Any]:
    """For a problem raised by a KPI: the KPI, each time the rule fired, and recovery."""
    if problem.kpi_id is None:
        return {"kpi": None, "occurrences": [], "recovery": None, "may_resolve": False}
    occurrences = list(
        ctx.session.exec(
            select(ProblemOccurrence)
            .where(ProblemOccurrence.problem_id == problem.id)
            .order_by(col(ProblemOccurrence.at).desc())
            .limit(50)
        )
    )
    recovery = kpis.recovery_of(ctx, problem)
    return {
        "kpi": ctx.session.get(Kpi, problem.kpi_id),
        "occurrences": occurrences,
        "recovery": recovery,
        "may_resolve": may_triage and recovery is not None and recovery.recovered,
    }


def _problem_page(
    request: Request,
    ctx: Ctx,
    problem_id: int,
    *,
    status_code: int = 200,
    flash: tuple[str, str] | None = None,
    **form: Any,
) -> Response:
    context = detail_context(request, ctx, problem_id, **form)
    if flash is not None:
        request.state.flash = flash
    response = render(
        request, "problems/detail.html", context, block="problem", status_code=status_code
    )
    if flash is not None and is_htmx(request):
        with_flash_oob(request, response)
    return response


@router.get("/problems/{problem_id:int}")
def problem_page(request: Request, ctx: PageCtx, problem_id: int) -> Response:
    return _problem_page(request, ctx, problem_id)


@router.post("/problems/{problem_id:int}/category")
def set_category(
    request: Request,
    ctx: PageCtx,
    problem_id: int,
    version: Annotated[int, Form(ge=1)],
    category: Annotated[str, Form(max_length=30)] = "",
) -> Response:
    """What kind of problem it is (the Pareto counts by it); empty: not said."""
    _ = _gettext(request)
    try:
        problems.update_problem(
            ctx, problem_id, version=version, changes={"category": category or None}
        )
    except ServiceError as exc:
        if exc.status_hint == 403:
            raise
        return _problem_page(
            request,
            ctx,
            problem_id,
            status_code=exc.status_hint,
            flash=("error", error_message(exc, request.state.lang)),
        )
    response = RedirectResponse(f"/problems/{problem_id}", status_code=303)
    set_flash(request, response, _("Category saved."))
    return response


def _triage_errors(
    request: Request, problem_id: int, triage: dict[str, str]
) -> tuple[dict[str, str], int | None]:
    _ = _gettext(request)
    errors: dict[str, str] = {}
    original_id = None
    decision = triage["decision"]
    if decision not in TRIAGE_DECISIONS:
        errors["decision"] = _("Choose a decision.")
    if decision == "reject" and not triage["reason"].strip():
        errors["reason"] = _("Say why the problem is rejected: a reason is required.")
    if len(triage["reason"]) > REASON_LIMIT:
        errors["reason"] = _("At most %(n)s characters, please.") % {
            "n": i18n.format_number(REASON_LIMIT, request.state.lang)
        }
    if decision == "duplicate":
        text = triage["duplicate_of"].strip()
        if not text:
            errors["duplicate_of"] = _("Say which problem this one duplicates, e.g. P-12.")
        else:
            try:
                original_id = keys.parse(text, "problem")
            except Invalid:
                errors["duplicate_of"] = _("%(text)s is not a problem key like P-12.") % {
                    "text": text
                }
            else:
                if original_id == problem_id:
                    errors["duplicate_of"] = _("A problem cannot duplicate itself.")
                elif original_id > MAX_ID:
                    errors["duplicate_of"] = _("There is no problem %(key)s.") % {"key": text}
    return errors, original_id


@router.post("/problems/{problem_id:int}/triage")
def triage(
    request: Request,
    ctx: PageCtx,
    problem_id: int,
    version: Annotated[int, Form(ge=1)],
    decision: Annotated[str, Form(max_length=20)] = "",
    reason: Text = "",
    duplicate_of: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    _ = _gettext(request)
    # The page offers no form to those the service would refuse; a forged post is a 403.
    problem = problems.get_problem(ctx, problem_id)  # an unknown problem is a 404
    policy.require(policy.can_triage_problem(ctx.actor, problem))
    form = {"decision": decision, "reason": reason, "duplicate_of": duplicate_of}
    errors, original_id = _triage_errors(request, problem_id, form)
    if errors:
        return _problem_page(request, ctx, problem_id, status_code=422, triage=form, errors=errors)
    try:
        problems.triage_problem(
            ctx,
            problem_id,
            decision=decision,
            reason=reason.strip() or None,
            duplicate_of=original_id,
            version=version,
        )
    except Conflict as exc:
        alert = _("Someone else changed this problem since you opened it. Here it is as it is now.")
        return _problem_page(
            request,
            ctx,
            problem_id,
            status_code=409,
            triage=form,
            alert=f"{alert} {exc.detail}",
        )
    except NotFound:
        # The problem itself was found above: what is missing is the original.
        errors = {"duplicate_of": _("There is no problem %(key)s.") % {"key": duplicate_of}}
        return _problem_page(request, ctx, problem_id, status_code=422, triage=form, errors=errors)
    except Invalid as exc:
        # What only the service can know, e.g. that the original is itself a duplicate.
        errors = {
            "duplicate_of" if decision == "duplicate" else "decision": error_message(
                exc, request.state.lang
            )
        }
        return _problem_page(request, ctx, problem_id, status_code=422, triage=form, errors=errors)
    message = _("%(key)s: %(decision)s.") % {
        "key": keys.key("problem", problem.id),
        "decision": status_titles(_)[problem.status],
    }
    if is_htmx(request):
        return _problem_page(request, ctx, problem_id, flash=("ok", message))
    response = RedirectResponse(f"/problems/{problem_id}", status_code=303)
    set_flash(request, response, message)
    return response


@router.post("/problems/{problem_id:int}/resolve-recovered")
def resolve_recovered(
    request: Request, ctx: PageCtx, problem_id: int, version: Annotated[int, Form(ge=1)]
) -> Response:
    _ = _gettext(request)
    try:
        kpis.resolve_recovered(ctx, problem_id, version=version)
    except ServiceError as exc:
        return _problem_page(
            request,
            ctx,
            problem_id,
            status_code=exc.status_hint,
            flash=("error", error_message(exc, request.state.lang)),
        )
    response = RedirectResponse(f"/problems/{problem_id}", status_code=303)
    set_flash(request, response, _("Resolved: the KPI stayed within its limits."))
    return response
