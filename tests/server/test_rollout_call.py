"""Call-next under the lookahead policy: decided in the predictor process, never on the loop."""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import predictor_probes
from conftest import LiveServer, sign_in

from queue_server.domain.policies import CallingPolicy, policy_by_name


def use_policy(server: LiveServer, policy: CallingPolicy) -> None:
    async def switch() -> None:
        server.engine.branch.policy = policy

    asyncio.run_coroutine_threadsafe(switch(), server.engine._loop).result(timeout=5)


def regular_then_care(server: LiveServer) -> tuple[dict[str, Any], dict[str, Any]]:
    """A regular customer 4.5 minutes in (10-minute target) and a care one 4 minutes in (5)."""
    kiosk = server.client("kiosk")
    regular = kiosk.post("/tickets", json={"service": "A"}).json()
    server.clock.advance(minutes=0.5)
    care = kiosk.post("/tickets", json={"service": "A", "priority": "care"})
    assert care.status_code == 201, care.text
    server.clock.advance(minutes=4.0)
    return regular, care.json()


def test_the_lookahead_call_is_decided_in_the_predictor_process(server, tmp_path):
    teller = sign_in(server, 1)
    use_policy(server, policy_by_name("rollout", base="fifo"))
    pids = tmp_path / "pids"
    server.engine.advise = partial(predictor_probes.advise_noting_pid, str(pids))
    # What runs where is checked here, not how fast: a loaded machine may take long.
    server.engine.advice_timeout_s = 30.0
    regular, care = regular_then_care(server)
    server.settled_prediction()  # the predictor process is up (it starts on first use)
    key = {"Idempotency-Key": "call-1"}
    called = teller.post("/counters/1/call-next", headers=key).json()["ticket"]
    # FIFO calls the regular customer; the care customer would then miss their target by minutes.
    assert called["id"] == care["id"] and called["state"] == "called" and called["counter"] == 1
    ran_in = {int(line) for line in pids.read_text().split()}
    assert ran_in and os.getpid() not in ran_in
    # A retry of the same call gets the same customer, and nobody else is called.
    again = teller.post("/counters/1/call-next", headers=key).json()["ticket"]
    assert again["id"] == care["id"]
    waiting = server.client("display").get("/snapshot").json()["tickets"]
    assert {t["id"]: t["state"] for t in waiting}[regular["id"]] == "waiting"


def test_a_broken_lookahead_falls_back_to_the_base_policy(server):
    teller = sign_in(server, 1)
    use_policy(server, policy_by_name("rollout", base="fifo"))
    server.engine.advise = predictor_probes.advise_failing
    regular, _care = regular_then_care(server)
    called = teller.post("/counters/1/call-next").json()["ticket"]
    assert called["id"] == regular["id"]  # FIFO's call


def test_a_slow_lookahead_falls_back_in_time_and_the_loop_keeps_serving(server):
    teller = sign_in(server, 1)
    use_policy(server, policy_by_name("rollout", base="fifo"))
    entered, release = threading.Event(), threading.Event()

    def stuck(*args: Any) -> int | None:
        entered.set()
        release.wait(30)  # never holds the test's thread longer than this
        return None

    engine = server.engine
    engine.predictor = ThreadPoolExecutor(1)
    engine.advise = stuck
    regular, _care = regular_then_care(server)
    answer: dict[str, Any] = {}
    calling = threading.Thread(
        target=lambda: answer.update(teller.post("/counters/1/call-next").json())
    )
    try:
        calling.start()
        assert entered.wait(10)
        # The lookahead is stuck: other requests are still served meanwhile.
        assert server.client("display").get("/snapshot").status_code == 200
        calling.join(timeout=10)
        assert not calling.is_alive() and not release.is_set()
        assert answer["ticket"]["id"] == regular["id"]  # the base policy's call, on time
    finally:
        release.set()
        calling.join(timeout=10)
        engine.predictor.shutdown(wait=True)
