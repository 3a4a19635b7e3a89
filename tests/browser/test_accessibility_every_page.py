"""axe-core on every page of the demo, in English and in Chinese: no serious violation.

The pages are the same list the Chinese-text test reads (every GET page of the app,
its parameters filled from the demo), seen by the facilitator and by the
administrator for the administration pages.
"""

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from pdca.demo import DEMO_PASSWORD, email_of, load_demo
from tests.browser.conftest import accessibility_problems
from tests.pages.test_every_page_in_chinese import PARAMETERS, pages_of

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_every_page_has_no_serious_accessibility_problem(
    open_browser, session, catalog, lang: str, backend: str
) -> None:
    if backend != "sqlite":
        # What axe judges is the markup, the same on either database; once is enough.
        pytest.skip("checked in the SQLite pass")
    load_demo(session, catalog, datetime.now(UTC))
    values = {n: session.connection().execute(text(q)).scalar() for n, q in PARAMETERS.items()}
    session.commit()
    found: dict[str, list[str]] = {}
    checked = 0
    for login, only in (("sarah.chen", None), ("admin", "/admin")):
        page = open_browser(js=True, locale="zh-CN" if lang == "zh_CN" else "en-GB")
        page.goto("/login?next=/profile")
        page.locator("#email").fill(email_of(login))
        page.locator("#password").fill(DEMO_PASSWORD)
        page.locator("main button[type=submit]").click()
        page.wait_for_url(re.compile(r"/profile"))
        for path in pages_of():
            if only and not path.startswith(only):
                continue
            names = re.findall(r"{(\w+)(?::\w+)?}", path)
            if any(values.get(n) is None for n in names):
                continue
            url = re.sub(r"{(\w+)(?::\w+)?}", lambda m: str(values[m.group(1)]), path)
            response = page.goto(url)
            if response is None or response.status >= 400:
                continue
            if "text/html" not in (response.headers.get("content-type") or ""):
                continue
            checked += 1
            problems = accessibility_problems(page)
            if problems:
                found[url] = problems
    assert checked >= 25, f"only {checked} pages were checked"
    assert not found, "\n".join(f"{url}: {p}" for url, ps in found.items() for p in ps)
