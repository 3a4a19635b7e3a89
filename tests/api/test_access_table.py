"""Who may call what: every API route × every role, with the status each must get.

The table is the permission model as a client sees it. A route the app serves but
the table does not name fails the suite (a new route needs a rule), and so does a
rule for a route that no longer exists.

Every cell is a real request with a valid body, made with the role's own bearer
token against a world of real data, so a 200 means the thing was done and a 403
means the policy said no (with its reason). Each role gets a fresh world of its own
and calls every route once, in the table's order; so that no cell spoils another's,
each write aims at a row no other route changes (a cycle in Plan to cancel, another
in Check to judge, a done action to verify…), creates rows with names of its own, or
reads the current version just before it writes. A builder whose write would spoil
another route's target must bring its own.

Some routes do different things depending on the body (an action's `start` is the
owner's, its `verify` is a facilitator's): VARIANTS holds those extra rules.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from pdca.models import User
from pdca.services import accounts
from tests.api import access_feedback, access_inspections, access_meetings
from tests.conftest import Org
from tests.personas import PASSWORD

API = "/api/v1"
ROLES = ("anonymous", "viewer", "member", "head", "facilitator", "admin")
# The persona who plays each role (see tests/conftest.py: Org).
PERSONA = {
    "viewer": "vera",
    "member": "mia",  # Customer Service; owns `action_cs` and `action_done`
    "head": "hanna",  # head of Customer Service
    "facilitator": "fiona",  # leads `cycle`; does not lead `cycle_in_check`
    "admin": "admin",
}
SIGNED_IN = ROLES[1:]

Rule = dict[str, int]
Key = tuple[str, str]  # (method, path template)
VariantKey = tuple[str, str, str]  # (method, path template, what the body does)


def public(status: int = 200) -> Rule:
    return dict.fromkeys(ROLES, status)


def signed_in(status: int = 200) -> Rule:
    """Anyone with a valid token: reads, and looking after your own account."""
    return {"anonymous": 401, **dict.fromkeys(SIGNED_IN, status)}


def only(status: int, *roles: str) -> Rule:
    """`roles` get `status`; every other signed-in role is refused (403)."""
    assert set(roles) <= set(SIGNED_IN)
    return {"anonymous": 401, **{r: status if r in roles else 403 for r in SIGNED_IN}}


READ = signed_in(200)
WORKERS = ("member", "head", "facilitator", "admin")  # everyone but the viewer
STAFF = ("facilitator", "admin")

TABLE: dict[Key, Rule] = {
    # operations and documentation: no credentials needed
    ("GET", "/healthz"): public(),
    ("GET", f"{API}/openapi.json"): public(),
    ("GET", f"{API}/docs"): public(),
    # what each kind of error means: the `type` of an error answer leads here
    ("GET", f"{API}/errors"): public(),
    ("GET", f"{API}/errors/{{kind}}"): public(),
    # organisation: everyone reads it; only administrators change it
    ("GET", f"{API}/departments"): READ,
    ("POST", f"{API}/departments"): only(201, "admin"),
    ("GET", f"{API}/users"): READ,
    ("POST", f"{API}/users"): only(201, "admin"),
    ("GET", f"{API}/users/me"): READ,
    ("GET", f"{API}/users/{{user_id}}"): READ,
    ("PATCH", f"{API}/users/{{user_id}}"): only(200, "admin"),
    ("POST", f"{API}/users/{{user_id}}/deactivate"): only(200, "admin"),  # Vera
    ("POST", f"{API}/users/{{user_id}}/activate"): only(200, "admin"),
    ("GET", f"{API}/departments/{{department_id}}"): READ,
    ("PATCH", f"{API}/departments/{{department_id}}"): only(200, "admin"),
    # accounts: your own tokens and sessions (a viewer needs a token to read through the API)
    ("GET", f"{API}/tokens"): READ,
    ("POST", f"{API}/tokens"): signed_in(201),
    ("DELETE", f"{API}/tokens/{{token_id}}"): only(200, "admin"),  # someone else's token
    ("POST", f"{API}/session"): public(),  # signing in needs no token, only the password
    ("DELETE", f"{API}/session"): signed_in(204),
    # problems: everyone but a viewer reports; facilitators and the department's head triage
    ("GET", f"{API}/problems"): READ,
    ("POST", f"{API}/problems"): only(201, *WORKERS),
    ("GET", f"{API}/problems/{{problem_id}}"): READ,
    ("PATCH", f"{API}/problems/{{problem_id}}"): only(200, "head", *STAFF),  # CS's
    ("POST", f"{API}/problems/{{problem_id}}/triage"): only(200, "head", *STAFF),  # CS's
    # resolving a recovered KPI problem is staff's; the world's problem was not raised by a
    # KPI, so staff pass the permission check and are told why (409)
    ("POST", f"{API}/problems/{{problem_id}}/resolve-recovered"): only(409, *STAFF),
    # cycles: facilitators (and heads, for their department) open them; facilitators run
    # them; effectiveness is judged by someone not the lead
    ("GET", f"{API}/cycles"): READ,
    ("POST", f"{API}/cycles"): only(201, "head", *STAFF),  # on CS's problem, for CS
    ("GET", f"{API}/cycles/{{cycle_id}}"): READ,
    ("PATCH", f"{API}/cycles/{{cycle_id}}"): only(200, *STAFF),
    ("GET", f"{API}/cycles/{{cycle_id}}/transitions"): READ,
    ("POST", f"{API}/cycles/{{cycle_id}}/transitions"): only(200, *STAFF),  # Frank's cycle
    ("POST", f"{API}/cycles/{{cycle_id}}/effectiveness"): only(200, "head", *STAFF),
    # actions: heads plan and re-date their department's; owners start and complete theirs
    ("GET", f"{API}/actions"): READ,
    ("POST", f"{API}/actions"): only(201, "head", *STAFF),  # an action for CS
    ("GET", f"{API}/actions/{{action_id}}"): READ,
    ("PATCH", f"{API}/actions/{{action_id}}"): only(200, "head", *STAFF),  # Mia's, CS
    ("GET", f"{API}/actions/{{action_id}}/transitions"): READ,
    ("POST", f"{API}/actions/{{action_id}}/transitions"): only(200, *WORKERS),  # Mia starts hers
    # dependencies: whoever manages the action (its department's head, staff) edits them
    ("POST", f"{API}/actions/{{action_id}}/dependencies"): only(200, "head", *STAFF),
    ("PUT", f"{API}/actions/{{action_id}}/dependencies"): only(200, "head", *STAFF),
    ("DELETE", f"{API}/actions/{{action_id}}/dependencies/{{depends_on_id}}"): only(
        200, "head", *STAFF
    ),
    # evidence: everyone reads and downloads; everyone but a viewer uploads; the uploader
    # or whoever manages the record deletes (here the administrator uploaded it on Mia's action)
    **{
        (method, f"{API}/{collection}/{{entity_id}}/evidence"): rule
        for collection in ("actions", "cycles", "problems")
        for method, rule in (("GET", READ), ("POST", only(201, *WORKERS)))
    },
    ("GET", f"{API}/evidence/{{evidence_id}}"): READ,
    ("DELETE", f"{API}/evidence/{{evidence_id}}"): only(204, "head", *STAFF),
    # comments: everyone but a viewer
    ("GET", f"{API}/comments"): READ,
    ("POST", f"{API}/comments"): only(201, *WORKERS),
    # KPIs: facilitators and the department's head manage them; its people record points
    ("GET", f"{API}/kpis"): READ,
    ("POST", f"{API}/kpis"): only(201, "head", *STAFF),  # a KPI for CS
    ("GET", f"{API}/kpis/{{kpi_id}}"): READ,
    ("GET", f"{API}/kpis/{{kpi_id}}/spc"): READ,
    # phase I and recalculated limits are staff's: the world's KPI has two points (both
    # in its baseline), too few for limits to freeze, and no cycle proposes new ones
    ("GET", f"{API}/kpis/{{kpi_id}}/baseline"): READ,
    ("POST", f"{API}/kpis/{{kpi_id}}/baseline/exclusions"): only(200, *STAFF),
    ("POST", f"{API}/kpis/{{kpi_id}}/baseline/inclusions"): only(200, *STAFF),
    ("POST", f"{API}/kpis/{{kpi_id}}/limits/freeze"): only(409, *STAFF),
    ("POST", f"{API}/kpis/{{kpi_id}}/limits/unfreeze"): only(409, *STAFF),
    ("POST", f"{API}/kpis/{{kpi_id}}/limits/recalculate"): only(409, *STAFF),
    ("PATCH", f"{API}/kpis/{{kpi_id}}"): only(200, "head", *STAFF),  # CS's service level
    ("GET", f"{API}/kpis/{{kpi_id}}/measurements"): READ,
    ("POST", f"{API}/kpis/{{kpi_id}}/measurements"): only(200, *WORKERS),  # CS's, Mia's
    ("GET", f"{API}/scorecard"): READ,
    ("GET", f"{API}/pareto"): READ,
    # the trail's hash chain: administrators, facilitators and viewers (the auditors)
    ("GET", f"{API}/trail/verification"): only(200, "viewer", *STAFF),
    ("POST", f"{API}/trail/verification"): only(201, "viewer", *STAFF),
    ("GET", f"{API}/trail/export"): only(200, "viewer", *STAFF),
    # workflows, board, audit trail: read only
    ("GET", f"{API}/workflows"): READ,
    ("GET", f"{API}/workflows/{{name}}"): READ,
    ("GET", f"{API}/workflows/{{name}}/diagram"): READ,
    ("GET", f"{API}/board"): READ,
    ("GET", f"{API}/events"): READ,
    # notifications: your own inbox and preferences, whatever your role; administrators
    # register webhooks and set the escalation ladder, which everyone may read
    ("GET", f"{API}/notifications"): READ,
    ("POST", f"{API}/notifications/read"): signed_in(200),
    ("GET", f"{API}/notifications/preferences"): READ,
    ("PUT", f"{API}/notifications/preferences"): signed_in(200),
    ("GET", f"{API}/webhooks"): only(200, "admin"),
    ("POST", f"{API}/webhooks"): only(201, "admin"),
    ("PATCH", f"{API}/webhooks/{{webhook_id}}"): only(200, "admin"),
    ("GET", f"{API}/escalation-ladder"): READ,
    ("PUT", f"{API}/escalation-ladder"): only(200, "admin"),
}
TABLE |= access_meetings.table()
TABLE |= access_feedback.table()
TABLE |= access_inspections.table()

VARIANTS: dict[VariantKey, Rule] = {
    # Revoking your own token is yours to do, whatever your role.
    ("DELETE", f"{API}/tokens/{{token_id}}", "own token"): signed_in(200),
    # Hanna heads Customer Service: IT's actions are not hers to plan or re-date.
    ("POST", f"{API}/actions", "for another department"): only(201, *STAFF),
    ("PATCH", f"{API}/actions/{{action_id}}", "of another department"): only(200, *STAFF),
    ("POST", f"{API}/actions/{{action_id}}/dependencies", "of another department"): only(
        200, *STAFF
    ),
    # Hanna heads Customer Service: IT's problems are not hers to triage or open cycles on.
    ("POST", f"{API}/problems/{{problem_id}}/triage", "of another department"): only(200, *STAFF),
    ("POST", f"{API}/cycles", "for another department"): only(201, *STAFF),
    # Mia works on her own actions only; Max's belongs to IT.
    ("POST", f"{API}/actions/{{action_id}}/transitions", "start someone else's"): only(200, *STAFF),
    # IT's KPI is not Hanna's to change, nor Mia's to record.
    ("PATCH", f"{API}/kpis/{{kpi_id}}", "of another department"): only(200, *STAFF),
    ("POST", f"{API}/kpis/{{kpi_id}}/measurements", "of another department"): only(200, *STAFF),
    # Verifying is a facilitator's signed act, and never the owner's (Mia owns it).
    ("POST", f"{API}/actions/{{action_id}}/transitions", "verify"): only(200, *STAFF),
}

# A refusal carries the policy's reason; for a viewer it is this one, except where the
# route has a more specific thing to say.
VIEWER_REASON = "Viewers have read-only access."
OTHER_VIEWER_REASONS = {
    ("DELETE", f"{API}/tokens/{{token_id}}"): "only revoke your own tokens",
    ("PUT", f"{API}/inspections/{{inspection_id}}/answers"): "named on an inspection fills it",
    ("POST", f"{API}/inspections/{{inspection_id}}/submit"): "named on an inspection fills it",
    # A viewer may be an outside expert named on a review: the refusal says who scores.
    ("PUT", f"{API}/inspections/{{inspection_id}}/reviews/mine"): "reviewers named on this review",
}


# --- request builders ---------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    json: Any = None
    params: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Any] | None = None


@dataclass
class Here:
    """What a builder may use: the world's ids, the caller, a way to read versions."""

    world: Any  # tests/api/conftest.py: World
    org: Org
    today: date
    caller: User | None  # None: the anonymous caller
    client: TestClient
    admin_headers: dict[str, str]
    make_token: Callable[[int], int]
    # A persona's bearer headers, for a builder that sets a cell up as someone else.
    headers_of: Callable[[str], dict[str, str]] = lambda _persona: {}

    def version(self, path: str) -> int:
        """The version a client would read before writing (a write carries it)."""
        response = self.client.get(f"{API}{path}", headers=self.admin_headers)
        assert response.status_code == 200, response.text
        return int(response.json()["version"])

    def days(self, n: int) -> str:
        return (self.today + timedelta(days=n)).isoformat()


