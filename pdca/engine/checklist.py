"""Checklists as data: check a template's body, judge answers, compute the score.

Pure: the standard library only. A body is what a template version stores:

    {"sections": [{"title": {"en": ..., "zh_CN": ...},
                   "items": [{"id": "greeting", "question": {"en": ..., "zh_CN": ...},
                              "clause": "ISO 9001 8.2.1", "kind": "yes_no",
                              "weight": 1, "severity": "medium",
                              "guidance": {"en": ..., "zh_CN": ...}}]}],
     "pass_score": 80}

Kinds and when an answer fails:
- yes_no: "no" fails ("yes" passes; "na" is not applicable);
- score: 0..max_score, fails below pass_at (default: 60 % of max_score, rounded up);
- number: fails outside [minimum, maximum] (either limit may be absent);
- text: never fails and never counts in the score.

The score is the weighted share of points over the applicable, scored items, 0–100.
"""

import math
import re
from dataclasses import dataclass
from typing import Any

from pdca.engine.facts import N_, Reason, because

KINDS = ("yes_no", "score", "number", "text")
SEVERITIES = ("low", "medium", "high", "critical")
ITEM_ID = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
NOT_APPLICABLE = "na"
MAX_ITEMS = 200


@dataclass(frozen=True)
class Item:
    id: str
    section: int
    question: dict[str, str]
    clause: str
    kind: str
    weight: float
    severity: str
    guidance: dict[str, str] | None
    max_score: int | None = None
    pass_at: float | None = None
    minimum: float | None = None
    maximum: float | None = None

    def title(self, lang: str) -> str:
        return self.question.get(lang) or self.question["en"]


@dataclass(frozen=True)
class Judged:
    """One answer judged: its points (0–1) or None when it does not count, and failed."""

    item: Item
    value: Any
    note: str
    points: float | None
    failed: bool


# The sentences below are whole templates (marked for extraction by `because`), so that the
# reader of a refused checklist sees them in their own language; "where" is a parameter.

# Texts per place: (missing or not English, bad language or too long).
_TEXT_SENTENCES = {
    "section_title": (
        N_("Section %(section)s title: give an English text (en), and a Chinese one (zh_CN)."),
        N_("Section %(section)s title: only en and zh_CN texts of at most 500 characters."),
    ),
    "question": (
        N_(
            "Section %(section)s item %(item)s question: give an English text (en), "
            "and a Chinese one (zh_CN)."
        ),
        N_(
            "Section %(section)s item %(item)s question: only en and zh_CN texts "
            "of at most 500 characters."
        ),
    ),
    "guidance": (
        N_(
            "Section %(section)s item %(item)s guidance: give an English text (en), "
            "and a Chinese one (zh_CN)."
        ),
        N_(
            "Section %(section)s item %(item)s guidance: only en and zh_CN texts "
            "of at most 500 characters."
        ),
    ),
}


def _bilingual(
    value: Any, place: str, problems: list[Reason], required: bool = True, **where: Any
) -> None:
    missing, bad = _TEXT_SENTENCES[place]
    if value is None and not required:
        return
    if not isinstance(value, dict) or not isinstance(value.get("en"), str) or not value["en"]:
        problems.append(because("checklist_text", missing, **where))
        return
    for lang, text in value.items():
        if lang not in ("en", "zh_CN") or not isinstance(text, str) or len(text) > 500:
            problems.append(because("checklist_text", bad, **where))
            return


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def validate(body: Any) -> list[Reason]:
    """What is wrong with a template body, in words; empty when it is usable."""
    problems: list[Reason] = []
    if not isinstance(body, dict):
        return [because("checklist_body", "The checklist must be an object with sections.")]
    sections = body.get("sections")
    if not isinstance(sections, list) or not sections:
        return [because("checklist_body", "The checklist needs at least one section with items.")]
    pass_score = body.get("pass_score", 80)
    if not _number(pass_score) or not 0 <= pass_score <= 100:
        problems.append(
            because("checklist_pass_score", "pass_score must be a number from 0 to 100.")
        )
    seen: set[str] = set()
    count = 0
    for s, section in enumerate(sections, 1):
        if not isinstance(section, dict):
            problems.append(
                because("checklist_section", "Section %(section)s must be an object.", section=s)
            )
            continue
        _bilingual(section.get("title"), "section_title", problems, section=s)
        items = section.get("items")
        if not isinstance(items, list) or not items:
            problems.append(
                because(
                    "checklist_section",
                    "Section %(section)s needs at least one item.",
                    section=s,
                )
            )
            continue
        for i, item in enumerate(items, 1):
            count += 1
            problems.extend(_item_problems(item, seen, section=s, item=i))
    if count > MAX_ITEMS:
        problems.append(
            because("checklist_size", "At most %(max)s items in one checklist.", max=MAX_ITEMS)
        )
    return problems


