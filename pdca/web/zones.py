"""Whose time zone a page or a download shows times in.

The reader's own zone comes from the browser (pdca.js writes it to a cookie) or, for
API clients that have no browser, from a `tz` query parameter; without either, the
meeting's zone, else UTC. Times are stored in UTC everywhere.
"""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Request

TZ_COOKIE = "pdca_tz"  # the reader's IANA zone, set by pdca.js


def as_zone(name: str | None) -> ZoneInfo | None:
    """The zone of that IANA name, or None for no name or one that is not a zone."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def reader_zone(request: Request, fallback: str | None = None) -> ZoneInfo:
    """The reader's zone (their browser's cookie), else `fallback` (a meeting's), else UTC.

    A cookie that names no zone is ignored: the browser wrote it, the reader cannot fix it.
    """
    return as_zone(request.cookies.get(TZ_COOKIE)) or as_zone(fallback) or ZoneInfo("UTC")