Builder = Callable[[Here], Request]


def get(path: str, **params: Any) -> Builder:
    return lambda h: Request("GET", path.format(**_ids(h)), params=params)


def _ids(h: Here) -> dict[str, Any]:
    w = h.world
    return {
        "user_id": h.org.max.id,
        "problem_id": w.problem,
        "cycle_id": w.cycle,
        "action_id": w.action_cs,
        "token_id": w.spare_token,
        "kpi_id": w.kpi,
        "name": "pdca",
    }


def _own_token(h: Here) -> Request:
    user_id = h.caller.id if h.caller else h.org.max.id
    return Request("DELETE", f"{API}/tokens/{h.make_token(user_id)}")  # type: ignore[arg-type]


def _action_transition(action: Callable[[Any], int], trigger: str, **extra: Any) -> Builder:
    def build(h: Here) -> Request:
        action_id = action(h.world)
        body = {"trigger": trigger, "version": h.version(f"/actions/{action_id}"), **extra}
        return Request("POST", f"{API}/actions/{action_id}/transitions", body)

    return build


def _redate(action: Callable[[Any], int]) -> Builder:
    def build(h: Here) -> Request:
        action_id = action(h.world)
        body = {
            "version": h.version(f"/actions/{action_id}"),
            "deadline": h.days(21),
            "note": "The supplier moved the delivery.",
        }
        return Request("PATCH", f"{API}/actions/{action_id}", body)

    return build


