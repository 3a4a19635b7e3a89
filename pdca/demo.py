"""The demo organisation: a service company with problems, cycles and actions in every state.

Everything is made through the services, as people would make it: every row has
its audit events and every transition really passed its workflow's guards.
Each cycle is played on its own timeline that ends before `now`: it opens some
days ago and moves on at its own pace, so deadlines were valid when they were
set and some of them are in the past today (overdue actions), and the trail
reads like months of real work.

The script is data (who, what, which state to stop in) plus one player that
walks a cycle along its workflow's happy path, doing what each transition's
guards ask for: fields, actions planned, finished and verified, a result, an
effectiveness judgement by someone other than the lead.
"""

import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, func, select

from pdca.demo_feedback import load_feedback, load_survey
from pdca.demo_inspections import load_inspections
from pdca.demo_kpis import KpiSummary, load_kpis
from pdca.demo_meetings import load_meetings
from pdca.engine.definition import TransitionDef, WorkflowDefinition
from pdca.models import (
    Action,
    ActionKind,
    ActionStatus,
    Comment,
    Cycle,
    Department,
    Problem,
    Role,
    User,
)
from pdca.services import actions, comments, cycles, organisation, problems
from pdca.services.accounts import Signature
from pdca.services.catalog import WorkflowCatalog
from pdca.services.context import Ctx
from pdca.services.keys import key

DEMO_PASSWORD = "demo-pass-123"
DEMO_DOMAIN = "demo.pdca"
SEED = 20261125

# The states a cycle passes through when all goes well, in order.
HAPPY_PATHS: dict[str, tuple[str, ...]] = {
    "pdca": ("plan", "do", "check", "act", "closed"),
    "five_step": ("plan", "design", "implement", "evaluate", "improve", "closed"),
    "dmaic": ("define", "measure", "analyze", "improve", "control", "closed"),
    "8d": (
        "d1_team",
        "d2_describe",
        "d3_contain",
        "d4_root_cause",
        "d5_choose",
        "d6_implement",
        "d7_prevent",
        "d8_recognise",
        "closed",
    ),
}
# Fields written when the result is in, not while planning.
LATE_FIELDS = {"result", "result_note", "standardisation"}
RESULT_FIELDS = ("success_criterion", "result", "result_note")
JUDGING_GUARDS = {"effectiveness_evaluated", "effectiveness_confirmed"}
RESULT_GUARDS = {"result_recorded", "result_meets_target"} | JUDGING_GUARDS
FINISHING_GUARDS = {"actions_finished", "actions_verified"} | RESULT_GUARDS
VERIFYING_GUARDS = {"actions_verified"} | RESULT_GUARDS


class DemoError(RuntimeError):
    """The demo script contradicts itself (a bug in this file, not in the user's data)."""


# --- the organisation --------------------------------------------------------

DEPARTMENTS = (
    ("CS", "Customer Service", "客户服务部"),
    ("IT", "IT", "信息技术部"),
    ("OPS", "Operations", "运营部"),
    ("BIL", "Billing", "账务部"),
    ("LOG", "Logistics", "物流部"),
    ("QA", "Quality", "质量管理部"),
)


@dataclass(frozen=True)
class Person:
    login: str  # the part of the e-mail before @demo.pdca
    name: str
    role: Role
    department: str
    locale: str = "en"


PEOPLE = (
    Person("admin", "Wang Jun", Role.admin, "QA", "zh_CN"),
    Person("sarah.chen", "Sarah Chen", Role.facilitator, "QA"),
    Person("zhang.wei", "Zhang Wei", Role.facilitator, "QA", "zh_CN"),
    Person("tom.becker", "Tom Becker", Role.facilitator, "OPS"),
    Person("li.na", "Li Na", Role.head, "CS", "zh_CN"),
    Person("david.okafor", "David Okafor", Role.head, "IT"),
    Person("liu.yang", "Liu Yang", Role.head, "OPS", "zh_CN"),
    Person("emma.clarke", "Emma Clarke", Role.head, "BIL"),
    Person("zhao.min", "Zhao Min", Role.head, "LOG", "zh_CN"),
    Person("maria.lopez", "Maria Lopez", Role.head, "QA"),
    Person("chen.jie", "Chen Jie", Role.member, "CS", "zh_CN"),
    Person("olivia.brown", "Olivia Brown", Role.member, "CS"),
    Person("wu.hao", "Wu Hao", Role.member, "IT", "zh_CN"),
    Person("raj.patel", "Raj Patel", Role.member, "IT"),
    Person("sun.li", "Sun Li", Role.member, "OPS", "zh_CN"),
    Person("huang.xin", "Huang Xin", Role.member, "BIL", "zh_CN"),
    Person("james.miller", "James Miller", Role.member, "LOG"),
    Person("lin.fang", "Lin Fang", Role.member, "LOG", "zh_CN"),
    Person("grace.kim", "Grace Kim", Role.viewer, "QA"),
    Person("zhou.qiang", "Zhou Qiang", Role.viewer, "OPS", "zh_CN"),
)
FACILITATORS = tuple(p.login for p in PEOPLE if p.role == Role.facilitator)


def email_of(login: str) -> str:
    return f"{login}@{DEMO_DOMAIN}"


# --- problems ----------------------------------------------------------------


@dataclass(frozen=True)
class ProblemSpec:
    slug: str
    source: str
    severity: str
    department: str
    title: str
    description: str
    evidence: str | None = None
    reporter: str | None = None  # None: raised by the system (KPI monitoring)
    # Problems that no cycle takes up: how many days ago, and how triage went.
    days_ago: int = 0
    triage: str | None = None  # None: still untriaged; "accept", "reject" or "duplicate"
    reason: str | None = None
    duplicate_of: str | None = None
    comments: tuple[tuple[str, str], ...] = ()


