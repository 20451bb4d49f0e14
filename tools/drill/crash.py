"""The crash drill: kill -9 the server at random moments under mixed load, and count losses.

One run:

1. a fresh branch (the demo businesses, four windows that serve all of them) in a temporary
   folder, served by a real `branchq server` subprocess on a loopback port;
2. mixed load from client threads, each with its own HTTP connection: two kiosks issue
   tickets (each with an Idempotency-Key, retried with the same key until answered), three
   tellers each call-next (with a key) → start → finish at their own counter, and one
   WebSocket subscriber records every message of the event stream and resumes after a drop
   with `since=<last seq>&epoch=<epoch>`, as a display does;
3. `attempts` times: after a random (seeded) stretch of load, SIGKILL; restart at once;
   recovery time = from the restart to the first successful request; wait until every
   client worked again, then check the database against what the clients were told.

Every 2xx answer goes into a client-side ledger. The checks, after every restart and once
more at the end with the load stopped (each broken promise counts one in `lost`):

* every acknowledged ticket is in the database with its number, business day and key;
  every acknowledged call, start and finish is there too;
* no number is issued twice in a business day; no ticket is called twice (two
  `ticket.called` events, or one ticket acknowledged to two different calls);
* `events` is gap-free, 1..max;
* every event the subscriber received is in the database, the same; it received none twice
  and skipped none: between a snapshot (or resume) and the next, events follow one by one.
  A new snapshot after a restart covers what the subscriber did not see (it was durable but
  not yet sent when the server died); it must never be behind an event already delivered;
* a kiosk retrying a key whose answer the crash swallowed gets the ticket made the first
  time (one ticket per key), and replaying an acknowledged key returns the same ticket.
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter as Tally
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect as ws_connect

from queue_server.config import init_db
from tools.bench.server import bench_config
from tools.demo import DEMO_PIN, provision
from tools.drill import DrillResult, Log, p95
from tools.harness import HOST, free_port, start_server, stop_process, wait_healthy

API = "/api/v1"
COUNTERS = 4  # windows in the branch; tellers drive 1..TELLERS, the rest stay idle
TELLERS = 3
KIOSKS = 2
LOAD_S = (0.3, 1.5)  # load between two kills: uniform in this range (seeded)
MAX_WAITING = 40  # kiosks pause when this many issued tickets are not yet called
REPLAY_EVERY = 25  # a kiosk replays an acknowledged key after this many issues
HTTP_TIMEOUT_S = 5.0
START_TIMEOUT_S = 30.0
SETTLE_TIMEOUT_S = 15.0  # every client working again after a restart
WATCHDOG_S = 6.0  # the subscriber drops a link silent for three heartbeats
RETRY_S = 0.05  # a client's pause before retrying after no answer


# ------------------------------------------------------------------ the ledger
@dataclass
class Ledger:
    """What the server acknowledged to the clients (2xx answers), shared by the threads."""

    issued: dict[str, dict[str, Any]] = field(default_factory=dict)  # key → ticket
    calls: list[tuple[int, str, int]] = field(default_factory=list)  # (counter, key, ticket)
    starts: list[tuple[int, int]] = field(default_factory=list)
    finishes: list[tuple[int, int]] = field(default_factory=list)
    unknown_keys: set[str] = field(default_factory=set)  # an issue whose answer was lost
    resolved_after_crash: int = 0  # such issues answered on a retry with the same key
    replayed_after_crash: int = 0  # … of which the ticket had been made before the crash
    replays: int = 0
    problems: list[str] = field(default_factory=list)  # found by the clients themselves
    errors: Tally[str] = field(default_factory=Tally)  # non-2xx answers, by op and code
    ops: int = 0
    last_ok: dict[str, float] = field(default_factory=dict)  # client → time of its last 2xx
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, client: str) -> None:
        with self.lock:
            self.ops += 1
            self.last_ok[client] = time.monotonic()

    def waiting(self) -> int:
        return len(self.issued) - len(self.calls)


class Client(threading.Thread):
    """A load thread: one HTTP connection, one request at a time, until stopped."""

    def __init__(
        self,
        name: str,
        base: str,
        token: str,
        ledger: Ledger,
        stop: threading.Event,
        rng: random.Random,
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.base, self.token, self.ledger, self.stop, self.rng = base, token, ledger, stop, rng
        self.in_flight = False
        self.failure: BaseException | None = None
        self.pace_s = 0.0  # a pause after every answered request (0: as fast as answered)

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            with httpx.Client(
                base_url=self.base + API, headers=headers, timeout=HTTP_TIMEOUT_S
            ) as http:
                self.loop(http)
        except BaseException as exc:  # reported by the drill, not lost in a thread
            self.failure = exc

    def loop(self, http: httpx.Client) -> None:
        raise NotImplementedError

    def post(
        self, http: httpx.Client, path: str, body: Any = None, key: str | None = None
    ) -> tuple[int, Any] | None:
        """(status, JSON) or None when there was no answer (the server may have acted)."""
        headers = {"Idempotency-Key": key} if key else {}
        self.in_flight = True
        try:
            r = http.post(path, json=body, headers=headers)
        except httpx.HTTPError:
            return None
        finally:
            self.in_flight = False
        try:
            data = r.json()
        except ValueError:
            data = None
        return r.status_code, data

    def error(self, op: str, status: int, data: Any) -> None:
        code = data.get("error", {}).get("code") if isinstance(data, dict) else None
        with self.ledger.lock:
            self.ledger.errors[f"{op}:{status}:{code}"] += 1


class Kiosk(Client):
    """Issues tickets with a fresh key each; retries a key until answered; replays old keys."""

    services: tuple[str, ...] = ("A",)

    def loop(self, http: httpx.Client) -> None:
        services = self.services
        issued = 0
        while not self.stop.is_set():
            if self.ledger.waiting() > MAX_WAITING:
                time.sleep(0.02)
                continue
            key = f"drill-{uuid.UUID(int=self.rng.getrandbits(128)).hex}"
            self.issue(http, key, self.rng.choice(services), replay=False)
            issued += 1
            time.sleep(self.pace_s)
            if issued % REPLAY_EVERY == 0:
                with self.ledger.lock:
                    keys = list(self.ledger.issued)
                old = self.rng.choice(keys)
                self.issue(http, old, self.ledger.issued[old]["service"], replay=True)

    def issue(self, http: httpx.Client, key: str, service: str, *, replay: bool) -> None:
        lost_answer = False
        while True:
            answer = self.post(http, "/tickets", {"service": service}, key)
            if answer is not None:
                break
            lost_answer = True
            with self.ledger.lock:
                self.ledger.unknown_keys.add(key)
            if self.stop.is_set():
                return  # the drill is ending with the server gone: counted as unanswered
            time.sleep(RETRY_S)  # the server is down or restarting: same key again
        status, data = answer
        if status not in (200, 201):
            self.error("issue", status, data)
            return
        self.ledger.ok(self.name)
        ticket = {k: data[k] for k in ("id", "number", "business_day", "service")}
        ledger = self.ledger
        with ledger.lock:
            earlier = ledger.issued.get(key)
            if earlier is not None and earlier != ticket:
                ledger.problems.append(f"key {key}: acknowledged {earlier}, replay gave {ticket}")
            if replay:
                ledger.replays += 1
                if status != 200:
                    ledger.problems.append(f"replayed key {key} made a new ticket ({status})")
            ledger.issued.setdefault(key, ticket)
            if lost_answer:
                ledger.unknown_keys.discard(key)
                ledger.resolved_after_crash += 1
                ledger.replayed_after_crash += status == 200


class Teller(Client):
    """call-next (with a key) → start → finish at one counter; resyncs when unsure."""

    number = 0

    def loop(self, http: httpx.Client) -> None:
        n = self.number
        state, ticket_id, call_key = "idle", 0, None
        unsure = False  # the last request got no answer: its effect is unknown
        while not self.stop.is_set():
            if state == "idle":
                call_key = call_key or f"call-{uuid.UUID(int=self.rng.getrandbits(128)).hex}"
                answer = self.post(http, f"/counters/{n}/call-next", None, call_key)
            else:
                verb = "start" if state == "called" else "finish"
                answer = self.post(http, f"/counters/{n}/{verb}", {"ticket_id": ticket_id})
            if answer is None:
                unsure = True
                time.sleep(RETRY_S)
                continue  # a call is retried with its key; start/finish resync if refused
            status, data = answer
            if not 200 <= status < 300:
                if not unsure:
                    self.error(state, status, data)
                state, ticket_id = self.resync(http)
                call_key, unsure = None, False
                continue
            unsure = False
            self.ledger.ok(self.name)
            time.sleep(self.pace_s)
            with self.ledger.lock:
                if state == "idle":
                    ticket = data["ticket"]
                    if ticket is None:
                        call_key = None
                        time.sleep(0.01)  # nobody waiting
                        continue
                    self.ledger.calls.append((n, call_key or "", ticket["id"]))
                    state, ticket_id, call_key = "called", ticket["id"], None
                elif state == "called":
                    self.ledger.starts.append((n, ticket_id))
                    state = "serving"
                else:
                    self.ledger.finishes.append((n, ticket_id))
                    state = "idle"

    def resync(self, http: httpx.Client) -> tuple[str, int]:
        """The counter's current customer, as the server has it."""
        while not self.stop.is_set():
            try:
                snap = http.get("/snapshot").json()
            except (httpx.HTTPError, ValueError):
                time.sleep(RETRY_S)
                continue
            for t in snap.get("tickets", []):
                if t.get("counter") == self.number and t["state"] in ("called", "serving"):
                    return t["state"], int(t["id"])
            return "idle", 0
        return "idle", 0


