"""Scheduled monitoring: the missing-data check, run by one worker at a time.

A lease row is taken by compare-and-set (insert it, or take it over once it has
expired); whoever fails to take it skips the run. So `pdca serve` with several
workers, and `pdca monitor run` from cron beside them, never double-fire.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from pdca.models import Lease
from pdca.services import kpis
from pdca.services.context import Ctx, unit_of_work

log = logging.getLogger("pdca.monitor")
LEASE = "kpi-monitor"


@dataclass(frozen=True)
class MonitorRun:
    ran: bool
    problems: list[int]


def take_lease(ctx: Ctx, holder: str, hold: timedelta) -> bool:
    """True if `holder` now holds the lease until now + hold."""
    now = ctx.now()
    with unit_of_work(ctx):
        taken = ctx.session.execute(
            update(Lease)
            .where(
                col(Lease.name) == LEASE, (col(Lease.until) < now) | (col(Lease.holder) == holder)
            )
            .values(holder=holder, until=now + hold)
        ).rowcount
        if taken:
            return True
        if ctx.session.get(Lease, LEASE) is not None:
            return False  # someone else holds it and it has not expired
        try:
            with ctx.session.begin_nested():
                ctx.session.add(Lease(name=LEASE, holder=holder, until=now + hold))
        except IntegrityError:
            return False  # another worker inserted it first
    return True


def run_once(ctx: Ctx, holder: str, hold: timedelta = timedelta(minutes=5)) -> MonitorRun:
    if not take_lease(ctx, holder, hold):
        return MonitorRun(False, [])
    return MonitorRun(True, kpis.check_missing_data(ctx))


class Scheduler:
    """Runs the monitor every `every` inside `pdca serve`, in a daemon thread."""

    def __init__(
        self, make_ctx: Callable[[Session], Ctx], engine: object, holder: str, every: timedelta
    ) -> None:
        self.make_ctx, self.engine, self.holder, self.every = make_ctx, engine, holder, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pdca-monitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.every.total_seconds()):
            try:
                with Session(self.engine, expire_on_commit=False) as session:  # type: ignore[call-overload]
                    result = run_once(self.make_ctx(session), self.holder, hold=self.every * 2)
                if result.problems:
                    log.info("monitor raised or repeated problems %s", result.problems)
            except Exception:  # keep the schedule alive; the next run tries again
                log.exception("the KPI monitor failed")
