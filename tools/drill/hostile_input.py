"""The hostile-input drill: fuzz the API, send oversized and stalled requests, flood the
event stream, against a scratch branch on loopback. `run_hostile(short)` returns figures."""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from tools.drill.api_fuzz import fuzz_api
from tools.harness import ScratchBranch

SHORT_EXAMPLES = {"admin": 50, "kiosk": 20}  # about a minute on an idle core
LONG_EXAMPLES = {"admin": 300, "kiosk": 100, "manager": 100, "counter:1": 100, "display": 50}


def _address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _status_line(sock: socket.socket, timeout_s: float) -> tuple[int | None, float]:
    """The status code the server answers on `sock` (None: closed without one), and when."""
    started = time.monotonic()
    sock.settimeout(timeout_s)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        return None, float("inf")
    except OSError:
        pass
    elapsed = time.monotonic() - started
    if data.startswith(b"HTTP/1.1 "):
        return int(data[9:12]), elapsed
    return None, elapsed


def probe_oversized(base_url: str, token: str) -> dict[str, Any]:
    """A 1 MiB body declared, and one sent chunked without a length: both 413."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    big = b'{"service": "A", "x": "' + b"a" * (1 << 20) + b'"}'

    def chunked() -> Any:
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    with httpx.Client(base_url=base_url, timeout=10) as client:
        declared = client.post("/api/v1/tickets", content=big, headers=headers).status_code
        streamed = client.post("/api/v1/tickets", content=chunked(), headers=headers).status_code
    host, port = _address(base_url)
    with socket.create_connection((host, port), timeout=5) as sock:
        filler = b"a" * (64 * 1024)
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Filler: " + filler + b"\r\n\r\n")
        huge_head, _ = _status_line(sock, 5)
    return {"declared": declared, "chunked": streamed, "huge_head": huge_head}


def probe_slow(base_url: str, token: str, wait_s: float = 30.0) -> dict[str, Any]:
    """Clients that stall: after the headers (body never done), inside the headers, and
    saying nothing at all. Each must be answered (408) or closed, not held for ever."""
    host, port = _address(base_url)
    results: dict[str, Any] = {}

    def stalled_body() -> tuple[int | None, float]:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(
                b"POST /api/v1/tickets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                + token.encode()
                + b'\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"serv'
            )
            return _status_line(sock, wait_s)

    def stalled_head() -> tuple[int | None, float]:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: a")
            return _status_line(sock, wait_s)

    def silent() -> tuple[int | None, float]:
        with socket.create_connection((host, port), timeout=5) as sock:
            return _status_line(sock, wait_s)

    threads = []
    for name, probe in (("body", stalled_body), ("head", stalled_head), ("silent", silent)):

        def run(name: str = name, probe: Any = probe) -> None:
            status, elapsed = probe()
            results[name] = {"status": status, "cut_after_s": round(elapsed, 2)}

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(wait_s + 10)
    return results


def probe_ws_flood(
    base_url: str, tokens: dict[str, str], issuer: str = "kiosk", tickets: int = 100
) -> dict[str, Any]:
    """A client that never reads and one that floods messages, beside a good subscriber:
    the good one still gets every event promptly, the flooder is cut off."""
    from websockets.sync.client import connect

    ws_url = "ws" + base_url[4:] + "/api/v1/events?token="
    host, port = _address(base_url)
    # A subscriber that never reads, with a tiny receive buffer so the server's sends stall.
    stalled = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    stalled.connect((host, port))
    stalled.sendall(
        f"GET /api/v1/events?token={tokens['manager']} HTTP/1.1\r\nHost: {host}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n".encode()
    )
    result: dict[str, Any] = {}
    with (
        connect(ws_url + tokens["display"], open_timeout=5) as good,
        connect(ws_url + tokens["display"], open_timeout=5) as flooder,
    ):
        good.recv(timeout=5)  # the snapshot
        flooder.recv(timeout=5)
        sent = 0
        try:
            for _ in range(5000):
                flooder.send("x" * 512)
                sent += 1
        except Exception:
            pass  # closed by the server while flooding
        with httpx.Client(base_url=base_url + "/api/v1", timeout=10) as client:
            client.headers["Authorization"] = f"Bearer {tokens[issuer]}"
            started = time.monotonic()
            last = None
            for _ in range(tickets):
                last = client.post("/tickets", json={"service": _first_service(client)}).json()
        issued_s = time.monotonic() - started
        seen_after = _wait_for_ticket(good, last["id"] if last else -1, 10.0)
        # From the last ticket's 201 to its event at the good subscriber.
        result["good_subscriber_lag_s"] = None if seen_after is None else round(seen_after, 3)
        result["issue_s"] = round(issued_s, 2)
        result["flood_sent"] = sent
        try:
            flooder.recv(timeout=3)
            while True:
                flooder.recv(timeout=3)
        except Exception as exc:
            result["flooder_closed"] = "1008" in str(exc) or "too many" in str(exc)
    stalled.close()
    return result


_SERVICE: dict[str, str] = {}


def _first_service(client: httpx.Client) -> str:
    if "code" not in _SERVICE:
        services = client.get("/services").json()
        _SERVICE["code"] = next(s["code"] for s in services if s.get("visible", True))
    return _SERVICE["code"]


def _wait_for_ticket(ws: Any, ticket_id: int, timeout_s: float) -> float | None:
    """Seconds from now until the ticket's event reaches `ws` (None: not within the timeout)."""
    started = time.monotonic()
    deadline = started + timeout_s
    while time.monotonic() < deadline:
        try:
            text = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        except TimeoutError:
            return None
        message = json.loads(text)
        for event in message.get("events", []):
            if (event.get("ticket") or {}).get("id") == ticket_id:
                return time.monotonic() - started
        if message.get("type") == "snapshot" and any(
            t.get("id") == ticket_id for t in message.get("tickets", [])
        ):
            return time.monotonic() - started
    return None


