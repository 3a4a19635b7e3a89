"""Screenshots for the README, taken from the demo in Debian's Chromium.

    make run            # in another terminal: the demo on http://127.0.0.1:8000
    .venv/bin/python docs/take_screenshots.py admin@demo.pdca en "/board=docs/screenshots/board.png"

Arguments: the e-mail to sign in as (demo password), the language (en or zh_CN),
then PATH=FILE pairs. PDCA_URL overrides the address; PDCA_WIDTH the window's width
(1440 by default; 390 for a phone), and PDCA_FULL_PAGE=1 takes the whole page.
"""

import os
import sys

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main(email: str, lang: str, shots: list[str]) -> None:
    base = os.environ.get("PDCA_URL", "http://127.0.0.1:8000")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        width = int(os.environ.get("PDCA_WIDTH", "1440"))
        full_page = os.environ.get("PDCA_FULL_PAGE") == "1"
        page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
        page.goto(base + "/login")
        page.fill("#email", email)
        page.fill("#password", "demo-pass-123")
        page.click("main button[type=submit]")
        page.wait_for_load_state()
        page.select_option("#lang-switch", lang)
        page.wait_for_load_state("networkidle")
        for shot in shots:
            path, out = shot.rsplit("=", 1)
            page.goto(base + path)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=out, full_page=full_page)
            print(out, page.title())
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
