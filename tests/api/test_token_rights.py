"""Tokens never carry more than the credential that made them (issue 10, "High").

A signing token needs the password again and a bounded life; tokens have scopes
(read, write, sign) and a token cannot mint more than it has; revoking a token,
changing the password or deactivating the user ends the tokens made from them.
"""

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from pdca.models import ApiToken
from pdca.services import accounts, organisation
from tests.api import fixtures_story
from tests.api.fixtures_story import Caller, People
from tests.personas import PASSWORD

people = fixtures_story.people


def when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def mint(caller: Caller, **body) -> dict:
    answer = caller.post("/api/v1/tokens", json={"name": "child", **body})
    assert answer.status_code == 201, answer.text
    return answer.json()


def as_caller(client, person: Caller, token: dict) -> Caller:
    return Caller(client, person.id, person.email, token["token"])


def test_a_signing_token_needs_the_password_again(people: People):
    refused = people.frank.post(
        "/api/v1/tokens", json={"name": "signer", "can_sign": True, "expires_in_days": 30}
    )
    assert refused.status_code == 422, refused.text
    assert "password" in refused.json()["detail"]

    wrong = people.frank.post(
        "/api/v1/tokens",
        json={"name": "signer", "can_sign": True, "expires_in_days": 30, "password": "nope"},
    )
    assert wrong.status_code == 403, wrong.text

    made = mint(people.frank, can_sign=True, expires_in_days=30, password=PASSWORD)
    assert made["can_sign"] is True and made["scopes"] == ["read", "write", "sign"]


def test_a_signing_token_never_lives_longer_than_thirty_days(people: People):
    for days in (None, 31, 365):
        answer = people.frank.post(
            "/api/v1/tokens",
            json={"name": "s", "can_sign": True, "expires_in_days": days, "password": PASSWORD},
        )
        assert answer.status_code == 422, (days, answer.text)
        assert "30 days" in answer.json()["detail"]


def test_a_read_token_cannot_write_nor_mint_a_writing_token(people: People, client):
    reader = as_caller(client, people.mia, mint(people.mia, scopes=["read"]))
    assert reader.get("/api/v1/users/me").status_code == 200
    assert reader.post("/api/v1/tokens", json={"name": "w", "scopes": ["write"]}).status_code == 403
    problem = reader.post("/api/v1/problems", json={"title": "x", "source": "internal"})
    assert problem.status_code == 403, problem.text


def test_a_token_minted_by_a_token_is_its_child_and_expires_no_later(people: People, client):
    parent = mint(people.mia, expires_in_days=7)
    child = mint(as_caller(client, people.mia, parent), expires_in_days=90)
    assert child["parent_id"] == parent["id"]
    assert when(child["expires_at"]) == when(parent["expires_at"])
    never = mint(as_caller(client, people.mia, parent), expires_in_days=None)
    assert when(never["expires_at"]) == when(parent["expires_at"])


def test_revoking_a_token_revokes_the_tokens_it_minted(people: People, client):
    parent = mint(people.mia)
    child = mint(as_caller(client, people.mia, parent))
    grandchild = mint(as_caller(client, people.mia, child))
    assert people.mia.delete(f"/api/v1/tokens/{parent['id']}").status_code == 200
    for token in (parent, child, grandchild):
        me = as_caller(client, people.mia, token).get("/api/v1/users/me")
        assert me.status_code == 401, token["name"]


def test_a_password_change_ends_every_token_of_the_user(people: People, client, as_user, org):
    token = mint(people.mia)
    mine = as_caller(client, people.mia, token)
    assert mine.get("/api/v1/users/me").status_code == 200
    organisation.change_password(as_user(org.mia), PASSWORD, "a-new-password-1")
    assert mine.get("/api/v1/users/me").status_code == 401
    assert people.mia.get("/api/v1/users/me").status_code == 401


def test_deactivating_a_user_revokes_their_tokens_for_good(
    people: People, client, as_user, org, engine
):
    token = mint(people.max)
    organisation.set_active(as_user(org.admin), org.max.id, active=False, version=None)
    organisation.set_active(as_user(org.admin), org.max.id, active=True, version=None)
    assert as_caller(client, people.max, token).get("/api/v1/users/me").status_code == 401
    with Session(engine) as db:
        row = db.get(ApiToken, token["id"])
        assert row is not None and row.revoked_at is not None


def test_the_cli_makes_signing_tokens_without_a_password_but_bounded(as_user, org):
    system = as_user(None)
    made = accounts.create_token(system, org.fiona.id, name="s", can_sign=True, expires_in_days=30)
    assert made.token.scopes == "read write sign"
    assert made.token.expires_at is not None
    assert made.token.expires_at - made.token.created_at == timedelta(days=30)


def test_a_session_mints_a_signing_token_only_with_the_password(app, people: People):
    browser = TestClient(app)
    signed_in = browser.post(
        "/api/v1/session", json={"email": people.hanna.email, "password": PASSWORD}
    )
    csrf = {"X-CSRF-Token": signed_in.json()["csrf_token"]}
    body = {"name": "s", "can_sign": True, "expires_in_days": 30}
    assert browser.post("/api/v1/tokens", json=body, headers=csrf).status_code == 422
    made = browser.post("/api/v1/tokens", json={**body, "password": PASSWORD}, headers=csrf)
    assert made.status_code == 201, made.text
    assert made.json()["parent_id"] is None
