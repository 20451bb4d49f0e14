"""Listing one local day's bookings: slot times are stored in UTC, the day is the branch's."""

from __future__ import annotations


def test_an_early_morning_slot_is_listed_on_its_own_local_day(server):
    # 07:30 in Shanghai on the 28th is 23:30 UTC on the 27th.
    r = server.client("booking").post(
        "/appointments", json={"service": "C", "slot_start": "2026-11-28T07:30:00+08:00"}
    )
    assert r.status_code == 201, r.text
    booking = r.json()["booking_number"]

    def listed(day: str) -> list[str]:
        answer = server.client("booking").get("/appointments", params={"day": day})
        assert answer.status_code == 200, answer.text
        return [a["booking_number"] for a in answer.json()]

    assert listed("2026-11-28") == [booking]
    assert listed("2026-11-27") == []
