"""Schemathesis against the OpenAPI document: no 5xx, no answer that breaks its promises.

Every operation in /api/v1/openapi.json gets generated requests, valid ones and
invalid ones, sent in process to the app, as the administrator (so requests get past
the permission checks and into the code). Each answer must not be a server error,
must have a status the document declares for the operation, and must match the
declared content type, headers and schema.

All operations share one database holding the `world` (setting one up per operation
would cost more than the requests). Random ids would almost always meet a 404 and
random versions a 409, so about half of the valid requests are aimed at the world:
their ids are swapped for ids of real rows and their `version` for the row's current
one (read first, as a client would). Generation is derandomized: a run is repeatable.

The default run keeps to 25 examples per operation and mode. The slow run (marked
`slow`, left out unless asked for with `-m slow`) sends at least 200 per operation
and mode under three seeds, and adds two checks: a request that breaks the schema
must be refused (negative_data_rejection: no boolean taken for an id, no `0` for a
date), and a method the path does not take must be answered 405 with the full
`Allow` (unsupported_method).

Left out, on purpose: positive_data_acceptance. A schema-valid request may still name
a department that does not exist or break a rule across fields (a warning limit on
the wrong side of the target); the API rightly answers 404 or 422.
"""

import json
import os
import re
import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.errors import InvalidSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
STRICT_CHECKS = [*CHECKS, negative_data_rejection, unsupported_method]
# Examples per operation and mode in the default run: about a hundred operations now, so
# twelve each keeps it near a minute; the slow run (pytest -m slow) sends 200 × 3 seeds.
EXAMPLES = 12
SLOW_EXAMPLES = int(os.environ.get("PDCA_SLOW_EXAMPLES", "200"))
SEEDS = (1, 2, 3)
# To chase findings: PDCA_SCHEMATHESIS_ONLY="GET /api/v1/cycles,/inspections" runs the
# operations whose labels hold any of these.
ONLY = [part for part in os.environ.get("PDCA_SCHEMATHESIS_ONLY", "").split(",") if part] or [""]


def _settings(examples: int, seed: int | None) -> Any:
    # Without a seed, generation is derandomized (the same run every time); with one,
    # each seed explores other inputs, repeatably.
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=seed is None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def _targets(world, org, catalog) -> dict[str, list[Any]]:  # type: ignore[no-untyped-def]
    """Real values for each path parameter and id-like body field."""
    actions = [world.action_cs, world.action_it, world.action_done, world.check_action]
    return {
        "cycle_id": [world.cycle, world.cycle_in_check, world.cycle_in_plan],
        "action_id": actions,
        "problem_id": [world.problem, world.cycle_problem],
        "user_id": [org.mia.id, org.fiona.id],
        "token_id": [world.spare_token],
        "kpi_id": [world.kpi, world.kpi_it],
        "name": catalog.names(),
        "department_id": [org.cs, org.it],
        "owner_id": [org.mia.id, org.max.id],
        "lead_id": [org.fiona.id, org.frank.id],
        "entity_id": actions,
        # every trigger the shipped workflows know (random text only ever meets a refusal)
        "trigger": sorted({t.trigger for d in catalog.definitions.values() for t in d.transitions}),
        "workflow": catalog.names(),
        "department_code": ["CS", "IT", "BIL"],
        "email": [f"new.{n}@example.com" for n in range(5)],
        # phase fields (random names are only ever unknown fields)
        "fields": [
            {},
            {"objective": "Answer 80% of calls in 20 s", "target": 80, "baseline": 61},
            {"root_cause": "Breaks overlap at noon", "success_criterion": "SL >= 80%"},
            {"result": 84, "result_note": "Four weeks at 84%"},
            {"standardisation": "Rota in the staffing SOP", "direction": "higher"},
        ],
    }


# Where to read the current version of the row a write names.
VERSION_OF = {
    "cycle_id": "/cycles/{}",
    "action_id": "/actions/{}",
    "problem_id": "/problems/{}",
    "kpi_id": "/kpis/{}",
}


def _aim(case, pick: dict[str, Any], read) -> None:  # type: ignore[no-untyped-def]
    """Point a valid request at real rows, with their current versions."""
    path = case.path_parameters or {}
    if case.headers and "Idempotency-Key" in case.headers:
        # A fresh key: a generated one ("0") is soon taken, and each later request under
        # it would only meet "this key was sent with another request".
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    for name in path:
        if name in pick:
            path[name] = pick[name]
    if not isinstance(case.body, dict):
        return
    for name in ("cycle_id", "department_id", "owner_id", "lead_id", "entity_id"):
        if case.body.get(name) is not None:
            case.body[name] = pick[name]
    for name in ("workflow", "department_code", "email", "fields"):
        if name in case.body:
            case.body[name] = pick[name]
    if case.body.get("problem_ids"):
        case.body["problem_ids"] = [pick["problem_id"]]
    if "cycle_id" in path and "trigger" in case.body:
        case.body["trigger"] = pick["trigger"]
    if "version" in case.body:
        for name, url in VERSION_OF.items():
            if name in path:
                case.body["version"] = read(url.format(path[name]))["version"]


@pytest.fixture
def api_schema(app):
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    # Every request goes with the administrator's token (below): an Authorization header
    # that schemathesis made invalid would be replaced, and the request it then calls
    # "schema-violating" is a valid one. The 401s have tests of their own (test_auth.py).
    schema.config.generation.update(with_security_parameters=False)
    return schema


def _texts(value: Any) -> list[str]:
    """What a query value becomes on the wire: words, never types."""
    items = value if isinstance(value, list) else [value]
    return [json.dumps(v) if isinstance(v, bool) else str(v) for v in items]


