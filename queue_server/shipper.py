"""The head-office link: ships the branch's event log to the centre, off the event loop.

One thread with its own SQLite connection reads the events after the centre's watermark in
seq order, in batches, and POSTs them over HTTPS (`wire.shipping`). The centre is the
authority on what it holds: the shipper asks it on connect (`hello`), resumes from its
watermark after any cut or `409 gap`, and never slows the branch: the engine's commit path
only sets an event (`wake`), and nothing here runs on the loop. A branch the centre shows to
be a restored (older) copy of its log moves to a new log id from the fork point.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, cast

import httpx

from queue_server.head_office import HeadOffice
from queue_server.storage import connect
from queue_server.storage.log_identity import LogIdentity, forked_log, read_log_identity
from wire.shipping import (
    MAX_BATCH,
    Ack,
    Batch,
    Digests,
    Hello,
    LogState,
    ShippedEvent,
    event_digest,
)
from wire.waits import ShownWait

log = logging.getLogger(__name__)
API = "/api/v1/ship"
BACKOFF_FIRST_S = 0.5
BACKOFF_CAP_S = 60.0
DIGEST_PAGE = 1000

# Text a person typed, which may name or describe a customer or a colleague: blanked in
# every shipped body, wherever in it the key appears. Ticket notes (a teller's, on a
# transfer), a rating's comment (on the ticket, in `ticket.rated` data and on follow-ups),
# a manager's follow-up note, and the teller's name on a counter (the staff id still ships).
# The lobby's reasons (issue 21: why care, why on hold, why cancelled or diverted) too.
FREE_TEXT_KEYS = frozenset(
    {"note", "comment", "rating_comment", "staff_name", "reason", "care_reason", "hold_reason"}
)
# Staff accounts and device tokens carry a person's name or a typed label in `data.name`.
NAMED_KINDS = ("staff.", "token.")


def without_free_text(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """The body as it may leave the branch (see FREE_TEXT_KEYS)."""

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: ("" if k in FREE_TEXT_KEYS and isinstance(v, str) else scrub(v))
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    out = cast(dict[str, Any], scrub(body))
    data = out.get("data")
    if kind.startswith(NAMED_KINDS) and isinstance(data, dict) and "name" in data:
        out["data"] = {**data, "name": ""}
    return out


def shipped_event(seq: int, at: str, kind: str, v: int, stored_body: str) -> ShippedEvent:
    """A stored event as shipped: its entities and data without free text, and its digest."""
    stored = json.loads(stored_body)
    body = without_free_text(kind, {k: x for k, x in stored.items() if k not in _ENVELOPE})
    return {
        "seq": seq,
        "at": at,
        "kind": kind,
        "v": v,
        "body": body,
        "sha256": event_digest(seq, at, kind, v, body),
    }


_ENVELOPE = ("seq", "at", "kind")


class CentreRefused(Exception):
    """The centre answered with an error; `code` is its stable code."""

    def __init__(self, status: int, code: str, retry_after_s: float | None = None) -> None:
        super().__init__(f"head office answered {status} {code}")
        self.status, self.code, self.retry_after_s = status, code, retry_after_s


class Restored(Exception):
    """The centre holds more (or other) history for this log than this database."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None  # an HTTP date or nothing: our own back-off decides


