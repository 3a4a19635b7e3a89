"""`pdca jobs run` from cron: the jobs once, mail through the PDCA_SMTP_ settings."""

from pdca.services import digests
from pdca.services.digests import _local_now
from tests.notifications.smtp import SmtpServer


def test_jobs_run_mails_the_demos_digests_once_and_says_what_it_did(cli, monkeypatch, settings):
    assert cli("db", "upgrade").exit_code == 0
    assert cli("demo").exit_code == 0
    # Late in everyone's evening, past any digest hour: the run cannot depend on the hour
    # the suite runs at (digest hours are tested in tests/notifications/test_digests.py).
    monkeypatch.setattr(
        digests, "_local_now", lambda now, prefs: _local_now(now, prefs).replace(hour=23)
    )
    with SmtpServer() as smtp:
        monkeypatch.setenv("PDCA_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("PDCA_SMTP_PORT", str(smtp.port))
        monkeypatch.setenv("PDCA_SMTP_SECURITY", "none")
        monkeypatch.setenv("PDCA_SMTP_FROM", "quality@pdca.example.org")
        monkeypatch.setenv("PDCA_PUBLIC_URL", "https://pdca.example.org/")
        first = cli("jobs", "run")
        assert first.exit_code == 0, first.output
        sent = len(smtp.inbox.messages)
        again = cli("jobs", "run")
        assert again.exit_code == 0, again.output
    # A second run sends nothing again.
    assert sent > 0 and len(smtp.inbox.messages) == sent
    assert "deliver: " in first.output and "escalation: " in first.output
    mail = smtp.inbox.messages[0]
    assert mail["From"] == "quality@pdca.example.org"
    assert "https://pdca.example.org/actions/" in str(mail)


def test_jobs_run_without_smtp_says_notifications_stay_in_the_inbox(cli):
    assert cli("db", "upgrade").exit_code == 0
    result = cli("jobs", "run")
    assert result.exit_code == 0, result.output
    assert "No PDCA_SMTP_HOST" in result.output