def _text_fits(text: str, schema: dict[str, Any]) -> bool:
    kinds = [schema, *schema.get("anyOf", [])]
    for kind in kinds:
        if kind.get("type") == "string" or "enum" in kind:
            if "enum" in kind and text not in kind["enum"]:
                continue
            if len(text) > kind.get("maxLength", len(text)):
                continue
            if "pattern" in kind and not re.search(kind["pattern"], text):
                continue
            return True
        if kind.get("type") == "boolean" and text in ("true", "false"):
            return True
        whole = kind.get("type") == "integer" and re.fullmatch(r"-?\d+", text)
        if whole and kind.get("minimum", -(10**30)) <= int(text) <= kind.get("maximum", 10**30):
            return True
    return False


def _wire_fits(value: Any, schema: dict[str, Any]) -> bool:
    """Whether the words `value` becomes are a valid value of the parameter: a list of
    one is sent as that one, and `false` for a text parameter is the text "false"."""
    texts = _texts(value)
    arrays = [k for k in [schema, *schema.get("anyOf", [])] if k.get("type") == "array"]
    if arrays:
        return any(all(_text_fits(t, a.get("items", {})) for t in texts) for a in arrays)
    return len(texts) == 1 and _text_fits(texts[0], schema)


def _unsendable(case) -> bool:  # type: ignore[no-untyped-def]
    """The invalid request schemathesis made cannot be sent as such, so nothing can refuse it:
    a query value of null or [] is left out of the URL (`?limit=1` for `{"limit": 1, "x":
    []}`); a query holds words, so `state=false` or `q=[true]` arrive as valid words; a
    file's content is bytes, so a file "of type null" is a file holding `null`."""
    query = case.query if isinstance(case.query, dict) else {}
    if any(value is None or value == [] for value in query.values()):
        return True
    if isinstance(case.body, dict) and not isinstance(case.body.get("file", b""), (str, bytes)):
        return True
    if (query and case.body is None) or (query and not isinstance(case.body, dict)):
        schemas = {p.name: p.definition.get("schema", {}) for p in case.operation.query}
        if all(n in schemas and _wire_fits(v, schemas[n]) for n, v in query.items()):
            return True
    return False


def _bounded(cases, picks, send, examples: int, seed: int | None, negative: bool):  # type: ignore[no-untyped-def]
    @_settings(examples, seed)
    @given(case=cases, pick=picks)
    def requests_keep_the_promises(case, pick) -> None:  # type: ignore[no-untyped-def]
        if negative and _unsendable(case):
            reject()
        send(case, pick)

    if seed is not None:
        requests_keep_the_promises = hypothesis_seed(seed)(requests_keep_the_promises)
    return requests_keep_the_promises


def test_the_api_keeps_the_promises_of_its_openapi_document(
    api_schema, app, client, world, org, catalog, tokens, auth, subtests
):
    _run(api_schema, app, client, world, org, catalog, tokens, auth, subtests, EXAMPLES, None)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_the_api_keeps_every_promise_under_many_examples(
    api_schema, app, client, world, org, catalog, tokens, auth, subtests, seed
):
    _run(
        api_schema,
        app,
        client,
        world,
        org,
        catalog,
        tokens,
        auth,
        subtests,
        SLOW_EXAMPLES,
        seed,
        STRICT_CHECKS,
    )


def _run(  # type: ignore[no-untyped-def]
    api_schema,
    app,
    client,
    world,
    org,
    catalog,
    tokens,
    auth,
    subtests,
    examples: int,
    seed: int | None,
    checks: list[Any] = CHECKS,
) -> None:
    admin = auth(tokens["admin"])
    targets = _targets(world, org, catalog)
    aimed = st.one_of(
        st.none(),
        st.fixed_dictionaries({name: st.sampled_from(values) for name, values in targets.items()}),
    )
    broken_document: list[InvalidSchema] = []

    def read(url: str) -> dict[str, Any]:
        response = client.get(f"/api/v1{url}", headers=admin)
        return response.json() if response.status_code == 200 else {"version": 0}

    # The administrator may revoke any token, their own too: keep the one we send.
    own_tokens = {t["id"] for t in client.get("/api/v1/tokens", headers=admin).json()}

    def send(case, pick: dict[str, Any] | None) -> None:  # type: ignore[no-untyped-def]
        if pick is not None:
            _aim(case, pick, read)
        if (case.path_parameters or {}).get("token_id") in own_tokens:
            case.path_parameters["token_id"] = world.spare_token
        try:
            case.call_and_validate(app=app, headers=admin, checks=checks)
        except InvalidSchema as exc:
            # The document itself is wrong: say so once, there is nothing to shrink.
            broken_document.append(exc)

    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30, "the document lost its operations"
    for operation in [o for o in operations if any(part in o.label for part in ONLY)]:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            picks = aimed if mode == GenerationMode.POSITIVE else st.none()
            test = _bounded(
                operation.as_strategy(generation_mode=mode),
                picks,
                send,
                examples,
                seed,
                negative=mode == GenerationMode.NEGATIVE,
            )
            with subtests.test(msg=f"{operation.label} ({mode.value})"):
                broken_document.clear()
                try:
                    test()
                except Unsatisfiable:
                    if mode == GenerationMode.POSITIVE:
                        raise
                    pytest.skip("nothing in this operation can be sent invalid")
                if broken_document:
                    raise broken_document[0]
    # Had the fuzzing locked the administrator out, every later answer was a mere 401.
    assert client.get("/api/v1/users/me", headers=admin).status_code == 200
