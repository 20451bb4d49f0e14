"""Does a screen fit the screen it runs on? The one check behind the fit tests and screenshots.

A window fits when, laid out at the screen's size, it keeps exactly that size (its layout
does not demand more), and every button a person may press is on screen, not cut by its
parents and not squeezed below the size its text needs. A button inside a scroll area counts
when it lies within the area's content: the customer reaches it by scrolling, and the
window's fixed parts (the action bar) are outside any scroll area, so they are held to the
strict rule. Labels that do not wrap are checked for the width their text needs. A scroll
area marked `UNSCROLLED` (the attract screen's body) may not scroll at all.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractScrollArea, QApplication, QLabel, QWidget

from ui.reflow import UNSCROLLED


class Overflow(AssertionError):
    """A screen does not fit its size: what a person would miss, one line per problem."""


def _describe(widget: QWidget) -> str:
    if isinstance(widget, QAbstractButton | QLabel) and widget.text():
        text = widget.text().replace("\n", " ")
        return f"{type(widget).__name__} {text[:40]!r}"
    return f"{type(widget).__name__} {widget.objectName() or '(unnamed)'}"


def _in_scroll_area(widget: QWidget, window: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def _visible_rect(widget: QWidget, window: QWidget) -> QRect:
    """The part of `widget` its ancestors let show, in window coordinates."""
    rect = QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        rect &= QRect(parent.mapTo(window, parent.rect().topLeft()), parent.size())
        parent = parent.parentWidget()
    return rect & window.rect()


def fit_problems(window: QWidget, size: tuple[int, int]) -> list[str]:
    """What does not fit in `window`, already laid out and shown at `size`; [] if all fits."""
    problems: list[str] = []
    target = QSize(*size)
    layout = window.layout()
    needed = layout.totalMinimumSize() if layout is not None else window.minimumSizeHint()
    if window.size() != target or needed.width() > size[0] or needed.height() > size[1]:
        problems.append(
            f"the window needs {needed.width()}×{needed.height()} "
            f"and is {window.width()}×{window.height()} on a {size[0]}×{size[1]} screen"
        )
    for area in window.findChildren(QAbstractScrollArea):
        below = area.verticalScrollBar().maximum()
        if area.isVisibleTo(window) and area.property(UNSCROLLED) and below > 0:
            problems.append(
                f"{_describe(area)} must show whole but scrolls: {below} px below the fold"
            )
    for button in window.findChildren(QAbstractButton):
        if not button.isVisibleTo(window):
            continue
        if _in_scroll_area(button, window):
            continue
        full = QRect(button.mapTo(window, button.rect().topLeft()), button.size())
        shown = _visible_rect(button, window)
        if shown != full:
            problems.append(f"{_describe(button)} is cut: {shown.height()} of {full.height()} px")
        hint = button.minimumSizeHint()
        if button.width() < hint.width() or button.height() < hint.height():
            problems.append(
                f"{_describe(button)} is squeezed to {button.width()}×{button.height()}, "
                f"its text needs {hint.width()}×{hint.height()}"
            )
    for label in window.findChildren(QLabel):
        if (
            not label.isVisibleTo(window)
            or label.wordWrap()
            or not label.text()
            or _in_scroll_area(label, window)
        ):
            continue
        if label.textFormat() == Qt.TextFormat.RichText:
            continue
        if label.width() < label.minimumSizeHint().width():
            problems.append(
                f"{_describe(label)} is cut: {label.width()} px wide, "
                f"its text needs {label.minimumSizeHint().width()}"
            )
    return problems


def lay_out(window: QWidget, size: tuple[int, int]) -> None:
    """Show `window` offscreen at `size`, with its layouts and stylesheet applied."""
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.resize(QSize(*size))
    window.show()
    QApplication.processEvents()


def assert_fits(window: QWidget, size: tuple[int, int], name: str = "") -> None:
    problems = fit_problems(window, size)
    if problems:
        where = f"{name} at {size[0]}×{size[1]}" if name else f"{size[0]}×{size[1]}"
        raise Overflow(f"{where} does not fit:\n  " + "\n  ".join(problems))
