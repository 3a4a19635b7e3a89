"""A Chinese reader in Shanghai reads when a silent KPI was last measured, in her own terms."""

from datetime import timedelta

from pdca.services import kpis
from tests.conftest import NOW, Org
from tests.services.test_kpis import a_kpi, point


def test_the_last_measurement_reads_in_the_readers_locale_and_zone(
    client_for, org: Org, as_user
) -> None:
    fiona = as_user(org.fiona)
    a_kpi(fiona, org, code="QUIET", rules=["missing_data"], interval_hours=24)
    kpis.ingest(fiona, point("QUIET", NOW - timedelta(hours=48), 81))  # 48 h ago, in UTC
    [problem_id] = kpis.check_missing_data(as_user(None))
    browser, csrf = client_for("fiona")
    browser.post("/language", data={"csrf_token": csrf, "lang": "zh_CN", "next": "/"})
    browser.cookies.set("pdca_tz", "Asia/Shanghai")  # what pdca.js writes

    page = browser.get(f"/problems/{problem_id}").text

    shanghai = NOW - timedelta(hours=48) + timedelta(hours=8)
    assert f"{shanghai.year}年{shanghai.month}月{shanghai.day}日 {shanghai:%H:%M}" in page
    assert f"{(NOW - timedelta(hours=48)):%Y-%m-%d %H:%M} UTC" not in page
