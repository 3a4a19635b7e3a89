"""An expert review through the HTTP API: an outside expert with a viewer's account and
a colleague each score it; the review reads each score and their mean."""

from fastapi.testclient import TestClient

from tests.api.test_inspections_api import Auth, a_checklist, ok, refused
from tests.conftest import Org


def test_two_reviewers_score_and_the_review_shows_each_score_and_the_mean(
    client: TestClient, auth: Auth, tokens: dict[str, str], org: Org
):
    fiona = auth(tokens["fiona"])
    checklist = a_checklist(client, fiona)
    body = {
        "checklist_id": checklist["id"],
        "department_id": org.cs,
        "due_on": "2026-12-15",
        "reviewer_ids": [org.vera.id, org.frank.id],
    }
    review = ok(client.post("/api/v1/expert-reviews", json=body, headers=fiona), 201)
    mine = f"/api/v1/inspections/{review['id']}/reviews/mine"

    outsider = refused(client.put(mine, json={"score": 50}, headers=auth(tokens["hanna"])), 403)
    too_high = refused(client.put(mine, json={"score": 120}, headers=auth(tokens["vera"])), 422)
    ok(
        client.put(
            mine, json={"score": 70, "comment": "Replies slow"}, headers=auth(tokens["vera"])
        )
    )
    done = ok(client.put(mine, json={"score": 95}, headers=auth(tokens["frank"])))

    assert "reviewers named" in outsider["detail"] and too_high["status"] == 422
    assert [(r["reviewer"], r["score"]) for r in done["reviews"]] == [
        ("Vera Viewer", 70.0),
        ("Frank Facilitator", 95.0),
    ]
    assert (done["status"], done["mean"], done["waiting"]) == ("submitted", 82.5, 0)
    read = ok(client.get(f"/api/v1/inspections/{review['id']}", headers=fiona))
    assert (read["kind"], read["score"], read["passed"]) == ("expert_review", 82.5, True)
    twice = refused(client.put(mine, json={"score": 10}, headers=auth(tokens["vera"])), 409)
    assert "final" in twice["detail"]
