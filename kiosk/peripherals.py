"""The kiosk's ID card reader and QR scanners, brought onto the Qt thread as signals.

The devices layer reads on its own threads (`CardWatcher`, the scanner backends) and calls
back there; `KioskPeripherals` turns each callback into a queued Qt signal, so the window
only ever sees them on the GUI thread. A card becomes a `CardReading` right here: the
masked name for the screen, the ID number and birth date for the server's identification,
and the e-form fields, which leave the kiosk only with the customer's consent. Nothing
personal is logged.

A card the kiosk cannot use (`CardProblem`) is the customer's moment: they are told to
place it again, or to ask staff when that cannot help, and the reader's health does not
change. Only a reader fault (`DeviceFault`: unplugged, silent, unreadable replies, SAM)
goes to the server's device health.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Signal

from devices.errors import DeviceError, DeviceTimeout, DeviceUnavailable
from devices.idcard.card import IdCard
from devices.idcard.errors import CardExpired, CardProblem, ForeignerCard
from devices.idcard.reader import IdCardReader
from devices.idcard.watcher import CardWatcher
from devices.scanner import Code, Scanner, scanner_for_url
from kiosk.flow import CardReading

log = logging.getLogger(__name__)

# Card problems with a message of their own; the others are "place it again" when that
# can help and "ask staff" when it cannot.
CARD_PROBLEMS: tuple[tuple[type[CardProblem], str], ...] = (
    (CardExpired, "kiosk.idcard.expired"),
    (ForeignerCard, "kiosk.idcard.foreigner"),
)
PLACE_AGAIN = "kiosk.idcard.failed"
ASK_STAFF = "kiosk.idcard.unreadable"
# A card that fails this many times in a row is not going to read by placing it again.
READ_TRIES = 3
# Failures further apart than this are different customers, not one customer's retries.
RETRY_WINDOW_S = 60.0


class CardRetries:
    """Counts one customer's failed reads, to tell "place it again" from "ask staff"."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.failed = 0
        self._last = float("-inf")

    def message(self, problem: CardProblem) -> str:
        """The catalog key to show for `problem`."""
        for kind, key in CARD_PROBLEMS:
            if isinstance(problem, kind):
                self.failed = 0
                return key
        now = self.clock()
        recent = now - self._last <= RETRY_WINDOW_S
        self._last = now
        if not problem.retryable:
            self.failed = 0
            return ASK_STAFF
        self.failed = self.failed + 1 if recent else 1
        return PLACE_AGAIN if self.failed < READ_TRIES else ASK_STAFF

    def card_read(self) -> None:
        self.failed = 0


def reader_health(fault: DeviceError) -> str:
    """Device health for a reader fault: gone or silent is offline, anything else error."""
    return "offline" if isinstance(fault, DeviceUnavailable | DeviceTimeout) else "error"


def card_reading(card: IdCard) -> CardReading:
    """What the kiosk keeps of a card for one customer's session."""
    return CardReading(
        masked_name=card.masked_name,
        id_number=card.id_number,
        birth_date=card.birth_date.isoformat(),
        eform={
            "name": card.name,
            "gender": card.gender.label,
            "ethnicity": card.ethnicity,
            "birth_date": card.birth_date.isoformat(),
            "address": card.address,
            "id_number": card.id_number,
            "issued_by": card.authority,
            "valid_from": card.valid_from.isoformat(),
            "valid_to": card.valid_to.isoformat() if card.valid_to else "长期",
        },
    )


class KioskPeripherals(QObject):
    """Starts the reader and scanners given by URL; reports what they see as signals."""

    cardPlaced = Signal(object)  # CardReading
    cardRefused = Signal(str)  # catalog key: why this card cannot be used
    cardLifted = Signal()
    codeScanned = Signal(str)
    # device name suffix ("idcard", "scanner"), health (ok / error / offline), detail
    healthChanged = Signal(str, str, str)

    def __init__(
        self,
        idcard_url: str | None = None,
        scanner_urls: Sequence[str] = (),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.idcard_url = idcard_url
        self.scanner_urls = list(scanner_urls)
        self.watcher: CardWatcher | None = None
        self.retries = CardRetries()  # touched only on the watcher's thread
        self.scanners: list[Scanner] = []
        self.health: dict[str, tuple[str, str]] = {}
        self.healthChanged.connect(self._remember)

    def start(self) -> None:
        """Open and start every device; one that cannot start is reported, not raised."""
        if self.idcard_url:
            try:
                reader = IdCardReader.from_url(self.idcard_url)
            except (ValueError, DeviceError) as exc:
                self.healthChanged.emit("idcard", "offline", str(exc))
            else:
                self.watcher = CardWatcher(
                    reader,
                    on_card=self._card_read,
                    on_lifted=self.cardLifted.emit,
                    on_error=self._card_error,
                    on_recovered=lambda: self.healthChanged.emit("idcard", "ok", ""),
                ).start()
                self.healthChanged.emit("idcard", "ok", "")
        for url in self.scanner_urls:
            try:
                scanner = scanner_for_url(url, self._code, self._scanner_error)
                scanner.on_recovered = self._scanner_back
                scanner.start()
            except (ValueError, DeviceError) as exc:
                self.healthChanged.emit("scanner", "offline", str(exc))
                continue
            self.scanners.append(scanner)
            self.healthChanged.emit("scanner", "ok", "")

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher.reader.close()
            self.watcher = None
        for scanner in self.scanners:
            scanner.stop()
        self.scanners = []

    # Called on the devices' own threads: only emit (queued to the GUI thread).
    def _card_read(self, card: IdCard) -> None:
        self.retries.card_read()
        self.cardPlaced.emit(card_reading(card))

    def _card_error(self, exc: DeviceError) -> None:
        if isinstance(exc, CardProblem):
            log.info("ID card not used: %s", exc.code)  # the code only: no card data
            self.cardRefused.emit(self.retries.message(exc))
            return
        self.healthChanged.emit("idcard", reader_health(exc), type(exc).__name__)

    def _code(self, code: Code) -> None:
        self.codeScanned.emit(code.text)
        if self.health.get("scanner", ("ok", ""))[0] != "ok":
            self.healthChanged.emit("scanner", "ok", "")

    def _scanner_error(self, exc: DeviceError) -> None:
        self.healthChanged.emit("scanner", "offline", str(exc))

    def _scanner_back(self) -> None:
        self.healthChanged.emit("scanner", "ok", "")

    def _remember(self, part: str, health: str, detail: str) -> None:
        self.health[part] = (health, detail)
