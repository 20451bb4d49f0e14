"""KioskWindow: the kiosk's screens in a stack, driven by the flow, the client and the printer.

The window wires three things together and holds no logic of its own: `KioskFlow` decides
which screen shows what; `BranchClient` (ui.client) keeps the branch model live and issues
tickets over HTTP; `TicketPrinting` prints on a worker thread. A QTimer ticks the flow once
a second (idle timeouts, the clock, the ticket screen's countdown); any touch anywhere on
the window keeps the current screen from timing out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QStackedWidget, QVBoxLayout, QWidget

from ui import theme
from ui.client import ApiError, BranchClient, new_key
from ui.i18n import FALLBACK_LANGUAGE, Translator, translator

from .flow import (
    IssueDone,
    IssuedTicket,
    IssueFailure,
    KioskFlow,
    PrintOutcome,
    Screen,
    ServiceChoice,
    Timeouts,
    service_choices,
)
from .printing import TicketPrinting, ticket_content
from .screens import (
    AttractScreen,
    GuidanceScreen,
    HomeScreen,
    IssuingScreen,
    OfflineScreen,
    TicketScreen,
    kiosk_stylesheet,
)

log = logging.getLogger(__name__)
TOUCH_EVENTS = (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin)


class ClientPorts:
    """The flow's ports on the real client and printer."""

    def __init__(self, client: BranchClient, printing: TicketPrinting, device_name: str) -> None:
        self.client = client
        self.printing = printing
        self.device_name = device_name

    def new_key(self) -> str:
        return new_key()

    def issue_ticket(self, service: str, idempotency_key: str, done: IssueDone) -> None:
        def answered(data: Any, error: ApiError | None) -> None:
            if error is not None:
                # The code only: a message could one day carry something personal.
                log.warning("issuing a %s ticket failed: %s", service, error.code)
                done(None, IssueFailure(offline=error.offline, code=error.code))
            else:
                done(data, None)

        self.client.issue_ticket(service, idempotency_key=idempotency_key).then(answered)

    def print_ticket(self, ticket: IssuedTicket, done: Callable[[PrintOutcome], None]) -> None:
        model = self.client.model
        content = ticket_content(ticket, model.branch, model.services.get(ticket.service, {}))
        self.printing.print_ticket(content, done)

    def report_printer(self, health: str, detail: str, done: Callable[[bool], None]) -> None:
        reply = self.client.report_device(f"{self.device_name}/printer", "printer", health, detail)
        reply.then(lambda _data, error: done(error is None))


