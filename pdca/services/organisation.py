"""Departments and users."""

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import select

from pdca.models import Department, Role, User
from pdca.services import audit
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Conflict, Invalid
from pdca.services.policy import can_manage_organisation, require
from pdca.services.store import get_or_404

_hasher = PasswordHasher()
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DEPARTMENT_CODE = re.compile(r"^[A-Z][A-Z0-9_-]{0,19}$")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_department(ctx: Ctx, *, code: str, name: str, name_zh: str | None = None) -> Department:
    require(can_manage_organisation(ctx.actor))
    code = code.strip().upper()
    if not DEPARTMENT_CODE.match(code):
        raise Invalid(
            "A department code is 1–20 capital letters, digits, '-' or '_', starting with a letter."
        )
    if not name.strip():
        raise Invalid("A department needs a name.")
    with unit_of_work(ctx):
        if ctx.session.exec(select(Department).where(Department.code == code)).first():
            raise Conflict(f"A department with the code {code} already exists.")
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
    reasons = []
    if not EMAIL.match(email):
        reasons.append(f"{email!r} is not an e-mail address.")
    if not name.strip():
        reasons.append("A user needs a name.")
    if role not in Role.__members__:
        reasons.append(f"Unknown role {role!r}; choose one of: {', '.join(Role.__members__)}.")
    if password is not None and len(password) < 8:
        reasons.append("A password needs at least 8 characters.")
    if locale not in ("en", "zh_CN"):
        reasons.append("The language is 'en' or 'zh_CN'.")
    if password_hash is not None and (
        password is not None or not password_hash.startswith("$argon2")
    ):
        reasons.append("Give either a password or an argon2 password hash.")
    if reasons:
        raise Invalid("The user cannot be created.", reasons)
    with unit_of_work(ctx):
        department_id = None
        if department_code:
            department = ctx.session.exec(
                select(Department).where(Department.code == department_code.upper())
            ).first()
            if department is None:
                raise Invalid(f"There is no department with the code {department_code}.")
            department_id = department.id
        if ctx.session.exec(select(User).where(User.email == email)).first():
            raise Conflict(f"A user with the e-mail {email} already exists.")
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
