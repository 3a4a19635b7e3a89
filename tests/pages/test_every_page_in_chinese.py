"""Every page of the demo, read in Chinese: no English interface text, no internal code.

What people typed (the demo's titles, names, notes: English on purpose) is taken out
of each page first, from the database itself; what remains must be Chinese, or one
of the few Latin words that are names in both languages (pdca, KPI, CSV…), or a code
a person chose (department and KPI codes). Texts the system writes are not taken
out: a problem raised by a rule, a note in a history, must read in Chinese.

Every GET page of the app is visited, its path parameters filled from the demo; a new
page with a parameter this test does not know fails here until it is added.
"""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text
from sqlmodel import Session

from pdca.demo import DEMO_PASSWORD, email_of, load_demo
from pdca.services import organisation
from pdca.services.context import Ctx

# Latin words that are the same in both languages: product and format names, units.
SAME_IN_BOTH = {
    "pdca",
    "PDCA",
    "KPI",
    "KPIs",
    "CSV",
    "JSON",
    "PDF",
    "SHA",
    "API",
    "URL",
    "UTC",
    "RRULE",  # the iCalendar (RFC 5545) rule a custom inspection schedule is written in
    "DMAIC",
    "SPC",
    "Markdown",
    "ics",
    "iCalendar",
    "min",
    "ms",
    "English",
    "Shanghai",
    "Asia",
    "Europe",
    "London",
    "Berlin",
    "America",
    "New_York",
    "Bearer",
    "QSI",
    "QCI",
    "PCI",
    "htmx",
    "Webhook",
    "HMAC",
    "SMTP",
    "sigma",
    "owner",
    "dept",
    "due",
    "kind",
    "overdue",
    "me",
    "corrective",
}
SAME_IN_BOTH |= {
    # Literal names a translation keeps: HTTP headers, CSV column names, a signature recipe.
    "HMAC-SHA",
    "X-Pdca-Signature",
    "X-Pdca-Timestamp",
    "sha",
    "timestamp",
    "body",
    "POST",
    "https",
    "Authorization",
    "token",
    "kpi",
    "value",
    "Excel",  # a file format, named so in both languages
    "xlsx",
}
HEX = re.compile(r"^[0-9a-f]+$")
# Columns that hold codes or secrets, not words a person typed: a code on a page is a defect.
NOT_TYPED = {
    "hash",
    "token_hash",
    "password_hash",
    "secret",
    "status",
    "role",
    "kind",
    "source",
    "severity",
    "state",
    "workflow",
    "verb",
    "field",
    "entity_type",
    "detection_rule",
    "direction",
    "effectiveness",
    "perspective",
    "locale",
    "channel",
    "rule",
    "signature_meaning",
    "signature_method",
    "scopes",
    "generated",
}
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z’'_-]+[A-Za-z]")
SKIPPED_TAGS = {"script", "style", "code", "pre", "svg", "title", "datalist"}
VOID_TAGS = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}
SHOWN_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}
# Path parameters, filled from the demo's rows.
PARAMETERS = {
    "action_id": "SELECT min(id) FROM actions",
    "cycle_id": "SELECT min(id) FROM cycles WHERE state = 'check'",
    "problem_id": "SELECT min(id) FROM problems WHERE generated IS NOT NULL",
    "kpi_id": "SELECT min(id) FROM kpis",
    "user_id": "SELECT min(id) FROM users WHERE role = 'member'",
    "department_id": "SELECT min(id) FROM departments",
    "meeting_id": "SELECT min(id) FROM meetings WHERE status = 'signed'",
    "series_id": "SELECT min(id) FROM meeting_series",
    "evidence_id": "SELECT min(id) FROM evidence",
    "token_id": "SELECT min(id) FROM api_tokens",
    "inspection_id": "SELECT min(id) FROM inspections WHERE status = 'planned'",
    "template_id": "SELECT min(id) FROM checklist_templates",
    "code": "SELECT min(code) FROM departments",
    "status": "SELECT 'open'",
    "name": "SELECT 'pdca'",
    "index_code": "SELECT 'QSI'",
    # Only a survey link's digest is stored: the public answer page is read in Chinese by
    # tests/browser/test_survey_phone.py; here an unknown link's page (404) is skipped.
    "token": "SELECT 'no-such-link'",
    "survey_id": "SELECT min(id) FROM surveys",
    "complaint_id": "SELECT min(id) FROM complaints",
    "category_id": "SELECT min(id) FROM complaint_categories",
}
# Pages a path parameter above does not reach: another state of the same page.
MORE_PAGES = {
    "/meetings/{id}": "SELECT min(id) FROM meetings WHERE status = 'planned'",
}
# Pages that are files or actions, not pages to read.
NOT_PAGES = (
    "/calendar/",
    "/export",
    "/download",
    ".csv",
    ".json",
    ".md",
    ".pdf",
    ".ics",
    "/logout",
    ".{fmt",  # the minutes as Markdown or PDF
)


