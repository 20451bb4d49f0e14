"""The staff apps fit the desks they run on: every state of the counter caller and every tab
of the manager's console, in both languages, at 1366×768 and 1920×1080.

The screens are built by the screenshot builders (canned demo data, no server) and checked
by the one fit check (`tools/screenshots/fit.py`): the window keeps the screen's size, no
button is cut or squeezed and no label is cut. The staff theme has one text size (the
compact `[staff]` variant is never large), so text size is not a parameter here.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from tools.screenshots import counter, manager
from tools.screenshots.fit import fit_problems, lay_out
from ui.counter.compact import COMPACT_SIZE
from ui.i18n import LANGUAGES, Catalog, Translator

SIZES = ((1366, 768), (1920, 1080))
COUNTER_STATES: dict[str, Callable[[Translator], QWidget]] = {
    "sign_in": counter.sign_in,
    "idle": counter.idle,
    "called": counter.called,
    "serving": counter.serving,
    "paused": counter.paused,
    "offline": counter.offline,
}
MANAGER_TABS: dict[str, Callable[[Translator], QWidget]] = {
    "live": manager.live,
    "windows": manager.windows,
    "advice": manager.advice,
    "alerts": manager.alerts,
    "audit": manager.audit,
    "settings": manager.settings,
    "devices": manager.devices,
    "reports": manager.reports,
    "report_table": manager.report_table,
    "offline": manager.offline,
}


def _check(
    qtbot: QtBot, build: Callable[[Translator], QWidget], lang: str, size: tuple[int, int]
) -> list[str]:
    widget = build(Translator(Catalog.load(language=lang)))
    qtbot.addWidget(widget)
    lay_out(widget, size)
    return fit_problems(widget, size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("state", COUNTER_STATES)
def test_counter_fits(qtbot: QtBot, state: str, lang: str, size: tuple[int, int]) -> None:
    assert _check(qtbot, COUNTER_STATES[state], lang, size) == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_transfer_dialog_fits(qtbot: QtBot, lang: str) -> None:
    assert _check(qtbot, counter.transfer, lang, (720, 480)) == []


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("tab", MANAGER_TABS)
def test_manager_fits(qtbot: QtBot, tab: str, lang: str, size: tuple[int, int]) -> None:
    assert _check(qtbot, MANAGER_TABS[tab], lang, size) == []


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("state", ["called", "offline"])
def test_the_compact_bar_fits_its_small_size(qtbot: QtBot, state: str, lang: str) -> None:
    build = counter.compact if state == "called" else counter.compact_offline
    assert COMPACT_SIZE[0] <= 480 and COMPACT_SIZE[1] <= 160
    assert _check(qtbot, build, lang, COMPACT_SIZE) == []
