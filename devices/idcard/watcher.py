"""A background thread that watches the reader and reports each card placement once.

`on_card(card)` runs once per placement, `on_lifted()` when that card leaves the reader,
`on_error(exc)` when the reader fails (a `DeviceFault`: unplugged, silent, garbage) or a
card cannot be used (a `CardProblem`: not read, bad data, foreigner card, expired), and
`on_recovered()` when a failed reader answers again. A card problem is once per placement
and never counts as a reader failure. The thread never dies of a reader error:
it reports it and keeps polling, and the serial line reopens itself when the reader comes
back. Callbacks run on the watcher's thread — a GUI must hand them over to its own
thread (a queued signal), and a slow callback only delays the next poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

from devices.errors import DeviceError
from devices.idcard.card import IdCard
from devices.idcard.errors import CardDataError, CardExpired, CardProblem, ForeignerCard
from devices.idcard.reader import DEFAULT_POLL_S, IdCardReader

log = logging.getLogger(__name__)

# Refusals after a read that worked: the reader now counts the card as used and ignores it
# in "find card", so whether it still lies there is asked the way it is after a good read.
_READ_BUT_REFUSED = (CardDataError, ForeignerCard, CardExpired)


class CardWatcher:
    def __init__(
        self,
        reader: IdCardReader,
        on_card: Callable[[IdCard], object],
        on_lifted: Callable[[], object] | None = None,
        on_error: Callable[[DeviceError], object] | None = None,
        interval_s: float = DEFAULT_POLL_S,
        on_recovered: Callable[[], object] | None = None,
    ) -> None:
        self.reader = reader
        self.on_card = on_card
        self.on_lifted = on_lifted
        self.on_error = on_error
        self.on_recovered = on_recovered  # the reader answers again after a fault
        self.interval_s = interval_s
        self.card_on_reader = False  # a card was read (or refused) and is not lifted yet
        # How to tell it has gone: a read card answers "read new address"; a card that
        # was not read is still found by "find card" until it is lifted.
        self._card_was_read = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error: type[DeviceError] | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> CardWatcher:
        if self.running:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="idcard-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 1.0) -> bool:
        """Stop polling; True when the thread has ended within `timeout_s`."""
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def __enter__(self) -> CardWatcher:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ loop
    def _run(self) -> None:
        with self.reader.cancel_on(self._stop):
            while not self._stop.is_set():
                self.poll()
                self._stop.wait(self.interval_s)

    def poll(self) -> None:
        """One step of the loop (public so a caller can drive it without a thread)."""
        try:
            if self.card_on_reader:
                present = self.reader.card_present if self._card_was_read else self.reader.find_card
                if not present():
                    self.card_on_reader = False
                    self._call("on_lifted", self.on_lifted)
            elif self.reader.find_card():
                try:
                    card = self.reader.read_card() if self.reader.select_card() else None
                except CardProblem as exc:
                    # Told once: the same card is not tried again until it is lifted.
                    self.card_on_reader = True
                    self._card_was_read = isinstance(exc, _READ_BUT_REFUSED)
                    raise
                if card is not None:
                    self.card_on_reader = self._card_was_read = True
                    self._call("on_card", self.on_card, card)
            self._answered()
        except CardProblem as exc:
            self._answered()  # the card is at fault, not the reader
            self._call("on_error", self.on_error, exc)
        except DeviceError as exc:
            if self._stop.is_set():
                return  # cancelled by stop(): not a reader fault
            self._report(exc)
        except Exception as exc:
            # A bug below us must not end card reading for the day: report it as a
            # device fault and keep polling. Only the type is logged (see _call).
            log.error("ID card watcher: unexpected %s while polling", type(exc).__name__)
            self._report(DeviceError(f"unexpected {type(exc).__name__} from the reader"))

    def _answered(self) -> None:
        """The reader did its job: after a fault, say it is back."""
        if self._last_error is not None:
            self._last_error = None
            self._call("on_recovered", self.on_recovered)

    def _report(self, exc: DeviceError) -> None:
        # An unplugged reader fails every poll; one report per kind of failure is enough.
        if type(exc) is self._last_error:
            return
        self._last_error = type(exc)
        log.warning("ID card reader: %s", exc)  # messages carry no personal data
        self._call("on_error", self.on_error, exc)

    def _call(self, what: str, callback: Callable[..., object] | None, *args: object) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception as exc:
            # Only the type: a callback's own message may quote the card it was handed.
            log.error("ID card watcher: %s callback raised %s", what, type(exc).__name__)
