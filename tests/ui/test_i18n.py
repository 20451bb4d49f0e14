"""The shared text catalogs: complete in both languages, filled placeholders, fallbacks, switch."""

from __future__ import annotations

import json

import pytest

from ui.i18n import CATALOG_DIR, LANGUAGES, Catalog, Translator, placeholders


def raw(lang: str) -> dict[str, str]:
    return json.loads((CATALOG_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def test_every_key_is_in_both_catalogs_with_a_text():
    zh, en = raw("zh"), raw("en")
    assert sorted(set(zh) ^ set(en)) == []
    assert [k for lang in LANGUAGES for k, v in raw(lang).items() if not v.strip()] == []


def test_both_languages_use_the_same_placeholders():
    assert Catalog.load().placeholder_mismatches() == {}


def test_the_catalogs_cover_every_kiosk_screen_and_the_staff_apps():
    keys = Catalog.load().keys()
    prefixes = [
        "kiosk.attract.", "kiosk.home.", "kiosk.guidance.", "kiosk.priority.", "kiosk.idcard.",
        "kiosk.qr.", "kiosk.ticket.", "kiosk.offline.", "kiosk.printer.", "kiosk.maintenance.",
        "counter.action.", "rating.", "display.", "voice.", "common.", "a11y.",
    ]  # fmt: skip
    assert [p for p in prefixes if not any(k.startswith(p) for k in keys)] == []
    for action in ("call_next", "recall", "start", "finish", "no_show", "transfer", "pause",
                   "resume", "sign_in", "sign_out"):  # fmt: skip
        assert f"counter.action.{action}" in keys
    for problem in ("expired", "early", "used", "forged", "foreign"):
        assert f"kiosk.qr.{problem}" in keys


def test_the_rating_pad_levels_read_as_on_the_pad():
    zh, en = Catalog.load(language="zh"), Catalog.load(language="en")
    levels = ["rating.very_satisfied", "rating.satisfied", "rating.average", "rating.dissatisfied"]
    assert [zh.tr(k) for k in levels] == ["非常满意", "满意", "一般", "不满意"]
    assert [en.tr(k) for k in levels] == ["Very satisfied", "Satisfied", "Average", "Dissatisfied"]


def test_voice_call_in_both_languages():
    catalog = Catalog.load()
    assert catalog.tr("voice.call", number="A023", counter=3) == "请A023号到3号窗口办理"
    assert (
        catalog.tr_in("en", "voice.call", number="A023", counter=3)
        == "Number A023, please go to counter 3."
    )


def test_placeholders_are_filled_and_a_missing_value_stays_visible():
    catalog = Catalog({"zh": {"k": "前面还有 {count} 人,{who}"}, "en": {}})
    assert catalog.tr("k", count=5, who="您") == "前面还有 5 人,您"
    # A screen that forgets a value shows the slot, it does not crash the kiosk.
    assert catalog.tr("k", count=5) == "前面还有 5 人,{who}"
    assert placeholders("{a} and {b:>3} {{literal}}") == {"a", "b"}


def test_fallback_to_chinese_then_to_the_key():
    catalog = Catalog({"zh": {"only.zh": "仅中文", "both": "中"}, "en": {"both": "EN"}}, "en")
    assert catalog.tr("both") == "EN"
    assert catalog.tr("only.zh") == "仅中文"
    assert catalog.tr("nowhere.at.all") == "nowhere.at.all"
    assert catalog.unknown_keys == {"nowhere.at.all"}
    assert catalog.missing_keys("en") == ["only.zh"]
    assert catalog.missing_keys("zh") == []


def test_pick_chooses_a_server_name_for_the_current_language():
    catalog = Catalog({"zh": {}, "en": {}}, "en")
    names = {"zh": "开户", "en": "Account opening"}
    assert catalog.pick(names) == "Account opening"
    assert catalog.pick({"zh": "开户"}) == "开户"
    assert catalog.pick({"en": "Only English"}) == "Only English"
    assert catalog.pick({}) == ""
    catalog.set_language("zh")
    assert catalog.pick(names) == "开户"


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="unknown language"):
        Catalog.load().set_language("fr")


def test_a_catalog_that_is_not_key_to_text_is_refused(tmp_path):
    (tmp_path / "zh.json").write_text('{"a": ["not", "text"]}', encoding="utf-8")
    (tmp_path / "en.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ValueError, match="key → text"):
        Catalog.load(tmp_path)


def test_switching_language_emits_language_changed_once(qtbot):
    translator = Translator(Catalog.load())
    with qtbot.waitSignal(translator.languageChanged) as blocker:
        translator.set_language("en")
    assert blocker.args == ["en"]
    assert translator.tr("kiosk.home.title") == "Choose your service"
    with qtbot.assertNotEmitted(translator.languageChanged):
        translator.set_language("en")  # already English: nothing to re-translate
