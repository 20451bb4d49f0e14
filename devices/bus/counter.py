"""One counter's board, keypad and rating pad on a bus, in the shape the bus hub drives.

    devices = CounterDevices(bus, 3, board=3, keypad=103, rating_pad=203,
                             on_key=lambda counter, key: ...)   # key: "NEXT", "RECALL", …
    devices.show("A023"); devices.blink(); devices.clear()
    rating = devices.request_rating(30)     # Future[int | None], or None without a pad
    devices.health()                        # [(device id, kind, status, detail), …]

`show`, `blink` and `clear` are fire-and-forget: the hub reacts to the queue, not to the
LED, and a board that fails shows up in `health()` and gets its text when it returns.
`for_counter` fills in the default address plan.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future

from devices.bus import plan
from devices.bus.bus import Bus, DigitBoard, KeyEvent, TextBoard

log = logging.getLogger(__name__)


class CounterDevices:
    def __init__(
        self,
        bus: Bus,
        counter: int,
        *,
        board: int | None = None,
        digit_board: int | None = None,
        keypad: int | None = None,
        rating_pad: int | None = None,
        on_key: Callable[[int, str], None] | None = None,
        on_key_event: Callable[[int, KeyEvent], None] | None = None,
    ) -> None:
        """`on_key(counter, key name)`, or `on_key_event(counter, KeyEvent)` when the
        hub needs TRANSFER's target counter (`event.arg`). Both run on the bus's
        callbacks thread."""
        if board is not None and digit_board is not None:
            raise ValueError(f"counter {counter} has one board: text or digits, not both")
        self.bus = bus
        self.counter = counter
        self.board: TextBoard | DigitBoard | None = None
        if board is not None:
            self.board = bus.text_board(board)
        elif digit_board is not None:
            self.board = bus.digit_board(digit_board)
        self.rating_pad = bus.rating_pad(rating_pad) if rating_pad is not None else None
        self.keypad = None
        if keypad is not None:

            def key_pressed(event: KeyEvent) -> None:
                if on_key_event is not None:
                    on_key_event(counter, event)
                if on_key is not None:
                    on_key(counter, event.key.name)

            self.keypad = bus.keypad(keypad, key_pressed)

    @classmethod
    def for_counter(
        cls,
        bus: Bus,
        counter: int,
        *,
        digits: bool = False,
        on_key: Callable[[int, str], None] | None = None,
    ) -> CounterDevices:
        """Board N (text, or Modbus digits), keypad 100+N and rating pad 200+N."""
        board = plan.board_address(counter)
        return cls(
            bus,
            counter,
            board=None if digits else board,
            digit_board=board if digits else None,
            keypad=plan.keypad_address(counter),
            rating_pad=plan.rating_pad_address(counter),
            on_key=on_key,
        )

    def show(self, text: str) -> None:
        if self.board is not None:
            self._log_failure(self.board.show(text), f"show {text!r}")

    def blink(self) -> None:
        if self.board is not None:
            self._log_failure(self.board.blink(), "blink")

    def clear(self) -> None:
        if self.board is not None:
            self._log_failure(self.board.clear(), "clear")

    def request_rating(self, timeout_s: float) -> Future[int | None] | None:
        """None when this counter has no rating pad."""
        if self.rating_pad is None:
            return None
        return self.rating_pad.request_rating(timeout_s)

    def cancel_rating(self) -> None:
        if self.rating_pad is not None:
            self._log_failure(self.rating_pad.cancel(), "cancel rating")

    def health(self) -> list[tuple[str, str, str, str]]:
        """(device id, kind, status, last error) per device; ids are `PORT#ADDRESS`."""
        out: list[tuple[str, str, str, str]] = []
        for device in (self.board, self.keypad, self.rating_pad):
            if device is not None:
                h = device.health
                out.append(
                    (f"{self.bus.settings.port}#{h.address}", h.kind, h.status, h.last_error)
                )
        return out

    def _log_failure(self, future: Future[None], what: str) -> None:
        def done(f: Future[None]) -> None:  # runs on the bus thread: only log
            if not f.cancelled() and f.exception() is not None:
                log.info("counter %d: %s failed: %s", self.counter, what, f.exception())

        future.add_done_callback(done)
