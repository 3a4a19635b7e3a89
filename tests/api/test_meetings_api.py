"""A review meeting through the API: plan, start, decide, end, download and sign the
minutes; every write carries a version and every refusal is problem+json."""

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.api.test_story import ok, refused
from tests.personas import PASSWORD

API = "/api/v1"


@pytest.fixture
def meeting(client, world, org, tokens, auth, clock):
    """A weekly series for CS and IT chaired by Fiona, and its next meeting, started."""
    fiona = auth(tokens["fiona"])
    series = ok(
        client.post(
            f"{API}/meeting-series",
            json={
                "title": "Weekly service-quality review",
                "weekday": 1,
                "local_time": "10:00",
                "time_zone": "Asia/Shanghai",
                "chair_id": org.fiona.id,
                "department_ids": [org.cs, org.it],
                "attendee_ids": [org.hanna.id, org.ivan.id],
                "quorum": 2,
            },
            headers=fiona,
        ),
        201,
    )
    planned = ok(client.post(f"{API}/meeting-series/{series['id']}/meetings", headers=fiona), 201)
    assert planned["starts_at"].startswith("2026-12-01T02:00:00")
    return ok(
        client.post(
            f"{API}/meetings/{planned['id']}/start",
            json={"version": planned["version"]},
            headers=fiona,
        )
    )


def pdf_text(content: bytes) -> str:
    """The PDF's text without spaces or the NULs pypdf leaves in two-byte font codes."""
    pages = PdfReader(io.BytesIO(content)).pages
    return "".join("".join(p.extract_text().replace("\x00", "").split()) for p in pages)


def agenda_item(client, headers, meeting_id: int, entity_type: str, entity_id: int) -> dict:
    items = ok(client.get(f"{API}/meetings/{meeting_id}/agenda", headers=headers))
    return next(i for i in items if (i["entity_type"], i["entity_id"]) == (entity_type, entity_id))


def test_a_chair_runs_a_meeting_and_downloads_its_minutes_in_markdown_and_pdf(
    client, world, org, tokens, auth, meeting, clock, tmp_path
):
    fiona, vera = auth(tokens["fiona"]), auth(tokens["vera"])
    mid = meeting["id"]
    to_verify = agenda_item(client, vera, mid, "action", world.action_done)
    assert to_verify["kind"] == "to_verify" and to_verify["facts"]["owner"] == "Mia Member"

    made = ok(
        client.post(
            f"{API}/meetings/{mid}/decisions",
            json={
                "item_id": to_verify["id"],
                "item_version": to_verify["version"],
                "kind": "new_action",
                "title": "中午增派人手 (extra staff at noon)",
                "owner_id": org.mia.id,
                "deadline": clock.today().replace(day=30).isoformat(),
            },
            headers=fiona,
        ),
        201,
    )
    action = ok(client.get(f"{API}/actions/{made['entity_id']}", headers=vera))
    assert action["cycle_id"] == world.cycle and action["department_id"] == org.cs
    trail = ok(
        client.get(
            f"{API}/events",
            params={"entity_type": "action", "entity_id": made["entity_id"]},
            headers=vera,
        )
    )["items"]
    assert trail[0]["data"]["meeting_id"] == mid

    # The same item again, at the version the room saw before: someone decided meanwhile.
    stale = client.post(
        f"{API}/meetings/{mid}/decisions",
        json={
            "item_id": to_verify["id"],
            "item_version": to_verify["version"],
            "kind": "note",
            "note": "twice",
        },
        headers=fiona,
    )
    refused(stale, 409)
    refused(
        client.post(
            f"{API}/meetings/{mid}/decisions",
            json={"item_id": to_verify["id"], "kind": "teleport"},
            headers=fiona,
        ),
        422,
    )
    current = ok(client.get(f"{API}/meetings/{mid}", headers=vera))
    current = ok(
        client.put(
            f"{API}/meetings/{mid}/attendance",
            json={
                "version": current["version"],
                "attendance": {str(org.fiona.id): "present", str(org.hanna.id): "present"},
            },
            headers=fiona,
        )
    )
    assert (current["present"], current["quorum_met"]) == (2, True)
    refused(
        client.get(f"{API}/meetings/{mid}/minutes", headers=vera), 409
    )  # not ended: no minutes yet, and the document says a client may meet that answer
    document = client.get(f"{API}/openapi.json").json()
    assert "409" in document["paths"][f"{API}/meetings/{{meeting_id}}/minutes"]["get"]["responses"]
    ended = ok(
        client.post(
            f"{API}/meetings/{mid}/end", json={"version": current["version"]}, headers=fiona
        )
    )

    minutes = ok(client.get(f"{API}/meetings/{mid}/minutes", headers=vera))["minutes"]
    assert [d["kind"] for d in minutes["decisions"]] == ["new_action"]
    assert minutes["new_actions"][0]["owner"] == "Mia Member"
    markdown = client.get(
        f"{API}/meetings/{mid}/minutes", headers={**vera, "Accept": "text/markdown"}
    )
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "# Minutes: Weekly service-quality review" in markdown.text
    assert f"A-{made['entity_id']} “中午增派人手 (extra staff at noon)”" in markdown.text

    signed = ok(
        client.post(
            f"{API}/meetings/{mid}/minutes/signature",
            json={"version": ended["version"], "password": PASSWORD},
            headers=fiona,
        )
    )
    assert signed["status"] == "signed"
    refused(
        client.put(
            f"{API}/meetings/{mid}/attendance",
            json={"version": signed["version"], "attendance": {str(org.ivan.id): "present"}},
            headers=fiona,
        ),
        409,
    )

    pdf = client.get(
        f"{API}/meetings/{mid}/minutes", params={"format": "pdf", "lang": "zh_CN"}, headers=vera
    )
    assert pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert "中午增派人手(extrastaffatnoon)" in text
    assert "会议纪要" in text and "决定" in text  # the headings, in Chinese
    assert "FionaFacilitator" in text
    if shutil.which("pdftoppm"):
        source = tmp_path / "minutes.pdf"
        source.write_bytes(pdf.content)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "60", str(source), str(tmp_path / "page")], check=True
        )
        assert sorted(p.name for p in Path(tmp_path).glob("page*.png"))


