"""A complaint's whole life, told through the API as an outside client sees it.

Mia in Customer Service reports that customers wait too long on the hotline.
Fiona, the quality manager, accepts it and opens a PDCA cycle that she leads.
The plan puts one action on Customer Service (Mia: a call-back script) and one
on IT (Max: route overflow calls). Each owner does their own work; a
facilitator who is not the owner verifies it, signing. Frank, not the lead,
judges whether the change worked. Fiona closes the cycle as effective, signing
"approved closure", and the complaint is resolved. The audit trail tells it all.
"""

from datetime import timedelta

from tests.api import fixtures_story
from tests.api.fixtures_story import People
from tests.personas import PASSWORD

# The fixture this story uses (pytest finds it as an attribute of the module).
people = fixtures_story.people

PROBLEM_JSON = "application/problem+json"


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def refused(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def messages(body: dict) -> str:
    return " | ".join(r["message"] for r in body.get("reasons", []))


def test_a_complaint_goes_from_report_to_resolved_through_a_pdca_cycle(people: People, clock):
    fiona, frank, mia, max_ = people.fiona, people.frank, people.mia, people.max
    deadline = (clock.today() + timedelta(days=14)).isoformat()

    # --- Mia reports a complaint -------------------------------------------------
    problem = ok(
        mia.post(
            "/api/v1/problems",
            json={
                "title": "Customers wait over 5 minutes on the hotline",
                "source": "complaint",
                "severity": "high",
                "department_id": people.cs,
                "description": "Twelve complaints this week about hotline waiting times.",
                "evidence": "Complaint log 2026-W47",
            },
        ),
        201,
    )
    problem_id = problem["id"]
    assert problem["status"] == "new"
    assert problem["reported_by_id"] == mia.id
    assert problem["key"].endswith(str(problem_id))
    assert problem["cycle_ids"] == []

    # A member may report but not triage.
    body = refused(
        mia.post(
            f"/api/v1/problems/{problem_id}/triage",
            json={"decision": "accept", "version": problem["version"]},
        ),
        403,
    )
    assert "facilitator" in body["detail"].lower()

    # --- Fiona triages it: accepted --------------------------------------------
    problem = ok(
        fiona.post(
            f"/api/v1/problems/{problem_id}/triage",
            json={"decision": "accept", "version": problem["version"]},
        )
    )
    assert problem["status"] == "accepted"
    assert problem["triaged_by_id"] == fiona.id

    # --- Fiona opens a PDCA cycle and leads it ---------------------------------
    cycle = ok(
        fiona.post(
            "/api/v1/cycles",
            json={
                "title": "Cut hotline waiting time",
                "workflow": "pdca",
                "lead_id": fiona.id,
                "problem_ids": [problem_id],
                "department_id": people.cs,
                "member_ids": [mia.id, max_.id],
            },
        ),
        201,
    )
    cycle_id = cycle["id"]
    url = f"/api/v1/cycles/{cycle_id}"
    assert (cycle["state"], cycle["state_title"], cycle["iteration"]) == ("plan", "Plan", 1)
    assert cycle["problem_ids"] == [problem_id]
    assert cycle["lead_id"] == fiona.id
    assert ok(mia.get(f"/api/v1/problems/{problem_id}"))["cycle_ids"] == [cycle_id]

    # --- Start Do is refused while the plan is incomplete, and says why ----------
    options = {t["trigger"]: t for t in ok(fiona.get(f"{url}/transitions"))}
    assert set(options) == {"start_do", "cancel"}
    assert options["start_do"]["allowed"] is False
    body = refused(
        fiona.post(f"{url}/transitions", json={"trigger": "start_do", "version": cycle["version"]}),
        409,
    )
    why = messages(body)
    assert body["detail"] == f"C-{cycle_id}: “Start Do” is not possible yet."
    assert "Objective is missing" in why
    assert "Baseline is missing" in why
    assert "Target is missing" in why
    assert "Root cause is missing" in why
    assert "No action is planned yet" in why
    assert why == " | ".join(r["message"] for r in options["start_do"]["reasons"])

    # --- Fiona fills in the plan -----------------------------------------------
    cycle = ok(
        fiona.patch(
            url,
            json={
                "version": cycle["version"],
                "fields": {
                    "objective": "Answer hotline calls faster",
                    "baseline": 312,
                    "target": 120,
                    "unit": "s",
                    "direction": "lower",
                    "root_cause": "Peak-hour calls queue behind a single overflow line.",
                },
                "note": "Plan agreed in the weekly quality meeting",
            },
        )
    )
    assert cycle["fields"]["objective"] == "Answer hotline calls faster"
    assert (cycle["fields"]["baseline"], cycle["fields"]["target"]) == (312, 120)
    assert cycle["fields"]["root_cause"].startswith("Peak-hour")
    assert cycle["state"] == "plan"

    # --- Actions in two departments, each with an owner and a deadline ---------
    cs_action = ok(
        fiona.post(
            "/api/v1/actions",
            json={
                "cycle_id": cycle_id,
                "title": "Call-back script for queued callers",
                "department_id": people.cs,
                "owner_id": mia.id,
                "deadline": deadline,
                "kind": "corrective",
            },
        ),
        201,
    )
    it_action = ok(
        fiona.post(
            "/api/v1/actions",
            json={
                "cycle_id": cycle_id,
                "title": "Route overflow calls to a second line",
                "department_id": people.it,
                "owner_id": max_.id,
                "deadline": deadline,
                "kind": "corrective",
            },
        ),
        201,
    )
    assert (cs_action["department_code"], cs_action["owner_id"]) == ("CS", mia.id)
    assert (it_action["department_code"], it_action["owner_id"]) == ("IT", max_.id)
    for action in (cs_action, it_action):
        assert action["status"] == "open"
        assert action["deadline"] == deadline
        assert action["phase"] == "plan"
        assert action["overdue"] is False

    # --- The plan is complete: Start Do ----------------------------------------
    options = {t["trigger"]: t for t in ok(fiona.get(f"{url}/transitions"))}
    assert options["start_do"]["allowed"] is True
    assert options["start_do"]["reasons"] == []
    cycle = ok(
        fiona.post(
            f"{url}/transitions",
            json={"trigger": "start_do", "version": cycle["version"], "note": "Go"},
        )
    )
    assert (cycle["state"], cycle["state_title"]) == ("do", "Do")

    # --- Each owner works on their own action ----------------------------------
    # Mia cannot touch the IT action: it is not hers.
    body = refused(
        mia.post(
            f"/api/v1/actions/{it_action['id']}/transitions",
            json={"trigger": "start", "version": it_action["version"]},
        ),
        403,
    )
    assert "owner" in body["detail"]

    def work(owner, action: dict) -> dict:
        action_url = f"/api/v1/actions/{action['id']}/transitions"
        action = ok(owner.post(action_url, json={"trigger": "start", "version": action["version"]}))
        assert action["status"] == "in_progress"
        action = ok(
            owner.post(
                action_url,
                json={"trigger": "complete", "version": action["version"], "note": "Done"},
            )
        )
        assert action["status"] == "done"
        assert action["done_at"] is not None
        return action

    cs_action = work(mia, cs_action)
    it_action = work(max_, it_action)

    # --- Facilitators who are not the owners verify, signing ---------------------
    def verify(verifier, action: dict) -> dict:
        action = ok(
            verifier.post(
                f"/api/v1/actions/{action['id']}/transitions",
                json={
                    "trigger": "verify",
                    "version": action["version"],
                    "effective": True,
                    "note": "Checked a week of call logs",
                    "signature": {"meaning": "verified effective", "password": PASSWORD},
                },
            )
        )
        assert action["status"] == "verified"
        assert action["verified_by_id"] == verifier.id
        assert action["verification_effective"] is True
        assert action["verified_at"] is not None
        return action

    cs_action = verify(fiona, cs_action)
    it_action = verify(frank, it_action)

    # --- Check: record the result ------------------------------------------------
    cycle = ok(
        fiona.post(
            f"{url}/transitions", json={"trigger": "start_check", "version": cycle["version"]}
        )
    )
    assert cycle["state"] == "check"
    cycle = ok(
        fiona.patch(
            url,
            json={
                "version": cycle["version"],
                "fields": {
                    "result": 95,
                    "result_note": "Median wait over two weeks after the change",
                    "success_criterion": "Median wait at most 120 s for two weeks",
                },
            },
        )
    )
    assert cycle["fields"]["result"] == 95

    # The lead cannot judge her own cycle's effectiveness; Frank can.
    body = refused(
        fiona.post(
            f"{url}/effectiveness",
            json={"effective": True, "version": cycle["version"]},
        ),
        403,
    )
    assert "lead" in body["detail"]
    cycle = ok(
        frank.post(
            f"{url}/effectiveness",
            json={
                "effective": True,
                "note": "Wait times fell from 312 s to 95 s",
                "version": cycle["version"],
            },
        )
    )
    assert (cycle["effectiveness"], cycle["effectiveness_by_id"]) == ("effective", frank.id)

    # --- Act: standardise, then close as effective (signed) ----------------------
    cycle = ok(
        fiona.post(f"{url}/transitions", json={"trigger": "start_act", "version": cycle["version"]})
    )
    assert cycle["state"] == "act"
    options = {t["trigger"]: t for t in ok(fiona.get(f"{url}/transitions"))}
    assert options["close_effective"]["signed"] is True
    assert options["close_effective"]["allowed"] is False
    assert "standardised" in messages(options["close_effective"])

    cycle = ok(
        fiona.patch(
            url,
            json={
                "version": cycle["version"],
                "fields": {"standardisation": "Overflow routing and call-back script in SOP-CS-7"},
            },
        )
    )
    cycle = ok(
        fiona.post(
            f"{url}/transitions",
            json={
                "trigger": "close_effective",
                "version": cycle["version"],
                "note": "Target met and standardised",
                "signature": {"meaning": "approved closure", "password": PASSWORD},
            },
        )
    )
    assert (cycle["state"], cycle["state_title"]) == ("closed", "Closed, effective")
    assert cycle["closed_at"] is not None

    # --- The complaint is resolved ---------------------------------------------
    problem = ok(mia.get(f"/api/v1/problems/{problem_id}"))
    assert problem["status"] == "resolved"
    assert problem["resolved_at"] is not None
    assert problem["cycle_ids"] == [cycle_id]

    # --- The audit trail tells the story, in order -----------------------------
    trail = ok(
        people.vera.get(
            "/api/v1/events", params={"entity_type": "cycle", "entity_id": cycle_id, "limit": 500}
        )
    )
    events = trail["items"]
    assert trail["total"] == len(events)
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    assert all(e["entity_type"] == "cycle" and e["entity_id"] == cycle_id for e in events)

    story = [
        (e["verb"], e["field"], e["from_value"], e["to_value"])
        for e in events
        if e["verb"] in ("opened", "transition", "effectiveness_judged")
    ]
    assert story == [
        ("opened", "state", None, "plan"),
        ("transition", "state", "plan", "do"),
        ("transition", "state", "do", "check"),
        ("effectiveness_judged", "effectiveness", None, "effective"),
        ("transition", "state", "check", "act"),
        ("transition", "state", "act", "closed"),
    ]
    verbs = [e["verb"] for e in events]
    assert verbs[0] == "opened"
    opened = events[0]
    assert (opened["actor_id"], opened["data"]["workflow"]) == (fiona.id, "pdca")
    assert opened["data"]["problems"] == [problem_id]

    changed = {e["field"]: e for e in events if e["verb"] == "field_changed"}
    assert {"objective", "baseline", "target", "root_cause", "result", "standardisation"} <= set(
        changed
    )
    assert changed["target"]["to_value"] == "120.0"
    assert changed["objective"]["note"] == "Plan agreed in the weekly quality meeting"
    # Every plan field was written before Do started, the result before Act.
    first_transition = verbs.index("transition")
    assert all(
        events.index(changed[f]) < first_transition for f in ("objective", "target", "root_cause")
    )

    transitions = [e for e in events if e["verb"] == "transition"]
    assert [e["data"]["trigger"] for e in transitions] == [
        "start_do",
        "start_check",
        "start_act",
        "close_effective",
    ]
    assert all(e["actor_id"] == fiona.id for e in transitions)
    close = transitions[-1]
    assert (close["signature_meaning"], close["signature_method"]) == (
        "approved closure",
        "password",
    )
    assert close["note"] == "Target met and standardised"
    assert close["data"]["effects"] == ["resolve_problems"]
    assert all(e["signature_meaning"] is None for e in transitions[:-1])
    [judged] = [e for e in events if e["verb"] == "effectiveness_judged"]
    assert judged["actor_id"] == frank.id

    # Each action's trail: created, started, completed, verified with a signature.
    for action, owner, verifier in ((cs_action, mia, fiona), (it_action, max_, frank)):
        action_events = ok(
            people.vera.get(
                "/api/v1/events", params={"entity_type": "action", "entity_id": action["id"]}
            )
        )["items"]
        assert [(e["verb"], e["to_value"]) for e in action_events] == [
            ("created", "open"),
            ("start", "in_progress"),
            ("complete", "done"),
            ("verify", "verified"),
        ]
        assert [e["actor_id"] for e in action_events] == [fiona.id, owner.id, owner.id, verifier.id]
        signed = action_events[-1]
        assert (signed["signature_meaning"], signed["signature_method"]) == (
            "verified effective",
            "password",
        )

    # And the problem's: reported, triaged, linked, resolved.
    problem_events = ok(
        people.vera.get(
            "/api/v1/events", params={"entity_type": "problem", "entity_id": problem_id}
        )
    )["items"]
    assert [e["verb"] for e in problem_events] == [
        "reported",
        "triaged",
        "linked_to_cycle",
        "resolved",
    ]
    assert problem_events[-1]["data"] == {"cycle_id": cycle_id}
