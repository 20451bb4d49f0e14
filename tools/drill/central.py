"""The head-office drill: a branch's events reach the real centre exactly once under faults.

One run:

1. a throwaway PostgreSQL (`tools.pgcluster.Cluster`), migrated, with one branch enrolled;
   the centre as its own process (`branchq central serve`, HTTPS with a self-signed
   certificate the branch is told to trust);
2. a real `branchq server` for that branch, shipping to the centre through a fault proxy
   (`tools.faultproxy`), under the crash drill's traffic (kiosks issue, tellers call, start,
   finish, each retrying through outages);
3. `attempts` rounds, each injecting while the traffic runs: a link cut (blackholed, then
   every connection reset), the centre killed -9 and restarted, PostgreSQL killed -9 and
   restarted, the branch killed -9 and restarted on the same database, and a restore from
   backup (a copy taken with SQLite's backup API while the branch serves; the branch serves
   on, stops, gets the old copy back and starts: the shipper must find out from the centre
   and ship from the fork point under a new log id). Recovery time: from the fault healed
   to the centre holding every event the branch had then.

The oracle, once the traffic has stopped and the branch's backlog is 0: for every log of
the branch, the centre's (seq, digest) pairs are what the branch holds for it (digests taken
by the branch's own shipping code, so blanked free text is blanked alike); no (log, seq) is
stored twice; nothing is quarantined (a restore is found at hello, before anything of the
new history is sent under the old id, so nothing should be); a log left behind by a restore
is the pre-restore copy's history, unchanged since; and the centre's daily issued count is
the branch's plus the customers a restore took from the branch after the centre had been
told of them (the centre keeps counting those; new customers given their reused ticket ids
count as new). A restore loses on the branch what came after the backup: that is the
restore's doing, not shipping's, so a log left behind must hold what the branch had
acknowledged from the centre before it stopped, and may hold no more than it had.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import sqlite3
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from central.branches import enrol
from central.storage.migrations import migrate
from queue_server.shipper import shipped_event
from queue_server.storage.log_identity import read_log_identity
from tools.demo import DEMO_PIN
from tools.drill import DrillResult, Log, p95, poll_until
from tools.drill.crash import (
    API,
    HTTP_TIMEOUT_S,
    KIOSKS,
    TELLERS,
    ChildProcess,
    Client,
    Kiosk,
    Ledger,
    ServerProcess,
    Teller,
    scratch_branch,
)
from tools.faultproxy import FaultProxy
from tools.harness import BRANCHQ, HOST, child_env, free_port, self_signed_certificate
from tools.harness import tail as log_tail
from tools.pgcluster import Cluster

BRANCH = "B001"
FAULTS = ("link cut", "centre kill -9", "PostgreSQL kill -9", "branch kill -9", "restore")
LOAD_S = (0.2, 0.6)  # traffic before each fault (seeded)
CUT_S = (0.5, 1.2)  # a link blackholed this long
PACE_S = 0.01  # each client's pause after an answer: busy, but leaves the centre a core
AFTER_BACKUP_EVENTS = 40  # events the branch makes after the backup (lost by the restore)
CATCH_UP_S = 60.0  # the centre holding what the branch has, after a fault is healed
START_TIMEOUT_S = 30.0
POLL_S = 0.02  # conditions below are polled (another process's state: nothing to wait on)


# ------------------------------------------------------------------ the centre
class Centre(ChildProcess):
    """`branchq central serve` over HTTPS, as a child process, on a fixed port."""

    def __init__(self, dsn: str, port: int, cert: Path, key: Path, log_path: Path) -> None:
        self.dsn, self.port, self.cert, self.key, self.log_path = dsn, port, cert, key, log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.launched = 0.0

    def start(self) -> None:
        """Start and wait until it answers HTTPS."""
        self.launch()
        self.wait_up()

    def launch(self) -> None:
        command = [
            *BRANCHQ, "central", "serve", "--dsn", self.dsn, "--host", HOST,
            "--port", str(self.port), "--tls-cert", str(self.cert), "--tls-key", str(self.key),
            "--pool-size", "4",
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=child_env(),
            )  # fmt: skip
        self.launched = time.monotonic()

    def wait_up(self) -> None:
        assert self.proc is not None
        url = f"https://{HOST}:{self.port}/console"
        trust = ssl.create_default_context(cafile=str(self.cert))
        with httpx.Client(verify=trust, timeout=2) as http:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the centre exited with code {self.proc.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    http.get(url)  # any answer: it serves
                    return
                if time.monotonic() - self.launched > START_TIMEOUT_S:
                    raise RuntimeError("the centre did not answer in time")
                time.sleep(POLL_S)


# ------------------------------------------------------------------ what each side holds
def branch_logs(db: Path) -> tuple[str, int, dict[int, str]]:
    """The branch's current log: (log id, first seq, seq → digest of its events)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        conn.execute("BEGIN")
        ident = read_log_identity(conn)
        rows = conn.execute(
            "SELECT seq, at, kind, v, body FROM events WHERE seq >= ? ORDER BY seq",
            (ident.first_seq,),
        ).fetchall()
        conn.execute("COMMIT")
    finally:
        conn.close()
    digests = {
        int(seq): shipped_event(int(seq), str(at), str(kind), int(v), str(body))["sha256"]
        for seq, at, kind, v, body in rows
    }
    return ident.log_id, ident.first_seq, digests


