"""`branchq bench central`: a network of branches shipping to a real head office on PostgreSQL.

One run, all on this machine:

1. a throwaway PostgreSQL cluster with fsync on (`tools.pgcluster`), migrated;
2. the centre as its own process (`branchq central serve`, plain HTTP on loopback);
3. `--branches` compact branch emitters in this process: each is one branch's event log
   (tickets issued, called, served, done and rated, with the real wire shapes, digests and
   schema versions) and a shipper speaking `wire.shipping` over one shared keep-alive
   client; plus `--real` real branch servers (`branchq server` processes with simulated
   traffic and their own shipper), enrolled like any other branch;
4. **live**: every branch commits at `--speed` × the standard day's event rate for
   `--seconds`; each emitter ships what it has as soon as the previous batch is acknowledged;
5. **backfill**: every emitter's link is cut while a whole day of events (`--day-events` per
   branch) accumulates, then the links come back at once; the run ends when every branch's
   watermark is its last seq. Live events keep coming meanwhile;
6. **the oracle**: for every branch, the (seq, digest) pairs in PostgreSQL are exactly those
   the branch committed: `lost` and `duplicated` are counted, not assumed.

Figures (milliseconds unless named otherwise):

- `commit_to_central_p50_ms` / `_p99_ms`: from an event's commit at the branch until the
  centre's acknowledgement of the batch that stored it reaches the branch (the centre has
  committed by then), live phase;
- `commit_to_console_p99_ms`: from the commit until the console's live stream tells a
  signed-in head-office browser that the branch changed (the first message for that branch
  after the batch was sent: batches of one branch are sequential), live phase;
- `backfill_24h_s`: from the links coming back until every branch is caught up;
- `live_during_backfill_p99_ms`: commit → acknowledgement for events a branch commits during
  the catch-up after its own backlog has shipped (a branch's log ships in order, so its
  newest events wait for its backlog by design; what must not happen is one branch's
  catch-up holding up another's live traffic);
- `ingest_events_per_s`: events stored per second during the backfill;
- `lost`, `duplicated`: from the oracle.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tools.bench.real_branches import TIMEOUT, RealBranch, centre_process, start_real_branches
from tools.pgcluster import Cluster
from wire.shipping import MAX_BATCH, event_digest, event_version

# The standard day: about 1,500 events a branch over 8 opening hours.
DAY_EVENTS = 1500
DAY_HOURS = 8.0
SERVICES = ("A", "B", "C", "L", "W")
CONSOLE_PASSWORD = "bench only, thrown away with its cluster"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, math.ceil(q / 100.0 * len(ordered)) - 1))
    return round(ordered[k], 1)


@dataclass
class Committed:
    seq: int
    at: str
    kind: str
    v: int
    body: dict[str, Any]
    sha256: str
    committed: float  # monotonic
    live: bool  # committed in a measured live window


@dataclass
class Emitter:
    """One compact branch: its event log in memory and a shipper on the shared client."""

    branch: str
    token: str
    log_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log: list[Committed] = field(default_factory=list)
    acked: int = 0
    link_up: bool = True
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    tickets: int = 0
    open_tickets: list[dict[str, Any]] = field(default_factory=list)
    caught_up_at: float | None = None  # monotonic, during a backfill
    backfill_end: int = 0  # the last seq of the day the link was cut for
    sent: list[tuple[int, int, float]] = field(default_factory=list)  # (first, last, sent at)

    # A catch-up batch's JSON, encoded before the links come back (see `pre_encode`).
    encoded: dict[tuple[int, int], str] = field(default_factory=dict)

    def batch(self, chunk: list[Committed]) -> dict[str, Any]:
        return {
            "branch": self.branch, "log_id": self.log_id,
            "backlog": len(self.log) - (chunk[0].seq - 1),
            "events": [
                {"seq": c.seq, "at": c.at, "kind": c.kind, "v": c.v, "body": c.body,
                 "sha256": c.sha256} for c in chunk
            ],
        }  # fmt: skip

    def pre_encode(self) -> None:
        """Encode the unshipped day's batches now. A real branch encodes its catch-up on its
        own machine; here 200 branches share the centre's two cores, and encoding 300,000
        events while the centre ingests them measured the bench, not the centre."""
        for first in range(self.acked, len(self.log), MAX_BATCH):
            chunk = self.log[first : first + MAX_BATCH]
            self.encoded[(chunk[0].seq, chunk[-1].seq)] = json.dumps(self.batch(chunk))

    def _ticket(self, at: datetime, service: str) -> dict[str, Any]:
        self.tickets += 1
        stamp = at.isoformat()
        return {
            "id": self.tickets, "number": f"{service}{self.tickets % 1000:03d}",
            "service": service, "business_day": at.date().isoformat(), "arrived_at": stamp,
            "issued_at": stamp, "priority": "regular", "vip_tier": 0, "source": "kiosk",
            "state": "waiting", "visit_id": self.tickets, "leg": 0, "previous_id": None,
            "called_at": None, "serving_at": None, "finished_at": None, "counter": None,
            "target_counter": None, "recall_count": 0, "note": "", "appointment_id": None,
            "appointment_slot": None, "staff_id": None, "rating": None, "bundle": None,
            "has_eform": False, "rating_comment": "", "held_until": None, "late_count": 0,
        }  # fmt: skip

    def commit_next(self, rng: random.Random, at: datetime, *, live: bool) -> None:
        """Commit the branch's next event: a new ticket, or the next step of an open one."""
        stamp = at.isoformat()
        if not self.open_tickets or (len(self.open_tickets) < 8 and rng.random() < 0.3):
            ticket = self._ticket(at, rng.choice(SERVICES))
            self.open_tickets.append(ticket)
            kind = "ticket.issued"
        else:
            ticket = self.open_tickets[0]
            state = ticket["state"]
            if state == "waiting":
                ticket.update(state="called", called_at=stamp, counter=1 + ticket["id"] % 6)
                kind = "ticket.called"
            elif state == "called":
                ticket.update(state="serving", serving_at=stamp)
                kind = "ticket.serving"
            elif state == "serving":
                ticket.update(state="done", finished_at=stamp)
                kind = "ticket.done"
            else:
                ticket.update(rating=rng.randint(1, 4))
                kind = "ticket.rated"
                self.open_tickets.pop(0)
        body: dict[str, Any] = {"ticket": dict(ticket)}
        seq = len(self.log) + 1
        v = event_version(kind)
        digest = event_digest(seq, stamp, kind, v, body)
        self.log.append(Committed(seq, stamp, kind, v, body, digest, time.monotonic(), live))
        self.wake.set()


