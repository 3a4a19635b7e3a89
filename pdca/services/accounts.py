"""Signing in: API tokens, browser sessions, throttled passwords, electronic signatures."""

import functools
import hashlib
import math
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, text
from sqlmodel import col, delete, func, select

from pdca.engine.facts import N_, Reason, because_n
from pdca.models import ApiToken, SignInFailure, User, WebSession
from pdca.services import audit, organisation
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Forbidden, Invalid, NotFound, ServiceError
from pdca.services.organisation import hash_password, password_matches, user_by_email
from pdca.services.policy import can_manage_organisation

TOKEN_PREFIX = "pdca_"
SESSION_LIFETIME = timedelta(hours=12)
# Throttling that strangers cannot turn into a lock-out: failures within the window
# beyond a free allowance make the next attempt wait, twice as long each time, up to a
# cap. Per e-mail (5 free, at most a minute's wait: the owner is slowed, never locked
# out for long) and per client address (20 free, up to 15 minutes).
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
ACCOUNT_MAX_DELAY = timedelta(minutes=1)
ADDRESS_FREE_FAILURES = 20
ADDRESS_MAX_DELAY = timedelta(minutes=15)
# Failures for e-mails that are nobody's are kept up to this many rows (the oldest go).
MAX_UNKNOWN_FAILURES = 10_000


class NotAuthenticated(ServiceError):
    status_hint = 401
    title = N_("Not authenticated")


class Throttled(ServiceError):
    status_hint = 429
    title = N_("Too many attempts")

    def __init__(self, detail: str | Reason, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)  # seconds, for the Retry-After header


def _digest(secret: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough (no dictionary to attack).
    return hashlib.sha256(secret.encode()).hexdigest()


# --- API tokens ---------------------------------------------------------------


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


SCOPES = ("read", "write", "sign")
DEFAULT_SCOPES = frozenset({"read", "write"})
# A signing token signs acts in its owner's name without a password: it lives a month at most.
SIGNING_TOKEN_MAX_DAYS = 30


def _scopes_for(scopes: set[str] | frozenset[str] | None, can_sign: bool) -> frozenset[str]:
    wanted = set(DEFAULT_SCOPES if scopes is None else scopes)
    if can_sign:
        wanted.add("sign")
    unknown = wanted - set(SCOPES)
    if unknown:
        raise Invalid(
            f"Unknown token scope(s): {', '.join(sorted(unknown))}; use read, write, sign."
        )
    # Every token may read: writing or signing without reading makes no sense.
    wanted.add("read")
    return frozenset(wanted)


def scope_text(scopes: frozenset[str]) -> str:
    return " ".join(s for s in SCOPES if s in scopes)


def token_scopes(token: ApiToken) -> frozenset[str]:
    return frozenset(token.scopes.split())


def create_token(
    ctx: Ctx,
    user_id: int,
    *,
    name: str,
    expires_in_days: int | None = 90,
    can_sign: bool = False,
    scopes: set[str] | frozenset[str] | None = None,
    password: str | None = None,
) -> NewToken:
    """A new bearer token for `user_id`.

    Nobody mints more than they hold: a token's child has at most its read/write
    scopes and expires no later than it; a signing token needs the owner's password
    again, whatever the credential (the CLI, run by the operator, is the exception),
    and lives at most 30 days.
    """
    if ctx.actor is not None and ctx.actor.id != user_id and can_manage_organisation(ctx.actor):
        raise Forbidden("You can only create tokens for yourself.")
    if not name.strip() or len(name) > 100:
        raise Invalid(N_("Give the token a name of 1 to 100 characters (e.g. 'monitoring')."))
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise Invalid(N_("A token expires after 1 to 3650 days (or never)."))
    wanted = _scopes_for(scopes, can_sign)
    signing = "sign" in wanted
    if signing and (expires_in_days is None or expires_in_days > SIGNING_TOKEN_MAX_DAYS):
        raise Invalid(N_("A signing token expires after at most 30 days."))
    if ctx.token_scopes is not None:
        # Only the password (below) may add `sign`; read and write never grow.
        more = wanted - ctx.token_scopes - {"sign"}
        if more:
            raise Forbidden(
                "This token cannot create a token with more rights than it has "
                f"({', '.join(sorted(more))})."
            )
    if signing and ctx.actor is not None:
        _reauthenticate(ctx, password)
    with unit_of_work(ctx):
        user = ctx.session.get(User, user_id)
        if user is None:
            raise NotFound(f"User {user_id} does not exist.")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = ctx.now()
        expires_at = now + timedelta(days=expires_in_days) if expires_in_days else None
        parent = ctx.session.get(ApiToken, ctx.token_id) if ctx.token_id is not None else None
        if parent is not None and parent.expires_at is not None:
            # No token outlives the one that minted it.
            expires_at = min(expires_at or parent.expires_at, parent.expires_at)
        token = ApiToken(
            user_id=user_id,
            name=name.strip(),
            prefix=secret[: len(TOKEN_PREFIX) + 6],
            token_hash=_digest(secret),
            can_sign=signing,
            scopes=scope_text(wanted),
            parent_id=parent.id if parent is not None else None,
            created_at=now,
            expires_at=expires_at,
        )
        ctx.session.add(token)
        ctx.session.flush()
        audit.record(
            ctx,
            "user",
            user_id,
            "token_created",
            data={
                "token_id": token.id,
                "name": token.name,
                "can_sign": signing,
                "scopes": token.scopes,
                "parent_id": token.parent_id,
                "expires_at": token.expires_at.isoformat() if token.expires_at else None,
            },
        )
    return NewToken(token, secret)


def _reauthenticate(ctx: Ctx, password: str | None) -> None:
    """The signed-in person proves it is them again (a stolen session or token cannot)."""
    assert ctx.actor is not None
    if not password:
        raise Invalid(
            N_("Re-enter your password to create a signing token."),
            [N_("Creating a signing token needs your password.")],
        )
    email, now = ctx.actor.email, ctx.now()
    _throttle(ctx, email, None)
    if not password_matches(ctx.actor, password):
        # Counted like a failed sign-in, so a stolen session cannot guess the password.
        with unit_of_work(ctx):
            ctx.session.add(SignInFailure(email=email, at=now))
        raise Forbidden(N_("The password is wrong; no token was created."))


def tokens_of(ctx: Ctx, user_id: int) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user_id).order_by(col(ApiToken.id).desc())
    return list(ctx.session.exec(query))


