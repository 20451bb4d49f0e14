"""A PIN guesser against a real server: guesses fired at once, the audit log, a restart.

The lock-out allows five wrong PINs per staff id; these tests check that no more than five
PINs are ever checked, however the guesses are timed, and that neither a burst nor a server
restart gets a guesser past the lock.
"""

from __future__ import annotations

import asyncio

import httpx
from conftest import PIN, LiveServer

ALLOWED = 5  # wrong PINs before the lock (PinLockout.max_failures)


def _sign_in(client: httpx.Client, staff_id: str, pin: str) -> httpx.Response:
    return client.post("/counters/1/sign-in", json={"staff_id": staff_id, "pin": pin})


async def _burst(server: LiveServer, pins: list[str]) -> list[tuple[str, int, str]]:
    """Every PIN for t1 at once, each on its own connection: (pin, status, error code)."""
    limits = httpx.Limits(max_connections=len(pins), max_keepalive_connections=0)
    headers = {"Authorization": f"Bearer {server.tokens['counter:1']}"}
    async with httpx.AsyncClient(
        base_url=server.base_url + "/api/v1", headers=headers, timeout=30, limits=limits
    ) as client:

        async def one(pin: str) -> tuple[str, int, str]:
            r = await client.post("/counters/1/sign-in", json={"staff_id": "t1", "pin": pin})
            code = r.json()["error"]["code"] if r.status_code >= 400 else ""
            return pin, r.status_code, code

        return list(await asyncio.gather(*(one(p) for p in pins)))


def _staff_locks(server: LiveServer) -> list[dict]:
    entries = server.client("manager").get("/audit", params={"limit": 1000}).json()
    return [e for e in entries if e["action"] == "staff.locked"]


def test_thirty_guesses_at_once_check_at_most_five_pins(server):
    wrong = [f"{n:04d}" for n in range(1000, 1029)]
    answers = asyncio.run(_burst(server, [*wrong, PIN]))
    statuses = [status for _, status, _ in answers]
    assert set(statuses) <= {200, 401, 429}, answers
    right = [status for pin, status, _ in answers if pin == PIN]
    checked_wrong = statuses.count(401)
    if right == [200]:
        # The right PIN was among the PINs checked: with it, at most five were tried.
        assert checked_wrong + 1 <= ALLOWED, answers
        assert _staff_locks(server) == []
    else:
        # Five wrong PINs were checked (the fifth answered 429 as it locked the id), and
        # everything else was refused unchecked, the right PIN included.
        assert right == [429], answers
        assert checked_wrong == ALLOWED - 1, answers
        assert statuses.count(429) == len(answers) - checked_wrong
        assert _sign_in(server.client("counter:1"), "t1", PIN).status_code == 429
        (locked,) = _staff_locks(server)
        assert (locked["target"], locked["actor"]) == ("staff t1", "counter:1")
    counter = server.client("manager").get("/counters/1").json()
    assert (counter["staff_id"] == "t1") == (right == [200])


def test_a_lock_out_is_audited_and_survives_a_restart(branch_db, clock):
    db, tokens = branch_db
    first = LiveServer(db, tokens, clock).start()
    try:
        c1 = first.client("counter:1")
        for _ in range(ALLOWED - 1):
            assert _sign_in(c1, "t1", "0000").status_code == 401
        locked = _sign_in(c1, "t1", "0000")
        assert locked.status_code == 429
        (entry,) = _staff_locks(first)
        assert entry["target"] == "staff t1" and entry["actor"] == "counter:1"
        assert entry["after"]["wrong_pins"] == ALLOWED and "pin" not in entry["after"]
        port = first.port
    finally:
        first.stop()
    clock.advance(minutes=10)
    second = LiveServer(db, tokens, clock, port=port).start()
    try:
        c1 = second.client("counter:1")
        refused = _sign_in(c1, "t1", PIN)
        assert refused.status_code == 429
        assert 4 * 60 <= int(refused.headers["Retry-After"]) <= 5 * 60
        assert len(_staff_locks(second)) == 1  # refusing while locked is not a new lock-out
        clock.advance(minutes=5, seconds=1)
        assert _sign_in(c1, "t1", PIN).status_code == 200
    finally:
        second.stop()


def test_wrong_pins_before_a_restart_still_count_after_it(branch_db, clock):
    db, tokens = branch_db
    first = LiveServer(db, tokens, clock).start()
    try:
        for _ in range(ALLOWED - 2):
            assert _sign_in(first.client("counter:1"), "t1", "0000").status_code == 401
        port = first.port
    finally:
        first.stop()
    second = LiveServer(db, tokens, clock, port=port).start()
    try:
        c1 = second.client("counter:1")
        assert _sign_in(c1, "t1", "0000").status_code == 401
        assert _sign_in(c1, "t1", "0000").status_code == 429  # the fifth, across the restart
        assert _sign_in(c1, "t1", PIN).status_code == 429
        # Another teller's count was never touched.
        c2 = second.client("counter:2")
        assert (
            c2.post("/counters/2/sign-in", json={"staff_id": "t2", "pin": PIN}).status_code == 200
        )
    finally:
        second.stop()
