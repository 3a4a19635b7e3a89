"""Fixtures for the page tests: the app on the test's own database, and a browser per persona.

`client_for("mia")` signs Mia in through /login, as a person would, and hands back
the client (its cookie jar holds her session) with the CSRF token her pages carry.
"""

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import NamedTuple

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pdca.web.app import create_app
from tests.conftest import Clock, Org
from tests.personas import PASSWORD

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class SignedIn(NamedTuple):
    client: TestClient
    csrf: str


def csrf_of(html: str) -> str:
    """The CSRF token a page puts in its forms."""
    match = CSRF_FIELD.search(html)
    assert match, "the page carries no CSRF token: is the visitor signed in?"
    return match.group(1)


@pytest.fixture
def app(settings, engine, clock: Clock) -> FastAPI:
    """The app on the test's own migrated database, telling the time by the test clock."""
    return create_app(settings, clock=clock)


@pytest.fixture
def anonymous(app: FastAPI) -> Iterator[TestClient]:
    """A visitor who has not signed in."""
    with TestClient(app) as client:
        yield client


@pytest.fixture
def client_for(app: FastAPI, org: Org) -> Iterator[Callable[..., SignedIn]]:
    """client_for("fiona") -> SignedIn(client, csrf): a browser where she has signed in.

    `next` is the page she lands on after signing in (the token is read from it).
    """
    with ExitStack() as stack:

        def sign_in(persona: str, next: str = "/") -> SignedIn:
            user = getattr(org, persona)
            client = stack.enter_context(TestClient(app))
            response = client.post(
                "/login", data={"email": user.email, "password": PASSWORD, "next": next}
            )
            assert response.status_code == 200, response.text
            return SignedIn(client, csrf_of(response.text))

        yield sign_in
