"""Customer notifications: the `Notifier` interface, its notices, and backends chosen by URL.

A bank plugs in its SMS gateway or app push by giving one URL in the branch config
(`[notifications] url = …`); each scheme lives in its own module, which starts with its
URL format and options:

    log://                                 LoggingNotifier (notify/log.py), the default
    sms+https://host[:port]/path?options   HttpSmsNotifier (notify/sms_http.py)
    sms+http://…                           the same over plain HTTP (a gateway on the LAN)

A notifier's `send` may block (network, retries): the desk calls it only from its own
worker thread (`notify/outbox.py`), never on the event loop.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import urlsplit

NoticeKind = Literal["near", "called", "no_show"]
Channel = Literal["sms", "push"]
_MOBILE = re.compile(r"1[3-9]\d{9}")


class NotifyFailed(Exception):
    """A notice could not be delivered (after the backend's own retries)."""


class UnknownNotifierUrl(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Notice:
    """One message to one customer about their ticket; `destination` is personal data."""

    kind: NoticeKind
    ticket_id: int
    number: str  # the ticket number as printed, e.g. A023
    business: str  # the business's name in `language`
    destination: str  # a mainland mobile number (11 digits) or an app-push id
    language: str = "zh"
    channel: Channel = "sms"
    counter: int | None = None  # called: the counter to go to
    places_ahead: int | None = None  # near: customers the policy serves first
    reference: str = ""  # unique per notice: a gateway can drop a retried duplicate
    text: str = ""  # the message in `language`, from the shared catalogs

    def __repr__(self) -> str:  # a notice in a traceback or log never shows the number
        return (
            f"Notice({self.kind}, {self.number}, to={mask(self.destination, self.channel)}, "
            f"ref={self.reference})"
        )

    __str__ = __repr__


class Notifier(Protocol):
    """Delivers notices. `send` may block; raises NotifyFailed when it gives up."""

    def send(self, notice: Notice) -> None: ...

    def close(self) -> None: ...


def normalise_phone(raw: str) -> str:
    """A mainland China mobile number as 11 digits (`+86`/`86` and spaces/dashes accepted).

    Raises ValueError for anything else.
    """
    compact = re.sub(r"[\s-]", "", raw)
    if compact.startswith("+86"):
        compact = compact[3:]
    elif compact.startswith("0086"):
        compact = compact[4:]
    elif len(compact) == 13 and compact.startswith("86"):
        compact = compact[2:]
    if not _MOBILE.fullmatch(compact):
        raise ValueError("not a mainland China mobile number (1[3-9] and 9 more digits)")
    return compact


def mask(destination: str, channel: Channel = "sms") -> str:
    """What logs and responses may show of a destination: 138****5678, or abcd…"""
    if channel == "sms" and len(destination) == 11 and destination.isdigit():
        return f"{destination[:3]}****{destination[-4:]}"
    if len(destination) <= 8:
        return "****"
    return destination[:4] + "…"


_SCHEMES = {"log": ".log", "sms+http": ".sms_http", "sms+https": ".sms_http"}


def notifier_for_url(url: str) -> Notifier:
    """The notifier a URL names, e.g. `log://` or `sms+https://gw.bank.local/send?sender=BQ`."""
    scheme = urlsplit(url).scheme.lower()
    module_name = _SCHEMES.get(scheme)
    if module_name is None:
        known = ", ".join(f"{s}://" for s in _SCHEMES)
        raise UnknownNotifierUrl(f"unknown notifier URL scheme {scheme!r} (known: {known})")
    module = importlib.import_module(module_name, __name__)
    notifier: Notifier = module.from_url(url)
    return notifier
