"""A customer answers a satisfaction survey on a 390 px phone, in Chinese, without signing
in; the next day the answer is a point of the CSAT KPI, and a bad score raises a problem
through the KPI's monitoring rule."""

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from pdca.models import Kpi, Measurement, Problem, SurveyResponse
from pdca.services import jobs, surveys
from tests.browser.conftest import accessibility_problems

pytestmark = pytest.mark.browser

QUESTIONS = [
    {
        "key": "overall",
        "kind": "rating",
        "dimension": "REL",
        "title": {"en": "How satisfied are you overall?", "zh_CN": "您总体满意吗？"},
    },
    {
        "key": "speed",
        "kind": "rating",
        "dimension": "RES",
        "gap": True,
        "title": {"en": "How quickly did we answer?", "zh_CN": "我们答复得快吗？"},
    },
    {
        "key": "recommend",
        "kind": "nps",
        "title": {"en": "Would you recommend us?", "zh_CN": "您会推荐我们吗？"},
    },
    {"key": "words", "kind": "text", "title": {"en": "Anything else?", "zh_CN": "其他意见？"}},
]


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_a_customer_answers_on_a_phone_in_chinese_and_a_bad_score_raises_a_problem(
    open_browser, org, as_user, clock, session, js: bool
) -> None:
    survey = surveys.create_survey(
        as_user(org.fiona),
        code="CARE",
        title="How did we do?",
        title_zh="我们做得怎么样？",
        department_id=org.cs,
        questions=QUESTIONS,
    )
    link = surveys.invite(as_user(org.mia), survey.id, case_ref="SD-1001", channel="sms")
    session.commit()

    page = open_browser(js=js, locale="zh-CN", phone=True)
    page.goto(f"/s/{link.token}")
    expect(page.get_by_role("heading", name="我们做得怎么样？")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert "Sign in" not in page.content() and "登录" not in page.locator("main").inner_text()
    if js:
        assert accessibility_problems(page) == []

    # A first try without the expectation: the question says what is missing.
    page.get_by_role("group", name="1. 您总体满意吗？").get_by_label("1", exact=True).check()
    speed = page.get_by_role("group", name="2. 我们答复得快吗？")
    speed.get_by_role("radiogroup", name="您的实际感受").get_by_label("1", exact=True).check()
    page.get_by_role("group", name="3. 您会推荐我们吗？").get_by_label("2", exact=True).check()
    page.get_by_role("button", name="提交我的回答").click()
    expect(page.locator("#e-speed")).to_have_text("请同时说明您的期望，从 1 到 5。")

    speed = page.get_by_role("group", name="2. 我们答复得快吗？")
    speed.get_by_role("radiogroup", name="您的期望").get_by_label("5", exact=True).check()
    page.get_by_label("其他意见？").fill("等了太久。")
    tap = page.get_by_role("button", name="提交我的回答")
    box = tap.bounding_box()
    assert box is not None and box["height"] >= 44, "a button a thumb can hit"
    tap.click()
    expect(page.get_by_test_id("thanks")).to_have_text("谢谢！您的回答已记录。")

    # The same link cannot answer again.
    page.goto(f"/s/{link.token}")
    expect(page.get_by_test_id("thanks")).to_be_visible()
    expect(page.get_by_role("button", name="提交我的回答")).to_have_count(0)

    session.rollback()
    (answer,) = session.exec(select(SurveyResponse)).all()
    assert (answer.lang, answer.csat, answer.answers["words"]) == ("zh_CN", 1.0, "等了太久。")

    # The next day the job turns yesterday's answers into KPI points; the rule fires.
    system = as_user(None)
    clock.advance(days=1)
    jobs.run_all(system, jobs.JobConfig(), "test", only=("survey-kpis",))
    csat = session.exec(select(Kpi).where(Kpi.code == "CARE-CSAT-CS")).one()
    (point,) = session.exec(select(Measurement).where(Measurement.kpi_id == csat.id)).all()
    assert point.value == 1.0
    problem = session.exec(select(Problem).where(Problem.kpi_id == csat.id)).one()
    assert (problem.detection_rule, problem.status) == ("limit_breach", "new")
