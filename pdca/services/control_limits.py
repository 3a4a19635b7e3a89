"""People deciding a KPI's control limits: phase I and recalculation after a change.

Phase I: a facilitator reviews the baseline's points, excludes the special causes (each
with a reason; an exclusion can be taken back), and freezes the limits the rest give.
Frozen limits judge the KPI until they are unfrozen; while frozen, the baseline's
exclusions stay as they were frozen with.

After a cycle aimed at the KPI closes as effective, the process has changed: the points
after the change (the last action of the cycle done) propose new limits. Accepted, they
judge every point from the change on (a `LimitStep`), and the earlier points keep the
limits they had. Each decision is one transaction with its audit event, on the KPI's
version (a stale read is a Conflict), and re-judges the points the changed limits judge.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select

from pdca.engine import detection
from pdca.engine.detection import ControlLimits
from pdca.engine.facts import N_, because
from pdca.models import Action, ActionStatus, BaselineExclusion, Cycle, Kpi, LimitStep, Measurement
from pdca.services import audit, kpis, spc
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Conflict, Invalid, NotFound
from pdca.services.keys import key
from pdca.services.policy import can_set_control_limits, require
from pdca.services.store import check_version, compare_and_set, get_or_404

MAX_REASON = 500
RECALCULATION_POINTS = detection.RECOMMENDED_BASELINE_POINTS  # at most this many after a change


def _kpi(ctx: Ctx, kpi_id: int, version: int | None) -> Kpi:
    require(can_set_control_limits(ctx.actor))
    kpi = get_or_404(ctx, Kpi, kpi_id, "KPI", lock=True)
    check_version(kpi, version, f"KPI {kpi.code}")
    return kpi


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise Invalid("Give the point's time with a time zone (e.g. 2026-11-01T00:00:00Z).")
    return at.astimezone(UTC)


def _limits_data(limits: ControlLimits | None) -> dict[str, Any] | None:
    if limits is None:
        return None
    return {
        "centre": limits.centre,
        "sigma": limits.sigma,
        "ucl": limits.line(3),
        "lcl": limits.line(-3),
    }


def _rejudge_baseline_segment(ctx: Ctx, kpi: Kpi, why: str) -> None:
    """The baseline's limits changed: judge again what they judge (after the baseline)."""
    end = spc.baseline_end(ctx, kpi)
    if end is not None:
        kpis.rejudge(ctx, kpi, end, why)


# --- phase I: exclusions ---------------------------------------------------------------


def exclude_point(
    ctx: Ctx, kpi_id: int, at: datetime, reason: str, *, version: int | None
) -> BaselineExclusion:
    """Leave one baseline point out of the limits: a special cause, with why."""
    at = _utc(at)
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(
            because("exclusion_reason", "Say why the point is a special cause."),
            [because("exclusion_reason", "reason: say why the point is a special cause.")],
        )
    if len(reason) > MAX_REASON:
        raise Invalid(f"reason: at most {MAX_REASON} characters.")
    with unit_of_work(ctx):
        kpi = _kpi(ctx, kpi_id, version)
        _refuse_when_frozen(kpi)
        point = next((p for p in spc.baseline_points(ctx, kpi) if p.at == at), None)
        if point is None:
            raise Invalid(
                because(
                    "not_in_baseline",
                    "%(kpi)s has no baseline point at %(at)s.",
                    kpi=kpi.code,
                    at=at.isoformat(),
                )
            )
        if point.excluded is not None:
            raise Conflict(
                because(
                    "already_excluded",
                    "The point at %(at)s is already excluded.",
                    at=at.isoformat(),
                )
            )
        before = spc.computed_limits(ctx, kpi)
        exclusion = BaselineExclusion(
            kpi_id=kpi_id, at=at, reason=reason, excluded_by_id=ctx.actor_id, excluded_at=ctx.now()
        )
        try:
            with ctx.session.begin_nested():
                ctx.session.add(exclusion)
                ctx.session.flush()
        except IntegrityError as exc:  # someone excluded it between our look and our insert
            raise Conflict(
                because(
                    "already_excluded",
                    "The point at %(at)s is already excluded.",
                    at=at.isoformat(),
                )
            ) from exc
        compare_and_set(ctx, kpi, f"KPI {kpi.code}", {})
        after = spc.computed_limits(ctx, kpi)
        audit.record(
            ctx,
            "kpi",
            kpi_id,
            "baseline_point_excluded",
            note=reason,
            data={
                "at": at.isoformat(),
                "value": point.value,
                "limits_before": _limits_data(before),
                "limits_after": _limits_data(after),
            },
        )
        _rejudge_baseline_segment(ctx, kpi, N_("The baseline changed (a point was excluded)."))
    return exclusion


