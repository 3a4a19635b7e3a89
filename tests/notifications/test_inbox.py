"""People hear of what concerns them: the trail becomes their inbox, once."""

import pytest
from sqlmodel import col, select

from pdca.models import Notification
from pdca.services import actions, comments, notifications, notify_rules
from pdca.services.errors import Invalid, NotFound
from tests.services.builders_services import a_cycle_in_do, a_planned_cycle


def inbox_of(session, user) -> list[tuple[str, str]]:
    rows = session.exec(
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(col(Notification.id))
        .execution_options(populate_existing=True)
    )
    return [(n.kind, n.params.get("key", "")) for n in rows]


def test_an_owner_hears_an_action_is_assigned_to_them_once_however_often_the_job_runs(
    org, as_user, clock, session
):
    built = a_planned_cycle(org, as_user, clock)
    system = as_user(None)
    notify_rules.run(system, mail=False)
    notify_rules.run(system, mail=False)
    assert inbox_of(session, org.mia) == [("assigned", f"A-{built.rota.id}")]
    assert inbox_of(session, org.max) == [("assigned", f"A-{built.ivr.id}")]
    # Fiona assigned them herself: nothing to tell her.
    assert inbox_of(session, org.fiona) == []


def test_a_done_action_waits_for_the_verifiers_and_its_owner_hears_it_is_reopened(
    org, as_user, clock, session
):
    built = a_cycle_in_do(org, as_user, clock)
    actions.fire_action(as_user(org.mia), built.rota.id, trigger="complete", version=None)
    notify_rules.run(as_user(None), mail=False)
    assert ("to_verify", f"A-{built.rota.id}") in inbox_of(session, org.fiona)
    assert ("to_verify", f"A-{built.rota.id}") in inbox_of(session, org.frank)
    assert not any(k == "to_verify" for k, _ in inbox_of(session, org.mia))

    actions.fire_action(
        as_user(org.fiona), built.rota.id, trigger="reopen", version=None, note="not yet"
    )
    notify_rules.run(as_user(None), mail=False)
    assert inbox_of(session, org.mia)[-1] == ("reopened", f"A-{built.rota.id}")


def test_a_comment_that_mentions_someone_tells_them(org, as_user, clock, session):
    built = a_planned_cycle(org, as_user, clock)
    comments.add_comment(
        as_user(org.fiona), "action", built.ivr.id, "@max can the IVR call back? cc @nobody"
    )
    notify_rules.run(as_user(None), mail=False)
    mentioned = [n for n in session.exec(select(Notification)) if n.kind == "mentioned"]
    assert [(n.user_id, n.params["author"]) for n in mentioned] == [
        (org.max.id, "Fiona Facilitator")
    ]
    text = notifications.text_of("mentioned", mentioned[0].params, "en")
    assert text.startswith("Fiona Facilitator mentioned you on A-")


def test_the_inbox_speaks_the_readers_language_and_links_to_the_thing(org, as_user, clock, session):
    built = a_planned_cycle(org, as_user, clock)
    notify_rules.run(as_user(None), mail=False)
    [line] = notifications.inbox(as_user(org.mia), "zh_CN")
    assert line.link == f"/actions/{built.rota.id}"
    assert "现在由你负责" in line.text
    assert not line.read


def test_reading_marks_one_or_all_read_and_never_someone_elses(org, as_user, clock, session):
    a_planned_cycle(org, as_user, clock)
    notify_rules.run(as_user(None), mail=False)
    mia = as_user(org.mia)
    [line] = notifications.inbox(mia, "en")
    assert notifications.unread_count(session, org.mia.id) == 1
    with pytest.raises(NotFound):
        notifications.mark_read(as_user(org.max), line.id)
    notifications.mark_read(mia, line.id)
    assert notifications.unread_count(session, org.mia.id) == 0
    [maxs] = notifications.inbox(as_user(org.max), "en")
    assert notifications.mark_all_read(as_user(org.max), up_to=maxs.id - 1) == 0
    assert notifications.mark_all_read(as_user(org.max), up_to=maxs.id) == 1


