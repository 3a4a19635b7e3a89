"""The mails pdca writes: the daily digest and the urgent notice, HTML and plain text.

Rendered from templates/mail/ with the same catalog as the pages, in the reader's
language, when the outbox row is sent (its payload holds the data, not the text, so
a fixed template reaches mails still waiting to be sent). Queued through the outbox.
"""

from datetime import date
from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pdca import i18n, resources
from pdca.models import Notification, Outbox, User
from pdca.services import outbox
from pdca.services.context import Ctx
from pdca.services.mailer import Mail, MailConfig
from pdca.services.notifications import link_of, preferences_of, text_of, zone_of


@cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(resources.templates_dir())),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )


def render(template: str, lang: str, context: dict[str, Any]) -> tuple[str, str]:
    """(HTML, plain text) of templates/mail/<template>.html and .txt in `lang`."""
    translations = i18n.translations(lang)
    full = {
        **context,
        "lang": lang,
        "_": translations.gettext,
        "gettext": translations.gettext,
        "ngettext": translations.ngettext,
        "fmt_date": lambda iso: i18n.format_date(_date(iso), lang, "medium"),
    }
    env = environment()
    html = env.get_template(f"mail/{template}.html").render(full)
    text = env.get_template(f"mail/{template}.txt").render(full)
    return html, text


def _date(iso: str) -> date:
    return date.fromisoformat(iso)


def queue_urgent(ctx: Ctx, user_id: int, notification_id: int) -> int | None:
    """Queue the mail for one urgent notification (inside the caller's transaction)."""
    user = ctx.session.get(User, user_id)
    note = ctx.session.get(Notification, notification_id)
    if user is None or note is None or not user.active:
        return None
    lang = user.locale if user.locale in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
    context = {
        "name": user.name,
        "text": text_of(
            note.kind, note.params, lang, zone_of(preferences_of(ctx.session, user_id))
        ),
        "link": link_of(note.entity_type, note.entity_id),
    }
    return outbox.enqueue(
        ctx,
        "mail",
        f"urgent:{notification_id}",
        note.kind,
        {"to": user.email, "lang": lang, "template": "urgent", "context": context},
        user_id=user_id,
    )


def subject_of(template: str, lang: str, context: dict[str, Any]) -> str:
    translations = i18n.translations(lang)
    if template == "digest":
        overdue, soon = len(context["overdue"]), len(context["due_soon"])
        return translations.gettext("pdca digest: %(overdue)s overdue, %(soon)s due soon") % {
            "overdue": overdue,
            "soon": soon,
        }
    return translations.gettext("pdca: %(text)s") % {"text": context["text"]}


def mail_of(row: Outbox, config: MailConfig) -> Mail:
    payload = row.payload
    lang = payload.get("lang", i18n.DEFAULT_LANGUAGE)
    context = {**payload["context"], "base_url": config.base_url.rstrip("/")}
    html, text = render(payload["template"], lang, context)
    domain = config.sender.rpartition("@")[2] or "pdca"
    return Mail(
        to=payload["to"],
        subject=subject_of(payload["template"], lang, context)[:200],
        text=text,
        html=html,
        # Derived from the row: a mail sent again after a crash is the same message.
        message_id=f"<pdca-outbox-{row.id}@{domain}>",
        lang=lang,
    )
