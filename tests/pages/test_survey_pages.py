"""Survey pages: Vera reads the gap analysis; Fiona edits a survey's questions."""

import csv
import html
import io
import re
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
from sqlmodel import select

from pdca.models import QualityDimension, Survey, SurveyInvitation, SurveyVersion
from pdca.services import kpis, organisation, surveys
from tests.services.test_gap_analysis import answered_survey


def test_a_viewer_reads_the_gaps_in_a_chart_and_tables_in_both_languages(
    org, client_for, as_user, clock
):
    answered_survey(org, as_user, clock)
    vera = client_for("vera")
    page = vera.client.get("/surveys/gaps?by=month")
    assert page.status_code == 200
    assert '<svg class="chart bars"' in page.text and 'role="img"' in page.text
    overall = page.text.split('data-testid="gap-overall"')[1].split("</table>")[0]
    assert "−1.67" in overall or "-1.67" in overall  # RES: 3 against 14/3
    assert "+0.33" in overall  # ASS: 13/3 against 4
    months = page.text.split('data-testid="gap-periods"')[1].split("</table>")[0]
    assert "2026-10" in months and "2026-11" in months
    only_cs = vera.client.get("/surveys/gaps?dept=CS")
    cs = only_cs.text.split('data-testid="gap-overall"')[1].split("</table>")[0]
    assert "2.5" in cs and "0.5" in cs
    organisation.set_locale(as_user(org.vera), "zh_CN")
    chinese = vera.client.get("/surveys/gaps")
    assert "差距分析" in chinese.text and "响应性" in chinese.text


def test_unknown_filters_fall_back_instead_of_failing(org, client_for):
    page = client_for("vera").client.get("/surveys/gaps?survey=NOPE&dept=XX&days=7&by=year")
    assert page.status_code == 200
    assert "No answer to a gap question in this period." in page.text


QUESTIONS = [
    {"key": "overall", "kind": "rating", "title": {"en": "Overall?"}, "dimension": "REL"},
    {"key": "words", "kind": "text", "title": {"en": "Anything else?"}},
]


@pytest.fixture
def care(org, as_user):
    return surveys.create_survey(
        as_user(org.fiona), code="CARE", title="How did we do?", department_id=org.cs,
        questions=QUESTIONS,
    )  # fmt: skip


def change(fiona, survey, **fields):
    current = fiona.client.get(f"/surveys/{survey.id}/questions").text
    version = re.search(r'name="version" value="(\d+)"', current).group(1)
    return fiona.client.post(
        f"/surveys/{survey.id}/questions",
        data={"csrf_token": fiona.csrf, "version": version, **fields},
        follow_redirects=False,
    )


def questions_of(session, survey):
    session.rollback()  # end the snapshot this session read in: the pages wrote since
    session.expire_all()
    version = session.get(SurveyVersion, session.get(Survey, survey.id).current_version_id)
    return version.number, version.questions


def test_a_facilitator_adds_a_bilingual_gap_question_without_javascript(
    org, client_for, care, session
):
    fiona = client_for("fiona")
    added = change(
        fiona, care, op="add", kind="rating", title_en="How quick were we?",
        title_zh="我们够快吗？", dimension="RES", gap="1", required="1",
    )  # fmt: skip
    assert added.status_code == 303
    number, questions = questions_of(session, care)
    assert number == 1  # nobody answered yet: the version is edited in place
    assert questions[-1] == {
        "key": "q1", "kind": "rating", "title": {"en": "How quick were we?", "zh_CN": "我们够快吗？"},
        "dimension": "RES", "choices": [], "gap": True, "required": True,
    }  # fmt: skip
    page = fiona.client.get(f"/surveys/{care.id}/questions")
    assert 'value="我们够快吗？"' in page.text and "Saved." in page.text


def test_moving_and_removing_keep_the_keys_and_a_choice_takes_its_lines(
    org, client_for, care, session
):
    fiona = client_for("fiona")
    assert change(fiona, care, op="down", key="overall").status_code == 303
    assert [q["key"] for q in questions_of(session, care)[1]] == ["words", "overall"]
    assert change(fiona, care, op="up", key="overall").status_code == 303
    saved = change(
        fiona, care, op="save", key="words", kind="choice", title_en="How did you reach us?",
        choices="Phone | 电话\nWeb | 网站\n\n",
    )  # fmt: skip
    assert saved.status_code == 303
    words = questions_of(session, care)[1][1]
    assert words["choices"] == [{"en": "Phone", "zh_CN": "电话"}, {"en": "Web", "zh_CN": "网站"}]
    assert words["required"] is False  # the box was not ticked
    assert change(fiona, care, op="remove", key="words").status_code == 303
    assert [q["key"] for q in questions_of(session, care)[1]] == ["overall"]