class Subscriber(threading.Thread):
    """The event stream as a display follows it; records every message, never dedupes."""

    def __init__(self, url: str, stop: threading.Event) -> None:
        super().__init__(name="subscriber", daemon=True)
        self.url = url
        self.stop = stop
        # ("snapshot" | "resume", seq, at) and ("event", seq, kind, ticket id)
        self.log: list[tuple[Any, ...]] = []
        self.pos: int | None = None
        self.epoch: str | None = None
        self.synced_at = 0.0
        self.connections = 0

    def run(self) -> None:
        while not self.stop.is_set():
            url = self.url
            if self.pos is not None and self.epoch is not None:
                url += f"&since={self.pos}&epoch={self.epoch}"
            try:
                with ws_connect(
                    url, open_timeout=3, close_timeout=1, max_size=None, compression=None
                ) as ws:
                    self.connections += 1
                    while not self.stop.is_set():
                        self.on_message(json.loads(ws.recv(timeout=WATCHDOG_S)))
            except (OSError, TimeoutError, WebSocketException, ValueError):
                time.sleep(RETRY_S)

    def on_message(self, msg: dict[str, Any]) -> None:
        kind = msg.get("type")
        now = time.monotonic()
        if kind == "snapshot":
            self.log.append(("snapshot", int(msg["seq"]), now))
            self.pos, self.epoch, self.synced_at = int(msg["seq"]), msg["epoch"], now
        elif kind == "resume":
            self.log.append(("resume", int(msg["since"]), now))
            self.synced_at = now
        elif kind == "events":
            for e in msg["events"]:
                ticket = e.get("ticket") or {}
                self.log.append(("event", int(e["seq"]), e["kind"], ticket.get("id")))
                self.pos = max(self.pos or 0, int(e["seq"]))
        elif kind == "heartbeat" and msg.get("epoch") != self.epoch:
            raise ValueError("heartbeat from another epoch")  # reconnect for a snapshot


