"""Gap analysis: what customers expected against what they got, per quality dimension
(SERVQUAL: gap = perceived − expected), over the months and by department."""

from datetime import UTC, date, datetime

import pytest

from pdca.services import gap_analysis, surveys
from pdca.services.errors import Invalid, NotFound

QUESTIONS = [
    {"key": "speed", "kind": "rating", "title": {"en": "Quick?"}, "dimension": "RES", "gap": True},
    {"key": "staff", "kind": "rating", "title": {"en": "Expert?"}, "dimension": "ASS", "gap": True},
    # A rating without the expectation says nothing of a gap.
    {"key": "overall", "kind": "rating", "title": {"en": "Overall?"}, "dimension": "REL"},
]
# (when, department, speed perceived/expected, staff perceived/expected)
ANSWERS = [
    (datetime(2026, 10, 10, 9, tzinfo=UTC), "cs", (3, 5), (4, 4)),
    (datetime(2026, 10, 20, 9, tzinfo=UTC), "it", (4, 4), (5, 3)),
    (datetime(2026, 11, 5, 9, tzinfo=UTC), "cs", (2, 5), (4, 5)),
]


def answered_survey(org, as_user, clock):
    """Survey CARE answered three times: twice in October (CS, IT), once in November (CS)."""
    now = clock.now
    survey = surveys.create_survey(
        as_user(org.fiona), code="CARE", title="How did we do?", department_id=org.cs,
        questions=QUESTIONS,
    )  # fmt: skip
    for when, dept, speed, staff in ANSWERS:
        clock.now = when
        link = surveys.invite(as_user(org.mia), survey.id, department_id=getattr(org, dept))
        surveys.answer(
            as_user(None),
            link.token,
            {"q_speed": speed[0], "e_speed": speed[1], "q_staff": staff[0], "e_staff": staff[1],
             "q_overall": "2"},
        )  # fmt: skip
    clock.now = now
    return survey


def gaps(cells):
    return {code: cell.gap for code, cell in cells.items()}


def test_the_gap_per_dimension_is_the_mean_perception_less_the_mean_expectation(
    org, as_user, clock
):
    answered_survey(org, as_user, clock)
    found = gap_analysis.analyse(as_user(org.vera))
    assert [d.code for d in found.dimensions] == ["RES", "ASS"]  # REL asked no expectation
    res, ass = found.overall["RES"], found.overall["ASS"]
    # RES: perceived 3, 4, 2 (mean 3) against expected 5, 4, 5 (mean 14/3).
    assert (res.pairs, res.perceived, res.expected) == (3, 3, pytest.approx(14 / 3, abs=1e-4))
    assert res.gap == pytest.approx(3 - 14 / 3, abs=1e-4)  # −1.67: a shortfall
    # ASS: perceived 4, 5, 4 against expected 4, 3, 5: 13/3 − 4 = +0.33.
    assert ass.gap == pytest.approx(13 / 3 - 4, abs=1e-4)


def test_over_time_each_month_has_its_own_gaps(org, as_user, clock):
    answered_survey(org, as_user, clock)
    found = gap_analysis.analyse(as_user(org.vera), by="month")
    assert [(p.key, gaps(p.cells), p.pairs) for p in found.periods] == [
        (date(2026, 10, 1), {"RES": (3 + 4) / 2 - (5 + 4) / 2, "ASS": (4 + 5) / 2 - (4 + 3) / 2}, 4),
        (date(2026, 11, 1), {"RES": 2 - 5, "ASS": 4 - 5}, 2),
    ]  # fmt: skip
    weekly = gap_analysis.analyse(as_user(org.vera), by="week")
    assert [p.key for p in weekly.periods] == [date(2026, 10, 5), date(2026, 10, 19), date(2026, 11, 2)]  # fmt: skip


def test_by_department_and_for_one_department(org, as_user, clock):
    answered_survey(org, as_user, clock)
    found = gap_analysis.analyse(as_user(org.vera))
    assert [(d.label, gaps(d.cells)) for d in found.departments] == [
        ("CS", {"RES": (3 + 2) / 2 - 5, "ASS": 4 - (4 + 5) / 2}),
        ("IT", {"RES": 0, "ASS": 5 - 3}),
    ]
    cs = gap_analysis.analyse(as_user(org.vera), department_id=org.cs)
    assert gaps(cs.overall) == {"RES": -2.5, "ASS": -0.5}
    assert [gaps(p.cells) for p in cs.periods] == [{"RES": -2, "ASS": 0}, {"RES": -3, "ASS": -1}]
    assert [d.label for d in cs.departments] == ["CS", "IT"]  # the comparison stays whole


def test_the_window_leaves_out_older_answers_and_bad_filters_are_refused(org, as_user, clock):
    survey = answered_survey(org, as_user, clock)
    recent = gap_analysis.analyse(as_user(org.vera), days=30, survey_id=survey.id)
    assert recent.start == date(2026, 10, 27)  # 30 days before tomorrow, the 26th
    assert gaps(recent.overall) == {"RES": -3, "ASS": -1}  # November's answer only
    with pytest.raises(Invalid):
        gap_analysis.analyse(as_user(org.vera), by="year")
    with pytest.raises(NotFound):
        gap_analysis.analyse(as_user(org.vera), survey_id=9999)
