"""The kinds of issue 12 that the other files do not walk: a reminder before the deadline
(as many days ahead as the owner chose, once per deadline) and the owner hearing that
their action was verified."""

from datetime import timedelta

from sqlmodel import col, select

from pdca.models import Notification
from pdca.services import actions, notifications, notify_rules, reminders
from tests.services.builders_services import a_cycle_in_do, finish_actions


def told(session, user, kind: str) -> list[str]:
    rows = session.exec(
        select(Notification)
        .where(Notification.user_id == user.id, Notification.kind == kind)
        .order_by(col(Notification.id))
        .execution_options(populate_existing=True)
    )
    return [f"{n.params['key']} {n.params.get('deadline', '')}".strip() for n in rows]


def wants_days_ahead(ctx, days: int) -> None:
    notifications.save_preferences(
        ctx,
        version=0,
        kinds_on=list(notifications.KINDS),
        urgent_kinds=[],
        email_digest=True,
        digest_hour=7,
        time_zone="UTC",
        due_soon_days=days,
        muted=False,
    )


def test_an_owner_is_reminded_as_many_days_ahead_as_she_chose_once_per_deadline(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)  # Mia's rota is due in 7 days, Max's IVR in 14
    wants_days_ahead(as_user(org.mia), 3)
    system = as_user(None)
    rota = f"A-{built.rota.id}"

    clock.advance(days=3)  # 4 days left: too early for Mia
    reminders.run(system, mail=False)
    assert told(session, org.mia, "due_soon") == []

    clock.advance(days=1)  # 3 days left
    reminders.run(system, mail=False)
    reminders.run(system, mail=False)
    deadline = (clock.today() + timedelta(days=3)).isoformat()
    assert told(session, org.mia, "due_soon") == [f"{rota} {deadline}"]
    assert told(session, org.max, "due_soon") == []  # 10 days left, he keeps the default 2

    clock.advance(days=1)
    reminders.run(system, mail=False)
    assert told(session, org.mia, "due_soon") == [f"{rota} {deadline}"]  # still once

    # A new deadline is a new reminder when its turn comes.
    later = clock.today() + timedelta(days=3)  # a day later than before, 3 days ahead
    actions.update_action(
        as_user(org.fiona), built.rota.id, version=None, changes={"deadline": later}
    )
    reminders.run(system, mail=False)
    assert told(session, org.mia, "due_soon") == [
        f"{rota} {deadline}",
        f"{rota} {later.isoformat()}",
    ]


def test_a_done_action_is_not_reminded_and_its_owner_hears_it_was_verified(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)
    finish_actions(org, as_user, built)  # Mia and Max complete, Fiona verifies both
    clock.advance(days=6)
    system = as_user(None)
    reminders.run(system, mail=False)
    notify_rules.run(system, mail=False)
    notify_rules.run(system, mail=False)

    assert told(session, org.mia, "due_soon") == []
    assert told(session, org.mia, "verified") == [f"A-{built.rota.id}"]
    assert told(session, org.max, "verified") == [f"A-{built.ivr.id}"]
    assert told(session, org.fiona, "verified") == []  # she verified them herself
