"""The action page: a head, an owner and a verifier each do their part of an action
on one page, with and without JavaScript, and every refusal says why."""

from datetime import timedelta

from sqlmodel import Session

from pdca.models import Action, ActionDependency, Evidence
from pdca.services import actions
from tests.conftest import Org
from tests.services.builders_services import a_cycle_in_do, events_of

HTMX = {"HX-Request": "true"}


def test_the_action_page_shows_details_links_dependencies_both_ways_and_the_history(
    client_for, org: Org, as_user, clock
):
    built = a_cycle_in_do(org, as_user, clock)
    actions.add_dependency(as_user(org.fiona), built.rota.id, built.ivr.id)
    actions.update_action(
        as_user(org.hanna),
        built.rota.id,
        version=2,
        changes={"deadline": clock.today() + timedelta(days=9)},
        note="Rota needs the union's agreement",
    )
    hanna = client_for("hanna").client

    page = hanna.get(f"/actions/{built.rota.id}").text

    assert "A-1 · Stagger breaks" in page
    assert (
        f'href="/cycles/{built.cycle.id}"' in page
        and f'href="/problems/{built.problem.id}"' in page
    )
    assert "Mia Member" in page and "Corrective" in page
    assert 'href="/actions/2">A-2</a> IVR callback' in page  # what it waits for
    assert "Rota needs the union&#39;s agreement" in page  # the change's reason, in the history
    assert "Now waits for" in page
    ivr = hanna.get(f"/actions/{built.ivr.id}").text
    assert 'href="/actions/1">A-1</a> Stagger breaks' in ivr  # …and what waits for it


def test_starting_a_blocked_action_shows_the_blocker_without_javascript_and_with_htmx(
    client_for, org: Org, as_user, clock, session: Session
):
    built = a_cycle_in_do(org, as_user, clock)
    actions.add_dependency(as_user(org.fiona), built.rota.id, built.ivr.id)
    mia, csrf = client_for("mia")

    page = mia.get(f"/actions/{built.rota.id}").text
    assert "A-1 is blocked: 1 action it depends on is still open: A-2." in page  # before trying
    form = {"csrf_token": csrf, "trigger": "start", "version": "2"}
    plain = mia.post(f"/actions/{built.rota.id}/transitions", data=form)
    htmx = mia.post(f"/actions/{built.rota.id}/transitions", data=form, headers=HTMX)

    for response in (plain, htmx):
        assert response.status_code == 409
        assert 'data-testid="refusal"' in response.text
        assert "1 action it depends on is still open: A-2" in response.text
    assert htmx.text.lstrip().startswith('<div id="action_main"')  # only the block


