"""Satisfaction surveys: versioned questions, one-time invitations, public answers, and
the daily KPI measurements the answers become.

A question is a rating (1–5), an NPS question (0–10), a single choice or free text,
tagged with a quality dimension (SERVQUAL's five unless the list was edited); a rating
may ask what the customer expected as well as what they got (gap analysis). Editing
the questions of a survey that has answers makes a new version, so every answer keeps
the questions it answered.

An invitation is a one-time link: only the SHA-256 of its token is kept, and the
answer marks it used by compare-and-set (`answered_at IS NULL`), backed by a unique
index on the answer's invitation, so two submissions at once store one answer. One
address may answer only so often (ANSWERS_PER_HOUR): the open link is anyone's.

Each day's answers become measurements of KPIs made on demand, per survey and
department: CSAT (mean rating), NPS, response rate and each dimension's mean, so the
monitoring rules watch them like any other KPI. A day is fed once it is over, and
answers are counted on the day they arrive, so a day once fed never changes.
"""

import csv
import hashlib
import io
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from statistics import mean
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from pdca.engine.facts import N_, Reason, because, on_line
from pdca.models import (
    Department,
    Kpi,
    QualityDimension,
    QuestionKind,
    Survey,
    SurveyInvitation,
    SurveyResponse,
    SurveyVersion,
)
from pdca.services import audit, kpis
from pdca.services.accounts import Throttled
from pdca.services.context import Ctx, unit_of_work
from pdca.services.errors import Conflict, Invalid, NotFound
from pdca.services.policy import can_manage_feedback, can_take_complaints, require
from pdca.services.store import check_version, compare_and_set, get_or_404
from pdca.services.text import storable

DEFAULT_DIMENSIONS = (
    ("TAN", "Tangibles", "有形性"),
    ("REL", "Reliability", "可靠性"),
    ("RES", "Responsiveness", "响应性"),
    ("ASS", "Assurance", "保证性"),
    ("EMP", "Empathy", "移情性"),
)
KEY = re.compile(r"^[a-z][a-z0-9_]{0,19}$")
CODE = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")
MAX_QUESTIONS = 40
MAX_INVITATIONS = 1000  # one CSV file of invitations
MAX_TEXT_ANSWER = 2000
INVITATION_DAYS = 30
ANSWERS_PER_HOUR = 20
CHANNELS = ("phone", "email", "web", "in_person", "social_media", "sms", "chat")

# What each metric's KPI looks like when it is made: (unit, target, warning, breach, rules).
METRICS: dict[str, tuple[str, float, float | None, float | None, list[str]]] = {
    "CSAT": ("", 4.2, 3.8, 3.0, ["limit_breach"]),
    # A day's NPS from a handful of answers swings wide: watched, but no rule by default.
    "NPS": ("", 30.0, 0.0, None, []),
    "RR": ("%", 30.0, 20.0, None, []),
    "DIM": ("", 4.0, 3.5, None, []),
}


# --- quality dimensions --------------------------------------------------------------------


def dimensions(ctx: Ctx) -> list[QualityDimension]:
    return list(
        ctx.session.exec(
            select(QualityDimension).order_by(col(QualityDimension.position), QualityDimension.id)
        )
    )


def _ensure_dimensions(ctx: Ctx) -> None:
    """SERVQUAL's five, the first time any survey needs dimensions (inside its transaction)."""
    if ctx.session.exec(select(func.count()).select_from(QualityDimension)).one():
        return
    for position, (code, name, name_zh) in enumerate(DEFAULT_DIMENSIONS):
        ctx.session.add(QualityDimension(code=code, name=name, name_zh=name_zh, position=position))
    ctx.session.flush()


def create_dimension(
    ctx: Ctx, *, code: str, name: str, name_zh: str | None = None
) -> QualityDimension:
    require(can_manage_feedback(ctx.actor))
    code = code.strip().upper()
    reasons = []
    if not CODE.match(code):
        reasons.append("code: 1 to 10 capital letters or digits, a letter first.")
    if not name.strip() or len(name) > 100:
        reasons.append("name: 1 to 100 characters.")
    if name_zh is not None and len(name_zh) > 100:
        reasons.append("name_zh: at most 100 characters.")
    if reasons:
        raise Invalid("The dimension cannot be added.", reasons)
    with unit_of_work(ctx):
        _ensure_dimensions(ctx)
        if ctx.session.exec(select(QualityDimension).where(QualityDimension.code == code)).first():
            raise Conflict(f"A dimension with the code {code} already exists.")
        position = len(dimensions(ctx))
        dimension = QualityDimension(
            code=code, name=name.strip(), name_zh=(name_zh or "").strip() or None, position=position
        )
        ctx.session.add(dimension)
        ctx.session.flush()
        assert dimension.id is not None
        audit.record(ctx, "dimension", dimension.id, "created", data={"code": code, "name": name})
    return dimension


