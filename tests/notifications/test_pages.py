"""The inbox, the preferences and the calendar feed, from the browser's side."""

from icalendar import Calendar
from sqlmodel import select

from pdca.models import Notification
from pdca.services import escalation, notify_rules
from tests.pages.conftest import csrf_of
from tests.services.builders_services import a_cycle_in_do


def test_the_navigation_counts_unread_notifications_and_the_inbox_marks_them_read(
    org, as_user, clock, client_for, session
):
    built = a_cycle_in_do(org, as_user, clock)
    notify_rules.run(as_user(None), mail=False)
    mia = client_for("mia", next="/notifications")
    page = mia.client.get("/notifications")
    assert page.status_code == 200
    assert 'title="Unread notifications">1</span>' in page.text
    assert f'href="/actions/{built.rota.id}"' in page.text
    assert "“Stagger breaks” is yours now." in page.text

    [line] = session.exec(select(Notification).where(Notification.user_id == org.mia.id))
    gone = mia.client.post(
        f"/notifications/{line.id}/read", data={"csrf_token": mia.csrf}, follow_redirects=False
    )
    assert gone.status_code == 303
    page = mia.client.get("/notifications")
    assert 'title="Unread notifications"' not in page.text
    assert "Mark read" not in page.text

    # Max's notification is not Mia's to touch: it does not exist for her.
    [maxs] = session.exec(select(Notification).where(Notification.user_id == org.max.id))
    refused = mia.client.post(
        f"/notifications/{maxs.id}/read", data={"csrf_token": mia.csrf}, follow_redirects=False
    )
    assert refused.status_code == 404