def _item_problems(entry: Any, seen: set[str], **where: Any) -> list[Reason]:
    problems: list[Reason] = []

    def say(template: str, **more: Any) -> None:
        problems.append(because("checklist_item", template, **where, **more))

    item = entry
    if not isinstance(item, dict):
        say(N_("Section %(section)s item %(item)s must be an object."))
        return problems
    item_id = item.get("id")
    if not isinstance(item_id, str) or not ITEM_ID.match(item_id):
        say(
            N_(
                "Section %(section)s item %(item)s: id must be lower-case letters, digits, _ (≤ 30)."
            )
        )
    elif item_id in seen:
        say(N_("Section %(section)s item %(item)s: id %(id)s is used twice."), id=item_id)
    else:
        seen.add(item_id)
    _bilingual(item.get("question"), "question", problems, **where)
    _bilingual(item.get("guidance"), "guidance", problems, required=False, **where)
    clause = item.get("clause", "")
    if not isinstance(clause, str) or not clause.strip() or len(clause) > 100:
        say(
            N_(
                "Section %(section)s item %(item)s: name the clause or requirement (≤ 100 characters)."
            )
        )
    kind = item.get("kind")
    if kind not in KINDS:
        say(
            N_("Section %(section)s item %(item)s: kind must be one of %(kinds)s."),
            kinds=", ".join(KINDS),
        )
    weight = item.get("weight", 1)
    if not _number(weight) or not 0 <= weight <= 100:
        say(N_("Section %(section)s item %(item)s: weight must be a number from 0 to 100."))
    if item.get("severity", "medium") not in SEVERITIES:
        say(
            N_("Section %(section)s item %(item)s: severity must be one of %(severities)s."),
            severities=", ".join(SEVERITIES),
        )
    if kind == "score":
        top = item.get("max_score")
        if not isinstance(top, int) or isinstance(top, bool) or not 1 <= top <= 100:
            say(
                N_("Section %(section)s item %(item)s: a score item needs max_score from 1 to 100.")
            )
        elif item.get("pass_at") is not None and not (
            _number(item["pass_at"]) and 0 <= item["pass_at"] <= top
        ):
            say(N_("Section %(section)s item %(item)s: pass_at must lie from 0 to max_score."))
    if kind == "number":
        low, high = item.get("minimum"), item.get("maximum")
        if low is None and high is None:
            say(
                N_("Section %(section)s item %(item)s: a number item needs a minimum or a maximum.")
            )
        if any(limit is not None and not _number(limit) for limit in (low, high)):
            say(N_("Section %(section)s item %(item)s: limits must be numbers."))
        if _number(low) and _number(high) and low > high:
            say(N_("Section %(section)s item %(item)s: the minimum is above the maximum."))
    return problems


def items_of(body: dict[str, Any]) -> list[Item]:
    found = []
    for s, section in enumerate(body["sections"]):
        for item in section["items"]:
            kind = item["kind"]
            top = item.get("max_score") if kind == "score" else None
            pass_at = item.get("pass_at")
            if top is not None and pass_at is None:
                pass_at = math.ceil(top * 0.6)
            found.append(
                Item(
                    id=item["id"],
                    section=s,
                    question=item["question"],
                    clause=item["clause"].strip(),
                    kind=kind,
                    weight=float(item.get("weight", 1)),
                    severity=item.get("severity", "medium"),
                    guidance=item.get("guidance"),
                    max_score=top,
                    pass_at=pass_at,
                    minimum=item.get("minimum") if kind == "number" else None,
                    maximum=item.get("maximum") if kind == "number" else None,
                )
            )
    return found


def parse_value(item: Item, raw: Any) -> tuple[Any, str | None]:
    """An answer as stored (None: not answered yet), or the reason it cannot be."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if isinstance(raw, str):
        raw = raw.strip()
    if raw == NOT_APPLICABLE and item.kind != "text":
        return NOT_APPLICABLE, None
    if item.kind == "yes_no":
        if raw in ("yes", "no"):
            return raw, None
        return None, N_("Answer yes, no or not applicable.")
    if item.kind == "text":
        text = str(raw)
        return (text, None) if len(text) <= 2000 else (None, N_("At most 2,000 characters."))
    if isinstance(raw, str):
        try:
            raw = float(raw.replace(",", "."))
        except ValueError:
            return None, N_("Give a number.")
    if not _number(raw):
        return None, N_("Give a number.")
    if item.kind == "score":
        assert item.max_score is not None
        if raw != int(raw) or not 0 <= raw <= item.max_score:
            return None, N_("Give a whole score from 0 to the item's maximum.")
        return int(raw), None
    return float(raw), None


def judge(item: Item, value: Any, note: str = "") -> Judged:
    if value is None or value == NOT_APPLICABLE or item.kind == "text":
        return Judged(item, value, note, None, False)
    if item.kind == "yes_no":
        return Judged(item, value, note, 1.0 if value == "yes" else 0.0, value == "no")
    if item.kind == "score":
        assert item.max_score is not None and item.pass_at is not None
        return Judged(item, value, note, value / item.max_score, value < item.pass_at)
    inside = (item.minimum is None or value >= item.minimum) and (
        item.maximum is None or value <= item.maximum
    )
    return Judged(item, value, note, 1.0 if inside else 0.0, not inside)


def judge_all(items: list[Item], answers: dict[str, dict[str, Any]]) -> list[Judged]:
    return [
        judge(item, answers.get(item.id, {}).get("value"), answers.get(item.id, {}).get("note", ""))
        for item in items
    ]


def score(judged: list[Judged]) -> float | None:
    """Weighted share of points, 0–100; None when no item counts (all n/a or text)."""
    counted = [j for j in judged if j.points is not None and j.item.weight > 0]
    total = sum(j.item.weight for j in counted)
    if not total:
        return None
    return round(100 * sum(j.item.weight * j.points for j in counted) / total, 1)  # type: ignore[operator]


def unanswered(items: list[Item], answers: dict[str, dict[str, Any]]) -> list[Item]:
    """Items still without an answer (text items may stay empty)."""
    return [
        i for i in items if i.kind != "text" and answers.get(i.id, {}).get("value") in (None, "")
    ]