# ------------------------------------------------------------------- the server
class ChildProcess:
    """A child the drills kill -9 (and stop, at the end)."""

    proc: subprocess.Popen[bytes] | None = None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


class ServerProcess(ChildProcess):
    def __init__(self, db: Path, port: int, log_path: Path) -> None:
        self.db, self.port, self.log_path = db, port, log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = f"http://{HOST}:{port}"
        self.extra: tuple[str, ...] = ()  # more `branchq server` flags (the head office)

    def start(self) -> float:
        """Start and wait for the first successful request; seconds that took."""
        started = time.monotonic()
        with self.log_path.open("ab") as log:
            self.proc = start_server(self.db, self.port, log, *self.extra)
        wait_healthy(self.base, self.proc, START_TIMEOUT_S, poll_s=0.01)  # recovery is timed
        return time.monotonic() - started

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:]


# ------------------------------------------------------------------- the checks
def check(  # noqa: C901 one check per promise the server makes
    db: Path, ledger: Ledger, log: list[tuple[Any, ...]], *, final_seq: int | None = None
) -> list[str]:
    """Every broken promise, one line each (empty: nothing lost)."""
    with ledger.lock:  # copy first: whatever is acknowledged now is in the database
        issued = dict(ledger.issued)
        calls, starts, finishes = list(ledger.calls), list(ledger.starts), list(ledger.finishes)
        problems = list(ledger.problems)
    log = list(log)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("BEGIN")  # one consistent read of everything below
        tickets = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM tickets")}
        events = {
            r["seq"]: (r["kind"], r["ticket_id"])
            for r in conn.execute("SELECT seq, kind, ticket_id FROM events")
        }
        doubled_numbers = conn.execute(
            "SELECT business_day, number, COUNT(DISTINCT COALESCE(NULLIF(visit_id, 0), id)) n "
            "FROM tickets GROUP BY business_day, number HAVING n > 1"
        ).fetchall()
        keyed = conn.execute(
            "SELECT idempotency_key, COUNT(*) n FROM tickets WHERE idempotency_key IS NOT NULL "
            "GROUP BY idempotency_key HAVING n > 1"
        ).fetchall()
        conn.execute("COMMIT")
    finally:
        conn.close()

    for key, t in issued.items():
        row = tickets.get(t["id"])
        if row is None:
            problems.append(f"acknowledged ticket {t['number']} (id {t['id']}) is missing")
        elif (row["number"], row["business_day"], _sent_key(row["idempotency_key"])) != (
            t["number"],
            t["business_day"],
            key,
        ):
            problems.append(f"ticket {t['id']} is {row['number']}, acknowledged as {t['number']}")
    for r in doubled_numbers:
        problems.append(f"number {r['number']} issued {r['n']} times on {r['business_day']}")
    for r in keyed:
        problems.append(f"Idempotency-Key {r['idempotency_key']} made {r['n']} tickets")

    called_events = Tally(tid for kind, tid in events.values() if kind == "ticket.called")
    problems += [f"ticket {tid} called {n} times" for tid, n in called_events.items() if n > 1]
    calls_of: dict[int, set[tuple[int, str]]] = {}
    for counter, key, tid in calls:
        calls_of.setdefault(tid, set()).add((counter, key))
    for tid, made in calls_of.items():
        if len(made) > 1:
            problems.append(f"ticket {tid} acknowledged to {len(made)} calls: {sorted(made)}")
    for counter, _, tid in calls:
        row = tickets.get(tid)
        if row is None or row["counter"] != counter or row["called_at"] is None:
            problems.append(f"acknowledged call of ticket {tid} at counter {counter} is missing")
    for counter, tid in starts:
        row = tickets.get(tid)
        if row is None or row["serving_at"] is None:
            problems.append(f"acknowledged start of ticket {tid} at counter {counter} is missing")
    for counter, tid in finishes:
        row = tickets.get(tid)
        if row is None or row["state"] != "done":
            problems.append(f"acknowledged finish of ticket {tid} at counter {counter} is missing")

    top = max(events, default=0)
    if len(events) != top:
        missing = sorted(set(range(1, top + 1)) - set(events))
        problems.append(f"events has gaps: {len(missing)} missing, first {missing[:5]}")
    problems += stream_problems(log, events, final_seq)
    return problems


