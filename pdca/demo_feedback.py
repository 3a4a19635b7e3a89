"""The demo's voice of the customer: a complaint taxonomy and a year of complaints.

Complaints trickle in all year, below every category's rule; in the last weeks billing
errors spike (the rule raises one problem and gathers the rest) and one critical
complaint raises a problem at once. Most complaints got a first response and were
resolved; the recent ones are still open. Everything goes through the services, at
the times the complaints arrived, with its own seeded random numbers, so the demo is
the same whatever the time of day.
"""

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from pdca.services import complaints
from pdca.services.complaints import ComplaintIn

if TYPE_CHECKING:
    from pdca.demo import _Player

SEED = 1717
KEEPER = "sarah.chen"
DESK = ("chen.jie", "olivia.brown")
# code, English, Chinese, threshold, window (days), severity from which one raises a problem,
# department, complaints a week on a normal week
CATEGORIES = (
    ("BILLING", "Billing errors", "账单错误", 6, 7, "critical", "BIL", 0.5),
    ("WAIT", "Waiting times", "等待时间过长", 8, 7, "critical", "CS", 0.8),
    ("RUDE", "Staff attitude", "服务态度", 4, 14, "critical", "CS", 0.2),
    ("OUTAGE", "Service unavailable", "服务中断", 5, 3, "critical", "IT", 0.3),
    ("DELIVERY", "Late delivery", "配送延误", 6, 7, "critical", "LOG", 0.5),
)
TEXTS = {
    "BILLING": (
        "Charged twice this month.",
        "本月被重复扣费。",
        "The invoice shows a fee I never agreed to.",
    ),
    "WAIT": ("Forty minutes on hold.", "排队等了四十分钟。", "Nobody called back as promised."),
    "RUDE": ("The agent hung up on me.", "客服态度冷淡。"),
    "OUTAGE": ("The app was down all evening.", "网站一整晚无法登录。"),
    "DELIVERY": ("The parcel came a week late.", "包裹晚到了一周。", "Delivery slot missed twice."),
}
CHANNELS = ("phone", "phone", "email", "web", "in_person", "social_media")


@dataclass(frozen=True)
class FeedbackSummary:
    categories: int
    complaints: int
    problems: int


def load_feedback(player: "_Player") -> FeedbackSummary:
    rng = random.Random(SEED)
    player.goto(-366)
    codes = {}
    for code, name, name_zh, threshold, window, severe, department, _rate in CATEGORIES:
        complaints.create_category(
            player.as_(KEEPER),
            code=code,
            name=name,
            name_zh=name_zh,
            threshold=threshold,
            window_days=window,
            severe_from=severe,
        )
        codes[code] = department
    received, raised = 0, set()
    customers = [f"CUST-{n:04d}" for n in range(1, 121)]
    pending: list = []
    for week in range(52, 0, -1):
        player.goto(-7 * (week - 1) - 1)  # the week's last day, yesterday at the latest
        batch = []
        for code, *_rest, department, rate in CATEGORIES:
            count = _poisson(rng, rate)
            if code == "BILLING" and week <= 3:
                count += 7  # the new tariff's invoices: a spike the rule turns into a problem
            for _ in range(count):
                at = player.t - timedelta(days=rng.randint(0, 6), minutes=rng.randint(0, 480))
                batch.append(
                    ComplaintIn(
                        channel=rng.choice(CHANNELS),
                        category=code,
                        text=rng.choice(TEXTS[code]),
                        severity=rng.choice(("low", "medium", "medium", "high")),
                        received_at=at,
                        customer_ref=rng.choice(
                            customers[:30] if rng.random() < 0.4 else customers
                        ),
                        department_id=player.departments[department],
                        line=len(batch) + 1,
                    )
                )
        if week == 2:
            batch.append(
                ComplaintIn(
                    channel="social_media",
                    category="OUTAGE",
                    text="Payments failed for the whole afternoon; customers post screenshots.",
                    severity="critical",
                    received_at=player.t - timedelta(days=1),
                    customer_ref="CUST-0007",
                    department_id=player.departments["IT"],
                    line=len(batch) + 1,
                )
            )
        # Last week's complaints were answered and resolved meanwhile.
        for complaint in pending:
            _answer(player, rng, complaint)
        pending = []
        if not batch:
            continue
        intake = complaints.receive_many(player.as_(rng.choice(DESK)), batch)
        received += len(intake.complaints)
        raised |= set(intake.problems_raised)
        pending = intake.complaints
    for complaint in pending:
        _answer(player, rng, complaint)
    return FeedbackSummary(len(CATEGORIES), received, len(raised))


