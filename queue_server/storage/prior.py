"""The branch config's arrival prior, kept in `meta` so a new branch's staffing advice has one."""

from __future__ import annotations

import json
import sqlite3
from datetime import time

from queue_server.domain.staffing import ArrivalPrior

PRIOR_KEY = "arrival_prior"


def save_arrival_prior(conn: sqlite3.Connection, prior: ArrivalPrior) -> None:
    value = {
        "hourly": list(prior.hourly),
        "shares": dict(prior.shares),
        "opens": prior.opens.isoformat(timespec="minutes"),
    }
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (PRIOR_KEY, json.dumps(value))
    )


def load_arrival_prior(conn: sqlite3.Connection) -> ArrivalPrior | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (PRIOR_KEY,)).fetchone()
    if row is None:
        return None
    value = json.loads(row[0])
    return ArrivalPrior(
        tuple(float(x) for x in value["hourly"]),
        {str(k): float(v) for k, v in value["shares"].items()},
        time.fromisoformat(value["opens"]),
    )