def _revoke_with_children(ctx: Ctx, roots: list[ApiToken], reason: str) -> None:
    """Revoke these tokens and every token they minted, down the tree (inside a unit of work)."""
    now = ctx.now()
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        token = todo.pop()
        if token.id is None or token.id in seen:
            continue
        seen.add(token.id)
        if token.revoked_at is None:
            token.revoked_at = now
            ctx.session.add(token)
            audit.record(
                ctx,
                "user",
                token.user_id,
                "token_revoked",
                data={"token_id": token.id, "name": token.name, "reason": reason},
            )
        children = ctx.session.exec(select(ApiToken).where(ApiToken.parent_id == token.id))
        todo.extend(children)


def revoke_all_tokens(ctx: Ctx, user_id: int, reason: str) -> None:
    """Every token of a user ends (password changed, user deactivated): call inside a unit of work."""
    live = select(ApiToken).where(ApiToken.user_id == user_id, col(ApiToken.revoked_at).is_(None))
    _revoke_with_children(ctx, list(ctx.session.exec(live)), reason)


def revoke_token(ctx: Ctx, token_id: int) -> ApiToken:
    with unit_of_work(ctx):
        token = ctx.session.get(ApiToken, token_id)
        if token is None:
            raise NotFound(f"Token {token_id} does not exist.")
        if (
            ctx.actor is not None
            and ctx.actor.id != token.user_id
            and can_manage_organisation(ctx.actor)
        ):
            raise Forbidden("You can only revoke your own tokens.")
        _revoke_with_children(ctx, [token], "revoked")
    return token


@dataclass(frozen=True)
class Authenticated:
    user: User
    token: ApiToken | None = None
    web_session: WebSession | None = None


# Every API request and every page reads one of these: built once, token (or browser
# session) and user in one query.
_TOKEN_AND_USER = (
    select(ApiToken, User)
    .join(User, col(User.id) == ApiToken.user_id)
    .where(ApiToken.token_hash == bindparam("digest"))
)
_SESSION_AND_USER = (
    select(WebSession, User)
    .join(User, col(User.id) == WebSession.user_id)
    .where(WebSession.id == bindparam("session_id"))
)


