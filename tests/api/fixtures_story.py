"""People who speak HTTP, and a real server, for the story, race and auth tests.

Built on tests/api/conftest.py (`app`, `client`, `tokens`): after the organisation
and the tokens are set up through the services, as the CLI would, the tests speak
only HTTP: `people.fiona.post(url, json=...)`.
"""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.personas import PASSWORD

PERSONAS = ("admin", "fiona", "frank", "hanna", "ivan", "mia", "max", "vera")


@dataclass
class Caller:
    """One persona talking to the API with their own bearer token."""

    client: httpx.Client | TestClient
    id: int
    email: str
    token: str
    password: str = PASSWORD

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


@dataclass
class People:
    cs: int
    it: int
    admin: Caller
    fiona: Caller  # facilitator, CS
    frank: Caller  # facilitator, IT
    hanna: Caller  # head of CS
    ivan: Caller  # head of IT
    mia: Caller  # member, CS
    max: Caller  # member, IT
    vera: Caller  # viewer


@pytest.fixture
def people(org, client, tokens) -> People:
    """Every persona with their own bearer token, talking through the test client."""
    callers = {}
    for name in PERSONAS:
        user = getattr(org, name)
        callers[name] = Caller(client, user.id, user.email, tokens[name])
    return People(cs=org.cs, it=org.it, **callers)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(app: FastAPI, timeout: float = 10.0) -> Iterator[str]:
    """Serve `app` with uvicorn in a thread on 127.0.0.1; yields the base URL."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
