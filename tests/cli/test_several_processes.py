"""Several `pdca serve` processes on one database behave as one server.

Sessions, their CSRF tokens and the count of failed sign-ins live in the database,
so a person signed in on one process is signed in on every other, and throttling
counts the attempts made on all of them. Process B runs two workers of its own
(`--workers 2`), the way a deployment runs.
"""

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from pdca.settings import Settings
from pdca.web.deps import SESSION_COOKIE
from tests.live import clean_environment, serving_process
from tests.personas import PASSWORD

PDCA = str(Path(sys.executable).parent / "pdca")


@pytest.fixture
def two_servers(
    settings: Settings, engine: Engine, org, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    env = clean_environment(
        database_url=settings.database_url,
        secret_key="several-processes-secret-0123",
        monitor_every_minutes="0",
    )
    with (
        serving_process([PDCA, "serve"], env, tmp_path) as a,
        serving_process([PDCA, "serve", "--workers", "2"], env, tmp_path) as b,
    ):
        yield a, b


def csrf_token(html: str) -> str:
    [token, *_] = re.findall(r'name="csrf_token" value="([^"]+)"', html)
    return token


def sign_in(base: str, email: str, password: str) -> httpx.Response:
    form = {"email": email, "password": password, "next": "/profile"}
    return httpx.post(f"{base}/login", data=form, follow_redirects=False)


def test_two_processes_share_sessions_csrf_tokens_and_the_sign_in_throttle(two_servers):
    # One test, not two: each pair of servers costs seconds to start.
    a, b = two_servers
    signed_in = sign_in(a, "fiona@example.com", PASSWORD)
    assert signed_in.status_code == 303
    cookies = {SESSION_COOKIE: signed_in.cookies[SESSION_COOKIE]}

    page = httpx.get(f"{b}/profile", cookies=cookies)
    assert page.status_code == 200 and "Fiona Facilitator" in page.text
    token = csrf_token(page.text)

    forged = httpx.post(f"{b}/profile/language", data={"locale": "zh_CN"}, cookies=cookies)
    assert forged.status_code == 403
    changed = httpx.post(
        f"{b}/profile/language",
        data={"locale": "zh_CN", "csrf_token": token},
        cookies=cookies,
        follow_redirects=False,
    )
    assert changed.status_code == 303
    # The same session and token seen from the first process, with the change made on B.
    seen_on_a = httpx.get(f"{a}/profile", cookies=cookies).text
    assert csrf_token(seen_on_a) == token
    assert '<html lang="zh-CN">' in seen_on_a

    signed_out = httpx.post(
        f"{b}/logout", data={"csrf_token": token}, cookies=cookies, follow_redirects=False
    )
    assert signed_out.status_code == 303
    gone = httpx.get(f"{a}/profile", cookies=cookies, follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/login")

    # Failed sign-ins: five in all, never more than three on one process, and both refuse.
    for base in (a, b, a, b, a):
        assert sign_in(base, "mia@example.com", "wrong").status_code == 401
    assert sign_in(b, "mia@example.com", PASSWORD).status_code == 429
    assert sign_in(a, "mia@example.com", PASSWORD).status_code == 429