@dataclass
class Figures:
    to_central: list[float] = field(default_factory=list)
    live_backfill: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    measuring: bool = False
    backfilling: bool = False

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1


def _auth(e: Emitter) -> dict[str, str]:
    return {"Authorization": f"Bearer {e.token}"}


async def _hello(client: httpx.AsyncClient, base: str, e: Emitter) -> None:
    said = {
        "branch": e.branch, "log_id": e.log_id, "first_seq": 1, "restored_from": None,
        "software_version": "bench", "backlog": 0,
        "profile": {"name": e.branch, "timezone": "Asia/Shanghai", "services": [
            {"code": s, "names": {"zh": s, "en": s}, "target_wait_s": 600} for s in SERVICES
        ], "counters": []},
    }  # fmt: skip
    r = await client.post(f"{base}/api/v1/ship/hello", json=said, headers=_auth(e))
    r.raise_for_status()
    e.acked = int(r.json()["watermark"])


async def _ship(client: httpx.AsyncClient, base: str, e: Emitter, fig: Figures) -> None:
    """The emitter's shipper: whatever is committed and not acknowledged, in order."""
    backoff = 0.1
    while True:
        await e.wake.wait()
        e.wake.clear()
        while e.link_up and e.acked < len(e.log):
            chunk = e.log[e.acked : e.acked + MAX_BATCH]
            sent = time.monotonic()
            e.sent.append((chunk[0].seq, chunk[-1].seq, sent))
            try:
                text = e.encoded.get((chunk[0].seq, chunk[-1].seq))
                if text is None and len(chunk) > 50:
                    # Off this loop, which also times every other branch's live events.
                    text = await asyncio.to_thread(json.dumps, e.batch(chunk))
                r = await client.post(
                    f"{base}/api/v1/ship/events",
                    content=text if text is not None else json.dumps(e.batch(chunk)),
                    headers={**_auth(e), "Content-Type": "application/json"},
                )
            except httpx.HTTPError as exc:
                fig.error(type(exc).__name__)
                await asyncio.sleep(backoff * (1 + random.random()))
                backoff = min(backoff * 2, 5.0)
                continue
            if r.status_code == 503:
                fig.error("busy_503")
                await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
                continue
            if r.status_code == 409 and r.json().get("code") == "gap":
                e.acked = int(r.json()["state"]["watermark"])
                fig.error("gap_409")
                continue
            if r.status_code != 200:
                fig.error(f"http_{r.status_code}")
                await asyncio.sleep(backoff)
                continue
            backoff = 0.1
            now = time.monotonic()
            e.encoded.pop((chunk[0].seq, chunk[-1].seq), None)
            watermark = int(r.json()["watermark"])
            for c in e.log[e.acked : watermark]:
                if c.live and fig.measuring:
                    fig.to_central.append((now - c.committed) * 1000.0)
                elif (
                    c.live
                    and fig.backfilling
                    and e.caught_up_at is not None
                    and c.committed >= e.caught_up_at
                ):
                    fig.live_backfill.append((now - c.committed) * 1000.0)
            e.acked = watermark
            if fig.backfilling and e.caught_up_at is None and e.acked >= e.backfill_end:
                e.caught_up_at = now


