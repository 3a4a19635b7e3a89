"""A client reads its preferences, changes one thing and puts them back, as clients do."""

from pdca.services import calendar_feed

URL = "/api/v1/notifications/preferences"


def test_a_client_puts_back_what_it_read_with_one_field_changed(client, tokens, auth):
    mia = auth(tokens["mia"])
    read = client.get(URL, headers=mia).json()
    assert read["calendar_feed"] is False

    saved = client.put(URL, json={**read, "digest_hour": 6}, headers=mia)

    assert saved.status_code == 200, saved.text
    assert saved.json() == {**read, "digest_hour": 6, "version": read["version"] + 1}
    assert client.get(URL, headers=mia).json() == saved.json()


def test_the_calendar_feed_goes_back_as_read_and_cannot_be_switched_by_a_put(
    client, tokens, auth, org, as_user
):
    mia = auth(tokens["mia"])
    calendar_feed.create_token(as_user(org.mia))
    read = client.get(URL, headers=mia).json()
    assert read["calendar_feed"] is True

    # Sending it back as read, or not at all, saves the rest.
    assert client.put(URL, json={**read, "muted": True}, headers=mia).status_code == 200
    again = client.get(URL, headers=mia).json()
    without = {k: v for k, v in again.items() if k != "calendar_feed"}
    assert client.put(URL, json={**without, "muted": False}, headers=mia).status_code == 200

    # Turning the feed off here would be a silent no-op: it is refused, with the reason.
    latest = client.get(URL, headers=mia).json()
    refused = client.put(URL, json={**latest, "calendar_feed": False, "muted": True}, headers=mia)
    assert refused.status_code == 422
    assert [r["code"] for r in refused.json()["reasons"]] == ["calendar_feed_read_only"]
    assert client.get(URL, headers=mia).json() == latest
    # null is not a value of a boolean.
    assert client.put(URL, json={**latest, "calendar_feed": None}, headers=mia).status_code == 422


def test_the_document_says_the_calendar_feed_is_read_only(client):
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    sent = schemas["PreferencesIn"]["properties"]["calendar_feed"]
    assert sent["type"] == "boolean" and "Read-only" in sent["description"]
    assert "calendar_feed" not in schemas["PreferencesIn"].get("required", [])