PROBLEMS = (
    ProblemSpec(
        "cs-wait", "kpi", "high", "CS",
        "Call-centre service level below target at lunchtime",
        "Between 11:30 and 14:00 only 61% of calls are answered within 20 seconds "
        "(target 80%); abandoned calls peak at 12%.",
        "ACD report weeks 40–44: service level 61%, abandon rate 12% at lunchtime.",
    ),
    ProblemSpec(
        "cs-callbacks", "complaint", "medium", "CS",
        "Promised call-backs are not made",
        "Customers were promised a call-back within the hour and nobody called. "
        "23 complaints in September mention it.",
        "Complaint log September: 23 cases tagged 'no call-back'.",
        reporter="chen.jie",
    ),
    ProblemSpec(
        "bil-duplicate-charge", "complaint", "critical", "BIL",
        "Duplicate direct-debit charges after the October billing run",
        "About 1,900 customers were charged twice on 3 October. Bank charge-backs and "
        "angry calls followed.",
        "Bank file 2026-10-03 submitted twice; 1,874 duplicate collections.",
        reporter="huang.xin",
        comments=(("emma.clarke", "Refunds started the same day; bank confirms no fees."),),
    ),
    ProblemSpec(
        "log-late-delivery", "kpi", "high", "LOG",
        "On-time delivery fell to 87% in the northern region",
        "On-time delivery in the north dropped from 96% to 87% in six weeks; "
        "the rest of the country is stable.",
        "Carrier scorecard weeks 39–44, region North: 87.2% on time (target 95%).",
    ),
    ProblemSpec(
        "cs-complaint-response", "kpi", "high", "CS",
        "Written complaints answered after the 5-day promise",
        "The service charter promises an answer to written complaints within 5 working "
        "days; the average is now 9.5.",
        "Complaint tracker November: mean 9.5 working days, 38% within 5.",
    ),
    ProblemSpec(
        "it-crm-slow", "kpi", "medium", "IT",
        "CRM screens take over 6 seconds to open at peak times",
        "Agents wait for the customer screen while the caller waits on the line.",
        "APM: p90 page load of the customer view 6.4 s between 10:00 and 12:00.",
    ),
    ProblemSpec(
        "it-email-outage", "internal", "high", "IT",
        "Repeat outages of the e-mail gateway",
        "Four outages of the outbound e-mail gateway in six weeks; invoices, order "
        "confirmations and password mails stop while it is down.",
        "Incident records INC-2291, INC-2340, INC-2418, INC-2466.",
        reporter="wu.hao",
    ),
    ProblemSpec(
        "bil-refund-time", "complaint", "high", "BIL",
        "Refunds take more than 10 working days",
        "Customers who returned goods wait two weeks or more for their money and call "
        "to chase it.",
        "Refund ledger Q2: median 12 working days from approval to payment.",
        reporter="olivia.brown",
    ),
    ProblemSpec(
        "qa-calibration", "inspection", "medium", "QA",
        "Call-quality scores differ between evaluators",
        "The same recorded call scored 62 by one evaluator and 80 by another; agents "
        "dispute their scores.",
        "Calibration session August: spread of 18 points on 5 reference calls.",
        reporter="maria.lopez",
    ),
    ProblemSpec(
        "cs-script", "inspection", "high", "CS",
        "Agents skip the identity check on 1 call in 12",
        "Call monitoring found that account details were given out without the "
        "identity check — a data-protection risk.",
        "Monitoring sample September: 11 of 132 calls without identity check.",
        reporter="zhang.wei",
    ),
    ProblemSpec(
        "ops-returns-backlog", "kpi", "high", "OPS",
        "Returns backlog above 5 days",
        "Returned parcels wait more than five days to be booked in, so refunds start late.",
        "Warehouse system: 3,420 unprocessed returns, oldest 8 days.",
    ),
    ProblemSpec(
        "ops-shift-handover", "internal", "medium", "OPS",
        "Shift handovers lose open customer cases",
        "Cases promised to a customer by the early shift are not picked up by the late shift.",
        "14 cases in October reopened by customers after a missed handover.",
        reporter="sun.li",
    ),
    ProblemSpec(
        "qa-survey-response", "kpi", "low", "QA",
        "Satisfaction-survey response rate fell to 4%",
        "Too few answers to trust the monthly satisfaction score per department.",
        "Survey tool: response rate 4.1% in October (12% a year ago).",
    ),
    ProblemSpec(
        "ops-queue-signage", "suggestion", "low", "OPS",
        "Customers at the service counter are unsure which queue to join",
        "Suggestion from the counter staff: customers queue for returns at the "
        "collection desk and have to queue again.",
        reporter="sun.li",
    ),
    ProblemSpec(
        "bil-late-invoices", "kpi", "medium", "BIL",
        "Invoices issued after the 5th working day",
        "A third of the monthly invoices go out late, which drives billing calls and "
        "late payments.",
        "Billing runs June–August: 66% issued by working day 5.",
    ),
    ProblemSpec(
        "bil-wrong-tariff", "complaint", "high", "BIL",
        "Customers billed on the old tariff after a plan change",
        "Customers who changed plan mid-month were billed the old price for the whole month.",
        "412 accounts found by the billing team; 37 written complaints.",
        reporter="emma.clarke",
    ),
    ProblemSpec(
        "cs-first-contact", "kpi", "medium", "CS",
        "First-contact resolution down to 64%",
        "More customers have to call twice for the same issue.",
        "CRM repeat-contact report, 7-day window: 64% resolved first time (target 75%).",
    ),
    ProblemSpec(
        "cs-chat-backlog", "kpi", "medium", "CS",
        "Web-chat waiting time over 5 minutes in the evening",
        "Between 18:00 and 22:00 chat customers wait 5.5 minutes on average; many leave.",
        "Chat platform: mean wait 5.5 min, 31% abandoned, 18:00–22:00, October.",
    ),
    ProblemSpec(
        "log-pod-missing", "inspection", "medium", "LOG",
        "Proof of delivery missing for 6% of drops",
        "Without a proof of delivery, 'not received' claims cannot be answered and are "
        "refunded by default.",
        "Depot inspection October: 6.1% of drops without signature or photo.",
        reporter="zhao.min",
    ),
    ProblemSpec(
        "bil-dunning", "complaint", "high", "BIL",
        "Payment reminders sent to customers who already paid",
        "Customers who paid by bank transfer received a reminder with a late fee.",
        "19 complaints in November; payments matched a day after the reminder run.",
        reporter="olivia.brown",
    ),
    ProblemSpec(
        "it-password-resets", "suggestion", "low", "IT",
        "Self-service password reset for staff",
        "40% of service-desk tickets are password resets; staff wait up to an hour.",
        "Service desk: 1,240 of 3,100 tickets in Q3 were password resets.",
        reporter="raj.patel",
    ),
    ProblemSpec(
        "log-cold-chain", "inspection", "critical", "LOG",
        "Cold-chain temperature excursions on two vans",
        "Data loggers show chilled goods above 8 °C for 20–45 minutes on afternoon routes.",
        "Logger export vans 7 and 12, August: 11 excursions above 8 °C.",
        reporter="maria.lopez",
    ),
    ProblemSpec(
        "it-release-incidents", "internal", "high", "IT",
        "Every monthly release causes incidents in the billing interface",
        "The last four releases each broke the export from the CRM to billing for "
        "several hours.",
        "Incidents after releases 26.6, 26.7, 26.8 and 26.9.",
        reporter="huang.xin",
    ),
    ProblemSpec(
        "bil-vat-audit", "audit", "high", "BIL",
        "Audit finding: wrong VAT rate on some credit notes",
        "The internal audit found credit notes at the standard VAT rate for items sold "
        "at the reduced rate.",
        "Internal audit report IA-2026-07, finding 3: 57 credit notes affected.",
        reporter="maria.lopez",
    ),
    ProblemSpec(
        "it-backup-audit", "audit", "high", "IT",
        "Audit finding: restores of backups are never tested",
        "Backups run every night, but no restore has been tested for any system in two years.",
        "Internal audit report IA-2026-09, finding 1.",
        reporter="maria.lopez",
    ),
    ProblemSpec(
        "it-access-review", "audit", "medium", "IT",
        "Audit finding: leavers keep system access for weeks",
        "Accounts of staff who left stay active for 3 to 6 weeks.",
        "Internal audit report IA-2026-09, finding 4: 9 of 25 leavers sampled.",
        reporter="maria.lopez",
    ),
    ProblemSpec(
        "log-damaged", "complaint", "medium", "LOG",
        "Parcels arrive damaged",
        "Crushed boxes and broken items, mostly glassware and small appliances.",
        "Complaint log October: 64 'damaged on arrival', up from 22.",
        reporter="james.miller",
    ),
    ProblemSpec(
        "ops-sop-outdated", "audit", "medium", "OPS",
        "Audit finding: out-of-date work instructions at the returns desk",
        "The returns desk works from a 2023 binder; the refund rules changed twice since.",
        "Internal audit report IA-2026-10, finding 2.",
        reporter="maria.lopez",
    ),
    ProblemSpec(
        "log-wrong-address", "internal", "medium", "LOG",
        "Deliveries sent to outdated addresses",
        "Customers who moved updated their address in the web shop, but the parcel "
        "went to the old one.",
        "17 cases in November; the address change reached the carrier a day late.",
        reporter="lin.fang",
    ),
    ProblemSpec(
        "ops-onboarding", "internal", "medium", "OPS",
        "New starters handle customers before their training ends",
        "Staffing gaps put new starters on live calls in their first week.",
        "Roster weeks 45–47: 6 new starters on live queues before completing training.",
        reporter="li.na",
    ),
    ProblemSpec(
        "qa-complaint-coding", "inspection", "low", "QA",
        "Complaints are coded inconsistently",
        "The same kind of complaint gets different reason codes, so the monthly "
        "root-cause report cannot be trusted.",
        "Sample of 200 complaints: 27% coded differently by a second reviewer.",
        reporter="zhang.wei",
    ),
    # Not (yet) in a cycle.
    ProblemSpec(
        "log-returns-labels", "suggestion", "low", "LOG",
        "Put a pre-printed return label in every parcel",
        "Customers print return labels themselves; many cannot, and call us instead.",
        reporter="james.miller", days_ago=9, triage="accept",
    ),
    ProblemSpec(
        "it-printer", "internal", "low", "IT",
        "Label printers jam at the packing station",
        "Two of the four label printers jam several times per shift.",
        reporter="sun.li", days_ago=3,
        comments=(("wu.hao", "Probably the cheaper label rolls bought in October."),),
    ),
    ProblemSpec(
        "cs-hold-music", "complaint", "low", "CS",
        "Hold music is too loud",
        "Several callers say the hold music is loud and distorted.",
        reporter="olivia.brown", days_ago=2,
    ),
    ProblemSpec(
        "bil-e-invoice", "suggestion", "low", "BIL",
        "Offer e-invoices by default",
        "Paper invoices cost postage and arrive late; most customers have an e-mail address.",
        reporter="huang.xin", days_ago=6,
    ),
    ProblemSpec(
        "ops-aht", "kpi", "medium", "OPS",
        "Average handling time in returns up 22% in four weeks",
        "Returns handling takes longer each week since the new return reasons were added.",
        "Warehouse system: 6.1 min per return (was 5.0).", days_ago=1,
    ),
    ProblemSpec(
        "cs-strike", "complaint", "medium", "CS",
        "Customer asks for compensation for a delivery delayed by the courier strike",
        "Delivery delayed by 4 days during the national courier strike.",
        reporter="chen.jie", days_ago=25, triage="reject",
        reason="Outside our control (national strike); handled as a goodwill case, "
        "not a quality problem.",
    ),
    ProblemSpec(
        "it-new-crm", "suggestion", "medium", "IT",
        "Replace the CRM with a new product",
        "The CRM is slow and hard to use; buy a new one.",
        reporter="raj.patel", days_ago=40, triage="reject",
        reason="Too broad for an improvement cycle; passed to the 2027 IT strategy review. "
        "The slow screens are a cycle of their own.",
    ),
    ProblemSpec(
        "qa-extinguisher", "inspection", "low", "QA",
        "Fire-extinguisher inspection sticker missing at the service counter",
        "Found during the quality walk-through.",
        reporter="maria.lopez", days_ago=15, triage="reject",
        reason="Facilities safety, not service quality: passed to Facilities (ticket FAC-881).",
    ),
    ProblemSpec(
        "bil-charged-twice", "complaint", "high", "BIL",
        "Charged twice for October",
        "Customer saw two identical direct debits on the bank statement.",
        reporter="huang.xin", days_ago=20, triage="duplicate",
        duplicate_of="bil-duplicate-charge",
    ),
    ProblemSpec(
        "log-late-harbin", "complaint", "medium", "LOG",
        "Parcel to Harbin late again",
        "Third late delivery for the same customer in the north.",
        reporter="lin.fang", days_ago=8, triage="duplicate",
        duplicate_of="log-late-delivery",
    ),
)  # fmt: skip


