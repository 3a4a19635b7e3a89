"""The demo's KPIs: a year of daily points, with real shifts for the monitoring rules to find.

Sixteen indicators across the four scorecard perspectives and the six departments; they
feed the three composite indexes (QSI, QCI, PCI: see indexes/).
Each series is made by a seeded generator (a level, a weekly pattern, bounded
noise) plus what happened to it: a gradual shift, a drift, a spike, an incident,
a feed that stopped. Nothing is marked by hand as a problem: the points go in
through `kpis.ingest` as a feed would send them (the year's first 90 days as a
history import, then weekly uploads, then the last month day by day, with
the missing-data check after each daily feed), and the detection rules raise
whatever problems they find. The stories below are built so that they find:

- CS-SL service level slides from 84% to about 70% over the last five weeks:
  eight in a row below the centre line (SPC) first, then breaches of the 70%
  limit, several times. Both problems stay open with no cycle, for a person
  to take up from the problem page.
- OPS-RESP response time drifts up over the last three weeks: eight in a row
  above the centre line, well within the limits.
- BIL-ERR error rate jumps for three days seven weeks ago: two of three points
  beyond 2 sigma. A PDCA cycle on that problem fixed the tariff-table process;
  it now waits in Check, where the KPI shows the change.
- QA-TRAIN training completion (weekly) stays under its warning limit for the
  last seven weeks: warnings in a row.
- CS-FCR first-contact resolution stopped reporting five days ago: missing data.
- LOG-OTD on-time delivery breached its limit about 200 days ago; a PDCA cycle
  closed that as effective, and a new breach 20 days ago raised a problem that
  links the earlier cycle (its standardisation did not hold).
- CS-CSAT, FIN-CPC and IT-AVAIL stay stable and on target.
- CS-NPS, CS-COMPL and the weekly cost-of-quality KPIs (COQ-*, over FIN-OPEX) move with
  the launch but stay within their limits; through them the quality cost index falls
  towards its warning limit, and the service quality index (which CS-SL weighs most in)
  breaches its limit and raises a problem naming CS-SL.

The two cycles on KPI problems are stories played on the same calendar as the
feeds: each is a generator that waits for its next day with `yield day`, so a
cycle opens after monitoring raised its problem and is judged on the points
that came in after its actions were done.

Points are stamped at midnight UTC and the feeds run at that instant, so the
demo's trail is the same whatever the time of day it is loaded, and the last
points are today's.
"""

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlmodel import col, func, select

from pdca.engine import detection
from pdca.models import (
    Action,
    Cycle,
    DetectionRule,
    Direction,
    Kpi,
    Measurement,
    Perspective,
    Problem,
    ProblemStatus,
)
from pdca.services import actions, control_limits, cycles, kpis
from pdca.services.accounts import Signature
from pdca.services.context import Ctx

if TYPE_CHECKING:
    from pdca.demo import _Player

SEED = "pdca-demo-kpis-20261125"
FIRST_DAY = -364  # a year of points, today included
BASELINE_DAYS = 90  # the first 90 days set the control limits
DAILY_FROM = -30  # before: weekly uploads; from here: a feed every day
SET_UP_DAY = FIRST_DAY + BASELINE_DAYS - 1  # the day the KPIs were set up and the history imported
WEEK = 7


class KpiDemoError(RuntimeError):
    """The KPI script contradicts itself (a bug in this file, not in the user's data)."""


# --- the indicators ---------------------------------------------------------------


@dataclass(frozen=True)
class Ramp:
    """A gradual change: nothing before `start`, `delta` in full from `end` on."""

    start: int  # day (relative to today)
    end: int
    delta: float

    def at(self, day: int) -> float:
        if day <= self.start:
            return 0.0
        if day >= self.end:
            return self.delta
        return self.delta * (day - self.start) / (self.end - self.start)


