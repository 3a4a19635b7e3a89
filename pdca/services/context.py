"""What every use case runs with: a session, who is acting, the workflows and the clock."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from pdca import storage
from pdca.db import SQLITE_BEGIN_OPTION, writer_queue
from pdca.engine.facts import N_
from pdca.models import User
from pdca.services.catalog import WorkflowCatalog
from pdca.services.errors import Unavailable


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Ctx:
    session: Session
    actor: User | None  # None only for the system itself (CLI set-up, monitors)
    catalog: WorkflowCatalog
    clock: Callable[[], datetime] = field(default=_utcnow)
    # True when the request came with an API token that is allowed to sign.
    signing_token: bool = False
    # The API token the request came with (None: a browser session, the CLI or the
    # system), and what it may do: a token never mints a token with more rights.
    token_id: int | None = None
    token_scopes: frozenset[str] | None = None
    # Writes that must survive the use case failing (a wrong signature password is
    # counted even though the act it tried to sign is rolled back).
    after_rollback: list[Callable[[Session], None]] = field(default_factory=list)
    # The reader's language, for the words of an answer (titles, reasons); never for rules.
    lang: str = "en"

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.clock().date()

    @property
    def actor_id(self) -> int | None:
        return self.actor.id if self.actor is not None else None


_ENCLOSING = "pdca_unit_of_work"


@contextmanager
def unit_of_work(ctx: Ctx) -> Iterator[None]:
    """One use case, one transaction: commit on success, roll back on any error.

    What the session read before is committed away first (it wrote nothing), so the
    use case's transaction begins as a write transaction: IMMEDIATE on SQLite.

    A use case that runs another one inside its own (a meeting's decision creating an
    action) keeps one transaction: the inner one neither commits nor rolls back, the
    outer one does both for all of it, so the decision and its effect land together.
    """
    if ctx.session.info.get(_ENCLOSING):
        yield
        return
    ctx.session.info[_ENCLOSING] = True
    try:
        with _outermost(ctx):
            yield
    finally:
        ctx.session.info.pop(_ENCLOSING, None)


@contextmanager
def _outermost(ctx: Ctx) -> Iterator[None]:
    try:
        if ctx.session.in_transaction() and not ctx.session.in_nested_transaction():
            ctx.session.commit()
        with _turn_to_write(ctx.session):
            ctx.session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            yield
            ctx.session.commit()
        storage.writes_succeeded(ctx.session.get_bind().engine)
    except OperationalError as exc:
        ctx.session.rollback()
        # A PostgreSQL deadlock (two writers, a row lock and the trail's chain lock taken
        # in opposite orders) loses one of them: it is a retry, like a busy database.
        if any(word in str(exc).lower() for word in ("locked", "busy", "deadlock")):
            raise Unavailable(N_("The database is busy; try again in a moment.")) from exc
        raise
    except BaseException:
        ctx.session.rollback()
        _run_after_rollback(ctx)
        raise


@contextmanager
def _turn_to_write(session: Session) -> Iterator[None]:
    """On SQLite, this process's writers one after the other (see db.WriterQueue); the
    turn ends with the commit or the rollback."""
    queue = writer_queue(session.get_bind().engine)
    if queue is None:
        yield
        return
    if not queue.lock.acquire(timeout=queue.timeout):
        raise Unavailable(N_("The database is busy; try again in a moment."))
    try:
        yield
    except BaseException:
        session.rollback()  # the write lock goes with the turn
        raise
    finally:
        queue.lock.release()


def _run_after_rollback(ctx: Ctx) -> None:
    pending, ctx.after_rollback = ctx.after_rollback, []
    for write in pending:
        write(ctx.session)
        ctx.session.commit()
