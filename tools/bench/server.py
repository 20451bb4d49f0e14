"""`branchq bench server`: mixed load on loopback with WebSocket subscribers.

One run:

1. creates a fresh branch (the demo businesses, `--counters` windows; tokens and tellers
   from `demo.provision`) in a temporary folder;
2. measures the disk's limit in that folder: single-row INSERT + COMMIT in a loop on a
   scratch database with the pragmas of `storage.connect()` (WAL, synchronous=FULL);
3. starts the real server as a subprocess (its own interpreter and GIL) on a free loopback
   port, and signs a teller in at every counter;
4. connects the WebSocket subscribers (display token) and waits for their snapshots;
5. runs the load for a warm-up, then for `--seconds` measured; waits until every subscriber
   has every event; stops the server and removes the folder.

Operations. Each is one HTTP request, one durable command and one event:

    issue   POST /api/v1/tickets {"service": S}  kiosk token, S uniform over the services
    call    POST /api/v1/counters/N/call-next    on an idle counter
    start   POST /api/v1/counters/N/start        the called customer arrives
    finish  POST /api/v1/counters/N/finish       service done; the counter is idle again

The mix is issue : call : finish = 40 : 30 : 30. A customer can only be finished once serving
has started, so every finish comes after a start, and each start is counted as an op of its
own. The requests therefore split issue 40 : call 30 : start 30 : finish 30, or about
31 / 23 / 23 / 23 %. Each of the `--clients` workers has its own keep-alive connection. For
each op it draws "issue" with probability 40/130; otherwise it takes the next free counter and
sends that counter's next step (call, start or finish). So one counter only ever has one
request in flight, and the API never answers counter_busy. A call that finds nobody to call
gets `{"ticket": null}`: a 2xx op with no event, counted as `empty_calls`. Waiting tickets are
issued before the warm-up so this is rare. Any non-2xx answer, timeout or connection error is
an error.

Latency is measured on the client from writing the request to reading the whole response. The
time a worker waits for a free counter is client-side queueing and is not included. An op is
measured when it was sent after the warm-up and acknowledged before the end of the window.

Delivery latency of an op is the time from its acknowledgement until the last subscriber has
its event: max over subscribers of (arrival − ack). The event is matched to the op by
(event kind, ticket id). An event can reach a subscriber before the HTTP response reaches the
client. Such a negative figure is clamped to 0 and counted (`delivered_before_ack`).

The branch has the demo businesses and `--counters` windows (default 12) that each serve all
of them. A counter has one request in flight at most, and the mix lets issues run only a
little ahead of the counters, so about 1.5 × counters requests are in flight (capped by
`--clients`). The throughput is that number divided by the mean latency (`mean_in_flight`,
by Little's law). With the demo's 6 counters only about 9 would be in flight, and 2,000 ops/s
would need a mean latency under 4.5 ms: that measures the layout, not the server.

The subscribers and the load generator share this process and its event loop. Moving the 50
subscribers to a process of their own changed nothing measurable, and this process uses about
a third of a core. `server_cpu_pct`, `bench_cpu_pct` and `machine_cpu_pct` (100 = one core
busy for the whole window) show which side is saturated. What the whole machine uses beyond
the two processes is the kernel (loopback, fsync) and any other work on the machine. The
subscribers do not ask for permessage-deflate, because the branch's Qt displays cannot.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import sqlite3
import sys
import tempfile
import time
from collections import Counter as Tally
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import websockets

from queue_server.cli import Refused
from queue_server.config import BranchConfig, init_db, load_config
from queue_server.domain import Counter, Skill
from queue_server.loopwatch import lag_between
from tools.bench.centre_down import link_status, side_by_side
from tools.demo import DEMO_PIN, provision
from tools.harness import (
    HOST,
    dead_head_office,
    free_port,
    start_server,
    stop_process,
    wait_healthy,
)

TARGET_OPS_PER_S = 2000.0
TARGET_P99_MS = 25.0
TARGET_DELIVERY_P99_MS = 20.0
ISSUE_WEIGHT, CALL_WEIGHT, FINISH_WEIGHT = 40, 30, 30
START_WEIGHT = FINISH_WEIGHT  # one start per finish
P_ISSUE = ISSUE_WEIGHT / (ISSUE_WEIGHT + CALL_WEIGHT + START_WEIGHT + FINISH_WEIGHT)
WARMUP_S = 1.0
PRELOAD_TICKETS = 60  # waiting before the warm-up, so calls find customers
TIMEOUT_S = 10.0  # any one HTTP request, WebSocket open or close
SUBSCRIBE_TIMEOUT_S = 30.0  # every subscriber holding its snapshot
DRAIN_TIMEOUT_S = 15.0  # subscribers catching up after the load stops
IDLE_S = 3.0  # reconnect rather than reuse a connection idle this long (uvicorn closes at 5 s)
API = "/api/v1"
EVENT_KIND = {
    "issue": "ticket.issued",
    "call": "ticket.called",
    "start": "ticket.serving",
    "finish": "ticket.done",
}
KINDS = ("issue", "call", "start", "finish")
_FIRST_ID = re.compile(rb'"id":(\d+)')  # a ticket's first field; {"ticket": null} has none


def main(args: argparse.Namespace) -> int:
    if args.seconds <= 0 or args.subscribers < 0 or args.clients < 1:
        raise Refused("need --seconds > 0, --subscribers >= 0 and --clients >= 1")
    if args.counters < 1:
        raise Refused("need --counters >= 1")

    def once(head_office_down: str | None = None) -> dict[str, Any]:
        return run(
            seconds=args.seconds,
            subscribers=args.subscribers,
            clients=args.clients,
            counters=args.counters,
            watch_callbacks=args.watch_callbacks,
            head_office_down=head_office_down,
        )

    down_mode = getattr(args, "head_office_down", None)
    if down_mode is not None:
        without, down = once(), once(down_mode)
        if args.json:
            print(json.dumps({"without": without, "centre_down": down}, sort_keys=True))
        else:
            print(side_by_side("BranchQ server benchmark", without, down, CENTRE_DOWN_ROWS))
        return 0
    result = once()
    if args.json:
        print(json.dumps(result, sort_keys=True))
    else:
        print(format_report(result))
    return 0


CENTRE_DOWN_ROWS = (
    ("throughput, ops/s", "ops_per_s"),
    ("latency p50, ms", "p50_ms"),
    ("latency p99, ms", "p99_ms"),
    ("delivery p99, ms", "delivery_p99_ms"),
    ("loop lag p99, ms", "loop_lag_p99_ms"),
    ("server CPU, % of a core", "server_cpu_pct"),
    ("errors", "errors"),
)


def bench_config(counters: int) -> BranchConfig:
    """The demo branch's businesses with `counters` windows that each serve all of them."""
    demo = load_config()
    codes = [s.code for s in demo.services]
    windows = tuple(
        Counter(number=n, name=f"{n}号窗口", skills=tuple(Skill(c) for c in codes))
        for n in range(1, counters + 1)
    )
    return replace(demo, counters=windows)


