"""Demo inspections: two checklists, a year of past inspections with findings, and due ones.

The bodies are also what tests build on (a real checklist, not a toy one).
"""

from typing import Any

from sqlmodel import col, select

from pdca.models import Inspection, InspectionStatus
from pdca.services import inspection_plans, inspection_reviews, inspections


def _t(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh_CN": zh}


SERVICE_DESK_AUDIT: dict[str, Any] = {
    "pass_score": 80,
    "sections": [
        {
            "title": _t("Handling of requests", "请求处理"),
            "items": [
                {
                    "id": "logged",
                    "question": _t(
                        "Is every customer request logged with a ticket number?",
                        "每个客户请求是否都登记了工单号？",
                    ),
                    "clause": "ISO 9001 8.2.1",
                    "kind": "yes_no",
                    "weight": 2,
                    "severity": "high",
                    "guidance": _t(
                        "Pick five calls from today's log and look for their tickets.",
                        "从今天的通话记录中抽取五个电话，查找对应工单。",
                    ),
                },
                {
                    "id": "first_reply",
                    "question": _t(
                        "Minutes to the first reply on the oldest open ticket",
                        "最早未关闭工单的首次回复用时（分钟）",
                    ),
                    "clause": "SLA 2.1",
                    "kind": "number",
                    "maximum": 60,
                    "weight": 1,
                    "severity": "medium",
                    "guidance": _t("Read it from the ticket history.", "从工单历史中读取。"),
                },
                {
                    "id": "closure_confirmed",
                    "question": _t(
                        "Does the customer confirm before a ticket is closed?",
                        "关闭工单前是否经客户确认？",
                    ),
                    "clause": "ISO 9001 8.2.1",
                    "kind": "yes_no",
                    "weight": 1,
                    "severity": "medium",
                },
            ],
        },
        {
            "title": _t("Knowledge and records", "知识与记录"),
            "items": [
                {
                    "id": "kb_current",
                    "question": _t(
                        "How current is the knowledge base (0 outdated – 5 fully current)?",
                        "知识库的时效性（0 过时 – 5 完全最新）？",
                    ),
                    "clause": "ISO 9001 7.1.6",
                    "kind": "score",
                    "max_score": 5,
                    "pass_at": 3,
                    "weight": 1,
                    "severity": "low",
                },
                {
                    "id": "complaints_recorded",
                    "question": _t(
                        "Are complaints recorded with their cause and the reply given?",
                        "投诉是否记录了原因和答复？",
                    ),
                    "clause": "ISO 9001 9.1.2",
                    "kind": "yes_no",
                    "weight": 2,
                    "severity": "high",
                },
                {
                    "id": "remarks",
                    "question": _t("Other observations", "其他观察"),
                    "clause": "—",
                    "kind": "text",
                    "weight": 0,
                    "severity": "low",
                },
            ],
        },
    ],
}

CALL_CENTRE_SPOT_CHECK: dict[str, Any] = {
    "pass_score": 75,
    "sections": [
        {
            "title": _t("One recorded call", "一通录音电话"),
            "items": [
                {
                    "id": "greeting",
                    "question": _t(
                        "Did the agent greet with name and department?",
                        "坐席是否报出姓名和部门进行问候？",
                    ),
                    "clause": "CC-STD 1.1",
                    "kind": "yes_no",
                    "weight": 1,
                    "severity": "low",
                },
                {
                    "id": "identity",
                    "question": _t(
                        "Was the caller's identity verified before account details?",
                        "在提供账户信息前是否核实了来电者身份？",
                    ),
                    "clause": "CC-STD 2.3",
                    "kind": "yes_no",
                    "weight": 3,
                    "severity": "critical",
                },
                {
                    "id": "courtesy",
                    "question": _t("Courtesy and tone (0–5)", "礼貌与语气（0–5）"),
                    "clause": "CC-STD 1.4",
                    "kind": "score",
                    "max_score": 5,
                    "weight": 1,
                    "severity": "medium",
                },
                {
                    "id": "hold_seconds",
                    "question": _t("Longest hold in seconds", "最长保持时间（秒）"),
                    "clause": "CC-STD 3.2",
                    "kind": "number",
                    "minimum": 0,
                    "maximum": 120,
                    "weight": 1,
                    "severity": "medium",
                },
            ],
        },
    ],
}


def _answers(body: dict[str, Any], failing: set[str]) -> dict[str, dict[str, Any]]:
    """Passing answers for every item but those in `failing`."""
    found = {}
    for section in body["sections"]:
        for item in section["items"]:
            kind, fail = item["kind"], item["id"] in failing
            if kind == "yes_no":
                value: Any = "no" if fail else "yes"
            elif kind == "score":
                value = 1 if fail else item["max_score"]
            elif kind == "number":
                value = (item["maximum"] * 2) if fail else item["maximum"] / 2
            else:
                value = ""
            found[item["id"]] = {"value": value, "note": "Seen on the floor." if fail else ""}
    return found


def load_inspections(player: Any) -> None:
    """Two checklists; a year of Customer Service inspections by Sarah Chen (some items
    failed, one clause twice, so one problem has two occurrences); two still due."""
    player.goto(-330)
    desk = inspections.create_template(
        player.as_("sarah.chen"),
        code="SD-AUDIT",
        title="Service desk quality audit",
        title_zh="服务台质量审核",
        body=SERVICE_DESK_AUDIT,
    )
    calls = inspections.create_template(
        player.as_("sarah.chen"),
        code="CC-SPOT",
        title="Call-centre spot check",
        title_zh="呼叫中心抽查",
        body=CALL_CENTRE_SPOT_CHECK,
    )
    past = [
        (desk, -300, {"kb_current"}),
        (desk, -210, {"complaints_recorded"}),
        (calls, -150, set()),
        (desk, -120, {"complaints_recorded", "logged"}),
        (calls, -60, {"identity"}),
        (desk, -30, set()),
    ]
    for template, offset, failing in past:
        player.goto(offset - 3)
        planned = inspections.create_inspection(
            player.as_("sarah.chen"),
            checklist_id=template.id,
            department_id=player.departments["CS"],
            inspector_id=player.users["sarah.chen"].id,
            due_on=player.day(offset),
        )
        player.goto(offset)
        body = SERVICE_DESK_AUDIT if template is desk else CALL_CENTRE_SPOT_CHECK
        inspections.submit(
            player.as_("sarah.chen"),
            planned.id,  # type: ignore[arg-type]
            version=None,
            answers=_answers(body, failing),
        )
        player.tick(2)
        inspections.acknowledge(player.as_("li.na"), planned.id, version=None)  # type: ignore[arg-type]
    player.goto(-1)
    for template, due in ((calls, -1), (desk, 3)):
        inspections.create_inspection(
            player.as_("sarah.chen"),
            checklist_id=template.id,  # type: ignore[arg-type]
            department_id=player.departments["CS"],
            inspector_id=player.users["sarah.chen"].id,
            due_on=player.day(due),
        )

    load_plans(player, desk.id, calls.id)  # type: ignore[arg-type]


# What the plans' inspections find, in turn: most pass, some fail an item or two.
DESK_FINDINGS: list[set[str]] = [set(), {"kb_current"}, set(), {"logged"}, set(), {"logged"}]
CALL_FINDINGS: list[set[str]] = [set(), {"identity"}, set(), set(), {"hold_seconds"}, set()]


def load_plans(player: Any, desk_id: int, calls_id: int) -> None:
    """Two plans over the past year: a quarterly, independent service desk audit of four
    departments by the quality team, and a monthly spot check of three closed Customer
    Service actions. The job makes their inspections week by week; the inspectors
    submit them, except the most recent ones (one overdue, some planned)."""
    player.goto(-335)
    quality = [player.users[u].id for u in ("sarah.chen", "zhang.wei")]
    plans = [
        inspection_plans.create_plan(
            player.as_("sarah.chen"),
            title="Quarterly service desk audit",
            title_zh="季度服务台审核",
            checklist_id=desk_id,
            department_ids=[player.departments[c] for c in ("IT", "OPS", "BIL", "LOG")],
            frequency="quarterly",
            starts_on=player.day(-320),
            inspector_ids=quality,
            independent=True,
        ),
        inspection_plans.create_plan(
            player.as_("sarah.chen"),
            title="Monthly spot check of closed actions",
            title_zh="每月已关闭措施抽查",
            checklist_id=calls_id,
            department_ids=[player.departments["CS"]],
            frequency="monthly",
            starts_on=player.day(-325),
            inspector_ids=quality[:1],
            independent=True,
            sample_size=3,
            sample_source="closed_actions",
        ),
    ]
    logins = {u.id: login for login, u in player.users.items()}
    turn = 0
    for offset in range(-335, 1, 7):
        player.goto(offset)
        inspection_plans.schedule(player.as_(None))
        due = player.session.exec(
            select(Inspection)
            .where(
                col(Inspection.plan_id).in_([p.id for p in plans]),
                Inspection.status == InspectionStatus.planned,
                col(Inspection.due_on) <= player.day(offset),
                col(Inspection.due_on) <= player.day(-25),
            )
            .order_by(col(Inspection.due_on), col(Inspection.id))
        ).all()
        for row in due:
            desk = row.plan_id == plans[0].id
            if not desk and player.day(-215) <= row.due_on <= player.day(-185):
                # One month's spot check was not done: the desk had moved floors.
                inspections.skip(
                    player.as_("li.na"),
                    row.id,  # type: ignore[arg-type]
                    reason="Service desk closed for the office move; no cases to check.",
                    version=None,
                )
                continue
            findings = (DESK_FINDINGS if desk else CALL_FINDINGS)[turn % 6]
            turn += 1
            inspections.submit(
                player.as_(logins[row.inspector_id]),
                row.id,  # type: ignore[arg-type]
                version=None,
                answers=_answers(SERVICE_DESK_AUDIT if desk else CALL_CENTRE_SPOT_CHECK, findings),
            )
    load_expert_review(player, desk_id)


def load_expert_review(player: Any, desk_id: int) -> None:
    """An expert review of Customer Service a month ago: Zhang Wei and Grace Kim (an
    outside expert on a viewer account) scored it; the review's score is their mean."""
    player.goto(-40)
    review = inspection_reviews.create_review(
        player.as_("sarah.chen"),
        checklist_id=desk_id,
        department_id=player.departments["CS"],
        due_on=player.day(-30),
        reviewer_ids=[player.users[u].id for u in ("zhang.wei", "grace.kim")],
    )
    for offset, login, value, comment in (
        (-33, "zhang.wei", 84.0, "Records are complete; the knowledge base lags behind."),
        (-31, "grace.kim", 71.0, "Replies to written complaints are slow in peak weeks."),
    ):
        player.goto(offset)
        inspection_reviews.score(
            player.as_(login),
            review.id,  # type: ignore[arg-type]
            value=value,
            comment=comment,
            version=None,
        )
