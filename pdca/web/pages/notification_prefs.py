"""What the profile page's notification sections need (kept apart from profile.py so
that the profile and the notifications pages both use it without importing each other)."""

from typing import Any

from pdca.services import notifications
from pdca.services.context import Ctx


def preferences_context(ctx: Ctx, **overrides: Any) -> dict[str, Any]:
    assert ctx.actor is not None and ctx.actor.id is not None
    prefs = notifications.preferences_of(ctx.session, ctx.actor.id)
    form = {
        "version": prefs.version,
        "kinds": [k for k in notifications.KINDS if prefs.wants(k)],
        "urgent_kinds": sorted(prefs.urgent_kinds),
        "email_digest": prefs.email_digest,
        "digest_hour": str(prefs.digest_hour),
        "time_zone": prefs.time_zone,
        "due_soon_days": str(prefs.due_soon_days),
        "muted": prefs.muted,
    }
    context: dict[str, Any] = {
        "prefs": prefs,
        "prefs_form": form,
        "prefs_errors": {},
        "kind_titles": notifications.KIND_TITLES,
        "time_zones": notifications.time_zones(),
        "new_calendar_url": None,
    }
    context.update(overrides)
    return context