def test_a_kind_turned_off_stays_out_of_the_inbox(org, as_user, clock, session):
    mia = as_user(org.mia)
    notifications.save_preferences(
        mia,
        version=0,
        kinds_on=[k for k in notifications.KINDS if k != "assigned"],
        urgent_kinds=[],
        email_digest=True,
        digest_hour=8,
        time_zone="Asia/Shanghai",
        due_soon_days=3,
        muted=False,
    )
    a_planned_cycle(org, as_user, clock)
    notify_rules.run(as_user(None), mail=False)
    assert inbox_of(session, org.mia) == []
    assert inbox_of(session, org.max) != []


def test_wrong_preferences_are_refused_field_by_field_and_a_stale_form_is_a_conflict(org, as_user):
    mia = as_user(org.mia)
    with pytest.raises(Invalid) as refused:
        notifications.save_preferences(
            mia,
            version=0,
            kinds_on=["assigned", "gossip"],
            urgent_kinds=[],
            email_digest=True,
            digest_hour=24,
            time_zone="Mars/Olympus",
            due_soon_days=-1,
            muted=False,
        )
    codes = {r.code for r in refused.value.reasons}
    assert codes == {
        "kinds_unknown",
        "digest_hour_invalid",
        "time_zone_invalid",
        "due_soon_days_invalid",
    }
    saved = notifications.save_preferences(
        mia,
        version=0,
        kinds_on=list(notifications.KINDS),
        urgent_kinds=["overdue"],
        email_digest=False,
        digest_hour=6,
        time_zone="UTC",
        due_soon_days=2,
        muted=True,
    )
    assert saved.version == 1 and saved.muted and saved.urgent_kinds == {"overdue"}
    from pdca.services.errors import Conflict

    with pytest.raises(Conflict):
        notifications.save_preferences(
            mia,
            version=0,
            kinds_on=[],
            urgent_kinds=[],
            email_digest=True,
            digest_hour=6,
            time_zone="UTC",
            due_soon_days=2,
            muted=False,
        )


def test_monitoring_tells_the_head_of_the_department_a_problem_was_raised(
    org, as_user, clock, session
):
    from datetime import timedelta

    from pdca.services import kpis
    from pdca.services.kpis import RowIn

    kpi = kpis.create_kpi(
        as_user(org.fiona),
        code="CS-SL",
        name="Service level",
        unit="%",
        department_id=org.cs,
        direction="higher",
        target=80.0,
        breach_limit=70.0,
        rules=["limit_breach"],
    )
    kpis.ingest(as_user(org.mia), [RowIn(1, kpi.id, clock.now - timedelta(hours=1), 61.0)])
    notify_rules.run(as_user(None), mail=False)
    [(kind, problem_key)] = inbox_of(session, org.hanna)
    assert kind == "problem_raised" and problem_key.startswith("P-")
    assert inbox_of(session, org.ivan) == []  # IT's head: not his department


def test_the_lead_hears_that_the_cycle_was_judged_not_effective(org, as_user, clock, session):
    from pdca.services import cycles
    from tests.services.builders_services import a_cycle_in_check

    built = a_cycle_in_check(org, as_user, clock)
    cycles.update_cycle_fields(
        as_user(org.fiona), built.cycle.id, version=None, changes={"result": 62}
    )
    cycles.record_effectiveness(
        as_user(org.frank), built.cycle.id, effective=False, note="62%, short of 80%", version=None
    )
    notify_rules.run(as_user(None), mail=False)
    assert ("cycle_refused", f"C-{built.cycle.id}") in inbox_of(session, org.fiona)


def _close_as(closer, org, as_user, clock):
    """A cycle Fiona leads, taken from Check to closed (effective) by `closer`."""
    from pdca.services import cycles
    from tests.services.builders_services import a_cycle_in_check, signed

    built = a_cycle_in_check(org, as_user, clock)
    cycle, ctx = built.cycle, as_user(closer)
    cycles.update_cycle_fields(ctx, cycle.id, version=None, changes={"result": 84})
    cycles.record_effectiveness(
        as_user(org.frank), cycle.id, effective=True, note="84% for two weeks", version=None
    )
    cycles.fire_transition(ctx, cycle.id, trigger="start_act", version=None)
    cycles.update_cycle_fields(
        ctx, cycle.id, version=None, changes={"standardisation": "Rota in the SOP"}
    )
    cycles.fire_transition(
        ctx,
        cycle.id,
        trigger="close_effective",
        version=None,
        signature=signed("approved closure"),
    )
    return built


