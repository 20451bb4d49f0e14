"""The branch config's `[notifications]`: which notifier, and how near is "near".

```toml
[notifications]
url = "sms+https://gateway.bank.local/send?sender=BranchQ"   # default "log://"
near = 3        # text a customer once when this many or fewer are ahead of them
```

Kept in `meta` at `branchq init` like the rest of the branch config. `BRANCHQ_NOTIFY_URL`
overrides the URL when the server starts (a new gateway without re-initialising); the
gateway's secret is only ever read from the environment (`BRANCHQ_SMS_TOKEN`).
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from queue_server.storage.meta import read_meta, write_meta

SETTINGS_KEY = "notifications"
URL_ENV = "BRANCHQ_NOTIFY_URL"
_SECRET_WORDS = ("token", "secret", "password", "key", "sign")


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    url: str = "log://"
    near: int = 3


def parse_notifications(raw: dict[str, Any]) -> NotificationSettings:
    """`[notifications]` from a parsed TOML table; ValueError when it is wrong."""
    unknown = set(raw) - {"url", "near"}
    if unknown:
        raise ValueError(f"[notifications] unknown keys: {', '.join(sorted(unknown))}")
    url = str(raw.get("url", "log://"))
    near = raw.get("near", 3)
    if isinstance(near, bool) or not isinstance(near, int) or not 0 <= near <= 50:
        raise ValueError("[notifications] near must be a whole number from 0 to 50")
    check_url(url)
    return NotificationSettings(url=url, near=near)


def check_url(url: str) -> None:
    """A notifier URL must name a known scheme and hold no secret (it is stored in SQLite)."""
    from queue_server.notify import _SCHEMES

    parts = urlsplit(url)
    if parts.scheme.lower() not in _SCHEMES:
        known = ", ".join(f"{s}://" for s in _SCHEMES)
        raise ValueError(f"[notifications] url: unknown scheme {parts.scheme!r} (known: {known})")
    names = [k.lower() for k, _ in parse_qsl(parts.query)]
    secret = [k for k in names if k != "token_env" and any(w in k for w in _SECRET_WORDS)]
    if parts.password or secret:
        raise ValueError(
            "[notifications] url must not hold a secret: set BRANCHQ_SMS_TOKEN instead"
        )


def save_notification_settings(conn: sqlite3.Connection, settings: NotificationSettings) -> None:
    value = {"url": settings.url, "near": settings.near}
    write_meta(conn, SETTINGS_KEY, json.dumps(value))


def load_notification_settings(conn: sqlite3.Connection) -> NotificationSettings:
    """The stored settings (defaults when the branch has none), `BRANCHQ_NOTIFY_URL` first."""
    row = read_meta(conn, SETTINGS_KEY)
    stored = json.loads(row) if row is not None else {}
    settings = NotificationSettings(
        url=str(stored.get("url", "log://")), near=int(stored.get("near", 3))
    )
    override = os.environ.get(URL_ENV)
    if override:
        check_url(override)
        settings = NotificationSettings(url=override, near=settings.near)
    return settings
