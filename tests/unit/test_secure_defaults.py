"""Outside debug mode the session cookie is Secure unless someone turns it off."""

import pytest

from pdca.settings import Settings


@pytest.mark.parametrize(
    ("environment", "secure"),
    [
        ({"PDCA_DEBUG": "0"}, True),
        ({}, True),
        ({"PDCA_DEBUG": "1"}, False),
        ({"PDCA_DEBUG": "0", "PDCA_SECURE_COOKIES": "0"}, False),
        ({"PDCA_DEBUG": "1", "PDCA_SECURE_COOKIES": "1"}, True),
    ],
)
def test_secure_cookies_default_to_on_outside_debug(monkeypatch, environment, secure):
    for name in ("PDCA_DEBUG", "PDCA_SECURE_COOKIES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert Settings().secure_cookies is secure
