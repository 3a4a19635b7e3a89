"""Departments and users."""

import re
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import col, delete, select

from pdca.engine.facts import N_, Reason
from pdca.models import Department, Role, User, WebSession
from pdca.services import audit
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Conflict, Forbidden, Invalid
from pdca.services.policy import can_manage_organisation, require
from pdca.services.store import check_version, compare_and_set, get_or_404

_hasher = PasswordHasher()
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEPARTMENT_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{0,19}$")
PASSWORD_MIN_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_hash(password_hash: str, password: str) -> bool:
    """The one place a password is checked against its argon2 hash (tests count calls)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_matches(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    return verify_hash(user.password_hash, password)


def create_department(ctx: Ctx, *, code: str, name: str, name_zh: str | None = None) -> Department:
    require(can_manage_organisation(ctx.actor))
    code = code.strip().upper()
    # Each reason's code starts with the field it is about, so a form can show it there.
    reasons = []
    if not DEPARTMENT_CODE.match(code):
        reasons.append(
            Reason(
                "code_invalid",
                "A department code is 1–20 capital letters, digits, '-' or '_', "
                "starting with a letter.",
            )
        )
    if not name.strip():
        reasons.append(Reason("name_missing", "A department needs a name."))
    if reasons:
        raise Invalid(" ".join(r.message for r in reasons), reasons)
    with unit_of_work(ctx):
        if ctx.session.exec(select(Department).where(Department.code == code)).first():
            taken = f"A department with the code {code} already exists."
            raise Conflict(taken, [Reason("code_taken", taken)])
        department = Department(code=code, name=name.strip(), name_zh=name_zh, created_at=ctx.now())
        ctx.session.add(department)
        ctx.session.flush()
        assert department.id is not None
        audit.record(ctx, "department", department.id, "created", data={"code": code, "name": name})
    return department


def create_user(
    ctx: Ctx,
    *,
    email: str,
    name: str,
    role: str = Role.member,
    department_code: str | None = None,
    password: str | None = None,
    locale: str = "en",
    password_hash: str | None = None,
) -> User:
    """`password_hash`: an argon2 hash made earlier, for imports (and the demo's shared
    password: argon2 is slow on purpose, so hashing it once per person costs seconds)."""
    require(can_manage_organisation(ctx.actor))
    email = email.strip().lower()
    # Each reason's code starts with the field it is about, so a form can show it there.
    reasons = []
    if not EMAIL.match(email):
        reasons.append(Reason("email_invalid", f"{email!r} is not an e-mail address."))
    if not name.strip():
        reasons.append(Reason("name_missing", "A user needs a name."))
    if role not in Role.__members__:
        reasons.append(Reason("role_unknown", _unknown_role(role)))
    if password is not None and len(password) < PASSWORD_MIN_LENGTH:
        reasons.append(Reason("password_too_short", "A password needs at least 8 characters."))
    if locale not in ("en", "zh_CN"):
        reasons.append(Reason("locale_unknown", "The language is 'en' or 'zh_CN'."))
    if password_hash is not None and (
        password is not None or not password_hash.startswith("$argon2")
    ):
        reasons.append(
            Reason("password_hash_invalid", "Give either a password or an argon2 password hash.")
        )
    if reasons:
        raise Invalid("The user cannot be created.", reasons)
    with unit_of_work(ctx):
        department_id = None
        if department_code:
            department = ctx.session.exec(
                select(Department).where(Department.code == department_code.upper())
            ).first()
            if department is None:
                unknown = f"There is no department with the code {department_code}."
                raise Invalid(unknown, [Reason("department_unknown", unknown)])
            department_id = department.id
        if ctx.session.exec(select(User).where(User.email == email)).first():
            taken = f"A user with the e-mail {email} already exists."
            raise Conflict(taken, [Reason("email_taken", taken)])
        user = User(
            email=email,
            name=name.strip(),
            role=role,
            department_id=department_id,
            password_hash=hash_password(password) if password else password_hash,
            locale=locale,
            created_at=ctx.now(),
        )
        ctx.session.add(user)
        ctx.session.flush()
        assert user.id is not None
        audit.record(
            ctx,
            "user",
            user.id,
            "created",
            data={"email": email, "role": role, "department_id": department_id},
        )
    return user


def get_user(ctx: Ctx, user_id: int) -> User:
    return get_or_404(ctx, User, user_id, "User")


def user_by_email(ctx: Ctx, email: str) -> User | None:
    return ctx.session.exec(select(User).where(User.email == email.strip().lower())).first()


def set_locale(ctx: Ctx, locale: str) -> User:
    """The signed-in person's language ('' follows the browser)."""
    if ctx.actor is None or ctx.actor.id is None:
        raise Invalid("Only a signed-in person has a language.")
    if locale not in ("", "en", "zh_CN"):
        raise Invalid("The language is 'en' or 'zh_CN'.")
    with unit_of_work(ctx):
        user = get_or_404(ctx, User, ctx.actor.id, "User")
        if user.locale != locale:
            audit.record(
                ctx,
                "user",
                user.id,
                "field_changed",
                field="locale",  # type: ignore[arg-type]
                old=user.locale,
                new=locale,
            )
            user.locale = locale
            user.version += 1
            ctx.session.add(user)
    return user


