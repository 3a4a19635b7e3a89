"""The API speaks the caller's language: Accept-Language, else the profile's; codes never change."""

import re

from pdca.services import organisation
from tests.personas import PASSWORD
from tests.services.builders_services import a_cycle_in_do

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def test_transitions_and_their_reasons_come_in_chinese_when_asked(
    client, tokens, auth, org, as_user, clock
) -> None:
    built = a_cycle_in_do(org, as_user, clock)
    url = f"/api/v1/cycles/{built.cycle.id}/transitions"

    english = client.get(url, headers=auth(tokens["fiona"])).json()
    chinese = client.get(url, headers={**auth(tokens["fiona"]), **ZH}).json()

    check = next(t for t in chinese if t["trigger"] == "start_check")
    assert check["title"] == "开始检查"
    assert any("项措施未完成" in r["message"] for r in check["reasons"])
    assert [t["trigger"] for t in chinese] == [t["trigger"] for t in english]
    assert [r["code"] for r in check["reasons"]] == [
        r["code"] for r in next(t for t in english if t["trigger"] == "start_check")["reasons"]
    ]
    cycle = client.get(f"/api/v1/cycles/{built.cycle.id}", headers={**auth(tokens["fiona"]), **ZH})
    assert cycle.json()["state"] == "do" and cycle.json()["state_title"] == "执行"


def test_a_refusal_in_problem_json_speaks_the_profile_language_without_a_header(
    client, tokens, auth, org, as_user, clock
) -> None:
    built = a_cycle_in_do(org, as_user, clock)
    organisation.set_locale(as_user(org.fiona), "zh_CN")

    refused = client.post(
        f"/api/v1/cycles/{built.cycle.id}/transitions",
        json={"trigger": "start_check", "version": built.cycle.version},
        headers=auth(tokens["fiona"]),
    )

    assert refused.status_code == 409
    body = refused.json()
    assert any("项措施未完成" in r["message"] for r in body["reasons"])
    assert body["detail"].endswith("暂时无法执行“开始检查”。")
    # An explicit header wins over the profile.
    again = client.post(
        f"/api/v1/cycles/{built.cycle.id}/transitions",
        json={"trigger": "start_check", "version": built.cycle.version},
        headers={**auth(tokens["fiona"]), "Accept-Language": "en"},
    )
    assert any("actions are not done" in r["message"] for r in again.json()["reasons"])


def test_action_moves_are_named_in_the_callers_language(
    client, tokens, auth, org, as_user, clock
) -> None:
    built = a_cycle_in_do(org, as_user, clock)

    moves = client.get(
        f"/api/v1/actions/{built.rota.id}/transitions", headers={**auth(tokens["mia"]), **ZH}
    ).json()

    start = next(m for m in moves if m["trigger"] == "start")
    assert start["title"] == "开始"


def test_a_throttled_sign_in_is_told_to_wait_in_the_callers_language(client, org) -> None:
    def sign_in(password: str, headers: dict[str, str] | None = None):
        body = {"email": "mia@example.com", "password": password}
        return client.post("/api/v1/session", json=body, headers=headers or {})

    for _ in range(5):
        assert sign_in("a wrong guess").status_code == 401

    chinese = sign_in(PASSWORD, ZH)
    english = sign_in(PASSWORD, {"Accept-Language": "en"})

    assert chinese.status_code == english.status_code == 429
    assert chinese.headers["retry-after"] == english.headers["retry-after"] == "1"
    assert chinese.json()["detail"] == "登录失败次数过多；请在 1 秒后重试。"
    assert english.json()["detail"] == "Too many failed sign-ins; try again in 1 second."
    # What a program reads stays the same in every language.
    assert chinese.json()["type"] == english.json()["type"]


def test_a_body_that_breaks_the_schema_is_explained_in_chinese_with_the_fields_as_sent(
    client, tokens, auth, org
) -> None:
    bad = {"title": "x" * 301, "source": "rumour", "colour": "red"}
    chinese = {**auth(tokens["fiona"]), **ZH}

    answer = client.post("/api/v1/problems", json=bad, headers=chinese)

    assert answer.status_code == 422
    body = answer.json()
    by_field = {r["field"]: r["message"] for r in body["reasons"]}
    assert by_field["colour"] == "colour：不是此请求的字段。"
    assert by_field["title"] == "title：最多 300 个字符。"
    assert "'complaint'" in by_field["source"] and " or " not in by_field["source"]
    assert body["detail"] == "请求无效，详见各项原因。"
    untitled = client.post("/api/v1/problems", json={"source": "kpi"}, headers=chinese).json()
    assert [r["message"] for r in untitled["reasons"]] == ["title：必填。"]
    for reason in [*body["reasons"], *untitled["reasons"]]:
        assert not re.search(r"\b(Field|Input|should|required|Extra)\b", reason["message"])
    english = client.post("/api/v1/problems", json=bad, headers=auth(tokens["fiona"])).json()
    assert {r["field"]: r["message"] for r in english["reasons"]}["colour"] == (
        "colour: not a field of this request."
    )