# --- cycles ------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One action of a cycle."""

    title: str
    owner: str  # the owner's department is the responsible department
    kind: str = ActionKind.corrective
    due: int = 14  # days after it was planned …
    deadline: int | None = None  # … or days from today (negative: overdue today)
    # Where it stands if the cycle stops while it runs; finished cycles finish it.
    status: str = ActionStatus.verified
    note: str | None = None  # why it was cancelled
    at: str | None = None  # the state it is planned in (default: where the workflow plans)
    iteration: int = 1
    after: int | None = None  # index of the step it depends on
    comment: tuple[str, str] | None = None


@dataclass(frozen=True)
class CycleSpec:
    workflow: str
    title: str
    problems: tuple[str, ...]
    lead: str
    stop: str  # the state the cycle is left in
    started: int  # days ago it was opened
    pace: int  # days between steps
    fields: dict[str, Any]
    judge: str | None = None  # confirms effectiveness; never the lead
    steps: tuple[Step, ...] = ()
    members: tuple[str, ...] = ()
    verdicts: tuple[bool, ...] = (True,)  # effectiveness, per iteration
    judge_notes: tuple[str, ...] = ()
    revisions: dict[int, dict[str, Any]] = field(default_factory=dict)  # fields per iteration
    cancel_at: str | None = None
    cancel_note: str = ""
    merge_into: str | None = None  # title of the cycle that takes over its problems
    comments: tuple[tuple[str, str], ...] = ()
    opener: str = "sarah.chen"


C, K, P, IMP, S = (
    ActionKind.corrective,
    ActionKind.containment,
    ActionKind.preventive,
    ActionKind.improvement,
    ActionKind.standardisation,
)
OPEN, RUNNING, DONE, VERIFIED, CANCELLED = (
    ActionStatus.open,
    ActionStatus.in_progress,
    ActionStatus.done,
    ActionStatus.verified,
    ActionStatus.cancelled,
)

# What kind of problem each is (the Pareto by category); a few are left for triage to say.
PROBLEM_CATEGORIES = {
    "cs-wait": "people",
    "cs-callbacks": "process",
    "bil-duplicate-charge": "system",
    "log-late-delivery": "supplier",
    "cs-complaint-response": "process",
    "it-crm-slow": "system",
    "it-email-outage": "system",
    "bil-refund-time": "policy",
    "qa-calibration": "process",
    "cs-script": "people",
    "ops-returns-backlog": "process",
    "ops-shift-handover": "process",
    "qa-survey-response": "process",
    "bil-late-invoices": "supplier",
    "bil-wrong-tariff": "system",
    "cs-first-contact": "policy",
    "log-pod-missing": "supplier",
    "bil-dunning": "system",
}
# The bone of the fishbone each cycle's root cause sits on (the Pareto by root cause).
ROOT_CAUSE_CATEGORIES = {
    "Cut lunchtime waiting in the call centre": "methods",
    "Make promised call-backs happen": "methods",
    "Stop duplicate direct-debit charges": "machines",
    "Bring northern deliveries back on time": "people",
    "Answer written complaints within 5 working days": "methods",
    "Faster CRM screens at peak times": "machines",
    "Stop repeat outages of the e-mail gateway": "machines",
    "Refunds paid within 5 working days": "methods",
    "Consistent call-quality scoring": "measurement",
    "Identity check on every call": "people",
    "Clear the returns backlog": "methods",
    "A shift handover that keeps every open case": "methods",
    "Clearer queue signs at the service counter": "environment",
    "Invoices out by the 5th working day": "materials",
    "The right tariff after a plan change": "machines",
    "First-contact resolution back to 75%": "people",
    "Proof of delivery for every drop": "methods",
    "Payment reminders only to customers who owe": "materials",
    "Cold-chain temperature excursions on two vans": "machines",
    "Releases that break the billing interface": "methods",
    "Wrong VAT rate on credit notes": "materials",
    "Parcels arrive damaged": "materials",
    "Out-of-date work instructions at the returns desk": "methods",
    "Deliveries sent to outdated addresses": "materials",
    "New starters on live calls before training ends": "people",
    "Complaints coded inconsistently": "measurement",
}

