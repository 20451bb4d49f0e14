"""The branch as a client sees it: rebuilt from a snapshot, kept current by events.

Plain Python (no Qt), so presenters and tests can drive it without a server. The server is
the source of truth; this model holds nothing it cannot rebuild from a fresh snapshot.
"""

from __future__ import annotations

from typing import Any

from wire import CALL_KINDS, FINAL_STATES, WaitingSummary

RECENT_CALLS = 20  # as many as the server's snapshot carries


class GapError(Exception):
    """An event arrived out of sequence: the model cannot be trusted until resynced."""


class BranchModel:
    """Branch info, services, counters, open tickets, recent calls, waiting, devices."""

    def __init__(self) -> None:
        self.epoch: str | None = None
        self.seq = 0
        self.at: str | None = None  # the server time of the last snapshot or event
        self.business_day: str | None = None
        self.branch: dict[str, Any] = {}
        self.services: dict[str, dict[str, Any]] = {}  # by code, in display order
        self.bundles: dict[str, dict[str, Any]] = {}  # one-stop visits, by code
        self.counters: dict[int, dict[str, Any]] = {}  # by number
        self.tickets: dict[int, dict[str, Any]] = {}  # open tickets by id
        self.recent_calls: list[dict[str, Any]] = []  # newest call first
        self.devices: dict[str, dict[str, Any]] = {}  # by device name
        # Per business code, the server's waiting summary (count, longest wait, open counters,
        # a newcomer's predicted wait): the snapshot's, then every "waits" message's. Shown
        # as sent; the model recounts nothing and applies no wait rule of its own.
        self.waiting: dict[str, WaitingSummary] = {}
        self.waits_after_seq: int | None = None  # the event seq the server's figures are for
        self.waiting_at: str | None = None  # the server time the figures were counted at

    @property
    def loaded(self) -> bool:
        return self.epoch is not None

    def load_snapshot(self, snap: dict[str, Any]) -> None:
        """Replace everything with a snapshot (a first load or a resync)."""
        self.epoch = snap["epoch"]
        self.seq = int(snap["seq"])
        self.at = snap.get("at")
        self.business_day = snap.get("business_day")
        self.branch = dict(snap.get("branch", {}))
        self.services = {s["code"]: s for s in snap.get("services", [])}
        self.bundles = {b["code"]: b for b in snap.get("bundles", [])}
        self.counters = {int(c["number"]): c for c in snap.get("counters", [])}
        self.tickets = {int(t["id"]): t for t in snap.get("tickets", [])}
        self.recent_calls = list(snap.get("recent_calls", []))
        self.devices = {d["device"]: d for d in snap.get("devices", [])}
        self.waiting = dict(snap.get("waiting", {}))
        self.waits_after_seq = self.seq
        self.waiting_at = self.at

    def apply_waits(self, message: dict[str, Any]) -> bool:
        """Take the server's newest waiting summary (a "waits" message); False if not ours.

        Not an event: it has no seq of its own and never moves `seq` (the resume position).
        A message from another epoch (a restarted server) is ignored: a snapshot follows.
        """
        if message.get("epoch") != self.epoch or not isinstance(message.get("waits"), dict):
            return False
        self.waiting.update(message["waits"])
        self.waits_after_seq = message.get("after_seq")
        self.waiting_at = message.get("at", self.waiting_at)
        return True

    def apply(self, event: dict[str, Any]) -> bool:
        """Apply one event; False for one already applied. Raises GapError on a gap."""
        seq = int(event["seq"])
        if seq <= self.seq:
            return False  # already in the snapshot or seen before a resume
        if seq != self.seq + 1:
            raise GapError(f"expected event {self.seq + 1}, got {seq}")
        self.seq = seq
        self.at = event.get("at", self.at)
        if (service := event.get("service")) is not None:
            self.services[service["code"]] = service
        if (counter := event.get("counter")) is not None:
            self.counters[int(counter["number"])] = counter
        if (device := event.get("device")) is not None:
            self.devices[device["device"]] = device
        if (ticket := event.get("ticket")) is not None:
            self._apply_ticket(event["kind"], ticket)
        self._apply_configuration(event)
        return True

    def _apply_configuration(self, event: dict[str, Any]) -> None:
        """A head-office configuration: new bundles, kiosk texts and voice pack, businesses
        removed (the updated ones came as `service.updated` events just before)."""
        data = event.get("data") or {}
        if event["kind"] == "config.applied":
            if isinstance(data.get("bundles"), list):
                self.bundles = {b["code"]: b for b in data["bundles"]}
            if isinstance(data.get("opening_hours"), dict):
                self.branch["opening_hours"] = data["opening_hours"]
            self.branch.update({k: data[k] for k in ("kiosk_texts", "voice_pack") if k in data})
            gone = data.get("removed") or []
        elif event["kind"] == "config.business_retired":
            gone = data.get("services") or []
        else:
            return
        for code in gone:
            self.services.pop(code, None)

    def _apply_ticket(self, kind: str, ticket: dict[str, Any]) -> None:
        tid = int(ticket["id"])
        if ticket["state"] in FINAL_STATES:
            self.tickets.pop(tid, None)
        else:
            self.tickets[tid] = ticket
        if kind in CALL_KINDS:
            rest = [t for t in self.recent_calls if t["id"] != tid]
            self.recent_calls = [ticket, *rest][:RECENT_CALLS]
        else:
            # A called customer who is later served or finished stays in the recent list,
            # with their current state.
            self.recent_calls = [ticket if t["id"] == tid else t for t in self.recent_calls]

    def business_of(self, service: str, bundle: str | None = None) -> dict[str, Any]:
        """What a ticket is for, as the customer was told: its one-stop bundle if it has one,
        else its business ({} when neither is known)."""
        found = self.bundles.get(bundle) if bundle else None
        return found or self.services.get(service, {})

    def waiting_tickets(self, service: str | None = None) -> list[dict[str, Any]]:
        """Waiting tickets, oldest first (the calling order is the server's to decide)."""
        found = [t for t in self.tickets.values() if t["state"] == "waiting"]
        if service is not None:
            found = [t for t in found if t["service"] == service]
        return sorted(found, key=lambda t: (t["arrived_at"], t["id"]))

    def ticket_at(self, counter: int) -> dict[str, Any] | None:
        """The customer called to or being served at a counter, if any."""
        for t in self.tickets.values():
            if t.get("counter") == counter and t["state"] in ("called", "serving"):
                return t
        return None
