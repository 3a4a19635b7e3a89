"""Administering people and departments, and a person's own password, as use cases.

Administrators change users and departments; each change is compare-and-set (a stale
version is a Conflict), audited old → new, and refused with a reason to anyone else.
"""

import pytest
from sqlmodel import select

from pdca.models import Department, Role, SignInFailure, WebSession
from pdca.services import accounts, organisation, queries
from pdca.services.accounts import NotAuthenticated
from pdca.services.errors import Conflict, Forbidden, Invalid
from pdca.services.queries import Paging
from tests.personas import PASSWORD
from tests.services.builders_services import count, events_of, fresh

NEW_PASSWORD = "a longer, newer secret"


def codes(exc_info: pytest.ExceptionInfo) -> list[str]:
    return [r.code for r in exc_info.value.reasons]


# --- deactivating and reactivating ------------------------------------------------------


def test_an_admin_deactivates_a_user_who_is_signed_out_and_can_no_longer_sign_in(
    org, as_user, session
):
    system = as_user(None)
    accounts.sign_in(system, org.max.email, PASSWORD)
    token = accounts.create_token(system, org.max.id, name="script")

    organisation.set_active(as_user(org.admin), org.max.id, active=False, version=org.max.version)

    stored = fresh(session, org.max)
    assert stored.active is False and stored.version == 2
    assert not session.exec(select(WebSession).where(WebSession.user_id == org.max.id)).all()
    with pytest.raises(NotAuthenticated):
        accounts.sign_in(system, org.max.email, PASSWORD)
    # Deactivation revoked the token (a reactivation does not revive it).
    with pytest.raises(NotAuthenticated, match="revoked"):
        accounts.authenticate_token(system, token.secret)
    [event] = events_of(session, "user", org.max.id, "deactivated")
    assert (event.actor_id, event.field, event.from_value, event.to_value) == (
        org.admin.id,
        "active",
        "True",
        "False",
    )


def test_a_reactivated_user_signs_in_again_and_it_is_audited(org, as_user, session):
    admin = as_user(org.admin)
    organisation.set_active(admin, org.max.id, active=False, version=1)
    organisation.set_active(admin, org.max.id, active=True, version=2)

    assert fresh(session, org.max).active is True
    accounts.sign_in(as_user(None), org.max.email, PASSWORD)
    assert len(events_of(session, "user", org.max.id, "activated")) == 1


def test_an_admin_cannot_deactivate_themself(org, as_user, session):
    with pytest.raises(Forbidden, match="cannot deactivate yourself"):
        organisation.set_active(as_user(org.admin), org.admin.id, active=False, version=1)
    assert fresh(session, org.admin).active is True


@pytest.mark.parametrize(
    ("persona", "reason"),
    [
        ("fiona", "Only administrators manage users"),
        ("hanna", "Only administrators manage users"),
        ("mia", "Only administrators manage users"),
        ("vera", "Viewers have read-only access"),
    ],
)
def test_only_administrators_change_who_may_sign_in(org, as_user, session, persona, reason):
    with pytest.raises(Forbidden, match=reason):
        organisation.set_active(as_user(getattr(org, persona)), org.max.id, active=False, version=1)
    assert fresh(session, org.max).active is True


def test_deactivating_with_a_stale_version_is_a_conflict_and_changes_nothing(org, as_user, session):
    admin = as_user(org.admin)
    organisation.update_user(admin, org.max.id, version=1, changes={"name": "Max M."})

    with pytest.raises(Conflict, match="version 1"):
        organisation.set_active(admin, org.max.id, active=False, version=1)
    assert fresh(session, org.max).active is True
    assert not events_of(session, "user", org.max.id, "deactivated")


# --- role, department, name --------------------------------------------------------


def test_an_admin_moves_a_member_to_another_department_as_its_head(org, as_user, session):
    organisation.update_user(
        as_user(org.admin),
        org.max.id,
        version=1,
        changes={"role": Role.head, "department_id": org.billing, "name": "Max Member"},
    )

    stored = fresh(session, org.max)
    assert (stored.role, stored.department_id, stored.version) == ("head", org.billing, 2)
    changes = events_of(session, "user", org.max.id, "field_changed")
    # One event per field that really changed (the name did not).
    assert [(e.field, e.from_value, e.to_value) for e in changes] == [
        ("role", "member", "head"),
        ("department_id", str(org.it), str(org.billing)),
    ]