def test_a_head_adds_and_removes_a_dependency_and_a_loop_is_refused_with_its_path(
    client_for, org: Org, as_user, clock, session: Session
):
    built = a_cycle_in_do(org, as_user, clock)
    actions.add_dependency(as_user(org.fiona), built.ivr.id, built.rota.id)  # A-2 waits for A-1
    hanna, csrf = client_for("hanna")

    loop = hanna.post(
        f"/actions/{built.rota.id}/dependencies",
        data={"csrf_token": csrf, "version": "1", "depends_on": "A-2"},
    )
    assert loop.status_code == 422
    assert "that would make a loop: A-1 → A-2 → A-1." in loop.text

    third = actions.add_action(
        as_user(org.fiona), built.cycle.id, title="Train agents", department_id=org.cs
    )
    added = hanna.post(
        f"/actions/{built.rota.id}/dependencies",
        data={"csrf_token": csrf, "version": "1", "depends_on": f"A-{third.id}"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    assert session.get(ActionDependency, (built.rota.id, third.id)) is not None
    removed = hanna.post(
        f"/actions/{built.rota.id}/dependencies/{third.id}/remove",
        data={"csrf_token": csrf, "version": "2"},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    session.rollback()  # a fresh read, not this session's snapshot
    assert session.get(ActionDependency, (built.rota.id, third.id)) is None


def test_a_verifier_sees_the_evidence_then_a_wrong_password_is_refused_and_the_right_one_signs(
    client_for, org: Org, as_user, clock, session: Session
):
    built = a_cycle_in_do(org, as_user, clock)
    mia, mia_csrf = client_for("mia")
    uploaded = mia.post(
        f"/actions/{built.rota.id}/evidence",
        data={"csrf_token": mia_csrf},
        files={"file": ("rota.pdf", b"%PDF the new rota", "application/pdf")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    actions.fire_action(as_user(org.mia), built.rota.id, trigger="complete", version=1)
    fiona, csrf = client_for("fiona")

    page = fiona.get(f"/actions/{built.rota.id}").text
    assert "Look at the 1 file of evidence before signing." in page
    (file,) = session.exec(__import__("sqlmodel").select(Evidence)).all()
    assert f'href="/evidence/{file.id}"' in page
    download = fiona.get(f"/evidence/{file.id}")
    assert download.content == b"%PDF the new rota"
    assert download.headers["x-content-type-options"] == "nosniff"

    form = {"csrf_token": csrf, "version": "2", "effective": "1", "note": "Seen on the floor"}
    wrong = fiona.post(
        f"/actions/{built.rota.id}/verify", data={**form, "password": "wrong"}, headers=HTMX
    )
    assert wrong.status_code == 403
    assert 'data-testid="verify-refusal"' in wrong.text

    right = fiona.post(
        f"/actions/{built.rota.id}/verify",
        data={**form, "password": "correct horse battery"},
        follow_redirects=False,
    )
    assert right.status_code == 303
    page = fiona.get(f"/actions/{built.rota.id}").text
    assert "signed by Fiona Facilitator: verified effective (password re-entered)" in page
    session.rollback()  # a fresh read, not this session's snapshot
    assert session.get(Action, built.rota.id).status == "verified"  # type: ignore[union-attr]


def test_cancelling_needs_a_reason_and_a_member_sees_why_they_cannot(
    client_for, org: Org, as_user, clock, session: Session
):
    built = a_cycle_in_do(org, as_user, clock)
    mia = client_for("mia").client
    page = mia.get(f"/actions/{built.rota.id}").text
    assert "Only the head of the responsible department" in page  # cancel is refused, with why
    hanna, csrf = client_for("hanna")

    response = hanna.post(
        f"/actions/{built.rota.id}/transitions",
        data={"csrf_token": csrf, "trigger": "cancel", "version": "1", "note": "Superseded"},
        follow_redirects=False,
    )

    assert response.status_code == 303
    (event,) = events_of(session, "action", built.rota.id, "cancel")
    assert (event.actor_id, event.note) == (org.hanna.id, "Superseded")


def test_an_unknown_action_is_a_404_page_and_a_stale_form_a_409(client_for, org, as_user, clock):
    built = a_cycle_in_do(org, as_user, clock)
    mia, csrf = client_for("mia")

    assert mia.get("/actions/999", headers={"Accept": "text/html"}).status_code == 404
    stale = mia.post(
        f"/actions/{built.rota.id}/transitions",
        data={"csrf_token": csrf, "trigger": "start", "version": "7"},
    )
    assert stale.status_code == 409
    assert "was changed by someone else" in stale.text


def test_evidence_past_the_limit_is_refused_with_413_next_to_the_form(
    app, client_for, org, as_user, clock
):
    built = a_cycle_in_do(org, as_user, clock)
    app.state.settings.evidence_max_bytes = 10
    mia, csrf = client_for("mia")

    response = mia.post(
        f"/actions/{built.rota.id}/evidence",
        data={"csrf_token": csrf},
        files={"file": ("big.txt", b"x" * 11, "text/plain")},
    )

    assert response.status_code == 413
    assert 'data-testid="evidence-refusal"' in response.text
    assert "larger than 10 bytes" in response.text


def test_evidence_is_uploaded_from_the_cycle_and_problem_pages_and_deleted_by_its_uploader(
    client_for, org: Org, as_user, clock, session: Session
):
    built = a_cycle_in_do(org, as_user, clock)
    mia, csrf = client_for("mia")

    for page in (f"/cycles/{built.cycle.id}", f"/problems/{built.problem.id}"):
        response = mia.post(
            f"{page}/evidence",
            data={"csrf_token": csrf},
            files={"file": ("call log.csv", b"time,wait\n12:00,300\n", "text/csv")},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert response.headers["location"] == f"{page}#evidence"
        assert "call log.csv" in mia.get(page).text

    files = session.exec(__import__("sqlmodel").select(Evidence)).all()
    assert sorted(f.entity_type for f in files) == ["cycle", "problem"]
    max_ = client_for("max")
    refused = max_.client.post(f"/evidence/{files[0].id}/delete", data={"csrf_token": max_.csrf})
    assert refused.status_code == 403
    assert "Only whoever uploaded a file" in refused.text
    deleted = mia.post(
        f"/evidence/{files[0].id}/delete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert deleted.status_code == 303
