"""The OpenAPI document as a contract a client can be generated from.

FastAPI writes the operations and schemas from the routes; this adds what it cannot
know: how a client authenticates, which errors each operation can answer (as
problem+json), the headers of created and versioned resources, the workflow names
and triggers the server knows, and links that lead from a problem to its cycle, the
cycle's actions and their transitions (for clients and for stateful testing).
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from pdca.services.catalog import WorkflowCatalog
from pdca.web.errors import PROBLEM_JSON, PROBLEM_TYPES, type_uri

API = "/api/v1"
WRITES = {"post", "put", "patch", "delete"}
PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetail"}
# Operations anyone may call: the error descriptions and signing in.
OPEN = {(f"{API}/errors", "get"), (f"{API}/errors/{{kind}}", "get"), (f"{API}/session", "post")}
# Created things without a URL of their own (a token is shown once; comments are listed).
# Reads that depend on the state of what they read (minutes exist once a meeting ended).
READS_THAT_CLASH = {(f"{API}/meetings/{{meeting_id}}/minutes", "get")}
# Reads whose optional filter names a row that must exist (an unknown one is a 404, not
# an empty answer that would look like "no gap").
READS_THAT_LOOK_UP = {(f"{API}/gap-analysis", "get")}
NO_LOCATION = {
    f"{API}/trail/verification",
    f"{API}/tokens",
    f"{API}/comments",
    f"{API}/quality-dimensions",
    f"{API}/surveys/{{survey_id}}/invitations",
    f"{API}/surveys/{{survey_id}}/invitations/import",
}
WHY = {
    401: "Missing, unknown, expired or revoked credentials",
    403: "Not allowed for your role or token, with the reason",
    404: "No such resource, or the body names one that does not exist",
    409: "A stale version, a transition the guards refused, or a clash with the current state",
    412: "If-Match names a version that is no longer current",
    413: "The body is past the size limit",
    422: "Invalid input, with a reason per field",
    429: "Too many failed password checks; see Retry-After",
    503: "The server or the database is busy (Retry-After), or cannot take writes",
}


def _schema(doc: dict[str, Any], ref: dict[str, Any] | None) -> dict[str, Any]:
    if not ref or "$ref" not in ref:
        return ref or {}
    name = ref["$ref"].rsplit("/", 1)[-1]
    return doc["components"]["schemas"].get(name, {})


def _body_schema(doc: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return {}
    return _schema(doc, content["application/json"].get("schema"))


def error_statuses(doc: dict[str, Any], path: str, method: str, op: dict[str, Any]) -> list[int]:
    """The error statuses `method path` can answer, from what the server does."""
    params = op.get("parameters", [])
    body = _body_schema(doc, op)
    properties = body.get("properties", {})
    statuses = {503}
    if (path, method) not in OPEN:
        statuses |= {401, 403}
    if path == f"{API}/session" and method == "post":
        statuses |= {401, 429}
    if path.startswith(f"{API}/errors/"):
        statuses.add(404)
    elif not path.startswith((f"{API}/errors", f"{API}/session")):
        required_ids = any(p["required"] and p["name"].endswith("_id") for p in params)
        if "{" in path or method in WRITES or required_ids or (path, method) in READS_THAT_LOOK_UP:
            statuses.add(404)
    no_clash = (f"{API}/trail/verification", f"{API}/session")
    if (method in WRITES and path not in no_clash) or (path, method) in READS_THAT_CLASH:
        statuses.add(409)
    if "version" in properties:
        statuses.add(412)
    if "requestBody" in op:
        statuses |= {413, 422}
    if params:
        statuses.add(422)
    if {"password", "signature"} & set(properties):
        statuses.add(429)
    return sorted(statuses)


def _errors(doc: dict[str, Any], path: str, method: str, op: dict[str, Any]) -> None:
    responses = op.setdefault("responses", {})
    for status in [s for s in list(responses) if s.isdigit() and int(s) >= 400]:
        del responses[status]
    for status in error_statuses(doc, path, method, op):
        responses[str(status)] = {
            "description": WHY[status],
            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
        }


def _headers(path: str, method: str, op: dict[str, Any]) -> None:
    responses = op["responses"]
    if "201" in responses and path not in NO_LOCATION:
        responses["201"].setdefault("headers", {})["Location"] = {
            "description": "The URL of the new resource",
            "schema": {"type": "string"},
        }
    keys = [p for p in op.get("parameters", []) if p.get("name") == "Idempotency-Key"]
    takes_key = bool(keys)
    for parameter in keys:
        # A header is sent or not; it is never null (FastAPI writes `str | None` as anyOf).
        schema = parameter["schema"]
        text = [s for s in schema.pop("anyOf", []) if s.get("type") != "null"]
        if text:
            schema.update(text[0])
    if "201" in responses and takes_key:
        responses["201"].setdefault("headers", {})["Idempotent-Replayed"] = {
            "description": "`true` when this is the answer kept for the Idempotency-Key "
            "(the request was not run again)",
            "schema": {"type": "string", "enum": ["true"]},
        }
    if method in ("get", "patch", "post") and "{" in path and "200" in responses:
        schema = responses["200"].get("content", {}).get("application/json", {}).get("schema", {})
        if "version" in str(schema) and "$ref" in schema:
            responses["200"].setdefault("headers", {})["ETag"] = {
                "description": 'The version of the resource, as "W/\\"<version>\\""; send it '
                "back in If-Match instead of `version` in the body.",
                "schema": {"type": "string"},
            }


def _operation_ids(doc: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {
        (path, method): op["operationId"]
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


# (from path, method, status) → links: name → (to path, method, parameter → expression).
LINKS: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str]]]] = {
    ("/problems", "post", "201"): {
        "GetProblem": ("/problems/{problem_id}", "get", {"problem_id": "$response.body#/id"}),
        "TriageProblem": (
            "/problems/{problem_id}/triage",
            "post",
            {"problem_id": "$response.body#/id"},
        ),
    },
    ("/problems/{problem_id}", "get", "200"): {
        "GetCycleOfProblem": (
            "/cycles/{cycle_id}",
            "get",
            {"cycle_id": "$response.body#/cycle_ids/0"},
        ),
    },
    ("/cycles", "post", "201"): {
        "GetCycle": ("/cycles/{cycle_id}", "get", {"cycle_id": "$response.body#/id"}),
        "UpdateCycle": ("/cycles/{cycle_id}", "patch", {"cycle_id": "$response.body#/id"}),
        "CycleTransitions": (
            "/cycles/{cycle_id}/transitions",
            "get",
            {"cycle_id": "$response.body#/id"},
        ),
        "FireCycleTransition": (
            "/cycles/{cycle_id}/transitions",
            "post",
            {"cycle_id": "$response.body#/id"},
        ),
        "ActionsOfCycle": ("/actions", "get", {"cycle_id": "$response.body#/id"}),
    },
    ("/cycles/{cycle_id}", "get", "200"): {
        "CycleTransitions": (
            "/cycles/{cycle_id}/transitions",
            "get",
            {"cycle_id": "$response.body#/id"},
        ),
        "ActionsOfCycle": ("/actions", "get", {"cycle_id": "$response.body#/id"}),
        "ProblemOfCycle": (
            "/problems/{problem_id}",
            "get",
            {"problem_id": "$response.body#/problem_ids/0"},
        ),
    },
    ("/actions", "post", "201"): {
        "GetAction": ("/actions/{action_id}", "get", {"action_id": "$response.body#/id"}),
        "UpdateAction": ("/actions/{action_id}", "patch", {"action_id": "$response.body#/id"}),
        "ActionTransitions": (
            "/actions/{action_id}/transitions",
            "get",
            {"action_id": "$response.body#/id"},
        ),
        "FireActionTransition": (
            "/actions/{action_id}/transitions",
            "post",
            {"action_id": "$response.body#/id"},
        ),
        "CycleOfAction": ("/cycles/{cycle_id}", "get", {"cycle_id": "$response.body#/cycle_id"}),
    },
}


def _links(doc: dict[str, Any]) -> None:
    ids = _operation_ids(doc)
    for (path, method, status), links in LINKS.items():
        op = doc["paths"].get(API + path, {}).get(method)
        if op is None or status not in op["responses"]:
            continue
        response = op["responses"][status]
        for name, (to_path, to_method, parameters) in links.items():
            target = ids.get((API + to_path, to_method))
            if target is not None:
                response.setdefault("links", {})[name] = {
                    "operationId": target,
                    "parameters": parameters,
                }


def _workflow_words(doc: dict[str, Any], catalog: WorkflowCatalog) -> None:
    """The workflows and triggers this server knows, as enums a client can check."""
    schemas = doc["components"]["schemas"]
    names = catalog.names()
    triggers: dict[str, list[str]] = {
        n: sorted({t.trigger for t in catalog.definitions[n].transitions}) for n in names
    }
    every = sorted({t for ts in triggers.values() for t in ts})
    per_workflow = "; ".join(f"{n}: {', '.join(ts)}" for n, ts in triggers.items())
    if "TransitionIn" in schemas:
        trigger = schemas["TransitionIn"]["properties"]["trigger"]
        trigger["enum"] = every
        trigger["description"] = (
            f"A trigger of the cycle's workflow ({per_workflow}). Which ones are possible "
            "now: GET /cycles/{cycle_id}/transitions. One the workflow lacks is 422."
        )
    if "CycleCreate" in schemas:
        schemas["CycleCreate"]["properties"]["workflow"]["enum"] = names


def _security(doc: dict[str, Any]) -> None:
    doc["components"]["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token from `pdca token create` or the profile page "
            "(the pages' session cookie with X-CSRF-Token works too).",
        }
    }
    doc["security"] = [{"bearer": []}]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if (path, method) in OPEN or not path.startswith(API):
                op["security"] = []


def _problem_types(doc: dict[str, Any]) -> None:
    detail = doc["components"]["schemas"].get("ProblemDetail")
    if detail is not None:
        detail["properties"]["type"]["enum"] = [type_uri(kind) for kind in PROBLEM_TYPES]


def build(app: FastAPI, catalog: WorkflowCatalog) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    for path, item in doc["paths"].items():
        if not path.startswith(API):
            continue
        for method, op in item.items():
            _errors(doc, path, method, op)
            _headers(path, method, op)
    _links(doc)
    _workflow_words(doc, catalog)
    _security(doc)
    _problem_types(doc)
    return doc


def install(app: FastAPI, catalog: WorkflowCatalog) -> None:
    """Serve the completed document at the app's openapi_url (built once, then kept)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app, catalog)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
