"""Leases: which process runs a scheduled job now.

A lease row per job name is taken by compare-and-set (insert it, or take it over
once it has expired); whoever fails to take it skips the run. So `pdca serve` with
several workers, and `pdca … run` from cron beside them, never run a job twice at
once. The jobs are idempotent besides (unique keys, outbox claims): the lease saves
the work, it is not what keeps a mail from going out twice.
"""

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from pdca.models import Lease
from pdca.services.context import Ctx, unit_of_work


def take_lease(ctx: Ctx, name: str, holder: str, hold: timedelta) -> bool:
    """True if `holder` now holds the lease `name` until now + hold."""
    now = ctx.now()
    with unit_of_work(ctx):
        taken = ctx.session.execute(
            update(Lease)
            .where(
                col(Lease.name) == name, (col(Lease.until) < now) | (col(Lease.holder) == holder)
            )
            .values(holder=holder, until=now + hold)
        ).rowcount
        if taken:
            return True
        if ctx.session.get(Lease, name) is not None:
            return False  # someone else holds it and it has not expired
        try:
            with ctx.session.begin_nested():
                ctx.session.add(Lease(name=name, holder=holder, until=now + hold))
        except IntegrityError:
            return False  # another worker inserted it first
    return True


def release_lease(ctx: Ctx, name: str, holder: str) -> None:
    """Give the lease back at once (a job that finished need not block the next run,
    e.g. `pdca jobs run` from cron a minute later, under another holder)."""
    with unit_of_work(ctx):
        ctx.session.execute(
            update(Lease)
            .where(col(Lease.name) == name, col(Lease.holder) == holder)
            .values(until=ctx.now())
        )
