"""The problem pages as people use them: find, report, triage, and follow a problem.

Data is set up through the services; the people in the tests only speak HTTP, as a
browser without JavaScript does (forms post, answers redirect), or as htmx does
(`HX-Request: true`, answered with one block of the page).
"""

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from fastapi import FastAPI
from sqlalchemy import event, func
from sqlmodel import Session, select

from pdca.models import Problem, User
from pdca.services import cycles, problems
from pdca.services.context import Ctx
from tests.conftest import Clock, Org

AsUser = Callable[[User | None], Ctx]
HTMX = {"HX-Request": "true"}


def report(ctx: Ctx, title: str, source: str = "complaint", **fields) -> Problem:
    return problems.report_problem(ctx, title=title, source=source, **fields)


def keys_listed(html: str) -> list[str]:
    """The problem keys in the list, in the order shown."""
    return re.findall(r'<tr id="problem-\d+">\s*<td><a href="/problems/\d+">(P-\d+)</a>', html)


def problem_count(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Problem)).one()


@contextmanager
def counting_queries(app: FastAPI) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(app.state.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(app.state.engine, "before_cursor_execute", count)


# --- signing in -----------------------------------------------------------------


def test_a_signed_out_visitor_is_sent_to_login_and_back(anonymous, org: Org) -> None:
    response = anonymous.get("/problems", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/problems"

    login_page = anonymous.get(response.headers["location"])
    assert 'name="next" value="/problems"' in login_page.text

    signed_in = anonymous.post(
        "/login",
        data={"email": org.mia.email, "password": "correct horse battery", "next": "/problems"},
    )
    assert signed_in.status_code == 200
    assert signed_in.url.path == "/problems"
    assert "<h1>Problems</h1>" in signed_in.text


# --- reporting ------------------------------------------------------------------


def test_a_member_reports_a_problem(client_for, org: Org) -> None:
    mia, csrf = client_for("mia")
    form = mia.get("/problems/new")
    assert form.status_code == 200
    assert f'<option value="{org.cs}" selected>' in form.text  # her own department

    response = mia.post(
        "/problems/new",
        data={
            "csrf_token": csrf,
            "title": "Callers wait too long at lunchtime",
            "source": "complaint",
            "severity": "high",
            "department": str(org.cs),
            "description": "Twelve complaints in a week.",
            "evidence": "Tickets 101-112",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    location = response.headers["location"]
    assert re.fullmatch(r"/problems/\d+", location)
    key = "P-" + location.rsplit("/", 1)[1]

    page = mia.get(location)
    assert "Callers wait too long at lunchtime" in page.text
    assert f"{key} reported. Thank you." in page.text  # the flash, once
    assert "Tickets 101-112" in page.text
    assert "Mia Member" in page.text  # who reported it, in the details and the history
    assert "Not triaged yet." in page.text
    assert f"{key} reported" not in mia.get(location).text


def test_a_report_with_mistakes_comes_back_with_each_error_by_its_field(
    client_for, org: Org, session: Session
) -> None:
    mia, csrf = client_for("mia")
    response = mia.post(
        "/problems/new",
        data={
            "csrf_token": csrf,
            "title": "   ",
            "source": "rumour",
            "severity": "critical",
            "department": str(org.it),
            "description": "Lunch queue <b>twice</b> as long",
            "evidence": "Ticket 42",
        },
    )
    assert response.status_code == 422
    html = response.text
    assert 'aria-invalid="true" aria-describedby="title-hint title-error" autofocus' in html
    assert '<p class="error" id="title-error">Give the problem a title.</p>' in html
    assert 'aria-invalid="true" aria-describedby="source-error"' in html
    assert '<p class="error" id="source-error">Choose where the problem was found.</p>' in html
    assert 'id="severity-error"' not in html
    # Every value typed is kept, escaped.
    assert '<option value="critical" selected>' in html
    assert f'<option value="{org.it}" selected>' in html
    assert "Lunch queue &lt;b&gt;twice&lt;/b&gt; as long</textarea>" in html
    assert "Ticket 42</textarea>" in html
    assert problem_count(session) == 0


def test_an_htmx_report_with_mistakes_swaps_only_the_form(client_for) -> None:
    mia, csrf = client_for("mia")
    response = mia.post(
        "/problems/new",
        data={"csrf_token": csrf, "title": "x" * 301, "source": "audit", "severity": "low"},
        headers=HTMX,
    )
    assert response.status_code == 422
    assert response.text.lstrip().startswith('<form id="report_form"')
    assert "A title has at most 300 characters; this one has 301." in response.text


def test_a_form_without_the_csrf_token_is_refused(client_for, session: Session) -> None:
    mia, _csrf = client_for("mia")
    response = mia.post("/problems/new", data={"title": "Forged", "source": "audit"})
    assert response.status_code == 403
    assert problem_count(session) == 0


def test_a_viewer_may_read_but_not_report(client_for, as_user: AsUser, org: Org) -> None:
    report(as_user(org.mia), "Printer jams")
    vera, _csrf = client_for("vera")
    listing = vera.get("/problems")
    assert "Printer jams" in listing.text
    assert 'href="/problems/new"' not in listing.text
    assert vera.get("/problems/new").status_code == 403


# --- the list -------------------------------------------------------------------


def test_the_list_filters_by_status_and_source_and_searches_text(
    client_for, as_user: AsUser, org: Org
) -> None:
    mia, fiona = as_user(org.mia), as_user(org.fiona)
    callers = report(mia, "Callers wait too long", department_id=org.cs)
    certificates = report(mia, "Expired certificates", source="audit", department_id=org.it)
    noise = report(mia, "Noise in the lobby", description="Builders next door")
    slow = report(mia, "Response time above target", source="kpi", department_id=org.it)
    problems.triage_problem(fiona, certificates.id, decision="accept")
    problems.triage_problem(fiona, noise.id, decision="reject", reason="Not ours")
    client, _csrf = client_for("hanna")

    def listed(query: str) -> set[str]:
        response = client.get("/problems?" + query)
        assert response.status_code == 200
        return set(keys_listed(response.text))

    def keys(*found: Problem) -> set[str]:
        return {f"P-{p.id}" for p in found}

    assert listed("") == keys(callers, certificates, noise, slow)
    assert listed("status=new") == keys(callers, slow)
    assert listed("status=new&status=accepted") == keys(callers, certificates, slow)
    assert listed("source=complaint") == keys(callers, noise)
    assert listed("status=new&source=complaint") == keys(callers)
    assert listed("q=CALLERS") == keys(callers)
    assert listed("q=builders") == keys(noise)  # the description counts too
    assert listed("dept=IT") == keys(certificates, slow)
    assert listed("severity=medium&dept=it&status=accepted") == keys(certificates)
    assert listed("status=bogus") == keys(callers, certificates, noise, slow)  # ignored

    # The form shows the choices it was given, so the next change keeps them.
    page = client.get("/problems?status=new&source=kpi&q=time").text
    assert '<input type="checkbox" name="status" value="new" checked>' in page
    assert '<input type="checkbox" name="status" value="accepted" >' in page
    assert '<input type="checkbox" name="source" value="kpi" checked>' in page
    assert 'name="q" type="search" value="time"' in page

    # Each line: its badges, department and the reporting date in the reader's locale.
    assert '<span class="badge badge-warn">New</span>' in page
    assert '<abbr title="IT">IT</abbr>' in page
    assert ">Nov 25, 2026</time>" in page


def test_the_list_says_so_when_nothing_is_there(client_for, as_user: AsUser, org: Org) -> None:
    mia, _csrf = client_for("mia")
    empty = mia.get("/problems").text
    assert "No problem has been reported yet." in empty
    assert 'href="/problems/new">Report the first one' in empty

    report(as_user(org.mia), "Printer jams")
    none_match = mia.get("/problems?q=elevator").text
    assert "No problem matches these filters." in none_match
    assert keys_listed(none_match) == []


def test_the_list_pages_with_limit_and_offset(
    client_for, as_user: AsUser, org: Org, clock: Clock
) -> None:
    mia = as_user(org.mia)
    made = []
    for n in range(1, 28):
        made.append(report(mia, f"Problem number {n}"))
        clock.advance(minutes=1)
    newest_first = [f"P-{p.id}" for p in reversed(made)]
    client, _csrf = client_for("fiona")

    first = client.get("/problems").text
    assert keys_listed(first) == newest_first[:25]
    assert "1–25 of 27" in first
    assert 'rel="prev"' not in first
    next_url = re.search(r'<a href="([^"]+)" rel="next"', first).group(1)  # type: ignore[union-attr]
    assert next_url == "/problems?offset=25"

    second = client.get(next_url).text
    assert keys_listed(second) == newest_first[25:]
    assert "26–27 of 27" in second
    assert 'rel="next"' not in second
    assert '<a href="/problems" rel="prev"' in second

    # Filters and sorting travel with the pages.
    middle = client.get("/problems?source=complaint&sort=reported_at&limit=10&offset=10").text
    assert keys_listed(middle) == [f"P-{p.id}" for p in made[10:20]]
    assert "11–20 of 27" in middle
    assert (
        'href="/problems?source=complaint&amp;sort=reported_at&amp;limit=10&amp;offset=20" rel="next"'
        in middle
    )
    assert (
        'href="/problems?source=complaint&amp;sort=reported_at&amp;limit=10" rel="prev"' in middle
    )

    past_the_end = client.get("/problems?offset=100").text
    assert "This page is past the end of the list." in past_the_end


def test_the_list_sorts_by_severity_rank_and_by_title(
    client_for, as_user: AsUser, org: Org
) -> None:
    mia = as_user(org.mia)
    low = report(mia, "Bravo", severity="low")
    critical = report(mia, "Delta", severity="critical")
    medium = report(mia, "Alpha", severity="medium")
    high = report(mia, "Charlie", severity="high")
    client, _csrf = client_for("mia")

    by_severity = keys_listed(client.get("/problems?sort=-severity").text)
    assert by_severity == [f"P-{p.id}" for p in (critical, high, medium, low)]
    by_title = keys_listed(client.get("/problems?sort=title").text)
    assert by_title == [f"P-{p.id}" for p in (medium, low, high, critical)]


def test_an_htmx_request_gets_only_the_list(client_for, as_user: AsUser, org: Org) -> None:
    report(as_user(org.mia), "Printer jams")
    client, _csrf = client_for("mia")

    fragment = client.get("/problems?status=new", headers=HTMX)
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="problem_list">')
    assert "Printer jams" in fragment.text
    assert "<html" not in fragment.text
    assert 'role="search"' not in fragment.text
    assert "HX-Request" in fragment.headers["vary"]

    # A boosted link or a history restore needs the whole page.
    for headers in ({**HTMX, "HX-Boosted": "true"}, {**HTMX, "HX-History-Restore-Request": "true"}):
        whole = client.get("/problems?status=new", headers=headers)
        assert whole.text.lstrip().startswith("<!doctype html>")
    full = client.get("/problems")
    assert 'hx-get="/problems" hx-target="#problem_list"' in full.text
    assert "HX-Request" in full.headers["vary"]


def test_the_list_shows_the_cycles_that_address_each_problem(
    client_for, as_user: AsUser, org: Org
) -> None:
    problem = report(as_user(org.mia), "Refunds take three weeks")
    other = report(as_user(org.mia), "Printer jams")
    cycle = cycles.open_cycle(
        as_user(org.fiona),
        title="Pay refunds within five days",
        workflow="pdca",
        lead_id=org.fiona.id,
        problem_ids=[problem.id],
    )
    client, _csrf = client_for("max")
    html = client.get("/problems").text
    row = re.search(rf'<tr id="problem-{problem.id}">.*?</tr>', html, re.S).group(0)  # type: ignore[union-attr]
    assert f'<a href="/cycles/{cycle.id}">C-{cycle.id}</a>' in row
    assert "Accepted" in row  # opening the cycle accepted it
    other_row = re.search(rf'<tr id="problem-{other.id}">.*?</tr>', html, re.S).group(0)  # type: ignore[union-attr]
    assert "/cycles/" not in other_row


def test_the_number_of_queries_does_not_grow_with_the_problems(
    app: FastAPI, client_for, as_user: AsUser, org: Org
) -> None:
    mia, fiona = as_user(org.mia), as_user(org.fiona)

    def add(n: int, departments: tuple[int, ...]) -> None:
        made = [
            report(mia, f"Problem {i}", department_id=departments[i % len(departments)])
            for i in range(n)
        ]
        # Some of them addressed by cycles, several problems to a cycle.
        for start in range(0, n // 2, 4):
            cycles.open_cycle(
                fiona,
                title=f"Cycle for {start}",
                workflow="pdca",
                lead_id=org.fiona.id,
                problem_ids=[p.id for p in made[start : start + 4]],
            )

    client, _csrf = client_for("hanna")

    def queries_for_the_list() -> int:
        with counting_queries(app) as statements:
            response = client.get("/problems?limit=100")
        assert response.status_code == 200
        return len(statements)

    add(5, (org.cs,))
    few = queries_for_the_list()
    add(55, (org.cs, org.it, org.billing))
    many = queries_for_the_list()
    assert len(keys_listed(client.get("/problems?limit=100").text)) == 60
    assert many == few, f"{few} queries for 5 problems, {many} for 60"


# --- one problem and its triage -------------------------------------------------


def test_a_facilitator_accepts_a_problem(client_for, as_user: AsUser, org: Org) -> None:
    problem = report(as_user(org.mia), "Callers wait too long", department_id=org.cs)
    fiona, csrf = client_for("fiona")
    url = f"/problems/{problem.id}"

    page = fiona.get(url).text
    assert f'action="{url}/triage"' in page
    assert f'hx-post="{url}/triage" hx-target="#problem"' in page
    assert f'href="/cycles/new?problem={problem.id}"' in page
    assert 'name="version" value="1"' in page

    response = fiona.post(
        f"{url}/triage",
        data={"csrf_token": csrf, "version": "1", "decision": "accept"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == url

    after = fiona.get(url).text
    assert f"P-{problem.id}: Accepted." in after  # the flash
    assert "Accepted by Fiona Facilitator on" in after
    assert f'action="{url}/triage"' not in after  # triaged once
    assert f'href="/cycles/new?problem={problem.id}"' in after  # and ready for a cycle
    history = after.split('id="history-title"')[1]
    assert re.search(
        r"<td>Fiona Facilitator</td>\s*<td>Triaged</td>\s*<td>\s*New → Accepted", history
    )
    assert re.search(r"<td>Mia Member</td>\s*<td>Reported</td>", history)


def test_rejecting_needs_a_reason(client_for, as_user: AsUser, org: Org) -> None:
    problem = report(as_user(org.mia), "The coffee is cold")
    fiona, csrf = client_for("fiona")
    url = f"/problems/{problem.id}"

    refused = fiona.post(
        f"{url}/triage",
        data={"csrf_token": csrf, "version": "1", "decision": "reject", "reason": "  "},
    )
    assert refused.status_code == 422
    html = refused.text
    assert (
        '<p class="error" id="triage-reason-error">'
        "Say why the problem is rejected: a reason is required.</p>"
    ) in html
    assert (
        'name="reason" rows="3" maxlength="2000" aria-invalid="true" aria-describedby="triage-reason-error"'
        in html
    )
    assert '<input type="radio" name="decision" value="reject" checked>' in html

    fiona.post(
        f"{url}/triage",
        data={
            "csrf_token": csrf,
            "version": "1",
            "decision": "reject",
            "reason": "Not a quality problem",
        },
    )
    after = fiona.get(url).text
    assert "Rejected by Fiona Facilitator" in after
    assert "Not a quality problem" in after
    assert f'href="/cycles/new?problem={problem.id}"' not in after  # no cycle on a rejected one


def test_a_facilitator_marks_a_duplicate(client_for, as_user: AsUser, org: Org) -> None:
    original = report(as_user(org.mia), "Callers wait too long")
    again = report(as_user(org.max), "Long queue on the phone line")
    frank, csrf = client_for("frank")
    url = f"/problems/{again.id}"

    def triage(duplicate_of: str):
        return frank.post(
            f"{url}/triage",
            data={
                "csrf_token": csrf,
                "version": "1",
                "decision": "duplicate",
                "duplicate_of": duplicate_of,
            },
        )

    not_a_key = triage("C-3")
    assert not_a_key.status_code == 422
    assert (
        '<p class="error" id="triage-duplicate_of-error">C-3 is not a problem key like P-12.</p>'
        in not_a_key.text
    )
    assert 'value="C-3"' in not_a_key.text
    missing = triage("P-999")
    assert missing.status_code == 422
    assert "There is no problem P-999." in missing.text
    itself = triage(f"P-{again.id}")
    assert itself.status_code == 422
    assert "A problem cannot duplicate itself." in itself.text

    assert triage(f"p{original.id}").status_code == 200  # redirected to the page
    page = frank.get(url).text
    assert f'Duplicate of <a href="/problems/{original.id}">P-{original.id}</a>' in page
    assert "This problem duplicates" in page
    original_page = frank.get(f"/problems/{original.id}").text
    assert (
        f'<a href="/problems/{again.id}">P-{again.id}</a> · Long queue on the phone line'
        in original_page
    )


def test_htmx_triage_swaps_the_problem_block_and_the_flash(
    client_for, as_user: AsUser, org: Org
) -> None:
    problem = report(as_user(org.mia), "Callers wait too long")
    fiona, csrf = client_for("fiona")
    url = f"/problems/{problem.id}/triage"

    invalid = fiona.post(
        url, data={"csrf_token": csrf, "version": "1", "decision": "reject"}, headers=HTMX
    )
    assert invalid.status_code == 422
    assert invalid.text.lstrip().startswith('<div id="problem">')

    done = fiona.post(
        url, data={"version": "1", "decision": "accept"}, headers={**HTMX, "X-CSRF-Token": csrf}
    )
    assert done.status_code == 200
    assert done.text.lstrip().startswith('<div id="problem">')
    assert "<html" not in done.text
    assert '<div id="flash" role="status" aria-live="polite" hx-swap-oob="true">' in done.text
    assert f"P-{problem.id}: Accepted." in done.text


def test_a_member_sees_no_triage_form_and_a_forged_post_is_refused(
    client_for, as_user: AsUser, org: Org, session: Session
) -> None:
    problem = report(as_user(org.max), "Password resets take two days")
    mia, csrf = client_for("mia")
    url = f"/problems/{problem.id}"

    page = mia.get(url).text
    assert "Password resets take two days" in page
    assert "/triage" not in page
    assert "/cycles/new" not in page  # members do not open cycles either
    assert "the head of the problem’s department triage new problems." in page

    forged = mia.post(
        f"{url}/triage",
        data={"csrf_token": csrf, "version": "1", "decision": "accept"},
        headers={"Accept": "text/html"},
    )
    assert forged.status_code == 403
    assert "and the head of the problem&#39;s department triage this problem." in forged.text
    session.expire_all()
    assert session.get(Problem, problem.id).status == "new"  # type: ignore[union-attr]


def test_a_stale_version_gets_409_with_the_message(client_for, as_user: AsUser, org: Org) -> None:
    problem = report(as_user(org.mia), "Callers wait too long")
    fiona, csrf = client_for("fiona")
    url = f"/problems/{problem.id}"
    assert 'name="version" value="1"' in fiona.get(url).text

    # Frank decides first, while Fiona still has the page open.
    problems.triage_problem(as_user(org.frank), problem.id, decision="reject", reason="Known issue")

    late = fiona.post(
        f"{url}/triage", data={"csrf_token": csrf, "version": "1", "decision": "accept"}
    )
    assert late.status_code == 409
    assert "Someone else changed this problem since you opened it." in late.text
    assert "was changed by someone else (you read version 1, it is now version 2)" in late.text
    assert 'role="alert" id="triage-alert"' in late.text
    assert "Rejected by Frank Facilitator" in late.text  # the page as it is now
    assert f'action="{url}/triage"' not in late.text


def test_an_unknown_problem_is_a_404(client_for) -> None:
    mia, _csrf = client_for("mia")
    response = mia.get("/problems/4242", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "Problem 4242 does not exist." in response.text


def test_dates_follow_the_readers_language(client_for, as_user: AsUser, org: Org) -> None:
    problem = report(as_user(org.mia), "Callers wait too long")
    mia, csrf = client_for("mia")
    mia.post("/language", data={"csrf_token": csrf, "lang": "zh_CN", "next": "/problems"})
    listing = mia.get("/problems")
    assert listing.status_code == 200
    assert '<html lang="zh-CN">' in listing.text
    assert ">2026年11月25日</time>" in listing.text
    assert mia.get(f"/problems/{problem.id}").status_code == 200
    assert mia.get("/problems/new").status_code == 200


def test_a_head_triages_a_problem_of_their_own_department_from_its_page(
    client_for, as_user: AsUser, org: Org, session: Session
) -> None:
    ours = report(as_user(org.mia), "Callers wait too long", department_id=org.cs)
    theirs = report(as_user(org.max), "Password resets take two days", department_id=org.it)
    hanna, csrf = client_for("hanna")

    assert f"/problems/{theirs.id}/triage" not in hanna.get(f"/problems/{theirs.id}").text
    page = hanna.get(f"/problems/{ours.id}").text
    assert f"/problems/{ours.id}/triage" in page
    assert f"/cycles/new?problem={ours.id}" in page  # and she may open a cycle on it

    response = hanna.post(
        f"/problems/{ours.id}/triage",
        data={"csrf_token": csrf, "version": "1", "decision": "accept"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    session.expire_all()
    assert session.get(Problem, ours.id).status == "accepted"  # type: ignore[union-attr]