def test_a_head_cannot_run_a_meeting_she_does_not_chair(client, tokens, auth, meeting):
    body = refused(
        client.post(
            f"{API}/meetings/{meeting['id']}/end",
            json={"version": meeting["version"]},
            headers=auth(tokens["hanna"]),
        ),
        403,
    )
    assert "chair" in body["detail"]


def test_a_series_in_an_unknown_time_zone_is_refused(client, org, tokens, auth, world):
    body = refused(
        client.post(
            f"{API}/meeting-series",
            json={
                "title": "Review",
                "weekday": 1,
                "local_time": "10:00",
                "time_zone": "Mars/Olympus",
                "chair_id": org.fiona.id,
            },
            headers=auth(tokens["fiona"]),
        ),
        422,
    )
    # The reason names the field it is about, so a client (or a page) can point at it.
    assert {"code": "time_zone", "message": body["reasons"][0]["message"]} in body["reasons"]
    assert "Mars/Olympus" in body["reasons"][0]["message"]


def test_the_chair_changes_a_series_and_a_stale_change_is_a_conflict(
    client, org, tokens, auth, meeting
):
    fiona = auth(tokens["fiona"])
    series_id = meeting["series_id"]
    read = ok(client.get(f"{API}/meeting-series/{series_id}", headers=fiona))

    changed = ok(
        client.patch(
            f"{API}/meeting-series/{series_id}",
            json={"version": read["version"], "weekday": 3, "duration_minutes": 90},
            headers=fiona,
        )
    )

    assert (changed["weekday"], changed["duration_minutes"], changed["version"]) == (3, 90, 2)
    assert changed["local_time"] == "10:00"  # what was not sent stays
    body = refused(
        client.patch(
            f"{API}/meeting-series/{series_id}",
            json={"version": read["version"], "quorum": 5},
            headers=fiona,
        ),
        409,
    )
    assert "version" in body["detail"]
    refused(
        client.patch(
            f"{API}/meeting-series/{series_id}",
            json={"version": changed["version"], "chair_id": None},
            headers=fiona,
        ),
        422,
    )
    trail = ok(
        client.get(
            f"{API}/events",
            params={"entity_type": "meeting_series", "entity_id": series_id},
            headers=fiona,
        )
    )["items"]
    assert {(e["field"], e["to_value"]) for e in trail if e["verb"] == "field_changed"} == {
        ("weekday", "3"),
        ("duration_minutes", "90"),
    }


def test_a_stopped_series_plans_no_meeting_and_the_trail_says_who_stopped_it(
    client, org, tokens, auth, meeting
):
    fiona = auth(tokens["fiona"])
    series_id = meeting["series_id"]
    read = ok(client.get(f"{API}/meeting-series/{series_id}", headers=fiona))

    stopped = ok(
        client.patch(
            f"{API}/meeting-series/{series_id}",
            json={"version": read["version"], "active": False},
            headers=fiona,
        )
    )

    assert stopped["active"] is False
    body = refused(client.post(f"{API}/meeting-series/{series_id}/meetings", headers=fiona), 409)
    assert "stopped" in body["detail"]
    trail = ok(
        client.get(
            f"{API}/events",
            params={"entity_type": "meeting_series", "entity_id": series_id},
            headers=fiona,
        )
    )["items"]
    assert ("active", "False") in {(e["field"], e["to_value"]) for e in trail}
    resumed = ok(
        client.patch(
            f"{API}/meeting-series/{series_id}",
            json={"version": stopped["version"], "active": True},
            headers=fiona,
        )
    )
    assert resumed["active"] is True
    ok(client.post(f"{API}/meeting-series/{series_id}/meetings", headers=fiona), 201)


def test_markdown_minutes_show_times_in_the_zone_the_reader_asks_for(
    client, org, tokens, auth, meeting
):
    fiona = auth(tokens["fiona"])
    mid = meeting["id"]
    ok(
        client.post(
            f"{API}/meetings/{mid}/end", json={"version": meeting["version"]}, headers=fiona
        )
    )
    markdown = {"Accept": "text/markdown"}

    in_shanghai = client.get(f"{API}/meetings/{mid}/minutes", headers={**fiona, **markdown})
    in_berlin = client.get(
        f"{API}/meetings/{mid}/minutes",
        params={"tz": "Europe/Berlin"},
        headers={**fiona, **markdown},
    )

    # The clock says 2026-11-25 09:00 UTC when the meeting starts: 17:00 in Shanghai, 10:00 in Berlin.
    assert "5:00:00\u202fPM (Asia/Shanghai)" in in_shanghai.text
    assert "10:00:00\u202fAM (Europe/Berlin)" in in_berlin.text
    refused(
        client.get(
            f"{API}/meetings/{mid}/minutes",
            params={"tz": "Mars/Olympus", "format": "markdown"},
            headers=fiona,
        ),
        422,
    )
