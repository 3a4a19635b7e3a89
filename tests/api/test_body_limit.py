"""Bodies past the configured limit get 413 before they are read or as they stream in.

Before: a 45 MB JSON body with no credentials raised the server's memory from 99 to
468 MB before the 401.
"""

import pytest
from fastapi.testclient import TestClient

from pdca.web.app import create_app


@pytest.fixture
def small(settings, engine, clock) -> TestClient:
    limits = {"max_body_bytes": 4096, "evidence_max_bytes": 100 * 1024}
    return TestClient(create_app(settings.model_copy(update=limits), clock=clock))


def chunks(total: int, size: int = 1024):
    for _ in range(total // size):
        yield b"x" * size


def test_a_declared_body_past_the_limit_is_413_before_authentication(small):
    answer = small.post(
        "/api/v1/problems",
        content=b"{" + b" " * 10_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 413, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_streamed_body_is_cut_off_at_the_limit(small, tokens):
    answer = small.post(
        "/api/v1/problems",
        content=chunks(50_000),
        headers={"content-type": "application/json", "Authorization": f"Bearer {tokens['mia']}"},
    )
    assert answer.status_code == 413, answer.text


def test_a_form_post_streamed_past_the_limit_is_413_too(small):
    answer = small.post(
        "/login",
        content=chunks(50_000),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 413, answer.text


def test_evidence_uploads_have_their_own_limit(small, tokens, world):
    headers = {"Authorization": f"Bearer {tokens['mia']}"}
    url = f"/api/v1/problems/{world.problem}/evidence"
    fits = small.post(url, files={"file": ("a.txt", b"y" * 50_000, "text/plain")}, headers=headers)
    assert fits.status_code == 201, fits.text
    big = small.post(url, files={"file": ("b.txt", b"y" * 300_000, "text/plain")}, headers=headers)
    assert big.status_code == 413, big.text


def test_small_bodies_pass(small, tokens):
    answer = small.post(
        "/api/v1/problems",
        json={"title": "A small one", "source": "internal"},
        headers={"Authorization": f"Bearer {tokens['mia']}"},
    )
    assert answer.status_code == 201, answer.text
