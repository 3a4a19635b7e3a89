"""The Chinese catalog: up to date with the strings in the code and templates, and complete.

The strings are extracted here as `make i18n` extracts them (same mapping file, same
keywords), so a string added to a template or a page without running `make i18n` and
translating it fails the build rather than showing up in English on a Chinese page.
"""

import re
from collections import Counter
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po

# The source checkout: extraction reads the code and templates as `make i18n` does.
REPO_ROOT = Path(__file__).resolve().parents[2]

# The same keywords as the Makefile's `i18n` target (a test below keeps the two in step).
KEYWORDS = ("_", "gettext", "ngettext:1,2", "N_", "because:2", "because_n:2,3")
LOCALE_DIR = REPO_ROOT / "pdca" / "locale"
POT_FILE = LOCALE_DIR / "messages.pot"
PO_FILE = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po"
FIX = "run `make i18n`, then translate the new entries in " + str(PO_FILE.relative_to(REPO_ROOT))

# A %-style conversion: %(name)s, %(count)d, %s, %5.1f, %% ...
PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]"
)


@cache
def extracted() -> Catalog:
    """Every marked string in the sources, found the way `pybabel extract` finds them."""
    with (REPO_ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle, str(REPO_ROOT / "babel.cfg"))
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(list(KEYWORDS))}
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        str(REPO_ROOT), method_map, options_map, keywords=keywords
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


@cache
def chinese() -> Catalog:
    with PO_FILE.open("rb") as handle:
        return read_po(handle, locale="zh_CN")


def _ids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    return {m.id for m in catalog if m.id}


def _where(catalog: Catalog, msgid: str | tuple[str, ...]) -> str:
    message = catalog.get(msgid if isinstance(msgid, str) else msgid[0])
    locations = [f"{path}:{line}" for path, line in message.locations] if message else []
    return ", ".join(locations[:3])


def _translated(message: Message) -> list[str]:
    strings = message.string if isinstance(message.string, tuple | list) else [message.string]
    return [s or "" for s in strings]


def _placeholders(text: str) -> Counter[str]:
    return Counter(m.group(0) for m in PLACEHOLDER.finditer(text))


def test_the_makefile_extracts_with_the_same_keywords():
    makefile = (REPO_ROOT / "Makefile").read_text()
    recipe = makefile[makefile.index("\ni18n:") :]
    assert tuple(re.findall(r"-k (\S+)", recipe)) == KEYWORDS


def test_the_sources_have_marked_strings():
    # A broken mapping file or keyword list would find nothing, and "nothing is missing".
    found = _ids(extracted())
    assert len(found) > 300
    assert "Action board" in found  # a template
    assert (
        "Only facilitators, department heads and administrators open cycles." in found
    )  # N_ in a service
    assert (
        "%(count)d action is not done: %(keys)s",
        "%(count)d actions are not done: %(keys)s",
    ) in found  # because_n in the engine


def test_the_catalog_holds_every_string_of_the_sources_and_no_other():
    in_sources, in_po = _ids(extracted()), _ids(chinese())
    missing = [f"  {m!r}  ({_where(extracted(), m)})" for m in in_sources - in_po]
    stale = [f"  {m!r}" for m in in_po - in_sources]
    assert not missing, f"not in the catalog yet ({FIX}):\n" + "\n".join(sorted(missing))
    assert not stale, f"no longer in the sources ({FIX}):\n" + "\n".join(sorted(stale))


def test_the_template_is_up_to_date_with_the_sources():
    with POT_FILE.open("rb") as handle:
        template = read_po(handle)
    assert _ids(template) == _ids(extracted()), f"the .pot is stale: {FIX}"


def test_every_string_has_a_chinese_translation():
    catalog = chinese()
    assert catalog.num_plurals == 1, "Chinese has one plural form (nplurals=1)"
    untranslated = [
        m.id
        for m in catalog
        if m.id and (not all(s.strip() for s in _translated(m)) or len(_translated(m)) != 1)
    ]
    assert not untranslated, f"{len(untranslated)} without a translation:\n" + "\n".join(
        f"  {m!r}" for m in untranslated
    )


def test_no_translation_is_fuzzy():
    fuzzy = [m.id for m in chinese() if m.id and m.fuzzy]
    assert not fuzzy, "fuzzy (check them, then remove the flag):\n" + "\n".join(map(repr, fuzzy))


def test_every_translation_keeps_the_placeholders_of_its_source():
    wrong = []
    for message in chinese():
        if not message.id:
            continue
        # Chinese has one form for every count: it is formatted like the plural.
        source = message.id[-1] if isinstance(message.id, tuple) else message.id
        expected = _placeholders(source)
        values = {m.group("name"): 1 for m in PLACEHOLDER.finditer(source) if m.group("name")}
        for text in _translated(message):
            if not text:
                continue  # reported as untranslated
            if _placeholders(text) != expected:
                wrong.append(f"  {source!r}\n    → {text!r}")
                continue
            if values:
                try:
                    text % values  # as the page formats it: a stray % would raise
                except (ValueError, TypeError, KeyError) as exc:
                    wrong.append(f"  {source!r}\n    → {text!r}: {exc}")
    assert not wrong, "placeholders differ from the English:\n" + "\n".join(wrong)
