"""What the counter caller's screen says, built from the screenshot builders' demo branch
(counter 4, no server): the words a teller reads, in both languages."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from tools.screenshots import counter
from ui.i18n import Catalog, Translator
from ui.widgets import counter_title, duration


def _tr(lang: str) -> Translator:
    return Translator(Catalog.load(language=lang))


def test_a_counter_named_after_its_number_is_named_once() -> None:
    zh, en = _tr("zh"), _tr("en")
    assert counter_title(zh, 1, "1号窗口") == "1 号窗口"
    assert counter_title(en, 1, "1号窗口") == "Counter 1"
    assert counter_title(zh, 1, "Counter 1") == "1 号窗口"
    assert counter_title(zh, 9, "贵宾室") == "9 号窗口 贵宾室"


def test_the_window_and_its_sign_in_page_name_the_counter_once(qtbot: QtBot) -> None:
    window = counter.sign_in(_tr("zh"))
    qtbot.addWidget(window)
    assert window.sign_in.counter.text() == "4 号窗口"
    assert window.title.text() == "4 号窗口"


def test_a_duration_under_a_minute_is_said_in_seconds() -> None:
    zh, en = _tr("zh"), _tr("en")
    short = {"short_key": "counter.seconds"}
    assert duration(zh, 2.2, "counter.duration", **short) == "2 秒"
    assert duration(en, 59, "counter.duration", **short) == "59 s"
    assert duration(zh, 60, "counter.duration", **short) == "1 分 00 秒"
    assert duration(zh, 412, "counter.duration", **short) == "6 分 52 秒"


def test_todays_average_service_of_two_seconds_reads_two_seconds(qtbot: QtBot) -> None:
    window = counter.idle(_tr("zh"))
    qtbot.addWidget(window)
    window.today.show_today({"served": 1, "avg_service_s": 2.0, "ratings": {}})
    assert window.today.values["avg_service"].text() == "2 秒"


@pytest.mark.parametrize(
    ("lang", "words"),
    [("zh", "一站式开户：开户 + 银行卡办理 + 手机银行开通"),
     ("en", "One-stop new customer: Account opening + Bank cards + Mobile banking sign-up")],
)  # fmt: skip
def test_a_bundle_says_what_it_includes(qtbot: QtBot, lang: str, words: str) -> None:
    window = counter.called(_tr(lang))  # C011 came for the NEW bundle
    qtbot.addWidget(window)
    assert window.customer.bundle.text() == words


def test_the_last_rating_is_gone_once_the_next_customer_is_called(qtbot: QtBot) -> None:
    window = counter.idle(_tr("zh"))  # A029 finished here and rated it
    qtbot.addWidget(window)
    assert window.rating.isVisibleTo(window) and "A029" in window.rating.text()
    window.client.model.tickets[counter.CALLED["id"]] = dict(counter.CALLED)
    window.update_view()
    assert window.customer.number.text() == "C011"
    assert not window.rating.isVisibleTo(window)


def test_the_transfer_note_is_labelled_once_with_an_example_in_the_box(qtbot: QtBot) -> None:
    for lang in ("zh", "en"):
        dialog = counter.transfer(_tr(lang))
        qtbot.addWidget(dialog)
        dialog.note.clear()
        label, example = dialog.note_label.text(), dialog.note.placeholderText()
        assert example and example != label


def test_the_window_forgets_its_compact_bar_once_the_bar_is_gone(qtbot: QtBot) -> None:
    bar = counter.compact(_tr("zh"))
    window = bar._owner  # type: ignore[attr-defined]
    qtbot.addWidget(window)
    with qtbot.waitSignal(bar.destroyed):
        bar.deleteLater()  # as pytest-qt does when a test registered only the bar
    assert window.compact is None
    # Its once-a-second tick and a refusal after that must not reach for the dead bar.
    window.update_view()
    window.show_message("counter.error.offline", "error")
    assert window.message.isVisibleTo(window)


def test_the_compact_bar_goes_with_its_window(qtbot: QtBot) -> None:
    window = counter.called(_tr("zh"))
    bar = window.enter_compact()
    with qtbot.waitSignal(bar.destroyed):
        window.deleteLater()  # deleted without being closed first


def test_the_teller_is_greeted_by_name_in_the_window_and_the_bar(qtbot: QtBot) -> None:
    window = counter.called(_tr("zh"))  # counter 4, signed in as t104, 王丽 on the staff list
    qtbot.addWidget(window)
    assert window.staff.text() == "柜员 王丽"
    bar = window.enter_compact()
    assert bar.staff.text() == "柜员 王丽"
    # A record without a name (a server from before names were sent): the staff id.
    window.client.model.counters[counter.COUNTER].pop("staff_name")
    window.update_view()
    assert window.staff.text() == bar.staff.text() == "柜员 t104"