CYCLES = (
    # --- PDCA -----------------------------------------------------------------
    CycleSpec(
        "pdca", "Cut lunchtime waiting in the call centre", ("cs-wait",),
        lead="li.na", judge="sarah.chen", stop="closed", started=130, pace=7,
        members=("chen.jie", "wu.hao"),
        fields={
            "objective": "Answer 80% of calls within 20 s between 11:30 and 14:00",
            "baseline": 61, "target": 80, "direction": "higher", "unit": "%",
            "root_cause": "The whole team takes its break between 12:00 and 13:00: the rota "
            "follows habit, not the forecast call volume.",
            "success_criterion": "Service level ≥ 80% at lunchtime for four weeks in a row",
            "effectiveness_window_days": 14,
            "result": 84, "result_note": "Four weeks at 82–86%; abandon rate down to 4%.",
            "standardisation": "Break rota generated from the forecast is part of the staffing "
            "SOP (CS-SOP-07 v3); team leads trained.",
        },
        steps=(
            Step("Stagger lunch breaks by forecast call volume", "chen.jie", C, due=10),
            Step("Offer a call-back in the IVR when the queue passes 90 s", "wu.hao", IMP, due=21),
            Step("Write the break rule into the staffing SOP", "olivia.brown", S, due=28),
        ),
        comments=(("sarah.chen", "Nice result. The IVR call-back also helps the evening "
                   "chat team — worth sharing at the quality meeting."),),
    ),
    CycleSpec(
        "pdca", "Make promised call-backs happen", ("cs-callbacks",),
        lead="chen.jie", judge="li.na", stop="act", started=42, pace=5,
        fields={
            "objective": "Every promised call-back is made within its slot",
            "baseline": 71, "target": 95, "direction": "higher", "unit": "%",
            "root_cause": "Call-backs are noted on paper or in personal reminders; nobody sees "
            "the list when the agent goes off shift.",
            "success_criterion": "≥ 95% of call-backs made in their slot for three weeks",
            "result": 96, "result_note": "96–98% for three weeks.",
        },
        steps=(
            Step("Book call-backs as CRM tasks with a reminder", "raj.patel", C, due=12),
            Step("Show the open call-backs on the wallboard", "wu.hao", IMP, due=12),
            Step("Shift lead checks missed call-backs at handover", "olivia.brown", P, due=7),
            Step("Hand call-backs to the overflow partner", "olivia.brown", C, due=14,
                 status=CANCELLED,
                 note="The partner cannot use our CRM under our data-protection terms."),
        ),
    ),
    CycleSpec(
        "pdca", "Stop duplicate direct-debit charges", ("bil-duplicate-charge",),
        lead="emma.clarke", judge="sarah.chen", stop="check", started=52, pace=6,
        members=("huang.xin", "raj.patel"),
        fields={
            "objective": "No customer is charged twice by a billing run",
            "baseline": 1874, "target": 0, "direction": "lower", "unit": "duplicate charges",
            "root_cause": "The bank export can be submitted twice: it has no batch identifier "
            "and the resubmit button stays active after a timeout.",
            "success_criterion": "Two billing runs without a duplicate collection",
        },
        steps=(
            Step("Refund every duplicate charge and write to the customers", "huang.xin", K,
                 due=3),
            Step("Make the direct-debit export idempotent (batch ID check)", "raj.patel", C,
                 due=14, comment=("raj.patel", "Deployed in release 26.11; the bank rejects a "
                                  "repeated batch ID now.")),
            Step("Reconcile the bank file with the billing run before submitting it",
                 "huang.xin", P, due=14, status=DONE),
        ),
    ),
    CycleSpec(
        "pdca", "Bring northern deliveries back on time", ("log-late-delivery",),
        lead="zhao.min", stop="do", started=45, pace=4,
        members=("james.miller", "lin.fang", "sun.li"),
        fields={
            "objective": "95% of deliveries in the northern region on time",
            "baseline": 87, "target": 95, "direction": "higher", "unit": "%",
            "root_cause": "The Harbin depot lost two drivers; routes were not re-planned, so "
            "the last drops of each route miss their slot.",
            "success_criterion": "On time ≥ 95% in the north for four weeks",
        },
        steps=(
            Step("Re-plan northern routes around the Harbin depot", "james.miller", C,
                 deadline=-8, status=RUNNING),
            Step("Add a second evening loading slot", "sun.li", C, deadline=3, status=OPEN),
            Step("Share the carrier's delay feed with Customer Service", "wu.hao", IMP, due=10,
                 status=DONE),
            Step("Weekly on-time review with the carrier", "lin.fang", P, deadline=12,
                 status=OPEN, after=0),
            Step("Move northern deliveries to a second carrier", "zhao.min", C, deadline=20,
                 status=CANCELLED,
                 note="The second carrier quoted 40% more; re-planning the routes first."),
        ),
        comments=(
            ("zhao.min", "The carrier confirms Harbin is two drivers short until mid-December."),
            ("li.na", "Customer Service gets about 40 'where is my parcel' calls a day from "
             "the north; the delay feed already helps."),
        ),
    ),
    CycleSpec(
        "pdca", "Answer written complaints within 5 working days", ("cs-complaint-response",),
        lead="sarah.chen", stop="plan", started=12, pace=3,
        members=("olivia.brown", "maria.lopez"),
        fields={
            "objective": "Answer 90% of written complaints within 5 working days",
            "baseline": 9.5, "target": 5, "direction": "lower", "unit": "working days",
        },
        steps=(
            Step("Triage written complaints daily into one shared queue", "olivia.brown", C,
                 deadline=5, status=OPEN),
            Step("Answer templates for the ten most common complaints", "maria.lopez", S,
                 deadline=14, status=OPEN),
        ),
        comments=(("sarah.chen", "Root cause still open: Olivia is sampling 50 late answers "
                   "to see where they waited."),),
    ),
    CycleSpec(
        "pdca", "Faster CRM screens at peak times", ("it-crm-slow",),
        lead="raj.patel", stop="cancelled", cancel_at="do", started=70, pace=5,
        opener="zhang.wei",
        fields={
            "objective": "Customer view opens in under 2 s at peak times",
            "baseline": 6.4, "target": 2, "direction": "lower", "unit": "s",
            "root_cause": "The case-history query scans the whole table; the summary panel is "
            "rebuilt on every open.",
        },
        steps=(
            Step("Index the case-history table", "wu.hao", C, due=7),
            Step("Cache the customer summary panel", "raj.patel", IMP, due=21, status=RUNNING),
        ),
        cancel_note="Superseded by the CRM upgrade in the Q1 release plan, which replaces these "
        "screens. The index stays.",
    ),
    CycleSpec(
        "pdca", "Stop repeat outages of the e-mail gateway", ("it-email-outage",),
        lead="david.okafor", judge="sarah.chen", stop="plan", started=112, pace=4,
        members=("wu.hao", "raj.patel"),
        verdicts=(False, False, False),
        fields={
            "objective": "No outage of the e-mail gateway in a month",
            "baseline": 3, "target": 0, "direction": "lower", "unit": "outages per month",
            "root_cause": "TLS certificates are renewed by hand and were forgotten.",
            "success_criterion": "No outage for 30 days after the change",
            "result": 2, "result_note": "Two outages: one certificate, one full disk.",
        },
        revisions={
            2: {
                "root_cause": "The mail-queue disk fills up during marketing campaigns.",
                "result": 2, "result_note": "Disk alerts worked, but the gateway hung twice "
                "under campaign load.",
            },
            3: {
                "root_cause": "The gateway runs out of connections under load: vendor default "
                "limits.",
                "result": 1, "result_note": "One outage during the Black Friday campaign.",
            },
            4: {
                "root_cause": "A single end-of-life gateway without failover: tuning cannot fix "
                "it.",
            },
        },
        judge_notes=(
            "Still two outages in the month: not effective.",
            "Two outages again, now under load: not effective.",
            "One outage in the busiest week: better, but not the target.",
        ),
        steps=(
            Step("Automate certificate renewal (ACME)", "raj.patel", C, due=10),
            Step("Alert 30 days before a certificate expires", "wu.hao", P, due=10),
            Step("Alert at 70% disk on the mail queue", "wu.hao", C, due=7, iteration=2),
            Step("Send campaign mailings through the bulk-mail provider", "sun.li", IMP, due=14,
                 iteration=2),
            Step("Raise connection limits as the vendor advises", "raj.patel", C, due=7,
                 iteration=3),
            Step("Load-test the gateway before each campaign", "wu.hao", P, due=10,
                 iteration=3),
            Step("Business case for a redundant gateway pair", "david.okafor", IMP, deadline=7,
                 iteration=4, status=OPEN),
            Step("Standby relay with a manual switch-over runbook", "raj.patel", K,
                 deadline=14, iteration=4, status=RUNNING),
        ),
        comments=(
            ("david.okafor", "Third turn not effective either: escalating to the IT steering "
             "group for a replacement budget."),
            ("sarah.chen", "Agreed. Until then keep the standby relay runbook current."),
        ),
    ),
    # --- five-step ---------------------------------------------------------------
    CycleSpec(
        "five_step", "Refunds paid within 5 working days", ("bil-refund-time",),
        lead="huang.xin", judge="emma.clarke", stop="closed", started=175, pace=6,
        verdicts=(False, True),
        members=("emma.clarke", "raj.patel"),
        fields={
            "objective": "Pay refunds within 5 working days of approval",
            "baseline": 12, "target": 5, "direction": "lower", "unit": "working days",
            "root_cause": "Refunds wait for a weekly manual approval batch.",
            "design_summary": "Team leads approve refunds up to €200 daily; approved refunds go "
            "into an automatic payment file.",
            "success_criterion": "90th percentile ≤ 5 working days for four weeks",
            "result": 7, "result_note": "Median 4 days, but the 90th percentile is still 7: "
            "large refunds still wait for the weekly batch.",
        },
        revisions={
            2: {
                "root_cause": "Refunds above €200 still wait for finance's weekly sign-off.",
                "design_summary": "Finance signs off large refunds daily in the payment tool.",
                "result": 4.5, "result_note": "90th percentile 4.5 days for four weeks.",
                "standardisation": "Refund procedure BIL-P-12 v4: daily approval, limits by "
                "role; refund time on the billing dashboard.",
            },
        },
        judge_notes=(
            "Large refunds still take 7 days or more: not effective yet.",
            "Four weeks under target, confirmed with finance.",
        ),
        steps=(
            Step("Daily refund approval by team leads up to €200", "huang.xin", C),
            Step("Automatic payment file for approved refunds", "raj.patel", IMP, due=21),
            Step("Daily finance sign-off for refunds above €200", "emma.clarke", C,
                 iteration=2),
            Step("Update the refund procedure and train the team", "huang.xin", S,
                 iteration=2),
        ),
        comments=(
            ("emma.clarke", "First turn taught us the €200 limit was the real queue; the second "
             "turn fixed it."),
            ("olivia.brown", "Refund chasers on the phone are down to a handful a week."),
        ),
    ),
    CycleSpec(
        "five_step", "Consistent call-quality scoring", ("qa-calibration",),
        lead="maria.lopez", judge="zhang.wei", stop="improve", started=95, pace=6,
        members=("zhang.wei", "chen.jie"),
        fields={
            "objective": "Evaluators agree within 5 points on the same call",
            "baseline": 18, "target": 5, "direction": "lower", "unit": "points",
            "root_cause": "There is no shared scoring guide; each evaluator weighs empathy and "
            "accuracy differently.",
            "design_summary": "A scoring guide with anchored example calls and a monthly "
            "calibration session.",
            "success_criterion": "Spread ≤ 5 points in two calibration rounds",
            "result": 4, "result_note": "Spread of 4 and 3 points in the last two rounds.",
        },
        steps=(
            Step("Scoring guide with anchored example calls", "zhang.wei", S, due=21),
            Step("Record ten reference calls for calibration", "chen.jie", IMP, due=14),
            Step("Monthly calibration session in the quality calendar", "maria.lopez", P,
                 due=10),
        ),
    ),
    CycleSpec(
        "five_step", "Identity check on every call", ("cs-script",),
        lead="li.na", stop="evaluate", started=62, pace=5,
        members=("chen.jie", "zhang.wei"),
        fields={
            "objective": "The identity check is done on every call",
            "baseline": 91.7, "target": 99.5, "direction": "higher", "unit": "%",
            "root_cause": "The check sits on the second screen; agents under time pressure "
            "skip it.",
            "design_summary": "Make identity the mandatory first step of the call script; "
            "monthly sample audit.",
            "success_criterion": "≥ 99.5% in the monthly monitoring sample",
            "result": 99.6, "result_note": "November sample: 1 miss in 250 calls.",
        },
        steps=(
            Step("Identity check as the first, mandatory screen of the script", "wu.hao", C,
                 due=14),
            Step("Refresher training on identity checks for all agents", "chen.jie", C,
                 due=10, status=DONE),
            Step("Monthly sample of 50 calls for the identity check", "zhang.wei", P,
                 due=21, status=DONE),
        ),
        comments=(("zhang.wei", "Sample done: 1 miss in 250 calls. Verifying the training "
                   "records before judging effectiveness."),),
    ),
    CycleSpec(
        "five_step", "Clear the returns backlog", ("ops-returns-backlog",),
        lead="liu.yang", stop="implement", started=50, pace=5,
        members=("sun.li", "tom.becker"),
        fields={
            "objective": "Every return booked in within 2 days",
            "baseline": 8, "target": 2, "direction": "lower", "unit": "days",
            "root_cause": "Returns are scanned at the desk after unpacking; the desk is the "
            "bottleneck in the afternoon.",
            "design_summary": "Scan at the door, unpack later; weekend shift until the backlog "
            "is gone.",
        },
        steps=(
            Step("Temporary weekend shift for returns", "sun.li", K, due=5, status=DONE),
            Step("Scan returns at the door instead of at the desk", "sun.li", C, deadline=-12,
                 status=RUNNING,
                 comment=("sun.li", "Scanner mounts arrived; waiting for IT to pair them.")),
            Step("Returns portal tells customers their parcel has arrived", "raj.patel", IMP,
                 deadline=20, status=OPEN),
            Step("Daily backlog figure on the operations board", "tom.becker", P, deadline=10,
                 status=OPEN, after=1),
        ),
    ),
    CycleSpec(
        "five_step", "A shift handover that keeps every open case", ("ops-shift-handover",),
        lead="tom.becker", stop="design", started=20, pace=4, opener="tom.becker",
        fields={
            "objective": "No customer case lost at a shift handover",
            "baseline": 14, "target": 2, "direction": "lower", "unit": "cases per month",
            "root_cause": "Open cases live in personal notes and e-mail, not in the case tool.",
        },
        steps=(
            Step("Handover checklist in the case tool", "wu.hao", IMP, deadline=6, status=OPEN),
            Step("Handover huddle at 14:00 with the open-case list", "sun.li", C, deadline=13,
                 status=OPEN),
        ),
    ),
    CycleSpec(
        "five_step", "Lift the satisfaction-survey response rate", ("qa-survey-response",),
        lead="zhang.wei", stop="plan", started=6, pace=2, opener="zhang.wei",
        members=("grace.kim",),
        fields={"objective": "Enough survey answers to trust the monthly score per department"},
    ),
    CycleSpec(
        "five_step", "Clearer queue signs at the service counter", ("ops-queue-signage",),
        lead="sun.li", stop="cancelled", cancel_at="design", started=35, pace=4,
        opener="tom.becker",
        fields={
            "objective": "Customers join the right queue first time",
            "baseline": 20, "target": 5, "direction": "lower", "unit": "% re-queued",
            "root_cause": "The signs name desks, not what customers come for.",
        },
        steps=(Step("Design and print new queue signs", "sun.li", IMP, due=21, status=OPEN),),
        cancel_note="The counter closes in March when the branch moves to the new service "
        "centre; signs are part of that fit-out.",
    ),
    # --- DMAIC ----------------------------------------------------------------------
    CycleSpec(
        "dmaic", "Invoices out by the 5th working day", ("bil-late-invoices",),
        lead="emma.clarke", judge="sarah.chen", stop="closed", started=160, pace=7,
        members=("raj.patel", "zhao.min"),
        fields={
            "problem_statement": "A third of invoices leave after the 5th working day; late "
            "invoices drive 18% of billing calls.",
            "objective": "95% of invoices issued by the 5th working day",
            "baseline": 66, "target": 95, "direction": "higher", "unit": "%",
            "root_cause": "Usage data from the logistics system arrives on day 4 and is "
            "corrected by hand.",
            "success_criterion": "≥ 95% on time in two billing runs",
            "control_plan": "Run-day checklist; on-time % on the billing dashboard with an "
            "alert below 93%.",
            "effectiveness_window_days": 30,
            "result": 97, "result_note": "October 97%, November 96%.",
            "standardisation": "Billing calendar and data-feed agreement with Logistics "
            "(BIL-SLA-03).",
        },
        steps=(
            Step("Nightly usage-data feed from the logistics system", "raj.patel", C, due=21),
            Step("Validation rules for usage data at import", "wu.hao", P, due=21),
            Step("Data-feed agreement with Logistics", "zhao.min", S, due=14),
        ),
        comments=(("zhao.min", "Logistics commits to the 02:00 feed; alerts go to our on-call "
                   "phone too."),),
    ),
    CycleSpec(
        "dmaic", "The right tariff after a plan change", ("bil-wrong-tariff",),
        lead="huang.xin", stop="control", started=80, pace=6,
        members=("emma.clarke", "raj.patel"),
        fields={
            "problem_statement": "Customers changing plan mid-month are billed the old price "
            "for the whole month.",
            "objective": "Every bill after a plan change uses the new tariff from the change date",
            "baseline": 3.1, "target": 0.1, "direction": "lower", "unit": "% of changed plans",
            "root_cause": "The billing system reads the tariff at the start of the month only.",
            "success_criterion": "≤ 0.1% wrong in two billing runs",
            "control_plan": "Sample check of changed plans before each run; exception report "
            "to the billing lead.",
            "effectiveness_window_days": 30,
            "result": 0.05, "result_note": "November run: 2 of 3,900 changed plans wrong.",
        },
        steps=(
            Step("Re-bill the 412 affected customers", "huang.xin", K, due=5),
            Step("Apply plan changes from the change date in billing", "raj.patel", C, due=21),
            Step("Check tariffs on a sample of changed plans before each run", "emma.clarke",
                 P, due=14),
        ),
        comments=(("huang.xin", "Effectiveness can be judged after the December run "
                   "(30-day window)."),),
    ),
    CycleSpec(
        "dmaic", "First-contact resolution back to 75%", ("cs-first-contact",),
        lead="olivia.brown", stop="improve", started=48, pace=5,
        members=("chen.jie", "emma.clarke"),
        fields={
            "problem_statement": "Only 64% of customers get their issue solved on the first "
            "contact.",
            "objective": "75% first-contact resolution",
            "baseline": 64, "target": 75, "direction": "higher", "unit": "%",
            "root_cause": "Agents may not refund small amounts and lack answers for the top "
            "call reasons, so they transfer or promise a call-back.",
        },
        steps=(
            Step("Knowledge-base answers for the top 20 call reasons", "chen.jie", IMP,
                 deadline=-5, status=RUNNING),
            Step("Refund authority for agents up to €50", "emma.clarke", C, due=10,
                 status=DONE),
            Step("Code transfer reasons in the telephony system", "wu.hao", C, deadline=16,
                 status=OPEN),
        ),
        comments=(
            ("olivia.brown", "Knowledge-base work is late: the product team has to review every "
             "answer. New date agreed with Li Na."),
            ("li.na", "OK, but please keep the top 5 answers live first."),
        ),
    ),
    CycleSpec(
        "dmaic", "Evening web-chat waiting time under 2 minutes", ("cs-chat-backlog",),
        lead="li.na", stop="analyze", started=26, pace=5,
        fields={
            "problem_statement": "Evening chat customers wait 5.5 minutes; 31% leave.",
            "objective": "Mean evening chat wait under 2 minutes",
            "baseline": 5.5, "target": 2, "direction": "lower", "unit": "minutes",
        },
        steps=(
            Step("Chatbot answers order-status questions", "raj.patel", IMP, deadline=25,
                 status=OPEN, at="analyze"),
            Step("Move two agents' shifts to 16:00–22:00", "olivia.brown", C, deadline=9,
                 status=OPEN, at="analyze"),
        ),
    ),
    CycleSpec(
        "dmaic", "Proof of delivery for every drop", ("log-pod-missing",),
        lead="lin.fang", stop="measure", started=18, pace=5,
        fields={
            "problem_statement": "6% of drops have no proof of delivery, so claims are refunded "
            "by default.",
            "objective": "Proof of delivery for 99.5% of drops",
            "baseline": 6.1, "direction": "lower", "unit": "% without proof",
        },
        steps=(
            Step("Drivers photograph every parcel at the door", "james.miller", K,
                 deadline=20, status=RUNNING, at="measure"),
        ),
    ),
    CycleSpec(
        "dmaic", "Payment reminders only to customers who owe", ("bil-dunning",),
        lead="emma.clarke", stop="define", started=4, pace=2,
        fields={
            "problem_statement": "Customers who paid by bank transfer get a reminder with a "
            "late fee because payments are matched a day late.",
        },
    ),
    CycleSpec(
        "dmaic", "Self-service password reset", ("it-password-resets",),
        lead="wu.hao", stop="cancelled", cancel_at="measure", started=60, pace=5,
        opener="zhang.wei",
        fields={
            "problem_statement": "40% of service-desk tickets are password resets.",
            "objective": "Staff reset their own password",
        },
        cancel_note="The identity platform bought in October includes self-service reset; IT "
        "rolls it out as a standard change, no cycle needed.",
    ),
    # --- 8D ---------------------------------------------------------------------
    CycleSpec(
        "8d", "Cold-chain temperature excursions on two vans", ("log-cold-chain",),
        lead="tom.becker", judge="zhao.min", stop="closed", started=150, pace=6,
        opener="tom.becker", members=("lin.fang", "james.miller", "maria.lopez"),
        fields={
            "team_charter": "Logistics, Operations and Quality; sponsor Zhao Min; stand-up "
            "every Tuesday.",
            "problem_description": "Is: vans 7 and 12, afternoon routes, above 8 °C for 20–45 "
            "min. Is not: other vans, morning routes.",
            "objective": "No excursion above 8 °C",
            "containment": "Chilled goods moved to vans 3 and 5; loggers read daily.",
            "root_cause": "Worn door seals on both vans; afternoon routes open the doors 30+ "
            "times.",
            "baseline": 11, "target": 0, "direction": "lower", "unit": "excursions per month",
            "success_criterion": "No excursion in six weeks of logger data",
            "result": 0, "result_note": "Six weeks of logger data without an excursion.",
            "standardisation": "Seal check in the weekly van inspection (LOG-CL-02); loggers on "
            "every chilled van.",
            "recognition": "Team thanked at the November all-hands; Lin Fang's logger "
            "dashboard adopted by Quality.",
        },
        steps=(
            Step("Move chilled goods to vans 3 and 5", "lin.fang", K, due=2, at="d3_contain"),
            Step("Replace the door seals on vans 7 and 12", "james.miller", C, due=10),
            Step("Strip curtains on all chilled vans", "james.miller", P, due=21),
            Step("Seal check in the weekly van inspection", "maria.lopez", S, due=14),
        ),
    ),
    CycleSpec(
        "8d", "Releases that break the billing interface", ("it-release-incidents",),
        lead="david.okafor", judge="sarah.chen", stop="d8_recognise", started=105, pace=5,
        members=("raj.patel", "huang.xin"),
        fields={
            "team_charter": "IT development, IT operations and Billing; sponsor David Okafor.",
            "problem_description": "Is: the CRM→billing export after monthly releases. Is not: "
            "hot-fixes, other interfaces.",
            "objective": "No billing-interface incident after a release",
            "containment": "Billing runs a manual smoke test of the export after each release.",
            "root_cause": "The interface has no automated tests; changes to shared fields are "
            "not seen by billing until production.",
            "baseline": 4, "target": 0, "direction": "lower", "unit": "incidents per release",
            "success_criterion": "Two releases without a billing-interface incident",
            "result": 0, "result_note": "Releases 26.10 and 26.11 without incident.",
            "standardisation": "Contract tests gate every release; billing signs off release "
            "notes (IT-REL-04).",
        },
        steps=(
            Step("Manual smoke test of the billing export after each release", "huang.xin", K,
                 due=3, at="d3_contain"),
            Step("Contract tests for the billing interface in the pipeline", "raj.patel", P,
                 due=21),
            Step("Release freeze during the billing run (working days 1–5)", "wu.hao", C,
                 due=10),
            Step("Billing signs off the release notes", "huang.xin", S, due=24, after=1),
        ),
    ),
    CycleSpec(
        "8d", "Wrong VAT rate on credit notes", ("bil-vat-audit",),
        lead="maria.lopez", judge="emma.clarke", stop="d7_prevent", started=95, pace=5,
        members=("huang.xin", "raj.patel"),
        fields={
            "team_charter": "Quality, Billing and IT; sponsor Emma Clarke.",
            "problem_description": "Is: credit notes for reduced-rate items since the June "
            "release. Is not: invoices.",
            "objective": "Every credit note carries the VAT rate of the invoice line it credits",
            "containment": "Credit notes with reduced-rate items are held for a manual check.",
            "root_cause": "Credit notes take the item's current default rate instead of the "
            "rate on the original invoice line.",
            "baseline": 57, "target": 0, "direction": "lower", "unit": "wrong credit notes",
            "success_criterion": "No wrong rate in a full month of credit notes",
            "result": 0, "result_note": "November: 0 of 1,214 credit notes wrong.",
        },
        steps=(
            Step("Hold reduced-rate credit notes for a manual check", "huang.xin", K, due=2,
                 at="d3_contain"),
            Step("Credit notes take the VAT rate of the original invoice line", "raj.patel", C,
                 due=21),
            Step("Correct and reissue the 57 affected credit notes", "huang.xin", C, due=14),
        ),
    ),
    CycleSpec(
        "8d", "Backup restores are never tested", ("it-backup-audit",),
        lead="raj.patel", stop="d6_implement", started=45, pace=4, opener="zhang.wei",
        members=("wu.hao",),
        fields={
            "team_charter": "IT operations; sponsor David Okafor; audit contact Maria Lopez.",
            "problem_description": "Is: every system's backups. Is not: the backup jobs "
            "themselves, which run.",
            "objective": "Every tier-1 system restored successfully once a quarter",
            "containment": "Restore test of the CRM database done this week.",
            "root_cause": "Nobody owns restore tests; the backup tool's success mails are taken "
            "as proof.",
            "baseline": 0, "target": 100, "direction": "higher", "unit": "% of tier-1 tested",
            "success_criterion": "All tier-1 systems restored within the quarter",
        },
        steps=(
            Step("Restore test of the CRM database", "wu.hao", K, due=5, at="d3_contain"),
            Step("Quarterly restore test for every tier-1 system", "raj.patel", P, deadline=2,
                 status=RUNNING),
            Step("Restore runbook per system", "wu.hao", S, deadline=-1, status=OPEN),
            Step("Off-site copy of the billing backups", "raj.patel", C, due=10, status=DONE),
        ),
        comments=(("maria.lopez", "Audit follow-up is due at the end of the quarter; the "
                   "runbooks are what the auditors will ask for."),),
    ),
    CycleSpec(
        "8d", "Leavers keep system access for weeks", ("it-access-review",),
        lead="david.okafor", stop="d5_choose", started=30, pace=4,
        fields={
            "team_charter": "IT, Operations (HR contact) and Quality; sponsor David Okafor.",
            "problem_description": "Is: accounts of leavers in all departments. Is not: "
            "contractors (separate process).",
            "objective": "Leavers lose all access on their last day",
            "containment": "Weekly leaver list checked against the directory.",
            "root_cause": "The HR leaver form reaches IT by e-mail, often after the last day.",
        },
        steps=(
            Step("Weekly check of the leaver list against the directory", "wu.hao", K, due=7,
                 at="d3_contain"),
            Step("HR leaver feed disables accounts on the last day", "raj.patel", C,
                 deadline=30, status=OPEN),
            Step("Managers confirm access removal in the leaver checklist", "liu.yang", P,
                 deadline=21, status=OPEN),
        ),
    ),
    CycleSpec(
        "8d", "Parcels arrive damaged", ("log-damaged",),
        lead="james.miller", stop="d4_root_cause", started=25, pace=4,
        fields={
            "team_charter": "Logistics and Quality; sponsor Zhao Min.",
            "problem_description": "Is: glassware and small appliances, since the new box "
            "supplier. Is not: books, clothing.",
            "objective": "Damaged-on-arrival complaints back under 25 a month",
            "containment": "Fragile items double-boxed until the root cause is known.",
        },
        steps=(
            Step("Double-box fragile items", "lin.fang", K, deadline=10, status=RUNNING,
                 at="d3_contain"),
        ),
    ),
    CycleSpec(
        "8d", "Out-of-date work instructions at the returns desk", ("ops-sop-outdated",),
        lead="liu.yang", stop="d3_contain", started=22, pace=4,
        fields={
            "team_charter": "Operations and Quality; sponsor Liu Yang.",
            "problem_description": "Is: the returns desk binder (2023). Is not: the warehouse "
            "instructions, which are current.",
            "objective": "The desk works from the current instructions only",
        },
        steps=(
            Step("Remove the old binders and post the current instructions", "sun.li", K,
                 deadline=-3, status=RUNNING, at="d3_contain"),
        ),
    ),
    CycleSpec(
        "8d", "Deliveries sent to outdated addresses", ("log-wrong-address",),
        lead="lin.fang", stop="d2_describe", started=10, pace=3,
        fields={"team_charter": "Logistics, IT and Customer Service; sponsor Zhao Min."},
    ),
    CycleSpec(
        "8d", "New starters on live calls before training ends", ("ops-onboarding",),
        lead="tom.becker", stop="d1_team", started=5, pace=2, opener="tom.becker",
        steps=(
            # D0, the emergency response, is a containment action planned straight away.
            Step("Pair every new starter with a buddy on live calls", "li.na", K, deadline=4,
                 status=OPEN, at="d1_team"),
        ),
        fields={},
    ),
    CycleSpec(
        "8d", "Complaints coded inconsistently", ("qa-complaint-coding",),
        lead="zhang.wei", stop="cancelled", cancel_at="d4_root_cause", started=70, pace=5,
        opener="zhang.wei",
        merge_into="Consistent call-quality scoring",
        fields={
            "team_charter": "Quality and Customer Service; sponsor Maria Lopez.",
            "problem_description": "Is: complaint reason codes set by agents. Is not: codes set "
            "by the complaints team.",
            "objective": "Reason codes agree in 95% of a second review",
            "containment": "Quality reviews the week's complaint codes every Friday.",
        },
        steps=(
            Step("Weekly review of complaint codes by Quality", "maria.lopez", K, due=7,
                 at="d3_contain"),
        ),
        cancel_note="Same evaluators and the same fix as {merged}: merged into it.",
    ),
)  # fmt: skip


