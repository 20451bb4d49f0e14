"""Booking across the network on real parts: two branch servers ship hellos (waits, place,
booking address) over HTTPS to a centre on PostgreSQL; the centre ranks them by wait +
travel, forwards a booking to the chosen branch, and its QR checks in at that branch."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from conftest import PIN, FakeClock

from central.booking import travel_min
from tools.booking_network import Network, start_network

SLOT = "2026-11-27T11:00:00+08:00"  # the clock fixture stands at 10:00 in Shanghai
# The customer, 1.0 km west of sh-east and 8.6 km east of sh-west.
NEAR_EAST = (31.2300, 121.5195)
ELSEWHERE = (31.2301, 121.6100)  # well east of both: travel decides


@pytest.fixture
def network(
    central_dsn: str,
    tmp_path: Path,
    template_db: tuple[Path, dict[str, str]],
    clock: FakeClock,
) -> Iterator[Network]:
    template, tokens = template_db
    net = start_network(central_dsn, tmp_path, template, tokens, clock, log_level="info")
    try:
        yield net
    finally:
        net.stop()


def _trust(net: Network) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(net.cert))


def sign_in_at(counter: httpx.Client, number: int) -> None:
    r = counter.post(f"/counters/{number}/sign-in", json={"staff_id": f"t{number}", "pin": PIN})
    assert r.status_code == 200, r.text


def _search(net: Network, customer: tuple[float, float] | None, **q: str) -> dict[str, Any]:
    params = {"service": "A", **q}
    if customer is not None:
        params |= {"lat": str(customer[0]), "lon": str(customer[1])}
    with httpx.Client(base_url=net.centre_url, verify=_trust(net), timeout=10) as c:
        r = c.get("/api/v1/book/branches", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_branches_rank_by_wait_plus_travel_and_a_booking_checks_in_at_its_branch(
    network: Network, clock: FakeClock
) -> None:
    east, west = network.branches["sh-east"], network.branches["sh-west"]
    # Both open a counter for A; twelve customers already queue at sh-east.
    for b in (east, west):
        sign_in_at(b.client("counter:1", network.cert), 1)
    kiosk = east.client("kiosk", network.cert)
    for _ in range(12):
        assert kiosk.post("/tickets", json={"service": "A"}).status_code == 201
    east.settled()  # the wait prediction of this queue has finished

    def kiosk_shows() -> Any:
        return kiosk.get("/snapshot").json()["waiting"]["A"]["wait_min"]

    # The centre holds the figure the kiosk shows (checked at each hello until they meet).
    assert network.heard("sh-east", lambda r: r["waits"]["A"]["wait_min"] == kiosk_shows())
    assert network.reach("sh-east")["waits"]["A"]["wait_min"] >= 30  # type: ignore[index]
    assert network.heard("sh-west", lambda r: r["waits"]["A"]["wait_min"] == 0)
    assert network.reach("sh-east")["booking_url"] == east.url  # type: ignore[index]

    # Near sh-east, but its queue outweighs the 8.6 km to sh-west.
    near = _search(network, NEAR_EAST)
    order = [b["branch"] for b in near["branches"]]
    assert order == ["sh-west", "sh-east"], near["branches"]
    for b in near["branches"]:
        assert b["total_min"] == b["wait_min"] + b["travel_min"]
        # the distance is shown to 0.1 km, the travel is of the exact one
        assert abs(b["travel_min"] - travel_min(b["distance_km"])) <= 1
    assert near["branches"][1]["travel_min"] < near["branches"][0]["travel_min"]
    # With no location the wait alone ranks, and no travel is made up.
    blind = _search(network, None)
    assert [b["branch"] for b in blind["branches"]] == ["sh-west", "sh-east"]
    assert all(b["travel_min"] is None and b["total_min"] is None for b in blind["branches"])

    # At a slot: sh-west's 11:00 is full (three counters serve A), so only sh-east is offered.
    booking_west = west.client("booking", network.cert)
    for _ in range(3):
        r = booking_west.post("/appointments", json={"service": "A", "slot_start": SLOT[:16]})
        assert r.status_code == 201, r.text
    at_slot = _search(network, ELSEWHERE, slot=SLOT)
    assert at_slot["ranked_by"] == "slot"
    assert [b["branch"] for b in at_slot["branches"]] == ["sh-east"]
    assert at_slot["branches"][0]["slot_free"] == 3
    assert {(u["branch"], u["reason"]) for u in at_slot["unavailable"]} == {("sh-west", "full")}

    # Booked through the centre at sh-east: the branch's own answer comes back unchanged.
    with httpx.Client(base_url=network.centre_url, verify=_trust(network), timeout=10) as c:
        booked = c.post(
            "/api/v1/book", json={"branch": "sh-east", "service": "A", "slot_start": SLOT}
        )
    assert booked.status_code == 201, booked.text
    slip = booked.json()
    assert slip["qr"].startswith("BQA1.") and slip["qr_svg"].startswith("<svg")
    at_branch = east.client("booking", network.cert).get("/appointments").json()
    assert [(a["booking_number"], a["state"]) for a in at_branch] == [
        (slip["booking_number"], "booked")
    ]
    clock.advance(minutes=50)  # 10:50: early for 11:00, as a customer arrives
    checked = kiosk.post("/appointments/check-in", json={"qr": slip["qr"]})
    assert checked.status_code == 201, checked.text
    assert checked.json()["ticket"]["source"] == "appointment"
    # The same code at the other branch is refused: it belongs to sh-east.
    west_kiosk = west.client("kiosk", network.cert)
    refused = west_kiosk.post("/appointments/check-in", json={"qr": slip["qr"]})
    assert refused.status_code >= 400


def test_a_silent_branch_is_not_offered_and_cannot_be_booked(network: Network) -> None:
    for b in network.branches.values():
        sign_in_at(b.client("counter:1", network.cert), 1)
    for branch in network.branches:
        assert network.heard(branch, lambda r: r["waits"]["A"]["wait_min"] == 0)
    network.branches["sh-west"].stop()  # cut off: its last hello ages
    with psycopg.connect(network.dsn) as conn:
        conn.execute(
            "UPDATE booking_reach SET heard_at = now() - interval '61 seconds' "
            "WHERE branch_id = 'sh-west'"
        )
    found = _search(network, NEAR_EAST)
    assert [b["branch"] for b in found["branches"]] == ["sh-east"]
    assert found["unavailable"] == [
        {
            "branch": "sh-west",
            "name": "上海西康路支行",
            "service_names": {"zh": "现金", "en": "Cash"},
            "reason": "wait_unknown",
        }
    ]  # no wait, distance or total: "wait unknown" is never a number
    with httpx.Client(base_url=network.centre_url, verify=_trust(network), timeout=10) as c:
        r = c.post("/api/v1/book", json={"branch": "sh-west", "service": "A", "slot_start": SLOT})
        assert (r.status_code, r.json()["error"]["code"]) == (409, "branch_unreachable")
        r = c.get("/api/v1/book/slots", params={"branch": "nowhere", "service": "A"})
        assert (r.status_code, r.json()["error"]["code"]) == (404, "unknown_branch")
        r = c.get("/api/v1/book/branches", params={"service": "A", "lat": "31.2"})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "half_a_location")


def test_the_customers_position_is_neither_logged_nor_stored(network: Network) -> None:
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    keep = Keep()
    access = logging.getLogger("uvicorn.access")
    level = access.level
    # The branch servers' uvicorn set this process-wide logger to warnings; the centre's
    # own runs at info, as a deployment logging requests would.
    access.setLevel(logging.INFO)
    for name in ("uvicorn.access", "uvicorn.error", "central", ""):
        logging.getLogger(name).addHandler(keep)
    try:
        for branch in network.branches:
            assert network.heard(branch, lambda r: "A" in r["waits"])
        found = _search(network, (31.24681, 121.46802), slot=SLOT)
        assert found["located"] and found["branches"]
    finally:
        for name in ("uvicorn.access", "uvicorn.error", "central", ""):
            logging.getLogger(name).removeHandler(keep)
        access.setLevel(level)
    assert any("/api/v1/book/branches" in line for line in seen), seen  # the log did run
    assert not [line for line in seen if "31.2468" in line or "121.468" in line]
    with psycopg.connect(network.dsn) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
            "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")]  # fmt: skip
        for table in tables:
            hits = conn.execute(
                f"SELECT count(*) FROM {table} t "  # a catalogue name, not a value
                "WHERE t::text LIKE '%%31.2468%%' OR t::text LIKE '%%121.468%%'"
            ).fetchone()
            assert hits == (0,), table


def _times(net: Network, **q: str) -> httpx.Response:
    with httpx.Client(base_url=net.centre_url, verify=_trust(net), timeout=10) as c:
        return c.get("/api/v1/book/times", params={"service": "A", **q})


def test_the_picker_gets_the_networks_next_days_and_times_with_room(network: Network) -> None:
    """The days and times come from the branches themselves (their calendar and room); a
    time full at one branch counts one branch fewer, full at every branch it is not offered,
    and a branch the centre has not heard from for a minute is not asked."""
    for branch in network.branches:
        assert network.heard(branch, lambda r: r["booking_url"] is not None)
    found = _times(network)
    assert found.status_code == 200, found.text
    times = found.json()
    assert times["today"] == "2026-11-27"  # the branches' day, not the centre's clock
    assert [d["day"] for d in times["days"]] == [f"2026-11-{n}" for n in (27, 28, 29, 30)] + [
        "2026-12-01"
    ]
    today = {s["slot_start"]: s["branches"] for s in times["days"][0]["slots"]}
    assert min(today) == "2026-11-27T10:30:00+08:00"  # 10:00 has started: it is not offered
    assert today[SLOT] == 2

    desks = {b: network.branches[b].client("booking", network.cert) for b in network.branches}

    def fill(branch: str) -> None:
        while (
            desks[branch]
            .post("/appointments", json={"service": "A", "slot_start": SLOT})
            .is_success
        ):
            pass

    fill("sh-east")
    after = {s["slot_start"]: s["branches"] for s in _times(network).json()["days"][0]["slots"]}
    assert after[SLOT] == 1
    fill("sh-west")
    after = {s["slot_start"]: s["branches"] for s in _times(network).json()["days"][0]["slots"]}
    assert SLOT not in after and after["2026-11-27T11:30:00+08:00"] == 2

    # Every branch falls silent: stopped first, or a hello in between would refresh it.
    for branch in network.branches.values():
        branch.stop()
    with psycopg.connect(network.dsn) as conn:
        conn.execute("UPDATE booking_reach SET heard_at = now() - interval '61 seconds'")
    assert _times(network).json() == {"service": "A", "today": None, "days": []}
    r = _times(network, service="A;drop")
    assert r.status_code == 422  # the business code is checked before any branch is asked