def authenticate_token(ctx: Ctx, secret: str) -> Authenticated:
    """The user behind a bearer token; records its last use (at most once a minute)."""
    found = ctx.session.exec(_TOKEN_AND_USER, params={"digest": _digest(secret)}).first()
    now = ctx.now()
    token, user = found if found is not None else (None, None)
    if token is None or token.revoked_at is not None:
        raise NotAuthenticated("The token is unknown or was revoked.")
    if token.expires_at is not None and token.expires_at <= now:
        raise NotAuthenticated("The token has expired; create a new one on your profile.")
    if user is None or not user.active:
        raise NotAuthenticated("The token's user is deactivated.")
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        with unit_of_work(ctx):
            token.last_used_at = now
            ctx.session.add(token)
    return Authenticated(user=user, token=token)


# --- passwords and browser sessions -------------------------------------------


def _wait(failures: int, last: datetime | None, free: int, cap: timedelta, now: datetime) -> float:
    """Seconds still to wait after `failures` recent failures, the last at `last`."""
    if failures < free or last is None:
        return 0.0
    delay = min(timedelta(seconds=2 ** min(failures - free, 20)), cap)
    return max(0.0, (last + delay - now).total_seconds())


def _failures_since(ctx: Ctx, where: Any) -> tuple[int, datetime | None]:
    since = ctx.now() - FAILURE_WINDOW
    query = select(func.count(), func.max(SignInFailure.at)).where(where, SignInFailure.at > since)
    count, last = ctx.session.exec(query).one()
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)  # SQLite gives naive UTC back
    return int(count), last


def _throttle(ctx: Ctx, email: str, address: str | None) -> None:
    """Throttled (with the seconds to wait) when this e-mail or address must wait."""
    now = ctx.now()
    count, last = _failures_since(ctx, col(SignInFailure.email) == email)
    wait = _wait(count, last, MAX_FAILURES, ACCOUNT_MAX_DELAY, now)
    if address is not None:
        count, last = _failures_since(ctx, col(SignInFailure.address) == address)
        wait = max(wait, _wait(count, last, ADDRESS_FREE_FAILURES, ADDRESS_MAX_DELAY, now))
    if wait > 0:
        seconds = math.ceil(wait)
        # A sentence with its template, so the page and the API say it in the reader's language.
        waiting = because_n(
            "throttled",
            "Too many failed sign-ins; try again in %(seconds)d second.",
            "Too many failed sign-ins; try again in %(seconds)d seconds.",
            seconds,
            seconds=seconds,
        )
        raise Throttled(waiting, retry_after=seconds)


def _serialise(ctx: Ctx, email: str, address: str | None) -> None:
    """Queue the sign-in attempts for one e-mail and for one client address, inside the
    current transaction.

    SQLite's write transactions are already serial (BEGIN IMMEDIATE in unit_of_work);
    on PostgreSQL transaction-level advisory locks do it. The address needs its own:
    one address spraying many e-mails at once takes a different e-mail lock per request
    and would otherwise read the address's count before the others wrote theirs. The
    e-mail is always locked first and the address last, so no two attempts wait on
    each other in a circle.
    """
    if ctx.session.get_bind().dialect.name == "postgresql":
        ctx.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:email))"), {"email": email}
        )
        if address is not None:
            ctx.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:address))"),
                {"address": f"sign-in address {address}"},
            )


