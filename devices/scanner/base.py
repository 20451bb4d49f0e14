"""What every scanner backend shares: callbacks, a worker thread, bounded stop, error reports.

A scanner calls `on_code(Code)` for each scan, `on_error(DeviceError)` once per outage
(not once per retry) and `on_recovered()` when the device works again after one, all from
its own worker thread: a Qt caller forwards them to the GUI thread with a queued signal.
A callback that raises is logged and the scanner goes on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

from devices.errors import DeviceError
from devices.scanner.decode import Code

log = logging.getLogger(__name__)

OnCode = Callable[[Code], None]
OnError = Callable[[DeviceError], None]
OnRecovered = Callable[[], None]


class ThreadedScanner:
    """Base class: a subclass implements `_run()`, polling `self._stop` at least every 0.2 s."""

    name = "scanner"

    def __init__(self, url: str, on_code: OnCode, on_error: OnError | None = None) -> None:
        self.url = url
        self.on_code = on_code
        self.on_error = on_error
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False  # an outage has been reported and not yet recovered
        self.scans = 0  # codes reported so far
        # Set once the device is open and being read (a camera: its first frame arrived).
        self.ready = threading.Event()
        self.last_error = ""
        # Set by the caller: the device works again after a reported outage (a camera
        # plugged back in), so a fault shown to the manager can clear before the next scan.
        self.on_recovered: OnRecovered | None = None

    # ------------------------------------------------------------- lifecycle
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> ThreadedScanner:
        if self.running:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._guarded_run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 1.0) -> None:
        """Stop the worker; returns within `timeout_s` even if the device hangs."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
            if self._thread.is_alive():
                log.warning("%s: worker still blocked after %.1f s; left to finish", self.url,
                            timeout_s)  # fmt: skip
        self._thread = None

    def __enter__(self) -> ThreadedScanner:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---------------------------------------------------------- for subclasses
    def _run(self) -> None:
        raise NotImplementedError

    def _guarded_run(self) -> None:
        try:
            self._run()
        except Exception:  # a bug in a backend must not die silently in its thread
            log.exception("%s: scanner thread failed", self.url)
            self._report(DeviceError(f"{self.url}: scanner thread failed"))

    def _emit(self, code: Code) -> None:
        self.scans += 1
        try:
            self.on_code(code)
        except Exception:
            log.exception("%s: on_code callback failed for %r", self.url, code.text[:40])

    def _report(self, error: DeviceError) -> None:
        """Report an outage once; `_recovered()` re-arms the report."""
        self.last_error = str(error)
        if self._failing:
            return
        self._failing = True
        log.warning("%s", error)
        if self.on_error is not None:
            try:
                self.on_error(error)
            except Exception:
                log.exception("%s: on_error callback failed", self.url)

    def _recovered(self) -> None:
        was_failing, self._failing = self._failing, False
        self.last_error = ""
        if not was_failing:
            return
        log.info("%s: back", self.url)
        if self.on_recovered is not None:
            try:
                self.on_recovered()
            except Exception:
                log.exception("%s: on_recovered callback failed", self.url)

    @property
    def connected(self) -> bool:
        return self.running and not self._failing
