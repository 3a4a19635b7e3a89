"""The outbound jobs, in order: notify from the trail, remind, escalate, digest, deliver.

Each runs under its own lease (pdca.services.leases), so of several server
processes (and `pdca jobs run` from cron) one runs it at a time; and each is
idempotent by itself (unique keys on notifications, escalation steps and outbox
rows; outbox rows claimed by compare-and-set), so even two runs at once, or a run
that dies half-way, send nothing twice. See pdca.services.outbox for the guarantee.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from pdca.models import Outbox
from pdca.services import (
    digests,
    escalation,
    idempotency,
    inspection_plans,
    leases,
    mail_messages,
    mailer,
    notify_rules,
    outbox,
    reminders,
    surveys,
    webhooks,
)
from pdca.services.context import Ctx
from pdca.services.mailer import MailConfig

log = logging.getLogger("pdca.jobs")
NAMES = (
    "notify",
    "reminders",
    "escalation",
    "digests",
    "deliver",
    "forget-keys",
    "survey-kpis",
    "inspections-due",
)


@dataclass(frozen=True)
class JobConfig:
    mail: MailConfig | None = None  # None: no SMTP, notifications stay in the app
    hold: timedelta = timedelta(minutes=5)


@dataclass
class JobReport:
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # another process holds the lease
    counts: dict[str, int] = field(default_factory=dict)


def deliver(ctx: Ctx, config: JobConfig, holder: str) -> int:
    """Send what is due in the outbox: webhooks always, mail when SMTP is configured."""
    sent = outbox.send_due(ctx, "webhook", holder, lambda row: webhooks.send(ctx, row)).sent
    if config.mail is not None:
        mail_config = config.mail

        def send_mail(row: Outbox) -> None:
            mailer.send(mail_config, mail_messages.mail_of(row, mail_config))

        sent += outbox.send_due(ctx, "mail", holder, send_mail).sent
    return sent


def _steps(config: JobConfig, holder: str) -> dict[str, Callable[[Ctx], int]]:
    mail = config.mail is not None
    return {
        "notify": lambda ctx: notify_rules.run(ctx, mail=mail),
        "reminders": lambda ctx: reminders.run(ctx, mail=mail),
        "escalation": lambda ctx: escalation.run(ctx, mail=mail),
        "digests": (lambda ctx: digests.run(ctx)) if mail else (lambda ctx: 0),
        "deliver": lambda ctx: deliver(ctx, config, holder),
        # The API's Idempotency-Keys older than a day (pdca.services.idempotency).
        "forget-keys": idempotency.forget_expired,
        # Yesterday's survey answers become KPI measurements (pdca.services.surveys).
        "survey-kpis": surveys.feed_kpis,
        # Plans make their inspections a week before they are due (pdca.services.inspection_plans).
        "inspections-due": inspection_plans.schedule,
    }


def run_all(ctx: Ctx, config: JobConfig, holder: str, only: tuple[str, ...] = NAMES) -> JobReport:
    report = JobReport()
    for name, step in _steps(config, holder).items():
        if name not in only:
            continue
        lease = f"job:{name}"
        if not leases.take_lease(ctx, lease, holder, config.hold):
            report.skipped.append(name)
            continue
        try:
            report.counts[name] = step(ctx)
        finally:
            leases.release_lease(ctx, lease, holder)
        report.ran.append(name)
    return report


class Scheduler:
    """Runs the jobs every `every` inside `pdca serve`, in a daemon thread."""

    def __init__(
        self,
        make_ctx: Callable[[Session], Ctx],
        engine: Engine,
        holder: str,
        every: timedelta,
        config: JobConfig,
    ) -> None:
        self.make_ctx, self.engine, self.holder = make_ctx, engine, holder
        self.every, self.config = every, config
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pdca-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.every.total_seconds()):
            try:
                with Session(self.engine, expire_on_commit=False) as session:
                    report = run_all(self.make_ctx(session), self.config, self.holder)
                if any(report.counts.values()):
                    log.info("jobs: %s", report.counts)
            except Exception:  # keep the schedule alive; the next run tries again
                log.exception("the notification jobs failed")
