"""The configuration rollout drill: a version from the head office reaches a busy network.

One run, all on this machine:

1. a throwaway PostgreSQL (`tools.pgcluster.Cluster`), migrated, `branches` branches
   enrolled, the centre's signing key made and version 1 of every branch's configuration
   published (the branch's own catalogue, unchanged); the centre as its own process
   (`branchq central serve --signing-key`); the real `branchq server`s, each with the
   centre's public key and `--head-office-poll-s` = `poll_s` (10 s in the long run: a
   version published reaches a connected branch at its next poll, so within `poll_s` plus
   one poll's round trip and the apply — the 60 s target by design, with room for a slow
   machine), running strict priority (configured: the default lookahead simulates at every
   call, and calling is not what this drill measures), a teller signed in at each of their
   `COUNTERS` windows (one in the short run);
2. busy-hall traffic through every branch's HTTP API (tickets, calls, starts, finishes);
   mid-traffic, people queue for a business the next version drops, one branch is stopped,
   and version 2 is published to every branch in one transaction (a target and a guidance
   text changed, a business added, one dropped) — with one branch's copy rewritten in the
   database after signing (a tampered document). The time from the publication to each
   branch's applied report at the centre is measured; traffic carries on;
3. the stopped branch gets version 3 while it is away, and is started again while the others
   take version 2: it must apply 3 (the newest; never 2);
4. the oracle: every ticket a kiosk got a 201 for is at its branch in the state the driver
   last saw acknowledged; every window still has its teller; the first call after the apply
   at each branch was answered, and no slower than the calls before the publication (the
   network's p99 then, or the branch's own slowest) plus `FIRST_CALL_SLACK_S`; no 5xx;
   every connected branch applied 2, the share within 60 s is at least 99 %; the tampered
   branch refused it with `bad_signature`, raised the head_office_refused alert, still has 1
   in force, and the centre's `deployed` shows the refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import sqlite3
import statistics
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tools.bench.real_branches import TIMEOUT, RealBranch, centre_process, start_real_branches
from tools.drill import DrillResult, Log, poll_until

BRANCHES = 50  # the long run's network
SHORT_BRANCHES = 4
COUNTERS = 3  # windows at each branch, a teller signed in at each
SHORT_COUNTERS = 1
CALLING_POLICY = "strict"
POLL_S = 10.0  # the long run's downlink poll (CI's short run: 1 s, to stay short)
SHORT_POLL_S = 1.0
TARGET_S = 60.0  # a published version applied everywhere connected within this
TARGET_SHARE = 0.99
STEPS_PER_S = 1.0  # a branch's commands a second: a busy hour at about 25 times its pace
SHORT_STEPS_PER_S = 8.0
DROPPED = "W"  # the business version 2 drops while people wait for it
WAITING_IN_DROPPED = 2  # tickets for it at each branch just before the publication
ADDED = {"code": "D", "names": {"zh": "外汇兑换", "en": "Foreign exchange"},
         "target_wait_min": 15, "mean_min": 6}  # fmt: skip
# What the first call after an apply may take beyond the slowest before it: every branch
# applies in the same second on a machine shared by all of them (and the stopped branch's
# shutdown), so one call's latency there is noise of that moment, not the apply's. The same
# quarter second a teller may wait for the lookahead's advice (call_advice.ADVICE_TIMEOUT_S).
FIRST_CALL_SLACK_S = 0.25
CALLS_BEFORE = 3  # customers called at each branch before the publication, at least
APPLY_TIMEOUT_S = 120.0  # waiting longer than this for a report: that branch never applied
POLL_DB_S = 0.2  # the centre's reports are rows in another process's database: polled


# ------------------------------------------------------------------ the versions
def own_catalogue() -> dict[str, Any]:
    """The branch's own businesses, bundles and booking rules as the config document carries
    them: the demo branch's TOML, read as JSON (the drill's branches run `bench_config`)."""
    from queue_server.config import DEMO_CONFIG

    with DEMO_CONFIG.open("rb") as f:
        data = tomllib.load(f)
    return {k: data[k] for k in ("services", "bundles", "appointments")}


def changed_catalogue() -> dict[str, Any]:
    """Version 2: business A's target 10 → 8 min and its first step reworded, a business
    added, and `DROPPED` dropped (and its booking capacity with it)."""
    catalogue = own_catalogue()
    services = [dict(s) for s in catalogue["services"] if s["code"] != DROPPED]
    first = services[0]
    first["target_wait_min"] = 8
    guidance = {lang: dict(g) for lang, g in first["guidance"].items()}
    guidance["zh"]["steps"] = ["在自助机取号", *guidance["zh"]["steps"][1:]]
    guidance["en"]["steps"] = ["Take a ticket at the kiosk", *guidance["en"]["steps"][1:]]
    first["guidance"] = guidance
    appointments = dict(catalogue["appointments"])
    appointments["capacity"] = {
        k: v for k, v in appointments.get("capacity", {}).items() if k != DROPPED
    }
    return {**catalogue, "services": [*services, dict(ADDED)], "appointments": appointments}


def config_body(catalogue: dict[str, Any], template_version: int) -> dict[str, Any]:
    """A `wire.downlink.ConfigBody` around a catalogue."""
    return {"catalogue": catalogue, "branch_editable": ["counters.skills", "notice"],
            "overridden": {}, "template": {"id": "drill", "version": template_version}}  # fmt: skip


# ------------------------------------------------------------------ what the driver saw
@dataclass
class Call:
    branch: str
    at: float  # monotonic, when it was sent
    wall: float  # the same as time.time(), to compare with the centre's report times
    seconds: float
    status: int
    ticket: int | None


@dataclass
class Ledger:
    """Every answer the branches gave the driver: tickets acknowledged and the state the
    driver last had acknowledged for each, calls with their latency, errors."""

    tickets: dict[str, dict[int, str]] = field(default_factory=dict)  # branch → id → state
    at_counter: dict[tuple[str, int], int] = field(default_factory=dict)  # → ticket id
    calls: list[Call] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # 4xx: the driver asked nothing odd
    news: asyncio.Event = field(default_factory=asyncio.Event)  # set at every answer

    async def until(self, settled: Callable[[], bool], timeout_s: float) -> bool:
        """Whether `settled()` came to hold within `timeout_s`, looked at after each answer."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                while not settled():
                    self.news.clear()
                    await self.news.wait()
        return settled()

    def called_since(self, branch: str, wall: float) -> int:
        """Customers called at `branch` by calls sent after `wall` (time.time())."""
        return sum(1 for c in self.calls if c.branch == branch and c.ticket and c.wall > wall)

    def answer(
        self, rb: RealBranch, action: str, counter: int | None, r: httpx.Response, s: float
    ) -> None:
        self.news.set()  # the waiter looks once this answer is in the ledger
        if r.status_code >= 500:
            self.server_errors.append(f"{rb.branch} {action} → {r.status_code}")
            return
        if r.status_code >= 400:
            self.refused.append(f"{rb.branch} {action} → {r.status_code} {r.text[:120]}")
            return
        mine = self.tickets.setdefault(rb.branch, {})
        if action == "issue":
            mine[int(r.json()["id"])] = "waiting"
        elif action == "call-next" and counter is not None:
            ticket = r.json().get("ticket")
            tid = None if ticket is None else int(ticket["id"])
            sent = Call(rb.branch, time.monotonic() - s, time.time() - s, s, r.status_code, tid)
            self.calls.append(sent)
            if tid is not None:
                mine[tid] = "called"
                self.at_counter[(rb.branch, counter)] = tid
        elif counter is not None and (rb.branch, counter) in self.at_counter:
            tid = self.at_counter[(rb.branch, counter)]
            mine[tid] = "serving" if action == "start" else "done"


