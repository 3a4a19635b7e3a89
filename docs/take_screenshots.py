"""Screenshots for the README, taken from the demo in Debian's Chromium.

    make run            # in another terminal: the demo on http://127.0.0.1:8000
    .venv/bin/python docs/take_screenshots.py admin@demo.pdca en "/board=docs/screenshots/board.png"

Arguments: the e-mail to sign in as (demo password), the language (en or zh_CN),
then PATH=FILE pairs. PDCA_URL overrides the address.
"""

import os
import sys

from playwright.sync_api import sync_playwright

base = os.environ.get("PDCA_URL", "http://127.0.0.1:8000")
email = sys.argv[1]
lang = sys.argv[2]
pages = sys.argv[3:]
with sync_playwright() as p:
    b = p.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    )
    ctx = b.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    pg = ctx.new_page()
    pg.goto(base + "/login")
    pg.fill("#email", email)
    pg.fill("#password", "demo-pass-123")
    pg.click("button[type=submit]")
    pg.wait_for_load_state()
    pg.select_option("#lang-switch", lang)
    pg.wait_for_load_state("networkidle")
    for spec in pages:
        path, out = spec.rsplit("=", 1)
        pg.goto(base + path)
        pg.wait_for_load_state("networkidle")
        if "#" in path:
            pg.evaluate("document.getElementById(location.hash.slice(1)).scrollIntoView()")
        pg.screenshot(path=out)
        print(out, pg.title())
    b.close()
