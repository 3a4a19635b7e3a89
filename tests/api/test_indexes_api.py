"""The composite indexes over the API: definitions with normalised weights, and values
per period with the members each stood on and the definition version that made it."""

from datetime import UTC, datetime, timedelta

import pytest

from pdca.services import kpis
from pdca.services.kpis import RowIn
from tests.conftest import NOW

PROBLEM_JSON = "application/problem+json"


@pytest.fixture
def headers(tokens, auth):
    return auth(tokens["vera"])  # a viewer reads them


@pytest.fixture
def measured(org, as_user):
    fiona = as_user(org.fiona)
    kpis.create_kpi(
        fiona, code="CS-SL", name="Service level", unit="%", department_id=org.cs,
        direction="higher", target=80.0, warning_limit=75.0, breach_limit=70.0,
    )  # fmt: skip
    day = datetime.combine((NOW - timedelta(days=3)).date(), datetime.min.time(), tzinfo=UTC)
    kpis.ingest(fiona, [RowIn(1, "CS-SL", day, 75.0)])
    fiona.session.commit()
    return day.date()


def test_the_definitions_show_their_members_with_normalised_weights(client, headers):
    listed = client.get("/api/v1/indexes", headers=headers)
    assert listed.status_code == 200
    assert [i["code"] for i in listed.json()] == ["PCI", "QCI", "QSI"]
    qsi = client.get("/api/v1/indexes/qsi", headers=headers).json()
    shares = {m["kpi"]: m["share"] for m in qsi["members"]}
    assert shares["CS-SL"] == pytest.approx(0.25) and sum(shares.values()) == pytest.approx(1)
    assert qsi["watch"]["target"] == 90 and qsi["titles"]["zh_CN"]


def test_values_say_how_many_members_they_stood_on(client, headers, measured, org):
    got = client.get("/api/v1/indexes/QSI/values?period=day", headers=headers)
    assert got.status_code == 200
    [value] = got.json()
    assert value["start"] == measured.isoformat() and value["value"] == 50
    assert (value["members_used"], value["members_total"]) == (1, 6)
    assert value["definition_version"] == 1 and value["department_id"] is None
    # Without a period, the one the index is watched on (QSI: the day).
    cs_day = client.get(
        f"/api/v1/indexes/QSI/values?department_id={org.cs}", headers=headers
    ).json()
    assert [(v["department_id"], v["members_total"]) for v in cs_day] == [(org.cs, 1)]


def test_an_unknown_index_or_period_is_a_clear_4xx(client, headers):
    missing = client.get("/api/v1/indexes/XYZ/values", headers=headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM_JSON)
    assert "XYZ" in missing.json()["detail"]
    wrong = client.get("/api/v1/indexes/QSI/values?period=year", headers=headers)
    assert wrong.status_code == 422
    backwards = client.get(
        "/api/v1/indexes/QSI/values?start=2026-11-02&end=2026-11-01", headers=headers
    )
    assert backwards.status_code == 422


def test_pci_shows_its_selector_and_a_kpi_takes_tags_through_the_api(client, tokens, auth, org):
    fiona = auth(tokens["fiona"])
    pci = client.get("/api/v1/indexes/PCI", headers=fiona).json()
    (selector,) = [m for m in pci["members"] if m["select"]]
    assert selector == {**selector, "kpi": None, "select": "survey-dimension", "weight": 20}
    assert selector["share"] == pytest.approx(20 / 120)
    body = {"code": "CS-QUIET", "name": "Quiet hours", "department_id": org.cs, "target": 4}
    made = client.post("/api/v1/kpis", json={**body, "tags": ["survey-dimension"]}, headers=fiona)
    assert made.status_code == 201, made.text
    assert made.json()["tags"] == ["survey-dimension"]
    wrong = client.post(
        "/api/v1/kpis", json={**body, "code": "CS-LOUD", "tags": ["two words"]}, headers=fiona
    )
    assert wrong.status_code == 422