@dataclass(frozen=True)
class DemoKpi:
    code: str
    name: str
    name_zh: str
    description: str
    unit: str
    department: str
    owner: str
    perspective: Perspective
    direction: Direction
    target: float
    warning: float
    breach: float
    rules: tuple[DetectionRule, ...]
    level: float
    noise: float  # standard deviation; draws are clipped at 2 of them
    weekdays: tuple[float, ...] = (0.0,) * 7  # Monday first; centred on zero when used
    ramps: tuple[Ramp, ...] = ()
    incidents: dict[int, float] = field(default_factory=dict)  # day -> value
    spike_sigmas: dict[int, float] = field(default_factory=dict)  # day -> sigmas, bad side
    recent: tuple[float, ...] = ()  # the last values, as they were (weekly KPIs)
    last_day: int = 0  # the feed stopped after this day
    weekly: bool = False  # one point every Monday
    decimals: int = 1
    low: float = 0.0
    high: float = math.inf


D = DetectionRule
MISSING = D.missing_data

KPIS: tuple[DemoKpi, ...] = (
    DemoKpi(
        "CS-SL", "Service level (calls answered within 20 s)", "服务水平（20秒内接听率）",
        "Share of calls answered within 20 seconds, from the telephony system's daily report.",
        "%", "CS", "li.na", Perspective.customer, Direction.higher,
        target=80, warning=75, breach=70,
        rules=(D.limit_breach, D.spc_8_on_one_side, MISSING),
        level=84, noise=0.8, weekdays=(-3, -1.5, -0.5, 0, 0.5, 2, 2.5),
        # A product launch five weeks ago raised call volume; two agents left a week later.
        ramps=(Ramp(-35, -26, -10.5), Ramp(-14, -7, -3.0)),
        incidents={-9: 58.3},  # the telephony platform was down for two hours
        high=100,
    ),
    DemoKpi(
        "CS-CSAT", "Customer satisfaction", "客户满意度",
        "Mean score of the post-contact survey, 1 (very unhappy) to 5 (very happy).",
        "score (1–5)", "CS", "li.na", Perspective.customer, Direction.higher,
        target=4.2, warning=4.0, breach=3.8,
        rules=(D.limit_breach, D.warnings_in_a_row, MISSING),
        level=4.38, noise=0.04, weekdays=(-0.03, 0, 0, 0.01, 0.01, 0.02, 0.03),
        ramps=(Ramp(-30, -10, -0.04),),
        decimals=2, low=1, high=5,
    ),
    DemoKpi(
        "CS-FCR", "First-contact resolution", "首次解决率",
        "Share of contacts with no repeat contact on the same issue within 7 days (CRM report).",
        "%", "CS", "olivia.brown", Perspective.internal_process, Direction.higher,
        target=75, warning=70, breach=60,
        rules=(D.limit_breach, MISSING),
        level=72.5, noise=1.0, weekdays=(-1.2, -0.4, 0, 0.2, 0.4, 0.5, 0.5),
        # Slipped over the summer; the cycle's refund authority and answers lift it again.
        ramps=(Ramp(-170, -75, -7.0), Ramp(-38, -8, 4.5)),
        last_day=-5,  # the report broke with the CRM upgrade
        high=100,
    ),
    DemoKpi(
        "BIL-ERR", "Billing error rate", "账单差错率",
        "Share of invoices corrected or credited because of a billing error.",
        "%", "BIL", "emma.clarke", Perspective.internal_process, Direction.lower,
        target=0.5, warning=0.8, breach=1.2,
        rules=(D.limit_breach, D.spc_2_of_3_beyond_2_sigma, MISSING),
        level=0.56, noise=0.035,
        # A tariff-table update put wrong lines on three days of invoices …
        spike_sigmas={-52: 2.5, -51: 2.8, -50: 2.4},
        # … and the cycle's validation of tariff tables brought the rate under target.
        ramps=(Ramp(-38, -32, -0.14),),
        decimals=2, low=0, high=100,
    ),
    DemoKpi(
        "OPS-RESP", "Average response time to customer cases", "客户工单平均响应时间",
        "Mean time from a customer case being opened to the first answer, in working hours.",
        "h", "OPS", "liu.yang", Perspective.internal_process, Direction.lower,
        target=4, warning=6, breach=8,
        rules=(D.limit_breach, D.spc_8_on_one_side, MISSING),
        level=3.5, noise=0.1, weekdays=(0.6, 0.3, 0, -0.1, -0.2, -0.3, -0.3),
        ramps=(Ramp(-24, -5, 1.1),),  # the returns backlog pulls people off the case queue
        decimals=2, low=0,
    ),
    DemoKpi(
        "LOG-OTD", "On-time delivery", "准时交付率",
        "Share of parcels delivered in the promised slot (carrier scorecard, all regions).",
        "%", "LOG", "zhao.min", Perspective.customer, Direction.higher,
        target=95, warning=93, breach=90,
        rules=(D.limit_breach, MISSING),
        level=95.8, noise=0.35, weekdays=(-0.6, -0.2, 0, 0.1, 0.1, 0.3, 0.3),
        ramps=(
            # The carrier moved its collection to 16:00: parcels packed late missed the van …
            Ramp(-228, -222, -2.4),
            # … until the cycle moved the packing cut-off and watched the collections.
            Ramp(-197, -189, 3.1),
            # The Harbin depot short of drivers.
            Ramp(-45, -25, -2.5),
        ),
        incidents={
            -209: 92.1, -208: 88.6, -207: 89.3, -206: 92.4,  # a peak weekend on top
            # Snow in the north on top of the Harbin depot's driver shortage.
            -20: 89.2, -19: 92.1,
        },
        high=100,
    ),
    DemoKpi(
        "FIN-CPC", "Cost per contact", "单次服务成本",
        "Contact-centre cost of the day divided by the contacts handled (calls, chats, mails).",
        "€", "OPS", "liu.yang", Perspective.financial, Direction.lower,
        target=4.5, warning=5.0, breach=5.5,
        rules=(D.limit_breach, D.warnings_in_a_row, MISSING),
        level=3.95, noise=0.05, weekdays=(-0.1, -0.08, -0.08, -0.06, -0.03, 0.15, 0.2),
        ramps=(Ramp(-35, -26, 0.1),),  # more calls, same staff: a little dearer per contact
        decimals=2, low=0,
    ),
    DemoKpi(
        "QA-TRAIN", "Mandatory training completion", "必修培训完成率",
        "Share of staff whose mandatory training modules are all complete (weekly, Mondays).",
        "%", "QA", "maria.lopez", Perspective.learning_growth, Direction.higher,
        target=95, warning=90, breach=80,
        rules=(D.limit_breach, D.warnings_in_a_row, MISSING),
        level=97.0, noise=0.6,
        # The new data-protection module became mandatory seven weeks ago.
        recent=(88.4, 85.9, 86.7, 87.5, 88.2, 88.9, 89.3),
        weekly=True, high=100,
    ),
    DemoKpi(
        "IT-AVAIL", "CRM availability", "CRM系统可用率",
        "Share of the service hours in which the CRM answered the monitoring probe.",
        "%", "IT", "david.okafor", Perspective.internal_process, Direction.higher,
        target=99.5, warning=99.0, breach=98.0,
        rules=(D.limit_breach, MISSING),
        level=99.88, noise=0.05,
        # Short outages; the first, in the baseline, is a special cause that phase I excludes.
        incidents={-301: 99.12, -143: 99.31, -88: 99.62, -61: 99.44},
        decimals=2, high=100,
    ),
    # The customer perception index (PCI) stands on CS-CSAT with these two.
    DemoKpi(
        "CS-NPS", "Net Promoter Score", "净推荐值",
        "Promoters minus detractors in the weekly relationship survey (-100 to +100).",
        "NPS", "CS", "li.na", Perspective.customer, Direction.higher,
        target=40, warning=30, breach=20,
        rules=(D.limit_breach, MISSING),
        level=43, noise=2.5,
        ramps=(Ramp(-35, -14, -9.0),),  # the launch's long waits show in the survey
        weekly=True, decimals=0, low=-100, high=100,
    ),
    DemoKpi(
        "CS-COMPL", "Complaints per 1,000 contacts", "每千次服务投诉数",
        "Complaints logged by the service desk, the call centre and the CRM per 1,000 contacts.",
        "‰", "CS", "olivia.brown", Perspective.customer, Direction.lower,
        target=2.0, warning=2.5, breach=3.0,
        rules=(D.limit_breach, MISSING),
        level=1.6, noise=0.08, weekdays=(0.1, 0.05, 0, 0, 0, -0.05, -0.1),
        ramps=(Ramp(-35, -18, 0.55),),
        decimals=2, low=0,
    ),
    # The quality cost index (QCI): the cost of quality as a share of the operating cost.
    DemoKpi(
        "FIN-OPEX", "Operating cost of the service", "服务运营成本",
        "Weekly operating cost of the customer service operation (staff, systems, carriers).",
        "k€", "OPS", "liu.yang", Perspective.financial, Direction.lower,
        target=420, warning=450, breach=480,
        rules=(D.limit_breach, MISSING),
        level=400, noise=4, weekly=True, decimals=0,
    ),
    DemoKpi(
        "COQ-PREV", "Cost of quality: prevention", "质量成本：预防成本",
        "Training, process design and supplier quality work, per week.",
        "k€", "QA", "maria.lopez", Perspective.financial, Direction.lower,
        target=12, warning=16, breach=20,
        rules=(MISSING,),
        level=10, noise=0.4, weekly=True,
    ),
    DemoKpi(
        "COQ-APPR", "Cost of quality: appraisal", "质量成本：鉴定成本",
        "Spot checks, call monitoring, audits and inspections, per week.",
        "k€", "QA", "maria.lopez", Perspective.financial, Direction.lower,
        target=16, warning=20, breach=24,
        rules=(MISSING,),
        level=14, noise=0.5, weekly=True,
    ),
    DemoKpi(
        "COQ-INT", "Cost of quality: internal failure", "质量成本：内部失败成本",
        "Rework found before the customer: re-rated invoices, repacked parcels, per week.",
        "k€", "BIL", "emma.clarke", Perspective.financial, Direction.lower,
        target=14, warning=18, breach=22,
        rules=(MISSING,),
        level=12, noise=0.5, weekly=True,
        ramps=(Ramp(-56, -52, 3.5), Ramp(-49, -42, -3.5)),  # the tariff-table slip
    ),
    DemoKpi(
        "COQ-EXT", "Cost of quality: external failure", "质量成本：外部失败成本",
        "Credits, refunds, repeat deliveries and complaint handling, per week.",
        "k€", "CS", "li.na", Perspective.financial, Direction.lower,
        target=10, warning=15, breach=20,
        rules=(MISSING,),
        level=8, noise=0.4, weekly=True,
        ramps=(Ramp(-35, -14, 5.5),),  # the launch's complaints and goodwill credits
    ),
)  # fmt: skip