# --- loading -------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    email: str
    name: str
    role: str
    department: str


@dataclass(frozen=True)
class DemoSummary:
    departments: int
    users: int
    problems: int
    cycles: int
    actions: int
    overdue: int
    due_this_week: int
    comments: int
    password: str
    sign_ins: tuple[SignIn, ...]
    kpis: KpiSummary | None = None


def existing_rows(session: Session) -> dict[str, int]:
    """What the database already holds, by table, leaving out empty ones."""
    counts = {
        "departments": session.exec(select(func.count()).select_from(Department)).one(),
        "users": session.exec(select(func.count()).select_from(User)).one(),
        "problems": session.exec(select(func.count()).select_from(Problem)).one(),
        "cycles": session.exec(select(func.count()).select_from(Cycle)).one(),
    }
    return {name: n for name, n in counts.items() if n}


def load_demo(session: Session, catalog: WorkflowCatalog, now: datetime) -> DemoSummary:
    """Build the demo organisation; every write goes through the services."""
    missing = sorted(set(HAPPY_PATHS) - set(catalog.names()))
    if missing:
        raise DemoError(f"the demo needs the shipped workflows; missing: {', '.join(missing)}")
    player = _Player(session, catalog, now)
    player.organisation()
    for spec in CYCLES:
        player.play(spec)
    player.loose_problems()
    kpi_summary = load_kpis(player)
    load_meetings(player, DEMO_PASSWORD)
    load_feedback(player)
    load_survey(player)
    load_inspections(player)
    return replace(player.summary(), kpis=kpi_summary)


