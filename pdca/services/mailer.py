"""Sending one e-mail over SMTP (smtplib): plain text and HTML, with a fixed Message-ID.

The Message-ID comes from the outbox row, so a mail sent again after a crash (sent,
but the process died before it could record that) is the same message to every
mail system that deduplicates by Message-ID.
"""

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate


@dataclass(frozen=True)
class MailConfig:
    """Where mail goes (PDCA_SMTP_*); no host means no mail at all."""

    host: str
    port: int = 587
    security: str = "starttls"  # starttls | tls | none
    user: str = ""
    password: str = ""
    sender: str = "pdca@localhost"
    timeout: float = 20.0
    # Where the links in a mail point (the address people open pdca at).
    base_url: str = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str
    message_id: str
    lang: str = "en"


def build(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = mail.message_id
    message["Content-Language"] = "zh-CN" if mail.lang == "zh_CN" else "en"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


def send(config: MailConfig, mail: Mail) -> None:
    """Send or raise (smtplib.SMTPException, OSError): the outbox retries later."""
    message = build(mail, config.sender)
    if config.security == "tls":
        context = ssl.create_default_context()
        with smtplib.SMTP_SSL(
            config.host, config.port, timeout=config.timeout, context=context
        ) as smtp:
            _login_and_send(smtp, config, message)
        return
    with smtplib.SMTP(config.host, config.port, timeout=config.timeout) as smtp:
        if config.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        _login_and_send(smtp, config, message)


def _login_and_send(smtp: smtplib.SMTP, config: MailConfig, message: EmailMessage) -> None:
    if config.user:
        smtp.login(config.user, config.password)
    smtp.send_message(message)
