"""The knowledge panel — how a business is done (documents to check, steps, limits, common
mistakes, related businesses, notes), the called customer's first, others by search — and
the notice of what changed after the head office updated the knowledge base.

Both only show what the window hands them (it reads the branch server). Every text comes
from the head office and is shown as plain text: a QLabel left to guess would render
anything that looks like HTML as rich text. The notes' small markup is laid out as
paragraphs and lists (`wire.knowledge.blocks`), never interpreted further.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ui.i18n import Translator
from ui.widgets import BigButton, TextLabel, label
from wire.knowledge import LIST_FIELDS, blocks

SEARCH_DEBOUNCE_MS = 400
# The notice's changes scroll past this height, so it never pushes the queue off the column.
NOTICE_MAX_CHANGES_H = 150


def plain(name: str, role: str | None = None) -> QLabel:
    """A wrapping label that shows its text as typed, whatever it looks like."""
    widget = label(name, role)
    widget.setTextFormat(Qt.TextFormat.PlainText)
    return widget


def page_texts(page: Mapping[str, Any], field: str, language: str) -> Any:
    """A page's list or body in `language`: the English the head office wrote for it, else
    the Chinese, which always leads."""
    english = page.get("en") if language == "en" else None
    if english and english.get(field):
        return english[field]
    return page.get(field) or ([] if field in LIST_FIELDS else "")


def _clear(layout: QLayout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        if item is None:
            break
        widget = item.widget()
        if widget is not None:
            # Out of the panel at once (not at the next event loop), so what the panel
            # holds is always what it shows.
            widget.hide()
            widget.setParent(None)
            widget.deleteLater()
        else:
            inner = item.layout()
            if inner is not None:
                _clear(inner)


def item_row(mark: str, text: str, name: str) -> QHBoxLayout:
    """One list item: its bullet or number, then its text, wrapped under itself."""
    row = QHBoxLayout()
    row.setSpacing(6)
    sign = QLabel(mark)
    sign.setObjectName("knowledgeMark")
    sign.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
    sign.setMinimumWidth(22)
    item = plain(name)
    item.setText(text)
    row.addWidget(sign, 0, Qt.AlignmentFlag.AlignTop)
    row.addWidget(item, 1)
    return row


def _scroll(body: QWidget, name: str) -> QScrollArea:
    scroll = QScrollArea()
    scroll.setObjectName(name)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(body)
    return scroll


class KnowledgePanel(QFrame):
    """Search, then one page at a time; "back" returns to the called customer's business."""

    searchRequested = Signal(str)  # words to find ("" lists every page)
    pageRequested = Signal(str)  # a business code: a related link or a search result
    backRequested = Signal()  # to the called customer's business

    def __init__(self, tr: Translator, service_name: Callable[[str], str]) -> None:
        super().__init__()
        self.setObjectName("counterCard")
        self.tr_ = tr
        self.service_name = service_name  # a business code → its name in the branch's words
        self.customer_service: str | None = None  # the called customer's business
        self.page: dict[str, Any] | None = None  # the page shown
        self.results: list[dict[str, Any]] | None = None  # the search results shown
        self._status: tuple[str, dict[str, object]] | None = None

        self.search = QLineEdit()
        self.search.setObjectName("knowledgeSearch")
        self.search.setMaxLength(100)  # the server's limit
        # Only a click puts the cursor here: the function keys and a scanner stay the window's.
        self.search.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self._search_now)
        self.search.textEdited.connect(lambda _: self._debounce.start())
        self.search.returnPressed.connect(self._search_now)
        self.back = QPushButton()
        self.back.setObjectName("knowledgeBack")
        self.back.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.back.setCursor(Qt.CursorShape.PointingHandCursor)
        self.back.clicked.connect(self.backRequested.emit)
        self.back.hide()
        self.status = plain("knowledgeStatus", "hint")
        self.status.hide()

        body = QWidget()
        body.setObjectName("knowledgeBody")
        self.content = QVBoxLayout(body)
        self.content.setContentsMargins(0, 0, 6, 0)
        self.content.setSpacing(4)
        self.content.addStretch(1)
        self.page_scroll = _scroll(body, "knowledgeScroll")

        column = QVBoxLayout(self)
        column.setContentsMargins(14, 10, 14, 10)
        column.setSpacing(6)
        column.addWidget(self.search)
        column.addWidget(self.back)
        column.addWidget(self.status)
        column.addWidget(self.page_scroll, 1)
        tr.languageChanged.connect(lambda _: self.retranslate())
        self.retranslate()

    # ------------------------------------------------------------- what to show
    def set_customer_service(self, code: str | None) -> None:
        """The called customer's business (None: nobody at the counter)."""
        self.customer_service = code
        self._update_back()

    def show_page(self, page: Mapping[str, Any]) -> None:
        self.page, self.results, self._status = dict(page), None, None
        self._render()

    def show_results(self, pages: Sequence[Mapping[str, Any]]) -> None:
        self.results, self.page, self._status = [dict(p) for p in pages], None, None
        self._render()

    def show_status(self, key: str, **values: object) -> None:
        """A line instead of a page: loading, no page for this business, not connected."""
        self._status, self.page, self.results = (key, values), None, None
        self._render()

    @property
    def shown_service(self) -> str | None:
        return None if self.page is None else str(self.page.get("service"))

    def retranslate(self) -> None:
        t = self.tr_
        self.search.setPlaceholderText(t.tr("counter.knowledge.search"))
        self._render()

    # ----------------------------------------------------------------- drawing
    def _render(self) -> None:
        _clear(self.content)
        self.status.setVisible(self._status is not None)
        if self._status is not None:
            key, values = self._status
            self.status.setText(self.tr_.tr(key, **values))
        if self.page is not None:
            self._render_page(self.page)
        elif self.results is not None:
            self._render_results(self.results)
        self.content.addStretch(1)
        self.page_scroll.verticalScrollBar().setValue(0)
        self._update_back()

    def _update_back(self) -> None:
        code = self.customer_service
        away = code is not None and self.shown_service != code
        self.back.setVisible(away)
        if code is not None:
            self.back.setText(
                self.tr_.tr("counter.knowledge.back", service=self.service_name(code))
            )

    def _add(self, widget: QWidget) -> None:
        self.content.addWidget(widget)

    def _title(self, page: Mapping[str, Any]) -> str:
        return self.tr_.pick(page.get("title") or {}) or str(page.get("service", ""))

    def _render_page(self, page: Mapping[str, Any]) -> None:
        t = self.tr_
        language = t.language
        title = plain("knowledgeTitle")
        title.setText(f"{page.get('service', '')}  {self._title(page)}")
        self._add(title)
        if page.get("service") == self.customer_service:
            self._add(TextLabel("counter.knowledge.for_customer", "hint", translator=t))
        for field in LIST_FIELDS:
            items = page_texts(page, field, language)
            if items:
                self._section(f"counter.knowledge.{field}")
                self._items(items, numbered=field == "steps")
        body = page_texts(page, "body", language)
        if body:
            self._section("counter.knowledge.notes")
            for kind, texts in blocks(body):
                if kind == "p":
                    self._line(texts[0], "knowledgeParagraph")
                else:
                    self._items(texts, numbered=kind == "ol")
        related = page.get("related") or []
        if related:
            self._section("counter.knowledge.related")
            for code in related:
                self._link(code, f"{code}  {self.service_name(code)}")

    def _render_results(self, pages: Sequence[Mapping[str, Any]]) -> None:
        t = self.tr_
        words = self.search.text().strip()
        if not pages:
            key = "counter.knowledge.none_found" if words else "counter.knowledge.empty"
            self._add(TextLabel(key, "hint", translator=t, words=words))
            return
        key = "counter.knowledge.found" if words else "counter.knowledge.all"
        self._add(TextLabel(key, "hint", translator=t, count=len(pages), words=words))
        for page in pages:
            code = str(page.get("service", ""))
            self._link(code, f"{code}  {self._title(page)}")

    def _section(self, key: str) -> None:
        heading = TextLabel(key, "heading", translator=self.tr_)
        heading.setObjectName("knowledgeSection")
        self._add(heading)

    def _line(self, text: str, name: str) -> None:
        line = plain(name)
        line.setText(text)
        self._add(line)

    def _items(self, items: Sequence[str], *, numbered: bool) -> None:
        for index, text in enumerate(items, 1):
            mark = f"{index}." if numbered else "•"
            self.content.addLayout(item_row(mark, text, "knowledgeItem"))

    def _link(self, code: str, text: str) -> None:
        link = QPushButton(text)
        link.setObjectName("knowledgeLink")
        link.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        link.setCursor(Qt.CursorShape.PointingHandCursor)
        link.setProperty("service", code)
        link.clicked.connect(lambda _=False, code=code: self.pageRequested.emit(code))
        self._add(link)

    def links(self) -> dict[str, QPushButton]:
        """The links shown now (related businesses or search results), by business code."""
        return {
            str(b.property("service")): b for b in self.findChildren(QPushButton, "knowledgeLink")
        }

    def _search_now(self) -> None:
        self._debounce.stop()
        self.searchRequested.emit(self.search.text().strip())


