"""KioskWindow: the kiosk's screens in a stack, driven by the flow, the client and devices.

The window wires things together and holds no logic of its own: `KioskFlow` decides which
screen shows what; `BranchClient` (ui.client) keeps the branch model live and talks to the
server; `TicketPrinting` prints on a worker thread; `KioskPeripherals` brings ID cards and
scanned QR codes in as signals, and a keyboard-wedge filter catches USB scanners that type.
A QTimer ticks the flow once a second (idle timeouts, the clock, the ticket screen's
countdown); any touch anywhere on the window keeps the current screen from timing out.
The window is given its flow; `open_kiosk` builds one on a live client and printer.

Lockdown (`lockdown=True`): full screen, no frame, and the window refuses to close; staff
get out through the maintenance gesture — five taps in the top-left corner within four
seconds — and the maintenance PIN.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QStackedWidget, QVBoxLayout, QWidget

from devices.audio import QueuedPlayer, Utterance
from devices.audio.pack import CHIME, ClipPack, Part, Silence, VoicePackError, clips_used
from kiosk.elder import ElderHomeScreen
from kiosk.flow import (
    BranchClosed,
    CardReading,
    IssueDone,
    IssuedTicket,
    IssueFailure,
    KioskFlow,
    PrintOutcome,
    Screen,
    ServiceChoice,
    TicketRequest,
    Timeouts,
    branch_closed,
    elder_choices,
    service_choices,
)
from kiosk.pages import (
    AppointmentScreen,
    IdCardScreen,
    MaintenanceScreen,
    NoticeScreen,
    PinScreen,
    PriorityScreen,
)
from kiosk.peripherals import KioskPeripherals
from kiosk.printing import TicketPrinting, ticket_content
from kiosk.screens import (
    AttractScreen,
    GuidanceScreen,
    HomeScreen,
    IssuingScreen,
    OfflineScreen,
    TicketScreen,
)
from kiosk.voice import KioskVoice, Prompt, VoiceMode, prompt
from ui import theme
from ui.assets import ASSETS
from ui.client import ApiError, BranchClient, new_key
from ui.i18n import FALLBACK_LANGUAGE, Translator, translator
from ui.model.clock import ServerClock
from ui.scan_filter import KeyboardWedgeFilter

log = logging.getLogger(__name__)
TOUCH_EVENTS = (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin)
GESTURE_TAPS = 5  # taps in the top-left corner …
GESTURE_WINDOW_S = 4.0  # … within this many seconds open the maintenance PIN
GESTURE_CORNER_PX = 160


def _failure(error: ApiError) -> IssueFailure:
    return IssueFailure(offline=error.offline, code=error.code, details=error.details)


class ClientPorts:
    """The flow's ports on the real client and printer."""

    def __init__(self, client: BranchClient, printing: TicketPrinting, device_name: str) -> None:
        self.client = client
        self.printing = printing
        self.device_name = device_name

    def new_key(self) -> str:
        return new_key()

    def issue_ticket(self, request: TicketRequest, idempotency_key: str, done: IssueDone) -> None:
        def answered(data: Any, error: ApiError | None) -> None:
            if error is not None:
                # The code only: a message could one day carry something personal.
                log.warning("issuing a %s ticket failed: %s", request.service, error.code)
                done(None, _failure(error))
            else:
                done(data, None)

        self.client.issue_ticket(
            request.service,
            priority=request.priority,
            bundle=request.bundle,
            identity=dict(request.identity) if request.identity else None,
            eform=dict(request.eform) if request.eform else None,
            idempotency_key=idempotency_key,
        ).then(answered)

    def check_in(self, qr: str, idempotency_key: str, done: IssueDone) -> None:
        def answered(data: Any, error: ApiError | None) -> None:
            if error is not None:
                log.info("appointment check-in refused: %s", error.code)
                done(None, _failure(error))
            else:
                done(data, None)

        self.client.check_in(qr, idempotency_key=idempotency_key).then(answered)

    def identify(self, card: CardReading, done: IssueDone) -> None:
        def answered(data: Any, error: ApiError | None) -> None:
            if error is not None:
                log.info("identifying an ID card failed: %s", error.code)
                done(None, _failure(error))
            else:
                done(data, None)

        self.client.identify_customer(card.id_number, card.birth_date).then(answered)

    def print_ticket(self, ticket: IssuedTicket, done: Callable[[PrintOutcome], None]) -> None:
        model = self.client.model
        business = model.business_of(ticket.service, ticket.bundle)
        content = ticket_content(ticket, model.branch, business)
        self.printing.print_ticket(content, done)

    def report_printer(self, health: str, detail: str, done: Callable[[bool], None]) -> None:
        reply = self.client.report_device(f"{self.device_name}/printer", "printer", health, detail)
        reply.then(lambda _data, error: done(error is None))


