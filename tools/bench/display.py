"""`branchq bench display`: teller's call acknowledged → number in the hall display's DOM.

One run:

1. the demo branch in a temporary folder (`demo.provision`: a token per role, a teller per
   counter), served by a real `branchq server` subprocess on a free loopback port (started
   and stopped with `bench.server`'s helpers, the ones `bench server` uses);
2. Debian's Chromium, headless, opens /display?token=… with the display token, and a plain
   Python WebSocket client subscribes to the same stream (the baseline);
3. `--calls` times, round-robin over the counters: `call-next` (timed from sending to
   reading the whole HTTP answer: the acknowledgement), then wait until both the page and
   the baseline have the number, then the teller marks a no-show so the counter is idle.

Where each side's time comes from:

* ack: `time.time()` in this process right after the response is read.
* page: the page's MutationObserver on the current-number element records
  `performance.timeOrigin + performance.now()` when the number appears (the page's
  `branchqDisplay.shown`). That clock is the browser's reading of the same system clock; the
  offset between it and `time.time()` is measured before the run (the browser's time read
  between two local readings, the sample with the shortest round trip; its half round
  trip, `clock_uncertainty_ms`, bounds the error) and subtracted. Polling the DOM from
  Python with wait_for_function would add its polling interval and a DevTools round trip to
  every sample, so it is used only to learn *that* the number is there, never *when*.
* baseline: `time.time()` in this process when the plain client's thread receives the frame
  holding that ticket.called event: the stream's own delivery, without a browser.

A negative latency (the event reached the page before the HTTP answer reached this process)
is kept as 0 and counted (`*_before_ack`). `compose_ms` (time to compose a call's WAV) comes
from `bench.voice.measure_compose()` on the same machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from queue_server.config import BranchConfig, init_db, load_config
from tools.demo import DEMO_PIN, provision
from tools.harness import free_port, start_server, stop_process, wait_healthy

CHROMIUM = Path("/usr/bin/chromium")
TARGET_P95_MS = 150.0
WAIT_MS = 10_000


@dataclass(frozen=True)
class ServedBranch:
    """A `branchq server` subprocess serving the demo branch: its URL, tokens and config."""

    base_url: str
    tokens: dict[str, str]
    config: BranchConfig

    def client(self, role: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"}
        return httpx.Client(base_url=self.base_url + "/api/v1", headers=headers, timeout=10)

    def display_url(self, query: str = "") -> str:
        return f"{self.base_url}/display?token={self.tokens['display']}{query}"


@contextlib.contextmanager
def served_demo_branch(prefix: str = "branchq-display-") -> Iterator[ServedBranch]:
    """The demo branch in a temporary folder, served on loopback; every teller signed in."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        db = Path(tmp) / "branch.db"
        config = load_config()
        init_db(db, config)
        tokens = provision(db, config)
        port = free_port()
        log_path = Path(tmp) / "server.log"
        with log_path.open("wb") as log:
            server = start_server(db, port, log)
            try:
                branch = ServedBranch(f"http://127.0.0.1:{port}", tokens, config)
                wait_healthy(branch.base_url, server)
                for c in config.counters:
                    with branch.client(f"counter:{c.number}") as http:
                        body = {"staff_id": f"t{c.number:02d}", "pin": DEMO_PIN}
                        http.post(f"/counters/{c.number}/sign-in", json=body).raise_for_status()
                yield branch
            except BaseException:
                tail = log_path.read_text(errors="replace")[-2000:]
                if tail:
                    print(f"server log (end):\n{tail}")
                raise
            finally:
                stop_process(server)


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless, playing sound without a tap (as the lobby TV is set up)."""
    if not CHROMIUM.exists():
        raise RuntimeError(
            "Debian's Chromium (/usr/bin/chromium) is not installed: run `make setup` as root"
        )
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=["--autoplay-policy=no-user-gesture-required"],
    )


class StreamListener:
    """The baseline: a plain WebSocket client noting when each ticket.called event arrives."""

    def __init__(self, url: str) -> None:
        from websockets.sync.client import connect

        self.arrived: dict[str, float] = {}
        self._changed = threading.Condition()
        self._ws = connect(url, open_timeout=10)
        first = json.loads(self._ws.recv(timeout=10))
        if first.get("type") != "snapshot":
            raise RuntimeError(f"the event stream began with {first.get('type')}")
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with contextlib.suppress(Exception):
            for raw in self._ws:
                at = time.time()
                message = json.loads(raw)
                if message.get("type") != "events":
                    continue
                with self._changed:
                    for ev in message["events"]:
                        if ev["kind"] == "ticket.called":
                            self.arrived.setdefault(ev["ticket"]["number"], at)
                    self._changed.notify_all()

    def wait_for(self, number: str, timeout: float = 10.0) -> float:
        with self._changed:
            if not self._changed.wait_for(lambda: number in self.arrived, timeout):
                raise TimeoutError(f"the event stream never brought {number}")
            return self.arrived[number]

    def close(self) -> None:
        self._ws.close()
        self._thread.join(5)


def browser_clock_offset(page: Any, samples: int = 15) -> tuple[float, float]:
    """(browser clock − time.time(), half round trip) in seconds, from the tightest sample."""
    best: tuple[float, float] | None = None
    for _ in range(samples):
        before = time.time()
        browser_ms = page.evaluate("performance.timeOrigin + performance.now()")
        after = time.time()
        half = (after - before) / 2
        offset = browser_ms / 1000 - (before + half)
        if best is None or half < best[1]:
            best = (offset, half)
    assert best is not None
    return best


def run(calls: int = 200) -> dict[str, Any]:
    """One run; the figures (milliseconds)."""
    from playwright.sync_api import sync_playwright

    if calls < 1:
        raise ValueError("need --calls >= 1")
    with served_demo_branch() as branch, sync_playwright() as pw:
        counters = [c.number for c in branch.config.counters]
        # Each counter gets customers of its first business, so call-next always finds one.
        first_skill = {c.number: c.skills[0].service for c in branch.config.counters}
        kiosk = branch.client("kiosk")
        for i in range(calls):
            service = first_skill[counters[i % len(counters)]]
            kiosk.post("/tickets", json={"service": service}).raise_for_status()
        tellers = {n: branch.client(f"counter:{n}") for n in counters}
        browser = launch_chromium(pw)
        listener = None
        try:
            page = browser.new_context(
                viewport={"width": 1920, "height": 1080}, bypass_csp=True
            ).new_page()
            page.goto(branch.display_url())
            page.wait_for_function("window.branchqDisplay?.connection === 'live'", timeout=WAIT_MS)
            ws_url = "ws" + branch.base_url[4:] + f"/api/v1/events?token={branch.tokens['display']}"
            listener = StreamListener(ws_url)
            offset, uncertainty = browser_clock_offset(page)
            dom: list[float] = []
            stream: list[float] = []
            ack_ms: list[float] = []
            busy: set[int] = set()
            for i in range(calls):
                n = counters[i % len(counters)]
                http = tellers[n]
                if n in busy:
                    http.post(f"/counters/{n}/no-show").raise_for_status()
                sent = time.time()
                r = http.post(f"/counters/{n}/call-next")
                acked = time.time()
                r.raise_for_status()
                if r.json()["ticket"] is None:  # another counter took its customers
                    kiosk.post("/tickets", json={"service": first_skill[n]}).raise_for_status()
                    sent = time.time()
                    r = http.post(f"/counters/{n}/call-next")
                    acked = time.time()
                    r.raise_for_status()
                busy.add(n)
                number = r.json()["ticket"]["number"]
                page.wait_for_function(
                    f"window.branchqDisplay.shown[{number!r}] !== undefined", timeout=WAIT_MS
                )
                shown_at = page.evaluate(f"window.branchqDisplay.shown[{number!r}]") / 1000
                dom.append((shown_at - offset - acked) * 1000)
                stream.append((listener.wait_for(number) - acked) * 1000)
                ack_ms.append((acked - sent) * 1000)
            announced = page.evaluate("window.branchqDisplay.announcements.length")
        finally:
            if listener is not None:
                listener.close()
            browser.close()
            for http in (kiosk, *tellers.values()):
                http.close()
    from tools.bench.voice import measure_compose

    compose = measure_compose(samples=200, languages=list(branch.config.settings.languages))
    return figures(dom, stream, ack_ms, uncertainty, compose, announced, calls)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def figures(
    dom: list[float],
    stream: list[float],
    ack_ms: list[float],
    uncertainty_s: float,
    compose: dict[str, Any],
    announced: int,
    calls: int,
) -> dict[str, Any]:
    def stats(name: str, values: list[float]) -> dict[str, Any]:
        clamped = [max(0.0, v) for v in values]
        return {
            f"{name}_p50_ms": round(statistics.median(clamped), 2),
            f"{name}_p95_ms": round(_pct(clamped, 95), 2),
            f"{name}_max_ms": round(max(clamped), 2),
            f"{name}_before_ack": sum(1 for v in values if v < 0),
        }

    out: dict[str, Any] = {"calls": calls}
    out |= stats("dom", dom)
    out |= stats("stream", stream)
    out["ack_p50_ms"] = round(statistics.median(ack_ms), 2)
    out["ack_p95_ms"] = round(_pct(ack_ms, 95), 2)
    out["dom_minus_stream_p50_ms"] = round(
        statistics.median(d - s for d, s in zip(dom, stream, strict=True)), 2
    )
    out["clock_uncertainty_ms"] = round(uncertainty_s * 1000, 3)
    out["announcements_queued"] = announced
    out["compose_ms"] = compose["compose_ms"]
    out["compose_p95_ms"] = compose["compose_p95_ms"]
    out["target_dom_p95_ms"] = TARGET_P95_MS
    out["target_met"] = out["dom_p95_ms"] <= TARGET_P95_MS
    return out


def format_report(r: dict[str, Any]) -> str:
    lines = [
        f"hall display: {r['calls']} calls, teller's acknowledgement → number on the page",
        f"  {'':34} {'p50':>8} {'p95':>8} {'max':>8}",
        f"  {'page DOM (headless Chromium)':34} {r['dom_p50_ms']:8.2f} {r['dom_p95_ms']:8.2f}"
        f" {r['dom_max_ms']:8.2f} ms",
        f"  {'baseline: plain WebSocket client':34} {r['stream_p50_ms']:8.2f}"
        f" {r['stream_p95_ms']:8.2f} {r['stream_max_ms']:8.2f} ms",
        f"  {'call-next acknowledgement':34} {r['ack_p50_ms']:8.2f} {r['ack_p95_ms']:8.2f}"
        f" {'':8} ms",
        f"  page − baseline, median: {r['dom_minus_stream_p50_ms']:.2f} ms;"
        f" before the ack: page {r['dom_before_ack']}, baseline {r['stream_before_ack']};"
        f" clock offset ± {r['clock_uncertainty_ms']:.2f} ms",
        f"  compose a call's WAV: {r['compose_ms']:.3f} ms (p95 {r['compose_p95_ms']:.3f} ms);"
        f" announcements queued by the page: {r['announcements_queued']}",
        f"  target page p95 ≤ {r['target_dom_p95_ms']:.0f} ms:"
        f" {'met' if r['target_met'] else 'MISSED'}",
    ]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    result = run(calls=args.calls)
    print(json.dumps(result, sort_keys=True) if args.json else format_report(result))
    return 0
