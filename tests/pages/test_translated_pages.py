"""The pages in Simplified Chinese: chosen with the header's switch, kept on the profile."""

from tests.services.builders_services import a_cycle_in_do


def _switch_to_chinese(signed_in, next_page: str = "/board") -> None:
    switched = signed_in.client.post(
        "/language",
        data={"lang": "zh_CN", "next": next_page, "csrf_token": signed_in.csrf},
        follow_redirects=False,
    )
    assert switched.status_code == 303
    assert switched.headers["location"] == next_page


def test_the_board_is_in_chinese_after_switching_the_language(client_for):
    fiona = client_for("fiona")
    _switch_to_chinese(fiona)

    board = fiona.client.get("/board")

    assert board.status_code == 200
    assert '<html lang="zh-CN">' in board.text
    assert ">措施看板</a>" in board.text  # the header's navigation
    assert ">改进循环</a>" in board.text and ">问题</a>" in board.text
    assert "<h1>措施看板</h1>" in board.text
    assert "已完成待验证" in board.text  # a column
    assert "Action board" not in board.text


def test_a_refused_next_step_says_why_in_chinese_on_the_cycle_workspace(
    org, as_user, clock, client_for
):
    built = a_cycle_in_do(org, as_user, clock)
    fiona = client_for("fiona")
    _switch_to_chinese(fiona, f"/cycles/{built.cycle.id}")

    page = fiona.client.get(f"/cycles/{built.cycle.id}")

    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert 'data-trigger="start_check"' in page.text
    assert ">开始检查</button>" in page.text  # the workflow file's own title
    assert f"2 项措施未完成：A-{built.rota.id}, A-{built.ivr.id}" in page.text
    assert "actions are not done" not in page.text


def test_firing_the_refused_step_answers_with_the_reasons_in_chinese(
    org, as_user, clock, client_for
):
    built = a_cycle_in_do(org, as_user, clock)
    fiona = client_for("fiona")
    _switch_to_chinese(fiona, f"/cycles/{built.cycle.id}")

    response = fiona.client.post(
        f"/cycles/{built.cycle.id}/transitions",
        data={"csrf_token": fiona.csrf, "trigger": "start_check", "version": built.cycle.version},
    )

    assert response.status_code == 409
    refusal = response.text.split('data-testid="refusal"', 1)[1].split("</div>", 1)[0]
    assert f"2 项措施未完成：A-{built.rota.id}, A-{built.ivr.id}" in refusal


def test_the_choice_is_kept_on_the_profile_for_every_browser(client_for):
    _switch_to_chinese(client_for("hanna"))

    elsewhere = client_for("hanna")  # signs in again in another browser
    profile = elsewhere.client.get("/profile")

    assert '<html lang="zh-CN">' in profile.text
    assert "<h1>个人资料</h1>" in profile.text


def test_the_sign_in_page_follows_the_browsers_language(anonymous):
    page = anonymous.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})

    assert '<html lang="zh-CN">' in page.text
    assert "<h1>登录 pdca</h1>" in page.text


def test_the_refusal_heading_and_a_stale_form_read_in_chinese(org, as_user, clock, client_for):
    built = a_cycle_in_do(org, as_user, clock)
    fiona = client_for("fiona")
    _switch_to_chinese(fiona)
    url = f"/cycles/{built.cycle.id}"

    refused = fiona.client.post(
        f"{url}/transitions",
        data={"csrf_token": fiona.csrf, "trigger": "start_check", "version": built.cycle.version},
    )
    stale = fiona.client.post(
        f"{url}/fields",
        data={"csrf_token": fiona.csrf, "version": built.cycle.version - 1 or 99, "result": "70"},
    )

    assert refused.status_code == 409
    assert f"C-{built.cycle.id}：暂时无法执行“开始检查”。" in refused.text
    assert stale.status_code == 409
    assert "已被他人修改" in stale.text


def test_the_cycle_history_names_steps_and_states_in_chinese(org, as_user, clock, client_for):
    built = a_cycle_in_do(org, as_user, clock)
    fiona = client_for("fiona")
    _switch_to_chinese(fiona)

    page = fiona.client.get(f"/cycles/{built.cycle.id}").text
    history = page.split('id="history"', 1)[1]

    assert "已推进" in history and "计划 → 执行" in history
    assert "field changed" not in history and "transition" not in history
