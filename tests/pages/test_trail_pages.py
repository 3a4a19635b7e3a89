"""Auditors on the audit trail page: verify the chain, see a forgery named, export the trail."""

import csv
import io
import json
from datetime import datetime

from sqlalchemy import text
from sqlmodel import col, select

from pdca.models import Event
from pdca.services import audit, organisation
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
    rows = list(csv.DictReader(io.StringIO(response.text)))
    stored = session.exec(select(Event).order_by(col(Event.id))).all()
    assert [int(r["id"]) for r in rows] == [e.id for e in stored]
    assert all(len(r["hash"]) == 64 for r in rows)
    by_admin = [r for r in rows if r["actor_id"] == str(org.admin.id)]
    assert by_admin and all(r["actor_email"] == org.admin.email for r in by_admin)
    assert json.loads(rows[0]["data"]) == stored[0].data
