"""The copy a bank signs off: full-width Chinese punctuation, one name per concept, waits
people can plan with, and device faults in the manager's language."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest

from ui.assets import ASSETS
from ui.i18n import CATALOG_DIR, Catalog, device_detail, wait_text

CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”…"
# ASCII punctuation with a Chinese character (or a placeholder, which Chinese prose
# surrounds) on either side, spaces between them ignored. "09:00", "1–3", URLs and "--counter"
# have none of these neighbours and pass.
HALF_WIDTH_IN_CHINESE = re.compile(rf"[{CJK}{{}}] *[,:;?()!]|[,:;?()!] *[{CJK}{{}}]")
PADDED_CORNER_BRACKETS = re.compile(r"「\s|\s」")
# Not prose: book.js splits the weekday names on ASCII commas.
LISTS = {"book.weekdays"}


def catalog_texts(lang: str) -> dict[str, str]:
    return json.loads((CATALOG_DIR / f"{lang}.json").read_text(encoding="utf-8"))


def is_chinese(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]", text) is not None


def half_width_in_chinese(texts: dict[str, str]) -> dict[str, str]:
    return {
        key: text
        for key, text in texts.items()
        if key not in LISTS
        and is_chinese(text)
        and (HALF_WIDTH_IN_CHINESE.search(text) or PADDED_CORNER_BRACKETS.search(text))
    }


def strings_in(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings_in(item, f"{path}[{index}]")


def test_the_checker_catches_what_the_old_catalog_had():
    old = {
        "kiosk.attract.appointment_hint": "已预约?请将预约二维码对准扫描口",
        "kiosk.idcard.greeting": "您好,{name}。",
        "counter.customer.bundle": "一站式办理:{name}",
        "counter.transfer.note": "备注(可选,转给下一位同事)",
        "manager.windows.count": "{code}:{count} 个窗口",
        "kiosk.guidance.title": "办理「 {service} 」前请准备",
    }
    assert half_width_in_chinese(old) == old
    fine = {
        "a": "预约时间为 09:00，1–3号窗口",
        "b": "请检查 --counter 设置",
        "c": "Served at {where}",
        "d": "图表需要 PySide6-Addons（QtCharts）；表格仍可使用",
    }
    assert half_width_in_chinese(fine) == {}


def test_chinese_texts_use_full_width_punctuation():
    assert half_width_in_chinese(catalog_texts("zh")) == {}


def test_the_demo_branch_guidance_uses_full_width_punctuation():
    config = tomllib.loads((ASSETS / "demo_branch.toml").read_text(encoding="utf-8"))
    assert half_width_in_chinese(dict(strings_in(config))) == {}


def test_both_catalogs_have_the_same_keys():
    assert sorted(set(catalog_texts("zh")) ^ set(catalog_texts("en"))) == []


def test_the_priority_class_has_one_name_and_waiting_one_word():
    zh = catalog_texts("zh")
    # The kiosk's button, the counter's queue and the paper's badge (priority.care).
    assert zh["priority.care"] == zh["kiosk.home.priority"] == "优先服务"
    retired = re.compile("爱心|关爱|溢出|约等")
    assert {k: v for k, v in zh.items() if retired.search(v)} == {}
    customer_facing = ("kiosk.", "phone.", "display.", "book.", "notify.", "voice.", "wait.")
    assert {k: v for k, v in zh.items() if k.startswith(customer_facing) and "等待" in v} == {}


@pytest.mark.parametrize(
    ("minutes", "issued", "brief", "zh", "en"),
    [
        (None, True, False, "等候时间以叫号为准", "Please wait for your number to be called"),
        (None, False, False, "等候时间更新中", "Wait time updating"),
        (1, True, False, "很快就会叫到您", "You'll be called shortly"),
        (0, False, False, "无需等候", "No wait"),
        (27, True, False, "预计等候约 27 分钟", "Estimated wait: about 27 min"),
        (59, False, True, "预计等候约 59 分钟", "Estimated wait: about 59 min"),
        (64, True, False, "预计等候约 1 小时", "Estimated wait: about 1 h"),
        (97, True, False, "预计等候约 1 小时 40 分钟", "Estimated wait: about 1 h 40 min"),
        (116, True, False, "预计等候约 2 小时", "Estimated wait: about 2 h"),
        (
            446,
            True,
            False,
            "预计等候 2 小时以上，建议预约或改日办理",
            "Over 2 hours — consider booking an appointment",
        ),
        (1063, False, True, "预计等候 2 小时以上", "Estimated wait: over 2 hours"),
    ],
)
def test_waits_are_rounded_and_capped_the_way_people_plan(minutes, issued, brief, zh, en):
    catalog = Catalog.load()
    key, values = wait_text(minutes, issued=issued, brief=brief)
    assert catalog.tr_in("zh", key, **values) == zh
    assert catalog.tr_in("en", key, **values) == en


@pytest.mark.parametrize(
    ("detail", "zh", "en"),
    [
        ("paper out", "打印纸已用完", "Out of paper"),
        ("cover open, paper out", "打印机盖未关，打印纸已用完", "Printer cover open, Out of paper"),
        ("print queue: paper out, offline", "打印纸已用完，未连接", "Out of paper, Not connected"),
        ("no answer to status request DLE EOT 2", "打印机无应答", "Printer does not answer"),
        # Free text from a driver is shown as sent, not half translated.
        ("paper out, USB reset by host", "paper out, USB reset by host", None),
    ],
)
def test_known_device_faults_read_in_the_managers_language(detail, zh, en):
    assert device_detail(Catalog.load(language="zh"), detail) == zh
    assert device_detail(Catalog.load(language="en"), detail) == (en or detail)
