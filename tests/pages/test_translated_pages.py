"""The pages in Simplified Chinese: chosen with the header's switch, kept on the profile."""

from tests.personas import PASSWORD
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


def test_a_throttled_sign_in_is_told_to_wait_in_chinese(anonymous, org):
    zh = {"Accept-Language": "zh-CN,zh;q=0.9"}
    for _ in range(5):
        wrong = {"email": "mia@example.com", "password": "a wrong guess"}
        assert anonymous.post("/login", data=wrong, headers=zh).status_code == 401

    right = {"email": "mia@example.com", "password": PASSWORD}
    page = anonymous.post("/login", data=right, headers=zh)

    assert page.status_code == 429
    assert page.headers["retry-after"] == "1"
    assert "登录失败次数过多；请在 1 秒后重试。" in page.text


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


def test_a_problem_a_kpi_rule_raised_reads_in_chinese_for_a_chinese_reader(
    org, as_user, client_for, session
):
    from tests.pages.test_kpi_pages import a_kpi, days_ago, feed, kpi_problem

    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org, name_zh="服务水平")
    feed(fiona, "CS-SL", [64.5], days_ago(1))
    problem = kpi_problem(session, kpi)
    reader = client_for("hanna")
    _switch_to_chinese(reader, f"/problems/{problem.id}")

    page = reader.client.get(f"/problems/{problem.id}").text
    listed = reader.client.get("/problems").text

    title = "CS-SL 服务水平: 64.5 低于超限值（70）。"
    assert f"</span> {title}</h1>" in page
    assert "规则：超出限值" in page
    assert "limit_breach" not in page and "is below the breach limit" not in page
    assert title in listed
    # English readers keep the English, and the API keeps the stored English title.
    english = client_for("fiona").client.get(f"/problems/{problem.id}").text
    assert "CS-SL Service level: 64.5 is below the breach limit (70)." in english
    assert "Rule: Breach of a limit" in english


def test_notes_the_system_wrote_in_a_cycles_history_read_in_chinese(
    org, as_user, clock, client_for
):
    from pdca.services import cycles
    from tests.services.builders_services import a_cycle_in_check

    built = a_cycle_in_check(org, as_user, clock)
    fiona, cycle = as_user(org.fiona), built.cycle
    cycles.update_cycle_fields(fiona, cycle.id, version=cycle.version, changes={"result": 70})
    cycles.record_effectiveness(
        as_user(org.frank), cycle.id, effective=False, note="still 70%", version=cycle.version
    )
    cycles.fire_transition(fiona, cycle.id, trigger="start_act", version=cycle.version)
    # Another turn of the spiral: its effect resets the iteration's fields, noted by the system.
    cycles.fire_transition(fiona, cycle.id, trigger="next_iteration", version=cycle.version)
    reader = client_for("fiona")
    _switch_to_chinese(reader, f"/cycles/{cycle.id}")

    page = reader.client.get(f"/cycles/{cycle.id}").text

    assert "的效果" in page  # "effect of …" on the fields the step changed
    assert "effect of" not in page


def test_dates_follow_the_readers_region_and_language(org, as_user, clock, client_for):
    a_cycle_in_do(org, as_user, clock)  # Mia's action is due on 2 December 2026
    mia = client_for("mia").client

    british = mia.get("/board", headers={"Accept-Language": "en-GB,en;q=0.9"}).text
    american = mia.get("/board", headers={"Accept-Language": "en-US,en;q=0.9"}).text

    assert "2 Dec 2026" in british and "Dec 2, 2026" not in british
    assert "Dec 2, 2026" in american and "2 Dec 2026" not in american
    reader = client_for("hanna")
    _switch_to_chinese(reader)
    assert "2026年12月2日" in reader.client.get("/board").text


def test_a_chinese_lead_picks_the_kpi_by_its_chinese_name_and_the_chart_is_titled_so(
    org, as_user, client_for, clock
):
    from tests.pages.test_kpi_pages import a_kpi, days_ago, feed

    built = a_cycle_in_do(org, as_user, clock)
    fiona = as_user(org.fiona)
    kpi = a_kpi(fiona, org, name_zh="服务水平")
    feed(fiona, "CS-SL", [82.0, 84.5, 83.0], days_ago(5))
    lead = client_for("fiona")
    page = f"/cycles/{built.cycle.id}"
    _switch_to_chinese(lead, page)

    picker = lead.client.get(page).text
    assert f'<option value="{kpi.id}">CS-SL · 服务水平</option>' in picker
    version = lead.client.get(f"/api/v1/cycles/{built.cycle.id}").json()["version"]
    linked = lead.client.post(
        f"{page}/kpi", data={"csrf_token": lead.csrf, "version": version, "kpi_id": kpi.id}
    )

    assert linked.status_code == 200
    assert "CS-SL 服务水平" in linked.text  # the chart's title
    assert "CS-SL Service level" not in linked.text and "· Service level" not in picker
