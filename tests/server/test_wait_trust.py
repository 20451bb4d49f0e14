"""One trustworthy wait (issue 18 item 5): a ticket's own wait from the moment it is issued,
and a prediction that does not move when nothing ahead of the customer changed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FakeClock, LiveServer

from queue_server.config import init_db, load_config
from tools.demo import DEMO_PIN, provision


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    db = tmp_path_factory.mktemp("demo") / "branch.db"
    config = load_config()
    init_db(db, config)
    return db, provision(db, config)


@pytest.fixture
def busy(
    demo_db: tuple[Path, dict[str, str]], tmp_path: Path, clock: FakeClock
) -> Iterator[LiveServer]:
    """The demo branch with 63 waiting and every counter busy (as the issue measured)."""
    src, tokens = demo_db
    db = tmp_path / "branch.db"
    db.write_bytes(src.read_bytes())
    live = LiveServer(db, tokens, clock).start()
    try:
        for number in range(1, 7):
            c = live.client(f"counter:{number}")
            body = {"staff_id": f"t{number:02d}", "pin": DEMO_PIN}
            c.post(f"/counters/{number}/sign-in", json=body).raise_for_status()
        kiosk = live.client("kiosk")
        for service, count in (("A", 24), ("B", 14), ("C", 10), ("K", 8), ("M", 7), ("L", 6)):
            for _ in range(count):
                kiosk.post("/tickets", json={"service": service}).raise_for_status()
        for number in range(1, 7):
            live.client(f"counter:{number}").post(
                f"/counters/{number}/call-next"
            ).raise_for_status()
        clock.advance(seconds=120)
        yield live
    finally:
        live.stop()


@pytest.mark.parametrize("priority", ["care", "appointment"])
def test_a_priority_ticket_issued_right_after_another_event_gets_its_own_wait(
    busy, clock, priority
):
    # Measured on main: issued within a second of another event (the cached prediction
    # predates it), a care or appointment ticket was printed with the regular newcomer's
    # wait (71 min) while the phone showed 1.3 min a second later.
    kiosk = busy.client("kiosk")
    qr = None
    if priority == "appointment":
        slot = "2026-11-27T10:30:00+08:00"  # the clock fixture's day
        booked = busy.client("manager").post(
            "/appointments", json={"service": "A", "slot_start": slot}
        )
        assert booked.status_code == 201, booked.text
        qr = booked.json()["qr"]
        clock.advance(minutes=28)  # the customer comes for the slot
        kiosk.post("/tickets", json={"service": "B"}).raise_for_status()  # predicted at 10:30
    busy.settled_prediction()
    regular = kiosk.post("/tickets", json={"service": "A"}).json()  # the other event
    if qr is None:
        response = kiosk.post("/tickets", json={"service": "A", "priority": priority})
        assert response.status_code == 201, response.text
        issued = response.json()
    else:
        response = kiosk.post("/appointments/check-in", json={"qr": qr})
        assert response.status_code == 201, response.text
        issued = response.json()["ticket"]
    assert issued["priority"] == priority
    busy.settled_prediction()
    later = kiosk.get(f"/tickets/{issued['id']}").json()
    later_regular = kiosk.get(f"/tickets/{regular['id']}").json()
    assert later["position"] < later_regular["position"]  # the policy serves it sooner
    assert issued["position"] == later["position"]
    # The printed wait is the ticket's own, not the regular newcomer's: within two minutes
    # (or a fifth) of the full prediction made for it a moment later.
    assert abs(issued["eta_s"] - later["eta_s"]) <= max(120.0, 0.2 * later["eta_s"]), (
        issued["eta_s"],
        later["eta_s"],
        later_regular["eta_s"],
    )
    assert issued["eta_s"] < later_regular["eta_s"]