class _Player:
    def __init__(self, session: Session, catalog: WorkflowCatalog, now: datetime) -> None:
        self.session, self.catalog = session, catalog
        self.rng = random.Random(SEED)
        now = now.astimezone(UTC)
        self.today = now.date()
        # Days start at 09:00 so that a day's events keep their date whatever time it is now.
        self.day0 = datetime.combine(self.today, time(9), tzinfo=UTC)
        self.offset = -365
        self.t = self.day0 + timedelta(days=self.offset)
        self.users: dict[str, User] = {}
        self.departments: dict[str, int] = {}
        self.problem_ids: dict[str, int] = {}
        self.cycles_by_title: dict[str, Cycle] = {}

    # --- time and people ---------------------------------------------------------

    def goto(self, offset: int) -> None:
        """Move the clock to a day relative to today, at a working hour."""
        self.offset = offset
        self.t = self.day0 + timedelta(days=offset, minutes=self.rng.randint(0, 6 * 60))

    def tick(self, days: int) -> None:
        self.goto(self.offset + days)

    def as_(self, login: str | None, signing_token: bool = False) -> Ctx:
        """A use case run by `login` (None: the system), a few minutes after the last one."""
        self.t += timedelta(minutes=self.rng.randint(1, 5))
        actor = self.users[login] if login is not None else None
        return Ctx(
            session=self.session,
            actor=actor,
            catalog=self.catalog,
            clock=self._now,
            signing_token=signing_token,
        )

    def _now(self) -> datetime:
        return self.t

    def day(self, offset: int) -> date:
        return self.today + timedelta(days=offset)

    def organisation(self) -> None:
        self.goto(-400)
        for code, name, name_zh in DEPARTMENTS:
            department = organisation.create_department(
                self.as_(None), code=code, name=name, name_zh=name_zh
            )
            assert department.id is not None
            self.departments[code] = department.id
        shared_hash = organisation.hash_password(DEMO_PASSWORD)
        for person in PEOPLE:
            self.users[person.login] = organisation.create_user(
                self.as_(None),
                email=email_of(person.login),
                name=person.name,
                role=person.role,
                department_code=person.department,
                password_hash=shared_hash,
                locale=person.locale,
            )

    # --- problems -------------------------------------------------------------------

    def report(self, spec: ProblemSpec) -> int:
        problem = problems.report_problem(
            self.as_(spec.reporter),
            title=spec.title,
            source=spec.source,
            severity=spec.severity,
            department_id=self.departments[spec.department],
            description=spec.description,
            evidence=spec.evidence,
            category=PROBLEM_CATEGORIES.get(spec.slug),
        )
        assert problem.id is not None
        self.problem_ids[spec.slug] = problem.id
        for author, body in spec.comments:
            comments.add_comment(self.as_(author), "problem", problem.id, body)
        return problem.id

    def loose_problems(self) -> None:
        """Problems no cycle took up: waiting for triage, accepted, rejected, duplicates."""
        for spec in PROBLEMS:
            if spec.slug in self.problem_ids:
                continue
            self.goto(-spec.days_ago)
            problem_id = self.report(spec)
            if spec.triage is None:
                continue
            self.tick(1)
            if self.offset > -1:
                raise DemoError(f"problem {spec.slug!r} cannot be triaged in the future")
            duplicate_of = self.problem_ids[spec.duplicate_of] if spec.duplicate_of else None
            problems.triage_problem(
                self.as_(self.rng.choice(FACILITATORS)),
                problem_id,
                decision=spec.triage,
                reason=spec.reason,
                duplicate_of=duplicate_of,
            )

    # --- cycles -----------------------------------------------------------------------

    def play(self, spec: CycleSpec) -> None:
        _CycleRun(self, spec).play()

    def summary(self) -> DemoSummary:
        def count(model: Any, *where: Any) -> int:
            return int(
                self.session.exec(select(func.count()).select_from(model).where(*where)).one()
            )

        unfinished = Action.status.in_((ActionStatus.open, ActionStatus.in_progress))  # type: ignore[attr-defined]
        week_end = self.today + timedelta(days=7)
        order = list(Role)
        people = sorted(PEOPLE, key=lambda p: (order.index(p.role), p.department, p.name))
        return DemoSummary(
            departments=count(Department),
            users=count(User),
            problems=count(Problem),
            cycles=count(Cycle),
            actions=count(Action),
            overdue=count(Action, unfinished, Action.deadline < self.today),  # type: ignore[operator]
            due_this_week=count(
                Action,
                unfinished,
                Action.deadline >= self.today,  # type: ignore[operator]
                Action.deadline <= week_end,  # type: ignore[operator]
            ),
            comments=count(Comment),
            password=DEMO_PASSWORD,
            sign_ins=tuple(
                SignIn(
                    email=email_of(p.login),
                    name=p.name,
                    role=p.role.value,
                    department=p.department,
                )
                for p in people
            ),
        )


