"""Every answer carries the security headers: pages, htmx fragments and the API."""

from pdca.services import accounts

HTML = {"Accept": "text/html"}
FRAGMENT = {**HTML, "HX-Request": "true"}


HTMX = "https://cdn.jsdelivr.net/npm/htmx.org@2.0.11/dist/htmx.min.js"


def assert_secure(response) -> None:
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    # The one pinned file, not the CDN's origin: jsDelivr serves any npm package, so an
    # injected <script src="https://cdn.jsdelivr.net/npm/evil"> must stay refused.
    assert f"script-src 'self' {HTMX};" in csp
    assert "style-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["cache-control"] == "no-store"


def test_a_page_a_fragment_and_an_api_answer_carry_the_headers(client_for, org, as_user):
    fiona = client_for("fiona")
    page = fiona.client.get("/board", headers=HTML)
    assert page.status_code == 200
    assert_secure(page)
    fragment = fiona.client.get("/board", headers=FRAGMENT)
    assert fragment.status_code == 200 and not fragment.text.lstrip().startswith("<!doctype")
    assert_secure(fragment)

    token = accounts.create_token(as_user(None), org.mia.id, name="t").secret
    api = fiona.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    assert_secure(api)
    # Errors too.
    assert_secure(fiona.client.get("/api/v1/problems/999999"))


def test_no_hsts_without_secure_cookies_and_static_files_stay_cacheable(anonymous):
    login = anonymous.get("/login", headers=HTML)
    assert_secure(login)
    assert "strict-transport-security" not in login.headers
    css = anonymous.get("/static/pdca.css")
    assert css.status_code == 200 and css.headers.get("cache-control") != "no-store"
    assert css.headers["x-content-type-options"] == "nosniff"


def test_a_vendored_htmx_adds_no_other_script_source(settings, engine, clock):
    from fastapi.testclient import TestClient

    from pdca.web.app import create_app

    local = settings.model_copy(update={"htmx_url": "/static/vendor/htmx-2.0.11.min.js"})
    with TestClient(create_app(local, clock=clock)) as client:
        csp = client.get("/login", headers=HTML).headers["content-security-policy"]
    assert "script-src 'self';" in csp


def test_hsts_when_cookies_are_secure(settings, engine, clock):
    from fastapi.testclient import TestClient

    from pdca.web.app import create_app

    app = create_app(settings.model_copy(update={"secure_cookies": True}), clock=clock)
    with TestClient(app) as client:
        answer = client.get("/login", headers=HTML)
    assert answer.headers["strict-transport-security"].startswith("max-age=")


def test_the_templates_have_no_inline_script_handlers_or_styles():
    import re

    from pdca import resources

    for template in resources.templates_dir().rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template
        assert not re.search(r"\son[a-z]+=", text), template
        assert 'style="' not in text and "<style" not in text, template


def test_every_cookie_the_app_sets_is_secure_when_cookies_are_secure(settings, engine, clock, org):
    from fastapi.testclient import TestClient

    from pdca.web.app import create_app
    from tests.personas import PASSWORD

    app = create_app(settings.model_copy(update={"secure_cookies": True}), clock=clock)
    with TestClient(app, base_url="https://testserver") as client:
        language = client.post("/language", data={"lang": "zh_CN", "next": "/login"})
        signed_in = client.post(
            "/login",
            data={"email": org.mia.email, "password": PASSWORD, "next": "/profile"},
            follow_redirects=False,
        )
        csrf = client.get("/profile").text.split('name="csrf_token" value="')[1].split('"')[0]
        flashed = client.post(
            "/profile/language", data={"csrf_token": csrf, "locale": "en"}, follow_redirects=False
        )
    cookies = [
        header
        for response in (language.history[0] if language.history else language, signed_in, flashed)
        for header in response.headers.get_list("set-cookie")
        if "Max-Age=0" not in header and "expires=Thu, 01 Jan 1970" not in header
    ]
    names = {header.split("=", 1)[0] for header in cookies}
    assert {"pdca_lang", "pdca_flash"} <= names, names
    assert all("Secure" in header for header in cookies), cookies