def test_a_user_can_be_left_without_a_department(org, as_user, session):
    organisation.update_user(
        as_user(org.admin), org.max.id, version=1, changes={"department_id": None}
    )
    assert fresh(session, org.max).department_id is None


def test_an_unknown_role_or_department_or_an_empty_name_is_refused_with_reasons(org, as_user):
    admin = as_user(org.admin)
    with pytest.raises(Invalid) as refused:
        organisation.update_user(
            admin, org.max.id, version=1, changes={"role": "owner", "name": "  "}
        )
    assert codes(refused) == ["name_missing", "role_unknown"]
    with pytest.raises(Invalid) as refused:
        organisation.update_user(admin, org.max.id, version=1, changes={"department_id": 999})
    assert codes(refused) == ["department_unknown"]
    with pytest.raises(Invalid, match="cannot be changed here: email"):
        organisation.update_user(admin, org.max.id, version=1, changes={"email": "x@example.com"})


def test_an_admin_cannot_change_their_own_role(org, as_user, session):
    with pytest.raises(Forbidden, match="your own role"):
        organisation.update_user(
            as_user(org.admin), org.admin.id, version=1, changes={"role": Role.member}
        )
    assert fresh(session, org.admin).role == "admin"


def test_changing_a_user_with_a_stale_version_is_a_conflict(org, as_user, session):
    admin = as_user(org.admin)
    organisation.update_user(admin, org.max.id, version=1, changes={"role": Role.head})
    with pytest.raises(Conflict):
        organisation.update_user(admin, org.max.id, version=1, changes={"role": Role.viewer})
    assert fresh(session, org.max).role == "head"


def test_saving_nothing_new_writes_nothing(org, as_user, session):
    organisation.update_user(
        as_user(org.admin), org.max.id, version=1, changes={"role": Role.member}
    )
    assert fresh(session, org.max).version == 1
    assert not events_of(session, "user", org.max.id, "field_changed")


def test_only_administrators_change_users(org, as_user):
    with pytest.raises(Forbidden, match="Only administrators"):
        organisation.update_user(as_user(org.ivan), org.max.id, version=1, changes={"role": "head"})


# --- departments --------------------------------------------------------------------


def test_an_admin_renames_a_department_in_both_languages(org, as_user, session):
    organisation.update_department(
        as_user(org.admin),
        org.it,
        version=1,
        changes={"name": "Information Technology", "name_zh": " 信息技术部 "},
    )
    department = session.exec(
        select(Department).where(Department.id == org.it).execution_options(populate_existing=True)
    ).one()
    assert (department.code, department.name, department.name_zh, department.version) == (
        "IT",
        "Information Technology",
        "信息技术部",
        2,
    )
    changes = events_of(session, "department", org.it, "field_changed")
    assert [(e.field, e.from_value, e.to_value) for e in changes] == [
        ("name", "IT", "Information Technology"),
        ("name_zh", None, "信息技术部"),
    ]


def test_renaming_a_department_needs_a_name_an_admin_and_a_fresh_version(org, as_user):
    admin = as_user(org.admin)
    with pytest.raises(Invalid) as refused:
        organisation.update_department(admin, org.it, version=1, changes={"name": " "})
    assert codes(refused) == ["name_missing"]
    with pytest.raises(Forbidden):
        organisation.update_department(as_user(org.fiona), org.it, version=1, changes={"name": "X"})
    organisation.update_department(admin, org.it, version=1, changes={"name": "Tech"})
    with pytest.raises(Conflict):
        organisation.update_department(admin, org.it, version=1, changes={"name": "Ops"})