def _new_action(department: Callable[[Org], int]) -> Builder:
    return lambda h: Request(
        "POST",
        f"{API}/actions",
        {
            "cycle_id": h.world.cycle,
            "title": "Train the counter staff",
            "department_id": department(h.org),
            "owner_id": h.org.mia.id if department(h.org) == h.org.cs else h.org.max.id,
            "deadline": h.days(10),
            "kind": "preventive",
        },
    )


def _retarget(kpi: Callable[[Any], int]) -> Builder:
    def build(h: Here) -> Request:
        kpi_id = kpi(h.world)
        body = {"version": h.version(f"/kpis/{kpi_id}"), "target": 85, "note": "New contract"}
        return Request("PATCH", f"{API}/kpis/{kpi_id}", body)

    return build


def _measure(kpi: Callable[[Any], int]) -> Builder:
    return lambda h: Request(
        "POST",
        f"{API}/kpis/{kpi(h.world)}/measurements",
        [{"at": f"{h.today.isoformat()}T08:00:00Z", "value": 81.5}],
    )


def _it_problem(h: Here) -> dict[str, Any]:
    """A new problem of IT, reported (by the administrator) for this cell alone."""
    response = h.client.post(
        f"{API}/problems",
        json={"title": "The VPN drops at noon", "source": "internal", "department_id": h.org.it},
        headers=h.admin_headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


def _triage_it(h: Here) -> Request:
    problem = _it_problem(h)
    body = {"decision": "accept", "version": problem["version"]}
    return Request("POST", f"{API}/problems/{problem['id']}/triage", body)


def _cycle_for_it(h: Here) -> Request:
    problem = _it_problem(h)
    body = {
        "title": "A stable VPN, second look",
        "workflow": "pdca",
        "lead_id": h.org.frank.id,
        "department_id": h.org.it,
        "problem_ids": [problem["id"]],
    }
    return Request("POST", f"{API}/cycles", body)


EVIDENCE_ON = {"actions": "action_cs", "cycles": "cycle", "problems": "problem"}


def _uploaded(h: Here) -> int:
    """A file on Mia's action, uploaded by the administrator for this cell alone."""
    response = h.client.post(
        f"{API}/actions/{h.world.action_cs}/evidence",
        files={"file": ("minutes.txt", b"Agreed on Monday.", "text/plain")},
        headers=h.admin_headers,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _evidence_builders() -> dict[Key, Builder]:
    made: dict[Key, Builder] = {}
    for collection, name in EVIDENCE_ON.items():
        path = f"{API}/{collection}/{{entity_id}}/evidence"

        def url(h: Here, collection: str = collection, name: str = name) -> str:
            return f"{API}/{collection}/{getattr(h.world, name)}/evidence"

        made[("GET", path)] = lambda h, url=url: Request("GET", url(h))
        made[("POST", path)] = lambda h, url=url: Request(
            "POST", url(h), files={"file": ("photo.png", b"\x89PNG not really", "image/png")}
        )
    made[("GET", f"{API}/evidence/{{evidence_id}}")] = lambda h: Request(
        "GET", f"{API}/evidence/{_uploaded(h)}"
    )
    made[("DELETE", f"{API}/evidence/{{evidence_id}}")] = lambda h: Request(
        "DELETE", f"{API}/evidence/{_uploaded(h)}"
    )
    return made


def _depend(action: Callable[[Any], int]) -> Builder:
    """Make the action wait for the done one: a done blocker blocks nothing else."""

    def build(h: Here) -> Request:
        action_id = action(h.world)
        body = {"depends_on_id": h.world.action_done, "version": h.version(f"/actions/{action_id}")}
        return Request("POST", f"{API}/actions/{action_id}/dependencies", body)

    return build


def _replace_dependencies(h: Here) -> Request:
    action_id = h.world.action_cs
    body = {"depends_on": [h.world.action_done], "version": h.version(f"/actions/{action_id}")}
    return Request("PUT", f"{API}/actions/{action_id}/dependencies", body)


def _undepend(h: Here) -> Request:
    # Brings its own link (made by the administrator), whatever the cells before did.
    action_id, done = h.world.action_cs, h.world.action_done
    response = h.client.put(
        f"{API}/actions/{action_id}/dependencies",
        json={"depends_on": [done], "version": h.version(f"/actions/{action_id}")},
        headers=h.admin_headers,
    )
    assert response.status_code == 200, response.text
    return Request(
        "DELETE",
        f"{API}/actions/{action_id}/dependencies/{done}",
        params={"version": response.json()["version"]},
    )


def _preferences(h: Here) -> Request:
    """Each caller saves their own preferences (version 0: never saved before)."""
    return Request(
        "PUT",
        f"{API}/notifications/preferences",
        {
            "version": 0,
            "kinds": ["assigned", "overdue"],
            "urgent_kinds": ["overdue"],
            "digest_hour": 8,
            "time_zone": "Asia/Shanghai",
            "due_soon_days": 3,
        },
    )


def _pause_hook(h: Here) -> Request:
    """A hook of its own (made by the administrator), paused by the caller."""
    made = h.client.post(
        f"{API}/webhooks",
        json={"url": "https://crm.example.org/pdca", "kinds": ["problem.raised"]},
        headers=h.admin_headers,
    )
    assert made.status_code == 201, made.text
    hook = made.json()
    return Request(
        "PATCH",
        f"{API}/webhooks/{hook['id']}",
        {"url": hook["url"], "kinds": hook["kinds"], "version": hook["version"], "active": False},
    )


BUILDERS: dict[Key | VariantKey, Builder] = {
    ("GET", "/healthz"): get("/healthz"),
    ("GET", f"{API}/openapi.json"): get(f"{API}/openapi.json"),
    ("GET", f"{API}/docs"): get(f"{API}/docs"),
    ("GET", f"{API}/errors"): get(f"{API}/errors"),
    ("GET", f"{API}/trail/verification"): get(f"{API}/trail/verification"),
    ("POST", f"{API}/trail/verification"): lambda h: Request("POST", f"{API}/trail/verification"),
    ("GET", f"{API}/trail/export"): get(f"{API}/trail/export", format="csv"),
    ("GET", f"{API}/errors/{{kind}}"): get(f"{API}/errors/stale-version"),
    ("GET", f"{API}/departments"): get(f"{API}/departments", q="s", sort="-name"),
    ("POST", f"{API}/departments"): lambda h: Request(
        "POST",
        f"{API}/departments",
        {"code": "QA", "name": "Quality Assurance", "name_zh": "质量保证部"},
    ),
    ("GET", f"{API}/users"): get(f"{API}/users", role="member", sort="email"),
    ("PATCH", f"{API}/users/{{user_id}}"): lambda h: Request(
        "PATCH",
        f"{API}/users/{h.org.max.id}",
        {"version": h.version(f"/users/{h.org.max.id}"), "name": "Max Mustermann"},
    ),
    ("POST", f"{API}/users/{{user_id}}/deactivate"): lambda h: Request(
        "POST",
        f"{API}/users/{h.org.vera.id}/deactivate",
        {"version": h.version(f"/users/{h.org.vera.id}")},
    ),
    ("POST", f"{API}/users/{{user_id}}/activate"): lambda h: Request(
        "POST",
        f"{API}/users/{h.org.vera.id}/activate",
        {"version": h.version(f"/users/{h.org.vera.id}")},
    ),
    ("GET", f"{API}/departments/{{department_id}}"): lambda h: Request(
        "GET", f"{API}/departments/{h.org.billing}"
    ),
    ("PATCH", f"{API}/departments/{{department_id}}"): lambda h: Request(
        "PATCH",
        f"{API}/departments/{h.org.billing}",
        {"version": h.version(f"/departments/{h.org.billing}"), "name": "Billing and Payments"},
    ),
    ("PATCH", f"{API}/problems/{{problem_id}}"): lambda h: Request(
        "PATCH",
        f"{API}/problems/{h.world.problem}",
        {"version": h.version(f"/problems/{h.world.problem}"), "severity": "critical"},
    ),
    ("POST", f"{API}/users"): lambda h: Request(
        "POST",
        f"{API}/users",
        {
            "email": "li.na@example.com",
            "name": "Li Na",
            "role": "member",
            "department_code": "BIL",
            "password": "a long enough password",
            "locale": "zh_CN",
        },
    ),
    ("GET", f"{API}/users/me"): get(f"{API}/users/me"),
    ("GET", f"{API}/users/{{user_id}}"): get(f"{API}/users/{{user_id}}"),
    ("GET", f"{API}/tokens"): get(f"{API}/tokens"),
    ("POST", f"{API}/tokens"): lambda h: Request(
        "POST", f"{API}/tokens", {"name": "monitoring", "expires_in_days": 30}
    ),
    ("DELETE", f"{API}/tokens/{{token_id}}"): lambda h: Request(
        "DELETE", f"{API}/tokens/{h.world.spare_token}"
    ),
    ("DELETE", f"{API}/tokens/{{token_id}}", "own token"): _own_token,
    ("POST", f"{API}/session"): lambda h: Request(
        "POST",
        f"{API}/session",
        {"email": (h.caller or h.org.mia).email, "password": PASSWORD},
    ),
    ("DELETE", f"{API}/session"): lambda h: Request("DELETE", f"{API}/session"),
    ("GET", f"{API}/problems"): get(f"{API}/problems", status="new", q="lunch"),
    ("POST", f"{API}/problems"): lambda h: Request(
        "POST",
        f"{API}/problems",
        {
            "title": "Invoices list the wrong VAT rate",
            "source": "audit",
            "severity": "medium",
            "department_id": h.org.billing,
            "evidence": "Audit finding 2026-17",
        },
    ),
    ("GET", f"{API}/problems/{{problem_id}}"): get(f"{API}/problems/{{problem_id}}"),
    ("POST", f"{API}/problems/{{problem_id}}/triage"): lambda h: Request(
        "POST",
        f"{API}/problems/{h.world.problem}/triage",
        {"decision": "accept", "version": h.version(f"/problems/{h.world.problem}")},
    ),
    ("POST", f"{API}/problems/{{problem_id}}/triage", "of another department"): _triage_it,
    ("POST", f"{API}/problems/{{problem_id}}/resolve-recovered"): lambda h: Request(
        "POST",
        f"{API}/problems/{h.world.problem}/resolve-recovered",
        {"version": h.version(f"/problems/{h.world.problem}")},
    ),
    ("POST", f"{API}/cycles", "for another department"): _cycle_for_it,
    ("GET", f"{API}/cycles"): get(f"{API}/cycles", state="do", open_only="true"),
    ("POST", f"{API}/cycles"): lambda h: Request(
        "POST",
        f"{API}/cycles",
        {
            "title": "Refunds, second look",
            "workflow": "pdca",
            "lead_id": h.org.fiona.id,
            "problem_ids": [h.world.cycle_problem],
            "member_ids": [h.org.mia.id],
            "fields": {"objective": "Refund within 3 days"},
        },
    ),
    ("GET", f"{API}/cycles/{{cycle_id}}"): get(f"{API}/cycles/{{cycle_id}}"),
    ("PATCH", f"{API}/cycles/{{cycle_id}}"): lambda h: Request(
        "PATCH",
        f"{API}/cycles/{h.world.cycle}",
        {
            "version": h.version(f"/cycles/{h.world.cycle}"),
            "fields": {"objective": "Refund within 4 working days"},
            "note": "Agreed with finance",
        },
    ),
    ("GET", f"{API}/cycles/{{cycle_id}}/transitions"): get(
        f"{API}/cycles/{{cycle_id}}/transitions"
    ),
    ("POST", f"{API}/cycles/{{cycle_id}}/transitions"): lambda h: Request(
        "POST",
        f"{API}/cycles/{h.world.cycle_in_plan}/transitions",
        {
            "trigger": "cancel",
            "version": h.version(f"/cycles/{h.world.cycle_in_plan}"),
            "note": "Superseded by the identity project.",
        },
    ),
    ("POST", f"{API}/cycles/{{cycle_id}}/effectiveness"): lambda h: Request(
        "POST",
        f"{API}/cycles/{h.world.cycle_in_check}/effectiveness",
        {
            "effective": True,
            "note": "Resets take 30 minutes now.",
            "version": h.version(f"/cycles/{h.world.cycle_in_check}"),
        },
    ),
    ("GET", f"{API}/actions"): get(f"{API}/actions", status="open", overdue="false"),
    ("POST", f"{API}/actions"): _new_action(lambda org: org.cs),
    ("POST", f"{API}/actions", "for another department"): _new_action(lambda org: org.it),
    ("GET", f"{API}/actions/{{action_id}}"): get(f"{API}/actions/{{action_id}}"),
    ("PATCH", f"{API}/actions/{{action_id}}"): _redate(lambda w: w.action_cs),
    ("PATCH", f"{API}/actions/{{action_id}}", "of another department"): _redate(
        lambda w: w.action_it
    ),
    ("GET", f"{API}/actions/{{action_id}}/transitions"): get(
        f"{API}/actions/{{action_id}}/transitions"
    ),
    ("POST", f"{API}/actions/{{action_id}}/transitions"): _action_transition(
        lambda w: w.action_cs, "start"
    ),
    ("POST", f"{API}/actions/{{action_id}}/transitions", "start someone else's"): (
        _action_transition(lambda w: w.action_it, "start")
    ),
    ("POST", f"{API}/actions/{{action_id}}/transitions", "verify"): _action_transition(
        lambda w: w.action_done,
        "verify",
        effective=True,
        note="The checklist is on the counter.",
        signature={"meaning": "verified effective", "password": PASSWORD},
    ),
    ("POST", f"{API}/actions/{{action_id}}/dependencies"): _depend(lambda w: w.action_cs),
    ("POST", f"{API}/actions/{{action_id}}/dependencies", "of another department"): _depend(
        lambda w: w.action_it
    ),
    ("PUT", f"{API}/actions/{{action_id}}/dependencies"): _replace_dependencies,
    ("DELETE", f"{API}/actions/{{action_id}}/dependencies/{{depends_on_id}}"): _undepend,
    **_evidence_builders(),
    ("GET", f"{API}/comments"): lambda h: Request(
        "GET", f"{API}/comments", params={"entity_type": "cycle", "entity_id": h.world.cycle}
    ),
    ("POST", f"{API}/comments"): lambda h: Request(
        "POST",
        f"{API}/comments",
        {"entity_type": "action", "entity_id": h.world.action_it, "body": "IT can help here."},
    ),
    ("GET", f"{API}/kpis"): lambda h: Request(
        "GET", f"{API}/kpis", params={"department_id": h.org.cs, "perspective": "customer"}
    ),
    ("POST", f"{API}/kpis"): lambda h: Request(
        "POST",
        f"{API}/kpis",
        {
            "code": "CS-AHT",
            "name": "Average handling time",
            "unit": "s",
            "department_id": h.org.cs,
            "direction": "lower",
            "target": 300,
            "warning_limit": 330,
            "breach_limit": 360,
            "perspective": "internal_process",
        },
    ),
    ("GET", f"{API}/kpis/{{kpi_id}}"): get(f"{API}/kpis/{{kpi_id}}"),
    ("GET", f"{API}/kpis/{{kpi_id}}/spc"): lambda h: Request(
        "GET", f"{API}/kpis/{h.world.kpi}/spc"
    ),
    ("GET", f"{API}/kpis/{{kpi_id}}/baseline"): lambda h: Request(
        "GET", f"{API}/kpis/{h.world.kpi}/baseline"
    ),
    ("POST", f"{API}/kpis/{{kpi_id}}/baseline/exclusions"): lambda h: Request(
        "POST",
        f"{API}/kpis/{h.world.kpi}/baseline/exclusions",
        {
            "at": f"{h.days(-1)}T09:00:00Z",
            "reason": "Phone outage",
            "version": h.version(f"/kpis/{h.world.kpi}"),
        },
    ),
    ("POST", f"{API}/kpis/{{kpi_id}}/baseline/inclusions"): lambda h: Request(
        "POST",
        f"{API}/kpis/{h.world.kpi}/baseline/inclusions",
        {"at": f"{h.days(-1)}T09:00:00Z", "version": h.version(f"/kpis/{h.world.kpi}")},
    ),
    ("POST", f"{API}/kpis/{{kpi_id}}/limits/freeze"): lambda h: Request(
        "POST",
        f"{API}/kpis/{h.world.kpi}/limits/freeze",
        {"version": h.version(f"/kpis/{h.world.kpi}")},
    ),
    ("POST", f"{API}/kpis/{{kpi_id}}/limits/unfreeze"): lambda h: Request(
        "POST",
        f"{API}/kpis/{h.world.kpi}/limits/unfreeze",
        {"version": h.version(f"/kpis/{h.world.kpi}")},
    ),
    ("POST", f"{API}/kpis/{{kpi_id}}/limits/recalculate"): lambda h: Request(
        "POST",
        f"{API}/kpis/{h.world.kpi}/limits/recalculate",
        {"cycle_id": h.world.cycle, "version": h.version(f"/kpis/{h.world.kpi}")},
    ),
    ("PATCH", f"{API}/kpis/{{kpi_id}}"): _retarget(lambda w: w.kpi),
    ("PATCH", f"{API}/kpis/{{kpi_id}}", "of another department"): _retarget(lambda w: w.kpi_it),
    ("GET", f"{API}/kpis/{{kpi_id}}/measurements"): lambda h: Request(
        "GET",
        f"{API}/kpis/{h.world.kpi}/measurements",
        params={"from": f"{h.days(-7)}T00:00:00Z", "to": f"{h.days(1)}T00:00:00Z"},
    ),
    ("POST", f"{API}/kpis/{{kpi_id}}/measurements"): _measure(lambda w: w.kpi),
    ("POST", f"{API}/kpis/{{kpi_id}}/measurements", "of another department"): _measure(
        lambda w: w.kpi_it
    ),
    ("GET", f"{API}/scorecard"): get(f"{API}/scorecard"),
    ("GET", f"{API}/pareto"): get(f"{API}/pareto", by="department"),
    ("GET", f"{API}/workflows"): get(f"{API}/workflows"),
    ("GET", f"{API}/workflows/{{name}}"): get(f"{API}/workflows/{{name}}"),
    ("GET", f"{API}/workflows/{{name}}/diagram"): get(
        f"{API}/workflows/{{name}}/diagram", current="do", lang="zh_CN"
    ),
    ("GET", f"{API}/board"): lambda h: Request(
        "GET", f"{API}/board", params={"department_id": [h.org.cs, h.org.it], "q": "refund"}
    ),
    ("GET", f"{API}/events"): lambda h: Request(
        "GET", f"{API}/events", params={"entity_type": "cycle", "entity_id": h.world.cycle}
    ),
    ("GET", f"{API}/notifications"): get(f"{API}/notifications", unread="true"),
    ("POST", f"{API}/notifications/read"): lambda h: Request(
        "POST", f"{API}/notifications/read", {"up_to": 1000}
    ),
    ("GET", f"{API}/notifications/preferences"): get(f"{API}/notifications/preferences"),
    ("PUT", f"{API}/notifications/preferences"): _preferences,
    ("GET", f"{API}/webhooks"): get(f"{API}/webhooks"),
    ("POST", f"{API}/webhooks"): lambda h: Request(
        "POST",
        f"{API}/webhooks",
        {"url": "https://desk.example.org/hooks/pdca", "kinds": ["action.done"]},
    ),
    ("PATCH", f"{API}/webhooks/{{webhook_id}}"): _pause_hook,
    ("GET", f"{API}/escalation-ladder"): get(f"{API}/escalation-ladder"),
    ("PUT", f"{API}/escalation-ladder"): lambda h: Request(
        "PUT",
        f"{API}/escalation-ladder",
        {
            "version": h.client.get(f"{API}/escalation-ladder", headers=h.admin_headers).json()[
                "version"
            ],
            "steps": [{"days": 0, "to": "owner"}, {"days": 2, "to": "head"}],
        },
    ),
}
BUILDERS |= access_meetings.builders()
BUILDERS |= access_feedback.builders()
BUILDERS |= access_inspections.builders()


# --- the routes the app serves ----------------------------------------------------------


def served_routes(app) -> set[Key]:  # type: ignore[no-untyped-def]
    """(method, path) of every route under /api/v1, and /healthz."""
    served = set()
    for route in iter_route_contexts(app.routes):
        path = route.path or ""
        if not (path.startswith(f"{API}/") or path == "/healthz"):
            continue
        is_api = isinstance(route.original_route, APIRoute)
        for method in route.methods or ():
            if method == "HEAD" and not is_api:
                continue  # Starlette adds HEAD to every GET route it serves
            served.add((method, path))
    return served


def test_the_table_has_a_rule_for_every_route_and_only_for_real_routes(app):
    served = served_routes(app)
    assert served, "no routes found: has the way FastAPI lists routes changed?"
    missing = sorted(served - set(TABLE))
    assert not missing, f"routes without a rule in TABLE (add one): {missing}"
    stale = sorted(set(TABLE) - served)
    assert not stale, f"rules for routes the app does not serve (remove them): {stale}"
    orphans = sorted(v for v in VARIANTS if v[:2] not in TABLE)
    assert not orphans, f"variants of routes the app does not serve: {orphans}"
    for rules in (*TABLE.values(), *VARIANTS.values()):
        assert set(rules) == set(ROLES)
    assert set(BUILDERS) == set(TABLE) | set(VARIANTS), "every rule needs a request builder"


# --- the cells ----------------------------------------------------------------------------


def _label(key: Key | VariantKey) -> str:
    return " ".join(key[:2]).replace(API, "") + (f" ({key[2]})" if len(key) == 3 else "")


def _rule(key: Key | VariantKey) -> Rule:
    return VARIANTS[key] if len(key) == 3 else TABLE[key]  # type: ignore[index]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_status_the_policy_gives_it(
    role: str, client, org, world, tokens, auth, clock, as_user
):
    def make_token(user_id: int) -> int:
        new = accounts.create_token(as_user(None), user_id, name="to revoke")
        return new.token.id  # type: ignore[return-value]

    caller = getattr(org, PERSONA[role]) if role in PERSONA else None
    here = Here(
        world,
        org,
        clock.today(),
        caller,
        client,
        auth(tokens["admin"]),
        make_token,
        lambda persona: auth(tokens[persona]),
    )
    wrong = []
    for key in (*TABLE, *VARIANTS):
        expected = _rule(key)[role]
        request = BUILDERS[key](here)
        client.cookies.clear()  # signing in sets a session cookie: no cell may carry it on
        response = client.request(
            request.method,
            request.url,
            json=request.json,
            params=request.params,
            files=request.files,
            headers=auth(tokens[PERSONA[role]] if caller else None),
        )
        if response.status_code != expected:
            wrong.append(
                f"{_label(key)} as {role}: expected {expected}, "
                f"got {response.status_code}: {response.text[:300]}"
            )
        else:
            wrong += [f"{_label(key)} as {role}: {p}" for p in _body_problems(key, role, response)]
    assert not wrong, "\n".join(wrong)


def _body_problems(key: Key | VariantKey, role: str, response) -> list[str]:  # type: ignore[no-untyped-def]
    """What is wrong with a response that has the right status (nothing, one hopes)."""
    status = response.status_code
    content_type = response.headers.get("content-type", "")
    if status < 400:
        downloads = key[1] in (
            f"{API}/docs",
            f"{API}/evidence/{{evidence_id}}",
            f"{API}/trail/export",
        )
        wants_json = status != 204 and not downloads
        if wants_json and not content_type.startswith("application/json"):
            return [f"content-type {content_type}"]
        return []
    if not content_type.startswith("application/problem+json"):
        return [f"an error as {content_type}, not application/problem+json"]
    problem = response.json()
    found = []
    if problem.get("status") != status or not problem.get("title") or not problem.get("detail"):
        found.append(f"an incomplete problem: {problem}")
    if status == 401 and response.headers.get("www-authenticate") != "Bearer":
        found.append("a 401 without 'WWW-Authenticate: Bearer'")
    if status == 403 and role == "viewer":
        reason = OTHER_VIEWER_REASONS.get(key[:2], VIEWER_REASON)  # type: ignore[arg-type]
        if reason not in problem.get("detail", ""):
            found.append(f"refused without saying {reason!r}: {problem}")
    return found