class _CycleRun:
    """Walks one cycle along its workflow, doing what each transition's guards ask for."""

    def __init__(self, player: _Player, spec: CycleSpec) -> None:
        self.p, self.spec = player, spec
        self.definition: WorkflowDefinition = player.catalog.current(spec.workflow)
        self.path = HAPPY_PATHS[spec.workflow]
        self.verdicts = list(spec.verdicts)
        self.judge_notes = list(spec.judge_notes)
        self.planned: dict[int, Action] = {}
        self.last_done: int | None = None
        self.planning_state = self._planning_state()

    def _planning_state(self) -> str:
        for state, dest in zip(self.path, self.path[1:], strict=False):
            if "actions_planned" in self._transition(state, dest).guards:
                return state
        raise DemoError(f"{self.spec.workflow}: no transition asks for planned actions")

    def _transition(self, source: str, dest: str) -> TransitionDef:
        for t in self.definition.transitions_from(source):
            if t.dest == dest:
                return t
        raise DemoError(f"{self.spec.workflow}: no transition from {source} to {dest}")

    def fields(self, iteration: int) -> dict[str, Any]:
        values = dict(self.spec.fields)
        for n in range(2, iteration + 1):
            values |= self.spec.revisions.get(n, {})
        if values.get("root_cause") and self.spec.title in ROOT_CAUSE_CATEGORIES:
            values["root_cause_category"] = ROOT_CAUSE_CATEGORIES[self.spec.title]
        return values

    # --- the walk -------------------------------------------------------------------

    def play(self) -> None:
        spec, p = self.spec, self.p
        start = -spec.started
        problem_specs = [next(s for s in PROBLEMS if s.slug == slug) for slug in spec.problems]
        p.goto(start - p.rng.randint(3, 12))
        problem_ids = [p.report(s) for s in problem_specs]
        if p.rng.random() < 0.5:
            # Half the problems are accepted at triage, the others by opening the cycle.
            p.goto(start - 1)
            for problem_id in problem_ids:
                problems.triage_problem(p.as_(spec.opener), problem_id, decision="accept")
        p.goto(start)
        lead = p.users[spec.lead]
        early = {
            name: value
            for name, value in spec.fields.items()
            if name not in LATE_FIELDS
            and not any(name in s.requires for s in self.definition.states.values())
        }
        self.cycle = cycles.open_cycle(
            p.as_(spec.opener),
            title=spec.title,
            workflow=spec.workflow,
            lead_id=lead.id,  # type: ignore[arg-type]
            problem_ids=problem_ids,
            department_id=p.departments[problem_specs[0].department],
            member_ids=[p.users[m].id for m in spec.members],  # type: ignore[misc]
            fields=early,
        )
        p.cycles_by_title[spec.title] = self.cycle
        p.tick(max(1, spec.pace // 2))
        stop = spec.cancel_at or spec.stop
        final_iteration = 1 + spec.verdicts.count(False)
        while True:
            self.plan_actions()
            if self.cycle.state == stop and self.cycle.iteration == final_iteration:
                self.settle()
                break
            transition = self.next_transition()
            self.prepare(transition)
            p.tick(spec.pace)
            self.fire(transition.trigger)
        if spec.stop == "cancelled":
            self.cancel()
        for author, body in spec.comments:
            comments.add_comment(p.as_(author), "cycle", self.cycle.id, body)  # type: ignore[arg-type]
        if p.offset > -1:
            raise DemoError(f"the timeline of {spec.title!r} runs into today ({p.offset} days)")

    def next_transition(self) -> TransitionDef:
        state = self.cycle.state
        if self.cycle.effectiveness == "not_effective":
            for t in self.definition.transitions_from(state):
                if "start_next_iteration" in t.effects:
                    return t
        if state not in self.path or state == self.path[-1]:
            raise DemoError(f"{self.spec.title!r} cannot go on from {state!r}")
        return self._transition(state, self.path[self.path.index(state) + 1])

    def prepare(self, transition: TransitionDef) -> None:
        """Do what the transition's guards and the current state's requirements ask for."""
        # Work planned for this very state (containment in 8D's D3) is done before moving on.
        here = [
            (i, a)
            for i, a in sorted(self.planned.items())
            if self.spec.steps[i].at == self.cycle.state and a.iteration == self.cycle.iteration
        ]
        if here:
            self.p.tick(1)
        for i, action in here:
            self.drive(action, self.spec.steps[i])
        guards = set(transition.guards)
        wanted = set(self.definition.states[self.cycle.state].requires)
        if "standardisation_recorded" in guards:
            wanted.add("standardisation")
        self.set_fields(wanted)
        if guards & FINISHING_GUARDS:
            self.finish_actions()
        if guards & VERIFYING_GUARDS:
            self.verify_actions()
        if guards & RESULT_GUARDS and self.cycle.effectiveness is None:
            self.set_fields(set(RESULT_FIELDS))
        if guards & JUDGING_GUARDS and self.cycle.effectiveness is None:
            self.judge()

    def settle(self) -> None:
        """Leave the cycle where the story stops: what is known so far, actions under way."""
        if self.definition.states[self.cycle.state].final:
            return
        self.set_fields(set(self.fields(self.cycle.iteration)))
        self.p.tick(1)
        for i, action in sorted(self.planned.items()):
            if action.iteration == self.cycle.iteration:
                self.drive(action, self.spec.steps[i])

    def cancel(self) -> None:
        p, cycle = self.p, self.cycle
        p.tick(self.spec.pace)
        merged = p.cycles_by_title.get(self.spec.merge_into or "")
        note = self.spec.cancel_note.format(
            merged=f"{key('cycle', merged.id)} ({merged.title})" if merged else ""
        )
        for action in self.planned.values():
            if action.status in (ActionStatus.open, ActionStatus.in_progress):
                actions.fire_action(
                    p.as_(self.spec.lead),
                    action.id,  # type: ignore[arg-type]
                    trigger="cancel",
                    version=action.version,
                    note=f"{key('cycle', cycle.id)} was cancelled.",
                )
        self.fire("cancel", note=note)
        if merged is not None:
            for problem_id in cycles.cycle_problem_ids(p.as_(None), cycle.id):  # type: ignore[arg-type]
                cycles.link_problem(p.as_(self.spec.opener), merged.id, problem_id)  # type: ignore[arg-type]

    def fire(self, trigger: str, note: str | None = None) -> None:
        transition = self.definition.transition(trigger, self.cycle.state)
        signed = transition is not None and transition.signed
        cycles.fire_transition(
            self.p.as_(self.spec.lead, signing_token=signed),
            self.cycle.id,  # type: ignore[arg-type]
            trigger=trigger,
            version=self.cycle.version,
            note=note,
            signature=Signature("approved closure") if signed else None,
        )

    def set_fields(self, names: Iterable[str]) -> None:
        values = self.fields(self.cycle.iteration)
        current = cycles.field_values(self.cycle)
        changes = {n: values[n] for n in names if n in values and current.get(n) != values[n]}
        if changes:
            cycles.update_cycle_fields(
                self.p.as_(self.spec.lead),
                self.cycle.id,  # type: ignore[arg-type]
                changes=changes,
                version=self.cycle.version,
            )

    # --- actions --------------------------------------------------------------------

    def plan_actions(self) -> None:
        for i, step in enumerate(self.spec.steps):
            if i in self.planned or step.iteration != self.cycle.iteration:
                continue
            if (step.at or self.planning_state) != self.cycle.state:
                continue
            self.add(i, step)

    def add(self, i: int, step: Step) -> None:
        p = self.p
        owner = p.users[step.owner]
        due = step.deadline if step.deadline is not None else p.offset + step.due
        deadline = p.day(due)
        depends_on = []
        if step.after is not None:
            if step.after not in self.planned:
                raise DemoError(f"{step.title!r} depends on a step planned after it")
            depends_on.append(self.planned[step.after].id)
        action = actions.add_action(
            p.as_(self.spec.lead),
            self.cycle.id,  # type: ignore[arg-type]
            title=step.title,
            department_id=owner.department_id,  # type: ignore[arg-type]
            owner_id=owner.id,
            deadline=deadline,
            kind=step.kind,
            depends_on=depends_on,  # type: ignore[arg-type]
        )
        self.planned[i] = action
        if step.comment is not None:
            author, body = step.comment
            comments.add_comment(p.as_(author), "action", action.id, body)  # type: ignore[arg-type]

    def finish_actions(self) -> None:
        todo = [
            (i, a)
            for i, a in sorted(self.planned.items())
            if a.status in (ActionStatus.open, ActionStatus.in_progress)
        ]
        if not todo:
            return
        # An action cannot start before the ones it depends on are done: work in waves.
        while todo:
            self.p.tick(1)
            blocked = {
                i
                for i, a in todo
                if actions.blockers_of(self.p.as_(None), a.id)  # type: ignore[arg-type]
            }
            wave = [(i, a) for i, a in todo if i not in blocked]
            if not wave:
                raise DemoError("the remaining actions wait for each other")
            for i, action in wave:
                step = self.spec.steps[i]
                if step.status == ActionStatus.cancelled:
                    self.drive(action, step)
                elif action.status == ActionStatus.open:
                    self.move(action, "start", step.owner)
            self.p.tick(max(1, self.spec.pace // 2))
            for _i, action in wave:
                if action.status == ActionStatus.in_progress:
                    self.complete(action)
            todo = [(i, a) for i, a in todo if i in blocked]

    def verify_actions(self) -> None:
        done = [a for _i, a in sorted(self.planned.items()) if a.status == ActionStatus.done]
        if done:
            self.p.tick(1)
        for action in done:
            self.verify(action)

    def drive(self, action: Action, step: Step) -> None:
        """Move an action forward to where the step says it stands."""
        target = step.status
        if target == ActionStatus.open or action.status == target:
            return
        if target == ActionStatus.cancelled:
            self.move(action, "cancel", self.spec.lead, note=step.note)
            return
        if action.status == ActionStatus.open:
            self.move(action, "start", step.owner)
        if target == ActionStatus.in_progress:
            return
        if action.status == ActionStatus.in_progress:
            self.complete(action)
        if target == ActionStatus.verified and action.status == ActionStatus.done:
            self.verify(action)

    def move(self, action: Action, trigger: str, login: str, note: str | None = None) -> None:
        actions.fire_action(
            self.p.as_(login),
            action.id,  # type: ignore[arg-type]
            trigger=trigger,
            version=action.version,
            note=note,
        )

    def complete(self, action: Action) -> None:
        owner = next(login for login, u in self.p.users.items() if u.id == action.owner_id)
        self.move(action, "complete", owner)
        self.last_done = self.p.offset

    def verify(self, action: Action) -> None:
        verifiers = [login for login in FACILITATORS if self.p.users[login].id != action.owner_id]
        # Signed acts are signed as an API client with a signing token signs them: checking
        # the password sixty times over would cost many seconds (argon2 is slow on purpose).
        actions.verify_action(
            self.p.as_(self.p.rng.choice(verifiers), signing_token=True),
            action.id,  # type: ignore[arg-type]
            effective=True,
            note=self.p.rng.choice(
                (
                    "Checked on site.",
                    "Seen working in the live system.",
                    "Evidence attached to the ticket.",
                    "Checked with the team lead.",
                    None,
                )
            ),
            version=action.version,
            signature=Signature("verified effective"),
        )

    def judge(self) -> None:
        spec, p = self.spec, self.p
        if spec.judge is None:
            raise DemoError(f"{spec.title!r} needs a judge to go past its check")
        window = self.cycle.effectiveness_window_days
        if window and self.last_done is not None and p.offset < self.last_done + window:
            p.goto(self.last_done + window)
        p.tick(1)
        effective = self.verdicts.pop(0)
        note = self.judge_notes.pop(0) if self.judge_notes else "Checked the figures with the team."
        cycles.record_effectiveness(
            p.as_(spec.judge),
            self.cycle.id,  # type: ignore[arg-type]
            effective=effective,
            note=note,
            version=self.cycle.version,
        )