# --- the series ---------------------------------------------------------------------


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def series(spec: DemoKpi, today: date) -> list[tuple[int, float]]:
    """(day relative to today, value) for the year; the same for the same day, always."""
    rng = random.Random(f"{SEED}:{spec.code}")
    mean = sum(spec.weekdays) / len(spec.weekdays)
    weekdays = [w - mean for w in spec.weekdays]
    days = [
        d
        for d in range(FIRST_DAY, 1)
        if not spec.weekly or (today + timedelta(days=d)).weekday() == 0
    ]
    points = []
    for day in days:
        noise = max(-2.0, min(2.0, rng.gauss(0.0, 1.0))) * spec.noise  # drawn for every day
        value = spec.level + sum(r.at(day) for r in spec.ramps) + noise
        if not spec.weekly:
            value += weekdays[(today + timedelta(days=day)).weekday()]
        value = spec.incidents.get(day, value)
        points.append((day, value))
    if spec.recent:
        tail = len(spec.recent)
        points[-tail:] = [(d, v) for (d, _), v in zip(points[-tail:], spec.recent, strict=True)]
    points = [(d, _round(spec, v)) for d, v in points]
    if spec.spike_sigmas:
        baseline = [v for d, v in points if d < FIRST_DAY + BASELINE_DAYS]
        limits = detection.control_limits(baseline)
        if limits is None:
            raise KpiDemoError(f"{spec.code}: the baseline has no spread")
        side = 1 if spec.direction == Direction.lower else -1
        points = [
            (d, _round(spec, limits.line(side * spec.spike_sigmas[d])))
            if d in spec.spike_sigmas
            else (d, v)
            for d, v in points
        ]
    return [(d, v) for d, v in points if d <= spec.last_day]