class Shipper:
    def __init__(
        self,
        db_path: str | Path,
        office: HeadOffice,
        record_restore: Callable[[LogIdentity, LogIdentity, int], None],
        shown_waits: Callable[[], dict[str, ShownWait]] | None = None,
        location: Callable[[], tuple[float, float] | None] | None = None,
        *,
        vip_key: str | None = None,
    ) -> None:
        """`record_restore(old, new, fork_seq)` commits the rotation (the new identity and
        its `log.restored` event in one transaction) through the engine; called from this
        thread, it may block. `shown_waits()`: per business, a new walk-in's wait as the
        kiosk shows it now, for the centre's booking; called from this thread, never blocks.
        `location()`: where the branch stands now (the head office's configuration may move
        it); default: the office's `[branch] location`. A change is said in a hello at once.
        `vip_key`: the branch's X25519 public key (hex) the centre seals VIP keys to."""
        self.db_path = Path(db_path)
        self.office = office
        self._record_restore = record_restore
        self._shown_waits = shown_waits
        self._location = location or (lambda: office.location)
        self._said_location: tuple[float, float] | None = None
        self._vip_key = vip_key
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.RLock()  # re-entered by `status` inside `wait_until`
        # Told of every change of the link's state (what `status` reports), for those who
        # must wait for one: the tests, which may not sleep.
        self._changed = threading.Condition(self._lock)
        self._thread = threading.Thread(target=self._run, name="branchq-shipper", daemon=True)
        self._conn: sqlite3.Connection | None = None
        self._client: httpx.Client | None = None
        self._state: LogState | None = None  # the centre's, for our current log
        self._failures = 0
        self._last_hello = 0.0
        # What the manager sees (status()); written by the thread under the lock.
        self._link = "connecting"
        self._unreachable_since: str | None = None
        self._last_error: str | None = None
        self._last_ack_at: str | None = None
        self._watermark = 0
        self._identity: LogIdentity | None = None
        self.restores = 0

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def wake(self) -> None:
        """Something was committed: ship it soon. Cheap and never blocks (the commit path)."""
        self._wake.set()

    def wait_until(self, settled: Callable[[], bool], timeout: float) -> bool:
        """Wait until `settled()` holds, checked at each change of the link's state."""
        with self._changed:
            return self._changed.wait_for(settled, timeout)

    def status(self, last_seq: int) -> dict[str, Any]:
        """The link as the manager sees it; `last_seq`: the branch's latest event."""
        with self._lock:
            ident = self._identity
            shipped_to = max(self._watermark, ident.first_seq - 1 if ident else 0)
            return {
                "configured": True,
                "url": self.office.url,
                "branch": self.office.branch,
                "link": self._link,
                "unreachable_since": self._unreachable_since,
                "last_error": self._last_error,
                "last_ack_at": self._last_ack_at,
                "watermark": self._watermark,
                "backlog": max(0, last_seq - shipped_to),
                "log_id": ident.log_id if ident else None,
                "first_seq": ident.first_seq if ident else None,
                "restored_from": ident.restored_from if ident else None,
            }

    # ------------------------------------------------------------ the loop
    def _run(self) -> None:
        self._conn = connect(self.db_path)
        self._client = self._http_client()
        try:
            while not self._stop.is_set():
                self._step()
        finally:
            self._client.close()
            self._conn.close()

    def _step(self) -> None:
        try:
            if self._state is None or self._heartbeat_due() or self._moved():
                self._hello()
            more = self._ship_batch()
            self._connected()
            if not more:
                self._wake.wait(self._until_heartbeat())
                self._wake.clear()
        except CentreRefused as exc:
            self._failed(exc.code, exc.retry_after_s)
        except Restored:
            self._state = None  # hello again under the new log
        except httpx.HTTPError as exc:
            self._failed(type(exc).__name__, None)
        except Exception:  # a fault of ours must not end shipping for good
            log.exception("head-office shipping failed")
            self._failed("shipper_fault", None)

    def _moved(self) -> bool:
        """The location in force is not the one the centre was last told (its booking
        ranks branches by it)."""
        return self._location() != self._said_location

    def _heartbeat_due(self) -> bool:
        return time.monotonic() - self._last_hello >= self.office.heartbeat_s

    def _until_heartbeat(self) -> float:
        return max(0.0, self.office.heartbeat_s - (time.monotonic() - self._last_hello))

    def _failed(self, code: str, retry_after_s: float | None) -> None:
        """Back off (exponential with full jitter, capped), or as long as the centre asks."""
        self._state = None  # the centre's watermark is asked again after any failure
        self._failures += 1
        with self._lock:
            if self._link != "unreachable":
                self._unreachable_since = _now()
            self._link, self._last_error = "unreachable", code
            self._changed.notify_all()
        if retry_after_s is not None:
            delay = min(retry_after_s, BACKOFF_CAP_S)
        else:
            ceiling = min(BACKOFF_CAP_S, BACKOFF_FIRST_S * 2 ** min(self._failures - 1, 10))
            delay = random.uniform(ceiling / 2, ceiling)
        log.info("head office %s (%s); next try in %.1f s", "unreachable", code, delay)
        self._stop.wait(delay)

    def _connected(self) -> None:
        self._failures = 0
        with self._lock:
            self._link, self._unreachable_since, self._last_error = "connected", None, None
            self._changed.notify_all()

    # ------------------------------------------------------------ HTTP
    def _http_client(self) -> httpx.Client:
        return httpx.Client(**http_options(self.office))

    def _call(self, method: str, path: str, body: Any = None, **params: Any) -> httpx.Response:
        assert self._client is not None
        response = self._client.request(method, API + path, json=body, params=params or None)
        if response.status_code >= 400 and response.status_code != 409:
            raise CentreRefused(response.status_code, _code_of(response), _retry_after(response))
        return response

    def _hello(self) -> None:
        ident = self._read_identity()
        location = self._location()
        hello: Hello = {
            "branch": self.office.branch,
            "log_id": ident.log_id,
            "first_seq": ident.first_seq,
            "restored_from": ident.restored_from,
            "software_version": _software_version(),
            "backlog": max(0, self._local_max() - self._shipped_to(ident)),
            "profile": self._profile(),
            "waits": self._shown_waits() if self._shown_waits is not None else {},
            "location": None if location is None else {"lat": location[0], "lon": location[1]},
            "booking_url": self.office.public_url,
            "vip_key": self._vip_key,
        }
        state = cast(LogState, self._call("POST", "/hello", hello).json())
        self._last_hello, self._said_location = time.monotonic(), location
        self._adopt(ident, state)

    def _adopt(self, ident: LogIdentity, state: LogState) -> None:
        """Take the centre's word on our log, after checking this database holds what the
        centre holds (raises Restored after moving to a new log when it does not)."""
        if state["log_id"] != ident.log_id:
            raise CentreRefused(200, "wrong_log")
        watermark = state["watermark"]
        if watermark >= ident.first_seq:
            local = self._local_digest(watermark)
            if local is None or local != state["sha256_at_watermark"]:
                self._rotate(ident, watermark)
        self._state = state
        with self._lock:
            self._watermark = max(watermark, ident.first_seq - 1)
            self._changed.notify_all()

    def _ship_batch(self) -> bool:
        """Send the next batch; True when there may be more to send at once."""
        assert self._state is not None
        ident = self._read_identity()
        after = self._shipped_to(ident)
        events = list(self._events_after(after, MAX_BATCH))
        if not events:
            return False
        batch: Batch = {
            "branch": self.office.branch,
            "log_id": ident.log_id,
            "events": events,
            "backlog": max(0, self._local_max() - after),
        }
        response = self._call("POST", "/events", batch)
        if response.status_code == 409:  # not where the centre is: resume from its watermark
            self._adopt(ident, self._gap_state(response, ident))
            return True
        ack = cast(Ack, response.json())
        self._state = {**self._state, "watermark": ack["watermark"]}
        with self._lock:
            self._watermark = ack["watermark"]
            self._last_ack_at = _now()
            self._changed.notify_all()
        if ack.get("quarantined"):
            # The centre holds other history under these seqs: check (and fork) at once.
            log.error("the head office quarantined %d event(s)", ack["quarantined"])
            self._state = None
            return True
        return len(events) == MAX_BATCH or ack["watermark"] < events[-1]["seq"]

    def _gap_state(self, response: httpx.Response, ident: LogIdentity) -> LogState:
        body = response.json() if response.content else {}
        state = body.get("state", body) if isinstance(body, dict) else {}
        if isinstance(state, dict) and "watermark" in state and "log_id" in state:
            return cast(LogState, state)
        return cast(LogState, self._call("GET", f"/logs/{ident.log_id}").json())

    # ------------------------------------------------------------ restore
    def _rotate(self, ident: LogIdentity, watermark: int) -> None:
        fork = self._fork_point(ident, min(watermark, self._local_max()))
        new = forked_log(ident, fork)
        log.error(
            "the head office holds log %s up to seq %d but this database differs after %d: "
            "restored from an older copy; shipping from %d as log %s",
            ident.log_id, watermark, fork, new.first_seq, new.log_id,
        )  # fmt: skip
        self._record_restore(ident, new, fork)
        self.restores += 1
        with self._lock:
            self._identity = new
            self._watermark = fork
            self._changed.notify_all()
        raise Restored

    def _fork_point(self, ident: LogIdentity, upto: int) -> int:
        """The end of the history this database and the centre agree on: the largest seq
        with equal digests from the log's first seq on, with none differing before it."""
        fork = ident.first_seq - 1
        while fork < upto:
            page = cast(
                Digests,
                self._call(
                    "GET", f"/logs/{ident.log_id}/digests", after=fork, limit=DIGEST_PAGE
                ).json(),
            )
            theirs = [(int(s), str(d)) for s, d in page["digests"]]
            if not theirs:
                return fork
            mine = {e["seq"]: e["sha256"] for e in self._events_after(fork, len(theirs))}
            for seq, digest in theirs:
                if seq != fork + 1 or seq > upto or mine.get(seq) != digest:
                    return fork
                fork = seq
        return fork

    # ------------------------------------------------------------ SQLite
    def _read_identity(self) -> LogIdentity:
        assert self._conn is not None
        ident = read_log_identity(self._conn)
        with self._lock:
            self._identity = ident
        return ident

    def _shipped_to(self, ident: LogIdentity) -> int:
        watermark = self._state["watermark"] if self._state is not None else 0
        return max(watermark, ident.first_seq - 1)

    def _local_max(self) -> int:
        assert self._conn is not None
        return int(self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])

    def _events_after(self, after: int, limit: int) -> Iterator[ShippedEvent]:
        assert self._conn is not None
        rows = self._conn.execute(
            "SELECT seq, at, kind, v, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        ).fetchall()
        for seq, at, kind, v, body in rows:
            yield shipped_event(int(seq), str(at), str(kind), int(v), str(body))

    def _local_digest(self, seq: int) -> str | None:
        found = list(self._events_after(seq - 1, 1))
        return found[0]["sha256"] if found and found[0]["seq"] == seq else None

    def _profile(self) -> dict[str, Any]:
        """Who the branch is, for the centre's tables: never a person."""
        assert self._conn is not None
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'settings'").fetchone()
        settings = json.loads(row[0]) if row else {}
        services = [
            {"code": code, "names": json.loads(names), "target_wait_s": target}
            for code, names, target in self._conn.execute(
                "SELECT code, names, target_wait_s FROM services ORDER BY sort, code"
            )
        ]
        counters = [
            {"number": number, "name": name}
            for number, name in self._conn.execute(
                "SELECT number, name FROM counters ORDER BY number"
            )
        ]
        return {
            "name": settings.get("name", ""),
            "timezone": settings.get("timezone", ""),
            "services": services,
            "counters": counters,
        }


def http_options(office: HeadOffice) -> dict[str, Any]:
    """What every client of the centre is made with (the shipper's and the downlink's): the
    bearer token, the configured CA, explicit timeouts."""
    trust: ssl.SSLContext | bool = True
    if office.ca_file is not None:
        trust = ssl.create_default_context(cafile=str(office.ca_file))
    return {
        "base_url": office.url.rstrip("/"),
        "headers": {"Authorization": f"Bearer {office.token}"},
        "timeout": httpx.Timeout(office.timeout_s, connect=office.connect_timeout_s),
        "limits": httpx.Limits(max_connections=2, max_keepalive_connections=1),
        "verify": trust,
    }


def _code_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"http_{response.status_code}"
    code = body.get("code") if isinstance(body, dict) else None
    return str(code) if code else f"http_{response.status_code}"


def _software_version() -> str:
    try:
        return version("branchq")
    except PackageNotFoundError:
        return "unknown"