def update_dimension(
    ctx: Ctx, dimension_id: int, *, version: int | None, changes: dict[str, Any]
) -> QualityDimension:
    require(can_manage_feedback(ctx.actor))
    unknown = sorted(set(changes) - {"name", "name_zh", "active"})
    if unknown:
        raise Invalid(f"These fields cannot be changed: {', '.join(unknown)}.")
    reasons = []
    if "name" in changes:
        changes["name"] = str(changes["name"] or "").strip()
        if not changes["name"] or len(changes["name"]) > 100:
            reasons.append("name: 1 to 100 characters.")
    if "name_zh" in changes:
        changes["name_zh"] = str(changes["name_zh"] or "").strip() or None
        if changes["name_zh"] is not None and len(changes["name_zh"]) > 100:
            reasons.append("name_zh: at most 100 characters.")
    if "active" in changes and not isinstance(changes["active"], bool):
        reasons.append("active: true or false.")
    if reasons:
        raise Invalid("The dimension cannot be changed.", reasons)
    with unit_of_work(ctx):
        dimension = get_or_404(ctx, QualityDimension, dimension_id, "Dimension")
        check_version(dimension, version, f"Dimension {dimension.code}")
        before = {k: getattr(dimension, k) for k in changes}
        changed = {k: v for k, v in changes.items() if before[k] != v}
        if changed:
            compare_and_set(ctx, dimension, f"Dimension {dimension.code}", changed)
            audit.record_changes(ctx, "dimension", dimension_id, before, changed)
    return dimension


# --- surveys and their versions ------------------------------------------------------------


def _titles(value: Any, where: str, reasons: list[str]) -> dict[str, str]:
    if isinstance(value, str):
        value = {"en": value}
    if not isinstance(value, dict) or not str(value.get("en") or "").strip():
        reasons.append(f"{where}: an English title is needed.")
        return {}
    titles = {lang: str(value.get(lang) or "").strip() for lang in ("en", "zh_CN")}
    if any(len(t) > 300 or not storable(t) for t in titles.values()):
        reasons.append(f"{where}: at most 300 characters.")
    return {k: v for k, v in titles.items() if v}


def check_questions(
    ctx: Ctx, questions: Any, kept: set[tuple[str, str]] | None = None
) -> list[dict[str, Any]]:
    """The questions, normalised, or Invalid with every reason. A retired dimension cannot
    be chosen, but stays on a question that had it (`kept`: its (key, dimension) pairs)."""
    reasons: list[str] = []
    if not isinstance(questions, list) or not 1 <= len(questions) <= MAX_QUESTIONS:
        raise Invalid("A survey asks 1 to 40 questions.", ["questions: 1 to 40."])
    known = {d.code for d in dimensions(ctx) if d.active}
    kept = kept or set()
    seen: set[str] = set()
    result = []
    for n, raw in enumerate(questions, start=1):
        where = f"question {n}"
        if not isinstance(raw, dict):
            reasons.append(f"{where}: must be an object.")
            continue
        key = str(raw.get("key") or f"q{n}")
        if not KEY.match(key) or key in seen:
            reasons.append(f"{where}: key {key!r} must be unique, a-z, 0-9 and _.")
        seen.add(key)
        kind = raw.get("kind")
        if kind not in QuestionKind.__members__:
            reasons.append(f"{where}: kind is one of {', '.join(QuestionKind.__members__)}.")
        dimension = raw.get("dimension")
        if dimension is not None and dimension not in known and (key, dimension) not in kept:
            reasons.append(
                f"{where}: dimension {dimension!r} is none of {', '.join(sorted(known))}."
            )
        choices = []
        if kind == QuestionKind.choice:
            raw_choices = raw.get("choices")
            if not isinstance(raw_choices, list) or not 2 <= len(raw_choices) <= 20:
                reasons.append(f"{where}: a choice question offers 2 to 20 choices.")
            else:
                choices = [
                    _titles(c, f"{where}, choice {i}", reasons)
                    for i, c in enumerate(raw_choices, 1)
                ]
        gap = bool(raw.get("gap", False))
        if gap and kind != QuestionKind.rating:
            reasons.append(f"{where}: only a rating asks for the expectation too (gap).")
        result.append(
            {
                "key": key,
                "kind": kind,
                "title": _titles(raw.get("title"), where, reasons),
                "dimension": dimension,
                "choices": choices,
                "gap": gap,
                "required": bool(raw.get("required", kind != QuestionKind.text)),
            }
        )
    if reasons:
        raise Invalid("The questions cannot be saved.", reasons[:200])
    return result


