"""Many counters and kiosks at the same instant, each on its own thread and connection."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest
from conftest import PIN, LiveServer, make_db


def many_counter_branch(n: int) -> dict:
    return {
        "branch": {"name": "大支行 Big Branch", "id": "big"},
        "services": [{"code": "A", "names": {"zh": "现金", "en": "Cash"}}],
        "counters": [{"number": i, "skills": ["A"]} for i in range(1, n + 1)],
    }


def run_threads(n: int, work) -> list:
    barrier = threading.Barrier(n, timeout=30)
    results: list = [None] * n
    errors: list = []

    def runner(i: int) -> None:
        try:
            results[i] = work(i, barrier)
        except Exception as exc:  # reported below, never lost with the thread
            errors.append(exc)

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return results


@pytest.mark.slow  # 20 threads through 150 tickets: 16 s on a loaded 2-core box
def test_twenty_counters_calling_at_once_never_share_a_customer(tmp_path, clock):
    db = tmp_path / "big.db"
    tokens = make_db(db, many_counter_branch(20))
    server = LiveServer(db, tokens, clock).start()
    try:
        kiosk = server.client("kiosk")
        issued = {kiosk.post("/tickets", json={"service": "A"}).json()["id"] for _ in range(150)}

        def counter(i: int, barrier: threading.Barrier) -> list[int]:
            n = i + 1
            auth = {"Authorization": f"Bearer {tokens[f'counter:{n}']}"}
            got = []
            with httpx.Client(base_url=server.base_url + "/api/v1", headers=auth, timeout=10) as c:
                c.post(f"/counters/{n}/sign-in", json={"staff_id": f"t{n}", "pin": PIN})
                barrier.wait()
                while True:
                    r = c.post(f"/counters/{n}/call-next")
                    assert r.status_code == 200, r.text
                    ticket = r.json()["ticket"]
                    if ticket is None:
                        return got
                    got.append(ticket["id"])
                    assert c.post(f"/counters/{n}/start").status_code == 200
                    assert c.post(f"/counters/{n}/finish").status_code == 200

        per_counter = run_threads(20, counter)
        called = [tid for ids in per_counter for tid in ids]
        assert len(called) == len(set(called)), "a customer was called at two counters"
        assert set(called) == issued
        assert sum(1 for ids in per_counter if ids) > 1  # they really ran side by side
        # And the log agrees: exactly one 'called' event per ticket.
        rows = server.engine.read_conn.execute(
            "SELECT ticket_id, COUNT(*) FROM events WHERE kind = 'ticket.called' GROUP BY ticket_id"
        ).fetchall()
        assert len(rows) == 150 and all(r[1] == 1 for r in rows)
    finally:
        server.stop()


def test_eight_kiosks_issuing_at_once_get_unique_numbers(server):
    def kiosk(i: int, barrier: threading.Barrier) -> list[str]:
        auth = {"Authorization": f"Bearer {server.tokens['kiosk']}"}
        with httpx.Client(base_url=server.base_url + "/api/v1", headers=auth, timeout=10) as c:
            barrier.wait()
            numbers = []
            for k in range(40):
                key = {"Idempotency-Key": f"kiosk{i}-ticket{k:04d}"}
                r = c.post("/tickets", json={"service": "A"}, headers=key)
                assert r.status_code == 201, r.text
                numbers.append(r.json()["number"])
            return numbers

    numbers = [n for batch in run_threads(8, kiosk) for n in batch]
    duplicates = [n for n, k in Counter(numbers).items() if k > 1]
    assert not duplicates
    assert sorted(numbers) == [f"A{i:03d}" for i in range(1, 321)]