def test_the_lead_hears_that_a_colleague_closed_the_cycle_but_not_of_her_own_closing(
    org, as_user, clock, session
):
    by_frank = _close_as(org.frank, org, as_user, clock)
    notify_rules.run(as_user(None), mail=False)
    assert ("cycle_closed", f"C-{by_frank.cycle.id}") in inbox_of(session, org.fiona)
    [line] = [n for n in notifications.inbox(as_user(org.fiona), "en") if "closed" in n.text]
    assert line.text == f"C-{by_frank.cycle.id} “Cut lunchtime waiting”, which you lead, is closed."
    assert line.link == f"/cycles/{by_frank.cycle.id}"
    # Only the lead hears: the closer knows, the owners of its actions are not told.
    assert not any(k == "cycle_closed" for k, _ in inbox_of(session, org.frank))
    assert not any(k == "cycle_closed" for k, _ in inbox_of(session, org.mia))

    by_herself = _close_as(org.fiona, org, as_user, clock)
    notify_rules.run(as_user(None), mail=False)
    assert ("cycle_closed", f"C-{by_herself.cycle.id}") not in inbox_of(session, org.fiona)


def test_the_lead_hears_that_her_cycle_was_cancelled_in_those_words(org, as_user, clock, session):
    from pdca.services import cycles
    from tests.services.builders_services import a_cycle_in_do

    built = a_cycle_in_do(org, as_user, clock)
    cycles.fire_transition(
        as_user(org.frank), built.cycle.id, trigger="cancel", version=None, note="merged"
    )
    notify_rules.run(as_user(None), mail=False)
    assert ("cycle_closed", f"C-{built.cycle.id}") in inbox_of(session, org.fiona)
    texts = [n.text for n in notifications.inbox(as_user(org.fiona), "zh_CN")]
    assert f"你牵头的 C-{built.cycle.id}“Cut lunchtime waiting”已取消。" in texts
    english = [n.text for n in notifications.inbox(as_user(org.fiona), "en")]
    assert f"C-{built.cycle.id} “Cut lunchtime waiting”, which you lead, was cancelled." in english


def test_three_turns_without_effect_escalate_to_the_lead_and_every_facilitator_once(
    org, as_user, clock, session
):
    from pdca.services import cycles
    from tests.services.builders_services import a_colleague, a_problem
    from tests.services.test_workflow_walks import PLAN_FIELDS, go_round_without_effect

    # Hanna (head of CS) leads; Fiona drives the turns; Frank is the other facilitator.
    cycle = cycles.open_cycle(
        as_user(org.fiona),
        title="Cut lunchtime waiting",
        workflow="pdca",
        lead_id=org.hanna.id,
        problem_ids=[a_problem(as_user(org.mia), department_id=org.cs).id],
        fields=PLAN_FIELDS,
    )
    bystander = a_colleague(as_user)

    def escalations(user) -> list[str]:
        return [k for k, key in inbox_of(session, user) if k == "cycle_escalated"]

    for _ in range(2):
        go_round_without_effect(org, as_user, clock, cycle)
        cycles.fire_transition(as_user(org.fiona), cycle.id, trigger="next_iteration", version=None)
    notify_rules.run(as_user(None), mail=False)
    assert escalations(org.hanna) == escalations(org.frank) == []

    go_round_without_effect(org, as_user, clock, cycle)
    cycles.fire_transition(as_user(org.fiona), cycle.id, trigger="next_iteration", version=None)
    notify_rules.run(as_user(None), mail=False)
    # Fiona started the fourth turn, but the escalation is the system's verdict: news to her too.
    for person in (org.hanna, org.fiona, org.frank):
        assert escalations(person) == ["cycle_escalated"], person.name
    assert escalations(org.mia) == escalations(bystander) == []
    [line] = [
        n for n in notifications.inbox(as_user(org.hanna), "en") if n.kind == "cycle_escalated"
    ]
    assert line.text == (
        f"C-{cycle.id} “Cut lunchtime waiting” is escalated: three turns of the cycle were "
        "not effective."
    )

    # Flagged once: a fifth turn tells nobody again.
    go_round_without_effect(org, as_user, clock, cycle)
    cycles.fire_transition(as_user(org.fiona), cycle.id, trigger="next_iteration", version=None)
    notify_rules.run(as_user(None), mail=False)
    assert escalations(org.hanna) == escalations(org.fiona) == ["cycle_escalated"]
