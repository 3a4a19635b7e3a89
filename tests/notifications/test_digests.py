"""The daily digest reaches each owner once, in their language, whatever runs the job."""

import re
import threading
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from pdca.db import make_engine
from pdca.demo import load_demo
from pdca.models import Action, Outbox, User
from pdca.services import jobs, notifications, outbox
from pdca.services.context import Ctx
from pdca.services.jobs import JobConfig
from pdca.services.mailer import MailConfig
from tests.notifications.smtp import SmtpServer, body
from tests.services.builders_services import a_cycle_in_do

TIMEOUT = 60


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


def mail_config(server: SmtpServer) -> MailConfig:
    return MailConfig(host="127.0.0.1", port=server.port, security="none", sender="pdca@x.test")


def overdue_by_owner(session, today) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for a in session.exec(
        select(Action).where(
            col(Action.status).in_(("open", "in_progress")),
            col(Action.deadline) < today,
            col(Action.owner_id).is_not(None),
        )
    ):
        found.setdefault(a.owner_id, set()).add(f"A-{a.id}")
    return found


def test_the_demos_overdue_actions_make_one_digest_per_owner_in_their_language(
    session, catalog, clock, as_user, smtp
):
    load_demo(session, catalog, clock.now)
    expected = overdue_by_owner(session, clock.today())
    assert len(expected) >= 2  # the demo has several late owners
    system, config = as_user(None), JobConfig(mail=mail_config(smtp))

    jobs.run_all(system, config, "test")
    jobs.run_all(system, config, "test")  # a second run sends nothing again

    for owner_id, keys in expected.items():
        owner = session.get(User, owner_id)
        [mail] = smtp.inbox.to(owner.email)
        text = body(mail, "plain")
        overdue_block = re.split(r"\n\s*\n", text)[2]  # greeting, date, then the overdue
        assert set(re.findall(r"A-\d+", overdue_block)) == keys
        if owner.locale == "zh_CN":
            assert "逾期" in text and "逾期" in mail["Subject"]
        else:
            assert "Overdue" in text
        assert mail["Message-ID"].startswith("<pdca-outbox-")
        assert f"/actions/{min(int(k[2:]) for k in keys)}" in body(mail, "html")
    addressees = [m["To"] for m in smtp.inbox.messages]
    assert len(addressees) == len(set(addressees))  # one digest a person

    clock.advance(days=1)  # the next day brings the next digest
    jobs.run_all(system, config, "test")
    some = session.get(User, next(iter(expected)))
    assert len(smtp.inbox.to(some.email)) == 2


def test_the_digest_waits_for_the_hour_chosen_in_the_persons_time_zone(
    org, as_user, clock, session, smtp
):
    a_cycle_in_do(org, as_user, clock)
    notifications.save_preferences(
        as_user(org.mia),
        version=0,
        kinds_on=list(notifications.KINDS),
        urgent_kinds=[],
        email_digest=True,
        digest_hour=20,  # 20:00 in Shanghai is 12:00 UTC
        time_zone="Asia/Shanghai",
        due_soon_days=7,
        muted=False,
    )
    system, config = as_user(None), JobConfig(mail=mail_config(smtp))
    clock.now = clock.now.replace(hour=11, minute=59)
    jobs.run_all(system, config, "test")
    assert smtp.inbox.to("mia@example.com") == []
    clock.now = clock.now.replace(hour=12, minute=0)
    jobs.run_all(system, config, "test")
    [mail] = smtp.inbox.to("mia@example.com")
    assert "Stagger breaks" in body(mail, "plain")


def test_without_smtp_nothing_is_mailed_and_the_inbox_still_fills(org, as_user, clock, session):
    a_cycle_in_do(org, as_user, clock)
    report = jobs.run_all(as_user(None), JobConfig(mail=None), "test")
    assert report.counts["digests"] == 0
    assert session.exec(select(Outbox)).all() == []
    assert notifications.unread_count(session, org.mia.id) == 1


def test_an_urgent_kind_is_mailed_at_once(org, as_user, clock, session, smtp):
    notifications.save_preferences(
        as_user(org.max),
        version=0,
        kinds_on=list(notifications.KINDS),
        urgent_kinds=["assigned"],
        email_digest=False,
        digest_hour=7,
        time_zone="UTC",
        due_soon_days=2,
        muted=False,
    )
    a_cycle_in_do(org, as_user, clock)
    jobs.run_all(as_user(None), JobConfig(mail=mail_config(smtp)), "test")
    [mail] = smtp.inbox.to("max@example.com")
    assert "IVR callback" in mail["Subject"] and "is yours now" in body(mail, "plain")
    # Mia asked for nothing at once: she gets only her digest.
    assert all("digest" in m["Subject"] for m in smtp.inbox.to("mia@example.com"))


