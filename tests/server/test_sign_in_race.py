"""Parallel wrong passwords for one account check at most the limit of passwords.

Before: 20 simultaneous sign-ins checked 18-19 passwords although the limit is 5,
because each request read the failure count before any of them wrote its failure.
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from pdca.services import accounts, organisation
from pdca.settings import Settings
from pdca.web.app import create_app
from tests.conftest import Clock, Org
from tests.live import serving

PARALLEL = 20


def test_twenty_parallel_wrong_sign_ins_check_at_most_the_limit(
    settings: Settings, engine, clock: Clock, org: Org, monkeypatch
) -> None:
    checked = 0
    lock = threading.Lock()
    verify = organisation.verify_hash

    def counting(password_hash: str, password: str) -> bool:
        nonlocal checked
        with lock:
            checked += 1
        return verify(password_hash, password)

    monkeypatch.setattr(organisation, "verify_hash", counting)
    app = create_app(settings, clock=clock)
    barrier = threading.Barrier(PARALLEL)
    with serving(app) as server:

        def one(i: int) -> int:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                barrier.wait()
                body = {"email": org.fiona.email, "password": f"wrong-{i}"}
                return client.post("/api/v1/session", json=body).status_code

        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            statuses = list(pool.map(one, range(PARALLEL)))

    assert sorted(set(statuses)) == [401, 429], statuses
    assert statuses.count(401) <= accounts.MAX_FAILURES
    assert checked <= accounts.MAX_FAILURES, f"{checked} passwords were checked"


def test_one_address_spraying_many_accounts_at_once_gets_at_most_its_allowance(
    settings: Settings, engine, clock: Clock, org: Org, monkeypatch
) -> None:
    """An attacker guesses one password each on many accounts, all at once, from one
    address: the per-address allowance holds too, not only the per-account one (each
    e-mail has its own queue, so the address needs one as well)."""
    checked = 0
    lock = threading.Lock()
    verify = organisation.verify_hash

    def counting(password_hash: str, password: str) -> bool:
        nonlocal checked
        with lock:
            checked += 1
        return verify(password_hash, password)

    monkeypatch.setattr(organisation, "verify_hash", counting)
    many = accounts.ADDRESS_FREE_FAILURES + 15
    app = create_app(settings, clock=clock)
    barrier = threading.Barrier(many)
    with serving(app) as server:

        def one(i: int) -> int:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                barrier.wait()
                body = {"email": f"someone{i}@example.com", "password": "Summer2026!"}
                return client.post("/api/v1/session", json=body).status_code

        with ThreadPoolExecutor(max_workers=many) as pool:
            statuses = list(pool.map(one, range(many)))

    assert sorted(set(statuses)) == [401, 429], statuses
    assert checked <= accounts.ADDRESS_FREE_FAILURES, f"{checked} passwords were checked"
