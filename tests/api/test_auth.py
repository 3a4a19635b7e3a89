"""Accounts through the API: tokens, sign-in sessions, CSRF, throttling and signatures."""

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from pdca.models import ApiToken, User
from pdca.web.app import create_app
from tests.api import fixtures_story
from tests.api.fixtures_story import Caller, People
from tests.personas import PASSWORD

people = fixtures_story.people

PROBLEM_JSON = "application/problem+json"


def when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def assert_problem(response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    for word in words:
        assert word in body["detail"], body
    return body


def assert_unauthenticated(response, *words: str) -> dict:
    body = assert_problem(response, 401, *words)
    assert response.headers["www-authenticate"] == "Bearer"
    return body


@pytest.fixture
def browser(app) -> TestClient:
    """A client with its own cookie jar and no bearer token, as a browser would be."""
    return TestClient(app)


# --- API tokens -------------------------------------------------------------------


def test_a_token_is_shown_once_stored_hashed_and_works_as_a_bearer(
    people: People, client, engine, clock
):
    created = people.fiona.post(
        "/api/v1/tokens", json={"name": "monitoring", "expires_in_days": 30}
    )
    assert created.status_code == 201, created.text
    token = created.json()
    secret = token["token"]
    assert secret.startswith("pdca_") and len(secret) > 40
    assert token["prefix"] == secret[: len(token["prefix"])] and len(token["prefix"]) < 16
    assert token["name"] == "monitoring"
    assert token["can_sign"] is False
    assert when(token["expires_at"]) == clock.now + timedelta(days=30)
    assert token["last_used_at"] is None and token["revoked_at"] is None

    # Never shown again: the list says which token it is, not what it is.
    listing = people.fiona.get("/api/v1/tokens")
    assert listing.status_code == 200
    assert secret not in listing.text
    [listed] = [t for t in listing.json() if t["id"] == token["id"]]
    assert "token" not in listed and "token_hash" not in listed
    assert (listed["prefix"], listed["name"]) == (token["prefix"], "monitoring")
    assert when(listed["expires_at"]) == clock.now + timedelta(days=30)
    assert listed["last_used_at"] is None

    # Stored hashed: the row holds no secret.
    with Session(engine) as db:
        row = db.get(ApiToken, token["id"])
        assert row is not None
        assert secret not in str(row.model_dump())
        assert len(row.token_hash) == 64 and row.token_hash != secret

    # It works as a bearer, and its use is recorded.
    me = Caller(client, people.fiona.id, people.fiona.email, secret)
    assert me.get("/api/v1/users/me").json()["email"] == "fiona@example.com"
    [listed] = [t for t in people.fiona.get("/api/v1/tokens").json() if t["id"] == token["id"]]
    assert when(listed["last_used_at"]) == clock.now

    clock.advance(minutes=5)
    assert me.get("/api/v1/users/me").status_code == 200
    [listed] = [t for t in people.fiona.get("/api/v1/tokens").json() if t["id"] == token["id"]]
    assert when(listed["last_used_at"]) == clock.now

    # Other people do not see Fiona's tokens.
    assert token["id"] not in [t["id"] for t in people.mia.get("/api/v1/tokens").json()]


def test_a_revoked_token_is_refused(people: People, client, clock):
    token = people.mia.post("/api/v1/tokens", json={"name": "script"}).json()
    mine = Caller(client, people.mia.id, people.mia.email, token["token"])
    assert mine.get("/api/v1/users/me").status_code == 200

    revoked = people.mia.delete(f"/api/v1/tokens/{token['id']}")
    assert revoked.status_code == 200
    assert when(revoked.json()["revoked_at"]) == clock.now
    assert "token" not in revoked.json()

    assert_unauthenticated(mine.get("/api/v1/users/me"), "revoked")
    # Mia's other token still works.
    assert people.mia.get("/api/v1/users/me").status_code == 200


def test_an_expired_token_is_refused(people: People, client, clock):
    token = people.max.post("/api/v1/tokens", json={"name": "one day", "expires_in_days": 1})
    mine = Caller(client, people.max.id, people.max.email, token.json()["token"])
    assert mine.get("/api/v1/users/me").status_code == 200

    clock.advance(hours=23, minutes=59)
    assert mine.get("/api/v1/users/me").status_code == 200
    clock.advance(minutes=1)
    assert_unauthenticated(mine.get("/api/v1/users/me"), "expired")


def test_a_deactivated_users_token_and_session_stop_working(people: People, engine, app):
    browser = TestClient(app)
    assert sign_in(browser, email="max@example.com").status_code == 200
    assert people.max.get("/api/v1/users/me").status_code == 200
    with Session(engine) as db:
        user = db.exec(select(User).where(User.email == "max@example.com")).one()
        user.active = False
        db.add(user)
        db.commit()
    assert_unauthenticated(people.max.get("/api/v1/users/me"), "deactivated")
    assert_unauthenticated(browser.get("/api/v1/users/me"))
    assert_unauthenticated(sign_in(TestClient(app), email="max@example.com"))


BAD_HEADERS = [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Basic bWlhOnNlY3JldA==",
    "Token pdca_x",
    "Bearer pdca_nope",
    "Bearer pdca_nope extra",
]


def test_a_missing_or_bad_authorization_header_is_401_with_a_bearer_challenge(client, people):
    for authorization in BAD_HEADERS:
        headers = {} if authorization is None else {"Authorization": authorization}
        for method, url in (("GET", "/api/v1/problems"), ("POST", "/api/v1/problems")):
            response = client.request(
                method, url, headers=headers, json={"title": "x", "source": "internal"}
            )
            assert_unauthenticated(response)


def test_a_caller_without_credentials_learns_nothing_about_the_input_only_401(client, people):
    """The credentials are checked where the route runs; input refused before it runs
    still answers 401 first, never a 422 that describes the body or the path."""
    bad_inputs = (
        ("POST", "/api/v1/problems", {"title": 7}),
        ("GET", "/api/v1/actions/not-a-number", None),
        ("PATCH", "/api/v1/actions/1", {"deadline": "someday"}),
    )
    for authorization in (None, "Bearer pdca_nope"):
        headers = {} if authorization is None else {"Authorization": authorization}
        for method, url, body in bad_inputs:
            assert_unauthenticated(client.request(method, url, headers=headers, json=body))
    # With credentials the same input is refused for what it is.
    assert people.fiona.post("/api/v1/problems", json={"title": 7}).status_code == 422


def test_nobody_revokes_someone_elses_token(people: People):
    token = people.fiona.post("/api/v1/tokens", json={"name": "mine"}).json()
    assert_problem(people.mia.delete(f"/api/v1/tokens/{token['id']}"), 403, "your own")
    assert_problem(people.mia.delete("/api/v1/tokens/999999"), 404)
    listed = [t for t in people.fiona.get("/api/v1/tokens").json() if t["id"] == token["id"]]
    assert listed[0]["revoked_at"] is None


def test_input_the_database_cannot_store_is_a_4xx_never_a_500(people: People, app):
    # PostgreSQL refuses NUL characters and ids beyond its integer range; SQLite
    # overflows past 64 bits. Either way it is the client's input, not a crash.
    client = TestClient(app, raise_server_exceptions=False)
    attempts = [
        ("POST", "/api/v1/session", {"email": "mia\x00@example.com", "password": "x"}),
        ("POST", "/api/v1/tokens", {"name": "nul\x00name"}),
        ("GET", "/api/v1/problems?q=a%00b", None),
        ("GET", "/api/v1/cycles/99999999999", None),
        ("GET", "/api/v1/cycles/99999999999999999999999", None),
    ]
    for method, url, body in attempts:
        response = client.request(method, url, json=body, headers=people.fiona.headers)
        assert response.status_code < 500, (url, response.text)
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith(PROBLEM_JSON)


# --- sign-in sessions ---------------------------------------------------------------


def sign_in(client: TestClient, email: str = "mia@example.com", password: str = PASSWORD):
    return client.post("/api/v1/session", json={"email": email, "password": password})


def test_sign_in_sets_a_httponly_samesite_lax_cookie_and_returns_a_csrf_token(people, browser):
    response = sign_in(browser)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["email"] == "mia@example.com"
    assert len(body["csrf_token"]) >= 32

    cookie = response.headers["set-cookie"]
    assert cookie.startswith("pdca_session=")
    attributes = {a.strip().lower() for a in cookie.split(";")}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    assert "secure" not in attributes  # secure_cookies is off in development

    me = browser.get("/api/v1/users/me")
    assert me.status_code == 200
    assert me.json()["email"] == "mia@example.com"


def test_the_trail_names_the_person_who_signed_in(people, browser, engine):
    from pdca.models import Event

    assert sign_in(browser).status_code == 200
    with Session(engine) as db:
        mia = db.exec(select(User).where(User.email == "mia@example.com")).one()
        [event] = db.exec(select(Event).where(Event.verb == "signed_in")).all()
    # An auditor reads "Mia signed in", not "the system signed Mia in".
    assert (event.entity_id, event.actor_id) == (mia.id, mia.id)


def test_the_session_cookie_is_secure_when_configured(people, settings, clock):
    app = create_app(settings.model_copy(update={"secure_cookies": True}), clock=clock)
    response = sign_in(TestClient(app))
    assert response.status_code == 200, response.text
    attributes = {a.strip().lower() for a in response.headers["set-cookie"].split(";")}
    assert {"secure", "httponly", "samesite=lax"} <= attributes


def test_a_wrong_password_is_401(people, browser):
    assert_unauthenticated(sign_in(browser, password="not the password"), "password is wrong")
    assert_unauthenticated(sign_in(browser, email="nobody@example.com"), "password is wrong")
    assert "pdca_session" not in browser.cookies


def test_an_unsafe_request_with_the_cookie_needs_the_csrf_token(people, browser):
    csrf = sign_in(browser).json()["csrf_token"]
    report = {"title": "Printer jams", "source": "internal"}

    assert_problem(browser.post("/api/v1/problems", json=report), 403, "CSRF")
    assert_problem(
        browser.post("/api/v1/problems", json=report, headers={"X-CSRF-Token": "forged"}),
        403,
        "CSRF",
    )
    created = browser.post("/api/v1/problems", json=report, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    assert created.json()["reported_by_id"] == people.mia.id

    # Reading needs no CSRF token.
    assert browser.get("/api/v1/problems").status_code == 200


def test_a_session_ends_after_twelve_hours_and_a_forged_cookie_is_refused(people, app, clock):
    browser = TestClient(app)
    assert sign_in(browser).status_code == 200
    clock.advance(hours=11, minutes=59)
    assert browser.get("/api/v1/users/me").status_code == 200
    clock.advance(minutes=1)
    assert_unauthenticated(browser.get("/api/v1/users/me"))

    forged = TestClient(app, cookies={"pdca_session": "not-a-signed-session-id"})
    assert_unauthenticated(forged.get("/api/v1/users/me"))


def test_sign_out_invalidates_the_session(people, browser, app):
    csrf = sign_in(browser).json()["csrf_token"]
    stolen = browser.cookies["pdca_session"]

    assert_problem(browser.delete("/api/v1/session"), 403, "CSRF")
    out = browser.delete("/api/v1/session", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert 'pdca_session=""' in out.headers["set-cookie"] or "max-age=0" in (
        out.headers["set-cookie"].lower()
    )

    assert_unauthenticated(browser.get("/api/v1/users/me"))
    # The old cookie is dead on the server, not merely forgotten by the browser.
    replay = TestClient(app, cookies={"pdca_session": stolen})
    assert_unauthenticated(replay.get("/api/v1/users/me"))


def test_failed_sign_ins_make_the_next_attempt_wait_longer_each_time(people, browser, clock):
    for _ in range(5):
        assert_unauthenticated(sign_in(browser, password="guess"))

    # Five failures are free; then each attempt waits, twice as long each time.
    body = assert_problem(sign_in(browser), 429, "try again in 1 second.")
    assert body["title"] == "Too many attempts"
    assert browser.post("/api/v1/session", json={}).status_code == 422
    # The wait is per e-mail: Max signs in as usual.
    assert sign_in(TestClient(browser.app), email="max@example.com").status_code == 200
    # The e-mail is the account, however it is written.
    assert sign_in(browser, email=" MIA@example.com").headers["retry-after"] == "1"

    clock.advance(seconds=1)
    assert_unauthenticated(sign_in(browser, password="guess"))
    assert sign_in(browser).headers["retry-after"] == "2"
    clock.advance(seconds=2)
    assert_unauthenticated(sign_in(browser, password="guess"))
    assert sign_in(browser).headers["retry-after"] == "4"

    # However many strangers fail, the owner waits at most a minute, never 15.
    for _ in range(10):
        clock.advance(minutes=1)
        assert_unauthenticated(sign_in(browser, password="guess"))
    assert sign_in(browser).headers["retry-after"] == "60"
    clock.advance(minutes=1)
    response = sign_in(browser)
    assert response.status_code == 200, response.text

    # A successful sign-in clears the count: one more mistake is just a mistake.
    assert_unauthenticated(sign_in(TestClient(browser.app), password="guess"))
    assert sign_in(TestClient(browser.app)).status_code == 200


def test_one_address_guessing_many_accounts_is_throttled_too(people, browser, clock, engine):
    from pdca.services.accounts import ADDRESS_FREE_FAILURES

    for i in range(ADDRESS_FREE_FAILURES):
        assert_unauthenticated(sign_in(browser, email=f"nobody{i}@example.com"))
    throttled = sign_in(browser, email="someone-else@example.com")
    assert_problem(throttled, 429)
    assert throttled.headers["retry-after"] == "1"


def test_an_unknown_email_costs_the_same_password_check(people, browser, monkeypatch):
    from pdca.services import organisation

    checked = []
    verify = organisation.verify_hash
    monkeypatch.setattr(organisation, "verify_hash", lambda h, p: checked.append(p) or verify(h, p))
    assert_unauthenticated(sign_in(browser, email="ghost@example.com", password="guess-1"))
    assert_unauthenticated(sign_in(browser, password="guess-2"))
    assert checked == ["guess-1", "guess-2"]


def test_failures_for_unknown_emails_are_capped(people, browser, engine, monkeypatch, clock):
    from sqlmodel import func

    from pdca.models import SignInFailure
    from pdca.services import accounts

    monkeypatch.setattr(accounts, "MAX_UNKNOWN_FAILURES", 3)
    for i in range(8):
        assert_unauthenticated(sign_in(browser, email=f"spray{i}@example.com"))
    assert_unauthenticated(sign_in(browser, password="guess"))
    with Session(engine) as db:
        unknown = select(func.count()).where(SignInFailure.known == False)  # noqa: E712
        assert db.exec(unknown).one() <= 3
        known = select(func.count()).where(SignInFailure.email == "mia@example.com")
        assert db.exec(known).one() == 1
    # And failures older than the window go as new ones come.
    clock.advance(minutes=16)
    assert_unauthenticated(sign_in(browser, email="late@example.com"))
    with Session(engine) as db:
        assert db.exec(select(func.count()).select_from(SignInFailure)).one() == 1


# --- signatures -----------------------------------------------------------------------


@pytest.fixture
def done_action(people: People, clock) -> dict:
    """An IT action, owned by Max and done, in a cycle Fiona leads, waiting to be verified."""
    fiona, max_ = people.fiona, people.max
    problem = fiona.post("/api/v1/problems", json={"title": "Slow", "source": "kpi"}).json()
    cycle = fiona.post(
        "/api/v1/cycles",
        json={
            "title": "Faster",
            "workflow": "pdca",
            "lead_id": fiona.id,
            "problem_ids": [problem["id"]],
            "fields": {
                "objective": "Faster",
                "baseline": 9,
                "target": 1,
                "root_cause": "Slow disks",
            },
        },
    ).json()
    action = fiona.post(
        "/api/v1/actions",
        json={
            "cycle_id": cycle["id"],
            "title": "New disks",
            "department_id": people.it,
            "owner_id": max_.id,
            "deadline": (clock.today() + timedelta(days=3)).isoformat(),
        },
    ).json()
    started = fiona.post(
        f"/api/v1/cycles/{cycle['id']}/transitions",
        json={"trigger": "start_do", "version": cycle["version"]},
    )
    assert started.status_code == 200, started.text
    url = f"/api/v1/actions/{action['id']}/transitions"
    for trigger in ("start", "complete"):
        action = max_.post(url, json={"trigger": trigger, "version": action["version"]}).json()
    assert action["status"] == "done"
    return action


def verify(caller: Caller, action: dict, signature: dict | None = None):
    body: dict = {"trigger": "verify", "version": action["version"], "effective": True}
    if signature is not None:
        body["signature"] = signature
    return caller.post(f"/api/v1/actions/{action['id']}/transitions", json=body)


def verify_events(caller: Caller, action: dict) -> list[dict]:
    return caller.get(
        "/api/v1/events",
        params={"entity_type": "action", "entity_id": action["id"], "verb": "verify"},
    ).json()["items"]


def test_verifying_without_a_signature_is_422_with_a_reason(people: People, done_action):
    body = assert_problem(verify(people.fiona, done_action), 422, "signed act")
    assert "verified effective" in body["reasons"][0]["message"]
    assert people.fiona.get(f"/api/v1/actions/{done_action['id']}").json()["status"] == "done"


def test_verifying_with_a_wrong_password_is_403_and_nothing_is_signed(people, done_action):
    signature = {"meaning": "verified effective", "password": "not my password"}
    assert_problem(verify(people.fiona, done_action, signature), 403, "password is wrong")
    action = people.fiona.get(f"/api/v1/actions/{done_action['id']}").json()
    assert (action["status"], action["version"]) == ("done", done_action["version"])
    assert verify_events(people.fiona, done_action) == []


def test_a_signature_must_state_the_meaning_of_the_act(people: People, done_action):
    wrong = {"meaning": "approved closure", "password": PASSWORD}
    assert_problem(verify(people.fiona, done_action, wrong), 422, "verified effective")
    unknown = {"meaning": "looks fine", "password": PASSWORD}
    assert_problem(verify(people.fiona, done_action, unknown), 422)


def test_an_ordinary_token_cannot_sign_without_the_password(people: People, done_action):
    body = assert_problem(
        verify(people.fiona, done_action, {"meaning": "verified effective"}), 422, "password"
    )
    assert body["reasons"]


def test_a_signing_token_signs_with_only_the_meaning(people: People, client, done_action):
    created = people.frank.post(
        "/api/v1/tokens",
        json={"name": "signing", "can_sign": True, "expires_in_days": 30, "password": PASSWORD},
    )
    assert created.status_code == 201
    assert created.json()["can_sign"] is True
    signer = Caller(client, people.frank.id, people.frank.email, created.json()["token"])

    verified = verify(signer, done_action, {"meaning": "verified effective"})
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "verified"
    assert verified.json()["verified_by_id"] == people.frank.id

    [event] = verify_events(people.vera, done_action)
    assert event["actor_id"] == people.frank.id
    assert (event["signature_meaning"], event["signature_method"]) == (
        "verified effective",
        "token",
    )


def test_a_password_signature_is_recorded_with_its_meaning_and_method(people, done_action):
    signature = {"meaning": "verified effective", "password": PASSWORD}
    verified = verify(people.fiona, done_action, signature)
    assert verified.status_code == 200, verified.text
    [event] = verify_events(people.vera, done_action)
    assert event["actor_id"] == people.fiona.id
    assert (event["from_value"], event["to_value"]) == ("done", "verified")
    assert (event["signature_meaning"], event["signature_method"]) == (
        "verified effective",
        "password",
    )


def test_the_owner_cannot_verify_their_own_action_even_signing(people: People, done_action):
    signature = {"meaning": "verified effective", "password": PASSWORD}
    assert_problem(verify(people.max, done_action, signature), 403, "owner")