def create_survey(
    ctx: Ctx,
    *,
    code: str,
    title: str,
    title_zh: str | None = None,
    department_id: int,
    questions: list[dict[str, Any]],
) -> Survey:
    require(can_manage_feedback(ctx.actor))
    code = code.strip().upper()
    reasons = []
    if not CODE.match(code):
        reasons.append("code: 1 to 10 capital letters or digits, a letter first, e.g. CSAT.")
    if not title.strip() or len(title) > 200:
        reasons.append("title: 1 to 200 characters.")
    if title_zh is not None and len(title_zh) > 200:
        reasons.append("title_zh: at most 200 characters.")
    if reasons:
        raise Invalid("The survey cannot be created.", reasons)
    with unit_of_work(ctx):
        _ensure_dimensions(ctx)
        checked = check_questions(ctx, questions)
        get_or_404(ctx, Department, department_id, "Department")
        if ctx.session.exec(select(Survey).where(Survey.code == code)).first():
            raise Conflict(f"A survey with the code {code} already exists.")
        survey = Survey(
            code=code,
            title=title.strip(),
            title_zh=(title_zh or "").strip() or None,
            department_id=department_id,
            created_at=ctx.now(),
        )
        ctx.session.add(survey)
        ctx.session.flush()
        first = SurveyVersion(
            survey_id=survey.id, number=1, questions=checked, created_at=ctx.now()
        )  # type: ignore[arg-type]
        ctx.session.add(first)
        ctx.session.flush()
        survey.current_version_id = first.id
        ctx.session.flush()
        assert survey.id is not None
        audit.record(
            ctx,
            "survey",
            survey.id,
            "created",
            data={"code": code, "title": title, "questions": len(checked)},
        )
    return survey


def edit_questions(
    ctx: Ctx, survey_id: int, *, version: int | None, questions: list[dict[str, Any]]
) -> SurveyVersion:
    """New questions: in place while nobody answered, else as a new version."""
    require(can_manage_feedback(ctx.actor))
    with unit_of_work(ctx):
        survey = get_or_404(ctx, Survey, survey_id, "Survey")
        check_version(survey, version, f"Survey {survey.code}")
        current = ctx.session.get(SurveyVersion, survey.current_version_id)
        assert current is not None
        kept = {(q["key"], q["dimension"]) for q in current.questions if q.get("dimension")}
        checked = check_questions(ctx, questions, kept)
        answered = ctx.session.exec(
            select(func.count()).where(SurveyResponse.survey_version_id == current.id)
        ).one()
        if answered:
            target = SurveyVersion(
                survey_id=survey_id,
                number=current.number + 1,
                questions=checked,
                created_at=ctx.now(),
            )
            ctx.session.add(target)
            ctx.session.flush()
        else:
            target = current
            ctx.session.execute(
                update(SurveyVersion)
                .where(col(SurveyVersion.id) == current.id)
                .values(questions=checked)
                .execution_options(synchronize_session=False)
            )
            target.questions = checked
        compare_and_set(ctx, survey, f"Survey {survey.code}", {"current_version_id": target.id})
        audit.record(
            ctx,
            "survey",
            survey_id,
            "questions_changed",
            field="version",
            old=current.number,
            new=target.number,
            data={"questions": len(checked), "new_version": bool(answered)},
        )
    return target


QUESTION_OPS = ("add", "save", "up", "down", "remove")


