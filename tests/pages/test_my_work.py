"""My work: a head's and a member's day starts with what waits for them."""

from datetime import timedelta

from sqlalchemy import event

from pdca.services import actions, my_work
from tests.conftest import Org
from tests.services.builders_services import a_cycle_in_do, a_problem


def test_a_member_signs_in_and_lands_on_my_work_with_their_actions_by_urgency(
    client_for, org: Org, as_user, clock
):
    built = a_cycle_in_do(org, as_user, clock)  # Mia's rota is due in 7 days
    actions.add_action(
        as_user(org.fiona),
        built.cycle.id,
        title="Brief the night shift",
        department_id=org.cs,
        owner_id=org.mia.id,
        deadline=clock.today() + timedelta(days=1),
    )
    clock.advance(days=3)  # the briefing is overdue now
    mia = client_for("mia").client

    response = mia.get("/")
    assert response.url.path == "/my-work"
    page = response.text
    overdue = page.index("Overdue")
    assert page.index("Brief the night shift") > overdue
    assert page.index("Stagger breaks") > page.index("Due this week")
    assert 'class="nav-count nav-count-bad"' in page  # one overdue action, in the nav bar


def test_a_head_sees_the_departments_work_with_overdue_counts_per_owner_and_what_to_triage(
    client_for, org: Org, as_user, clock
):
    built = a_cycle_in_do(org, as_user, clock)
    a_problem(as_user(org.mia), title="Hold music too loud", department_id=org.cs)
    a_problem(as_user(org.max), title="VPN drops", department_id=org.it)
    clock.advance(days=8)  # the rota (Mia, CS) is overdue
    hanna = client_for("hanna").client

    page = hanna.get("/my-work").text

    assert "My department&#39;s actions" in page and "Stagger breaks" in page
    assert "IVR callback" not in page  # IT's
    assert "Hold music too loud" in page and "VPN drops" not in page  # her triage only
    assert '<tr data-testid="owner-load"><td>Mia Member</td><td class="overdue">1</td>' in page
    assert built.rota.id


def test_a_facilitator_lands_on_the_board_and_sees_what_waits_for_verification(
    client_for, org: Org, as_user, clock
):
    built = a_cycle_in_do(org, as_user, clock)
    actions.fire_action(as_user(org.mia), built.rota.id, trigger="complete", version=1)
    fiona = client_for("fiona").client

    assert fiona.get("/").url.path == "/board"
    page = fiona.get("/my-work").text
    assert f'href="/actions/{built.rota.id}#verify"' in page


def test_my_work_costs_the_same_number_of_queries_whatever_the_data(
    org: Org, as_user, clock, engine
):
    def queries_for_my_work() -> int:
        count = 0

        def counter(*_args) -> None:
            nonlocal count
            count += 1

        event.listen(engine, "before_cursor_execute", counter)
        try:
            my_work.my_work(as_user(org.hanna), org.hanna)
            my_work.nav_counts(as_user(org.hanna), org.hanna)
        finally:
            event.remove(engine, "before_cursor_execute", counter)
        return count

    a_cycle_in_do(org, as_user, clock)
    few = queries_for_my_work()
    built = a_cycle_in_do(org, as_user, clock)
    for n in range(5):
        actions.add_action(
            as_user(org.fiona),
            built.cycle.id,
            title=f"Extra {n}",
            department_id=org.cs,
            owner_id=org.hanna.id,
            deadline=clock.today() + timedelta(days=n),
        )
    assert queries_for_my_work() == few
