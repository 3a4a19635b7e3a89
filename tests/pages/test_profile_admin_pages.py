"""The profile and administration pages as people use them.

People speak only HTTP here: as a browser without JavaScript (forms post, answers
redirect with a flash), or as htmx does (`HX-Request: true`, answered with one block
of the page). Data they do not make through the pages is set up through the services.
"""

import re
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from pdca.models import ApiToken, Department, User, WipLimit
from pdca.services import accounts, actions
from pdca.services.errors import Refused
from tests.conftest import Org
from tests.pages.conftest import SignedIn, csrf_of
from tests.personas import PASSWORD
from tests.services.builders_services import a_cycle_in_do

HTML = {"Accept": "text/html"}
HTMX = {"HX-Request": "true"}
SECRET = re.compile(r"pdca_[A-Za-z0-9_-]{30,}")
NEW_PASSWORD = "a longer, newer secret"


def post(who: SignedIn, url: str, **data: str):
    """A form posted without JavaScript; the 303 is not followed, to look at it."""
    return who.client.post(
        url, data={"csrf_token": who.csrf, **data}, headers=HTML, follow_redirects=False
    )


def htmx_post(who: SignedIn, url: str, **data: str):
    return who.client.post(url, data=data, headers={**HTMX, "X-CSRF-Token": who.csrf})


