"""The cycle board and workspace, as an improvement team works in them."""

from datetime import timedelta

from pdca.models import Cycle, ProblemStatus
from pdca.services import cycles
from tests.personas import PASSWORD
from tests.services.builders_services import a_cycle_in_check, a_cycle_in_do, a_problem


def test_a_facilitator_opens_a_cycle_on_a_problem_from_the_form(org, as_user, client_for, session):
    problem = a_problem(as_user(org.mia), department_id=org.cs)
    fiona = client_for("fiona")

    form = fiona.client.get(f"/cycles/new?problem={problem.id}")
    assert form.status_code == 200
    assert f'value="{problem.id}" checked' in form.text
    created = fiona.client.post(
        "/cycles/new",
        data={
            "csrf_token": fiona.csrf,
            "title": "Cut waiting",
            "workflow": "dmaic",
            "lead_id": org.fiona.id,
            "problem_ids": [problem.id],
            "objective": "2 minutes",
        },
        follow_redirects=False,
    )

    assert created.status_code == 303
    cycle = session.get(Cycle, int(created.headers["location"].rsplit("/", 1)[1]))
    assert (cycle.workflow, cycle.state, cycle.objective) == ("dmaic", "define", "2 minutes")
    session.refresh(problem)
    assert problem.status == ProblemStatus.accepted


def test_the_open_form_keeps_what_was_typed_and_says_what_is_missing(org, client_for):
    fiona = client_for("fiona")

    response = fiona.client.post(
        "/cycles/new",
        data={
            "csrf_token": fiona.csrf,
            "title": "  ",
            "workflow": "pdca",
            "lead_id": org.fiona.id,
            "objective": "Answer faster",
        },
    )

    assert response.status_code == 422
    assert 'id="title-error"' in response.text and 'id="problems-error"' in response.text
    assert ">Answer faster</textarea>" in response.text


def test_a_member_cannot_open_the_form(client_for):
    response = client_for("mia").client.get("/cycles/new")
    assert response.status_code == 403
    assert "Only facilitators, department heads and administrators open cycles." in response.text


def test_the_workspace_shows_each_next_step_with_the_reasons_it_is_refused(
    org, as_user, clock, client_for
):
    built = a_cycle_in_do(org, as_user, clock)
    page = client_for("fiona").client.get(f"/cycles/{built.cycle.id}")

    assert page.status_code == 200
    assert 'aria-current="step"' in page.text  # the diagram marks where the cycle is
    assert f"2 actions are not done: A-{built.rota.id}, A-{built.ivr.id}" in page.text
    assert 'data-trigger="start_check"' in page.text


def test_firing_a_refused_step_answers_409_with_the_reasons(org, as_user, clock, client_for):
    built = a_cycle_in_do(org, as_user, clock)
    fiona = client_for("fiona")

    response = fiona.client.post(
        f"/cycles/{built.cycle.id}/transitions",
        data={"csrf_token": fiona.csrf, "trigger": "start_check", "version": built.cycle.version},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 409
    assert response.text.lstrip().startswith('<div id="workspace"')
    assert 'data-testid="refusal"' in response.text
    assert "2 actions are not done" in response.text


def test_phase_fields_are_saved_and_a_bad_number_is_shown_next_to_its_field(
    org, as_user, clock, client_for, session
):
    built = a_cycle_in_check(org, as_user, clock)
    fiona = client_for("fiona")
    base = {"csrf_token": fiona.csrf, "version": built.cycle.version}

    bad = fiona.client.post(
        f"/cycles/{built.cycle.id}/fields", data={**base, "result": "about eighty"}
    )
    assert bad.status_code == 422
    assert 'id="e-result"' in bad.text and 'value="about eighty"' in bad.text

    good = fiona.client.post(
        f"/cycles/{built.cycle.id}/fields", data={**base, "result": "84"}, follow_redirects=False
    )
    assert good.status_code == 303
    session.refresh(built.cycle)
    assert built.cycle.result == 84


def test_a_stale_form_is_a_conflict_not_a_lost_update(org, as_user, clock, client_for, session):
    built = a_cycle_in_check(org, as_user, clock)
    fiona = client_for("fiona")
    stale = built.cycle.version
    cycles.update_cycle_fields(
        as_user(org.fiona), built.cycle.id, version=stale, changes={"result": 90}
    )

    response = fiona.client.post(
        f"/cycles/{built.cycle.id}/fields",
        data={"csrf_token": fiona.csrf, "version": stale, "result": "70"},
    )

    assert response.status_code == 409
    assert "changed by someone else" in response.text
    session.refresh(built.cycle)
    assert built.cycle.result == 90


def test_the_lead_sees_no_verdict_form_but_another_facilitator_does(
    org, as_user, clock, client_for
):
    built = a_cycle_in_check(org, as_user, clock)
    url = f"/cycles/{built.cycle.id}"
    assert f'action="{url}/effectiveness"' not in client_for("fiona").client.get(url).text
    assert f'action="{url}/effectiveness"' in client_for("frank").client.get(url).text


def test_closing_is_signed_with_the_password(org, as_user, clock, client_for, session):
    built = a_cycle_in_check(org, as_user, clock, standardisation="Rota in the SOP")
    fiona_ctx = as_user(org.fiona)
    cycle = built.cycle
    cycles.update_cycle_fields(fiona_ctx, cycle.id, version=cycle.version, changes={"result": 84})
    clock.advance(days=1)
    cycles.record_effectiveness(
        as_user(org.frank), cycle.id, effective=True, note="Held", version=cycle.version
    )
    cycles.fire_transition(fiona_ctx, cycle.id, trigger="start_act", version=cycle.version)
    fiona = client_for("fiona")
    page = fiona.client.get(f"/cycles/{cycle.id}")
    assert 'name="password"' in page.text  # the signed step asks for it

    wrong = fiona.client.post(
        f"/cycles/{cycle.id}/transitions",
        data={
            "csrf_token": fiona.csrf,
            "trigger": "close_effective",
            "version": cycle.version,
            "password": "not it",
        },
    )
    assert wrong.status_code == 403
    right = fiona.client.post(
        f"/cycles/{cycle.id}/transitions",
        data={
            "csrf_token": fiona.csrf,
            "trigger": "close_effective",
            "version": cycle.version,
            "password": PASSWORD,
        },
        follow_redirects=True,
    )
    assert right.status_code == 200
    session.refresh(cycle)
    assert cycle.state == "closed"
    assert "signed: approved closure" in right.text


def test_the_cycle_board_shows_cycles_by_phase_with_overdue_counts(org, as_user, clock, client_for):
    built = a_cycle_in_do(org, as_user, clock)
    clock.advance(days=30)

    page = client_for("hanna").client.get("/cycles?workflow=pdca")

    assert page.status_code == 200
    do_column = page.text.split('id="phase-do"')[1].split("</section>")[0]
    assert f'href="/cycles/{built.cycle.id}"' in do_column
    assert "2 overdue" in do_column
    assert (clock.today() - timedelta(days=30)).year == 2026