def run(
    *,
    seconds: float,
    subscribers: int,
    clients: int,
    counters: int = 6,
    seed: int = 1,
    watch_callbacks: bool = False,
    head_office_down: str | None = None,
) -> dict[str, Any]:
    """One benchmark run in a fresh temporary folder; returns the figures.

    `head_office_down` ("blackhole" or "refused"): the server ships to a head office that is
    down the whole run; the link's state is in the figures (`head_office`)."""
    with (
        tempfile.TemporaryDirectory(prefix="branchq-bench-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        folder = Path(tmp)
        shipping: list[str] = []
        if head_office_down is not None:
            shipping = stack.enter_context(dead_head_office(folder, head_office_down))
        db = folder / "bench.db"
        config = bench_config(counters)
        init_db(db, config)
        tokens = provision(db, config)
        limit_s = min(2.0, max(0.5, seconds / 5))
        limit = commit_limit(folder / "limit.db", limit_s)
        port = free_port()
        log_path = folder / "server.log"
        with log_path.open("wb") as log:
            extra = ("--watch-callbacks",) if watch_callbacks else ()
            server = start_server(db, port, log, *extra, *shipping)
            wait_healthy(f"http://{HOST}:{port}", server)
            try:
                result = asyncio.run(
                    _drive(
                        port,
                        server.pid,
                        tokens,
                        services=[s.code for s in config.services],
                        counters=[c.number for c in config.counters],
                        seconds=seconds,
                        n_subscribers=subscribers,
                        clients=clients,
                        seed=seed,
                    )
                )
            except BaseException:
                stop_process(server)
                tail = log_path.read_text(errors="replace")[-2000:]
                if tail:
                    print(f"server log (end):\n{tail}", file=sys.stderr)
                raise
            if head_office_down is not None:
                link = link_status(f"http://{HOST}:{port}", tokens["manager"])
                result["head_office"] = {"mode": head_office_down, **link}
            stop_process(server)
            result["server_exit_code"] = server.returncode
    result["limit_commits_per_s"] = round(limit, 1)
    result["limit_seconds"] = round(limit_s, 2)
    result["ratio_to_limit"] = round(result["ops_per_s"] / limit, 3) if limit else None
    result["targets"] = {
        "ops_per_s": TARGET_OPS_PER_S,
        "p99_ms": TARGET_P99_MS,
        "delivery_p99_ms": TARGET_DELIVERY_P99_MS,
    }
    met = {
        "ops_per_s": result["ops_per_s"] >= TARGET_OPS_PER_S,
        "p99_ms": result["p99_ms"] is not None and result["p99_ms"] <= TARGET_P99_MS,
        "delivery_p99_ms": result["delivery_p99_ms"] is not None
        and result["delivery_p99_ms"] <= TARGET_DELIVERY_P99_MS,
    }
    result["targets_met"] = met
    result["all_targets_met"] = all(met.values())
    return result


# --------------------------------------------------------------- the disk's limit
def commit_limit(path: Path, seconds: float) -> float:
    """Durable single-row commits per second, with the server's pragmas, on this disk."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, at REAL, body TEXT)")
        body = "x" * 200
        n = 0
        start = time.perf_counter()
        end = start + seconds
        now = start
        while now < end:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO t (at, body) VALUES (?, ?)", (now, body))
            conn.execute("COMMIT")
            n += 1
            now = time.perf_counter()
        return n / (now - start)
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


# ------------------------------------------------------------------ the server
def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc); None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def machine_cpu_seconds() -> float | None:
    """CPU time used by the whole machine, all cores (Linux /proc/stat); None elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        busy = sum(int(v) for i, v in enumerate(fields[:8]) if i not in (3, 4))  # not idle, iowait
        return busy / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# ------------------------------------------------------------- the HTTP client
class HttpError(Exception):
    pass


class Http:
    """A minimal HTTP/1.1 keep-alive client: one connection, one request at a time."""

    def __init__(self, host: str, port: int, timeout: float = TIMEOUT_S) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._used = 0.0

    async def request(
        self, method: str, path: str, token: str | None = None, body: Any = None
    ) -> tuple[int, bytes]:
        try:
            async with asyncio.timeout(self.timeout):
                return await self._request(method, path, token, body)
        except (OSError, EOFError, ValueError, asyncio.LimitOverrunError) as exc:
            await self.close()  # the connection's state is unknown: start afresh next time
            raise HttpError(type(exc).__name__) from exc

    async def _request(
        self, method: str, path: str, token: str | None, body: Any
    ) -> tuple[int, bytes]:
        if time.perf_counter() - self._used > IDLE_S:
            await self.close()  # the server may be closing it right now
        if self._writer is None or self._reader is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        payload = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        head += f"Content-Length: {len(payload)}\r\n\r\n"
        writer.write(head.encode("latin-1") + payload)
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length: int | None = None
        chunked = close = False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name == "connection":
                close = "close" in value.lower()
        if chunked:
            data = await self._read_chunked(reader)
        elif length is not None:
            data = await reader.readexactly(length)
        else:
            data = await reader.read()
            close = True
        self._used = time.perf_counter()
        if close:
            await self.close()
        return status, data

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers from uvicorn
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def json(self, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
        """A setup request that must succeed."""
        status, data = await self.request(method, path, token, body)
        if not 200 <= status < 300:
            raise RuntimeError(f"{method} {path}: HTTP {status} {data[:200]!r}")
        return json.loads(data)


# ---------------------------------------------------------------------- the load
@dataclass(slots=True)
class Op:
    kind: str
    sent: float
    acked: float
    status: int  # 0: no answer (timeout, connection error)
    ticket: int | None  # the ticket of the op's event; None: no event
    error: str = ""


class Load:
    """Workers sharing the counters: each counter has at most one request in flight."""

    def __init__(
        self, port: int, tokens: dict[str, str], services: list[str], counters: list[int]
    ) -> None:
        self.port = port
        self.tokens = tokens
        self.services = services
        self.ops: list[Op] = []
        self.state = dict.fromkeys(counters, "idle")
        self.free: asyncio.Queue[int | None] = asyncio.Queue()
        for n in counters:
            self.free.put_nowait(n)
        self.stopping = False

    async def worker(self, rng: random.Random) -> None:
        http = Http(HOST, self.port)
        try:
            while not self.stopping:
                if rng.random() < P_ISSUE:
                    await self.issue(http, rng.choice(self.services))
                    continue
                number = await self.free.get()
                if number is None:
                    return
                try:
                    await self.step(http, number)
                finally:
                    self.free.put_nowait(number)
        finally:
            await http.close()

    def stop(self, workers: int) -> None:
        self.stopping = True
        for _ in range(workers):
            self.free.put_nowait(None)  # wakes workers waiting for a counter

    async def issue(self, http: Http, service: str) -> Op:
        return await self._send(http, "issue", f"{API}/tickets", self.tokens["kiosk"], service)

    async def step(self, http: Http, number: int) -> Op:
        state = self.state[number]
        kind = {"idle": "call", "called": "start", "serving": "finish"}[state]
        action = {"call": "call-next", "start": "start", "finish": "finish"}[kind]
        path = f"{API}/counters/{number}/{action}"
        op = await self._send(http, kind, path, self.tokens[f"counter:{number}"], None)
        if 200 <= op.status < 300:
            if kind == "call":
                self.state[number] = "called" if op.ticket is not None else "idle"
            else:
                self.state[number] = "serving" if kind == "start" else "idle"
        return op

    async def _send(self, http: Http, kind: str, path: str, token: str, service: str | None) -> Op:
        body = None if service is None else {"service": service}
        sent = time.perf_counter()
        try:
            status, data = await http.request("POST", path, token, body)
        except HttpError as exc:
            op = Op(kind, sent, time.perf_counter(), 0, None, str(exc))
        else:
            acked = time.perf_counter()
            if 200 <= status < 300:
                m = _FIRST_ID.search(data)
                op = Op(kind, sent, acked, status, int(m.group(1)) if m else None)
            else:
                op = Op(kind, sent, acked, status, None, _error_code(data))
        self.ops.append(op)
        return op


def _error_code(data: bytes) -> str:
    try:
        return str(json.loads(data)["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return "unreadable"


# --------------------------------------------------------------- the subscribers
class Subscribers:
    """WebSocket clients of the event stream, recording when each event reaches each one."""

    def __init__(self, url: str, n: int) -> None:
        self.url = url
        self.n = n
        self.start_seq: list[int | None] = [None] * n
        self.last_seq = [0] * n
        self.received = [0] * n
        self.resyncs = [0] * n
        self.out_of_order = 0
        self.count: dict[int, int] = {}  # seq → subscribers that have it
        self.first_at: dict[int, float] = {}
        self.last_at: dict[int, float] = {}
        self.seq_of: dict[tuple[str, int], int] = {}  # (kind, ticket id) → seq
        self._sockets: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = 0

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._run(i)) for i in range(self.n)]
        deadline = time.perf_counter() + SUBSCRIBE_TIMEOUT_S
        while self._ready < self.n:
            for task in self._tasks:
                if task.done():
                    task.result()  # raises why it ended
                    raise RuntimeError("a subscriber closed before its snapshot")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"only {self._ready} of {self.n} subscribers got a snapshot")
            await asyncio.sleep(0.01)

    async def _run(self, i: int) -> None:
        async with websockets.connect(
            self.url,
            open_timeout=TIMEOUT_S,
            close_timeout=2,
            ping_interval=None,  # the server pings; the client answers
            max_size=None,
            compression=None,
        ) as ws:
            self._sockets.append(ws)
            async for raw in ws:
                self._on_message(i, raw, time.perf_counter())

    def _on_message(self, i: int, raw: str | bytes, at: float) -> None:
        msg = json.loads(raw)
        kind = msg.get("type")
        if kind == "events":
            last = self.last_seq[i]
            count, first_at, last_at = self.count, self.first_at, self.last_at
            for e in msg["events"]:
                seq = e["seq"]
                if seq <= last:
                    self.out_of_order += 1
                    continue
                last = seq
                self.received[i] += 1
                c = count.get(seq)
                if c is None:
                    count[seq] = 1
                    first_at[seq] = last_at[seq] = at
                    ticket = e.get("ticket")
                    if ticket is not None:
                        self.seq_of[(e["kind"], ticket["id"])] = seq
                else:
                    count[seq] = c + 1
                    if at > last_at[seq]:
                        last_at[seq] = at
            self.last_seq[i] = last
        elif kind == "snapshot":
            if self.start_seq[i] is None:
                self.start_seq[i] = msg["seq"]
                self._ready += 1
            else:
                self.resyncs[i] += 1  # the server gave up on sending this one its backlog
            self.last_seq[i] = max(self.last_seq[i], msg["seq"])

    async def wait_for(self, seq: int, timeout: float) -> bool:
        """Wait until every subscriber has seen `seq`; False on timeout."""
        deadline = time.perf_counter() + timeout
        while min(self.last_seq, default=seq) < seq:
            if time.perf_counter() > deadline:
                return False
            await asyncio.sleep(0.005)
        return True

    def missed(self, final_seq: int) -> int:
        """Events after each subscriber's snapshot, up to final_seq, that it did not receive."""
        return sum(
            (final_seq - (start or 0)) - got
            for start, got in zip(self.start_seq, self.received, strict=True)
        )

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                asyncio.gather(*(ws.close() for ws in self._sockets), return_exceptions=True),
                TIMEOUT_S,
            )
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


# ------------------------------------------------------------------- the run
async def _drive(
    port: int,
    pid: int,
    tokens: dict[str, str],
    *,
    services: list[str],
    counters: list[int],
    seconds: float,
    n_subscribers: int,
    clients: int,
    seed: int,
) -> dict[str, Any]:
    setup = Http(HOST, port)
    for n in counters:
        body = {"staff_id": f"t{n:02d}", "pin": DEMO_PIN}
        await setup.json("POST", f"{API}/counters/{n}/sign-in", tokens[f"counter:{n}"], body)
    subs = Subscribers(f"ws://{HOST}:{port}{API}/events?token={tokens['display']}", n_subscribers)
    load = Load(port, tokens, services, counters)
    try:
        await subs.start()
        rng = random.Random(seed)
        for _ in range(PRELOAD_TICKETS):
            op = await load.issue(setup, rng.choice(services))
            if op.status != 201:
                raise RuntimeError(f"could not issue a ticket: {op.status} {op.error}")
        workers = [
            asyncio.create_task(load.worker(random.Random(seed * 1000 + i))) for i in range(clients)
        ]
        await asyncio.sleep(WARMUP_S)
        health0 = await setup.json("GET", f"{API}/health")
        t0, cpu0, scpu0 = time.perf_counter(), time.process_time(), cpu_seconds(pid)
        mcpu0 = machine_cpu_seconds()
        await asyncio.sleep(seconds)
        t1, cpu1, scpu1 = time.perf_counter(), time.process_time(), cpu_seconds(pid)
        mcpu1 = machine_cpu_seconds()
        health1 = await setup.json("GET", f"{API}/health")
        load.stop(clients)
        await asyncio.wait_for(asyncio.gather(*workers), 2 * TIMEOUT_S)
        health = await setup.json("GET", f"{API}/health")
        final_seq = int(health["seq"])
        drained = await subs.wait_for(final_seq, DRAIN_TIMEOUT_S)
    finally:
        await subs.close()
        await setup.close()
    window = t1 - t0
    result = _figures(load.ops, subs, t0, t1, final_seq)
    probes, lag_p99, lag_max = lag_between(
        health0["loop_lag"]["counts"], health1["loop_lag"]["counts"]
    )
    if health1.get("callbacks"):  # --watch-callbacks: every callback's own time
        before, after = health0["callbacks"], health1["callbacks"]
        _, cb_p99, cb_max = lag_between(before["counts"], after["counts"])
        _, cpu_p99, cpu_max = lag_between(before["cpu_counts"], after["cpu_counts"])
        inside = [c for c in after["slowest"] if before["now_s"] < c["second"] <= after["now_s"]]
        result.update(
            callback_p99_ms=cb_p99,
            callback_max_ms=cb_max,
            callback_cpu_p99_ms=cpu_p99,
            callback_cpu_max_ms=cpu_max,
            slowest_callbacks=sorted(inside, key=lambda c: -c["ms"])[:8],
            gc_max_ms=after["gc_max_ms"],
        )
    result.update(
        loop_probes=probes,
        loop_lag_p99_ms=lag_p99,
        loop_lag_max_ms=lag_max,
        seconds=round(window, 3),
        warmup_s=WARMUP_S,
        clients=clients,
        subscribers=n_subscribers,
        counters=len(counters),
        drained=drained,
        bench_cpu_pct=round(100 * (cpu1 - cpu0) / window, 1),
        server_cpu_pct=(
            round(100 * (scpu1 - scpu0) / window, 1)
            if scpu0 is not None and scpu1 is not None
            else None
        ),
        machine_cpu_pct=(
            round(100 * (mcpu1 - mcpu0) / window, 1)
            if mcpu0 is not None and mcpu1 is not None
            else None
        ),
        cores=os.cpu_count(),
    )
    return result


def _figures(
    ops: list[Op], subs: Subscribers, t0: float, t1: float, final_seq: int
) -> dict[str, Any]:
    window = t1 - t0
    measured = [op for op in ops if op.sent >= t0 and op.acked <= t1]
    ok = [op for op in measured if 200 <= op.status < 300]
    errors = Tally(
        f"{op.kind}:{op.status}:{op.error}" for op in measured if not 200 <= op.status < 300
    )
    by_kind: dict[str, Any] = {}
    for kind in KINDS:
        lat = sorted(1000 * (op.acked - op.sent) for op in measured if op.kind == kind)
        by_kind[kind] = {
            "ops": len(lat),
            "share": round(len(lat) / len(measured), 3) if measured else 0.0,
            "p50_ms": _pct(lat, 50),
            "p99_ms": _pct(lat, 99),
        }
    latencies = sorted(1000 * (op.acked - op.sent) for op in measured)
    in_flight = sum(latencies) / 1000 / window if window > 0 else 0.0  # Little's law

    delivery: list[float] = []
    spread: list[float] = []
    before_ack = not_delivered = 0
    for op in ok:
        if op.ticket is None:
            continue
        seq = subs.seq_of.get((EVENT_KIND[op.kind], op.ticket))
        if seq is None or subs.count.get(seq, 0) < subs.n:
            not_delivered += 1
            continue
        d = subs.last_at[seq] - op.acked
        if d < 0:
            before_ack += 1
        delivery.append(1000 * max(0.0, d))
        spread.append(1000 * (subs.last_at[seq] - subs.first_at[seq]))
    delivery.sort()
    spread.sort()
    return {
        "ops": len(measured),
        "ops_per_s": round(len(measured) / window, 1) if window > 0 else 0.0,
        "errors": len(measured) - len(ok),
        "errors_by_kind": dict(errors),
        "p50_ms": _pct(latencies, 50),
        "p99_ms": _pct(latencies, 99),
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "mean_in_flight": round(in_flight, 1),
        "by_kind": by_kind,
        "empty_calls": sum(1 for op in ok if op.kind == "call" and op.ticket is None),
        "events_delivered": len(delivery) if subs.n else 0,
        "events_not_delivered": not_delivered if subs.n else 0,
        "deliveries": sum(subs.received),
        "delivery_p50_ms": _pct(delivery, 50),
        "delivery_p99_ms": _pct(delivery, 99),
        "delivery_max_ms": round(delivery[-1], 2) if delivery else None,
        "delivered_before_ack": before_ack,
        "fanout_p99_ms": _pct(spread, 99),
        "events_missed": subs.missed(final_seq),
        "resyncs": sum(subs.resyncs),
        "out_of_order": subs.out_of_order,
        "final_seq": final_seq,
        # Issue outpaces call 40 : 30, so the queue grows through the run (so does the
        # server's work per op where it scans the queue).
        "waiting_at_end": sum(1 for op in ops if op.kind == "issue" and 200 <= op.status < 300)
        - sum(1 for op in ops if op.kind == "call" and op.ticket is not None),
    }


def _pct(sorted_values: list[float], p: float) -> float | None:
    """Nearest-rank percentile of already sorted values, rounded to 0.01."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return round(sorted_values[rank - 1], 2)


# ------------------------------------------------------------------ the report
def format_report(r: dict[str, Any]) -> str:
    def ms(v: float | None) -> str:
        return "—" if v is None else f"{v:.2f} ms"

    def verdict(key: str) -> str:
        if r[key] is None:
            return "not measured"
        return "met" if r["targets_met"][key] else "NOT met"

    lines = [
        f"BranchQ server benchmark: {r['seconds']:.1f} s measured after {r['warmup_s']:.0f} s "
        f"warm-up, {r['clients']} HTTP clients, {r['subscribers']} WebSocket subscribers, "
        f"{r['counters']} counters, loopback",
        "  op = one request, one durable command, one event. Mix issue : call : finish = "
        f"{ISSUE_WEIGHT} : {CALL_WEIGHT} : {FINISH_WEIGHT}; each finish needs a start, counted as "
        "an op",
        "",
        f"  {'op':<8}{'count':>9}{'share':>8}{'p50':>11}{'p99':>11}",
    ]
    for kind in KINDS:
        k = r["by_kind"][kind]
        lines.append(
            f"  {kind:<8}{k['ops']:>9}{100 * k['share']:>7.0f}%{ms(k['p50_ms']):>11}"
            f"{ms(k['p99_ms']):>11}"
        )
    lines += [
        f"  {'all':<8}{r['ops']:>9}{'100%':>8}{ms(r['p50_ms']):>11}{ms(r['p99_ms']):>11}"
        f"   max {ms(r['max_ms'])}",
        "",
        f"  throughput        {r['ops_per_s']:>10.1f} ops/s   target ≥ {TARGET_OPS_PER_S:.0f}"
        f"   {verdict('ops_per_s')}",
        f"  latency p99       {ms(r['p99_ms']):>14}   target ≤ {TARGET_P99_MS:.0f} ms"
        f"   {verdict('p99_ms')}",
        f"  delivery p99      {ms(r['delivery_p99_ms']):>14}   target ≤ "
        f"{TARGET_DELIVERY_P99_MS:.0f} ms   {verdict('delivery_p99_ms')}",
        f"  delivery p50      {ms(r['delivery_p50_ms']):>14}   max {ms(r['delivery_max_ms'])}"
        " (ack → event at every subscriber)",
        f"  fan-out p99       {ms(r['fanout_p99_ms']):>14}   (first → last subscriber)",
        f"  loop lag p99      {ms(r['loop_lag_p99_ms']):>14}   max {ms(r['loop_lag_max_ms'])} "
        f"(how late the server's event loop woke a probe due every 10 ms; "
        f"{r['loop_probes']} probes)",
        *_callback_lines(r),
        f"  events            {r['events_delivered']} ops' events at every subscriber, "
        f"{r['deliveries']} deliveries, {r['events_missed']} missed, {r['resyncs']} resyncs, "
        f"{r['delivered_before_ack']} before the ack (counted as 0 ms)",
        f"  errors            {r['errors']}"
        + (f"  {r['errors_by_kind']}" if r["errors"] else "")
        + f"; {r['empty_calls']} calls found nobody waiting; {r['waiting_at_end']} waiting "
        "at the end",
        "",
        f"  disk limit        {r['limit_commits_per_s']:>10.1f} durable single-row commits/s "
        "(WAL, synchronous=FULL, same folder)",
        f"  ops / limit       {r['ratio_to_limit']:>10.2f}×",
        f"  CPU               server {_pct_text(r['server_cpu_pct'])}, benchmark "
        f"{_pct_text(r['bench_cpu_pct'])}, whole machine {_pct_text(r['machine_cpu_pct'])} "
        f"(100 % = one core; {r['cores']} cores)",
        "                    the rest is the kernel (loopback, fsync) and any other work on "
        "the machine",
        "",
        "  all targets met" if r["all_targets_met"] else "  targets NOT all met",
    ]
    return "\n".join(lines)


def _callback_lines(r: dict[str, Any]) -> list[str]:
    if "callback_max_ms" not in r:
        return []
    slowest = ", ".join(f"{c['callback']} {c['ms']:.1f} ms" for c in r["slowest_callbacks"][:4])
    return [
        f"  one callback      p99 {r['callback_p99_ms']:.1f} ms, max {r['callback_max_ms']:.1f} ms"
        f"; its own CPU p99 {r['callback_cpu_p99_ms']:.1f} ms, max "
        f"{r['callback_cpu_max_ms']:.1f} ms (asyncio loop, every callback timed)",
        f"                    slowest in the window: {slowest}",
        f"                    longest garbage collection since start, by generation: "
        f"{' / '.join(f'{ms:.1f}' for ms in r['gc_max_ms'])} ms",
    ]


def _pct_text(v: float | None) -> str:
    return "—" if v is None else f"{v:.0f} %"
