"""What survives a crash and a restart: acknowledged tickets, numbering, the event log.

The kill -9 test runs `branchq server` as a real process and kills it while kiosks are
issuing; the restart tests use the in-process server with a fake clock so the business
day is under the test's control. Nothing sleeps: every wait has a condition and a deadline.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import FakeClock, LiveServer, sign_in
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 5.0
KILL_ROUNDS = 3
ACKS_PER_ROUND = 100
ISSUERS = 8

# ----------------------------------------------------------------- fixtures


# ------------------------------------------------------------ a real process


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    """`branchq server` in its own process, on a loopback port, logging to a file."""

    def __init__(self, db: Path, log: Path) -> None:
        self.db = db
        self.log_path = log
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        cmd = [
            sys.executable, "-m", "queue_server.cli", "server", "--db", str(self.db),
            "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            with contextlib.suppress(httpx.TransportError):
                r = httpx.get(self.base_url + "/api/v1/health", timeout=1)
                if r.status_code == 200:
                    return self
            assert time.monotonic() < deadline, f"server did not answer in 15 s\n{self.log()}"
            # Wait for the process to die, briefly: that paces the polling and notices a
            # server that crashed at start-up instead of waiting out the deadline.
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self.proc.wait(timeout=0.05)
                raise AssertionError(f"server exited with {code} at start-up\n{self.log()}")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(timeout=WAIT_S) == -signal.SIGKILL

    def stop(self) -> None:
        """Make sure the process is gone (any way will do at the end of a test)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=WAIT_S)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url + "/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=WAIT_S,
        )


