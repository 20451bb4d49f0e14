"""The senior-mode home screen (长辈模式): a few huge tiles, one tap to a ticket.

Shown from the attract screen's 长辈模式 button. The branch's most common businesses (or the
ones this kiosk was told, `--elder-services`) fill the screen two by two, each saying how
many people wait for it — a count is easier to weigh than a predicted time. A tile takes a
ticket at once: the guidance screen is left out, because a senior customer who already knows
what they came for is served by fewer screens to read, and the ticket screen says where to
go. "其他业务" opens the full menu. Like the other screens, it shows what it is given and
emits what was tapped.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout

from kiosk.flow import ServiceChoice
from kiosk.screens import CustomerBanner, KioskScreen
from ui.i18n import Translator
from ui.widgets import Banner, BigButton, TextLabel, Tile


class ElderHomeScreen(KioskScreen):
    chosen = Signal(str)
    others_requested = Signal()
    back_requested = Signal()

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr, "kiosk.elder.title")
        self.customer = CustomerBanner(tr)
        self.column.addWidget(self.customer)
        self.error = Banner("kiosk.error.generic", "error", translator=tr)
        self.error.hide()
        self.column.addWidget(self.error)
        self.hint = TextLabel("kiosk.elder.hint", "heading", translator=tr)
        self.column.addWidget(self.hint)
        self.grid = QGridLayout()
        self.grid.setSpacing(32)
        self.column.addLayout(self.grid, 1)
        buttons = QHBoxLayout()
        buttons.setSpacing(24)
        self.back = BigButton("common.back", "secondary", translator=tr)
        self.back.clicked.connect(self.back_requested)
        self.others = BigButton("kiosk.elder.others", "secondary", translator=tr)
        self.others.setObjectName("elderOthers")
        self.others.clicked.connect(self.others_requested)
        buttons.addWidget(self.back)
        buttons.addStretch(1)
        buttons.addWidget(self.others)
        self.column.addLayout(buttons)
        self.tiles: dict[str, Tile] = {}

    def show_services(self, choices: Sequence[ServiceChoice]) -> None:
        codes = [c.code for c in choices]
        if codes != list(self.tiles):
            for tile in self.tiles.values():
                self.grid.removeWidget(tile)
                tile.deleteLater()
            self.tiles = {}
            columns = 1 if len(choices) <= 2 else 2
            for index, choice in enumerate(choices):
                tile = Tile(choice.names, code=choice.code, translator=self.tr_)
                tile.setObjectName("elderTile")
                tile.clicked.connect(lambda _=False, code=choice.code: self.chosen.emit(code))
                self.grid.addWidget(tile, index // columns, index % columns)
                self.tiles[choice.code] = tile
        for choice in choices:
            tile = self.tiles[choice.code]
            tile.set_names(choice.names)
            tile.set_subtitle("kiosk.home.waiting_count", count=choice.waiting)
            if choice.available != tile.isEnabled() or not choice.available:
                key, values = choice.reason
                tile.set_available(choice.available, key, **values)

    def show_error(self, key: str | None) -> None:
        """Why the last tap made no ticket (the server refused or could not be reached)."""
        if key:
            self.error.set_message(key, "error")
        self.error.setVisible(bool(key))