class KioskWindow(QWidget):
    """The customer kiosk: attract, home, guidance, issuing, ticket and offline screens."""

    def __init__(
        self,
        client: BranchClient,
        printing: TicketPrinting,
        *,
        tr: Translator | None = None,
        device_name: str = "kiosk-1",
        live_page_base: str | None = None,
        timeouts: Timeouts | None = None,
        tick_ms: int = 1000,
        printer_check_s: float = 120.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("BranchQ")
        self.client = client
        self.printing = printing
        self.tr_ = tr or translator()
        self.flow = KioskFlow(
            ClientPorts(client, printing, device_name),
            live_page_base=live_page_base or client.base_url,
            timeouts=timeouts,
        )
        self.stack = QStackedWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        t = self.tr_
        self.attract = AttractScreen(t)
        self.home = HomeScreen(t)
        self.guidance = GuidanceScreen(t)
        self.issuing = IssuingScreen(t)
        self.ticket = TicketScreen(t)
        self.offline = OfflineScreen(t)
        self.pages: dict[Screen, QWidget] = {
            Screen.ATTRACT: self.attract,
            Screen.HOME: self.home,
            Screen.GUIDANCE: self.guidance,
            Screen.ISSUING: self.issuing,
            Screen.TICKET: self.ticket,
            Screen.OFFLINE: self.offline,
        }
        for page in self.pages.values():
            self.stack.addWidget(page)

        self.attract.started.connect(self.flow.start)
        self.home.chosen.connect(self.flow.choose_service)
        self.home.back_requested.connect(self.flow.back)
        self.guidance.back_requested.connect(self.flow.back)
        self.guidance.take_ticket.connect(self.flow.take_ticket)
        self.ticket.done.connect(self.flow.done)
        self.flow.subscribe(self._render)

        client.connectedChanged.connect(self.flow.set_online)
        client.snapshotLoaded.connect(self._model_changed)
        client.eventReceived.connect(lambda _ev: self._model_changed())
        self.tr_.languageChanged.connect(lambda _lang: self.flow.touch())
        theme.theme_state().largeTextChanged.connect(self._restyle)
        self._restyle(theme.is_large_text())

        self._sessions_seen = 0
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._printer_check = QTimer(self)
        self._printer_check.setInterval(int(printer_check_s * 1000))
        self._printer_check.timeout.connect(self.check_printer)
        self._printer_check.start()
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)
        self.flow.set_online(bool(client.online))
        self._model_changed()
        self._render()

    # ------------------------------------------------------------------ events
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            isinstance(watched, QWidget)
            and event.type() in TOUCH_EVENTS
            and watched.window() is self
        ):
            self.flow.touch()
        return False

    def closeEvent(self, event: Any) -> None:
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self._timer.stop()
        self._printer_check.stop()
        super().closeEvent(event)

    def check_printer(self) -> None:
        """Ask the printer how it is while nobody is using the kiosk."""
        if self.flow.screen in (Screen.ATTRACT, Screen.OFFLINE) and not self.printing.busy():
            self.printing.check(self.flow.printer_checked)

    def _tick(self) -> None:
        self.flow.tick()
        self.attract.set_clock(self._clock_text())
        if self.flow.screen is Screen.TICKET:
            left = self.flow.seconds_left()
            self.ticket.set_countdown(None if left is None else max(0, round(left)))

    def _restyle(self, large: bool) -> None:
        self.setStyleSheet(kiosk_stylesheet(large))

    # ------------------------------------------------------------------ render
    def _now_local(self) -> datetime:
        try:
            zone = ZoneInfo(str(self.client.model.branch.get("timezone") or "Asia/Shanghai"))
        except (ZoneInfoNotFoundError, ValueError):
            return datetime.now()
        return datetime.now(zone)

    def _clock_text(self) -> str:
        return self._now_local().strftime("%H:%M")

    def choices(self) -> list[ServiceChoice]:
        model = self.client.model
        return service_choices(model.services, model.waiting, self._now_local())

    def _model_changed(self) -> None:
        choices = self.choices()
        name = str(self.client.model.branch.get("name") or "")
        self.attract.show_branch(name, self._clock_text(), choices)
        self.home.show_services(choices)
        if self.flow.screen is Screen.GUIDANCE:
            self._show_guidance()

    def _show_guidance(self) -> None:
        code = self.flow.service or ""
        service = self.client.model.services.get(code, {})
        wait = next((c.wait_minutes for c in self.choices() if c.code == code), None)
        self.guidance.show_service(service, wait, self.flow.error_key)

    def _render(self) -> None:
        flow = self.flow
        if flow.sessions_ended != self._sessions_seen:
            self._sessions_seen = flow.sessions_ended
            self._reset_for_next_customer()
        if flow.screen is Screen.GUIDANCE:
            self._show_guidance()
        elif flow.screen is Screen.TICKET and flow.ticket is not None:
            names = self.client.model.services.get(flow.ticket.service, {}).get("names") or {}
            self.ticket.show_ticket(flow.ticket, names)
            left = flow.seconds_left()
            self.ticket.set_countdown(None if left is None else max(0, round(left)))
        elif flow.screen is Screen.HOME:
            self.home.show_services(self.choices())
        self.stack.setCurrentWidget(self.pages[flow.screen])

    def _reset_for_next_customer(self) -> None:
        # The next customer starts in the branch's language with normal text.
        self.tr_.set_language(FALLBACK_LANGUAGE)
        app = QApplication.instance()
        if isinstance(app, QApplication) and theme.is_large_text(app):
            theme.apply_theme(app, False)

    @property
    def screen_name(self) -> str:
        return self.flow.screen.value