class ConsoleWatch:
    """What a signed-in head-office browser hears: the console's live stream
    (`/console/api/live`, server-sent events), one `branch` message per branch that changed."""

    def __init__(self, base: str, username: str, password: str, ca: Path) -> None:
        self.base = base
        self.ca = ca
        self.credentials = {"username": username, "password": password}
        self.seen: dict[str, list[float]] = {}
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="console-watch", daemon=True)
        self._http: httpx.Client | None = None

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError("the console's live stream did not say hello within 15 s")

    def _listen(self) -> None:
        timeout = httpx.Timeout(30.0, connect=3.0)  # a heartbeat comes every 15 s
        with httpx.Client(
            base_url=self.base,
            timeout=timeout,
            verify=ssl.create_default_context(cafile=str(self.ca)),
        ) as http:
            http.post("/console/api/sign-in", json=self.credentials).raise_for_status()
            with http.stream("GET", "/console/api/live") as stream:
                event = ""
                for line in self._lines(stream):
                    if self._stop.is_set():
                        return
                    if line.startswith("event: "):
                        event = line[7:]
                        if event == "hello":
                            self._ready.set()
                    elif line.startswith("data: ") and event == "branch":
                        self.seen.setdefault(line[6:], []).append(time.monotonic())

    @staticmethod
    def _lines(stream: httpx.Response) -> Iterator[str]:
        # Closing the client from `stop` ends the iteration with an error: that is the end.
        with contextlib.suppress(httpx.HTTPError, RuntimeError):
            yield from stream.iter_lines()

    def stop(self) -> None:
        self._stop.set()
        if self._http is not None:  # ends the open stream now, not at its next heartbeat
            with contextlib.suppress(Exception):
                self._http.close()
        self._thread.join(5)

    def latencies(self, emitters: list[Emitter], window: tuple[float, float]) -> list[float]:
        out = []
        for e in emitters:
            times = self.seen.get(e.branch, [])
            for first, last, sent in e.sent:
                if not window[0] <= sent <= window[1]:
                    continue
                k = next((t for t in times if t >= sent), None)
                if k is None:
                    continue
                for c in e.log[first - 1 : last]:
                    if c.live:
                        out.append((k - c.committed) * 1000.0)
        return out


def _real_backlog(branches: list[RealBranch]) -> int:
    """Events the real branches still hold unacknowledged, by their own status."""
    total = 0
    with httpx.Client(timeout=TIMEOUT) as http:
        for rb in branches:
            r = http.get(f"{rb.base}/head-office", headers=rb._auth("manager"))
            r.raise_for_status()
            total += int(r.json().get("backlog", 0))
    return total


def _real_latencies(
    dsn: str, branches: list[RealBranch], since: datetime, until: datetime
) -> list[float]:
    """Branch commit → centre commit for the real branches' events in a window (one machine,
    one clock: the event's time is its commit, `received_at` the centre's transaction)."""
    import psycopg

    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM received_at - at) * 1000 FROM events"
            " WHERE branch_id = ANY(%s) AND at >= %s AND at < %s",
            ([rb.branch for rb in branches], since, until),
        ).fetchall()
    return [float(r[0]) for r in rows]