def test_creating_a_department_or_user_says_which_field_is_wrong(org, as_user):
    admin = as_user(org.admin)
    with pytest.raises(Invalid) as refused:
        organisation.create_department(admin, code="1x", name="")
    assert codes(refused) == ["code_invalid", "name_missing"]
    with pytest.raises(Conflict) as refused:
        organisation.create_department(admin, code="it", name="Another IT")
    assert codes(refused) == ["code_taken"]
    with pytest.raises(Invalid) as refused:
        organisation.create_user(admin, email="nobody", name="", role="boss", password="short")
    assert codes(refused) == ["email_invalid", "name_missing", "role_unknown", "password_too_short"]
    with pytest.raises(Conflict) as refused:
        organisation.create_user(admin, email="MIA@example.com", name="Mia Again")
    assert codes(refused) == ["email_taken"]


# --- one's own password ---------------------------------------------------------------


def test_a_member_changes_their_password_and_their_other_browsers_are_signed_out(
    org, as_user, session
):
    system = as_user(None)
    here = accounts.sign_in(system, org.mia.email, PASSWORD)
    elsewhere = accounts.sign_in(system, org.mia.email, PASSWORD)

    organisation.change_password(as_user(org.mia), PASSWORD, NEW_PASSWORD, keep_session_id=here.id)

    sessions = session.exec(select(WebSession).where(WebSession.user_id == org.mia.id)).all()
    assert [s.id for s in sessions] == [here.id]
    assert elsewhere.id != here.id
    accounts.sign_in(system, org.mia.email, NEW_PASSWORD)
    with pytest.raises(NotAuthenticated):
        accounts.sign_in(system, org.mia.email, PASSWORD)
    [event] = events_of(session, "user", org.mia.id, "password_changed")
    # That it happened, by whom; never a password or its hash.
    assert event.actor_id == org.mia.id
    stored = fresh(session, org.mia)
    recorded = f"{event.data} {event.from_value} {event.to_value} {event.note}"
    assert NEW_PASSWORD not in recorded and PASSWORD not in recorded
    assert stored.password_hash and stored.password_hash not in recorded


def test_a_wrong_current_password_changes_nothing_and_counts_as_a_failed_sign_in(
    org, as_user, session
):
    before = fresh(session, org.mia).password_hash
    with pytest.raises(Invalid) as refused:
        organisation.change_password(as_user(org.mia), "not my password", NEW_PASSWORD)
    assert codes(refused) == ["current_password_wrong"]
    assert fresh(session, org.mia).password_hash == before
    assert count(session, SignInFailure) == 1
    assert not events_of(session, "user", org.mia.id, "password_changed")


def test_a_new_password_must_be_long_enough_and_new(org, as_user):
    mia = as_user(org.mia)
    with pytest.raises(Invalid) as refused:
        organisation.change_password(mia, PASSWORD, "short")
    assert codes(refused) == ["new_password_too_short"]
    with pytest.raises(Invalid) as refused:
        organisation.change_password(mia, PASSWORD, PASSWORD)
    assert codes(refused) == ["new_password_unchanged"]


def test_a_viewer_may_change_their_own_password_but_the_system_has_none(org, as_user):
    organisation.change_password(as_user(org.vera), PASSWORD, NEW_PASSWORD)
    with pytest.raises(Forbidden):
        organisation.change_password(as_user(None), PASSWORD, NEW_PASSWORD)


# --- listing a page at a time -------------------------------------------------------------


def test_every_page_of_the_people_list_knows_how_many_there_are_in_all(org, as_user):
    """The count is taken only when the page cannot tell it (a full page, or past the end);
    the last page's rows and offset are the whole count."""
    ctx = as_user(org.admin)
    everyone = queries.list_users(ctx, Paging(500, 0, "name")).items
    assert len(everyone) == 8
    for limit, offset, shown in ((3, 0, 3), (3, 6, 2), (8, 0, 8), (5, 5, 3), (3, 9, 0), (3, 8, 0)):
        page = queries.list_users(ctx, Paging(limit, offset, "name"))
        assert (len(page.items), page.total) == (shown, 8), (limit, offset)
        assert page.items == everyone[offset : offset + limit]
    found = queries.list_users(ctx, Paging(1, 0, "name"), q="facilitator")
    assert [u.name for u in found.items] == ["Fiona Facilitator"] and found.total == 2