def include_point(
    ctx: Ctx, kpi_id: int, at: datetime, *, version: int | None, note: str | None = None
) -> None:
    """Take an exclusion back: the point counts in the baseline again."""
    at = _utc(at)
    with unit_of_work(ctx):
        kpi = _kpi(ctx, kpi_id, version)
        _refuse_when_frozen(kpi)
        exclusion = spc.exclusions_of(ctx, kpi).get(at)
        if exclusion is None:
            raise NotFound(f"No point of {kpi.code} at {at.isoformat()} is excluded.")
        before = spc.computed_limits(ctx, kpi)
        ctx.session.execute(
            delete(BaselineExclusion)
            .where(col(BaselineExclusion.id) == exclusion.id)
            .execution_options(synchronize_session=False)
        )
        ctx.session.expunge(exclusion)
        compare_and_set(ctx, kpi, f"KPI {kpi.code}", {})
        audit.record(
            ctx,
            "kpi",
            kpi_id,
            "baseline_point_included",
            note=note,
            data={
                "at": at.isoformat(),
                "excluded_because": exclusion.reason,
                "limits_before": _limits_data(before),
                "limits_after": _limits_data(spc.computed_limits(ctx, kpi)),
            },
        )
        _rejudge_baseline_segment(
            ctx, kpi, N_("The baseline changed (an excluded point counts again).")
        )


def _refuse_when_frozen(kpi: Kpi) -> None:
    if spc.is_frozen(kpi):
        raise Conflict(
            because(
                "limits_frozen",
                "The limits of %(kpi)s are frozen: unfreeze them to change the baseline.",
                kpi=kpi.code,
            )
        )


# --- phase I: freezing ---------------------------------------------------------------


def freeze_limits(ctx: Ctx, kpi_id: int, *, version: int | None, note: str | None = None) -> Kpi:
    """Keep the limits the reviewed baseline gives now; detection uses them from now on."""
    with unit_of_work(ctx):
        kpi = _kpi(ctx, kpi_id, version)
        if spc.is_frozen(kpi):
            raise Conflict(
                because(
                    "limits_frozen_already",
                    "The limits of %(kpi)s are frozen already.",
                    kpi=kpi.code,
                )
            )
        limits = spc.computed_limits(ctx, kpi)
        if limits is None:
            raise Conflict(
                because(
                    "no_limits_to_freeze",
                    "The baseline of %(kpi)s gives no control limits yet (it needs at least "
                    "%(min)s points that vary).",
                    kpi=kpi.code,
                    min=detection.MIN_BASELINE_POINTS,
                )
            )
        points = sum(v is not None for v in spc.baseline_values(ctx, kpi))
        values = {
            "frozen_centre": limits.centre,
            "frozen_sigma": limits.sigma,
            "frozen_points": points,
            "frozen_by_id": ctx.actor_id,
            "frozen_at": ctx.now(),
        }
        compare_and_set(ctx, kpi, f"KPI {kpi.code}", values)
        excluded = spc.exclusions_of(ctx, kpi)
        audit.record(
            ctx,
            "kpi",
            kpi_id,
            "limits_frozen",
            note=note,
            data={**(_limits_data(limits) or {}), "points": points, "excluded": len(excluded)},
        )
    return kpi


def unfreeze_limits(ctx: Ctx, kpi_id: int, *, version: int | None, note: str | None = None) -> Kpi:
    """Back to limits computed from the baseline (phase I may be reviewed again)."""
    with unit_of_work(ctx):
        kpi = _kpi(ctx, kpi_id, version)
        if not spc.is_frozen(kpi):
            raise Conflict(
                because("limits_not_frozen", "The limits of %(kpi)s are not frozen.", kpi=kpi.code)
            )
        frozen = spc.control_limits_of(ctx, kpi)
        data = {**(_limits_data(frozen) or {}), "points": kpi.frozen_points}
        compare_and_set(
            ctx,
            kpi,
            f"KPI {kpi.code}",
            dict.fromkeys(
                ("frozen_centre", "frozen_sigma", "frozen_points", "frozen_by_id", "frozen_at")
            ),
        )
        audit.record(ctx, "kpi", kpi_id, "limits_unfrozen", note=note, data=data)
        _rejudge_baseline_segment(ctx, kpi, N_("The control limits were unfrozen."))
    return kpi


# --- recalculating after a process change -------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """New limits from the points after a cycle's change."""

    cycle: Cycle
    starts_at: datetime  # the change: the last action of the cycle's last turn done
    points: int
    limits: ControlLimits