def _real_oracle(dsn: str, branches: list[RealBranch]) -> dict[str, int]:
    """Every event in each real branch's database stored once at the centre, same digest."""
    import sqlite3

    import psycopg

    from queue_server.shipper import shipped_event

    lost = duplicated = 0
    with psycopg.connect(dsn) as conn:
        for rb in branches:
            db = sqlite3.connect(rb.folder / "branch.db")
            try:
                local = {
                    seq: shipped_event(seq, at, kind, v, body)["sha256"]
                    for seq, at, kind, v, body in db.execute(
                        "SELECT seq, at, kind, v, body FROM events"
                    )
                }
            finally:
                db.close()
            rows = conn.execute(
                "SELECT seq, encode(sha256, 'hex') FROM events WHERE branch_id = %s",
                (rb.branch,),
            ).fetchall()
            seen: dict[int, str] = {}
            for seq, digest in rows:
                duplicated += seq in seen
                seen[seq] = digest
            lost += sum(1 for seq, digest in local.items() if seen.get(seq) != digest)
    return {"real_lost": lost, "real_duplicated": duplicated}


async def _run_network(
    base: str,
    emitters: list[Emitter],
    real: list[RealBranch],
    args: argparse.Namespace,
    ca: Path,
    dsn: str,
) -> dict[str, Any]:
    fig = Figures()
    rng = random.Random(args.seed)
    watch = ConsoleWatch(base, "bench-hq", CONSOLE_PASSWORD, ca)
    watch.start()
    # A connection per branch, as each branch has its own: with a shared few, a caught-up
    # branch's live batch would wait here for a connection another's catch-up holds.
    limits = httpx.Limits(
        max_connections=len(emitters) + 8, max_keepalive_connections=len(emitters) + 8
    )
    async with (
        httpx.AsyncClient(
            timeout=TIMEOUT, limits=limits, verify=ssl.create_default_context(cafile=str(ca))
        ) as client,
        httpx.AsyncClient(timeout=TIMEOUT) as branch_http,
    ):
        await asyncio.gather(*(_hello(client, base, e) for e in emitters))
        shippers = [asyncio.create_task(_ship(client, base, e, fig)) for e in emitters]
        per_branch_s = DAY_EVENTS / (DAY_HOURS * 3600.0) * args.speed  # events/s a branch
        total_rate = per_branch_s * len(emitters)

        async def traffic(seconds: float, live: bool) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                await asyncio.sleep(rng.expovariate(total_rate))
                rng.choice(emitters).commit_next(rng, datetime.now(UTC), live=live)

        async def real_traffic(rb: RealBranch, seconds: float) -> None:
            # A real branch's steps at the same rate as an emitter's commits (a step is one
            # command and one or two events).
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                await asyncio.sleep(rng.expovariate(per_branch_s))
                try:
                    await rb.step(branch_http, rng)
                except httpx.HTTPError as exc:
                    fig.error(f"real_branch_{type(exc).__name__}")

        def real_load(seconds: float) -> asyncio.Future[Any]:
            return asyncio.gather(*(real_traffic(rb, seconds) for rb in real))

        # Live.
        await traffic(2.0, live=False)  # warm-up: connections, partitions, caches
        fig.measuring = True
        live_from, live_since = time.monotonic(), datetime.now(UTC)
        await asyncio.gather(traffic(args.seconds, live=True), real_load(args.seconds))
        live_to, live_until = time.monotonic(), datetime.now(UTC)
        fig.measuring = False
        await _drain(emitters, timeout=30)
        console = watch.latencies(emitters, (live_from, live_to))

        # Backfill: every link cut while a day accumulates, then back at once.
        for e in emitters:
            e.link_up = False
        day_start = datetime.now(UTC) - timedelta(hours=24)
        for e in emitters:
            for k in range(args.day_events):
                e.commit_next(rng, day_start + timedelta(seconds=k * 57.6), live=False)
            e.backfill_end = len(e.log)
            e.pre_encode()
        backlog = sum(len(e.log) - e.acked for e in emitters)
        fig.backfilling = True
        t0 = time.monotonic()
        for e in emitters:
            e.link_up = True
            e.wake.set()
        backfill_since = datetime.now(UTC)
        live = asyncio.create_task(traffic(3600.0, live=True))
        real_live = asyncio.ensure_future(real_load(3600.0))
        while not all(e.caught_up_at is not None for e in emitters):
            await asyncio.sleep(0.05)
        backfill_s = max(e.caught_up_at or t0 for e in emitters) - t0
        backfill_until = datetime.now(UTC)
        live.cancel()
        real_live.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await live
        with contextlib.suppress(asyncio.CancelledError):
            await real_live
        fig.backfilling = False
        await _drain(emitters, timeout=30)
        deadline = time.monotonic() + 60
        while real and _real_backlog(real) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        for task in shippers:
            task.cancel()
        await asyncio.gather(*shippers, return_exceptions=True)
    watch.stop()
    real_live_ms = _real_latencies(dsn, real, live_since, live_until)
    real_backfill_ms = _real_latencies(dsn, real, backfill_since, backfill_until)
    return {
        "real_branches": len(real),
        "real_commit_to_central_p50_ms": _pct(real_live_ms, 50),
        "real_commit_to_central_p99_ms": _pct(real_live_ms, 99),
        "real_live_events": len(real_live_ms),
        "real_during_backfill_p99_ms": _pct(real_backfill_ms, 99),
        "commit_to_central_p50_ms": _pct(fig.to_central, 50),
        "commit_to_central_p99_ms": _pct(fig.to_central, 99),
        "commit_to_console_p99_ms": _pct(console, 99),
        "live_events": len(fig.to_central),
        "backfill_24h_s": round(backfill_s, 2),
        "backfill_events": backlog,
        "ingest_events_per_s": round(backlog / backfill_s) if backfill_s else None,
        "live_during_backfill_p99_ms": _pct(fig.live_backfill, 99),
        "live_during_backfill_events": len(fig.live_backfill),
        "shipper_retries": dict(sorted(fig.errors.items())),
    }


