"""The action board as the people in a review meeting use it."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import event

from pdca.models import Action, ActionStatus
from pdca.services import board_settings
from tests.pages.conftest import csrf_of
from tests.services.builders_services import a_cycle_in_do


def count_queries(engine, run):
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


def add_many_actions(session, cycle_id: int, org, n: int, today) -> None:
    # The rules for adding actions are tested elsewhere; here we only need many rows.
    statuses = [ActionStatus.open, ActionStatus.in_progress, ActionStatus.done]
    session.add_all(
        [
            Action(
                cycle_id=cycle_id,
                title=f"Bulk action {i}",
                department_id=(org.cs, org.it)[i % 2],
                owner_id=(org.mia.id, org.max.id)[i % 2],
                status=statuses[i % 3],
                deadline=today + timedelta(days=i % 20 - 5),
            )
            for i in range(n)
        ]
    )
    session.commit()


@pytest.mark.parametrize("persona", ["fiona", "mia"])
def test_a_board_page_costs_the_same_number_of_queries_for_10_or_1000_cards(
    org, as_user, clock, session, app, client_for, persona
):
    built = a_cycle_in_do(org, as_user, clock)
    me = client_for(persona, next="/board")
    add_many_actions(session, built.cycle.id, org, 8, clock.today())
    few = count_queries(app.state.engine, lambda: me.client.get("/board"))
    add_many_actions(session, built.cycle.id, org, 990, clock.today())

    response = None

    def load() -> None:
        nonlocal response
        response = me.client.get("/board")

    many = count_queries(app.state.engine, load)
    assert response is not None and response.status_code == 200
    # Six cells hold the 1,000 cards: each shows its first 50 and says how many more.
    assert response.text.count('class="card-item') == 6 * 50
    counts = re.findall(r'data-testid="count-[a-z_]+">(\d+)<', response.text)
    assert sum(map(int, counts)) == 2 + 998  # every card counted, shown or not
    assert "118 more cards" in response.text
    assert len(many) == len(few), "the board's queries grow with its cards"


def test_more_cards_of_a_cell_load_on_demand_after_the_last_one_shown(
    org, as_user, clock, session, client_for
):
    built = a_cycle_in_do(org, as_user, clock)
    add_many_actions(session, built.cycle.id, org, 400, clock.today())
    fiona = client_for("fiona")
    page = fiona.client.get("/board?dept=IT").text
    shown = set(re.findall(r'id="card-(\d+)"', page))
    more = re.search(r'<a class="more" href="([^"]+)"', page)
    assert more, "a full cell offers the rest"
    url = more.group(1).replace("&amp;", "&")
    assert url.startswith("/board/cell/IT/") and "dept=IT" in url

    rest = fiona.client.get(url, headers={"HX-Request": "true"})

    assert rest.status_code == 200 and "<html" not in rest.text
    loaded = set(re.findall(r'id="card-(\d+)"', rest.text))
    assert loaded and not loaded & shown, "the next cards, none shown twice"
    without_js = fiona.client.get(url)
    assert "<html" in without_js.text and "Back to the board" in without_js.text


def test_filters_live_in_the_url_so_a_board_can_be_shared(org, as_user, clock, client_for):
    built = a_cycle_in_do(org, as_user, clock)
    fiona = client_for("fiona")

    it_only = fiona.client.get("/board", params={"dept": "IT"})

    assert it_only.status_code == 200
    assert f'id="card-{built.ivr.id}"' in it_only.text
    assert f'id="card-{built.rota.id}"' not in it_only.text
    assert 'id="lane-CS"' not in it_only.text


def test_the_search_box_understands_the_query_language(org, as_user, clock, client_for):
    built = a_cycle_in_do(org, as_user, clock)
    clock.advance(days=30)  # both deadlines are now past
    mia = client_for("mia")

    mine_overdue = mia.client.get("/board", params={"q": "owner:me overdue"})

    assert f'id="card-{built.rota.id}"' in mine_overdue.text  # Mia's
    assert f'id="card-{built.ivr.id}"' not in mine_overdue.text  # Max's
    assert "overdue" in mine_overdue.text


def test_a_search_it_cannot_understand_is_a_422_with_the_reason_next_to_the_box(
    org, as_user, clock, client_for
):
    a_cycle_in_do(org, as_user, clock)
    fiona = client_for("fiona")

    response = fiona.client.get("/board", params={"q": "colour:red dept:NOPE"})

    assert response.status_code == 422
    assert 'id="q-error"' in response.text
    assert "Unknown filter &#39;colour:&#39;" in response.text
    assert "No department has the code NOPE." in response.text
    assert 'value="colour:red dept:NOPE"' in response.text  # what was typed is kept


def test_an_htmx_refresh_gets_only_the_board_block(org, as_user, clock, client_for):
    a_cycle_in_do(org, as_user, clock)
    fiona = client_for("fiona")

    page = fiona.client.get("/board")
    block = fiona.client.get("/board", headers={"HX-Request": "true"})

    assert "<html" in page.text and "<html" not in block.text
    assert block.text.lstrip().startswith('<div id="board"')
    assert 'hx-trigger="every 60s' in block.text  # it keeps refreshing itself
    assert block.headers["Vary"] == "HX-Request"


def test_buttons_appear_only_for_those_allowed(org, as_user, clock, client_for):
    built = a_cycle_in_do(org, as_user, clock)
    mia = client_for("mia").client.get("/board").text
    start_mine = f'value="{built.rota.id}:start:{built.rota.version}"'
    start_maxs = f'value="{built.ivr.id}:start:{built.ivr.version}"'

    assert start_mine in mia and start_maxs not in mia
    hanna = client_for("hanna").client.get("/board").text  # head of CS
    assert f'href="/board/actions/{built.rota.id}/edit"' in hanna
    assert f'href="/board/actions/{built.ivr.id}/edit"' not in hanna
    vera = client_for("vera").client.get("/board").text  # viewer
    assert "/board/actions/" not in vera and 'name="move"' not in vera


def test_a_member_starts_their_card_without_javascript(org, as_user, clock, client_for, session):
    built = a_cycle_in_do(org, as_user, clock)
    mia = client_for("mia", next="/board?dept=CS")

    response = mia.client.post(
        f"/board/actions/{built.rota.id}/start",
        data={"csrf_token": mia.csrf, "version": built.rota.version, "return_to": "/board?dept=CS"},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/board?dept=CS"
    session.refresh(built.rota)
    assert built.rota.status == ActionStatus.in_progress
    after = mia.client.get("/board?dept=CS")
    assert f"A-{built.rota.id}: Start" in after.text  # the flash, shown once
    assert f"A-{built.rota.id}: Start" not in mia.client.get("/board?dept=CS").text


def test_a_member_starts_their_card_from_the_boards_one_form(
    org, as_user, clock, client_for, session
):
    built = a_cycle_in_do(org, as_user, clock)
    mia = client_for("mia", next="/board?dept=CS")

    response = mia.client.post(
        "/board/move",
        data={
            "csrf_token": mia.csrf,
            "move": f"{built.rota.id}:start:{built.rota.version}",
            "return_to": "/board?dept=CS",
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/board?dept=CS"
    session.refresh(built.rota)
    assert built.rota.status == ActionStatus.in_progress


def test_a_move_that_is_not_a_move_is_a_422_with_the_reason(org, as_user, clock, client_for):
    a_cycle_in_do(org, as_user, clock)
    mia = client_for("mia")

    response = mia.client.post("/board/move", data={"csrf_token": mia.csrf, "move": "1:fly:1"})

    assert response.status_code == 422
    assert "not a move" in response.text


def test_with_htmx_a_move_answers_only_the_card_and_its_counts(org, as_user, clock, client_for):
    built = a_cycle_in_do(org, as_user, clock)
    mia = client_for("mia", next="/board?dept=CS")

    response = mia.client.post(
        "/board/move",
        data={
            "csrf_token": mia.csrf,
            "move": f"{built.rota.id}:start:{built.rota.version}",
            "return_to": "/board?dept=CS",
        },
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    html = response.text
    assert '<div id="board"' not in html and "<table" not in html
    assert f'<div id="card-{built.rota.id}" hx-swap-oob="delete">' in html
    assert 'hx-swap-oob="afterbegin:#cards-CS-in_progress"' in html
    assert html.count('class="card-item') == 1
    assert (
        'id="count-in_progress" class="count" data-testid="count-in_progress" hx-swap-oob="true">1<'
        in html
    )
    assert 'id="count-open" class="count" data-testid="count-open" hx-swap-oob="true">0<' in html
    assert 'id="cellhead-CS-open"' in html and 'id="cellhead-CS-in_progress"' in html
    assert "lane-count-IT" not in html, "the filtered-out lane is not touched"
    assert 'id="flash"' in html and f"A-{built.rota.id}: Start" in html
    assert len(html) < 10_000


def test_a_stale_move_redraws_the_card_with_the_reason_in_it(
    org, as_user, clock, client_for, session
):
    built = a_cycle_in_do(org, as_user, clock)
    mia = client_for("mia")
    stale = built.rota.version
    from pdca.services import actions

    actions.update_action(
        as_user(org.hanna), built.rota.id, version=stale, changes={"title": "Renamed"}
    )

    response = mia.client.post(
        "/board/move",
        data={"csrf_token": mia.csrf, "move": f"{built.rota.id}:start:{stale}"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 409
    assert f'hx-swap-oob="outerHTML:#card-{built.rota.id}"' in response.text
    assert 'class="error" role="alert"' in response.text
    assert "Renamed" in response.text  # the card as it is now
    session.refresh(built.rota)
    assert built.rota.status == ActionStatus.open


def test_a_move_without_the_csrf_token_is_refused(org, as_user, clock, client_for, session):
    built = a_cycle_in_do(org, as_user, clock)
    mia = client_for("mia")

    response = mia.client.post(
        f"/board/actions/{built.rota.id}/start",
        data={"csrf_token": "forged", "version": built.rota.version},
    )

    assert response.status_code == 403
    session.refresh(built.rota)
    assert built.rota.status == ActionStatus.open


def test_a_hard_wip_limit_refuses_the_move_and_says_why(org, as_user, clock, client_for, session):
    built = a_cycle_in_do(org, as_user, clock)
    board_settings.set_wip_limit(
        as_user(org.fiona), status="in_progress", department_id=org.cs, max_cards=0 + 1, hard=True
    )
    hanna = as_user(org.hanna)
    from pdca.services import actions

    extra = actions.add_action(
        hanna,
        built.cycle.id,
        title="Another CS job",
        department_id=org.cs,
        owner_id=org.mia.id,
        deadline=clock.today() + timedelta(days=3),
    )
    actions.fire_action(
        as_user(org.mia), built.rota.id, trigger="start", version=built.rota.version
    )
    mia = client_for("mia")

    response = mia.client.post(
        f"/board/actions/{extra.id}/start",
        data={"csrf_token": mia.csrf, "version": extra.version, "return_to": "/board"},
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 409
    assert "allows at most 1 cards on this department" in response.text
    session.refresh(extra)
    assert extra.status == ActionStatus.open


def test_a_person_saves_a_view_and_finds_it_again(org, as_user, clock, client_for):
    a_cycle_in_do(org, as_user, clock)
    fiona = client_for("fiona")

    saved = fiona.client.post(
        "/board/views",
        data={"csrf_token": fiona.csrf, "name": "IT overdue", "query": "dept=IT&overdue=1"},
        follow_redirects=True,
    )

    assert saved.status_code == 200
    assert 'href="/board?dept=IT&amp;overdue=1">IT overdue</a>' in saved.text
    other = client_for("frank").client.get("/board").text
    assert "IT overdue" not in other  # views are personal
    assert csrf_of(saved.text)


@pytest.mark.parametrize("odd", ["²", "99999999999999999999", "-1", "1e3"])
def test_odd_numbers_in_the_url_are_ignored_not_a_server_error(client_for, odd):
    fiona = client_for("fiona")

    response = fiona.client.get("/board", params={"cycle": odd, "due": odd, "owner": odd})

    assert response.status_code == 200
    by_key = fiona.client.get("/board", params={"q": f"cycle:C-{odd}"})
    assert by_key.status_code == 422


def test_a_head_reassigns_and_re_dates_a_card_from_the_board_without_javascript(
    org, as_user, clock, client_for, session
):
    built = a_cycle_in_do(org, as_user, clock)
    hanna = client_for("hanna", next="/board?dept=CS")  # head of CS

    form = hanna.client.get(
        f"/board/actions/{built.rota.id}/edit",
        headers={"Referer": "http://testserver/board?dept=CS"},
    )
    assert form.status_code == 200
    assert 'class="card-form' in form.text and 'name="owner_id"' in form.text
    assert 'name="return_to" value="/board?dept=CS"' in form.text
    new_deadline = clock.today() + timedelta(days=30)

    saved = hanna.client.post(
        f"/board/actions/{built.rota.id}/edit",
        data={
            "csrf_token": hanna.csrf,
            "version": built.rota.version,
            "owner_id": org.hanna.id,
            "deadline": new_deadline.isoformat(),
            "note": "Mia is on leave",
            "return_to": "/board?dept=CS",
        },
        follow_redirects=False,
    )

    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/board?dept=CS"
    session.refresh(built.rota)
    assert (built.rota.owner_id, built.rota.deadline) == (org.hanna.id, new_deadline)


def test_a_wrong_signature_password_keeps_the_verify_form_open_with_the_reason(
    org, as_user, clock, client_for, session
):
    built = a_cycle_in_do(org, as_user, clock)
    from pdca.services import actions

    mia = as_user(org.mia)
    started = actions.fire_action(mia, built.rota.id, trigger="start", version=built.rota.version)
    done = actions.fire_action(mia, built.rota.id, trigger="complete", version=started.version)
    fiona = client_for("fiona")

    response = fiona.client.post(
        f"/board/actions/{built.rota.id}/verify",
        data={
            "csrf_token": fiona.csrf,
            "version": done.version,
            "effective": "1",
            "note": "Queue times back under target",
            "password": "not-my-password",
            "return_to": "/board",
        },
        headers={"HX-Request": "true"},
    )

    assert response.status_code in (401, 403)
    assert f'hx-swap-oob="outerHTML:#card-{built.rota.id}"' in response.text
    assert 'class="card-form' in response.text and 'role="alert"' in response.text
    assert 'value="Queue times back under target"' in response.text  # nothing typed is lost
    session.refresh(built.rota)
    assert built.rota.status == ActionStatus.done


def test_a_head_bulk_re_dates_cards_and_the_board_says_what_was_refused(
    org, as_user, clock, client_for, session
):
    built = a_cycle_in_do(org, as_user, clock)
    fiona = client_for("fiona", next="/board?dept=CS")
    new = clock.today() + timedelta(days=21)
    picks = [f"{built.rota.id}:{built.rota.version}", f"{built.ivr.id}:{built.ivr.version + 7}"]

    response = fiona.client.post(
        "/board/bulk",
        data={
            "csrf_token": fiona.csrf,
            "operation": "redate",
            "deadline": new.isoformat(),
            "pick": picks,
            "return_to": "/board?dept=CS",
        },
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="board"')
    assert 'id="lane-IT"' not in response.text, "the board keeps its filter"
    assert f"Done: A-{built.rota.id}." in response.text
    assert f"Refused: A-{built.ivr.id}" in response.text
    session.refresh(built.rota)
    assert built.rota.deadline == new

    without_js = fiona.client.post(
        "/board/bulk",
        data={"csrf_token": fiona.csrf, "operation": "redate", "deadline": "", "pick": picks},
        follow_redirects=False,
    )
    assert without_js.status_code == 303
    assert "Choose the new deadline" in fiona.client.get(without_js.headers["location"]).text