def test_a_crash_between_sending_and_recording_resends_the_same_message_only_later(
    org, as_user, clock, session, smtp, monkeypatch
):
    a_cycle_in_do(org, as_user, clock)
    system, config = as_user(None), JobConfig(mail=mail_config(smtp))
    jobs.run_all(system, config, "test", only=("notify", "digests"))
    queued = session.exec(select(Outbox)).all()
    assert queued

    real_finish = outbox.finish
    monkeypatch.setattr(outbox, "finish", lambda *a, **k: (_ for _ in ()).throw(SystemExit))
    with pytest.raises(SystemExit):  # the process dies right after the first send
        jobs.deliver(system, config, "worker-1")
    monkeypatch.setattr(outbox, "finish", real_finish)
    [first] = smtp.inbox.messages

    jobs.deliver(system, config, "worker-2")  # the claim is fresh: nobody sends it again
    assert [m["Message-ID"] for m in smtp.inbox.messages].count(first["Message-ID"]) == 1

    clock.advance(minutes=11)  # the claim is stale: taken over, sent again as the same message
    jobs.deliver(system, config, "worker-2")
    assert [m["Message-ID"] for m in smtp.inbox.messages].count(first["Message-ID"]) == 2
    jobs.deliver(system, config, "worker-2")
    assert len(smtp.inbox.messages) == len(queued) + 1
    assert {
        r.status for r in session.exec(select(Outbox).execution_options(populate_existing=True))
    } == {"sent"}


def test_two_processes_running_the_jobs_at_once_send_each_mail_once(
    org, as_user, clock, session, settings, catalog, smtp, backend
):
    if backend != "postgres":
        pytest.skip("concurrent writers are what PostgreSQL allows; SQLite has one writer")
    built = a_cycle_in_do(org, as_user, clock)
    # Every persona owns something overdue, so every one of them has a digest to get.
    for user in (org.hanna, org.ivan, org.fiona, org.frank):
        from pdca.services import actions

        actions.add_action(
            as_user(org.fiona),
            built.cycle.id,
            title=f"Late work of {user.name}",
            department_id=user.department_id,
            owner_id=user.id,
            deadline=clock.today() + timedelta(days=1),
        )
    clock.advance(days=9)
    config = JobConfig(mail=mail_config(smtp))
    barrier = threading.Barrier(2, timeout=TIMEOUT)
    errors: list[BaseException] = []

    def work(holder: str) -> None:
        engine = make_engine(settings)
        try:
            with Session(engine, expire_on_commit=False) as own:
                ctx = Ctx(session=own, actor=None, catalog=catalog, clock=clock)
                own.connection()
                own.rollback()
                barrier.wait()
                # Straight to the jobs, past their leases: the outbox alone must hold.
                for name in ("notify", "escalation", "digests", "deliver"):
                    jobs._steps(config, holder)[name](ctx)
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=work, args=(h,)) for h in ("serve:1", "serve:2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert not errors, errors
    ids = [m["Message-ID"] for m in smtp.inbox.messages]
    assert len(ids) == len(set(ids))
    digests_sent = [m["To"] for m in smtp.inbox.messages if "digest" in m["Subject"]]
    assert sorted(digests_sent) == sorted(set(digests_sent))
    assert len(digests_sent) >= 5
    rows = session.exec(select(Outbox).execution_options(populate_existing=True)).all()
    assert len(rows) == len(ids) and {r.status for r in rows} == {"sent"}


def test_a_job_another_process_is_running_is_skipped_and_one_that_finished_is_not(
    org, as_user, clock
):
    from pdca.services import leases

    system = as_user(None)
    assert leases.take_lease(system, "job:digests", "serve:1", timedelta(minutes=5))
    report = jobs.run_all(system, JobConfig(mail=None), "cron:7")
    assert "digests" in report.skipped and "notify" in report.ran
    leases.release_lease(system, "job:digests", "serve:1")
    clock.advance(seconds=1)
    again = jobs.run_all(system, JobConfig(mail=None), "cron:8")  # a minute later, say
    assert again.skipped == [] and again.ran == list(jobs.NAMES)
