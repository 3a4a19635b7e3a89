"""Surveys: Fiona writes one, the service desk (Mia's token) invites a customer when a
case closes, the customer answers once on the public page, and the answers feed KPIs."""

import threading
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from pdca.models import Kpi, Measurement, Problem, SurveyInvitation, SurveyResponse
from pdca.services import jobs
from tests.api import fixtures_story
from tests.api.fixtures_story import People, running_server

people = fixtures_story.people
TIMEOUT = 30

QUESTIONS = [
    {
        "key": "overall",
        "kind": "rating",
        "title": {"en": "How satisfied are you overall?", "zh_CN": "您总体满意吗？"},
        "dimension": "REL",
    },
    {
        "key": "speed",
        "kind": "rating",
        "title": {"en": "How quickly did we answer?", "zh_CN": "我们答复得快吗？"},
        "dimension": "RES",
        "gap": True,
    },
    {
        "key": "recommend",
        "kind": "nps",
        "title": {"en": "Would you recommend us?", "zh_CN": "您会推荐我们吗？"},
    },
    {
        "key": "how",
        "kind": "choice",
        "title": {"en": "How did you reach us?", "zh_CN": "您通过什么方式联系我们？"},
        "choices": [{"en": "Phone", "zh_CN": "电话"}, {"en": "Web", "zh_CN": "网站"}],
    },
    {"key": "words", "kind": "text", "title": {"en": "Anything else?", "zh_CN": "其他意见？"}},
]
GOOD = {"q_overall": "4", "q_speed": "3", "e_speed": "5", "q_recommend": "9", "q_how": "1"}


@pytest.fixture
def survey(people: People) -> dict:
    made = people.fiona.post(
        "/api/v1/surveys",
        json={
            "code": "care",
            "title": "How did we do?",
            "title_zh": "我们做得怎么样？",
            "department_id": people.cs,
            "questions": QUESTIONS,
        },
    )
    assert made.status_code == 201, made.text
    return made.json()


def invite(people: People, survey: dict, **extra) -> dict:
    made = people.mia.post(
        f"/api/v1/surveys/{survey['id']}/invitations",
        json={"case_ref": "SD-1001", "channel": "email", **extra},
    )
    assert made.status_code == 201, made.text
    return made.json()


def test_a_desk_invites_and_the_customer_answers_once_without_signing_in(
    client, people, survey, session
):
    link = invite(people, survey)
    assert link["url"].endswith(f"/s/{link['token']}")
    page = client.get(f"/s/{link['token']}")
    assert page.status_code == 200
    assert "How satisfied are you overall?" in page.text

    answered = client.post(f"/s/{link['token']}", data=GOOD, follow_redirects=False)
    assert answered.status_code == 303
    assert 'data-testid="thanks"' in client.get(f"/s/{link['token']}").text

    again = client.post(f"/s/{link['token']}", data={**GOOD, "q_overall": "1"})
    assert again.status_code == 409
    assert "already answered" in again.text
    (stored,) = session.exec(select(SurveyResponse)).all()
    assert stored.answers["overall"] == 4
    assert stored.answers["speed"] == {"perceived": 3, "expected": 5}
    assert stored.csat == 3.5
    assert stored.nps == 9
    assert stored.dimensions["RES"] == {"perceived": 3, "expected": 5}


