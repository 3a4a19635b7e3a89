"""An entry nobody translated yet shows in English, never as a wrong Chinese form."""

from pdca import i18n

PO = """msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=1; plural=0;\\n"

msgid "%(num)d day"
msgid_plural "%(num)d days"
msgstr[0] ""

msgid "Board"
msgstr "看板"

msgid "Cycles"
msgstr ""
"""


def test_untranslated_entries_fall_back_to_the_english_source(tmp_path, monkeypatch):
    catalog = tmp_path / "zh_CN" / "LC_MESSAGES"
    catalog.mkdir(parents=True)
    (catalog / "messages.po").write_text(PO, encoding="utf-8")
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n.translations.cache_clear()
    try:
        zh = i18n.translations("zh_CN")
        assert zh.gettext("Board") == "看板"
        assert zh.gettext("Cycles") == "Cycles"
        assert zh.ngettext("%(num)d day", "%(num)d days", 39) == "%(num)d days"
        assert zh.ngettext("%(num)d day", "%(num)d days", 1) == "%(num)d day"
    finally:
        i18n.translations.cache_clear()
