"""Every refusal shows its reason where the person acted, with htmx and without."""

import pytest
from sqlalchemy.exc import OperationalError

from pdca.services import queries
from tests.services.builders_services import a_cycle_in_do

HTMX = {"HX-Request": "true"}


def test_an_htmx_request_after_the_session_ended_sends_the_browser_to_sign_in(anonymous):
    response = anonymous.get("/board?dept=CS", headers=HTMX, follow_redirects=False)

    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/board%3Fdept%3DCS"
    assert "<html" not in response.text  # never the sign-in page swapped into a fragment


def test_a_refused_htmx_move_redraws_the_card_with_the_reason_in_it(
    org, as_user, clock, client_for
):
    built = a_cycle_in_do(org, as_user, clock)
    vera = client_for("vera")  # a viewer

    response = vera.client.post(
        "/board/move",
        data={"csrf_token": vera.csrf, "move": f"{built.rota.id}:start:{built.rota.version}"},
        headers=HTMX,
    )

    assert response.status_code == 403
    assert f'hx-swap-oob="outerHTML:#card-{built.rota.id}"' in response.text
    assert 'role="alert"' in response.text and "read-only" in response.text


def test_a_refusal_before_any_card_is_read_shows_in_the_flash_and_swaps_nothing_else(
    org, as_user, clock, client_for
):
    built = a_cycle_in_do(org, as_user, clock)
    mia = client_for("mia")

    response = mia.client.post(
        "/board/move",
        data={"csrf_token": "forged", "move": f"{built.rota.id}:start:{built.rota.version}"},
        headers=HTMX,
    )

    assert response.status_code == 403
    assert response.headers["HX-Reswap"] == "none"
    assert 'id="flash"' in response.text and 'hx-swap-oob="true"' in response.text
    assert "The form has expired" in response.text


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_busy_database_is_a_503_page_with_retry_after_not_json(
    org, as_user, clock, client_for, monkeypatch, htmx
):
    fiona = client_for("fiona")

    def locked(*_args, **_kwargs):
        raise OperationalError("SELECT …", {}, Exception("database is locked"))

    monkeypatch.setattr(queries, "board", locked)
    headers = {"Accept": "text/html", **(HTMX if htmx else {})}
    response = fiona.client.get("/board", headers=headers)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert response.headers["content-type"].startswith("text/html")
    assert "try again in a moment" in response.text


@pytest.mark.parametrize("path", ["/problems/4242", "/actions/4242", "/board/cell/XX/open"])
def test_an_error_page_gives_its_connection_back(app, org, client_for, path):
    """Error pages are drawn after the request's session closed; what they read (the
    navigation bar's counts) must not leave a connection in a transaction."""
    fiona = client_for("fiona")

    response = fiona.client.get(path, headers={"Accept": "text/html"})

    assert response.status_code == 404
    assert app.state.engine.pool.checkedout() == 0