# ------------------------------------------------------------------ the oracle
def lost_tickets(acknowledged: dict[int, str], held: dict[int, str]) -> list[str]:
    """Tickets the driver was given that the branch does not hold in the state last
    acknowledged (a ticket the driver only saw issued may since have been called by no
    one else: the driver is every client)."""
    problems = []
    for tid, state in sorted(acknowledged.items()):
        if tid not in held:
            problems.append(f"ticket {tid} acknowledged ({state}) is not at the branch")
        elif held[tid] != state:
            problems.append(f"ticket {tid} is {held[tid]}, the driver last had {state}")
    return problems


def missing_reports(expected: list[str], applied_s: dict[str, float]) -> list[str]:
    """Branches that should have applied the version and never reported it."""
    return [f"{b} never reported the version applied" for b in expected if b not in applied_s]


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))], 3)


@contextlib.contextmanager
def read_only(db: Path) -> Iterator[sqlite3.Connection]:
    """The branch's database as its server's neighbour reads it: never writing."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        yield conn
    finally:
        conn.close()


def branch_tickets(db: Path) -> dict[int, str]:
    with read_only(db) as conn:
        return {int(i): str(s) for i, s in conn.execute("SELECT id, state FROM tickets")}


def applied_versions(db: Path) -> list[tuple[int, int]]:
    """(seq, version) of each config.applied event at the branch."""
    import json

    with read_only(db) as conn:
        rows = conn.execute(
            "SELECT seq, body FROM events WHERE kind = 'config.applied' ORDER BY seq"
        ).fetchall()
    return [(int(seq), int(json.loads(body).get("data", {})["version"])) for seq, body in rows]


def first_call_after(db: Path, seq: int) -> int | None:
    """The ticket of the first call the branch made after event `seq`."""
    import json

    with read_only(db) as conn:
        row = conn.execute(
            "SELECT body FROM events WHERE kind = 'ticket.called' AND seq > ? ORDER BY seq LIMIT 1",
            (seq,),
        ).fetchone()
    if row is None:
        return None
    body = json.loads(row[0])
    return int(body.get("data", body)["ticket"]["id"])


# ------------------------------------------------------------------ the network
@dataclass
class Network:
    dsn: str
    signer: Any  # central.signing.Signer
    branches: list[RealBranch]
    folder: Path


@contextlib.contextmanager
def network(count: int, counters: int, poll_s: float, log: Log) -> Iterator[Network]:
    """PostgreSQL, the centre with its key, version 1 published, `count` branches serving."""
    from central.signing import create
    from central.storage.downlink import publish
    from central.storage.migrations import migrate
    from tools.harness import free_port, self_signed_certificate, stop_process
    from tools.harness import tail as log_tail
    from tools.pgcluster import Cluster

    with (
        tempfile.TemporaryDirectory(prefix="branchq-drill-rollout-") as tmp,
        Cluster() as pg,
    ):
        folder = Path(tmp)
        dsn = pg.create_database("central")
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            migrate(conn)
        signer = create(folder / "signing.key")
        (folder / "verify.pem").write_bytes(signer.public_pem())
        cert, key = self_signed_certificate(folder)
        port = free_port()
        centre = centre_process(
            dsn, port, folder / "centre.log", cert, key,
            signing_key=folder / "signing.key", pool_size=4,
        )  # fmt: skip
        branches: list[RealBranch] = []
        try:
            log(f"config-rollout: starting {count} branch servers (poll every {poll_s:g} s)")
            # Strict priority, not the default lookahead: the drill measures how configuration
            # travels, and the lookahead simulates at every call in each branch's predictor.
            start_real_branches(
                folder, dsn, f"https://127.0.0.1:{port}", cert, count, branches,
                counters=counters, calling_policy=CALLING_POLICY,
                extra=("--head-office-poll-s", f"{poll_s:g}",
                       "--head-office-verify-key", str(folder / "verify.pem")),
            )  # fmt: skip
            with psycopg.connect(dsn, connect_timeout=10) as conn:
                for rb in branches:
                    publish(conn, signer, rb.branch, "config", config_body(own_catalogue(), 1))
            yield Network(dsn, signer, branches, folder)
        except BaseException:
            for path in [folder / "centre.log", *(rb.folder / "server.log" for rb in branches)]:
                if end := log_tail(path, 600):
                    log(f"{path.parent.name}/{path.name} (end):\n{end}")
            raise
        finally:
            with ThreadPoolExecutor(8) as pool:  # each waits for its server's shutdown
                list(pool.map(stop_process, [rb.proc for rb in branches if rb.proc]))
            stop_process(centre)


def reports(dsn: str, outcome: str) -> list[tuple[str, int, datetime]]:
    """(branch, version, when it reached the centre) of each config report with `outcome`."""
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT branch_id, version, reported_at FROM downlink_reports "
            "WHERE kind = 'config' AND outcome = %s",
            (outcome,),
        ).fetchall()
    return [(str(b), int(v), at) for b, v, at in rows]


def applied_at(dsn: str, version: int) -> dict[str, datetime]:
    """Branch → when its report of `version` applied reached the centre."""
    return {b: at for b, v, at in reports(dsn, "applied") if v == version}


def wait_reports(dsn: str, version: int, branches: list[str], timeout_s: float) -> None:
    poll_until(lambda: set(branches) <= set(applied_at(dsn, version)), timeout_s, POLL_DB_S)


# ------------------------------------------------------------------ the run
def run(
    attempts: int,
    *,
    seed: int = 1,
    log: Log,
    short: bool = False,
    branches: int | None = None,
) -> DrillResult:
    if attempts != 1:
        raise ValueError("config-rollout publishes once; size it with --branches")
    count = branches if branches is not None else (SHORT_BRANCHES if short else BRANCHES)
    if count < 3:
        raise ValueError("config-rollout needs --branches >= 3 (one stopped, one tampered)")
    poll_s = SHORT_POLL_S if short else POLL_S
    pace = SHORT_STEPS_PER_S if short else STEPS_PER_S
    # The long run's busy minutes before and after; the short run only waits for the calls
    # the oracle needs (CALLS_BEFORE at each branch, one after each apply).
    lead_s, after_s = (0.0, 0.0) if short else (20.0, 20.0)
    started = time.monotonic()
    counters = SHORT_COUNTERS if short else COUNTERS
    with network(count, counters, poll_s, log) as net:
        result = asyncio.run(_drill(net, poll_s, pace, lead_s, after_s, random.Random(seed), log))
    result.details["wall_s"] = round(time.monotonic() - started, 1)
    log(f"config-rollout: {count} branches in {result.details['wall_s']} s wall time")
    return result


async def _drill(  # noqa: C901 one timeline: traffic, faults, publication, return, oracle
    net: Network,
    poll_s: float,
    pace: float,
    lead_s: float,
    after_s: float,
    rng: random.Random,
    log: Log,
) -> DrillResult:
    from central.storage.downlink import deployed, publish
    from tools.harness import stop_process

    names = [rb.branch for rb in net.branches]
    offline, tampered = net.branches[0], net.branches[1]
    connected = [b for b in names if b not in (offline.branch, tampered.branch)]
    failures: list[str] = []
    await asyncio.to_thread(wait_reports, net.dsn, 1, names, APPLY_TIMEOUT_S)
    if missing := missing_reports(names, {b: 0.0 for b in applied_at(net.dsn, 1)}):
        failures.append(f"version 1 at the start: {missing[:3]}")

    ledger = Ledger()
    down: set[str] = set()
    locks = {rb.branch: asyncio.Lock() for rb in net.branches}
    stop = asyncio.Event()
    for rb in net.branches:
        rb.answers = ledger.answer

    async with httpx.AsyncClient(timeout=TIMEOUT) as http:

        async def drive(rb: RealBranch, branch_rng: random.Random) -> None:
            while not stop.is_set():
                await asyncio.sleep(branch_rng.expovariate(pace))  # the hall's arrivals
                async with locks[rb.branch]:
                    if rb.branch in down:
                        continue
                    try:
                        await rb.step(http, branch_rng)
                    except httpx.HTTPError as exc:  # a 5xx/4xx is in the ledger already
                        if not isinstance(exc, httpx.HTTPStatusError):
                            ledger.server_errors.append(f"{rb.branch}: {type(exc).__name__}")

        drivers = [
            asyncio.create_task(drive(rb, random.Random(rng.random()))) for rb in net.branches
        ]
        await asyncio.sleep(lead_s)  # traffic before the publication: that is the load
        await ledger.until(
            lambda: all(ledger.called_since(b, 0) >= CALLS_BEFORE for b in names), APPLY_TIMEOUT_S
        )

        # People queue for the business about to be dropped; one branch goes away.
        for rb in net.branches:
            async with locks[rb.branch]:
                for _ in range(WAITING_IN_DROPPED):
                    await rb.issue(http, DROPPED)
        async with locks[offline.branch]:
            down.add(offline.branch)
            await asyncio.to_thread(stop_process, offline.proc)  # type: ignore[arg-type]
        dropped_waiting = {
            rb.branch: sum(
                1 for tid, state in ledger.tickets[rb.branch].items()
                if state == "waiting" and _service(rb.db, tid) == DROPPED
            )
            for rb in net.branches
        }  # fmt: skip

        def publish_version_2() -> float:
            with psycopg.connect(net.dsn, connect_timeout=10) as conn:
                for name in names:
                    publish(conn, net.signer, name, "config", config_body(changed_catalogue(), 2))
                # Rewritten after signing, as a man in the middle would: A's target doubled.
                conn.execute(
                    "UPDATE downlink_documents SET document = jsonb_set(document, "
                    "'{body,catalogue,services,0,target_wait_min}', '20') "
                    "WHERE branch_id = %s AND kind = 'config' AND version = 2",
                    (tampered.branch,),
                )
            return time.time()  # committed: from now on any branch that asks is given it

        published = await asyncio.to_thread(publish_version_2)
        published_mono = time.monotonic()
        log(f"config-rollout: version 2 published to {len(names)} branches")

        # The stopped branch: a newer version while it is away, then it comes back — while
        # the others take version 2 (its start is seconds of the run otherwise spent waiting).
        def publish_version_3() -> None:
            with psycopg.connect(net.dsn, connect_timeout=10) as conn:
                publish(conn, net.signer, offline.branch, "config",
                        config_body(changed_catalogue(), 3))  # fmt: skip

        def come_back() -> None:
            offline.launch()
            _wait_healthy(offline)

        await asyncio.to_thread(publish_version_3)
        returned = time.monotonic()
        relaunch = asyncio.create_task(asyncio.to_thread(come_back))
        await asyncio.to_thread(wait_reports, net.dsn, 2, connected, APPLY_TIMEOUT_S)
        await asyncio.to_thread(
            poll_until,
            lambda: _refused(net.dsn, tampered.branch) is not None,
            APPLY_TIMEOUT_S,
            POLL_DB_S,
        )
        await asyncio.sleep(after_s)  # traffic after the apply: the halls carry on
        applied_2 = {b: at.timestamp() for b, at in applied_at(net.dsn, 2).items()}
        await ledger.until(
            lambda: all(ledger.called_since(b, at) for b, at in applied_2.items()),
            APPLY_TIMEOUT_S,
        )

        await relaunch
        down.discard(offline.branch)
        await asyncio.to_thread(wait_reports, net.dsn, 3, [offline.branch], APPLY_TIMEOUT_S)
        offline_applied_s = time.monotonic() - returned
        back = applied_at(net.dsn, 3).get(offline.branch)
        if back is not None:
            await ledger.until(
                lambda: ledger.called_since(offline.branch, back.timestamp()) > 0,
                APPLY_TIMEOUT_S,
            )
        stop.set()
        await asyncio.gather(*drivers)
        signed_in = {rb.branch: await _tellers(http, rb) for rb in net.branches}
        alerts = await _alerts(http, tampered)
        in_force = await _in_force(http, tampered)

    # ---------------------------------------------------------------- the oracle
    reports = applied_at(net.dsn, 2)
    applied_s = {b: (at.timestamp() - published) for b, at in reports.items() if b in connected}
    within = sum(1 for s in applied_s.values() if s <= TARGET_S)
    share = within / len(connected)
    missing = missing_reports(connected, applied_s)
    losses: list[str] = list(missing)
    for rb in net.branches:
        held = branch_tickets(rb.db)
        acked = ledger.tickets.get(rb.branch, {})
        losses += [f"{rb.branch}: {p}" for p in lost_tickets(acked, held)]
        for n in rb.counters:
            if signed_in[rb.branch].get(n) != f"t{n:02d}":
                losses.append(f"{rb.branch}: window {n} lost its teller")

    before = [c.seconds for c in ledger.calls if c.at < published_mono]
    normal_p99 = percentile(before, 0.99) or 0.0
    first_calls: dict[str, float] = {}
    for rb in net.branches:
        if rb.branch == tampered.branch:
            continue
        versions = applied_versions(rb.db)
        wanted = 3 if rb is offline else 2
        seq = next((s for s, v in versions if v == wanted), None)
        if seq is None:
            continue  # counted above (missing report) or below (the offline branch)
        tid = first_call_after(rb.db, seq)
        call = next((c for c in ledger.calls if c.branch == rb.branch and c.ticket == tid), None)
        if tid is None or call is None:
            failures.append(f"{rb.branch}: no call after the apply")
            continue
        first_calls[rb.branch] = call.seconds
        own = [c.seconds for c in ledger.calls if c.branch == rb.branch and c.at < published_mono]
        limit = max(normal_p99, max(own, default=0.0)) + FIRST_CALL_SLACK_S
        if call.seconds > limit:
            failures.append(
                f"{rb.branch}: the first call after the apply took {call.seconds * 1000:.0f} ms "
                f"(normal: up to {limit * 1000:.0f} ms)"
            )

    offline_versions = [v for _, v in applied_versions(offline.db)]
    if offline_versions != [1, 3]:
        failures.append(f"the stopped branch applied versions {offline_versions}, not [1, 3]")
    with psycopg.connect(net.dsn, connect_timeout=10) as conn:
        rows = {r["branch"]: r for r in deployed(conn, "config")}
    shown = rows[tampered.branch]
    if (shown["deployed"], shown["refused"]) != (1, 2) or not str(
        shown["refused_reason"]
    ).startswith("bad_signature"):
        failures.append(f"the centre shows the tampered branch as {shown}")
    if not any(
        a["kind"] == "head_office_refused" and a["subject"].get("version") == 2 and
        a["cleared_at"] is None for a in alerts
    ):  # fmt: skip
        failures.append("the tampered branch raised no head_office_refused alert for v2")
    if in_force != 1:
        failures.append(f"the tampered branch has version {in_force} in force, not 1")
    if rows[offline.branch]["deployed"] != 3:
        failures.append(f"the centre shows the stopped branch at {rows[offline.branch]}")
    if ledger.server_errors:
        failures.append(f"{len(ledger.server_errors)} server errors: {ledger.server_errors[:3]}")
    if ledger.refused:
        failures.append(f"{len(ledger.refused)} requests refused: {ledger.refused[:3]}")
    if share < TARGET_SHARE:
        failures.append(f"only {share:.1%} of connected branches applied within {TARGET_S:g} s")

    times = sorted(applied_s.values())
    details: dict[str, Any] = {
        "branches": len(names),
        "poll_s": poll_s,
        "applied_within_60s_share": round(share, 4),
        "apply_p50_s": percentile(times, 0.5),
        "apply_p99_s": percentile(times, 0.99),
        "apply_max_s": round(times[-1], 3) if times else None,
        "offline_return_to_applied_s": round(offline_applied_s, 2),
        "tickets_acknowledged": sum(len(t) for t in ledger.tickets.values()),
        "calls": len(ledger.calls),
        "call_before_p50_ms": _ms(percentile(before, 0.5)),
        "call_before_p99_ms": _ms(normal_p99),
        "first_call_after_apply_p50_ms": _ms(
            statistics.median(first_calls.values()) if first_calls else None
        ),
        "first_call_after_apply_max_ms": _ms(max(first_calls.values(), default=None)),
        "waiting_in_dropped_business_at_publication": sum(dropped_waiting.values()),
        "server_errors": len(ledger.server_errors),
        "losses": losses,
        "failures": failures,
    }
    log(
        f"config-rollout: {within}/{len(connected)} connected branches applied within "
        f"{TARGET_S:g} s (p50 {details['apply_p50_s']} s, p99 {details['apply_p99_s']} s, "
        f"max {details['apply_max_s']} s); lost {len(losses)}; {len(failures)} failures"
    )
    return DrillResult("config-rollout", 1, 2, len(losses), round(offline_applied_s, 3), details)


# ------------------------------------------------------------------ small reads
def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


def _service(db: Path, ticket_id: int) -> str | None:
    with read_only(db) as conn:
        row = conn.execute("SELECT service FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
    return None if row is None else str(row[0])


def _refused(dsn: str, branch: str) -> int | None:
    return next((v for b, v, _ in reports(dsn, "refused") if b == branch), None)


def _wait_healthy(rb: RealBranch) -> None:
    from tools.harness import wait_healthy

    wait_healthy(f"http://127.0.0.1:{rb.port}", rb.proc)


async def _tellers(http: httpx.AsyncClient, rb: RealBranch) -> dict[int, str | None]:
    r = await http.get(f"{rb.base}/counters", headers=rb._auth("manager"))
    r.raise_for_status()
    return {int(c["number"]): c["staff_id"] for c in r.json()}


async def _alerts(http: httpx.AsyncClient, rb: RealBranch) -> list[dict[str, Any]]:
    r = await http.get(f"{rb.base}/alerts", headers=rb._auth("manager"))
    r.raise_for_status()
    return list(r.json())


async def _in_force(http: httpx.AsyncClient, rb: RealBranch) -> int | None:
    r = await http.get(f"{rb.base}/config/version", headers=rb._auth("manager"))
    r.raise_for_status()
    version = r.json().get("version")
    return None if version is None else int(version)