# --- changing users and departments; one's own password -------------------------

USER_CHANGES = ("name", "role", "department_id")
DEPARTMENT_CHANGES = ("name", "name_zh")


def _unknown_role(role: object) -> str:
    return f"Unknown role {role!r}; choose one of: {', '.join(Role.__members__)}."


def _refuse(reasons: list[Reason]) -> None:
    if reasons:
        raise Invalid(" ".join(r.message for r in reasons), reasons)


def _department_must_exist(ctx: Ctx, department_id: int | None) -> None:
    if department_id is not None and ctx.session.get(Department, department_id) is None:
        unknown = f"Department {department_id} does not exist."
        raise Invalid(unknown, [Reason("department_unknown", unknown)])


def set_active(ctx: Ctx, user_id: int, *, active: bool, version: int | None) -> User:
    """Deactivate a user (they can no longer sign in; their sessions end and their tokens
    are refused) or reactivate them. Nobody deactivates themself: it would lock them out."""
    require(can_manage_organisation(ctx.actor))
    if not active and ctx.actor is not None and ctx.actor.id == user_id:
        raise Forbidden(N_("You cannot deactivate yourself; ask another administrator."))
    with unit_of_work(ctx):
        user = get_or_404(ctx, User, user_id, "User")
        label = f"User {user.email}"
        check_version(user, version, label)
        if user.active == active:
            return user
        compare_and_set(ctx, user, label, {"active": active})
        if not active:
            # Signed out everywhere now, so a later reactivation does not revive old sessions
            # or tokens. Imported here: accounts builds on this module.
            from pdca.services import accounts

            ctx.session.exec(delete(WebSession).where(col(WebSession.user_id) == user_id))
            accounts.revoke_all_tokens(ctx, user_id, "user deactivated")
        verb = "activated" if active else "deactivated"
        audit.record(ctx, "user", user_id, verb, field="active", old=not active, new=active)
    return user