def test_a_wrong_question_is_refused_with_the_reason_and_what_was_typed_stays(
    org, client_for, care, session
):
    fiona = client_for("fiona")
    wrong = change(
        fiona, care, op="save", key="overall", kind="nps", title_en="Recommend?", gap="1"
    )
    assert wrong.status_code == 422
    assert "only a rating asks for the expectation too" in wrong.text
    assert 'value="Recommend?"' in wrong.text
    last = change(fiona, care, op="remove", key="overall")
    assert change(fiona, care, op="remove", key="words").status_code == 422  # none would be left
    assert last.status_code == 303
    assert [q["key"] for q in questions_of(session, care)[1]] == ["words"]


def test_editing_a_survey_with_answers_makes_a_new_version(org, client_for, care, session, as_user):
    link = surveys.invite(as_user(org.mia), care.id)
    surveys.answer(as_user(None), link.token, {"q_overall": "4"})
    fiona = client_for("fiona")
    page = fiona.client.get(f"/surveys/{care.id}/questions")
    assert "makes version 2" in page.text
    saved = change(fiona, care, op="up", key="words")
    assert saved.status_code == 303
    number, questions = questions_of(session, care)
    assert number == 2 and [q["key"] for q in questions] == ["words", "overall"]
    first = session.exec(
        select(SurveyVersion).where(SurveyVersion.survey_id == care.id, SurveyVersion.number == 1)
    ).one()
    assert [q["key"] for q in first.questions] == ["overall", "words"]  # as it was answered


def test_a_stale_form_is_a_conflict_and_a_member_may_not_edit(org, client_for, care):
    fiona = client_for("fiona")
    old = fiona.client.get(f"/surveys/{care.id}/questions").text
    version = re.search(r'name="version" value="(\d+)"', old).group(1)
    assert change(fiona, care, op="down", key="overall").status_code == 303
    stale = fiona.client.post(
        f"/surveys/{care.id}/questions",
        data={"csrf_token": fiona.csrf, "version": version, "op": "remove", "key": "words"},
    )
    assert stale.status_code == 409
    mia = client_for("mia")
    assert 'name="op"' not in mia.client.get(f"/surveys/{care.id}/questions").text
    refused = mia.client.post(
        f"/surveys/{care.id}/questions",
        data={"csrf_token": mia.csrf, "op": "remove", "key": "words"},
    )
    assert refused.status_code == 403


def test_the_pci_page_shows_the_survey_dimensions_it_selected_by_tag(org, client_for, as_user):
    fiona = as_user(org.fiona)
    kpis.create_kpi(
        fiona, code="CS-CSAT", name="Customer satisfaction", department_id=org.cs,
        target=4.2, warning_limit=3.8, breach_limit=3.0,
    )  # fmt: skip
    kpis.create_kpi(
        fiona, code="CARE-ASS-CS", name="Assurance (CS)", department_id=org.cs, target=4.0,
        tags=["survey-dimension"],
    )  # fmt: skip
    at = datetime(2026, 11, 24, tzinfo=UTC)
    kpis.ingest(fiona, [kpis.RowIn(1, "CS-CSAT", at, 3.6), kpis.RowIn(2, "CARE-ASS-CS", at, 4.5)])
    page = client_for("vera").client.get("/indexes/PCI?period=day")
    assert page.status_code == 200
    assert "KPIs tagged survey-dimension" in page.text
    assert "1 KPI shares this weight:" in page.text
    contributions = page.text.split('id="contributions"')[1].split("</section>")[0]
    assert "CARE-ASS-CS" in contributions and "tagged survey-dimension" in contributions
    assert "CS-NPS" in contributions  # a member without data is shown, never hidden


def upload(caller, survey, text):
    return caller.client.post(
        f"/surveys/{survey.id}/invitations/import",
        data={"csrf_token": caller.csrf},
        files={"file": ("cases.csv", text.encode(), "text/csv")},
        follow_redirects=False,
    )


def test_a_desk_uploads_closed_cases_on_the_survey_page_and_saves_the_links(
    org, client_for, care, session
):
    mia = client_for("mia")
    assert (
        f'action="/surveys/{care.id}/invitations/import'
        in mia.client.get(f"/surveys/{care.id}/questions").text
    )
    made = upload(mia, care, "case_ref,department,channel\nSD-7,CS,phone\nSD-8,IT,\n")
    assert made.status_code == 200
    table = made.text.split('data-testid="links"')[1].split("</table>")[0]
    assert table.count("/s/") == 2 * 2  # each link's href and its text
    assert "SD-7" in table and "SD-8" in table
    download = re.search(r'href="(data:text/csv[^"]+)"', made.text).group(1)
    saved = list(csv.DictReader(io.StringIO(unquote(download.split(",", 1)[1]).lstrip("\ufeff"))))
    assert [(r["case_ref"], r["department"], r["channel"]) for r in saved] == [
        ("SD-7", "CS", "phone"),
        ("SD-8", "IT", ""),
    ]
    assert all(r["url"] in table for r in saved)
    session.expire_all()
    assert len(session.exec(select(SurveyInvitation)).all()) == 2


