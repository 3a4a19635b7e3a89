"""Auditors on the audit trail page: verify the chain, see a forgery named, export the trail."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook
from openpyxl.utils.escape import unescape
from sqlalchemy import text
from sqlmodel import col, select

from pdca.models import Event
from pdca.services import audit, organisation
from pdca.web.spreadsheets import XLSX_MEDIA
from tests.conftest import Org


def forge(engine, backend: str, event_id: int) -> None:  # type: ignore[no-untyped-def]
    """Change an event behind the application's back, triggers out of the way."""
    with engine.begin() as conn:
        if backend == "postgres":
            conn.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER events_no_update"))
        conn.execute(text("UPDATE events SET note = 'forged' WHERE id = :id"), {"id": event_id})


def test_an_auditor_verifies_the_trail_and_the_page_keeps_who_and_what(
    client_for, org: Org, session
) -> None:
    vera, csrf = client_for("vera")
    before = vera.get("/trail")
    assert before.status_code == 200
    assert "The trail has not been verified yet." in before.text

    response = vera.post("/trail/verify", data={"csrf_token": csrf}, follow_redirects=False)

    assert response.status_code == 303
    page = vera.get("/trail").text
    assert 'data-testid="trail-state">Intact<' in page
    assert "checked on" in page and "by Vera Viewer" in page
    assert "The trail is intact:" in page  # the flash
    recorded = session.exec(
        select(Event).where(Event.entity_type == "trail", Event.verb == "verified")
    ).one()
    assert recorded.actor_id == org.vera.id
    assert recorded.data["broken_at"] is None and recorded.data["checked"] > 0


def test_a_forged_event_is_named_on_the_page(
    client_for, org: Org, engine, backend, session
) -> None:
    fiona, csrf = client_for("fiona")
    forged = session.exec(select(Event.id).order_by(col(Event.id))).all()[2]
    forge(engine, backend, forged)

    fiona.post("/trail/verify", data={"csrf_token": csrf})

    page = fiona.get("/trail").text
    assert 'data-testid="trail-state">Broken<' in page
    assert f"Broken at event {forged}: its content or its place changed." in page
    assert "the 2 events before it are intact" in page


def test_members_and_heads_neither_verify_nor_export_the_whole_trail(client_for) -> None:
    for persona in ("mia", "hanna"):
        browser, csrf = client_for(persona)
        assert browser.get("/trail").status_code == 403
        assert browser.get("/trail/export.csv").status_code == 403
        refused = browser.post("/trail/verify", data={"csrf_token": csrf})
        assert refused.status_code == 403
        assert "Only administrators, facilitators and auditors" in refused.text
        assert 'href="/trail"' not in browser.get("/board").text


def test_the_json_export_holds_every_event_and_its_chain_checks_outside_pdca(
    client_for, org: Org, session, as_user
) -> None:
    organisation.create_department(as_user(org.admin), code="Q", name="质量部")  # not ASCII
    vera, _csrf = client_for("vera")

    response = vera.get("/trail/export.json")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith('attachment; filename="pdca-trail-')
    exported = json.loads(response.text)
    stored = session.exec(select(Event).order_by(col(Event.id))).all()
    assert [e["id"] for e in exported] == [e.id for e in stored]
    assert [e["hash"] for e in exported] == [e.hash for e in stored]
    assert any("质量部" in json.dumps(e["data"], ensure_ascii=False) for e in exported)
    # The hashes are enough to check the chain from the export alone.
    rebuilt = [
        Event(
            **{k: v for k, v in e.items() if k != "actor_email"}
            | {"at": datetime.fromisoformat(e["at"])}
        )
        for e in exported
    ]
    assert audit.verify_chain(rebuilt).broken_at is None
    rebuilt[1].note = "changed in the export"
    assert audit.verify_chain(rebuilt).broken_at == rebuilt[1].id


def test_the_csv_export_has_a_row_per_event_with_its_hash_and_who(
    client_for, org: Org, session, as_user
) -> None:
    organisation.create_department(as_user(org.admin), code="OPS", name="Operations")
    fiona, _csrf = client_for("fiona")

    response = fiona.get("/trail/export.csv")

    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")  # so a spreadsheet reads Chinese
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    stored = session.exec(select(Event).order_by(col(Event.id))).all()
    assert [int(r["id"]) for r in rows] == [e.id for e in stored]
    assert all(len(r["hash"]) == 64 for r in rows)
    by_admin = [r for r in rows if r["actor_id"] == str(org.admin.id)]
    assert by_admin and all(r["actor_email"] == org.admin.email for r in by_admin)
    assert json.loads(rows[0]["data"]) == stored[0].data


def test_the_xlsx_export_is_typed_and_its_chain_checks_from_the_cells_alone(
    client_for, org: Org, session, as_user
) -> None:
    """An auditor opens the workbook: numbers, times and exact texts, and the chain holds."""
    organisation.create_department(as_user(org.admin), code="Q", name="质量部")
    # Texts a spreadsheet would bend: a formula, a Windows line end, the format's own escape.
    organisation.create_department(as_user(org.admin), code="F", name="=SUM(A1) 一\r\n二 _x000D_")
    vera, _csrf = client_for("vera")
    assert 'href="/trail/export.xlsx"' in vera.get("/trail").text

    response = vera.get("/trail/export.xlsx")

    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX_MEDIA
    assert response.headers["content-disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert all(c.font.b for c in sheet[1])
    rows = [dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    stored = session.exec(select(Event).order_by(col(Event.id))).all()
    assert [r["id"] for r in rows] == [e.id for e in stored]
    assert [r["hash"] for r in rows] == [e.hash for e in stored]  # the stored ones
    for row, event in zip(rows, stored, strict=True):
        assert isinstance(row["id"], int) and isinstance(row["entity_id"], int)
        assert isinstance(row["at (UTC)"], datetime)
        # Excel keeps a time to the millisecond: the cell is the event's UTC time so rounded.
        exact = datetime.fromisoformat(row["at_hashed"])
        assert abs(row["at (UTC)"] - exact.replace(tzinfo=None)) <= timedelta(milliseconds=1)
        assert exact == event.at.replace(tzinfo=event.at.tzinfo or UTC)
    assert sheet.cell(row=2, column=1).data_type == "n"
    assert all(c.data_type == "s" for c in sheet[len(rows) + 1] if isinstance(c.value, str))
    texts = [unescape(r["data"]) for r in rows]
    assert any("质量部" in t for t in texts)
    assert any("=SUM(A1) 一\r\n二 _x000D_" in json.loads(t).get("name", "") for t in texts)

    def exact(value):  # type: ignore[no-untyped-def]
        return None if value is None else unescape(value)

    rebuilt = [
        Event(
            id=r["id"],
            at=datetime.fromisoformat(r["at_hashed"]),
            actor_id=r["actor_id"],
            entity_type=exact(r["entity_type"]),
            entity_id=r["entity_id"],
            verb=exact(r["verb"]),
            field=exact(r["field"]),
            from_value=exact(r["from_value"]),
            to_value=exact(r["to_value"]),
            note=exact(r["note"]),
            data=json.loads(exact(r["data"])),
            signature_meaning=exact(r["signature_meaning"]),
            signature_method=exact(r["signature_method"]),
            hash=r["hash"],
        )
        for r in rows
    ]
    assert audit.verify_chain(rebuilt).broken_at is None
    rebuilt[2].to_value = "changed in the workbook"
    assert audit.verify_chain(rebuilt).broken_at == rebuilt[2].id