def test_a_token_submitted_twice_at_once_stores_one_answer(app, people, survey, session):
    link = invite(people, survey)
    barrier = threading.Barrier(5, timeout=TIMEOUT)
    statuses: list[int] = []
    with running_server(app) as base_url:

        def post() -> None:
            with httpx.Client(base_url=base_url, timeout=TIMEOUT) as browser:
                barrier.wait()
                statuses.append(browser.post(f"/s/{link['token']}", data=GOOD).status_code)

        threads = [threading.Thread(target=post) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
    assert sorted(statuses) == [303, 409, 409, 409, 409]
    assert len(session.exec(select(SurveyResponse)).all()) == 1


def test_a_missing_answer_is_named_and_what_was_chosen_is_kept(client, people, survey):
    link = invite(people, survey)
    answer = client.post(f"/s/{link['token']}", data={**GOOD, "e_speed": ""})
    assert answer.status_code == 422
    assert 'id="e-speed"' in answer.text
    assert 'name="q_overall" value="4" checked' in answer.text
    assert client.post(f"/s/{link['token']}", data=GOOD).status_code == 200


def test_an_unknown_or_expired_link_says_so(client, people, survey, clock):
    assert client.get("/s/not-a-token").status_code == 404
    link = invite(people, survey, valid_days=1)
    clock.advance(days=2)
    expired = client.get(f"/s/{link['token']}")
    assert expired.status_code == 404
    assert "expired" in expired.text


def test_the_open_link_is_rate_limited_per_address(client, people, survey):
    opened = people.fiona.post(f"/api/v1/surveys/{survey['id']}/open-link")
    assert opened.status_code == 200, opened.text
    token = opened.json()["token"]
    answers = [client.post(f"/s/{token}", data=GOOD).status_code for _ in range(21)]
    assert answers[:20] == [200] * 20
    assert answers[20] == 429


def test_editing_an_answered_survey_makes_a_new_version(client, people, survey):
    changed = people.fiona.request(
        "PUT",
        f"/api/v1/surveys/{survey['id']}/questions",
        json={"version": survey["version"], "questions": QUESTIONS[:2]},
    )
    assert changed.json()["version_number"] == 1  # nobody answered yet: edited in place
    link = invite(people, survey)
    assert client.post(f"/s/{link['token']}", data=GOOD).status_code == 200
    again = people.fiona.request(
        "PUT",
        f"/api/v1/surveys/{survey['id']}/questions",
        json={"version": changed.json()["version"], "questions": QUESTIONS},
    )
    assert again.status_code == 200, again.text
    assert again.json()["version_number"] == 2


def test_a_bad_score_becomes_next_days_csat_point_and_raises_a_problem(
    client, people, survey, as_user, clock, session
):
    link = invite(people, survey)
    bad = {**GOOD, "q_overall": "1", "q_speed": "1", "e_speed": "5", "q_recommend": "0"}
    assert client.post(f"/s/{link['token']}", data=bad).status_code == 200
    system = as_user(None)
    assert jobs.run_all(system, jobs.JobConfig(), "test", only=("survey-kpis",)).counts == {
        "survey-kpis": 0
    }  # the day is not over yet

    clock.advance(days=1)
    report = jobs.run_all(system, jobs.JobConfig(), "test", only=("survey-kpis",))
    assert report.counts["survey-kpis"] >= 3  # CSAT, NPS, dimensions, response rate
    csat = session.exec(select(Kpi).where(Kpi.code == "CARE-CSAT-CS")).one()
    (point,) = session.exec(select(Measurement).where(Measurement.kpi_id == csat.id)).all()
    assert point.value == 1.0
    assert point.at.date() == (clock.now - timedelta(days=1)).date()
    problem = session.exec(select(Problem).where(Problem.kpi_id == csat.id)).one()
    assert problem.detection_rule == "limit_breach"
    again = jobs.run_all(system, jobs.JobConfig(), "test", only=("survey-kpis",))
    assert again.counts["survey-kpis"] == 0  # a day is fed once
    # The KPI names read as one phrase: the survey's question mark is not doubled by
    # the colon that joins it to the metric, in either language.
    assert csat.name == "How did we do: CSAT (Customer Service)"
    assert csat.name_zh.startswith("我们做得怎么样：满意度（")
    # Each dimension's KPI carries the tags the PCI selects it by, and feeds the PCI.
    reliability = session.exec(select(Kpi).where(Kpi.code == "CARE-REL-CS")).one()
    assert reliability.tags == ["survey", "survey:CARE", "survey-dimension", "dimension:REL"]
    assert "survey-csat" in csat.tags
    pci = people.fiona.get("/api/v1/indexes/PCI/values", params={"period": "day"}).json()
    (day,) = pci
    grouped = {m["kpi"]: m["group"] for m in day["members"] if m["group"]}
    assert grouped == {"CARE-REL-CS": "survey-dimension", "CARE-RES-CS": "survey-dimension"}
    assert day["value"] == 0  # ratings of 1 score nothing (3 → 0, 4.5 → 100)


def test_only_staff_write_surveys_and_wrong_questions_are_refused(people, survey):
    refused = people.mia.post(
        "/api/v1/surveys",
        json={"code": "X", "title": "X", "department_id": people.cs, "questions": QUESTIONS},
    )
    assert refused.status_code == 403
    wrong = people.fiona.post(
        "/api/v1/surveys",
        json={
            "code": "BAD",
            "title": "Bad",
            "department_id": people.cs,
            "questions": [
                {"kind": "nps", "title": {"en": "?"}, "gap": True},
                {"kind": "choice", "title": {"en": "?"}, "choices": [{"en": "only one"}]},
                {"kind": "rating", "title": {"en": "?"}, "dimension": "NOPE"},
            ],
        },
    )
    assert wrong.status_code == 422
    reasons = " ".join(r["message"] for r in wrong.json()["reasons"])
    assert "only a rating" in reasons and "2 to 20" in reasons and "NOPE" in reasons


def test_the_gap_analysis_reads_the_expectations_of_the_answers(client, people, survey):
    for perceived, expected in (("3", "5"), ("4", "4")):
        link = invite(people, survey)
        answered = client.post(
            f"/s/{link['token']}", data={**GOOD, "q_speed": perceived, "e_speed": expected}
        )
        assert answered.status_code == 200
    found = people.vera.get("/api/v1/gap-analysis", params={"survey_id": survey["id"]})
    assert found.status_code == 200, found.text
    body = found.json()
    assert [d["code"] for d in body["dimensions"]] == ["RES"]  # only "speed" asks both
    (res,) = body["overall"]
    assert (res["pairs"], res["perceived"], res["expected"]) == (2, 3.5, 4.5)
    assert res["gap"] == -1.0  # perceived − expected
    assert [d["code"] for d in body["departments"]] == ["CS"]
    assert people.vera.get("/api/v1/gap-analysis", params={"by": "year"}).status_code == 422
    assert people.vera.get("/api/v1/gap-analysis", params={"survey_id": 9999}).status_code == 404


def import_csv(people: People, survey: dict, text: str):
    return people.mia.post(
        f"/api/v1/surveys/{survey['id']}/invitations/import",
        files={"file": ("closed-cases.csv", text.encode(), "text/csv")},
    )


def test_a_desk_uploads_closed_cases_and_gets_one_link_per_line(client, people, survey, session):
    made = import_csv(
        people, survey, "case_ref,department,channel\nSD-1,CS,phone\nSD-2,it,email\n\nSD-3,,\n"
    )
    assert made.status_code == 201, made.text
    links = made.json()
    assert [(i["case_ref"], i["department_id"], i["channel"]) for i in links] == [
        ("SD-1", people.cs, "phone"),
        ("SD-2", people.it, "email"),
        ("SD-3", survey["department_id"], None),
    ]
    assert len({i["token"] for i in links}) == 3
    answered = client.post(f"/s/{links[1]['token']}", data=GOOD, follow_redirects=False)
    assert answered.status_code == 303
    (stored,) = session.exec(select(SurveyResponse)).all()
    assert stored.department_id == people.it


def test_a_file_with_bad_lines_makes_no_link_and_names_each_line(people, survey, session):
    wrong = import_csv(
        people,
        survey,
        "case_ref,department,channel\nSD-1,CS,phone\nSD-2,XX,email\nSD-3,CS,pigeon\n",
    )
    assert wrong.status_code == 422
    reasons = [r["message"] for r in wrong.json()["reasons"]]
    assert any(r.startswith("line 3:") and "XX" in r for r in reasons)
    assert any(r.startswith("line 4:") and "channel" in r for r in reasons)
    assert not any(r.startswith("line 2:") for r in reasons)
    assert session.exec(select(SurveyInvitation)).all() == []
    header = import_csv(people, survey, "case,dept\nSD-1,CS\n")
    assert header.status_code == 422 and "line 1" in header.text
    assert (
        people.vera.post(
            f"/api/v1/surveys/{survey['id']}/invitations/import",
            files={"file": ("c.csv", b"case_ref\nSD-1\n", "text/csv")},
        ).status_code
        == 403
    )


def test_a_retired_dimension_stays_on_its_question_but_no_new_one_takes_it(people, survey):
    dims = {d["code"]: d for d in people.fiona.get("/api/v1/quality-dimensions").json()}
    renamed = people.fiona.request(
        "PATCH",
        f"/api/v1/quality-dimensions/{dims['RES']['id']}",
        json={"version": dims["RES"]["version"], "name": "Speed", "name_zh": "速度"},
    )
    assert renamed.status_code == 200, renamed.text
    retired = people.fiona.request(
        "PATCH",
        f"/api/v1/quality-dimensions/{dims['RES']['id']}",
        json={"version": renamed.json()["version"], "active": False},
    )
    assert retired.json()["active"] is False and retired.json()["name"] == "Speed"
    stale = people.fiona.request(
        "PATCH",
        f"/api/v1/quality-dimensions/{dims['RES']['id']}",
        json={"version": dims["RES"]["version"], "name": "Late"},
    )
    assert stale.status_code == 409
    # The question that had RES keeps it when the survey is edited...
    kept = people.fiona.request(
        "PUT",
        f"/api/v1/surveys/{survey['id']}/questions",
        json={"version": survey["version"], "questions": QUESTIONS[:2]},
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["questions"][1]["dimension"] == "RES"
    # ...but a new question cannot choose it, nor can a new survey.
    added = people.fiona.request(
        "PUT",
        f"/api/v1/surveys/{survey['id']}/questions",
        json={
            "version": kept.json()["version"],
            "questions": [*QUESTIONS[:2], {"key": "new", "kind": "rating",
                                           "title": {"en": "?"}, "dimension": "RES"}],
        },
    )  # fmt: skip
    assert added.status_code == 422 and "RES" in added.text
    assert (
        people.mia.request(
            "PATCH",
            f"/api/v1/quality-dimensions/{dims['REL']['id']}",
            json={"version": dims["REL"]["version"], "active": False},
        ).status_code
        == 403
    )


def test_the_open_link_turns_on_and_off(client, people, survey):
    assert survey["open_link"] is False
    opened = people.fiona.post(f"/api/v1/surveys/{survey['id']}/open-link").json()
    assert client.get(f"/s/{opened['token']}").status_code == 200
    assert people.fiona.get(f"/api/v1/surveys/{survey['id']}").json()["open_link"] is True
    closed = people.fiona.request("DELETE", f"/api/v1/surveys/{survey['id']}/open-link")
    assert closed.status_code == 204
    assert client.get(f"/s/{opened['token']}").status_code == 404
    assert people.fiona.get(f"/api/v1/surveys/{survey['id']}").json()["open_link"] is False