class KnowledgeNotice(QFrame):
    """What changed in the knowledge base since this teller last looked, until dismissed."""

    dismissed = Signal(int)  # the newest version shown: the teller has read up to it

    def __init__(self, tr: Translator) -> None:
        super().__init__()
        self.setObjectName("knowledgeNotice")
        self.tr_ = tr
        self.unseen: list[dict[str, Any]] = []
        self.heading = TextLabel("counter.knowledge.changed", "heading", translator=tr)
        self.heading.setObjectName("knowledgeNoticeTitle")
        self.dismiss = BigButton("counter.knowledge.dismiss", "secondary", translator=tr)
        self.dismiss.setObjectName("knowledgeDismiss")
        self.dismiss.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.dismiss.clicked.connect(self._dismiss)
        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.heading, 1)
        top.addWidget(self.dismiss, 0, Qt.AlignmentFlag.AlignTop)
        self.body = QWidget()
        self.body.setObjectName("knowledgeNoticeBody")
        self.lines = QVBoxLayout(self.body)
        self.lines.setContentsMargins(0, 0, 6, 0)
        self.lines.setSpacing(4)
        self.changes = _scroll(self.body, "knowledgeNoticeScroll")
        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(14, 10, 14, 10)
        self.column.setSpacing(6)
        self.column.addLayout(top)
        self.column.addWidget(self.changes)
        tr.languageChanged.connect(lambda _: self._render())
        self.hide()

    @property
    def newest(self) -> int:
        return max((int(v.get("kb_version") or 0) for v in self.unseen), default=0)

    def show_changes(self, unseen: Sequence[Mapping[str, Any]]) -> None:
        """The versions not yet read, newest first (none: the notice goes)."""
        self.unseen = [dict(v) for v in unseen if v.get("changes")]
        self.dismiss.setEnabled(True)
        self._render()
        self.setVisible(bool(self.unseen))

    def sentences(self) -> list[str]:
        """The changes as shown, in the language shown (the Chinese where no English)."""
        english = self.tr_.language == "en"
        return [
            str((english and c.get("en")) or c.get("zh") or "")
            for version in self.unseen
            for c in version["changes"]
        ]

    def _render(self) -> None:
        _clear(self.lines)
        several = len(self.unseen) > 1
        self.heading.set_text("counter.knowledge.changed", version=self.newest)
        english = self.tr_.language == "en"
        for version in self.unseen:
            if several:
                caption = TextLabel(
                    "counter.knowledge.version", "hint", translator=self.tr_,
                    version=version.get("kb_version"),
                )  # fmt: skip
                self.lines.addWidget(caption)
            for change in version["changes"]:
                text = str((english and change.get("en")) or change.get("zh"))
                self.lines.addLayout(item_row("•", text, "knowledgeChange"))
        self.lines.addStretch(1)
        self._fit()

    def _fit(self) -> None:
        # As tall as its changes, up to a limit, then they scroll: a scroll area left to
        # the layout gets squeezed to two lines while the page below has room to give.
        body = self.body
        # The width the changes get: the notice's, less its margins and the scroll bar.
        margins = self.column.contentsMargins()
        bar = self.changes.verticalScrollBar().sizeHint().width()
        width = self.width() - margins.left() - margins.right() - bar
        needed = body.heightForWidth(width) if body.hasHeightForWidth() else -1
        if needed < 0:
            needed = body.sizeHint().height()
        self.changes.setFixedHeight(min(needed, NOTICE_MAX_CHANGES_H))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _dismiss(self) -> None:
        if self.unseen:
            self.dismiss.setEnabled(False)  # one request; the answer shows or hides it
            self.dismissed.emit(self.newest)