def stream_problems(
    log: list[tuple[Any, ...]], events: dict[int, tuple[str, int | None]], final_seq: int | None
) -> list[str]:
    """What a subscriber's record shows against the database: missed, repeated, wrong."""
    problems: list[str] = []
    pos: int | None = None
    seen: set[int] = set()
    for entry in log:
        if entry[0] == "snapshot":
            seq = entry[1]
            if pos is not None and seq < pos:
                problems.append(f"snapshot at {seq} is behind event {pos} already delivered")
            pos = seq
        elif entry[0] == "event":
            _, seq, kind, tid = entry
            if seq in seen:
                problems.append(f"event {seq} delivered twice")
                continue
            if pos is not None and seq != pos + 1:
                problems.append(f"events {pos + 1}..{seq - 1} never delivered (gap)")
            seen.add(seq)
            pos = seq
            if events.get(seq, (kind, tid)) != (kind, tid) or seq not in events:
                problems.append(f"event {seq} delivered as {kind}/{tid}, stored {events.get(seq)}")
    if final_seq is not None and pos != final_seq:
        problems.append(f"subscriber ends at {pos}, the server at {final_seq}")
    return problems


def snapshot_covered(log: list[tuple[Any, ...]]) -> int:
    """Events a subscriber got through a fresh snapshot instead of one by one."""
    covered, pos = 0, None
    for entry in log:
        if entry[0] == "snapshot":
            if pos is not None and entry[1] > pos:
                covered += entry[1] - pos
            pos = entry[1]
        elif entry[0] == "event":
            pos = max(pos or 0, entry[1])
    return covered