def test_mark_all_read_with_htmx_answers_the_inbox_in_place(org, as_user, clock, client_for):
    a_cycle_in_do(org, as_user, clock)
    clock.advance(days=9)  # overdue: "assigned" and "overdue" wait
    escalation.run(as_user(None), mail=False)
    notify_rules.run(as_user(None), mail=False)
    mia = client_for("mia", next="/notifications")
    page = mia.client.get("/notifications?unread=1")
    assert page.text.count('class="inbox-line unread"') == 2
    answer = mia.client.post(
        "/notifications/read-all",
        data={"csrf_token": mia.csrf, "up_to": "999"},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<section id="inbox"')
    assert "Everything is marked read." in answer.text


def test_preferences_are_saved_from_the_profile_and_wrong_ones_come_back_with_the_input(
    org, client_for
):
    mia = client_for("mia", next="/profile")
    form = {
        "csrf_token": mia.csrf,
        "version": "0",
        "kinds": ["assigned", "overdue"],
        "urgent_kinds": ["overdue"],
        "email_digest": "1",
        "digest_hour": "25",
        "time_zone": "Asia/Shanghai",
        "due_soon_days": "3",
    }
    refused = mia.client.post("/profile/notifications", data=form)
    assert refused.status_code == 422
    assert "Choose the digest&#39;s hour, 0 to 23." in refused.text
    assert '<option value="Asia/Shanghai" selected>' in refused.text
    saved = mia.client.post(
        "/profile/notifications", data={**form, "digest_hour": "8"}, follow_redirects=False
    )
    assert saved.status_code == 303
    page = mia.client.get("/profile")
    assert 'name="version" value="1"' in page.text
    assert '<option value="8" selected>08:00</option>' in page.text
    stale = mia.client.post("/profile/notifications", data={**form, "digest_hour": "9"})
    assert stale.status_code == 409


def test_the_calendar_feed_holds_my_deadlines_with_stable_uids_and_404s_once_revoked(
    org, as_user, clock, client_for, anonymous
):
    built = a_cycle_in_do(org, as_user, clock)
    mia = client_for("mia", next="/profile")
    made = mia.client.post(
        "/profile/calendar", data={"csrf_token": mia.csrf}, follow_redirects=False
    )
    assert made.status_code == 200 and made.headers["Cache-Control"] == "no-store"
    url = made.text.split('id="calendar-url" readonly value="', 1)[1].split('"', 1)[0]
    path = url.split("testserver", 1)[1]

    first = anonymous.get(path)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(first.content)
    events = {str(e["uid"]): e for e in calendar.walk("VEVENT")}
    uid = f"pdca-action-{built.rota.id}@pdca"
    assert set(events) == {uid}  # Mia's action only; Max's is his
    deadline = events[uid]
    assert deadline.decoded("dtstart") == built.rota.deadline  # an all-day DATE
    assert "VALUE=DATE" in first.text and "DTSTAMP:20261125T090000Z" in first.text
    assert str(deadline["summary"]).startswith(f"A-{built.rota.id} due: Stagger breaks")

    clock.advance(hours=1)
    again = Calendar.from_ical(anonymous.get(path).content)
    assert [str(e["uid"]) for e in again.walk("VEVENT")] == [uid]

    fiona = client_for("fiona", next="/profile")
    feed = fiona.client.post("/profile/calendar", data={"csrf_token": fiona.csrf})
    fiona_path = feed.text.split("testserver", 1)[1].split('"', 1)[0]
    leads = Calendar.from_ical(anonymous.get(fiona_path).content)
    assert [str(e["uid"]) for e in leads.walk("VEVENT")] == [
        f"pdca-cycle-{built.cycle.id}-actions-due@pdca"
    ]

    revoked = mia.client.post(
        "/profile/calendar/revoke", data={"csrf_token": mia.csrf}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert anonymous.get(path).status_code == 404
    assert anonymous.get("/calendar/pdcacal_guess.ics").status_code == 404
    page = mia.client.get("/profile")
    assert "You have no calendar feed." in page.text and csrf_of(page.text)


def test_an_overdue_action_says_where_the_ladder_took_it_on_its_page(
    org, as_user, clock, client_for
):
    built = a_cycle_in_do(org, as_user, clock)
    clock.advance(days=10)
    escalation.run(as_user(None), mail=False)
    hanna = client_for("hanna", next=f"/actions/{built.rota.id}")
    page = hanna.client.get(f"/actions/{built.rota.id}")
    assert "Escalated to the head of CS on Dec 5, 2026" in page.text
    board = hanna.client.get("/board")
    assert "Escalated to the head of CS on Dec 5, 2026" in board.text


def test_the_inbox_tells_the_time_in_the_readers_time_zone(org, as_user, clock, client_for):
    from pdca.services import notifications

    a_cycle_in_do(org, as_user, clock)  # at 09:00 UTC
    notify_rules.run(as_user(None), mail=False)
    notifications.save_preferences(
        as_user(org.mia),
        version=0,
        kinds_on=list(notifications.KINDS),
        urgent_kinds=[],
        email_digest=True,
        digest_hour=7,
        time_zone="Asia/Shanghai",
        due_soon_days=2,
        muted=False,
    )
    mia = client_for("mia", next="/notifications")
    page = mia.client.get("/notifications")
    assert "11/25/26, 5:00\u202fPM" in page.text or "11/25/26, 5:00 PM" in page.text


def test_an_administrator_sets_the_ladder_and_registers_a_webhook_on_one_page(org, client_for):
    admin = client_for("admin", next="/admin/notifications")
    page = admin.client.get("/admin/notifications")
    assert page.status_code == 200
    assert '<option value="head" selected>' in page.text  # the default ladder's second step

    wrong = {
        "csrf_token": admin.csrf,
        "version": "0",
        "days": ["0", "5", "3", "", "", ""],
        "to": ["owner", "head", "quality", "", "", ""],
    }
    refused = admin.client.post(
        "/admin/notifications/ladder", data=wrong, headers={"HX-Request": "true"}
    )
    assert refused.status_code == 422
    assert refused.text.lstrip().startswith('<section id="ladder"')
    assert "Step 3: each step comes later than the one before." in refused.text
    assert 'value="5"' in refused.text  # what was typed is still there
    saved = admin.client.post(
        "/admin/notifications/ladder",
        data={**wrong, "days": ["1", "2", "10", "", "", ""]},
        follow_redirects=False,
    )
    assert saved.status_code == 303

    no_kinds = admin.client.post(
        "/admin/notifications/webhooks",
        data={"csrf_token": admin.csrf, "url": "https://desk.example.org/h"},
    )
    assert no_kinds.status_code == 422
    assert "Choose at least one kind of event." in no_kinds.text
    made = admin.client.post(
        "/admin/notifications/webhooks",
        data={
            "csrf_token": admin.csrf,
            "url": "https://desk.example.org/h",
            "kinds": "action.done",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    page = admin.client.get("/admin/notifications")
    assert "https://desk.example.org/h" in page.text and "None yet" in page.text
    assert '<option value="quality" selected>' in page.text


def test_only_administrators_see_the_notifications_administration(org, client_for):
    hanna = client_for("hanna", next="/my-work")
    assert hanna.client.get("/admin/notifications").status_code == 403
