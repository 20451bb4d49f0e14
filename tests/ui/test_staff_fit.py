"""The staff apps fit the desks they run on: every state of the counter caller and every tab
of the manager's console, in both languages, at 1366×768 and 1920×1080.

The screens are built by the screenshot builders (canned demo data, no server) and checked
by the one fit check (`tools/screenshots/fit.py`): the window keeps the screen's size, no
button is cut or squeezed and no label is cut. The staff theme has one text size (the
compact `[staff]` variant is never large), so text size is not a parameter here. Each screen
is built once per language and laid out at every size in turn, as a window is when it moves
to another screen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication, QWidget

from tools.screenshots import counter, manager
from tools.screenshots.fit import fit_problems, lay_out
from ui.counter.compact import COMPACT_SIZE
from ui.i18n import LANGUAGES, Catalog, Translator

Build = Callable[[Translator], QWidget]
Size = tuple[int, int]
SIZES: tuple[Size, ...] = ((1366, 768), (1920, 1080))
COUNTER_STATES: dict[str, Build] = {
    "sign_in": counter.sign_in,
    "idle": counter.idle,
    "called": counter.called,
    "serving": counter.serving,
    "paused": counter.paused,
    "offline": counter.offline,
    "knowledge": counter.knowledge,
    "knowledge_search": counter.knowledge_search,
    "knowledge_changed": counter.knowledge_changed,
}
MANAGER_TABS: dict[str, Build] = {
    "live": manager.live,
    "windows": manager.windows,
    "advice": manager.advice,
    "policy": manager.policy,
    "alerts": manager.alerts,
    "audit": manager.audit,
    "settings": manager.settings,
    "devices": manager.devices,
    "reports": manager.reports,
    "report_table": manager.report_table,
    "offline": manager.offline,
}
COMPACT_STATES: dict[str, Build] = {"called": counter.compact, "offline": counter.compact_offline}


def _cases(screens: dict[str, Build], sizes: tuple[Size, ...]) -> list[Any]:
    # Language, then screen, then size: consecutive cases share one build.
    return [
        pytest.param(name, lang, size, id=f"{name}-{lang}-{size[0]}x{size[1]}")
        for lang in LANGUAGES
        for name in screens
        for size in sizes
    ]


class Built:
    """The screen last built, kept while the next case wants the same one."""

    def __init__(self) -> None:
        self.key: tuple[Build, str] | None = None
        self.widget: QWidget | None = None

    def get(self, build: Build, lang: str) -> QWidget:
        if self.key != (build, lang):
            self.drop()
            self.widget = build(Translator(Catalog.load(language=lang)))
            self.key = (build, lang)
        assert self.widget is not None
        return self.widget

    def drop(self) -> None:
        if self.widget is not None:
            # A dialog or the compact bar is built over a counter window that goes with it.
            for widget in (self.widget, getattr(self.widget, "_owner", None)):
                if widget is not None:
                    widget.close()
                    widget.deleteLater()
            # Deleted now, not at some later event loop: every live widget is re-polished
            # by the next build's stylesheet, and leftovers made each build slower.
            QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        self.widget, self.key = None, None


@pytest.fixture(scope="module")
def built(qapp: QApplication) -> Iterator[Built]:
    cache = Built()
    yield cache
    cache.drop()
    qapp.setStyleSheet("")


def _check(built: Built, build: Build, lang: str, size: Size) -> list[str]:
    widget = built.get(build, lang)
    lay_out(widget, size)
    return fit_problems(widget, size)


@pytest.mark.parametrize(("state", "lang", "size"), _cases(COUNTER_STATES, SIZES))
def test_counter_fits(built: Built, state: str, lang: str, size: Size) -> None:
    assert _check(built, COUNTER_STATES[state], lang, size) == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_transfer_dialog_fits(built: Built, lang: str) -> None:
    assert _check(built, counter.transfer, lang, (720, 480)) == []


@pytest.mark.parametrize(("tab", "lang", "size"), _cases(MANAGER_TABS, SIZES))
def test_manager_fits(built: Built, tab: str, lang: str, size: Size) -> None:
    assert _check(built, MANAGER_TABS[tab], lang, size) == []


@pytest.mark.parametrize(("state", "lang", "size"), _cases(COMPACT_STATES, (COMPACT_SIZE,)))
def test_the_compact_bar_fits_its_small_size(
    built: Built, state: str, lang: str, size: Size
) -> None:
    assert COMPACT_SIZE[0] <= 480 and COMPACT_SIZE[1] <= 160
    assert _check(built, COMPACT_STATES[state], lang, size) == []