def branch_zone(branch: Mapping[str, Any]) -> ZoneInfo | None:
    """The branch's time zone (its clocks, not this PC's), or None if unknown here."""
    try:
        return ZoneInfo(str(branch.get("timezone") or "Asia/Shanghai"))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_hhmm(iso: str, zone: ZoneInfo | None) -> str:
    """The HH:MM of an ISO time on the branch's clocks."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso[11:16]
    if zone is not None and moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return moment.strftime("%H:%M")


def open_kiosk(
    client: BranchClient,
    printing: TicketPrinting,
    *,
    device_name: str = "kiosk-1",
    live_page_base: str | None = None,
    timeouts: Timeouts | None = None,
    maintenance_pin: str = "",
    **options: Any,
) -> KioskWindow:
    """The kiosk on a live client and printer: its flow over ports on both; `options` go to
    the window."""
    flow = KioskFlow(
        ClientPorts(client, printing, device_name),
        live_page_base=live_page_base or client.base_url,
        timeouts=timeouts,
        maintenance_pin=maintenance_pin,
        local_time=lambda iso: local_hhmm(iso, branch_zone(client.model.branch)),
    )
    return KioskWindow(flow, client, printing, device_name=device_name, **options)


class KioskWindow(QWidget):
    """The customer kiosk: every screen of the flow, stacked, plus devices and lockdown."""

    # The speaker's (health, detail), from its worker thread to this one.
    audioHealth = Signal(str, str)

    def __init__(
        self,
        flow: KioskFlow,
        client: BranchClient,
        printing: TicketPrinting,
        *,
        tr: Translator | None = None,
        device_name: str = "kiosk-1",
        tick_ms: int = 1000,
        printer_check_s: float = 120.0,
        peripherals: KioskPeripherals | None = None,
        lockdown: bool = False,
        wedge_scanner: bool = True,
        audio: QueuedPlayer | None = None,
        voice_mode: VoiceMode = VoiceMode.ELDER,
        voice_reminder_s: float = 8.0,
        elder_services: Sequence[str] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("BranchQ")
        self.client = client
        # The clock on the attract screen and the businesses' opening hours follow the
        # server's time (a lobby PC's clock may be off; the demo's branch runs faster).
        self.server_clock = ServerClock()
        self.printing = printing
        self.peripherals = peripherals
        self.device_name = device_name
        self.lockdown = lockdown
        self._may_close = not lockdown
        self._fills_screen = False
        self.tr_ = tr or translator()
        self.flow = flow
        self.stack = QStackedWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)
        t = self.tr_
        self.attract = AttractScreen(t)
        self.home = HomeScreen(t)
        self.elder_home = ElderHomeScreen(t)
        self.guidance = GuidanceScreen(t)
        self.priority = PriorityScreen(t)
        self.idcard = IdCardScreen(t)
        self.appointment = AppointmentScreen(t)
        self.issuing = IssuingScreen(t)
        self.ticket = TicketScreen(t)
        self.notice = NoticeScreen(t)
        self.offline = OfflineScreen(t)
        self.pin = PinScreen(t)
        self.maintenance = MaintenanceScreen(t)
        self.pages: dict[Screen, QWidget] = {
            Screen.ATTRACT: self.attract,
            Screen.HOME: self.home,
            Screen.ELDER_HOME: self.elder_home,
            Screen.GUIDANCE: self.guidance,
            Screen.PRIORITY: self.priority,
            Screen.IDCARD: self.idcard,
            Screen.APPOINTMENT: self.appointment,
            Screen.ISSUING: self.issuing,
            Screen.TICKET: self.ticket,
            Screen.NOTICE: self.notice,
            Screen.OFFLINE: self.offline,
            Screen.PIN: self.pin,
            Screen.MAINTENANCE: self.maintenance,
        }
        for page in self.pages.values():
            self.stack.addWidget(page)

        flow = self.flow
        self.attract.started.connect(flow.start)
        self.attract.elder_requested.connect(flow.start_elder)
        self.elder_home.chosen.connect(self._choose_elder)
        self.elder_home.others_requested.connect(flow.other_services)
        self.elder_home.back_requested.connect(flow.back)
        self.home.chosen.connect(self._choose)
        self.home.back_requested.connect(flow.back)
        self.home.side_requested.connect(lambda name: flow.open_side(Screen(name)))
        self.guidance.back_requested.connect(flow.back)
        self.guidance.take_ticket.connect(flow.take_ticket)
        self.guidance.priority_requested.connect(lambda: flow.open_side(Screen.PRIORITY))
        self.guidance.consent_changed.connect(flow.set_consent)
        self.priority.declared.connect(flow.declare_priority)
        for side in (self.priority, self.idcard, self.appointment):
            side.back_requested.connect(flow.back)
        self.ticket.done.connect(flow.done)
        self.notice.ok.connect(flow.back)
        self.pin.entered.connect(flow.enter_pin)
        self.pin.cancelled.connect(flow.back)
        self.maintenance.leave.connect(flow.back)
        self.maintenance.exit_requested.connect(self.exit_kiosk)
        self.maintenance.test_print.connect(self.test_print)
        self.maintenance.check_paper.connect(self._check_paper_now)
        self.maintenance.test_sound.connect(self.test_sound)
        self.maintenance.volume_step.connect(self._volume_step)
        flow.subscribe(self._render)

        client.connectedChanged.connect(flow.set_online)
        client.connectedChanged.connect(self._report_devices)
        client.snapshotLoaded.connect(self._model_changed)
        client.eventReceived.connect(lambda _ev: self._model_changed())
        client.waitsChanged.connect(lambda *_: self._model_changed())  # the server's ETAs
        self.tr_.languageChanged.connect(lambda _lang: self._language_changed())
        theme.theme_state().largeTextChanged.connect(self._large_text_changed)

        if peripherals is not None:
            peripherals.cardPlaced.connect(flow.card_placed)
            peripherals.cardRefused.connect(flow.card_failed)
            peripherals.cardLifted.connect(flow.card_lifted)
            peripherals.codeScanned.connect(flow.scanned)
            peripherals.healthChanged.connect(self._device_health)
        self.wedge: KeyboardWedgeFilter | None = None
        if wedge_scanner:
            self.wedge = KeyboardWedgeFilter(scope=self)
            self.wedge.scanned.connect(flow.scanned)

        self.elder_services = list(elder_services)
        self.audio = audio if audio is not None and audio.configured else None
        self.pack = ClipPack(ASSETS / "voice")
        self.voice = KioskVoice(
            flow,
            self._say,
            language=lambda: self.tr_.language,
            mode=voice_mode,
            reminder_every_s=voice_reminder_s,
            hush=self._hush,
        )
        self.audioHealth.connect(self._audio_health)
        if self.audio is not None:
            self.audio.on_health = self.audioHealth.emit
            self._load_voice_pack()
            self.audio.check()  # a moment of silence: is the speaker there?

        self._closed_shown: BranchClosed | None = None
        self._sessions_seen = 0
        self._elder_styled = False
        self._corner_taps: list[float] = []
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
            if self.wedge is not None:
                self.wedge.install(app)
        if lockdown:
            self.setWindowFlags(
                Qt.WindowType.Window
                | Qt.WindowType.FramelessWindowHint
                | Qt.WindowType.WindowStaysOnTopHint
            )
        flow.set_online(bool(client.online))
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
            if isinstance(event, QMouseEvent) and watched.isWidgetType():
                self._corner_tap(watched.mapTo(self, event.position().toPoint()))
        return False

    def _corner_tap(self, point: Any) -> None:
        if point.x() > GESTURE_CORNER_PX or point.y() > GESTURE_CORNER_PX:
            self._corner_taps.clear()
            return
        now = self.flow.clock()
        self._corner_taps = [t for t in self._corner_taps if now - t < GESTURE_WINDOW_S]
        self._corner_taps.append(now)
        if len(self._corner_taps) >= GESTURE_TAPS:
            self._corner_taps.clear()
            self.flow.maintenance_gesture()

    def closeEvent(self, event: Any) -> None:
        if not self._may_close:
            event.ignore()  # locked down: only the maintenance screen lets the kiosk close
            return
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        if self.wedge is not None:
            self.wedge.uninstall()
        self._timer.stop()
        self._printer_check.stop()
        super().closeEvent(event)

    def exit_kiosk(self) -> None:
        """The maintenance screen's way out (the only one in lockdown)."""
        if self.flow.screen is Screen.MAINTENANCE:
            self._may_close = True
            self.close()

    def show_kiosk(self, fullscreen: bool) -> None:
        """Show the kiosk; full screen (always in lockdown) covers the whole screen.

        showFullScreen() alone needs a window manager; a bare X session (a common kiosk
        set-up) leaves the window at its own size in a corner. So the geometry is set to
        the screen's first, and showFullScreen still tells a window manager that there is
        one. The window can never grow past the screen: its screens wrap and scroll, and
        in full screen its largest size is the screen's."""
        self._fills_screen = fullscreen or self.lockdown
        if self._fills_screen:
            self.fill_screen()
            self.showFullScreen()
        else:
            screen = self.screen().availableGeometry()
            self.resize(min(1920, screen.width()), min(1080, screen.height()))
            self.show()

    def fill_screen(self) -> None:
        """Take exactly the geometry of the screen the window is on."""
        geometry = self.screen().geometry()
        self.setMaximumSize(geometry.size())
        self.setGeometry(geometry)

    # ----------------------------------------------------------------- devices
    def check_printer(self) -> None:
        """Ask the printer how it is while nobody is using the kiosk."""
        if self.flow.screen in (Screen.ATTRACT, Screen.OFFLINE) and not self.printing.busy():
            self.printing.check(self.flow.printer_checked)

    def _check_paper_now(self) -> None:
        self.maintenance.show_result("kiosk.maintenance.checking", "info")

        def checked(outcome: PrintOutcome) -> None:
            self.flow.printer_checked(outcome)
            self.maintenance.show_result(None)
            self._show_maintenance()

        self.printing.check(checked)

    def test_print(self) -> None:
        """Maintenance: print a sample ticket (no customer, no number from the server)."""
        sample = IssuedTicket(
            id=0,
            number="TEST",
            service="",
            people_ahead=0,
            eta_s=None,
            url=f"{self.flow.live_page_base}/",
            issued_at="",
        )
        content = ticket_content(
            sample, self.client.model.branch, {"names": {"zh": "测试打印", "en": "Test print"}}
        )

        def printed(outcome: PrintOutcome) -> None:
            self.flow.printer_checked(outcome)
            if outcome.printed:
                self.maintenance.show_result("kiosk.maintenance.test_print_sent", "info")
            else:
                self.maintenance.show_result("kiosk.maintenance.test_print_failed", "error")
            self._show_maintenance()

        self.maintenance.show_result("kiosk.ticket.printing", "info")
        self.printing.print_ticket(content, printed)

    # ------------------------------------------------------------------- voice
    def _load_voice_pack(self) -> None:
        try:
            self.pack.load_all()  # once, at start: a missing clip shows now, not mid-customer
        except VoicePackError as exc:
            self._device_health("audio", "error", str(exc)[:300])

    def _say(self, parts: Sequence[Part]) -> None:
        """Play clips of the voice pack on the speaker (queued: never waits for it)."""
        if self.audio is None:
            return
        try:
            pcm = self.pack.pcm(parts)
        except VoicePackError as exc:
            log.warning("voice prompt not played: %s", exc)
            self._device_health("audio", "error", str(exc)[:300])
            return
        assert self.pack.rate is not None
        self.audio.play(Utterance(tuple(clips_used(parts)), pcm, self.pack.rate))

    def _hush(self) -> None:
        if self.audio is not None:
            self.audio.drop_pending()

    def test_sound(self) -> None:
        """Maintenance: the chime and a prompt, at the current volume."""
        self._say([CHIME, Silence(300), *prompt(self.tr_.language, Prompt.CHOOSE_BUSINESS)])

    def _volume_step(self, step: int) -> None:
        if self.audio is None:
            return
        self.maintenance.show_volume(self.audio.set_volume(self.audio.volume + step))
        self._say([CHIME])  # so the staff hear the new level

    def _audio_health(self, health: str, detail: str) -> None:
        self._device_health("audio", health, detail)

    def _report_devices(self, online: bool) -> None:
        """The link is (back) up: tell the server how the kiosk's devices were meanwhile."""
        if not online:
            return
        found = dict(self.peripherals.health) if self.peripherals is not None else {}
        if self.audio is not None and self.audio.health is not None:
            found["audio"] = self.audio.health
        for part, (health, detail) in found.items():
            self.client.report_device(f"{self.device_name}/{part}", part, health, detail)

    def _device_health(self, part: str, health: str, detail: str) -> None:
        if self.client.online:
            self.client.report_device(f"{self.device_name}/{part}", part, health, detail)
        if self.flow.screen is Screen.MAINTENANCE:
            self._show_maintenance()

    def _tick(self) -> None:
        self.flow.tick()
        self.voice.tick()
        self.attract.set_clock(self._clock_text())
        if self.closed() != self._closed_shown:
            self._model_changed()  # the hour struck: opened or closed with nothing sent
        if self.flow.screen is Screen.TICKET:
            left = self.flow.seconds_left()
            self.ticket.set_countdown(None if left is None else max(0, round(left)))

    # ------------------------------------------------------------------ render
    def _zone(self) -> ZoneInfo | None:
        return branch_zone(self.client.model.branch)

    def _now_local(self) -> datetime:
        now = self.server_clock.now()
        return datetime.now(self._zone()) if now is None else now.astimezone(self._zone())

    def _clock_text(self) -> str:
        return self._now_local().strftime("%H:%M")

    def closed(self) -> BranchClosed | None:
        """Whether the head office's hours close the branch to walk-ins right now."""
        return branch_closed(self.client.model.branch.get("opening_hours"), self._now_local())

    def choices(self) -> list[ServiceChoice]:
        model = self.client.model
        now, closed = self._now_local(), self.closed()
        return service_choices(model.services, model.waiting, now, model.bundles, closed)

    def _choose(self, code: str) -> None:
        choice = next((c for c in self.choices() if c.code == code), None)
        if choice is None:
            return
        self.flow.choose_service(
            choice.queue_code,
            bundle=choice.code if choice.bundle else None,
            needs_form=choice.needs_form,
        )

    def elder_tiles(self) -> list[ServiceChoice]:
        return elder_choices(self.choices(), self.elder_services)

    def _choose_elder(self, code: str) -> None:
        choice = next((c for c in self.elder_tiles() if c.code == code), None)
        if choice is not None and choice.available:
            self.flow.take_ticket_for(choice.code, needs_form=choice.needs_form)

    def _model_changed(self) -> None:
        self.server_clock.observe(self.client.model.at)
        choices = self.choices()
        name = str(self.client.model.branch.get("name") or "")
        # A bundle waits in its business's queue: counting it again would mislead.
        singles = [c for c in choices if not c.bundle]
        texts = self.client.model.branch.get("kiosk_texts")
        self.attract.show_branch(
            name, self._clock_text(), singles, texts if isinstance(texts, dict) else None
        )
        self._closed_shown = self.closed()
        self.attract.show_closed(self._closed_shown)
        for screen in (self.home, self.elder_home):
            screen.hours.show_closed(self._closed_shown)
        # "One tap gets a ticket" is untrue while closed: the banner says why instead.
        self.elder_home.hint.setVisible(self._closed_shown is None)
        self.home.show_services(choices)
        self.elder_home.show_services(elder_choices(choices, self.elder_services))
        if self.flow.screen is Screen.GUIDANCE:
            self._show_guidance()

    def _large_text_changed(self, _large: bool) -> None:
        self.flow.touch()
        if self._fills_screen:
            # Nothing should have moved it; a window manager that did is overruled.
            self.fill_screen()

    def _language_changed(self) -> None:
        self.flow.touch()
        self._render()

    def _show_guidance(self) -> None:
        flow = self.flow
        model = self.client.model
        code = flow.bundle or flow.service or ""
        choice = next((c for c in self.choices() if c.code == code), None)
        if flow.bundle:
            item = model.bundles.get(flow.bundle, {})
            included = [
                model.services.get(c, {}).get("names") or {"zh": c}
                for c in item.get("includes", ())
            ]
        else:
            item, included = model.services.get(code, {}), []
        wait = choice.wait_minutes if choice is not None else None
        self.guidance.show_service(item, wait, flow.error_key, included)
        self.guidance.show_consent(flow.needs_form and flow.card is not None, flow.consent)

    def customer_line(self) -> tuple[str, str, dict[str, object]] | None:
        """The line that tells the customer how the kiosk sees them (None: nothing to say)."""
        flow = self.flow
        if flow.card_error_key:
            return flow.card_error_key, "error", {}
        if flow.identifying:
            return "kiosk.idcard.reading", "info", {}
        name = flow.card.masked_name if flow.card is not None else ""
        found = flow.identified
        if found is not None and found.priority == "vip":
            return "kiosk.idcard.greeting_vip", "info", {"name": name}
        if found is not None and found.priority == "care":
            return "kiosk.idcard.greeting_care", "info", {"name": name}
        if flow.declared:
            kind = self.tr_.tr(f"kiosk.priority.{flow.declared}")
            return "kiosk.priority.declared", "info", {"who": kind}
        if found is not None:
            return "kiosk.idcard.greeting", "info", {"name": name}
        return None

    def _show_maintenance(self) -> None:
        flow = self.flow
        rows: list[tuple[str, str, str]] = [
            (
                "kiosk.maintenance.server",
                "kiosk.maintenance.connected" if flow.online else "kiosk.maintenance.not_connected",
                self.client.base_url,
            )
        ]
        printer = flow.printer_health
        if not self.printing.url:
            rows.append(("kiosk.maintenance.printer", "kiosk.maintenance.not_configured", ""))
        elif printer is None:
            rows.append(
                ("kiosk.maintenance.printer", "kiosk.maintenance.unknown", self.printing.url)
            )
        else:
            health, detail = printer
            rows.append(("kiosk.maintenance.printer", f"kiosk.maintenance.health.{health}", detail))
        found = self.peripherals.health if self.peripherals is not None else {}
        for part in ("idcard", "scanner"):
            if part in found:
                health, detail = found[part]
                rows.append(
                    (f"kiosk.maintenance.{part}", f"kiosk.maintenance.health.{health}", detail)
                )
            else:
                rows.append((f"kiosk.maintenance.{part}", "kiosk.maintenance.not_configured", ""))
        rows.append(self._audio_row())
        self.maintenance.show_status(rows)
        self.maintenance.show_volume(self.audio.volume if self.audio is not None else None)

    def _audio_row(self) -> tuple[str, str, str]:
        if self.audio is None:
            return ("kiosk.maintenance.audio", "kiosk.maintenance.not_configured", "")
        health = self.audio.health
        if health is None:
            return ("kiosk.maintenance.audio", "kiosk.maintenance.unknown", self.audio.url)
        state, detail = health
        return ("kiosk.maintenance.audio", f"kiosk.maintenance.health.{state}", detail)

    def _render(self) -> None:
        flow = self.flow
        if flow.sessions_ended != self._sessions_seen:
            self._sessions_seen = flow.sessions_ended
            self._reset_for_next_customer()
        line = self.customer_line()
        self.home.customer.show_line(line)
        self.elder_home.customer.show_line(line)
        self.guidance.customer.show_line(line)
        screen = flow.screen
        self.attract.show_printer_problem(flow.printer_problem)
        if flow.elder and not self._elder_styled:
            # Senior mode starts in large, high-contrast text (the toggle still works).
            self._elder_styled = True
            app = QApplication.instance()
            if isinstance(app, QApplication) and not theme.is_large_text(app):
                theme.apply_theme(app, True)
        if screen is Screen.ELDER_HOME:
            self.elder_home.show_services(self.elder_tiles())
            self.elder_home.show_error(flow.error_key)
        elif screen is Screen.GUIDANCE:
            self._show_guidance()
        elif screen is Screen.TICKET and flow.ticket is not None:
            model = self.client.model
            service = model.business_of(flow.ticket.service, flow.ticket.bundle)
            self.ticket.show_ticket(flow.ticket, service, card_used=flow.card_present)
            left = flow.seconds_left()
            self.ticket.set_countdown(None if left is None else max(0, round(left)))
        elif screen is Screen.HOME:
            self.home.show_services(self.choices())
        elif screen is Screen.ISSUING:
            self.issuing.show_checking_in(flow.service is None)
        elif screen is Screen.NOTICE and flow.notice is not None:
            self.notice.show_notice(*flow.notice)
        elif screen is Screen.IDCARD:
            self.idcard.show_problem(flow.card_error_key)
        elif screen is Screen.PIN:
            self.pin.show_error(flow.pin_error_key)
        elif screen is Screen.MAINTENANCE:
            self.maintenance.show_result(None)
            self._show_maintenance()
        self.stack.setCurrentWidget(self.pages[screen])

    def _reset_for_next_customer(self) -> None:
        # The next customer starts in the branch's language with normal text.
        self._elder_styled = False
        self.tr_.set_language(FALLBACK_LANGUAGE)
        app = QApplication.instance()
        if isinstance(app, QApplication) and theme.is_large_text(app):
            theme.apply_theme(app, False)

    @property
    def screen_name(self) -> str:
        return self.flow.screen.value
