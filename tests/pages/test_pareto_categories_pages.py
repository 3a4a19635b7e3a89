"""A facilitator says what kind of problem a problem is on its page, a cycle's team names
the root cause's bone of the fishbone, and the Pareto page counts problems by both, in
the reader's words (never the stored codes)."""

import re

from pdca.services import cycles, organisation
from tests.services.builders_services import a_problem


def test_she_sets_a_problems_category_on_its_page(org, as_user, client_for) -> None:
    problem = a_problem(as_user(org.mia), department_id=org.cs)
    fiona = client_for("fiona")

    answer = fiona.client.post(
        f"/problems/{problem.id}/category",
        data={"csrf_token": fiona.csrf, "version": problem.version, "category": "supplier"},
        follow_redirects=False,
    )

    assert answer.status_code == 303
    page = fiona.client.get(f"/problems/{problem.id}").text
    assert re.search(r'<option value="supplier" selected>Supplier</option>', page)
    stale = fiona.client.post(
        f"/problems/{problem.id}/category",
        data={"csrf_token": fiona.csrf, "version": problem.version, "category": "policy"},
    )
    assert stale.status_code == 409 and "changed by someone else" in stale.text
    nonsense = fiona.client.post(
        f"/problems/{problem.id}/category",
        data={"csrf_token": fiona.csrf, "version": problem.version + 1, "category": "weather"},
    )
    assert nonsense.status_code == 422 and "Unknown category" in nonsense.text
    mia = client_for("mia")
    assert 'name="category"' not in mia.client.get(f"/problems/{problem.id}").text


def test_the_pareto_counts_by_category_and_root_cause_in_words(org, as_user, client_for):
    mia, fiona = as_user(org.mia), as_user(org.fiona)
    for category in ("process", "process", "people"):
        a_problem(mia, department_id=org.cs, category=category)
    cycle = cycles.open_cycle(
        fiona,
        title="Look into it",
        workflow="pdca",
        lead_id=org.fiona.id,
        problem_ids=[a_problem(mia, department_id=org.cs).id],
    )
    browser = client_for("fiona").client
    workspace = browser.get(f"/cycles/{cycle.id}").text
    assert '<option value="measurement" >Measurement</option>' in workspace
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', workspace).group(1)
    saved = browser.post(
        f"/cycles/{cycle.id}/fields",
        data={"csrf_token": csrf, "version": cycle.version, "root_cause_category": "measurement"},
        follow_redirects=False,
    )
    assert saved.status_code == 303

    by_category = browser.get("/problems-pareto?by=category").text
    by_root = browser.get("/problems-pareto?by=root_cause").text

    assert (
        "<td>Process</td><td>2</td>" in by_category
        and "<td>People and skills</td><td>1</td>" in by_category
    )
    assert "<td>Measurement</td><td>1</td>" in by_root
    assert ">measurement<" not in by_root and ">process<" not in by_category


def test_the_pareto_by_category_speaks_chinese(org, as_user, client_for):
    mia = as_user(org.mia)
    a_problem(mia, department_id=org.cs, category="system")
    organisation.set_locale(as_user(org.fiona), "zh_CN")

    page = client_for("fiona").client.get("/problems-pareto?by=category").text

    assert "<td>系统与工具</td><td>1</td>" in page and "问题类别" in page
