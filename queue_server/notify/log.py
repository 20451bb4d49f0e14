"""log:// — notices written to the server log, the destination masked (the default).

URL: `log://` (no options). For a branch without a gateway yet, and for the demo: the log
shows what would have been sent, never a full phone number.
"""

from __future__ import annotations

import logging

from queue_server.notify import Notice, mask

log = logging.getLogger(__name__)


class LoggingNotifier:
    def __init__(self) -> None:
        self.sent = 0

    def send(self, notice: Notice) -> None:
        self.sent += 1
        log.info(
            "notice %s for %s to %s (%s, ref %s): %s",
            notice.kind,
            notice.number,
            mask(notice.destination, notice.channel),
            notice.language,
            notice.reference,
            notice.text,
        )

    def close(self) -> None:
        pass


def from_url(url: str) -> LoggingNotifier:
    return LoggingNotifier()