def test_a_file_with_a_bad_line_makes_no_link_and_the_page_names_the_line(
    org, client_for, care, session
):
    mia = client_for("mia")
    wrong = upload(mia, care, "case_ref,department,channel\nSD-7,CS,phone\nSD-8,NOPE,fax\n")
    assert wrong.status_code == 422
    errors = wrong.text.split('data-testid="import-errors"')[1].split("</ul>")[0]
    assert "line 3" in errors and "NOPE" in errors and "channel" in errors
    assert "line 2" not in errors
    session.expire_all()
    assert session.exec(select(SurveyInvitation)).all() == []


def test_a_chinese_reader_sees_the_bad_line_of_a_case_file_in_chinese(
    org, client_for, care, session
):
    mia = client_for("mia")
    mia.client.post("/language", data={"lang": "zh_CN", "next": "/", "csrf_token": mia.csrf})

    wrong = upload(mia, care, "case_ref,department,channel\nSD-7,CS,phone\nSD-8,NOPE,fax\n")

    assert wrong.status_code == 422
    errors = html.unescape(wrong.text.split('data-testid="import-errors"')[1].split("</ul>")[0])
    assert "第 3 行：department：没有部门 'NOPE'。" in errors
    assert "第 3 行：channel：须为 " in errors
    assert "line 3" not in errors and "there is no department" not in errors
    session.expire_all()
    assert session.exec(select(SurveyInvitation)).all() == []


def test_a_facilitator_renames_and_retires_a_dimension_and_old_questions_keep_it(
    org, client_for, care, session
):
    fiona = client_for("fiona")
    session.expire_all()
    rel = session.exec(select(QualityDimension).where(QualityDimension.code == "REL")).one()

    def post(**fields):
        page = fiona.client.get("/surveys").text
        version = re.search(
            rf'/surveys/dimensions/{rel.id}".*?name="version" value="(\d+)"', page, re.S
        ).group(1)
        return fiona.client.post(
            f"/surveys/dimensions/{rel.id}",
            data={"csrf_token": fiona.csrf, "version": version, **fields},
            follow_redirects=False,
        )

    assert post(op="rename", name="Dependability", name_zh="可信赖").status_code == 303
    assert post(op="retire").status_code == 303
    listed = fiona.client.get("/surveys").text
    assert 'value="Dependability"' in listed and "retired" in listed
    editor = fiona.client.get(f"/surveys/{care.id}/questions").text
    old = editor.split('id="question-overall"')[1].split("</li>")[0]
    assert re.search(r'<option value="REL"\s+selected>REL · Dependability \(retired\)', old)
    new = editor.split('id="add"')[1]
    assert 'value="REL"' not in new
    # Saving the old question keeps its retired dimension; a new question cannot take it.
    kept = change(fiona, care, op="save", key="overall", kind="rating", title_en="Overall?",
                  dimension="REL", required="1")  # fmt: skip
    assert kept.status_code == 303
    refused = change(fiona, care, op="add", kind="rating", title_en="Again?", dimension="REL")
    assert refused.status_code == 422 and "REL" in refused.text
    assert (
        client_for("mia")
        .client.post(
            f"/surveys/dimensions/{rel.id}",
            data={"csrf_token": client_for("mia").csrf, "op": "restore"},
        )
        .status_code
        == 403
    )


def test_a_facilitator_creates_a_survey_and_turns_its_open_link_on_and_off(
    org, client_for, session
):
    fiona = client_for("fiona")
    form = {"csrf_token": fiona.csrf, "code": "care", "title": "How did we do?",
            "title_zh": "我们做得怎么样？", "department": str(org.cs),
            "q_en": "Overall?", "q_zh": "总体？", "dimension": "REL"}  # fmt: skip
    made = fiona.client.post("/surveys", data=form, follow_redirects=False)
    assert made.status_code == 303
    session.expire_all()
    survey = session.exec(select(Survey).where(Survey.code == "CARE")).one()
    assert made.headers["location"] == f"/surveys/{survey.id}/questions"
    again = fiona.client.post("/surveys", data=form)
    assert again.status_code == 409 and 'value="How did we do?"' in again.text

    page = fiona.client.get(f"/surveys/{survey.id}/questions").text
    assert "Off:" in page.split('data-testid="open-link-state"')[1]
    on = fiona.client.post(
        f"/surveys/{survey.id}/open-link", data={"csrf_token": fiona.csrf, "op": "on"}
    )
    url = re.search(r'data-testid="open-link">([^<]+)<', on.text).group(1)
    token = url.rsplit("/s/", 1)[1]
    assert fiona.client.get(f"/s/{token}").status_code == 200
    assert "On:" in on.text.split('data-testid="open-link-state"')[1]
    off = fiona.client.post(
        f"/surveys/{survey.id}/open-link",
        data={"csrf_token": fiona.csrf, "op": "off"},
        follow_redirects=False,
    )
    assert off.status_code == 303
    assert fiona.client.get(f"/s/{token}").status_code == 404
    mia = client_for("mia")
    assert (
        mia.client.post(
            f"/surveys/{survey.id}/open-link", data={"csrf_token": mia.csrf, "op": "on"}
        ).status_code
        == 403
    )