def lang_of(html: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', html)
    assert match, "not a whole page"
    return match.group(1)


def stored(engine, model, row_id):
    with Session(engine) as db:
        return db.get(model, row_id)


def field_error(html: str, error_id: str) -> str:
    """The text of the error shown under a field (by the id its input points to)."""
    match = re.search(rf'id="{error_id}">([^<]+)<', html)
    assert match, f"no error {error_id!r} on the page"
    return match.group(1)


# --- the profile: language -----------------------------------------------------------


def test_a_member_switches_to_chinese_and_the_next_page_is_in_chinese(client_for, engine, org):
    mia = client_for("mia")

    answer = post(mia, "/profile/language", locale="zh_CN")

    assert answer.status_code == 303 and answer.headers["location"] == "/profile"
    page = mia.client.get("/profile")
    assert lang_of(page.text) == "zh-CN"
    assert stored(engine, User, org.mia.id).locale == "zh_CN"
    assert lang_of(mia.client.get("/board").text) == "zh-CN"

    # "Follow my browser" forgets the choice: the browser's Accept-Language decides.
    post(mia, "/profile/language", locale="")
    assert stored(engine, User, org.mia.id).locale == ""
    assert lang_of(mia.client.get("/profile", headers={"Accept-Language": "en-GB"}).text) == "en"
    chinese_browser = {"Accept-Language": "zh-CN,zh;q=0.9"}
    assert lang_of(mia.client.get("/profile", headers=chinese_browser).text) == "zh-CN"


def test_with_htmx_the_language_change_reloads_the_whole_page(client_for, engine, org):
    mia = client_for("mia")
    answer = htmx_post(mia, "/profile/language", locale="zh_CN")
    assert answer.headers["HX-Redirect"] == "/profile"
    assert stored(engine, User, org.mia.id).locale == "zh_CN"


# --- the profile: API tokens -------------------------------------------------------------


def test_a_member_makes_a_token_sees_it_once_uses_it_and_revokes_it(
    client_for, anonymous, engine, org
):
    mia = client_for("mia")

    made = post(mia, "/profile/tokens", name="monitoring", expires="30")

    # The secret is on this answer, once: not in a redirect, a cookie or any cache.
    assert made.status_code == 200
    assert "location" not in made.headers and "set-cookie" not in made.headers
    assert made.headers["cache-control"] == "no-store"
    [secret] = set(SECRET.findall(made.text))
    assert "it will not be shown again" in made.text

    me = anonymous.get("/api/v1/users/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["email"] == "mia@example.com"

    later = mia.client.get("/profile").text
    assert secret not in later
    with Session(engine) as db:
        token = db.exec(select(ApiToken).where(ApiToken.user_id == org.mia.id)).one()
    assert f"<code>{token.prefix}…</code>" in later and secret.startswith(token.prefix)
    assert token.expires_at is not None and token.can_sign is False

    # Without JavaScript, revoking asks first on a page of its own.
    confirm = mia.client.get(f"/profile/tokens/{token.id}/revoke", headers=HTML)
    assert confirm.status_code == 200 and "Revoke the token “monitoring”?" in confirm.text
    assert stored(engine, ApiToken, token.id).revoked_at is None

    revoked = post(mia, f"/profile/tokens/{token.id}/revoke")
    assert revoked.status_code == 303
    assert stored(engine, ApiToken, token.id).revoked_at is not None
    refused = anonymous.get("/api/v1/users/me", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401
    assert "Revoked on" in mia.client.get("/profile").text


def test_with_htmx_a_token_is_made_in_place_and_revoked_after_a_confirmation(
    client_for, engine, org
):
    mia = client_for("mia")
    made = htmx_post(
        mia, "/profile/tokens", name="signer", expires="30", can_sign="1", password=PASSWORD
    )
    assert made.status_code == 200
    assert made.text.lstrip().startswith('<section id="tokens"'), "only the block"
    assert SECRET.search(made.text)
    with Session(engine) as db:
        token = db.exec(select(ApiToken).where(ApiToken.user_id == org.mia.id)).one()
    assert token.can_sign is True and token.expires_at is not None

    # The same button that opens the confirmation page asks htmx to confirm, then posts.
    page = mia.client.get("/profile").text
    assert f'hx-post="/profile/tokens/{token.id}/revoke"' in page and "hx-confirm=" in page
    revoked = htmx_post(mia, f"/profile/tokens/{token.id}/revoke")
    assert revoked.status_code == 200
    assert 'id="flash" role="status" aria-live="polite" hx-swap-oob="true"' in revoked.text
    assert stored(engine, ApiToken, token.id).revoked_at is not None


def test_nobody_revokes_someone_elses_token_from_their_profile(client_for, as_user, org, engine):
    token = accounts.create_token(as_user(None), org.max.id, name="max's").token
    mia = client_for("mia")
    assert mia.client.get(f"/profile/tokens/{token.id}/revoke", headers=HTML).status_code == 404
    assert post(mia, f"/profile/tokens/{token.id}/revoke").status_code == 404
    assert stored(engine, ApiToken, token.id).revoked_at is None


def test_a_token_without_a_name_is_refused_and_the_form_kept(client_for):
    mia = client_for("mia")
    answer = post(mia, "/profile/tokens", name=" ", expires="7", can_sign="1")
    assert answer.status_code == 422
    assert 'id="token-error"' in answer.text and "Give the token a name" in answer.text
    assert '<option value="7" selected>' in answer.text
    assert 'id="token-sign" type="checkbox" name="can_sign" value="1" checked' in answer.text
    assert not SECRET.search(answer.text)


# --- the profile: password ---------------------------------------------------------------


def test_changing_the_password_needs_the_current_one(client_for, anonymous, org):
    mia = client_for("mia")
    elsewhere = client_for("mia")  # the same person, signed in on another computer

    wrong = post(
        mia,
        "/profile/password",
        current_password="not it",
        new_password=NEW_PASSWORD,
        new_password_again=NEW_PASSWORD,
    )
    assert wrong.status_code == 422
    assert field_error(wrong.text, "current_password-error") == "This is not your current password."
    assert 'aria-describedby="current_password-error"' in wrong.text
    assert NEW_PASSWORD not in wrong.text  # passwords are never sent back

    typo = post(
        mia,
        "/profile/password",
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        new_password_again=NEW_PASSWORD + "!",
    )
    assert typo.status_code == 422
    assert "not the same" in field_error(typo.text, "new_password_again-error")

    done = post(
        mia,
        "/profile/password",
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        new_password_again=NEW_PASSWORD,
    )
    assert done.status_code == 303 and done.headers["location"] == "/profile"
    assert "Your password is changed" in mia.client.get("/profile").text
    # This browser stays signed in; the other one is signed out.
    assert elsewhere.client.get("/profile", follow_redirects=False).status_code == 303
    old = anonymous.post("/login", data={"email": org.mia.email, "password": PASSWORD})
    assert old.status_code == 401
    new = anonymous.post("/login", data={"email": org.mia.email, "password": NEW_PASSWORD})
    assert new.status_code == 200 and "Sign out" in new.text


def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(anonymous):
    answer = anonymous.get("/profile", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/profile"


def test_a_form_without_the_csrf_token_is_refused(client_for, engine, org):
    mia = client_for("mia")
    answer = mia.client.post("/profile/language", data={"locale": "zh_CN"}, headers=HTML)
    assert answer.status_code == 403
    assert stored(engine, User, org.mia.id).locale == "en"


# --- administration: who may ------------------------------------------------------------


def test_only_administrators_see_users_and_departments(client_for, org):
    for persona in ("fiona", "hanna", "mia"):
        browser = client_for(persona).client
        for url in ("/admin/users", "/admin/departments", f"/admin/users/{org.max.id}"):
            answer = browser.get(url, headers=HTML)
            assert answer.status_code == 403, (persona, url)
            assert "Only administrators manage users and departments." in answer.text


def test_a_member_cannot_create_a_user_even_by_posting_the_form(client_for, engine):
    mia = client_for("mia")
    answer = post(mia, "/admin/users", email="x@example.com", name="X", password=NEW_PASSWORD)
    assert answer.status_code == 403
    with Session(engine) as db:
        assert db.exec(select(User).where(User.email == "x@example.com")).first() is None


def test_board_settings_are_for_facilitators_and_administrators(client_for):
    assert client_for("fiona").client.get("/admin/board", headers=HTML).status_code == 200
    assert client_for("admin").client.get("/admin/board", headers=HTML).status_code == 200
    refused = client_for("ivan").client.get("/admin/board", headers=HTML)
    assert refused.status_code == 403 and "Only facilitators and administrators" in refused.text


# --- administration: users -----------------------------------------------------------------


def test_an_admin_adds_a_user_and_a_bad_email_is_shown_next_to_its_field(
    client_for, anonymous, org
):
    admin = client_for("admin")
    form = {"name": "Nina New", "role": "head", "department": "IT", "password": NEW_PASSWORD}

    bad = post(admin, "/admin/users", email="nina.example.com", **form)

    assert bad.status_code == 422
    assert field_error(bad.text, "new-email-error").startswith("Enter an e-mail address")
    assert 'aria-invalid="true" aria-describedby="new-email-error"' in bad.text
    # What was typed is kept (but the password), and the form is open.
    assert 'value="nina.example.com"' in bad.text and 'value="Nina New"' in bad.text
    assert '<option value="head" selected>' in bad.text
    assert '<option value="IT" selected>' in bad.text
    assert NEW_PASSWORD not in bad.text
    assert '<details class="card" id="new-user" open>' in bad.text

    good = post(admin, "/admin/users", email="nina@example.com", **form)
    assert good.status_code == 303 and good.headers["location"] == "/admin/users"
    listing = admin.client.get("/admin/users?q=nina").text
    assert "Nina New can now sign in as nina@example.com." in listing
    assert re.search(r'<td><a href="/admin/users/\d+">Nina New</a></td>', listing)
    signed_in = anonymous.post(
        "/login", data={"email": "nina@example.com", "password": NEW_PASSWORD}
    )
    assert signed_in.status_code == 200 and "Nina New" in signed_in.text


def test_an_email_already_taken_is_shown_next_to_its_field(client_for):
    admin = client_for("admin")
    answer = post(
        admin, "/admin/users", email="mia@example.com", name="Mia 2", password=NEW_PASSWORD
    )
    assert answer.status_code == 409
    assert field_error(answer.text, "new-email-error") == "Someone already has this e-mail address."


def test_the_user_list_filters_by_role_and_department_and_pages(client_for, as_user, org):
    from pdca.services import organisation

    for n in range(30):
        organisation.create_user(
            as_user(None),
            email=f"p{n:02}@example.com",
            name=f"Person {n:02}",
            department_code="BIL",
        )
    admin = client_for("admin")

    heads = admin.client.get("/admin/users?role=head").text
    assert "Hanna Head" in heads and "Ivan Head" in heads and "Mia Member" not in heads
    it_heads = admin.client.get("/admin/users?role=head&dept=IT").text
    assert "Ivan Head" in it_heads and "Hanna Head" not in it_heads
    billing = admin.client.get("/admin/users?dept=BIL").text
    assert "Page 1 of 2" in billing and "30 users" in billing
    second = admin.client.get("/admin/users?dept=BIL&page=2").text
    assert second.count('<tr id="user-') == 5
    nobody = admin.client.get("/admin/users?q=zzz").text
    assert "No user matches these filters." in nobody
    # htmx gets the list's block only.
    block = admin.client.get("/admin/users?role=viewer", headers=HTMX).text
    assert block.lstrip().startswith('<div id="users">') and "Vera Viewer" in block


def test_an_admin_changes_a_role_and_a_stale_form_is_refused(client_for, engine, org):
    admin = client_for("admin")
    page = admin.client.get(f"/admin/users/{org.mia.id}").text
    assert '<input type="hidden" name="version" value="1">' in page

    changed = post(
        admin,
        f"/admin/users/{org.mia.id}",
        name="Mia Member",
        role="head",
        department=str(org.it),
        version="1",
    )

    assert changed.status_code == 303
    mia = stored(engine, User, org.mia.id)
    assert (mia.role, mia.department_id, mia.version) == ("head", org.it, 2)
    stale = post(
        admin, f"/admin/users/{org.mia.id}", name="Mia", role="viewer", department="", version="1"
    )
    assert stale.status_code == 409 and "changed by someone else" in stale.text
    assert stored(engine, User, org.mia.id).role == "head"
    # The form now shows what is there, with the version to decide on.
    assert '<input type="hidden" name="version" value="2">' in stale.text


def test_a_deactivated_user_is_signed_out_and_their_tokens_stop_working(
    client_for, anonymous, as_user, engine, org
):
    max_ = client_for("max")
    secret = accounts.create_token(as_user(None), org.max.id, name="script").secret
    admin = client_for("admin")

    # Without JavaScript, deactivating asks first on a page of its own.
    confirm = admin.client.get(f"/admin/users/{org.max.id}/active?active=0&version=1")
    assert confirm.status_code == 200 and "Deactivate Max Member?" in confirm.text
    assert stored(engine, User, org.max.id).active is True

    done = post(admin, f"/admin/users/{org.max.id}/active", active="0", version="1")

    assert done.status_code == 303
    assert stored(engine, User, org.max.id).active is False
    assert (
        max_.client.get("/board", follow_redirects=False).headers["location"].startswith("/login")
    )
    bearer = {"Authorization": f"Bearer {secret}"}
    assert anonymous.get("/api/v1/users/me", headers=bearer).status_code == 401
    assert (
        anonymous.post("/login", data={"email": org.max.email, "password": PASSWORD}).status_code
        == 401
    )

    again = post(admin, f"/admin/users/{org.max.id}/active", active="1", version="2")
    assert again.status_code == 303
    # Deactivation revoked the token for good: reactivating does not revive it.
    assert anonymous.get("/api/v1/users/me", headers=bearer).status_code == 401


def test_an_admin_cannot_deactivate_themself(client_for, engine, org):
    admin = client_for("admin")
    page = admin.client.get(f"/admin/users/{org.admin.id}").text
    assert "You cannot deactivate yourself" in page and "Deactivate…" not in page

    answer = post(admin, f"/admin/users/{org.admin.id}/active", active="0", version="1")

    assert answer.status_code == 303
    assert stored(engine, User, org.admin.id).active is True
    flash = admin.client.get(answer.headers["location"]).text
    assert "flash-error" in flash and "cannot deactivate yourself" in flash
    # With htmx the refusal comes back in a status htmx swaps, the flash out of band.
    refused = htmx_post(admin, f"/admin/users/{org.admin.id}/active", active="0", version="1")
    assert refused.status_code == 422 and "cannot deactivate yourself" in refused.text
    assert 'hx-swap-oob="true"' in refused.text


def test_with_htmx_deactivating_answers_with_the_users_block_and_the_flash(client_for, engine, org):
    admin = client_for("admin")
    answer = htmx_post(admin, f"/admin/users/{org.max.id}/active", active="0", version="1")
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<div id="user_detail">')
    assert "Activate again" in answer.text and 'hx-swap-oob="true"' in answer.text
    assert stored(engine, User, org.max.id).active is False


# --- administration: departments -------------------------------------------------------------


def test_an_admin_adds_and_renames_a_department(client_for, engine):
    admin = client_for("admin")

    bad = post(admin, "/admin/departments", code="q a", name="", name_zh="质量")
    assert bad.status_code == 422
    assert field_error(bad.text, "new-code-error").startswith("A code is 1 to 20 capital letters")
    assert field_error(bad.text, "new-name-error") == "Enter a name."
    assert 'value="q a"' in bad.text and 'value="质量"' in bad.text

    made = post(admin, "/admin/departments", code="qa", name="Quality", name_zh="质量")
    assert made.status_code == 303
    with Session(engine) as db:
        qa = db.exec(select(Department).where(Department.code == "QA")).one()
    assert (qa.name, qa.name_zh) == ("Quality", "质量")

    renamed = htmx_post(
        admin,
        f"/admin/departments/{qa.id}",
        name="Quality Assurance",
        name_zh="质量保证部",
        version="1",
    )
    assert renamed.status_code == 200 and renamed.text.lstrip().startswith('<div id="departments">')
    assert stored(engine, Department, qa.id).name == "Quality Assurance"
    taken = post(admin, "/admin/departments", code="QA", name="Again")
    assert taken.status_code == 409
    assert field_error(taken.text, "new-code-error") == "A department already has this code."


# --- administration: the board's WIP limits -----------------------------------------------------


def test_a_facilitator_sets_a_hard_limit_on_in_progress_for_it_and_the_board_keeps_it(
    client_for, as_user, clock, engine, org: Org
):
    built = a_cycle_in_do(org, as_user, clock)
    max_ = as_user(org.max)
    actions.fire_action(max_, built.ivr.id, trigger="start", version=built.ivr.version)
    second = actions.add_action(
        as_user(org.fiona),
        built.cycle.id,
        title="Tell callers about the callback",
        department_id=org.it,
        owner_id=org.max.id,
        deadline=clock.today() + timedelta(days=10),
    )
    fiona = client_for("fiona")

    answer = post(
        fiona,
        "/admin/board/limits",
        status="in_progress",
        department=str(org.it),
        max_cards="1",
        hard="1",
    )

    assert answer.status_code == 303 and answer.headers["location"] == "/admin/board"
    page = fiona.client.get("/admin/board").text
    assert "The limit is saved: at most 1 card in “In progress”." in page
    assert f'id="limit-in_progress-{org.it}"' in page
    with pytest.raises(Refused) as refused:
        actions.fire_action(max_, second.id, trigger="start", version=second.version)
    [reason] = [r.message for r in refused.value.reasons]
    assert "at most 1 cards" in reason and "hard WIP limit" in reason
    # The board shows the limit on the lane.
    assert "1 / 1 · hard" in fiona.client.get("/board").text


def test_a_limit_out_of_range_is_refused_and_a_limit_can_be_removed(client_for, engine, org):
    fiona = client_for("fiona")
    bad = post(fiona, "/admin/board/limits", status="open", department="", max_cards="lots")
    assert bad.status_code == 422
    assert field_error(bad.text, "max_cards-error").startswith("Give the limit as a number")
    assert 'value="lots"' in bad.text
    too_many = post(fiona, "/admin/board/limits", status="open", department="", max_cards="5000")
    assert too_many.status_code == 422 and "between 1 and 1000" in too_many.text

    post(fiona, "/admin/board/limits", status="open", department="", max_cards="12")
    with Session(engine) as db:
        [limit] = db.exec(select(WipLimit)).all()
    assert (limit.status, limit.department_id, limit.max_cards, limit.hard) == (
        "open",
        None,
        12,
        False,
    )
    confirm = fiona.client.get("/admin/board/limits/remove?status=open&department=")
    assert confirm.status_code == 200 and "Remove the WIP limit?" in confirm.text
    removed = htmx_post(fiona, "/admin/board/limits/remove", status="open", department="")
    assert removed.status_code == 200 and "No WIP limits yet" in removed.text
    with Session(engine) as db:
        assert db.exec(select(WipLimit)).all() == []


def test_the_pages_carry_a_csrf_token_for_their_forms(client_for):
    admin = client_for("admin")
    for url in ("/profile", "/admin/users", "/admin/departments", "/admin/board"):
        assert csrf_of(admin.client.get(url).text) == admin.csrf