def _reserve_attempt(ctx: Ctx, email: str, address: str | None, user: User | None) -> int:
    """Count the attempt as a failure before the password is checked, or refuse it.

    Reading the counts and writing the failure in one transaction serialised per e-mail
    and per address means parallel requests cannot all read "4 failures" and all check
    a password: at most MAX_FAILURES checks happen at once for an e-mail (and at most
    ADDRESS_FREE_FAILURES for an address), whatever the concurrency. A success takes
    its reservation back.
    """
    with unit_of_work(ctx):
        _serialise(ctx, email, address)
        _throttle(ctx, email, address)
        now = ctx.now()
        # Only the window counts: older failures go, so the table stays small.
        ctx.session.exec(delete(SignInFailure).where(col(SignInFailure.at) <= now - FAILURE_WINDOW))
        attempt = SignInFailure(email=email, at=now, address=address, known=user is not None)
        ctx.session.add(attempt)
        ctx.session.flush()
        assert attempt.id is not None
        if user is None:
            # Guesses at e-mails that are nobody's could be endless: keep the newest only.
            ctx.session.exec(
                delete(SignInFailure).where(
                    col(SignInFailure.known).is_(False),
                    col(SignInFailure.id) <= attempt.id - MAX_UNKNOWN_FAILURES,
                )
            )
        return attempt.id


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def check_password(ctx: Ctx, email: str, password: str, address: str | None = None) -> User:
    """The user with this e-mail and password, or NotAuthenticated; throttled per e-mail
    and per client address.

    An unknown e-mail costs the same argon2 check as a wrong password, so the time of
    the answer does not tell whether an account exists.
    """
    email = email.strip().lower()
    user = user_by_email(ctx, email)
    attempt_id = _reserve_attempt(ctx, email, address, user)
    if user is None or not user.active or not user.password_hash:
        organisation.verify_hash(_dummy_hash(), password)
        raise NotAuthenticated("The e-mail or password is wrong.")
    if not password_matches(user, password):
        raise NotAuthenticated("The e-mail or password is wrong.")
    with unit_of_work(ctx):
        ctx.session.exec(delete(SignInFailure).where(col(SignInFailure.id) == attempt_id))
    return user


def sign_in(ctx: Ctx, email: str, password: str, address: str | None = None) -> WebSession:
    user = check_password(ctx, email, password, address)
    now = ctx.now()
    with unit_of_work(ctx):
        ctx.session.exec(delete(SignInFailure).where(col(SignInFailure.email) == user.email))
        ctx.session.exec(delete(WebSession).where(col(WebSession.expires_at) < now))
        web_session = WebSession(
            id=secrets.token_urlsafe(32),
            user_id=user.id,  # type: ignore[arg-type]
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
        ctx.session.add(web_session)
        # The request is nobody's until now: the trail names who signed in, not "system".
        audit.record(replace(ctx, actor=user), "user", user.id, "signed_in")  # type: ignore[arg-type]
    return web_session


def session_user(ctx: Ctx, session_id: str) -> Authenticated | None:
    found = ctx.session.exec(_SESSION_AND_USER, params={"session_id": session_id}).first()
    if found is None:
        return None
    web_session, user = found
    if web_session.expires_at <= ctx.now() or not user.active:
        return None
    return Authenticated(user=user, web_session=web_session)


def sign_out(ctx: Ctx, session_id: str) -> None:
    with unit_of_work(ctx):
        web_session = ctx.session.get(WebSession, session_id)
        if web_session is not None:
            ctx.session.delete(web_session)
            audit.record(ctx, "user", web_session.user_id, "signed_out")


# --- electronic signatures ----------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """What a signer states: the meaning, and a password or the use of a signing token."""

    meaning: str
    password: str | None = None


SIGNATURE_MEANINGS = ("verified effective", "verified not effective", "approved closure")


def check_signature(ctx: Ctx, signature: Signature | None, expected: tuple[str, ...]) -> str:
    """Prove the actor is signing: returns the method ('password' or 'token')."""
    if ctx.actor is None:
        return "system"
    if signature is None:
        raise Invalid(
            "This is a signed act: re-enter your password and state its meaning.",
            [f"Signature meaning must be one of: {', '.join(expected)}."],
        )
    if signature.meaning not in expected:
        raise Invalid(
            f"The signature's meaning must be one of: {', '.join(expected)}.",
            [f"{signature.meaning!r} is not a meaning for this act."],
        )
    if signature.password:
        email, now = ctx.actor.email, ctx.now()
        _throttle(ctx, email, None)
        if not password_matches(ctx.actor, signature.password):
            # Counted like a failed sign-in, so a stolen session cannot guess the password.
            ctx.after_rollback.append(lambda s: s.add(SignInFailure(email=email, at=now)))
            raise Forbidden(N_("The password is wrong; the act was not signed."))
        return "password"
    if ctx.signing_token:
        return "token"
    raise Invalid(
        N_("Re-enter your password to sign (or use an API token made for signing)."),
        [N_("The signature needs your password.")],
    )
