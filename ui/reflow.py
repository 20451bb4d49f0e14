"""Layouts that never ask for more room than the screen has: they reflow instead.

A kiosk runs on whatever panel the branch bought: 1920×1080, 1366×768, 1280×1024 or a
portrait 1080×1920 取号机. A row of buttons or a grid of tiles laid out for the widest of
these makes the window demand more than a narrow screen has, and Qt then grows the window
off the screen. These layouts instead answer "how tall at this width" (height-for-width),
so the same screen wraps its buttons into more rows and its tiles into fewer columns:

* `BarLayout`: a title bar or an action bar. Items go `start` (left), `middle` (after the
  start, apart from it) or `end` (right). When one row is too narrow, the middle items
  wrap onto rows above and the start and end items stay together on the last row, where
  a thumb finds 返回 and 取号.
* `ReflowLayout`: cells in as many columns as fit (tiles, cards side by side that stack
  in portrait), every cell of a row as tall as the row.
* `ScrollBody`: the part of a screen that scrolls when the text is large or the screen
  is short, frameless, with kinetic scrolling for a finger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import (
    QFrame,
    QLayout,
    QLayoutItem,
    QScrollArea,
    QScroller,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
    QWidgetItem,
)

SLOTS = ("start", "middle", "end")
# A Qt property: set True on a `ScrollBody` whose contents must show whole, unscrolled
# (the fit check in tools/screenshots/fit.py holds it to that).
UNSCROLLED = "fitsUnscrolled"


def _height_at(item: QLayoutItem, width: int) -> int:
    """How tall `item` wants to be when given `width` (a wrapping text grows taller)."""
    if item.hasHeightForWidth():
        return max(item.heightForWidth(width), item.minimumSize().height())
    return max(item.sizeHint().height(), item.minimumSize().height())


def _inner(layout: QLayout, rect: QRect) -> QRect:
    m = layout.contentsMargins()
    return rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())


class _Reflowing(QLayout):
    """What both layouts share: their height follows their width, they are as narrow as
    their widest item and as short as their tallest, and they grow sideways."""

    def _shown_items(self) -> list[QLayoutItem]:
        raise NotImplementedError

    def _preferred_width(self) -> int:
        raise NotImplementedError

    def hasHeightForWidth(self) -> bool:
        return True

    def minimumSize(self) -> QSize:
        # Every item on a row of its own; the real height comes from heightForWidth.
        shown = self._shown_items()
        m = self.contentsMargins()
        width = max((i.minimumSize().width() for i in shown), default=0)
        height = max((i.minimumSize().height() for i in shown), default=0)
        return QSize(width + m.left() + m.right(), height + m.top() + m.bottom())

    def sizeHint(self) -> QSize:
        m = self.contentsMargins()
        width = self._preferred_width() + m.left() + m.right()
        return QSize(width, self.heightForWidth(width))

    def expandingDirections(self) -> Qt.Orientation:
        return Qt.Orientation.Horizontal


@dataclass
class _BarItem:
    item: QLayoutItem
    slot: str
    expand: bool  # takes the row's spare width (a title)
    fill_when_wrapped: bool  # takes the last row's spare width once the bar wraps (取号)
    share: float = 0.0  # an expanding item keeps a row only with this part of its width

    def width(self, row_width: int = 0) -> int:
        """The width this item asks for in a row `row_width` wide: its minimum if it may
        stretch (but its `share` of the row: a title squeezed to one word a line is
        better on a row of its own)."""
        least = self.item.minimumSize().width()
        if self.expand:
            return max(least, min(self.item.sizeHint().width(), int(self.share * row_width)))
        return max(self.item.sizeHint().width(), least)


class BarLayout(_Reflowing):
    """A bar of buttons (or a title and switches) that wraps into rows instead of overflowing."""

    def __init__(self, parent: QWidget | None = None, *, spacing: int = 20, gap: int = 48) -> None:
        super().__init__(parent)
        self._items: list[_BarItem] = []
        self.setSpacing(spacing)
        self.gap = gap  # between the start items and the middle ones: 返回 apart from 优先服务
        self.setContentsMargins(0, 0, 0, 0)

    # ---- building
    def add(
        self,
        widget: QWidget,
        slot: str = "middle",
        *,
        expand: bool = False,
        fill_when_wrapped: bool = False,
        share: float = 0.0,
        index: int | None = None,
    ) -> None:
        if slot not in SLOTS:
            raise ValueError(f"bar slot {slot!r}: use one of {SLOTS}")
        self.addChildWidget(widget)
        entry = _BarItem(QWidgetItem(widget), slot, expand, fill_when_wrapped, share)
        self._items.insert(len(self._items) if index is None else index, entry)
        self.invalidate()

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(_BarItem(item, "middle", False, False))
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index].item if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        if 0 <= index < len(self._items):
            return self._items.pop(index).item
        return None

    def widgets(self, slot: str) -> list[QWidget]:
        return [w for e in self._items if e.slot == slot and (w := e.item.widget()) is not None]

    # ---- sizes
    def _shown(self) -> list[_BarItem]:
        return [e for e in self._items if not e.item.isEmpty()]

    def _row_width(self, row: Sequence[_BarItem], available: int = 0) -> int:
        if not row:
            return 0
        width = sum(e.width(available) for e in row) + self.spacing() * (len(row) - 1)
        slots = {e.slot for e in row}
        if "start" in slots and "middle" in slots:
            width += self.gap - self.spacing()
        return width

    def rows(self, width: int) -> list[list[_BarItem]]:
        """The items row by row at `width` (inside the margins), top row first."""
        shown = self._shown()
        if not shown or self._row_width(shown, width) <= width:
            return [shown] if shown else []
        middles = [e for e in shown if e.slot == "middle"]
        last = [e for e in shown if e.slot != "middle"]
        if self._row_width(last, width) <= width:
            return [*self._pack(middles, width), last]
        # The start items above the end ones: a title above its switches, 返回 above 取号.
        starts = [e for e in last if e.slot == "start"]
        ends = [e for e in last if e.slot == "end"]
        return self._pack(middles, width) + self._pack(starts, width) + self._pack(ends, width)

    def _pack(self, entries: Sequence[_BarItem], width: int) -> list[list[_BarItem]]:
        """`entries` in order, as many on a row as fit."""
        rows: list[list[_BarItem]] = []
        row: list[_BarItem] = []
        for entry in entries:
            if row and self._row_width([*row, entry], width) > width:
                rows.append(row)
                row = []
            row.append(entry)
        return [*rows, row] if row else rows

    def _row_height(self, row: Sequence[_BarItem], widths: Sequence[int]) -> int:
        return max(_height_at(e.item, w) for e, w in zip(row, widths, strict=True))

    def _widths(self, row: Sequence[_BarItem], width: int, wrapped: bool) -> list[int]:
        widths = [e.width(width) for e in row]
        spare = width - self._row_width(row, width)
        if spare < 0:  # narrower than even one button: share what there is
            return [max(1, w * width // max(1, sum(widths))) for w in widths]
        takers = [i for i, e in enumerate(row) if e.expand]
        if not takers and wrapped:
            if all(e.slot == "middle" for e in row):
                takers = list(range(len(row)))  # a wrapped row of choices: buttons share it
            else:
                takers = [i for i, e in enumerate(row) if e.fill_when_wrapped]
        for n, i in enumerate(takers):
            widths[i] += spare // len(takers) + (1 if n < spare % len(takers) else 0)
        for i, e in enumerate(row):
            widths[i] = min(widths[i], e.item.maximumSize().width())
        return widths

    def _layout_rows(self, width: int) -> list[tuple[list[_BarItem], list[int], int]]:
        rows = self.rows(width)
        wrapped = len(rows) > 1
        out = []
        for row in rows:
            widths = self._widths(row, width, wrapped)
            out.append((row, widths, self._row_height(row, widths)))
        return out

    def heightForWidth(self, width: int) -> int:
        m = self.contentsMargins()
        rows = self._layout_rows(width - m.left() - m.right())
        inner = sum(h for _, _, h in rows) + self.spacing() * max(0, len(rows) - 1)
        return inner + m.top() + m.bottom()

    def _shown_items(self) -> list[QLayoutItem]:
        return [e.item for e in self._shown()]

    def _preferred_width(self) -> int:
        return self._row_width(self._shown())

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        area = _inner(self, rect)
        y = area.top()
        for row, widths, height in self._layout_rows(area.width()):
            starts = [(e, w) for e, w in zip(row, widths, strict=True) if e.slot == "start"]
            middles = [(e, w) for e, w in zip(row, widths, strict=True) if e.slot == "middle"]
            ends = [(e, w) for e, w in zip(row, widths, strict=True) if e.slot == "end"]
            x = area.left()
            for entry, w in starts:
                self._place(entry, x, y, w, height)
                x += w + self.spacing()
            if starts and middles:
                x += self.gap - self.spacing()
            for entry, w in middles:
                self._place(entry, x, y, w, height)
                x += w + self.spacing()
            x = (
                area.right()
                + 1
                - (sum(w for _, w in ends) + self.spacing() * max(0, len(ends) - 1))
            )
            for entry, w in ends:
                self._place(entry, x, y, w, height)
                x += w + self.spacing()
            y += height + self.spacing()

    @staticmethod
    def _place(entry: _BarItem, x: int, y: int, width: int, row_height: int) -> None:
        # Items of a row share its bottom edge: a tall 取号 beside a shorter 返回.
        height = min(row_height, max(_height_at(entry.item, width), 1))
        if entry.item.expandingDirections() & Qt.Orientation.Vertical:
            height = row_height
        entry.item.setGeometry(QRect(x, y + row_height - height, width, height))


class ReflowLayout(_Reflowing):
    """Cells in as many columns as fit (at most `max_columns`, each at least `cell_width`).

    `stretches`: when every cell fits on one row, their widths in these proportions (the
    guidance's documents card wider than its where-to-go card); otherwise cells are equal.
    A cell with a maximum width (a fixed QR column) is centred in its place.
    `fill_last_row`: the cells of a last, shorter row share its whole width, so a seventh
    tile under two rows of three is one wide tile, not one lonely tile beside a gap.
    `fill_height`: rows grow (up to `row_max_height` each) into height the layout is given
    beyond what it needs, so a few huge tiles fill the screen instead of its top.
    """

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        cell_width: int = 400,
        max_columns: int = 3,
        spacing: int = 24,
        stretches: Sequence[int] = (),
        fill_last_row: bool = False,
        fill_height: bool = False,
        row_max_height: int = 420,
    ) -> None:
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self.cell_width = cell_width
        self.max_columns = max_columns
        self.stretches = list(stretches)
        self.fill_last_row = fill_last_row
        self.fill_height = fill_height
        self.row_max_height = row_max_height
        self.setSpacing(spacing)
        self.setContentsMargins(0, 0, 0, 0)

    def set_cell_width(self, cell_width: int) -> None:
        if cell_width != self.cell_width:
            self.cell_width = cell_width
            self.invalidate()

    def addItem(self, item: QLayoutItem) -> None:
        self._items.append(item)
        self.invalidate()

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def _shown(self) -> list[QLayoutItem]:
        return [i for i in self._items if not i.isEmpty()]

    def columns(self, width: int) -> int:
        """How many cells side by side at `width` (inside the margins)."""
        shown = self._shown()
        need = max([self.cell_width, *(i.minimumSize().width() for i in shown)])
        fit = (width + self.spacing()) // (need + self.spacing())
        return max(1, min(self.max_columns, len(shown) or 1, fit))

    def _cells(self, width: int) -> list[tuple[QLayoutItem, int, int, int]]:
        """(item, x offset, width, row index) of every shown item."""
        shown = self._shown()
        columns = self.columns(width)
        free = width - self.spacing() * (columns - 1)
        if len(shown) == columns and len(self.stretches) == columns:
            total = sum(self.stretches)
            widths = [free * s // total for s in self.stretches]
        else:
            widths = [free // columns] * columns
        cells = []
        last_row = (len(shown) - 1) // columns
        left_over = len(shown) % columns
        for index, item in enumerate(shown):
            column = index % columns
            row = index // columns
            if self.fill_last_row and left_over and row == last_row and row > 0:
                share = (width - self.spacing() * (left_over - 1)) // left_over
                cells.append((item, column * (share + self.spacing()), share, row))
                continue
            x = sum(widths[:column]) + self.spacing() * column
            cells.append((item, x, widths[column], row))
        return cells

    def _row_heights(self, cells: Sequence[tuple[QLayoutItem, int, int, int]]) -> list[int]:
        heights: dict[int, int] = {}
        for item, _x, w, row in cells:
            heights[row] = max(heights.get(row, 0), _height_at(item, min(w, _max_w(item))))
        return [heights[r] for r in sorted(heights)]

    def heightForWidth(self, width: int) -> int:
        m = self.contentsMargins()
        heights = self._row_heights(self._cells(width - m.left() - m.right()))
        inner = sum(heights) + self.spacing() * max(0, len(heights) - 1)
        return inner + m.top() + m.bottom()

    def _shown_items(self) -> list[QLayoutItem]:
        return self._shown()

    def _preferred_width(self) -> int:
        n = min(self.max_columns, len(self._shown()) or 1)
        return n * self.cell_width + self.spacing() * (n - 1)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        area = _inner(self, rect)
        cells = self._cells(area.width())
        heights = self._row_heights(cells)
        if self.fill_height and heights:
            needed = sum(heights) + self.spacing() * (len(heights) - 1)
            extra = max(0, area.height() - needed) // len(heights)
            heights = [max(h, min(h + extra, self.row_max_height)) for h in heights]
        tops = [area.top() + sum(heights[:r]) + self.spacing() * r for r in range(len(heights))]
        for item, x, w, row in cells:
            width = min(w, _max_w(item))
            left = area.left() + x + (w - width) // 2
            item.setGeometry(QRect(QPoint(left, tops[row]), QSize(width, heights[row])))


def _max_w(item: QLayoutItem) -> int:
    return item.maximumSize().width()


class ScrollBody(QScrollArea):
    """The scrolling middle of a screen: no frame, never sideways, flicked by a finger.

    Its contents go in `column`. Kinetic scrolling listens to touch only, so a mouse click
    (and a test's click) on a button inside still is a click; the scroll bar stays for
    touch panels that report themselves as a mouse."""

    def __init__(self, name: str = "screenBody") -> None:
        super().__init__()
        self.setObjectName(name)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.content = QWidget()
        self.content.setObjectName(f"{name}Content")
        self.column = QVBoxLayout(self.content)
        self.column.setContentsMargins(0, 0, 0, 0)
        self.setWidget(self.content)
        QScroller.grabGesture(self.viewport(), QScroller.ScrollerGestureType.TouchGesture)

    def minimumSizeHint(self) -> QSize:
        # A scroll area's point: however much it holds, it asks for little room.
        return QSize(0, 0)

    def sideways_overflow(self) -> int:
        """How many pixels the contents need beyond the visible width (0: none cut off)."""
        return max(0, self.content.minimumSizeHint().width() - self.viewport().width())