def change_point(ctx: Ctx, cycle: Cycle) -> datetime | None:
    """When the cycle's change took effect: its last action done (else its closing)."""
    done = ctx.session.exec(
        select(func.max(Action.done_at)).where(
            Action.cycle_id == cycle.id,
            Action.iteration == cycle.iteration,
            col(Action.status).in_([ActionStatus.done, ActionStatus.verified]),
        )
    ).one()
    at = done or cycle.closed_at
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def proposals(ctx: Ctx, kpi: Kpi) -> list[Proposal]:
    """Each closed effective cycle aimed at the KPI whose change is later than the limits
    in force and has at least 8 points after it: the limits those points give."""
    cycles = ctx.session.exec(
        select(Cycle)
        .where(Cycle.kpi_id == kpi.id, Cycle.state == "closed", Cycle.effectiveness == "effective")
        .order_by(col(Cycle.closed_at))
    )
    steps = spc.steps_of(ctx, kpi)
    used = {s.cycle_id for s in steps}
    latest = max((spc.as_utc(s.starts_at) for s in steps), default=None)
    found = []
    for cycle in cycles:
        at = change_point(ctx, cycle)
        if at is None or cycle.id in used or (latest is not None and at <= latest):
            continue
        values = list(
            ctx.session.exec(
                select(Measurement.value)
                .where(Measurement.kpi_id == kpi.id, col(Measurement.at) >= at)
                .order_by(col(Measurement.at))
                .limit(RECALCULATION_POINTS)
            )
        )
        limits = detection.control_limits(values)
        if limits is not None:
            found.append(Proposal(cycle, at, len(values), limits))
    return found


def recalculate_limits(
    ctx: Ctx, kpi_id: int, cycle_id: int, *, version: int | None, note: str | None = None
) -> LimitStep:
    """Accept the limits a closed effective cycle proposes: they judge from its change on."""
    with unit_of_work(ctx):
        kpi = _kpi(ctx, kpi_id, version)
        proposal = next((p for p in proposals(ctx, kpi) if p.cycle.id == cycle_id), None)
        if proposal is None:
            raise Conflict(
                because(
                    "no_proposal",
                    "%(cycle)s proposes no new limits for %(kpi)s: it must be aimed at the "
                    "KPI, closed as effective, later than the limits in force, and followed by "
                    "at least %(min)s points that vary.",
                    cycle=key("cycle", cycle_id),
                    kpi=kpi.code,
                    min=detection.MIN_BASELINE_POINTS,
                )
            )
        before = spc.limits_of(ctx, kpi)
        old = None
        if before is not None:
            old = before.steps[-1][1] if before.steps else before.first
        step = LimitStep(
            kpi_id=kpi_id,
            starts_at=proposal.starts_at,
            centre=proposal.limits.centre,
            sigma=proposal.limits.sigma,
            points=proposal.points,
            cycle_id=cycle_id,
            set_by_id=ctx.actor_id,
            set_at=ctx.now(),
        )
        ctx.session.add(step)
        ctx.session.flush()
        compare_and_set(ctx, kpi, f"KPI {kpi.code}", {})
        audit.record(
            ctx,
            "kpi",
            kpi_id,
            "limits_recalculated",
            note=note,
            data={
                "from": proposal.starts_at.isoformat(),
                "cycle": key("cycle", cycle_id),
                "points": proposal.points,
                "limits_before": _limits_data(old),
                "limits_after": _limits_data(proposal.limits),
            },
        )
        kpis.rejudge(
            ctx,
            kpi,
            proposal.starts_at,
            N_("The control limits were recalculated after a process change."),
        )
    return step


def remove_step(
    ctx: Ctx, kpi_id: int, step_id: int, *, version: int | None, note: str | None = None
) -> None:
    """Withdraw recalculated limits: the limits before them judge their points again."""
    with unit_of_work(ctx):
        kpi = _kpi(ctx, kpi_id, version)
        step = ctx.session.get(LimitStep, step_id)
        if step is None or step.kpi_id != kpi_id:
            raise NotFound(f"KPI {kpi.code} has no recalculated limits {step_id}.")
        data = {
            "from": spc.as_utc(step.starts_at).isoformat(),
            "cycle": key("cycle", step.cycle_id) if step.cycle_id else None,
            "limits": _limits_data(ControlLimits(step.centre, step.sigma)),
        }
        starts_at = spc.as_utc(step.starts_at)
        ctx.session.delete(step)
        ctx.session.flush()
        compare_and_set(ctx, kpi, f"KPI {kpi.code}", {})
        audit.record(ctx, "kpi", kpi_id, "limits_step_removed", note=note, data=data)
        kpis.rejudge(ctx, kpi, starts_at, N_("Recalculated control limits were withdrawn."))