@contextlib.contextmanager
def running(db: Path, log: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(db, log)
    try:
        yield server.start()
    finally:
        server.stop()


# ----------------------------------------------------------- database checks


def query(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db, timeout=WAIT_S)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def assert_log_consistent(db: Path) -> int:
    """Event seqs are 1..max with no gap; each number is used once per business day;
    every ticket row has the event that issued it, and no event names a missing ticket."""
    seqs = [s for (s,) in query(db, "SELECT seq FROM events ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1)), f"gaps in event seqs: {_gaps(seqs)}"
    twice = query(
        db,
        "SELECT business_day, number, COUNT(*) FROM tickets WHERE previous_id IS NULL "
        "GROUP BY business_day, number HAVING COUNT(*) > 1",
    )
    assert twice == [], f"ticket numbers issued twice in a business day: {twice}"
    tickets = {i for (i,) in query(db, "SELECT id FROM tickets")}
    issued = {i for (i,) in query(db, "SELECT ticket_id FROM events WHERE kind = 'ticket.issued'")}
    assert tickets == issued, (
        f"rows without events: {sorted(tickets - issued)[:10]}, "
        f"events without rows: {sorted(issued - tickets)[:10]}"
    )
    return len(seqs)


def _gaps(seqs: list[int]) -> list[int]:
    have = set(seqs)
    return [s for s in range(1, max(seqs, default=0) + 1) if s not in have][:20]


def health(base_url: str) -> dict[str, Any]:
    r = httpx.get(base_url + "/api/v1/health", timeout=WAIT_S)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# ------------------------------------------------------------------ kill -9


def issue_until_killed(
    server: ServerProcess, token: str, tag: str
) -> tuple[dict[str, dict[str, Any]], dict[str, str], list[str]]:
    """Kiosks issue tickets without pause; once enough are acknowledged, SIGKILL.

    Returns the acknowledged tickets by Idempotency-Key, the requests that got no answer
    (key → service), and any unexpected answers.
    """
    lock = threading.Lock()
    enough = threading.Event()
    acked: dict[str, dict[str, Any]] = {}
    unanswered: dict[str, str] = {}
    unexpected: list[str] = []

    def kiosk(worker: int) -> None:
        with server.client(token) as client:
            for n in range(100_000):
                key = f"kill-{tag}-w{worker}-{n:06d}"
                service = "ABC"[(worker + n) % 3]
                try:
                    r = client.post(
                        "/tickets", json={"service": service}, headers={"Idempotency-Key": key}
                    )
                except httpx.TransportError:
                    with lock:
                        unanswered[key] = service  # the server died under this request
                    return
                with lock:
                    if r.status_code == 201:
                        acked[key] = r.json()
                        if len(acked) >= ACKS_PER_ROUND:
                            enough.set()
                    else:
                        unexpected.append(f"{key}: {r.status_code} {r.text[:200]}")
                        enough.set()
                        return

    threads = [threading.Thread(target=kiosk, args=(w,), daemon=True) for w in range(ISSUERS)]
    for t in threads:
        t.start()
    try:
        assert enough.wait(timeout=15), f"only {len(acked)} tickets acknowledged in 15 s"
    finally:
        server.kill9()  # mid-issuance: the kiosks are still sending
        for t in threads:
            t.join(timeout=WAIT_S)
    assert not any(t.is_alive() for t in threads), "a kiosk thread hung after the kill"
    return acked, unanswered, unexpected


def assert_acknowledged_survived(server: ServerProcess, token: str, acked: dict) -> None:
    with server.client(token) as client:
        for key, ticket in acked.items():
            r = client.get(f"/tickets/{ticket['id']}")
            assert r.status_code == 200, f"acknowledged {ticket['number']} ({key}) lost: {r.text}"
            got = r.json()
            for field in ("number", "service", "business_day"):
                assert got[field] == ticket[field], (key, field, got[field], ticket[field])
    # A key is stored scoped to the token that sent it: "<token id>:<key>".
    rows = {
        k.split(":", 1)[1]: (i, tok)
        for k, i, tok in query(server.db, "SELECT idempotency_key, id, token FROM tickets")
    }
    for key, ticket in acked.items():
        assert rows.get(key) == (ticket["id"], ticket["token"]), f"{key}: stored {rows.get(key)}"


def retry_unanswered(
    server: ServerProcess, token: str, unanswered: dict[str, str], acked: dict
) -> None:
    """A kiosk that got no answer retries with the same key after the restart: it gets the
    ticket if the server had committed it (200), or a new one if not (201), and a second
    retry always replays."""
    with server.client(token) as c:
        for key, service in unanswered.items():
            headers = {"Idempotency-Key": key}
            r = c.post("/tickets", json={"service": service}, headers=headers)
            assert r.status_code in (200, 201), r.text
            again = c.post("/tickets", json={"service": service}, headers=headers)
            assert again.status_code == 200 and again.json()["id"] == r.json()["id"], again.text
            acked[key] = r.json()


def cancel_waiting(server: ServerProcess, token: str, acked: dict) -> None:
    """Cancel every waiting ticket, so a restart that lost the numbering could hand the
    same numbers out again (only open tickets hold their numbers)."""
    with server.client(token) as c:
        for key, ticket in acked.items():
            if c.get(f"/tickets/{ticket['id']}").json()["state"] == "waiting":
                r = c.post(f"/tickets/{ticket['id']}/cancel")
                assert r.status_code == 200, f"{key}: {r.text}"


def replay_acknowledged(server: ServerProcess, token: str, acked: dict) -> None:
    """Re-sending any acknowledged request returns its ticket, 200, and makes nothing new."""
    with server.client(token) as c:
        for key, ticket in acked.items():
            r = c.post(
                "/tickets", json={"service": ticket["service"]}, headers={"Idempotency-Key": key}
            )
            assert r.status_code == 200, f"{key}: {r.status_code} {r.text}"
            assert r.headers.get("Idempotent-Replay") == "true"
            assert (r.json()["id"], r.json()["number"]) == (ticket["id"], ticket["number"])


@pytest.mark.slow
def test_kill_9_during_issuance_loses_no_acknowledged_ticket(
    branch_db: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    db, tokens = branch_db
    kiosk = tokens["kiosk"]
    acked: dict[str, dict[str, Any]] = {}
    unanswered: dict[str, str] = {}
    for round_no in range(KILL_ROUNDS + 1):
        with running(db, tmp_path / f"server-{round_no}.log") as server:
            # Everything acknowledged before any earlier kill is still there, unchanged.
            assert_acknowledged_survived(server, kiosk, acked)
            assert health(server.base_url)["seq"] == assert_log_consistent(db)
            retry_unanswered(server, kiosk, unanswered, acked)
            cancel_waiting(server, kiosk, acked)
            if round_no == KILL_ROUNDS:
                replay_acknowledged(server, kiosk, acked)
                assert health(server.base_url)["seq"] == assert_log_consistent(db)
                break
            new, unanswered, unexpected = issue_until_killed(server, kiosk, f"r{round_no}")
        assert not unexpected, unexpected
        assert len(new) >= ACKS_PER_ROUND
        assert unanswered, "the kill did not interrupt any kiosk"
        acked.update(new)
    total = query(db, "SELECT COUNT(*) FROM tickets")[0][0]
    assert total == len(acked) >= KILL_ROUNDS * ACKS_PER_ROUND


# -------------------------------------------------------------- clean restart


def issue(client: httpx.Client, service: str) -> dict[str, Any]:
    r = client.post("/tickets", json={"service": service})
    assert r.status_code == 201, r.text
    ticket: dict[str, Any] = r.json()
    return ticket


def read_event(ws: Any, timeout: float = WAIT_S) -> dict[str, Any]:
    """The next event on the stream, skipping heartbeats and waits summaries (not events);
    fails at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, "no event within the deadline"
        msg = json.loads(ws.recv(timeout=remaining))
        if msg["type"] in ("heartbeat", "waits"):
            continue
        assert msg["type"] == "events" and len(msg["events"]) == 1, msg
        event: dict[str, Any] = msg["events"][0]
        return event


def test_numbering_and_seq_continue_after_a_clean_restart(
    branch_db: tuple[Path, dict[str, str]], clock: FakeClock
) -> None:
    db, tokens = branch_db
    first = LiveServer(db, tokens, clock, heartbeat_s=0.25).start()
    try:
        kiosk = first.client("kiosk")
        a1, a2, b1 = issue(kiosk, "A"), issue(kiosk, "A"), issue(kiosk, "B")
        assert [a1["number"], a2["number"], b1["number"]] == ["A001", "A002", "B001"]
        # Closed tickets hold no number, so only the stored numbering can make the next A003.
        for t in (a1, a2):
            kiosk.post(f"/tickets/{t['id']}/cancel").raise_for_status()
        seq = health(first.base_url)["seq"]
    finally:
        first.stop()
    assert assert_log_consistent(db) == seq

    second = LiveServer(db, tokens, clock, heartbeat_s=0.25).start()
    try:
        assert health(second.base_url)["seq"] == seq
        kiosk = second.client("kiosk")
        epoch = second.engine.epoch  # as a client that has seen the new server's snapshot
        url = f"{second.ws_url}?since={seq}&epoch={epoch}&token={tokens['display']}"
        with connect(url, open_timeout=WAIT_S, close_timeout=2) as ws:
            assert json.loads(ws.recv(timeout=WAIT_S)) == {
                "type": "resume",
                "since": seq,
                "epoch": epoch,
            }
            a3 = issue(kiosk, "A")
            assert a3["number"] == "A003"
            assert a3["id"] > b1["id"]
            event = read_event(ws)
            assert (event["seq"], event["kind"]) == (seq + 1, "ticket.issued")
            assert event["ticket"]["number"] == "A003"
            assert issue(kiosk, "B")["number"] == "B002"
            assert read_event(ws)["seq"] == seq + 2
        # What happened before the restart is not in the new server's memory: a client
        # that missed it gets a snapshot rather than a silent gap.
        url = f"{second.ws_url}?since={seq - 1}&epoch={epoch}&token={tokens['display']}"
        with connect(url, open_timeout=WAIT_S, close_timeout=2) as ws:
            snap = json.loads(ws.recv(timeout=WAIT_S))
            assert snap["type"] == "snapshot" and snap["seq"] == seq + 2
            assert [t["number"] for t in snap["tickets"]] == ["B001", "A003", "B002"]
        r = kiosk.get(f"/tickets/{a1['id']}")
        assert r.status_code == 200, r.text
        assert (r.json()["number"], r.json()["state"]) == ("A001", "cancelled")
    finally:
        second.stop()
    assert assert_log_consistent(db) == seq + 2


# -------------------------------------------------------- business-day rollover


@pytest.mark.parametrize(
    ("left_open", "first_today", "second_today"),
    [
        # A001 served yesterday, A002 still waiting: today starts at A001 and, once
        # yesterday's A002 is done, goes on to A002.
        ("A002", "A001", "A002"),
        # A001 still waiting: today's first number skips it.
        ("A001", "A002", "A003"),
    ],
)
def test_business_day_rollover_across_a_restart(
    branch_db: tuple[Path, dict[str, str]],
    clock: FakeClock,
    left_open: str,
    first_today: str,
    second_today: str,
) -> None:
    db, tokens = branch_db
    first = LiveServer(db, tokens, clock).start()
    try:
        kiosk = first.client("kiosk")
        yesterday = {t["number"]: t for t in (issue(kiosk, "A"), issue(kiosk, "A"))}
        assert sorted(yesterday) == ["A001", "A002"]
        served = "A002" if left_open == "A001" else "A001"
        c1 = sign_in(first, 1)
        r = c1.post("/counters/1/call", json={"number": served})
        assert r.status_code == 200 and r.json()["number"] == served, r.text
        assert c1.post("/counters/1/start").status_code == 200
        assert c1.post("/counters/1/finish").json()["state"] == "done"
        assert health(first.base_url)["business_day"] == "2026-11-27"
        clock.advance(hours=17, minutes=59)  # 03:59 next morning in Shanghai
        assert health(first.base_url)["business_day"] == "2026-11-27"
        clock.advance(minutes=1)  # 04:00: a new business day
        assert health(first.base_url)["business_day"] == "2026-11-28"
    finally:
        first.stop()

    second = LiveServer(db, tokens, clock).start()
    try:
        assert health(second.base_url)["business_day"] == "2026-11-28"
        kiosk = second.client("kiosk")
        today = issue(kiosk, "A")
        assert (today["number"], today["business_day"]) == (first_today, "2026-11-28")

        old = yesterday[left_open]
        r = kiosk.get(f"/tickets/{old['id']}")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "waiting" and r.json()["business_day"] == "2026-11-27"
        r = kiosk.get(f"/tickets/{yesterday[served]['id']}")
        assert r.status_code == 200 and r.json()["state"] == "done", r.text

        # Yesterday's customer has waited longest: called first, and served to the end.
        c1 = sign_in(second, 1)
        r = c1.post("/counters/1/call-next")
        assert r.status_code == 200, r.text
        assert r.json()["ticket"]["id"] == old["id"], r.json()
        assert c1.post("/counters/1/start").json()["state"] == "serving"
        done = c1.post("/counters/1/finish").json()
        assert (done["id"], done["state"], done["number"]) == (old["id"], "done", left_open)

        assert issue(kiosk, "A")["number"] == second_today
        r = c1.post("/counters/1/call-next")
        assert r.json()["ticket"]["id"] == today["id"], r.text
    finally:
        second.stop()
    assert_log_consistent(db)


def test_a_snapshot_never_shows_a_change_before_it_is_committed(server: LiveServer) -> None:
    """The engine applies a change in memory, then commits it. A snapshot taken in between
    said seq N+1 while the database held N: after a kill -9 there the restarted server
    never had what a display had been told (the crash drill's "subscriber ends at 1168, the
    server at 1164"). A snapshot now waits until what it shows is durable."""
    before = server.engine.branch.last_seq
    blocker = sqlite3.connect(str(server.db), timeout=10, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer's next commit waits behind this lock
    answers: dict[str, httpx.Response] = {}

    def ask(name: str, role: str, method: str, path: str, **kw: Any) -> threading.Thread:
        thread = threading.Thread(
            target=lambda: answers.update({name: server.client(role).request(method, path, **kw)})
        )
        thread.start()
        return thread

    issuing = ask("issue", "kiosk", "POST", "/tickets", json={"service": "A"})
    deadline = time.monotonic() + 10
    while server.engine.branch.last_seq == before and time.monotonic() < deadline:
        issuing.join(0.005)  # applied in memory, its commit held by the lock
    assert server.engine.branch.last_seq > before
    reading = ask("snapshot", "display", "GET", "/snapshot")
    reading.join(0.3)
    held = reading.is_alive()
    blocker.execute("ROLLBACK")
    blocker.close()
    issuing.join(10)
    reading.join(10)
    assert held, "the snapshot answered while its last change was not committed"
    assert answers["issue"].status_code == 201
    with contextlib.closing(sqlite3.connect(str(server.db))) as conn:
        stored = conn.execute("SELECT MAX(seq) FROM events").fetchone()[0]
    assert answers["snapshot"].json()["seq"] == stored == server.engine.branch.last_seq