# ------------------------------------------------------------------------ run
@contextlib.contextmanager
def scratch_branch(
    name: str, log: Log, counters: int = COUNTERS
) -> Iterator[tuple[ServerProcess, dict[str, str], list[str]]]:
    """A fresh branch database with a token per role and its server process (not yet
    started): (server, tokens, business codes). The server's log tail goes to `log` if the
    drill fails; the server is stopped and the folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"branchq-drill-{name}-") as tmp:
        folder = Path(tmp)
        db = folder / "branch.db"
        config = bench_config(counters)
        init_db(db, config)
        tokens = provision(db, config)
        server = ServerProcess(db, free_port(), folder / "server.log")
        try:
            yield server, tokens, [s.code for s in config.services]
        except BaseException:
            tail = server.log_tail()
            if tail:
                log(f"server log (end):\n{tail}")
            raise
        finally:
            server.stop()


def run(attempts: int, *, seed: int = 1, log: Log) -> DrillResult:
    with scratch_branch("crash", log) as (server, tokens, services):
        return _drill(server, tokens, services, attempts, random.Random(seed), log)


def _drill(
    server: ServerProcess,
    tokens: dict[str, str],
    services: list[str],
    attempts: int,
    rng: random.Random,
    log: Log,
) -> DrillResult:
    log(
        f"crash drill: {attempts} kill -9 of `branchq server` under mixed load "
        f"({KIOSKS} kiosks, {TELLERS} tellers, 1 event subscriber)"
    )
    server.start()
    with httpx.Client(base_url=server.base + API, timeout=HTTP_TIMEOUT_S) as http:
        for n in range(1, TELLERS + 1):
            headers = {"Authorization": f"Bearer {tokens[f'counter:{n}']}"}
            body = {"staff_id": f"t{n:02d}", "pin": DEMO_PIN}
            r = http.post(f"/counters/{n}/sign-in", json=body, headers=headers)
            r.raise_for_status()
    ledger = Ledger()
    stop = threading.Event()
    clients: list[Client] = []
    for i in range(KIOSKS):
        kiosk = Kiosk(
            f"kiosk{i + 1}", server.base, tokens["kiosk"], ledger, stop, random.Random(rng.random())
        )
        kiosk.services = tuple(services)
        clients.append(kiosk)
    for n in range(1, TELLERS + 1):
        teller = Teller(
            f"counter{n}",
            server.base,
            tokens[f"counter:{n}"],
            ledger,
            stop,
            random.Random(rng.random()),
        )
        teller.number = n
        clients.append(teller)
    ws_url = f"ws://{HOST}:{server.port}{API}/events?token={tokens['display']}"
    subscriber_stop = threading.Event()  # it stops last, once it has every event
    subscriber = Subscriber(ws_url, subscriber_stop)
    for t in [*clients, subscriber]:
        t.start()

    recoveries: list[float] = []
    first_ops: list[float] = []
    losses: list[str] = []
    failures: list[str] = []
    in_flight_total = 0
    try:
        for attempt in range(1, attempts + 1):
            load_s = rng.uniform(*LOAD_S)
            ops_before = ledger.ops
            time.sleep(load_s)
            in_flight = sum(c.in_flight for c in clients)
            in_flight_total += in_flight
            server.kill()
            killed_ops = ledger.ops - ops_before
            restarted = time.monotonic()
            recovery = server.start()
            recoveries.append(recovery)
            settled = _settle(clients, subscriber, restarted)
            all_back = time.monotonic() - restarted
            if settled is None:
                failures.append(
                    f"attempt {attempt}: not every client worked again within "
                    f"{SETTLE_TIMEOUT_S:.0f} s of the restart"
                )
            else:
                first_ops.append(settled)
            _raise_client_failure(clients)
            new = [p for p in check(server.db, ledger, subscriber.log) if p not in losses]
            losses += new
            log(
                f"attempt {attempt}/{attempts}: killed after {load_s:.2f} s of load "
                f"({killed_ops} ops acknowledged, {in_flight} requests in flight); "
                f"answering again {recovery:.2f} s after the restart, every client working "
                f"again after {all_back:.2f} s; lost {len(new)}"
            )
            for p in new[:5]:
                log(f"  LOST: {p}")
    finally:
        stop.set()
        for c in clients:
            c.join(HTTP_TIMEOUT_S + 1)
        if sys.exc_info()[0] is not None:
            subscriber_stop.set()
    # The server may still add events of its own once the load stops (an alert raised or
    # cleared by its scan): the end is where the server's sequence and the subscriber's
    # position agree, not the first sequence read.
    final_seq = _final_seq(server)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if (subscriber.pos or 0) >= final_seq:
            now_seq = _final_seq(server)
            if now_seq == final_seq:
                break
            final_seq = now_seq
        time.sleep(0.02)
    subscriber_stop.set()
    subscriber.join(WATCHDOG_S + 2)
    # Once caught up, the subscriber may still take an event the server adds before it
    # stops: the end to check is its own position then, if the server has it too (an
    # event the server does not have is still a problem, and so is never catching up).
    end_seq = _final_seq(server)
    pos = subscriber.pos or 0
    if final_seq <= pos <= end_seq:
        final_seq = pos
    elif pos > end_seq:
        final_seq = end_seq
    new = [
        p for p in check(server.db, ledger, subscriber.log, final_seq=final_seq) if p not in losses
    ]
    losses += new
    _raise_client_failure(clients)
    covered = snapshot_covered(subscriber.log)
    delivered = sum(1 for e in subscriber.log if e[0] == "event")
    details = {
        "kills": attempts,
        "ops_acknowledged": ledger.ops,
        "tickets_acknowledged": len(ledger.issued),
        "calls_acknowledged": len(ledger.calls),
        "requests_in_flight_at_kills": in_flight_total,
        "issues_answer_lost_then_retried": ledger.resolved_after_crash,
        "of_which_made_before_the_crash": ledger.replayed_after_crash,
        "unanswered_at_end": len(ledger.unknown_keys),
        "replays_checked": ledger.replays,
        "final_seq": final_seq,
        "events_delivered": delivered,
        "events_covered_by_snapshot": covered,
        "subscriber_connections": subscriber.connections,
        "recovery_max_s": round(max(recoveries), 3) if recoveries else None,
        "first_op_after_restart_p95_s": p95(first_ops),
        "errors_by_kind": dict(ledger.errors),
        "losses": losses,
        "failures": failures,
    }
    log(
        f"crash drill: {attempts} kills, {ledger.ops} ops acknowledged, "
        f"{ledger.resolved_after_crash} issues retried after a lost answer, "
        f"{delivered} events delivered + {covered} by snapshot (final seq {final_seq}); "
        f"lost {len(losses)}"
    )
    return DrillResult("crash", attempts, attempts, len(losses), p95(recoveries), details)


def _settle(clients: list[Client], subscriber: Subscriber, since: float) -> float | None:
    """Wait until every client has worked since `since`; seconds until the first did."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:
        times = [clients[0].ledger.last_ok.get(c.name, 0.0) for c in clients]
        if all(t > since for t in times) and subscriber.synced_at > since:
            return min(times) - since
        if any(not c.is_alive() for c in clients):
            return None
        time.sleep(0.01)
    return None


def _raise_client_failure(clients: list[Client]) -> None:
    for c in clients:
        if c.failure is not None:
            raise RuntimeError(f"load client {c.name} failed: {c.failure!r}") from c.failure


def _final_seq(server: ServerProcess) -> int:
    with httpx.Client(base_url=server.base + API, timeout=HTTP_TIMEOUT_S) as http:
        return int(http.get("/health").json()["seq"])


def _sent_key(stored: str | None) -> str | None:
    """The Idempotency-Key as the kiosk sent it: the server keeps it under the device's
    token id ("<token id>:<key>"), so another device's same key is another request."""
    return stored.partition(":")[2] if stored else stored
