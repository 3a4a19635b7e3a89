"""The trail through the API: the last verification, a new one, and the export."""

import io

from openpyxl import load_workbook

from pdca.web.spreadsheets import XLSX_MEDIA
from tests.conftest import Org


def test_an_auditor_reads_then_runs_a_verification(client, tokens, auth, org: Org) -> None:
    never = client.get("/api/v1/trail/verification", headers=auth(tokens["vera"]))
    assert never.status_code == 200
    assert never.json() == {"last": None}

    made = client.post("/api/v1/trail/verification", headers=auth(tokens["fiona"]))
    assert made.status_code == 201
    body = made.json()
    assert body["intact"] is True and body["broken_at"] is None
    assert body["by"] == "Fiona Facilitator" and body["checked"] > 0

    last = client.get("/api/v1/trail/verification", headers=auth(tokens["vera"])).json()["last"]
    assert last == body


def test_a_member_may_not_export_or_verify_and_gets_the_reason(client, tokens, auth) -> None:
    for method, path in (("GET", "/api/v1/trail/export"), ("POST", "/api/v1/trail/verification")):
        refused = client.request(method, path, headers=auth(tokens["mia"]))
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "auditors" in refused.json()["detail"]


def test_the_export_comes_as_csv_xlsx_or_json_and_refuses_another_format(
    client, tokens, auth
) -> None:
    as_csv = client.get("/api/v1/trail/export?format=csv", headers=auth(tokens["vera"]))
    assert as_csv.status_code == 200
    # A byte-order mark first, so that a spreadsheet program reads Chinese as Chinese.
    assert as_csv.content.startswith(b"\xef\xbb\xbfid,at,actor_id,actor_email,entity_type")
    as_xlsx = client.get("/api/v1/trail/export?format=xlsx", headers=auth(tokens["vera"]))
    assert as_xlsx.status_code == 200
    assert as_xlsx.headers["content-type"] == XLSX_MEDIA
    assert as_xlsx.headers["content-disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(as_xlsx.content), read_only=True).worksheets[0]
    header = next(sheet.iter_rows(max_row=1, values_only=True))
    assert header[:3] == ("id", "at (UTC)", "at_hashed") and header[-1] == "hash"
    as_json = client.get("/api/v1/trail/export", headers=auth(tokens["vera"]))
    assert as_json.status_code == 200 and isinstance(as_json.json(), list)
    wrong = client.get("/api/v1/trail/export?format=xml", headers=auth(tokens["vera"]))
    assert wrong.status_code == 422
