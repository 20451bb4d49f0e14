"""ConsoleActions: what the console's tabs may do — ask the server, and say what came of it.

Every request goes through `send`, which counts it, runs the caller's `done` on the answer
or words the refusal (`error_text`), and tells the window to show a message and redraw.
The tabs get this object in their constructor and never see the window, so the window sits
above its tabs (`ui.manager.main` > `window` > `tabs` > `actions`, `widgets`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from ui.client import ApiError
from ui.i18n import Translator
from ui.manager.client import ManagerClient

log = logging.getLogger(__name__)
ERROR_KEYS = {
    "offline": "manager.error.offline",
    "forbidden": "manager.error.forbidden",
    "http_403": "manager.error.forbidden",
    "http_404": "manager.error.not_available",
    "not_found": "manager.error.not_available",
    "invalid_request": "manager.error.invalid",
    "http_422": "manager.error.invalid",
}

# (key, kind, values): a catalog message for the window's banner.
MessageSink = Callable[[str, str, Mapping[str, object]], None]


def error_text(tr: Translator, error: ApiError) -> str:
    key = ERROR_KEYS.get(error.code)
    if key is None and error.status == 403:
        key = "manager.error.forbidden"
    if key is None and error.status == 404:
        key = "manager.error.not_available"
    if key is None:
        return tr.tr("manager.error.other", code=error.code, message=error.message)
    return tr.tr(key)


class ConsoleActions:
    """The manager's client, one place that sends requests, and where messages go."""

    def __init__(self, client: ManagerClient, tr: Translator, *, fetch: bool = True) -> None:
        self.client = client
        self.tr_ = tr
        self.fetch = fetch  # False: never read from the server (screenshots)
        self.busy = 0  # requests waiting for their answer
        self._show: MessageSink = lambda key, kind, values: None
        self._answered: Callable[[], None] = lambda: None

    def subscribe(self, show: MessageSink, answered: Callable[[], None]) -> None:
        """The window's banner shows the messages; `answered` redraws after a success."""
        self._show = show
        self._answered = answered

    def error_text(self, error: ApiError) -> str:
        return error_text(self.tr_, error)

    def service_name(self, code: str) -> str:
        """A business's name in the console's language (its code if it has none)."""
        return self.tr_.pick(self.client.model.services.get(code, {}).get("names", {})) or code

    def counter_name(self, number: int) -> str:
        return self.tr_.tr("common.counter", counter=number)

    def send(
        self,
        request: Callable[[], Any],
        done: Callable[[Any], None] | None = None,
        success: str | None = None,
        failed: Callable[[ApiError], None] | None = None,
        **values: object,
    ) -> None:
        """Send one request; on its answer run `done`, or say why it was refused."""
        self.busy += 1

        def answered(data: Any, error: ApiError | None) -> None:
            self.busy -= 1
            if error is not None:
                log.info("manager request refused: %s", error)
                if failed is not None:
                    failed(error)
                else:
                    self.show_text(self.error_text(error), "error")
                return
            if done is not None:
                done(data)
            if success is not None:
                self.show_message(success, "info", **values)
            self._answered()

        request().then(answered)

    def show_message(self, key: str, kind: str = "info", **values: object) -> None:
        self._show(key, kind, values)

    def show_text(self, text: str, kind: str = "error") -> None:
        self.show_message("manager.text", kind, text=text)

    def branch_timezone(self) -> str | None:
        """The branch's time zone from the snapshot: times show on the branch's clock."""
        zone = self.client.model.branch.get("timezone")
        return str(zone) if zone else None