async def _drain(emitters: list[Emitter], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while any(e.acked < len(e.log) for e in emitters) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def _oracle(dsn: str, emitters: list[Emitter]) -> dict[str, int]:
    """Every committed (seq, digest) stored once; nothing else stored."""
    import psycopg

    lost = duplicated = extra = 0
    with psycopg.connect(dsn) as conn:
        for e in emitters:
            rows = conn.execute(
                "SELECT seq, encode(sha256, 'hex') FROM events"
                " WHERE branch_id = %s AND log_id = %s",
                (e.branch, e.log_id),
            ).fetchall()
            stored: dict[int, int] = {}
            digests = {}
            for seq, digest in rows:
                stored[seq] = stored.get(seq, 0) + 1
                digests[seq] = digest
            duplicated += sum(n - 1 for n in stored.values())
            for c in e.log:
                if digests.get(c.seq) != c.sha256:
                    lost += 1
            extra += len(set(stored) - {c.seq for c in e.log})
    return {"lost": lost, "duplicated": duplicated, "unexpected": extra}


def run(args: argparse.Namespace) -> dict[str, Any]:
    import psycopg

    from central.accounts import add_account
    from central.branches import enrol
    from central.storage.migrations import migrate
    from tools.harness import self_signed_certificate, stop_process

    report: dict[str, Any] = {"branches": args.branches, "speed": args.speed}
    with Cluster(durable=True) as pg:
        dsn = pg.create_database("central")
        with psycopg.connect(dsn) as conn:
            migrate(conn)
            emitters = [
                Emitter(f"E{k:04d}", enrol(conn, f"E{k:04d}", f"模拟支行 {k}", f"R{k % 8}"))
                for k in range(args.branches)
            ]
            add_account(conn, "bench-hq", CONSOLE_PASSWORD, "head_office", None)
            conn.commit()
        cert, key = self_signed_certificate(pg.root)
        port = _free_port()
        base = f"https://127.0.0.1:{port}"
        centre = centre_process(dsn, port, pg.root / "centre.log", cert, key)
        real: list[RealBranch] = []
        try:
            start_real_branches(pg.root, dsn, base, cert, args.real, real)
            figures = asyncio.run(_run_network(base, emitters, real, args, cert, dsn))
        finally:
            for rb in real:
                if rb.proc is not None:
                    stop_process(rb.proc)
            stop_process(centre)
        report.update(figures)
        report.update(_oracle(dsn, emitters))
        report.update(_real_oracle(dsn, real))
        report["events_stored"] = sum(len(e.log) for e in emitters)
    report["targets"] = {
        "commit_to_central_p50_ms": 500, "commit_to_central_p99_ms": 2000,
        "commit_to_console_p99_ms": 3000, "backfill_24h_s": 60,
        "live_during_backfill_p99_ms": 5000, "ingest_events_per_s": 1000,
    }  # fmt: skip
    report["cpu_count"] = os.cpu_count()
    return report


def main(args: argparse.Namespace) -> int:
    report = run(args)
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    for key, value in report.items():
        print(f"{key}: {value}")
    clean = report["lost"] == report["duplicated"] == 0
    return 0 if clean and report["real_lost"] == report["real_duplicated"] == 0 else 1