def _answer(player: "_Player", rng: random.Random, complaint: object) -> None:
    """Most complaints were answered within hours and resolved within days; not the newest."""
    received_at = complaint.received_at  # type: ignore[attr-defined]
    responded = received_at + timedelta(hours=rng.choice((1, 2, 4, 8, 24, 48)))
    resolved = responded + timedelta(hours=rng.choice((4, 24, 48, 96, 240)))
    if resolved > player.t or rng.random() < 0.05:
        if responded <= player.t:
            complaints.record_progress(
                player.as_(rng.choice(DESK)),
                complaint.id,  # type: ignore[attr-defined]
                version=None,
                first_response_at=responded,
            )
        return
    complaints.record_progress(
        player.as_(rng.choice(DESK)),
        complaint.id,  # type: ignore[attr-defined]
        version=None,
        first_response_at=responded,
        resolved_at=resolved,
    )


def _poisson(rng: random.Random, rate: float) -> int:
    """A Poisson count by Knuth's method: small rates, a few steps."""
    limit, count, product = pow(2.718281828459045, -rate), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


# --- a satisfaction survey answered all year ----------------------------------------------------

SURVEY_QUESTIONS = [
    {"key": "tangibles", "kind": "rating", "dimension": "TAN",
     "title": {"en": "The office, website and documents looked clear and professional.",
               "zh_CN": "营业厅、网站和单据清晰专业。"}},
    {"key": "reliability", "kind": "rating", "dimension": "REL", "gap": True,
     "title": {"en": "We did what we promised, right the first time.",
               "zh_CN": "我们说到做到，一次做对。"}},
    {"key": "responsiveness", "kind": "rating", "dimension": "RES", "gap": True,
     "title": {"en": "We answered you promptly.", "zh_CN": "我们及时答复了您。"}},
    {"key": "assurance", "kind": "rating", "dimension": "ASS",
     "title": {"en": "Our staff knew what they were doing.", "zh_CN": "我们的员工专业可靠。"}},
    {"key": "empathy", "kind": "rating", "dimension": "EMP",
     "title": {"en": "We understood what you needed.", "zh_CN": "我们理解您的需要。"}},
    {"key": "recommend", "kind": "nps",
     "title": {"en": "How likely are you to recommend us to a friend?",
               "zh_CN": "您向朋友推荐我们的可能性有多大？"}},
    {"key": "contact", "kind": "choice",
     "title": {"en": "How did you contact us?", "zh_CN": "您是通过什么方式联系我们的？"},
     "choices": [{"en": "Phone", "zh_CN": "电话"}, {"en": "E-mail", "zh_CN": "电子邮件"},
                 {"en": "Website", "zh_CN": "网站"}, {"en": "In person", "zh_CN": "到店"}]},
    {"key": "comment", "kind": "text",
     "title": {"en": "What should we do better?", "zh_CN": "我们还应改进什么？"}},
]  # fmt: skip
COMMENTS = ("", "", "", "Faster callbacks, please.", "账单要写得更清楚。", "Friendly staff.")


def load_survey(player: "_Player") -> int:
    """The service survey: an invitation most days for a closed case in Customer Service or
    Billing, about two in three answered; Billing's scores dip in the last weeks (the new
    tariff), which the CSAT KPI's limit rule turns into a problem."""
    from pdca.services import surveys

    rng = random.Random(SEED + 1)
    player.goto(-366)
    survey = surveys.create_survey(
        player.as_(KEEPER),
        code="CARE",
        title="How did we do?",
        title_zh="我们做得怎么样？",
        department_id=player.departments["CS"],
        questions=SURVEY_QUESTIONS,
    )
    assert survey.id is not None
    answered = 0
    for day in range(-365, 0):
        player.goto(day)
        for _ in range(rng.choice((0, 1, 1, 2))):
            department = rng.choice(("CS", "CS", "BIL"))
            made = surveys.invite(
                player.as_(rng.choice(DESK)),
                survey.id,
                department_id=player.departments[department],
                case_ref=f"SD-{rng.randint(10000, 99999)}",
                channel=rng.choice(("email", "sms", "chat")),
            )
            if rng.random() > 0.65:
                continue
            dip = department == "BIL" and day > -21
            scale = (1, 2, 2, 3, 4) if dip else (3, 4, 4, 5, 5)
            raw = {f"q_{q['key']}": str(rng.choice(scale)) for q in SURVEY_QUESTIONS[:5]}
            raw |= {"e_reliability": str(rng.choice((4, 5, 5))), "e_responsiveness": "5"}
            raw |= {
                "q_recommend": str(rng.choice((2, 5, 6) if dip else (6, 8, 9, 9, 10))),
                "q_contact": str(rng.randint(1, 4)),
                "q_comment": rng.choice(COMMENTS),
            }
            player.t += timedelta(hours=rng.randint(1, 8))
            surveys.answer(
                player.as_(None), made.token, raw, lang=rng.choice(("en", "zh_CN")), address=None
            )
            answered += 1
    player.goto(-1)
    surveys.feed_kpis(player.as_(None))
    return answered