def update_user(
    ctx: Ctx,
    user_id: int,
    *,
    version: int | None,
    changes: dict[str, Any],
    note: str | None = None,
) -> User:
    """Rename a user, change their role, or move them to another department (None: none)."""
    require(can_manage_organisation(ctx.actor))
    unknown = sorted(set(changes) - set(USER_CHANGES))
    if unknown:
        raise Invalid(f"These fields cannot be changed here: {', '.join(unknown)}.")
    reasons = []
    if "name" in changes:
        changes = {**changes, "name": str(changes["name"] or "").strip()}
        if not changes["name"]:
            reasons.append(Reason("name_missing", "A user needs a name."))
    if "role" in changes and changes["role"] not in Role.__members__:
        reasons.append(Reason("role_unknown", _unknown_role(changes["role"])))
    _refuse(reasons)
    actor = ctx.actor
    if actor is not None and actor.id == user_id and changes.get("role", actor.role) != actor.role:
        # The last administrator could otherwise demote themself and leave nobody in charge.
        raise Forbidden(N_("You cannot change your own role; ask another administrator."))
    with unit_of_work(ctx):
        user = get_or_404(ctx, User, user_id, "User")
        label = f"User {user.email}"
        check_version(user, version, label)
        if "department_id" in changes:
            _department_must_exist(ctx, changes["department_id"])
        before = {k: getattr(user, k) for k in changes}
        changed = {k: v for k, v in changes.items() if before[k] != v}
        if not changed:
            return user
        compare_and_set(ctx, user, label, changed)
        audit.record_changes(ctx, "user", user_id, before, changed, note=note)
    return user


def update_department(
    ctx: Ctx, department_id: int, *, version: int | None, changes: dict[str, Any]
) -> Department:
    """Rename a department (its English and Chinese names; the code stays)."""
    require(can_manage_organisation(ctx.actor))
    unknown = sorted(set(changes) - set(DEPARTMENT_CHANGES))
    if unknown:
        raise Invalid(f"These fields cannot be changed here: {', '.join(unknown)}.")
    changes = {k: (str(v).strip() if v is not None else None) for k, v in changes.items()}
    if "name_zh" in changes:
        changes["name_zh"] = changes["name_zh"] or None
    if "name" in changes and not changes["name"]:
        _refuse([Reason("name_missing", "A department needs a name.")])
    with unit_of_work(ctx):
        department = get_or_404(ctx, Department, department_id, "Department")
        label = f"Department {department.code}"
        check_version(department, version, label)
        before = {k: getattr(department, k) for k in changes}
        changed = {k: v for k, v in changes.items() if before[k] != v}
        if not changed:
            return department
        compare_and_set(ctx, department, label, changed)
        audit.record_changes(ctx, "department", department_id, before, changed)
    return department


def change_password(
    ctx: Ctx, current: str, new: str, *, keep_session_id: str | None = None
) -> User:
    """The signed-in person replaces their password; their other browsers are signed out.

    A wrong current password counts as a failed sign-in and is throttled like one, so a
    borrowed session cannot be used to guess it. The event records that it happened,
    never a password or a hash.
    """
    if ctx.actor is None or ctx.actor.id is None:
        raise Forbidden("Only a signed-in person can change their password.")
    if not ctx.actor.active:
        raise Forbidden("Your account is deactivated.")
    reasons = []
    if len(new) < PASSWORD_MIN_LENGTH:
        reasons.append(Reason("new_password_too_short", "A password needs at least 8 characters."))
    elif new == current:
        reasons.append(
            Reason("new_password_unchanged", "The new password is the same as the current one.")
        )
    _refuse(reasons)
    # Imported here: accounts builds on this module (users, password hashes).
    from pdca.services import accounts

    try:
        accounts.check_password(ctx, ctx.actor.email, current)
    except accounts.NotAuthenticated:
        wrong = "The current password is wrong."
        raise Invalid(wrong, [Reason("current_password_wrong", wrong)]) from None
    with unit_of_work(ctx):
        user = get_or_404(ctx, User, ctx.actor.id, "User")
        compare_and_set(ctx, user, f"User {user.email}", {"password_hash": hash_password(new)})
        others = delete(WebSession).where(col(WebSession.user_id) == user.id)
        if keep_session_id is not None:
            others = others.where(col(WebSession.id) != keep_session_id)
        ctx.session.exec(others)
        # A token minted under the old password must not outlive it.
        accounts.revoke_all_tokens(ctx, ctx.actor.id, "password changed")
        audit.record(ctx, "user", ctx.actor.id, "password_changed")
    return user


def get_department(ctx: Ctx, department_id: int) -> Department:
    return get_or_404(ctx, Department, department_id, "Department")
