"""Evidence through the API: a file goes on an action, a cycle or a problem, comes back
as an attachment byte for byte, and leaves its SHA-256 in the trail, even once deleted."""

import hashlib

import pytest

from tests.api.test_story import ok, refused

API = "/api/v1"
PDF = b"%PDF-1.4 the signed checklist\n" * 40


def _events(client, headers, entity_type: str, entity_id: int) -> list[dict]:
    params = {"entity_type": entity_type, "entity_id": entity_id, "limit": 200}
    return ok(client.get(f"{API}/events", params=params, headers=headers))["items"]


@pytest.mark.parametrize(
    ("collection", "entity_type", "world_id"),
    [
        ("actions", "action", "action_cs"),
        ("cycles", "cycle", "cycle"),
        ("problems", "problem", "problem"),
    ],
)
def test_a_member_uploads_evidence_lists_it_and_downloads_it_byte_for_byte(
    client, world, tokens, auth, collection, entity_type, world_id
):
    mia = auth(tokens["mia"])
    entity_id = getattr(world, world_id)
    name = "清单 checklist.pdf"

    added = ok(
        client.post(
            f"{API}/{collection}/{entity_id}/evidence",
            files={"file": (name, PDF, "application/pdf")},
            headers=mia,
        ),
        201,
    )

    digest = hashlib.sha256(PDF).hexdigest()
    assert (added["filename"], added["size"], added["sha256"]) == (name, len(PDF), digest)
    assert added["uploaded_by_name"] == "Mia Member"
    listed = ok(client.get(f"{API}/{collection}/{entity_id}/evidence", headers=mia))
    assert [e["id"] for e in listed] == [added["id"]]

    got = client.get(added["download_url"], headers=auth(tokens["vera"]))  # a viewer reads it
    assert got.status_code == 200
    assert got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"] == (
        'attachment; filename="checklist.pdf"; '
        "filename*=UTF-8''%E6%B8%85%E5%8D%95%20checklist.pdf"
    )
    (event,) = [e for e in _events(client, mia, entity_type, entity_id) if "evidence" in e["verb"]]
    assert event["verb"] == "evidence_added"
    assert event["data"]["sha256"] == digest and event["data"]["filename"] == name


def test_the_uploader_deletes_evidence_and_the_trail_keeps_its_sha256(client, world, tokens, auth):
    mia = auth(tokens["mia"])
    added = ok(
        client.post(
            f"{API}/actions/{world.action_cs}/evidence",
            files={"file": ("photo.jpg", b"\xff\xd8\xff not really a photo", "image/jpeg")},
            headers=mia,
        ),
        201,
    )

    assert client.delete(f"{API}/evidence/{added['id']}", headers=mia).status_code == 204

    refused(client.get(f"{API}/evidence/{added['id']}", headers=mia), 404)
    assert ok(client.get(f"{API}/actions/{world.action_cs}/evidence", headers=mia)) == []
    trail = [
        (e["verb"], e["data"]["sha256"])
        for e in _events(client, mia, "action", world.action_cs)
        if "evidence" in e["verb"]
    ]
    assert trail == [("evidence_added", added["sha256"]), ("evidence_removed", added["sha256"])]


def test_only_the_uploader_or_a_manager_deletes_evidence(client, world, tokens, auth):
    added = ok(
        client.post(
            f"{API}/actions/{world.action_it}/evidence",
            files={"file": ("log.txt", b"batch ran at 02:00", "text/plain")},
            headers=auth(tokens["max"]),
        ),
        201,
    )
    url = f"{API}/evidence/{added['id']}"

    # Mia did not upload it, and Hanna heads CS, not IT (the action's department).
    for persona in ("mia", "hanna"):
        body = refused(client.delete(url, headers=auth(tokens[persona])), 403)
        assert "Only whoever uploaded a file and those who manage the record" in body["detail"]
    # Fiona leads the cycle: she manages its actions.
    assert client.delete(url, headers=auth(tokens["fiona"])).status_code == 204


def test_a_file_past_the_size_limit_is_refused_with_413_and_the_reason(
    client, app, world, tokens, auth
):
    app.state.settings.evidence_max_bytes = 1000
    mia = auth(tokens["mia"])

    body = refused(
        client.post(
            f"{API}/actions/{world.action_cs}/evidence",
            files={"file": ("big.bin", b"x" * 1001, "application/octet-stream")},
            headers=mia,
        ),
        413,
    )

    assert body["detail"] == "The file is larger than 1000 bytes, the most that can be uploaded."
    assert ok(client.get(f"{API}/actions/{world.action_cs}/evidence", headers=mia)) == []
    ok(
        client.post(
            f"{API}/actions/{world.action_cs}/evidence",
            files={"file": ("ok.bin", b"x" * 1000, "application/octet-stream")},
            headers=mia,
        ),
        201,
    )


def test_a_viewer_cannot_upload_and_an_empty_file_is_invalid(client, world, tokens, auth):
    url = f"{API}/problems/{world.problem}/evidence"
    file = {"file": ("note.txt", b"hello", "text/plain")}

    body = refused(client.post(url, files=file, headers=auth(tokens["vera"])), 403)
    assert body["detail"] == "Viewers have read-only access."
    empty = refused(
        client.post(url, files={"file": ("e.txt", b"", "text/plain")}, headers=auth(tokens["mia"])),
        422,
    )
    assert "The file is empty." in [r["message"] for r in empty["reasons"]]
