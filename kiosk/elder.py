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

from kiosk.flow import ServiceChoice
from kiosk.screens import CustomerBanner, HoursBanner, MenuScreen
from ui import theme
from ui.i18n import Translator
from ui.widgets import Banner, BigButton, TextLabel

ELDER_TILE_MIN_W = 560


class ElderHomeScreen(MenuScreen):
    others_requested = Signal()
    back_requested = Signal()

    def __init__(self, tr: Translator) -> None:
        super().__init__(tr, "kiosk.elder.title", tile_name="elderTile")
        # The tiles fill the screen: the few businesses a senior needs, as big as they go.
        self.grid.fill_height = True
        self.hours = HoursBanner(tr, booking_hint=False)  # no check-in button here
        self.column.addWidget(self.hours)
        self.customer = CustomerBanner(tr)
        self.column.addWidget(self.customer)
        self.error = Banner("kiosk.error.generic", "error", translator=tr)
        self.error.hide()
        self.column.addWidget(self.error)
        self.hint = TextLabel("kiosk.elder.hint", "heading", translator=tr)
        self.column.addWidget(self.hint)
        self.column.addLayout(self.grid, 1)
        self.back = BigButton("common.back", "secondary", translator=tr)
        self.back.clicked.connect(self.back_requested)
        self.others = BigButton("kiosk.elder.others", "secondary", translator=tr)
        self.others.setObjectName("elderOthers")
        self.others.clicked.connect(self.others_requested)
        self.action_bar.add(self.back, "start")
        self.action_bar.add(self.others, "end")

    @staticmethod
    def _tile_width() -> int:
        # One tile a row in portrait (a name at senior size does not fit half of 1080 px),
        # two side by side on a landscape screen.
        return max(ELDER_TILE_MIN_W, theme.pixels(theme.is_large_text(), "tile_min_w"))

    def show_services(self, choices: Sequence[ServiceChoice]) -> None:
        # Two huge tiles stack; three or four go two by two.
        self.place_tiles(choices, 1 if len(choices) <= 2 else 2)
        for choice in choices:
            self.tiles[choice.code].set_subtitle("kiosk.home.waiting_count", count=choice.waiting)

    def show_error(self, key: str | None) -> None:
        """Why the last tap made no ticket (the server refused or could not be reached)."""
        if key:
            self.error.set_message(key, "error")
        self.error.setVisible(bool(key))
