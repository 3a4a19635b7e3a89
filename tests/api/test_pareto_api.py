"""The Pareto through the API by problem category and by root-cause category, and both
categories set through the API as any other field (strict: only the listed values)."""

import pytest

from pdca.services import cycles
from tests.api.test_kpis_api import ok, refused
from tests.services.builders_services import a_problem


@pytest.fixture
def api(tokens, auth):
    return lambda persona: auth(tokens[persona])


def test_a_script_sets_categories_and_reads_the_pareto_by_them(client, api, org, as_user):
    made = ok(
        client.post(
            "/api/v1/problems",
            json={"title": "Refunds late", "source": "complaint", "category": "supplier"},
            headers=api("mia"),
        ),
        201,
    )
    assert made["category"] == "supplier"
    other = a_problem(as_user(org.mia), department_id=org.cs)
    cycle = cycles.open_cycle(
        as_user(org.fiona),
        title="Look into refunds",
        workflow="pdca",
        lead_id=org.fiona.id,
        problem_ids=[other.id],
    )
    version = ok(client.get(f"/api/v1/problems/{other.id}", headers=api("fiona")))["version"]
    changed = ok(
        client.patch(
            f"/api/v1/problems/{other.id}",
            json={"category": "supplier", "version": version},
            headers=api("fiona"),
        )
    )
    assert changed["category"] == "supplier"
    ok(
        client.patch(
            f"/api/v1/cycles/{cycle.id}",
            json={"fields": {"root_cause_category": "materials"}, "version": cycle.version},
            headers=api("fiona"),
        )
    )

    by_category = ok(client.get("/api/v1/pareto", params={"by": "category"}, headers=api("vera")))
    by_root = ok(client.get("/api/v1/pareto", params={"by": "root_cause"}, headers=api("vera")))

    assert by_category == {"by": "category", "bars": [{"label": "supplier", "count": 2}]}
    assert by_root == {"by": "root_cause", "bars": [{"label": "materials", "count": 1}]}


def test_unknown_categories_are_refused(client, api, org, as_user):
    problem = a_problem(as_user(org.mia), department_id=org.cs)
    refused(
        client.patch(
            f"/api/v1/problems/{problem.id}",
            json={"category": "weather", "version": problem.version},
            headers=api("fiona"),
        ),
        422,
    )
    refused(client.get("/api/v1/pareto", params={"by": "mood"}, headers=api("vera")), 422)
    workflow = ok(client.get("/api/v1/workflows/pdca", headers=api("vera")))
    [field] = [f for f in workflow["fields"] if f["name"] == "root_cause_category"]
    assert field["choices"] == [
        "people",
        "methods",
        "machines",
        "materials",
        "measurement",
        "environment",
    ]
