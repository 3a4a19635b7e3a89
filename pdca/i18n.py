"""Languages: English (the source strings) and Simplified Chinese (a Babel catalog).

The .po catalog is compiled in memory when first used, so a translation can never
be stale against a forgotten `compile` step; `make lint` checks it is complete.
"""

import gettext
import io
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = {"en": "English", "zh_CN": "简体中文"}
DEFAULT_LANGUAGE = "en"


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> gettext.NullTranslations:
    if lang == DEFAULT_LANGUAGE or lang not in LANGUAGES:
        return gettext.NullTranslations()
    po_file = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    # An untranslated entry must fall back to the English source. Babel would write an
    # empty plural as if translated, and Chinese's one plural form would then show the
    # English singular ("39 day").
    for message in list(catalog):
        parts = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id and (message.fuzzy or not all(parts)):
            catalog.delete(message.id, context=message.context)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def negotiate(accept_language: str | None) -> str:
    """The best of our languages for an Accept-Language header."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    wanted = []
    for part in accept_language.split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        wanted.append((weight, tag.strip().replace("-", "_")))
    for _weight, tag in sorted(wanted, key=lambda w: -w[0]):
        if tag.lower().startswith("zh"):
            # zh, zh-CN, zh-Hans all read Simplified Chinese; zh-TW/HK would want Traditional,
            # which we do not have, so they get it too rather than English.
            return "zh_CN"
        if tag.lower().startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


# English readers differ in how they write dates (27/11/2026 or 11/27/26): the interface
# is one English, its dates and numbers follow the reader's region.
REGIONS = ("en_GB", "en_US", "en_AU", "en_CA", "en_IE", "en_IN", "en_NZ", "en_ZA")


def region(lang: str, accept_language: str | None) -> str:
    """The locale for dates and numbers: the reader's English region, else the language."""
    if lang != "en" or not accept_language:
        return lang
    for part in accept_language.split(","):
        tag = part.strip().split(";", 1)[0].replace("-", "_")
        if tag.lower().startswith("en_"):
            candidate = "en_" + tag[3:].upper()
            if candidate in REGIONS:
                return candidate
        if tag.lower().startswith("en"):
            return lang
    return lang


@lru_cache(maxsize=len(LANGUAGES) + len(REGIONS) + 1)
def babel_locale(lang: str) -> Locale:
    return Locale.parse(lang if lang in LANGUAGES or lang in REGIONS else DEFAULT_LANGUAGE)


def format_date(value: date | None, lang: str, fmt: str = "medium") -> str:
    if value is None:
        return ""
    return _format_date(value, lang, fmt)


@lru_cache(maxsize=8192)
def _format_date(value: date, lang: str, fmt: str) -> str:
    # A board shows thousands of deadlines but only a few hundred distinct days.
    return dates.format_date(value, format=fmt, locale=babel_locale(lang))


def format_datetime(value: datetime | None, lang: str, fmt: str = "medium") -> str:
    if value is None:
        return ""
    return dates.format_datetime(value, format=fmt, locale=babel_locale(lang))


def format_number(value: float | int | None, lang: str) -> str:
    if value is None:
        return ""
    if abs(value) >= 1e15:
        # Babel's decimal rounding fails on values near the float's end (1e308); such
        # values are refused at ingest now, but older rows still have to show.
        return numbers.format_scientific(value, "0.###E0", locale=babel_locale(lang))
    return numbers.format_decimal(value, locale=babel_locale(lang))


@lru_cache(maxsize=len(LANGUAGES) + 1)
def weekday_names(lang: str) -> tuple[str, ...]:
    """Monday (0) to Sunday (6), in the language's own words ("Tuesday", "星期二")."""
    names = dates.get_day_names("wide", locale=babel_locale(lang))
    return tuple(str(names[day]) for day in range(7))


def kpi_name(kpi: Any, lang: str) -> str:
    """A KPI's name in the reader's language (its Chinese name when it has one); a KPI row
    or its facts as a mapping (a meeting's agenda keeps them so)."""
    get = kpi.get if isinstance(kpi, dict) else lambda name: getattr(kpi, name, None)
    return str((get("name_zh") if lang == "zh_CN" else None) or get("name"))