def _round(spec: DemoKpi, value: float) -> float:
    return round(max(spec.low, min(spec.high, value)), spec.decimals)


# --- loading --------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiSummary:
    kpis: int
    points: int
    problems: int  # raised by monitoring
    open_problems: int
    occurrences: int


# A story waits for a day by yielding it (days relative to today, in order).
Story = Iterator[int]


def load_kpis(player: "_Player") -> KpiSummary:
    """Set up the KPIs, feed them a year of points, and play the cycles that answer them."""
    return _KpiLoader(player).run()


class _KpiLoader:
    def __init__(self, player: "_Player") -> None:
        self.p = player
        self.today = player.today
        self.points = {spec.code: series(spec, self.today) for spec in KPIS}
        self.fed_up_to = FIRST_DAY - 1
        self.cycles: dict[str, Cycle] = {}

    def run(self) -> KpiSummary:
        self.create()
        ended = 1 << 30  # a story that has run to its end waits for a day that never comes
        stories = (self.phase_one_story(), self.log_otd_story(), self.bil_err_story())
        waiting = [(next(s, ended), s) for s in stories]
        for day in range(SET_UP_DAY, 1):
            if day == SET_UP_DAY or day >= DAILY_FROM or (day - SET_UP_DAY) % WEEK == 0:
                self.feed(day)
            if day >= DAILY_FROM:
                kpis.check_missing_data(self.system(day))
            for i, (due, story) in enumerate(waiting):
                if due < day:
                    raise KpiDemoError(f"a story wants day {due}, already past")
                while due == day:
                    self.p.goto(day)
                    due = next(story, ended)
                waiting[i] = (due, story)
        if any(due != ended for due, _ in waiting):
            raise KpiDemoError("a story runs past today")
        return self.summary()

    # --- set-up and feeds ----------------------------------------------------------

    def create(self) -> None:
        p = self.p
        p.goto(SET_UP_DAY - 1)
        start = midnight(self.today + timedelta(days=FIRST_DAY))
        end = midnight(self.today + timedelta(days=FIRST_DAY + BASELINE_DAYS - 1))
        for spec in KPIS:
            kpis.create_kpi(
                p.as_("sarah.chen"),
                code=spec.code,
                name=spec.name,
                name_zh=spec.name_zh,
                description=spec.description,
                unit=spec.unit,
                department_id=p.departments[spec.department],
                owner_id=p.users[spec.owner].id,
                perspective=spec.perspective,
                direction=spec.direction,
                target=spec.target,
                warning_limit=spec.warning,
                breach_limit=spec.breach,
                interval_hours=24 * (WEEK if spec.weekly else 1),
                rules=[str(r) for r in spec.rules],
                baseline_start=start,
                baseline_end=end,
            )

    def system(self, day: int) -> Ctx:
        """The monitoring feed: the system, at midnight of `day`."""
        at = midnight(self.today + timedelta(days=day))
        return Ctx(session=self.p.session, actor=None, catalog=self.p.catalog, clock=lambda: at)

    def feed(self, day: int) -> None:
        """Send every KPI's points after the last feed, up to `day`, in one batch."""
        batch = [
            (code, midnight(self.today + timedelta(days=d)), value)
            for code, points in self.points.items()
            for d, value in points
            if self.fed_up_to < d <= day
        ]
        rows = [kpis.RowIn(i, code, at, value) for i, (code, at, value) in enumerate(batch, 1)]
        if rows:
            kpis.ingest(self.system(day), rows)
        self.fed_up_to = day

    # --- helpers for the stories ---------------------------------------------------------

    def problem(self, code: str, rule: DetectionRule) -> Problem:
        problem = self.p.session.exec(
            select(Problem)
            .join(Kpi, col(Kpi.id) == Problem.kpi_id)
            .where(
                Kpi.code == code,
                Problem.detection_rule == rule,
                col(Problem.status).in_((ProblemStatus.new, ProblemStatus.accepted)),
            )
        ).first()
        if problem is None:
            raise KpiDemoError(f"monitoring raised no open {rule} problem for {code}")
        return problem

    def fire(self, cycle: Cycle, trigger: str, login: str) -> None:
        signed = trigger == "close_effective"
        cycles.fire_transition(
            self.p.as_(login, signing_token=signed),
            cycle.id,  # type: ignore[arg-type]
            trigger=trigger,
            version=cycle.version,
            signature=Signature("approved closure") if signed else None,
        )

    def fields(self, cycle: Cycle, login: str, **changes: object) -> None:
        cycles.update_cycle_fields(
            self.p.as_(login),
            cycle.id,  # type: ignore[arg-type]
            changes=changes,
            version=cycle.version,
        )

    def plan(self, cycle: Cycle, lead: str, steps: list[tuple[str, str, str, int]]) -> list[Action]:
        """(title, owner, kind, deadline day) -> actions in the owner's department."""
        planned = []
        for title, owner, kind, due in steps:
            user = self.p.users[owner]
            planned.append(
                actions.add_action(
                    self.p.as_(lead),
                    cycle.id,  # type: ignore[arg-type]
                    title=title,
                    department_id=user.department_id,  # type: ignore[arg-type]
                    owner_id=user.id,
                    deadline=self.today + timedelta(days=due),
                    kind=kind,
                )
            )
        return planned

    def move(self, action: Action, trigger: str) -> None:
        owner = next(login for login, u in self.p.users.items() if u.id == action.owner_id)
        actions.fire_action(
            self.p.as_(owner),
            action.id,  # type: ignore[arg-type]
            trigger=trigger,
            version=action.version,
        )

    def verify(self, action: Action, verifier: str, note: str) -> None:
        if self.p.users[verifier].id == action.owner_id:
            raise KpiDemoError(f"{verifier} cannot verify their own action")
        actions.verify_action(
            self.p.as_(verifier, signing_token=True),
            action.id,  # type: ignore[arg-type]
            effective=True,
            note=note,
            version=action.version,
            signature=Signature("verified effective"),
        )

    def open(
        self, kpi: str, rule: DetectionRule, title: str, lead: str, members: tuple[str, ...],
        **fields: object,
    ) -> Cycle:  # fmt: skip
        p = self.p
        problem = self.problem(kpi, rule)
        cycle = cycles.open_cycle(
            p.as_("sarah.chen"),
            title=title,
            workflow="pdca",
            lead_id=p.users[lead].id,  # type: ignore[arg-type]
            problem_ids=[problem.id],  # type: ignore[list-item]
            department_id=problem.department_id,
            member_ids=[p.users[m].id for m in members],  # type: ignore[misc]
            fields=fields,
        )
        if cycle.kpi_id != problem.kpi_id:
            raise KpiDemoError(f"{title!r} was not aimed at {kpi}")
        self.cycles[kpi] = cycle
        return cycle

    # --- the stories ------------------------------------------------------------------------

    def log_otd_story(self) -> Story:
        """A breach, a cycle closed as effective, and (in the data) a breach again."""
        lead = "zhao.min"
        yield -203
        cycle = self.open(
            "LOG-OTD", D.limit_breach,
            "On-time delivery after the carrier moved its collection time", lead,
            ("lin.fang", "james.miller", "sun.li"),
            objective="On-time delivery back above 95% every day",
            success_criterion="No day under 93% and a mean of at least 95% for four weeks "
            "after the last change",
            effectiveness_window_days=28,
        )  # fmt: skip
        yield -202
        self.fields(
            cycle, lead,
            root_cause="The carrier moved its collection from 18:00 to 16:00 without notice; "
            "parcels packed after 15:30 waited a day, and nobody saw it until customers called.",
            why_1="Why were deliveries late? Parcels left the depot a day after they were packed.",
            why_2="Why a day later? The van had already gone when they were ready.",
            why_3="Why had it gone? The carrier now collects at 16:00, not 18:00.",
            why_4="Why did packing not adapt? Nobody at the depot was told of the change.",
            why_5="Why was nobody told? The contract lets the carrier change times without notice.",
            fishbone_people="Packers not told of the new collection time\nNo one owns carrier contact",
            fishbone_methods="Packing cut-off still set for an 18:00 collection",
            fishbone_machines="No alert when the van has not collected",
            fishbone_materials="Late afternoon orders peak at 15:00–17:00",
            fishbone_measurement="On-time delivery seen only a week later in the report",
            fishbone_environment="Carrier changed its round after a depot move\nWinter traffic",
        )  # fmt: skip
        cut_off, alert, clause = self.plan(
            cycle, lead,
            [
                ("Move the packing cut-off to 15:00 for next-day parcels", "sun.li",
                 "corrective", -196),
                ("Alert Logistics when the van has not collected by 16:30", "wu.hao",
                 "improvement", -192),
                ("Contract clause: collection changes announced four weeks ahead", "lin.fang",
                 "preventive", -188),
            ],
        )  # fmt: skip
        yield -201
        self.fire(cycle, "start_do", lead)
        yield -200
        for action in (cut_off, alert, clause):
            self.move(action, "start")
        yield -197
        self.move(cut_off, "complete")
        yield -193
        self.move(alert, "complete")
        yield -189
        self.move(clause, "complete")
        yield -188
        self.fire(cycle, "start_check", lead)
        yield -187
        self.verify(cut_off, "tom.becker", "Checked the warehouse schedule and the scan times.")
        self.verify(alert, "sarah.chen", "Seen working in the live system.")
        self.verify(clause, "zhang.wei", "Signed addendum filed with the contract.")
        yield -160
        numbers = kpis.cycle_kpi_numbers(self.p.as_(lead), cycle)
        if numbers is None or numbers.after is None or not numbers.meets_target:
            raise KpiDemoError("LOG-OTD did not move to target after the cycle's actions")
        self.fields(
            cycle, lead,
            result=round(numbers.after, 1),
            result_note=f"Mean {numbers.after:.1f}% over the {numbers.after_points} days since "
            f"the last change (baseline {numbers.baseline:.1f}%); no day under 93%.",
        )  # fmt: skip
        cycles.record_effectiveness(
            self.p.as_("sarah.chen"),
            cycle.id,  # type: ignore[arg-type]
            effective=True,
            note="Four weeks on target in the carrier scorecard.",
            version=cycle.version,
        )
        yield -159
        self.fire(cycle, "start_act", lead)
        yield -158
        self.fields(
            cycle, lead,
            standardisation="Packing cut-off in the warehouse schedule (OPS-WI-12 v4); "
            "collection-change clause in the carrier contract; daily collection alert.",
        )  # fmt: skip
        yield -157
        self.fire(cycle, "close_effective", lead)
        yield -150
        # The process changed for good: the points since the cut-off moved set new limits,
        # and the chart keeps the old ones for the year before.
        kpi = self.kpi("LOG-OTD")
        control_limits.recalculate_limits(
            self.p.as_("sarah.chen"),
            kpi.id,  # type: ignore[arg-type]
            cycle.id,  # type: ignore[arg-type]
            version=kpi.version,
            note="The packing cut-off holds: limits from the points after the change.",
        )

    def phase_one_story(self) -> Story:
        """Phase I: the quality manager reviews IT-AVAIL's baseline, leaves out the outage
        of the CRM upgrade as a special cause, and freezes the limits."""
        yield SET_UP_DAY + 2
        kpi = self.kpi("IT-AVAIL")
        outage = midnight(self.today + timedelta(days=-301))
        sarah = self.p.as_("sarah.chen")
        control_limits.exclude_point(
            sarah,
            kpi.id,  # type: ignore[arg-type]
            outage,
            "CRM upgrade overran its maintenance window (change CHG-2291): not the usual process.",
            version=kpi.version,
        )
        control_limits.freeze_limits(sarah, kpi.id, version=kpi.version)  # type: ignore[arg-type]

    def kpi(self, code: str) -> Kpi:
        return self.p.session.exec(
            select(Kpi).where(Kpi.code == code).execution_options(populate_existing=True)
        ).one()

    def bil_err_story(self) -> Story:
        """An SPC signal, a cycle on it, and the KPI showing the change while it is checked."""
        lead = "emma.clarke"
        yield -49
        cycle = self.open(
            "BIL-ERR", D.spc_2_of_3_beyond_2_sigma,
            "Billing errors back under 0.5% after the tariff-table slip", lead,
            ("huang.xin", "raj.patel"),
            objective="Fewer than 0.5% of invoices need a correction",
            success_criterion="Error rate at or under 0.5% every day for four weeks after "
            "the change",
            effectiveness_window_days=28,
        )  # fmt: skip
        yield -48
        self.fields(
            cycle, lead,
            root_cause="Tariff tables are edited by hand in a spreadsheet and loaded without a "
            "check; the October update had wrong prices on 14 lines.",
        )  # fmt: skip
        rerate, validate, report = self.plan(
            cycle, lead,
            [
                ("Re-rate the invoices with the wrong tariff lines", "huang.xin",
                 "containment", -45),
                ("Validate tariff tables against the price list before loading", "raj.patel",
                 "corrective", -37),
                ("Daily billing-error report to the billing lead", "huang.xin",
                 "preventive", -33),
            ],
        )  # fmt: skip
        yield -47
        self.fire(cycle, "start_do", lead)
        yield -46
        for action in (rerate, validate, report):
            self.move(action, "start")
        yield -45
        self.move(rerate, "complete")
        yield -38
        self.move(validate, "complete")
        yield -34
        self.move(report, "complete")
        yield -33
        self.fire(cycle, "start_check", lead)
        yield -32
        self.verify(rerate, "sarah.chen", "Credit notes issued; 312 customers informed.")

    # --- summary -----------------------------------------------------------------------------

    def summary(self) -> KpiSummary:
        session = self.p.session

        def one(query: object) -> int:
            return int(session.exec(query).one() or 0)  # type: ignore[call-overload]

        monitored = col(Problem.kpi_id).is_not(None)
        return KpiSummary(
            kpis=one(select(func.count()).select_from(Kpi)),
            points=one(select(func.count()).select_from(Measurement)),
            problems=one(select(func.count()).select_from(Problem).where(monitored)),
            open_problems=one(
                select(func.count())
                .select_from(Problem)
                .where(
                    monitored,
                    col(Problem.status).in_((ProblemStatus.new, ProblemStatus.accepted)),
                )
            ),
            occurrences=one(select(func.sum(Problem.occurrences)).where(monitored)),
        )
