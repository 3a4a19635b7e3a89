"""Scheduled monitoring: the missing-data check, run by one worker at a time.

A lease (pdca.services.leases) is taken by compare-and-set; whoever fails to
take it skips the run. So `pdca serve` with several
workers, and `pdca monitor run` from cron beside them, never double-fire.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from pdca.services import kpis, leases
from pdca.services.context import Ctx

log = logging.getLogger("pdca.monitor")
LEASE = "kpi-monitor"


@dataclass(frozen=True)
class MonitorRun:
    ran: bool
    problems: list[int]


def take_lease(ctx: Ctx, holder: str, hold: timedelta) -> bool:
    """True if `holder` now holds the monitor's lease until now + hold."""
    return leases.take_lease(ctx, LEASE, holder, hold)


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