def with_change(
    questions: list[dict[str, Any]], op: str, key: str | None, question: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The questions after one change from the editor page: add a question at the end,
    save (replace) the one with `key`, move it up or down, or remove it. Keys stay as
    they were (answers are stored by key); a new question takes the first free `q<n>`.
    Checking the result is edit_questions' job, as for the API's whole lists."""
    if op not in QUESTION_OPS:
        raise Invalid(f"op: one of {', '.join(QUESTION_OPS)}.")
    found = [dict(q) for q in questions]
    if op == "add":
        taken = {q["key"] for q in found}
        free = next(f"q{n}" for n in range(1, len(found) + 2) if f"q{n}" not in taken)
        return [*found, {**(question or {}), "key": free}]
    at = next((i for i, q in enumerate(found) if q["key"] == key), None)
    if at is None:
        raise NotFound(f"The survey has no question {key!r} (any more).")
    if op == "save":
        found[at] = {**(question or {}), "key": key}
    elif op == "remove":
        del found[at]
    else:
        to = at - 1 if op == "up" else at + 1
        if 0 <= to < len(found):
            found[at], found[to] = found[to], found[at]
    return found


def answers_to(ctx: Ctx, version: SurveyVersion) -> int:
    """How many answers a version has: once it has one, an edit makes a new version."""
    return int(
        ctx.session.exec(
            select(func.count()).where(SurveyResponse.survey_version_id == version.id)
        ).one()
    )


def get_survey(ctx: Ctx, survey_id: int) -> Survey:
    return get_or_404(ctx, Survey, survey_id, "Survey")


def surveys(ctx: Ctx) -> list[Survey]:
    return list(ctx.session.exec(select(Survey).order_by(Survey.code)))


def current_version(ctx: Ctx, survey: Survey) -> SurveyVersion:
    found = ctx.session.get(SurveyVersion, survey.current_version_id)
    assert found is not None
    return found


# --- invitations and the open link ----------------------------------------------------------


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewInvitation:
    invitation: SurveyInvitation
    token: str  # shown once: only its digest is kept


@dataclass(frozen=True)
class InvitationIn:
    """One invitation to make: from the API, or one line of a CSV file (`line`)."""

    case_ref: str | None = None
    department: int | str | None = None  # an id, or a department's code (CSV)
    channel: str | None = None
    line: int = 0


def _invitation_reasons(item: InvitationIn, line: int | None) -> list[Reason]:
    """What is wrong with one invitation; each reason on its line of a file (when `line`)."""
    reasons = []
    if item.case_ref is not None and (len(item.case_ref) > 100 or not storable(item.case_ref)):
        reasons.append(because("invalid", "%(field)s: at most 100 characters.", field="case_ref"))
    if item.channel is not None and item.channel not in CHANNELS:
        reasons.append(
            because("invalid", "channel: one of %(choices)s.", choices=", ".join(CHANNELS))
        )
    return reasons if line is None else [on_line(line, r) for r in reasons]


def invite(
    ctx: Ctx,
    survey_id: int,
    *,
    department_id: int | None = None,
    case_ref: str | None = None,
    channel: str | None = None,
    valid_days: int = INVITATION_DAYS,
) -> NewInvitation:
    """A one-time link for a customer whose case closed (a service desk calls this)."""
    item = InvitationIn(case_ref=case_ref, department=department_id, channel=channel)
    return invite_many(ctx, survey_id, [item], valid_days=valid_days)[0]


def invite_many(
    ctx: Ctx, survey_id: int, items: list[InvitationIn], *, valid_days: int = INVITATION_DAYS
) -> list[NewInvitation]:
    """One-time links for many customers (a CSV file): all or nothing, every bad line named."""
    require(can_take_complaints(ctx.actor))
    if not items:
        raise Invalid("The file holds no invitation.", ["The file holds no invitation."])
    if len(items) > MAX_INVITATIONS:
        raise Invalid(f"A file holds at most {MAX_INVITATIONS:,} invitations; split it.")
    single = len(items) == 1 and items[0].line == 0
    reasons: list[Reason | str] = []
    if not 1 <= valid_days <= 365:
        reasons.append("valid_days: between 1 and 365.")
    for item in items:
        reasons += _invitation_reasons(item, None if single else item.line)
    made: list[NewInvitation] = []
    with unit_of_work(ctx):
        survey = get_or_404(ctx, Survey, survey_id, "Survey")
        if not survey.active:
            raise Conflict(f"The survey {survey.code} is closed.")
        known = list(ctx.session.exec(select(Department)))
        by_id = {d.id: d for d in known}
        by_code = {d.code.upper(): d for d in known}
        departments: list[int] = []
        for item in items:
            ref = item.department
            if ref is None or ref == "":
                departments.append(survey.department_id)
                continue
            found = (
                by_id.get(int(ref))
                if isinstance(ref, int) or (str(ref).isascii() and str(ref).isdigit())
                else by_code.get(str(ref).strip().upper())
            )
            if found is None:
                if single:
                    raise NotFound(f"Department {ref} does not exist.")
                reasons.append(
                    because(
                        "invalid",
                        "line %(line)s: department: there is no department %(ref)s.",
                        line=item.line,
                        ref=repr(ref),
                    )
                )
                departments.append(survey.department_id)
            else:
                departments.append(found.id)  # type: ignore[arg-type]
        if reasons:
            raise Invalid(
                "The invitation cannot be made."
                if single
                else because(
                    "invalid", "Nothing was made: %(count)s line(s) are wrong.", count=len(reasons)
                ),
                reasons[:200],
            )
        for item, department_id in zip(items, departments, strict=True):
            token = secrets.token_urlsafe(24)
            invitation = SurveyInvitation(
                survey_id=survey_id,
                token_hash=_digest(token),
                case_ref=(item.case_ref or "").strip() or None,
                department_id=department_id,
                channel=item.channel,
                created_by_id=ctx.actor_id,
                created_at=ctx.now(),
                expires_at=ctx.now() + timedelta(days=valid_days),
            )
            ctx.session.add(invitation)
            made.append(NewInvitation(invitation, token))
        ctx.session.flush()
        for new in made:
            assert new.invitation.id is not None
            audit.record(
                ctx,
                "invitation",
                new.invitation.id,
                "created",
                data={
                    "survey": survey.code,
                    "case_ref": new.invitation.case_ref,
                    "channel": new.invitation.channel,
                },
            )
    return made


def invitations_from_csv(source: str | Iterable[str]) -> list[InvitationIn]:
    """Invitations of a CSV file whose first line names its columns, all optional:
    case_ref, department (a code or an id; the survey's when empty), channel."""
    reader = csv.DictReader(io.StringIO(source) if isinstance(source, str) else source)
    allowed = {"case_ref", "department", "channel"}
    try:
        header = {(h or "").strip().lower() for h in reader.fieldnames or []}
        if not header & allowed or header - allowed:
            raise Invalid(
                "The first line must name the columns: case_ref, department, channel.",
                [
                    because(
                        "invalid",
                        N_(
                            "line %(line)s: the columns are case_ref, department, channel; "
                            "not %(columns)s."
                        )
                        if header - allowed
                        else N_(
                            "line %(line)s: the columns are case_ref, department, channel; "
                            "not none of them."
                        ),
                        line=1,
                        columns=", ".join(sorted(header - allowed)),
                    )
                ],
            )
        rows = []
        for raw in reader:
            cells = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
            if not any(cells.values()):
                continue
            if len(rows) == MAX_INVITATIONS:
                raise Invalid(f"A file holds at most {MAX_INVITATIONS:,} invitations; split it.")
            rows.append(
                InvitationIn(
                    case_ref=cells.get("case_ref") or None,
                    department=cells.get("department") or None,
                    channel=cells.get("channel") or None,
                    line=reader.line_num,
                )
            )
    except csv.Error as exc:
        line = reader.line_num
        raise Invalid(
            because(
                "invalid",
                "Line %(line)s cannot be read as CSV: %(error)s.",
                line=line,
                error=str(exc),
            ),
            [because("invalid", "line %(line)s: %(error)s.", line=line, error=str(exc))],
        ) from exc
    if not rows:
        raise Invalid("The file holds no invitation.", ["The file holds no invitation."])
    return rows


def open_link(ctx: Ctx, survey_id: int) -> str:
    """A new anonymous link for the survey (anyone may answer it, rate-limited); the old
    one stops working."""
    require(can_manage_feedback(ctx.actor))
    with unit_of_work(ctx):
        survey = get_or_404(ctx, Survey, survey_id, "Survey")
        token = secrets.token_urlsafe(24)
        compare_and_set(ctx, survey, f"Survey {survey.code}", {"open_token_hash": _digest(token)})
        audit.record(ctx, "survey", survey_id, "open_link_made")
    return token


def close_open_link(ctx: Ctx, survey_id: int) -> Survey:
    """Turn the anonymous link off: its token stops working (invitations still do)."""
    require(can_manage_feedback(ctx.actor))
    with unit_of_work(ctx):
        survey = get_or_404(ctx, Survey, survey_id, "Survey")
        if survey.open_token_hash is not None:
            compare_and_set(ctx, survey, f"Survey {survey.code}", {"open_token_hash": None})
            audit.record(ctx, "survey", survey_id, "open_link_closed")
    return survey


@dataclass(frozen=True)
class Form:
    survey: Survey
    version: SurveyVersion
    invitation: SurveyInvitation | None  # None: the open link
    answered: bool


def form_for(ctx: Ctx, token: str) -> Form:
    """What `/s/{token}` shows; NotFound for a token nobody made or one expired."""
    digest = _digest(token)
    invitation = ctx.session.exec(
        select(SurveyInvitation).where(SurveyInvitation.token_hash == digest)
    ).first()
    if invitation is not None:
        survey = ctx.session.get(Survey, invitation.survey_id)
        assert survey is not None
        expires = invitation.expires_at.replace(tzinfo=invitation.expires_at.tzinfo or UTC)
        if expires < ctx.now() and invitation.answered_at is None:
            raise NotFound(N_("This survey link has expired."))
    else:
        survey = ctx.session.exec(select(Survey).where(Survey.open_token_hash == digest)).first()
        if survey is None:
            raise NotFound(N_("This survey link is not known."))
    if not survey.active and (invitation is None or invitation.answered_at is None):
        raise NotFound(N_("This survey is closed."))
    return Form(
        survey,
        current_version(ctx, survey),
        invitation,
        answered=invitation is not None and invitation.answered_at is not None,
    )


# --- answering ----------------------------------------------------------------------------------


def _number(text: Any, low: int, high: int) -> int | None:
    value = str(text if text is not None else "").strip()
    if not value.isascii() or not value.isdigit():
        return None
    number = int(value)
    return number if low <= number <= high else None


def read_answers(
    questions: list[dict[str, Any]], raw: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """(answers by question key, errors by question key) from the posted fields `q_<key>`
    (and `e_<key>`, the expectation of a gap question). Errors are message templates."""
    answers: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for q in questions:
        key, kind = q["key"], q["kind"]
        given = str(raw.get(f"q_{key}") or "").strip()
        if not given:
            if q.get("required"):
                errors[key] = N_("Please answer this question.")
            continue
        if kind == QuestionKind.rating:
            value = _number(given, 1, 5)
            if value is None:
                errors[key] = N_("Choose from 1 to 5.")
                continue
            if q.get("gap"):
                expected = _number(raw.get(f"e_{key}"), 1, 5)
                if expected is None:
                    errors[key] = N_("Say also what you expected, from 1 to 5.")
                    continue
                answers[key] = {"perceived": value, "expected": expected}
            else:
                answers[key] = value
        elif kind == QuestionKind.nps:
            value = _number(given, 0, 10)
            if value is None:
                errors[key] = N_("Choose from 0 to 10.")
                continue
            answers[key] = value
        elif kind == QuestionKind.choice:
            value = _number(given, 1, len(q["choices"]))
            if value is None:
                errors[key] = N_("Choose one of the answers.")
                continue
            answers[key] = value
        else:
            if len(given) > MAX_TEXT_ANSWER or not storable(given):
                errors[key] = N_("At most 2,000 characters, please.")
                continue
            answers[key] = given
    return answers, errors


def scores(
    questions: list[dict[str, Any]], answers: dict[str, Any]
) -> tuple[float | None, int | None, dict[str, Any]]:
    """(CSAT: mean rating, NPS answer, per dimension the mean perceived and expected)."""
    ratings: list[float] = []
    nps = None
    by_dimension: dict[str, dict[str, list[float]]] = {}
    for q in questions:
        value = answers.get(q["key"])
        if value is None:
            continue
        if q["kind"] == QuestionKind.rating:
            perceived = value["perceived"] if isinstance(value, dict) else value
            ratings.append(perceived)
            if q.get("dimension"):
                slot = by_dimension.setdefault(q["dimension"], {"perceived": [], "expected": []})
                slot["perceived"].append(perceived)
                if isinstance(value, dict):
                    slot["expected"].append(value["expected"])
        elif q["kind"] == QuestionKind.nps and nps is None:
            nps = int(value)
    dims = {
        code: {
            "perceived": round(mean(slot["perceived"]), 4),
            "expected": round(mean(slot["expected"]), 4) if slot["expected"] else None,
        }
        for code, slot in by_dimension.items()
    }
    return (round(mean(ratings), 4) if ratings else None), nps, dims


class Unanswered(Invalid):
    """The answers are incomplete: `errors` says which question needs what."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(N_("Some answers are missing or not valid."), list(errors.values()))
        self.errors = errors


def answer(
    ctx: Ctx, token: str, raw: dict[str, Any], *, lang: str = "en", address: str | None = None
) -> SurveyResponse:
    """Store one answer. The invitation is used once: a second answer is a Conflict."""
    with unit_of_work(ctx):
        form = form_for(ctx, token)
        if form.answered:
            raise Conflict(N_("This survey was already answered with this link. Thank you!"))
        address_hash = _digest(f"address:{address}") if address else None
        if address_hash is not None:
            recent = ctx.session.exec(
                select(func.count()).where(
                    SurveyResponse.address_hash == address_hash,
                    col(SurveyResponse.submitted_at) > ctx.now() - timedelta(hours=1),
                )
            ).one()
            if recent >= ANSWERS_PER_HOUR:
                raise Throttled(N_("Too many answers from here; please try again later."), 3600)
        answers, errors = read_answers(form.version.questions, raw)
        if errors:
            raise Unanswered(errors)
        invitation = form.invitation
        if invitation is not None:
            used = ctx.session.execute(
                update(SurveyInvitation)
                .where(
                    col(SurveyInvitation.id) == invitation.id,
                    col(SurveyInvitation.answered_at).is_(None),
                )
                .values(answered_at=ctx.now())
                .execution_options(synchronize_session=False)
            )
            if used.rowcount != 1:
                # Nothing got updated: another submission with this link got there first.
                raise Conflict(N_("This survey was already answered with this link. Thank you!"))
        csat, nps, dims = scores(form.version.questions, answers)
        response = SurveyResponse(
            survey_id=form.survey.id,  # type: ignore[arg-type]
            survey_version_id=form.version.id,  # type: ignore[arg-type]
            invitation_id=invitation.id if invitation else None,
            department_id=invitation.department_id if invitation else form.survey.department_id,
            channel=invitation.channel if invitation else "web",
            submitted_at=ctx.now(),
            lang=lang if lang in ("en", "zh_CN") else "en",
            address_hash=address_hash,
            answers=answers,
            csat=csat,
            nps=nps,
            dimensions=dims,
        )
        try:
            with ctx.session.begin_nested():
                ctx.session.add(response)
                ctx.session.flush()
        except IntegrityError as exc:
            raise Conflict(
                N_("This survey was already answered with this link. Thank you!")
            ) from exc
        assert response.id is not None
        audit.record(
            ctx,
            "survey_response",
            response.id,
            "answered",
            data={
                "survey": form.survey.code,
                "invitation_id": response.invitation_id,
                "csat": csat,
                "nps": nps,
            },
        )
    return response


# --- answers become KPI measurements ----------------------------------------------------------


def kpi_code(survey: Survey, metric: str, department: Department) -> str:
    code = f"{survey.code}-{metric}-{department.code}"
    return code if len(code) <= 30 else f"{survey.code}-{metric}-{department.id}"


# What may end a survey's title ("How did we do?") and would stand doubled before the
# colon that joins it to the metric ("我们做得怎么样？：满意度").
CLOSING_MARKS = " \t?!.:;,？！。：；，、…"


def _lead(title: str) -> str:
    """A survey's title as the first part of a KPI name: without its closing marks."""
    return title.rstrip(CLOSING_MARKS) or title


def _kpi_for(
    ctx: Ctx, survey: Survey, metric: str, department: Department, names: tuple[str, str]
) -> Kpi:
    code = kpi_code(survey, metric, department)
    found = ctx.session.exec(select(Kpi).where(Kpi.code == code)).first()
    if found is not None:
        return found
    unit, target, warning, breach, rules = METRICS["DIM" if metric not in METRICS else metric]
    name, name_zh = names
    return kpis.create_kpi(
        ctx,
        code=code,
        name=f"{_lead(survey.title)}: {name} ({department.name})"[:200],
        name_zh=(
            f"{_lead(survey.title_zh or survey.title)}：{name_zh}"
            f"（{department.name_zh or department.name}）"
        )[:200],
        description=f"Drawn each day from the answers to survey {survey.code}.",
        unit=unit,
        department_id=department.id,
        target=target,
        warning_limit=warning,
        breach_limit=breach,
        rules=rules,
        interval_hours=24,
        tags=metric_tags(survey, metric),
    )


def metric_tags(survey: Survey, metric: str) -> list[str]:
    """The tags of a survey's KPI, which index definitions select members by: `survey`,
    `survey:<code>`, and what it measures (`survey-csat`, `survey-nps`,
    `survey-response-rate`, or `survey-dimension` and `dimension:<code>`)."""
    fixed = {"CSAT": "survey-csat", "NPS": "survey-nps", "RR": "survey-response-rate"}
    what = [fixed[metric]] if metric in fixed else ["survey-dimension", f"dimension:{metric}"]
    return ["survey", f"survey:{survey.code}", *what]


def nps_of(answers: list[int]) -> float:
    """Promoters (9–10) minus detractors (0–6), in percent of all answers."""
    promoters = sum(1 for a in answers if a >= 9)
    detractors = sum(1 for a in answers if a <= 6)
    return round(100 * (promoters - detractors) / len(answers), 1)


def feed_kpis(ctx: Ctx) -> int:
    """Turn every survey's answers of the days that are over into KPI measurements; the
    number of measurements stored. Idempotent: a day is fed once."""
    stored = 0
    yesterday = ctx.today() - timedelta(days=1)
    for survey in surveys(ctx):
        if survey.fed_through is not None and survey.fed_through >= yesterday:
            continue
        stored += _feed(ctx, survey.id, yesterday)  # type: ignore[arg-type]
    return stored


def _feed(ctx: Ctx, survey_id: int, through: date) -> int:
    with unit_of_work(ctx):
        survey = get_or_404(ctx, Survey, survey_id, "Survey", lock=True)
        if survey.fed_through is not None and survey.fed_through >= through:
            return 0  # another worker fed it meanwhile
        start = datetime.combine(
            survey.fed_through + timedelta(days=1) if survey.fed_through else date(1970, 1, 1),
            time(0),
            tzinfo=UTC,
        )
        end = datetime.combine(through + timedelta(days=1), time(0), tzinfo=UTC)
        responses = list(
            ctx.session.exec(
                select(SurveyResponse)
                .where(
                    SurveyResponse.survey_id == survey_id,
                    col(SurveyResponse.submitted_at) >= start,
                    col(SurveyResponse.submitted_at) < end,
                )
                .order_by(col(SurveyResponse.submitted_at))
            )
        )
        invitations = list(
            ctx.session.exec(
                select(SurveyInvitation).where(
                    SurveyInvitation.survey_id == survey_id,
                    col(SurveyInvitation.created_at) >= start,
                    col(SurveyInvitation.created_at) < end,
                )
            )
        )
        groups: dict[tuple[date, int], list[SurveyResponse]] = {}
        for r in responses:
            groups.setdefault((_utc(r.submitted_at).date(), r.department_id), []).append(r)
        sent: dict[tuple[date, int], list[SurveyInvitation]] = {}
        for i in invitations:
            sent.setdefault((_utc(i.created_at).date(), i.department_id), []).append(i)
        departments = {d.id: d for d in ctx.session.exec(select(Department))}
        dims = {d.code: d for d in dimensions(ctx)}
        rows: list[kpis.RowIn] = []

        def point(metric: str, names: tuple[str, str], day: date, dept: int, value: float) -> None:
            kpi = _kpi_for(ctx, survey, metric, departments[dept], names)
            at = datetime.combine(day, time(0), tzinfo=UTC)
            rows.append(kpis.RowIn(len(rows) + 1, kpi.id, at, round(value, 4)))  # type: ignore[arg-type]

        for (day, dept), group in sorted(groups.items()):
            csats = [r.csat for r in group if r.csat is not None]
            if csats:
                point("CSAT", ("CSAT", "满意度"), day, dept, mean(csats))
            npss = [r.nps for r in group if r.nps is not None]
            if npss:
                point("NPS", ("NPS", "净推荐值"), day, dept, nps_of(npss))
            per_dim: dict[str, list[float]] = {}
            for r in group:
                for code, score in (r.dimensions or {}).items():
                    per_dim.setdefault(code, []).append(score["perceived"])
            for code, values in sorted(per_dim.items()):
                d = dims.get(code)
                names = (d.name, d.name_zh or d.name) if d else (code, code)
                point(code, names, day, dept, mean(values))
        for (day, dept), group in sorted(sent.items()):
            answered = sum(1 for i in group if i.answered_at is not None)
            point("RR", ("response rate", "回复率"), day, dept, 100 * answered / len(group))
        if rows:
            kpis.ingest(ctx, rows)
        compare_and_set(ctx, survey, f"Survey {survey.code}", {"fed_through": through})
    return len(rows)


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


# --- what the survey pages show -------------------------------------------------------------


@dataclass(frozen=True)
class SurveyStats:
    responses: int
    invitations: int
    answered: int
    csat: float | None
    nps: float | None


def stats(ctx: Ctx, survey_id: int, since: datetime | None = None) -> SurveyStats:
    query = select(SurveyResponse.csat, SurveyResponse.nps).where(
        SurveyResponse.survey_id == survey_id
    )
    invited = select(func.count(), func.count(SurveyInvitation.answered_at)).where(
        SurveyInvitation.survey_id == survey_id
    )
    if since is not None:
        query = query.where(col(SurveyResponse.submitted_at) >= since)
        invited = invited.where(col(SurveyInvitation.created_at) >= since)
    rows = list(ctx.session.exec(query))
    invitations, answered = ctx.session.exec(invited).one()
    csats = [c for c, _ in rows if c is not None]
    npss = [n for _, n in rows if n is not None]
    return SurveyStats(
        responses=len(rows),
        invitations=int(invitations),
        answered=int(answered),
        csat=round(mean(csats), 2) if csats else None,
        nps=nps_of(npss) if npss else None,
    )