def run_hostile(short: bool = True) -> dict[str, Any]:
    """The drill: API fuzzing per role (short: ~1 min; long: many more examples and roles),
    oversized and stalled requests, and an event-stream flood. `ok` is the verdict."""
    examples = SHORT_EXAMPLES if short else LONG_EXAMPLES
    report: dict[str, Any] = {"short": short}
    started = time.monotonic()
    with ScratchBranch() as branch:
        fuzz = {}
        for role, count in examples.items():
            result = fuzz_api(
                branch.base_url,
                branch.tokens[role],
                role=role,
                max_examples=count,
                seed=None if not short else 1,
                spare_token_id=branch.spare_token_id,
            )
            fuzz[role] = result.to_dict()
        report["fuzz"] = fuzz
        report["oversized"] = probe_oversized(branch.base_url, branch.tokens["kiosk"])
        report["slow"] = probe_slow(branch.base_url, branch.tokens["kiosk"])
        report["ws_flood"] = probe_ws_flood(branch.base_url, branch.tokens)
    report["seconds"] = round(time.monotonic() - started, 1)
    report["ok"] = verdict(report)
    return report


def verdict(report: dict[str, Any]) -> bool:
    fuzz_ok = all(not r["failures"] for r in report["fuzz"].values())
    sizes = report["oversized"]
    sizes_ok = sizes["declared"] == 413 and sizes["chunked"] == 413 and sizes["huge_head"] == 431
    slow_ok = all(
        r["cut_after_s"] != float("inf") and r["cut_after_s"] < 20 for r in report["slow"].values()
    )
    flood = report["ws_flood"]
    flood_ok = flood.get("good_subscriber_lag_s") is not None and flood.get("flooder_closed")
    return bool(fuzz_ok and sizes_ok and slow_ok and flood_ok)