class VisibleText(HTMLParser):
    """The text a reader sees or hears: text nodes and the attributes read aloud.

    Code, scripts and what the page marks translate="no" (identifiers such as time-zone
    names) are not interface text.
    """

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._open: list[bool] = []  # per open element: is its content skipped?

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        inside = bool(self._open and self._open[-1])
        skipped = inside or tag in SKIPPED_TAGS or dict(attrs).get("translate") == "no"
        if tag not in VOID_TAGS:
            self._open.append(skipped)
        if skipped and tag != "svg":
            return
        for name, value in attrs:
            if name in SHOWN_ATTRIBUTES and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID_TAGS and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if not (self._open and self._open[-1]):
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return "\n".join(parser.parts)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if value.startswith(("{", "[")):
            try:
                yield from _strings(json.loads(value))
                return
            except ValueError:
                pass
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            # A code inside stored JSON ("severity": "medium" in a checklist) is no more
            # typed by people than the same code in a column.
            if k != "system_note" and k not in NOT_TYPED:
                yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def typed_by_people(session: Session) -> list[str]:
    """Every text stored in the database but what the system wrote, longest first."""
    found: set[str] = set()
    connection = session.connection()
    for table in sa_inspect(connection).get_table_names():
        if table in ("alembic_version", "leases"):
            continue
        columns = [c["name"] for c in sa_inspect(connection).get_columns(table)]
        where = " WHERE generated IS NULL" if table == "problems" else ""
        for row in connection.execute(text(f'SELECT * FROM "{table}"{where}')).mappings():
            for name in columns:
                if name in NOT_TYPED:
                    continue
                found.update(s for s in _strings(row[name]) if s and len(s.strip()) > 1)
    # What the system wrote is not typed by people where it is copied either: a raised
    # problem's title kept in an agenda or the minutes, a system note kept as the English
    # note of its event. Each must read in Chinese wherever it is shown.
    written = connection.execute(
        text("SELECT title FROM problems WHERE generated IS NOT NULL")
    ).scalars()
    found -= set(written)
    for note, data in connection.execute(text("SELECT note, data FROM events")):
        stored = json.loads(data) if isinstance(data, str) else data
        if note and isinstance(stored, dict) and "system_note" in stored:
            found.discard(note)
    return sorted(found, key=len, reverse=True)


def english_left(page: str, typed: list[str], codes: set[str]) -> list[str]:
    for entered in typed:
        # Only whole words: "down" typed somewhere must not turn "Markdown" into "Mark".
        page = re.sub(rf"(?<![A-Za-z]){re.escape(entered)}(?![A-Za-z])", " ", page)
    words = LATIN_WORD.findall(page)
    return sorted(
        {w for w in words if w not in SAME_IN_BOTH and w not in codes and not HEX.match(w)}
    )


@pytest.fixture
def demo(session: Session, catalog) -> Session:  # type: ignore[no-untyped-def]
    load_demo(session, catalog, datetime.now(UTC))
    system = Ctx(session=session, actor=None, catalog=catalog)
    for login in ("sarah.chen", "admin"):
        user = organisation.user_by_email(system, email_of(login))
        organisation.set_locale(Ctx(session=session, actor=user, catalog=catalog), "zh_CN")
    return session


def pages_of() -> list[str]:
    from pdca.web.app import PAGE_ROUTERS

    paths = []
    for route in (r for router in PAGE_ROUTERS for r in router.routes):
        if not isinstance(route, APIRoute) or route.path.startswith("/api/"):
            continue
        if "GET" not in route.methods or any(part in route.path for part in NOT_PAGES):
            continue
        paths.append(route.path)
    return sorted(set(paths))


def test_every_page_of_the_demo_reads_in_chinese(app, demo: Session) -> None:
    from fastapi.testclient import TestClient

    typed = typed_by_people(demo)
    codes = {
        str(c)
        for (c,) in demo.connection().execute(
            text("SELECT code FROM departments UNION SELECT code FROM kpis")
        )
    } | {
        part
        for (c,) in demo.connection().execute(text("SELECT code FROM kpis"))
        for part in c.split("-")
    }
    values = {
        name: demo.connection().execute(text(query)).scalar() for name, query in PARAMETERS.items()
    }
    more = {path: demo.connection().execute(text(q)).scalar() for path, q in MORE_PAGES.items()}
    demo.commit()
    found: dict[str, list[str]] = {}
    unknown: list[str] = []
    read: list[str] = []
    for login, pages in (("sarah.chen", None), ("admin", "/admin")):
        # A Chinese reader's browser asks for Chinese, so the pages before signing in are too.
        with TestClient(app, headers={"Accept-Language": "zh-CN,zh;q=0.9"}) as client:
            signed = client.post(
                "/login",
                data={"email": email_of(login), "password": DEMO_PASSWORD, "next": "/profile"},
            )
            assert signed.status_code == 200, signed.text[:500]
            urls = []
            for path in pages_of():
                if pages and not path.startswith(pages):
                    continue
                names = re.findall(r"{(\w+)(?::\w+)?}", path)
                if any(n not in values for n in names):
                    unknown.append(path)
                    continue
                if any(values[n] is None for n in names):
                    continue  # the demo has no such row (e.g. no evidence): nothing to read
                urls.append(re.sub(r"{(\w+)(?::\w+)?}", lambda m: str(values[m.group(1)]), path))
            if not pages:
                urls += [path.format(id=more[path]) for path in MORE_PAGES if more[path]]
            for url in urls:
                response = client.get(url)
                if response.status_code in (
                    403,
                    404,
                    405,
                ) or "text/html" not in response.headers.get("content-type", ""):
                    continue
                read.append(url)
                left = english_left(visible_text(response.text), typed, codes)
                if left:
                    found[url] = left
                    import os

                    if os.environ.get("PDCA_DEBUG_PAGES"):
                        text_ = visible_text(response.text)
                        for w in left:
                            i = text_.find(w)
                            print(url, w, repr(text_[max(0, i - 80) : i + 40]))
    assert not unknown, f"pages with path parameters this test cannot fill: {unknown}"
    assert len(read) >= 25, f"only {len(read)} pages were read: {read}"
    assert not found, "\n".join(f"{url}: {', '.join(words)}" for url, words in found.items())