def branch_scalar(db: Path, sql: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return int(conn.execute(sql).fetchone()[0] or 0)
    finally:
        conn.close()


def branch_issued(db: Path) -> dict[str, int]:
    """Tickets issued per business day, as the branch counts them (first legs)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = conn.execute(
            "SELECT business_day, COUNT(*) FROM tickets WHERE leg = 0 GROUP BY business_day"
        ).fetchall()
    finally:
        conn.close()
    return {str(day): int(n) for day, n in rows}


def issued_only_before_restores(dsn: str) -> dict[str, int]:
    """Tickets the centre was told of that a restore then took from the branch: issued in an
    abandoned log at or after the seq its successor starts from. The centre keeps counting
    them (they were real customers); the restored branch no longer knows them."""
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT e.body->'ticket'->>'business_day', count(*) FROM events e"
            " JOIN branch_logs next ON next.branch_id = e.branch_id"
            "  AND next.restored_from = e.log_id"
            " WHERE e.branch_id = %s AND e.kind = 'ticket.issued' AND e.seq >= next.first_seq"
            "  AND (e.body->'ticket'->>'leg')::int = 0"
            " GROUP BY 1",
            (BRANCH,),
        ).fetchall()
    return {str(day): int(n) for day, n in rows}


def expected_issued(db: Path, dsn: str) -> dict[str, int]:
    """What the centre's daily issued counts should be: the branch's, plus the customers only
    the centre still knows of (`issued_only_before_restores`)."""
    out = branch_issued(db)
    for day, n in issued_only_before_restores(dsn).items():
        out[day] = out.get(day, 0) + n
    return out


def centre_events(dsn: str) -> dict[str, dict[int, list[str]]]:
    """log id → seq → every digest stored under it (more than one: stored twice)."""
    held: dict[str, dict[int, list[str]]] = {}
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT log_id::text, seq, encode(sha256, 'hex') FROM events WHERE branch_id = %s",
            (BRANCH,),
        ).fetchall()
    for log_id, seq, digest in rows:
        held.setdefault(str(log_id), {}).setdefault(int(seq), []).append(str(digest))
    return held


def centre_quarantine(dsn: str) -> list[tuple[str, int, str]]:
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT log_id::text, seq, reason FROM quarantine WHERE branch_id = %s ORDER BY id",
            (BRANCH,),
        ).fetchall()
    return [(str(a), int(b), str(c)) for a, b, c in rows]


def centre_issued(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        rows = conn.execute(
            "SELECT business_day, SUM(issued) FROM daily_business WHERE branch_id = %s "
            "GROUP BY business_day",
            (BRANCH,),
        ).fetchall()
    return {str(day): int(n) for day, n in rows}


@dataclass
class LeftBehind:
    """A log a restore ended: what the branch had of it when it stopped, and what it had
    seen acknowledged then; the centre's copy once the new log was seen."""

    log_id: str
    had: dict[int, str]
    acknowledged_to: int
    centre_then: dict[int, list[str]] = field(default_factory=dict)


def compare(
    current: tuple[str, int, dict[int, str]],
    left: list[LeftBehind],
    held: dict[str, dict[int, list[str]]],
) -> tuple[list[str], list[str], int]:
    """(lost, duplicated, events unshipped when a restore came): one line per problem."""
    lost: list[str] = []
    doubled: list[str] = []
    for log_id, seqs in held.items():
        for seq, digests in seqs.items():
            if len(digests) > 1:
                doubled.append(f"log {log_id[:8]} seq {seq} stored {len(digests)} times")
    known = {current[0], *(b.log_id for b in left)}
    for log_id in set(held) - known:
        doubled.append(f"log {log_id[:8]} at the centre is none of the branch's")
    log_id, _, mine = current
    theirs = held.get(log_id, {})
    lost += _diff(log_id, mine, theirs, doubled)
    unshipped = 0
    for b in left:
        theirs = held.get(b.log_id, {})
        top = max(theirs, default=0)
        expected = {s: d for s, d in b.had.items() if s <= max(top, b.acknowledged_to)}
        unshipped += len(b.had) - len(expected)
        lost += _diff(b.log_id, expected, theirs, doubled)
        if theirs != b.centre_then:
            lost.append(f"log {b.log_id[:8]} left by a restore changed at the centre since")
    return lost, doubled, unshipped


def _diff(
    log_id: str, mine: dict[int, str], theirs: dict[int, list[str]], doubled: list[str]
) -> list[str]:
    lost: list[str] = []
    for seq, digest in sorted(mine.items()):
        got = theirs.get(seq)
        if got is None:
            lost.append(f"log {log_id[:8]} seq {seq} is not at the centre")
        elif digest not in got:
            lost.append(f"log {log_id[:8]} seq {seq} is at the centre with another digest")
    for seq in sorted(set(theirs) - set(mine)):
        doubled.append(f"log {log_id[:8]} seq {seq} is at the centre, not at the branch")
    return lost


# ------------------------------------------------------------------ the run
@dataclass
class Round:
    fault: str
    recovery_s: float | None


@contextlib.contextmanager
def network(
    log: Log,
) -> Iterator[tuple[Cluster, Centre, FaultProxy, ServerProcess, dict[str, str]]]:
    """The PostgreSQL, the centre, the proxy and the branch (started), torn down after."""
    with tempfile.TemporaryDirectory(prefix="branchq-drill-central-") as tmp, Cluster() as pg:
        folder = Path(tmp)
        dsn = pg.create_database("central")
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            migrate(conn)
            token = enrol(conn, BRANCH, "Drill branch", "R1")
            conn.commit()
        cert, key = self_signed_certificate(folder)
        centre = Centre(dsn, free_port(), cert, key, folder / "centre.log")
        proxy = FaultProxy((HOST, centre.port)).start()
        token_file = folder / "head-office.token"
        token_file.write_text(token, encoding="utf-8")
        try:
            centre.launch()  # the two start side by side: the shipper retries until it is up
            with scratch_branch("central", log) as (server, tokens, _):
                server.extra = (
                    "--head-office", f"https://{HOST}:{proxy.port}",
                    "--head-office-branch", BRANCH,
                    "--head-office-token-file", str(token_file),
                    "--head-office-ca", str(cert),
                )  # fmt: skip
                server.start()
                centre.wait_up()
                yield pg, centre, proxy, server, tokens
        except BaseException:
            end = log_tail(centre.log_path)
            if end:
                log(f"centre log (end):\n{end}")
            raise
        finally:
            proxy.stop()
            centre.stop()


def run(attempts: int, *, seed: int = 1, log: Log) -> DrillResult:
    with network(log) as (pg, centre, proxy, server, tokens):
        return _drill(pg, centre, proxy, server, tokens, attempts, random.Random(seed), log)


def _drill(  # noqa: C901 one fault after another, each with its own healing
    pg: Cluster,
    centre: Centre,
    proxy: FaultProxy,
    server: ServerProcess,
    tokens: dict[str, str],
    attempts: int,
    rng: random.Random,
    log: Log,
) -> DrillResult:
    log(
        f"central drill: {attempts} round(s) of {', '.join(FAULTS)}, a branch shipping to a "
        f"head office on PostgreSQL under load ({KIOSKS} kiosks, {TELLERS} tellers)"
    )
    dsn = centre.dsn
    manager = httpx.Client(
        base_url=server.base + API,
        headers={"Authorization": f"Bearer {tokens['manager']}"},
        timeout=HTTP_TIMEOUT_S,
    )
    _sign_in(server, tokens)
    ledger = Ledger()
    stop = threading.Event()
    clients = _traffic(server, tokens, ledger, stop, rng)
    rounds: list[Round] = []
    left: list[LeftBehind] = []
    failures: list[str] = []

    def shipped(what: str, healed: float) -> float | None:
        """Seconds from `healed` until the centre holds every event the branch has now
        (None: it did not within CATCH_UP_S, a failure)."""
        target = branch_scalar(server.db, "SELECT MAX(seq) FROM events")
        if _wait(lambda: _watermark(manager) >= target, CATCH_UP_S):
            return time.monotonic() - healed
        failures.append(f"{what}: the centre did not reach seq {target} in {CATCH_UP_S:.0f} s")
        return None

    def fault(name: str, inject: Callable[[], float]) -> None:
        time.sleep(rng.uniform(*LOAD_S))  # traffic between faults: that is the load itself
        started = time.monotonic()
        healed = inject()
        recovery = shipped(name, healed)
        rounds.append(Round(name, recovery))
        shown = "—" if recovery is None else f"{recovery:.2f} s"
        log(
            f"  {name}: healed {healed - started:.2f} s after it was injected, "
            f"the centre caught up {shown} later"
        )

    def cut() -> float:
        proxy.set_mode("blackhole")
        time.sleep(rng.uniform(*CUT_S))  # the outage's length is the fault itself
        proxy.set_mode("reset")
        proxy.set_mode("pass")
        return time.monotonic()

    def kill_centre() -> float:
        centre.kill()
        centre.start()
        return time.monotonic()

    def kill_postgres() -> float:
        pg.kill()
        pg.start()
        return time.monotonic()

    def kill_branch() -> float:
        server.kill()
        server.start()
        healed = time.monotonic()
        _sign_in(server, tokens)
        return healed

    def restore() -> float:
        backup = server.db.with_name("backup.db")
        with (
            contextlib.closing(sqlite3.connect(server.db, timeout=10)) as source,
            contextlib.closing(sqlite3.connect(backup)) as copy,
        ):
            source.backup(copy)
        at_backup = branch_scalar(backup, "SELECT MAX(seq) FROM events")
        # The branch serves on after the backup: what it does now the restore will lose.
        if not _wait(
            lambda: (
                branch_scalar(server.db, "SELECT MAX(seq) FROM events")
                >= at_backup + AFTER_BACKUP_EVENTS
            ),
            CATCH_UP_S,
        ):
            failures.append("restore: the branch made no events after the backup")
        shipped("restore (before the stop)", time.monotonic())
        acknowledged = _watermark(manager)
        server.stop()
        old_id, _, had = branch_logs(server.db)
        for suffix in ("", "-wal", "-shm"):
            server.db.with_name(server.db.name + suffix).unlink(missing_ok=True)
        shutil.copyfile(backup, server.db)
        backup.unlink()
        server.start()
        healed = time.monotonic()
        _sign_in(server, tokens)
        behind = LeftBehind(old_id, had, acknowledged)
        if not _wait(lambda: _status(manager).get("restored_from") == old_id, CATCH_UP_S):
            failures.append(f"restore: the branch never moved off log {old_id[:8]}")
        behind.centre_then = centre_events(dsn).get(old_id, {})
        left.append(behind)
        return healed

    injections = (cut, kill_centre, kill_postgres, kill_branch, restore)
    try:
        for attempt in range(1, attempts + 1):
            log(f"round {attempt}/{attempts}")
            for name, inject in zip(FAULTS, injections, strict=True):
                fault(name, inject)
            _raise_client_failure(clients)
    finally:
        stop.set()
        for c in clients:
            c.join(HTTP_TIMEOUT_S + 1)
    _raise_client_failure(clients)

    # The end: traffic stopped, the link healthy, the backlog 0, and the two sides agree
    # (the branch may still add an event of its own, an alert scan: compare until steady).
    if not _wait(lambda: _status(manager).get("backlog") == 0, CATCH_UP_S):
        failures.append(f"the backlog never reached 0: {_status(manager)}")
    lost: list[str] = []
    doubled: list[str] = []
    unshipped = 0
    deadline = time.monotonic() + CATCH_UP_S
    while True:
        current = branch_logs(server.db)
        held = centre_events(dsn)
        lost, doubled, unshipped = compare(current, left, held)
        issued = (expected_issued(server.db, dsn), centre_issued(dsn))
        if (not lost and not doubled and issued[0] == issued[1]) or time.monotonic() > deadline:
            break
        time.sleep(POLL_S)
    quarantined = centre_quarantine(dsn)
    problems = list(lost)
    if issued[0] != issued[1]:
        problems.append(f"tickets issued per day: expected {issued[0]}, centre {issued[1]}")
    problems += [f"quarantined: log {q[0][:8]} seq {q[1]} ({q[2]})" for q in quarantined]
    manager.close()

    faults = len(rounds)
    recoveries = [r.recovery_s for r in rounds if r.recovery_s is not None]
    log(_fault_table(rounds, len(lost), len(doubled)))
    details = {
        "events_at_centre": sum(len(s) for s in held.values()),
        "logs": 1 + len(left),
        "events_lost_to_restores_unshipped": unshipped,
        "tickets_issued": sum(branch_issued(server.db).values()),
        "ops_acknowledged": ledger.ops,
        "lost_events": len(lost),
        "duplicated_events": len(doubled),
        "quarantined": len(quarantined),
        "recovery_by_fault": {
            name: p95([r.recovery_s for r in rounds if r.fault == name and r.recovery_s])
            for name in FAULTS
        },
        "losses": problems + doubled,
        "failures": failures,
    }
    log(
        f"central drill: {faults} faults, {details['events_at_centre']} events at the centre "
        f"in {details['logs']} logs; lost {len(lost)}, duplicated {len(doubled)}, "
        f"quarantined {len(quarantined)}"
    )
    return DrillResult(
        "central", attempts, faults, len(problems) + len(doubled), p95(recoveries), details
    )


def _fault_table(rounds: list[Round], lost: int, doubled: int) -> str:
    lines = ["| fault | tried | recovery p95 |", "|---|---|---|"]
    for name in FAULTS:
        times = [r.recovery_s for r in rounds if r.fault == name]
        done = [t for t in times if t is not None]
        rec = p95(done)
        shown = "—" if rec is None or len(done) < len(times) else f"{rec:.2f} s"
        lines.append(f"| {name} | {len(times)} | {shown} |")
    lines.append(f"| (at the end) lost | {lost} | duplicated {doubled} |")
    return "\n".join(lines)


def _traffic(
    server: ServerProcess,
    tokens: dict[str, str],
    ledger: Ledger,
    stop: threading.Event,
    rng: random.Random,
) -> list[Client]:
    clients: list[Client] = []
    for i in range(KIOSKS):
        kiosk = Kiosk(f"kiosk{i + 1}", server.base, tokens["kiosk"], ledger, stop,
                      random.Random(rng.random()))  # fmt: skip
        clients.append(kiosk)
    for n in range(1, TELLERS + 1):
        teller = Teller(f"counter{n}", server.base, tokens[f"counter:{n}"], ledger, stop,
                        random.Random(rng.random()))  # fmt: skip
        teller.number = n
        clients.append(teller)
    for c in clients:
        c.pace_s = PACE_S
        c.start()
    return clients


def _sign_in(server: ServerProcess, tokens: dict[str, str]) -> None:
    """Every teller at their counter (again, after a restore took the sign-in back)."""
    with httpx.Client(base_url=server.base + API, timeout=HTTP_TIMEOUT_S) as http:
        for n in range(1, TELLERS + 1):
            headers = {"Authorization": f"Bearer {tokens[f'counter:{n}']}"}
            body = {"staff_id": f"t{n:02d}", "pin": DEMO_PIN}
            http.post(f"/counters/{n}/sign-in", json=body, headers=headers)


def _status(http: httpx.Client) -> dict[str, Any]:
    """The branch's head-office link as its manager sees it ({} while it does not answer)."""
    try:
        r = http.get("/head-office")
    except httpx.HTTPError:
        return {}
    return dict(r.json()) if r.status_code == 200 else {}


def _watermark(http: httpx.Client) -> int:
    status = _status(http)
    return int(status["watermark"]) if status.get("link") == "connected" else -1


def _wait(condition: Callable[[], bool], timeout_s: float) -> bool:
    return poll_until(condition, timeout_s, POLL_S)


def _raise_client_failure(clients: list[Client]) -> None:
    for c in clients:
        if c.failure is not None:
            raise RuntimeError(f"load client {c.name} failed: {c.failure!r}") from c.failure
