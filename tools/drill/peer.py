"""The Qt clients of `branchq drill network`: a kiosk and a counter on the real BranchClient.

The drill (tools/drill/network.py) cannot import Qt — the server package never does —
so it runs this module as a subprocess pointed at its faulty link, and reads what the
clients saw as JSON lines on standard output, each with the system's monotonic clock
(`time.monotonic()`, the same clock in every process on the machine):

    {"t", "client", "type": "online", "value": bool}             connectedChanged
    {"t", "client", "type": "snapshot" | "resume", "seq"}       how the stream came up
    {"t", "client", "type": "event", "seq", "kind", "ticket"}   every event the model applied
    {"t", "client": "kiosk", "type": "issued", "key", "id", "number", "business_day",
     "service", "status"}  /  {"type": "issue_failed", "key", "status", "code"}
    {"t", "client": "counter", "type": "op", "op": "call"|"start"|"finish", "key", "ticket"}
    {"client", "type": "final", "seq", "epoch", "tickets": {id: state}}   after "stop"

While online, the kiosk issues a ticket every `--issue-every` seconds (one Idempotency-Key
per ticket, retried by the client itself) and the counter calls, starts and finishes its
customers. Writing "pause" on standard input stops their actions (the clients stay
connected); "stop" prints each client's final model and exits.

    python -m tools.drill.peer --server http://127.0.0.1:PORT --kiosk-token T \
        --counter-token T --counter 1 --services A,B
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from functools import partial
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from ui.client import ApiError, BranchClient, Reply


def emit(record: dict[str, Any]) -> None:
    record.setdefault("t", time.monotonic())
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def follow(name: str, client: BranchClient) -> None:
    """Report what one client shows: online, how it synced, and every event it applied."""
    client.connectedChanged.connect(
        lambda online: emit({"client": name, "type": "online", "value": bool(online)})
    )

    def synced(online: bool) -> None:
        if online and client.last_sync == "resume":
            emit({"client": name, "type": "resume", "seq": client.model.seq})

    client.connectedChanged.connect(synced)
    client.snapshotLoaded.connect(
        lambda: emit({"client": name, "type": "snapshot", "seq": client.model.seq})
    )

    def event(ev: dict[str, Any]) -> None:
        ticket = ev.get("ticket") or {}
        emit(
            {
                "client": name,
                "type": "event",
                "seq": ev["seq"],
                "kind": ev["kind"],
                "ticket": ticket.get("id"),
            }
        )

    client.eventReceived.connect(event)


class Kiosk(QObject):
    """Issues a ticket now and then while online; reports each answer."""

    def __init__(self, client: BranchClient, services: list[str], every_s: float) -> None:
        super().__init__()
        self.client = client
        self.services = services
        self.n = 0
        self.busy = False
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.tick)
        self.timer.start(int(every_s * 1000))

    def tick(self) -> None:
        if self.busy or not self.client.online:
            return
        self.busy = True
        service = self.services[self.n % len(self.services)]
        self.n += 1
        reply = self.client.issue_ticket(service)
        reply.then(partial(self.answered, reply, service))

    def answered(self, reply: Reply, service: str, data: Any, error: ApiError | None) -> None:
        self.busy = False
        if error is not None:
            emit(
                {
                    "client": "kiosk",
                    "type": "issue_failed",
                    "key": reply.idempotency_key,
                    "status": error.status,
                    "code": error.code,
                }
            )
            return
        emit(
            {
                "client": "kiosk",
                "type": "issued",
                "key": reply.idempotency_key,
                "id": data["id"],
                "number": data["number"],
                "business_day": data["business_day"],
                "service": data["service"],
            }
        )


class Teller(QObject):
    """call-next → start → finish at one counter while online; the model says where it is."""

    def __init__(self, client: BranchClient, counter: int, every_s: float) -> None:
        super().__init__()
        self.client = client
        self.counter = counter
        self.busy = False
        self.call_key: str | None = None  # kept until a call is answered: a retry reuses it
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.tick)
        self.timer.start(int(every_s * 1000))

    def tick(self) -> None:
        if self.busy or not self.client.online:
            return
        current = self.client.model.ticket_at(self.counter)
        self.busy = True
        if current is None:
            reply = self.client.call_next(self.counter, idempotency_key=self.call_key)
            self.call_key = reply.idempotency_key
            op, tid = "call", None
        elif current["state"] == "called":
            reply = self.client.start_serving(self.counter, current["id"])
            op, tid = "start", current["id"]
        else:
            reply = self.client.finish(self.counter, current["id"])
            op, tid = "finish", current["id"]
        reply.then(partial(self.answered, op, tid, reply))

    def answered(
        self, op: str, tid: int | None, reply: Reply, data: Any, error: ApiError | None
    ) -> None:
        self.busy = False
        if error is not None:
            if op == "call" and not error.offline:
                self.call_key = None  # refused, not lost: the next call is a new one
            return
        if op == "call":
            self.call_key = None
            ticket = data.get("ticket")
            if ticket is None:
                return
            tid = ticket["id"]
        emit(
            {
                "client": "counter",
                "type": "op",
                "op": op,
                "key": reply.idempotency_key,
                "ticket": tid,
                "counter": self.counter,
            }
        )


class StdinReader(QObject):
    """Lines of standard input, read on a thread and handed to the Qt thread as a signal."""

    line = Signal(str)

    def start(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for text in sys.stdin:
            self.line.emit(text.strip())
        self.line.emit("stop")  # the drill went away


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--server", required=True, help="base URL, e.g. http://127.0.0.1:8470")
    p.add_argument("--kiosk-token", required=True, help="a kiosk token")
    p.add_argument("--counter-token", required=True, help="a counter:N token")
    p.add_argument("--counter", type=int, required=True, help="the counter N")
    p.add_argument("--services", default="A", help="businesses the kiosk issues, comma-separated")
    p.add_argument("--issue-every", type=float, default=0.4, help="seconds between tickets")
    p.add_argument("--act-every", type=float, default=0.3, help="seconds between teller steps")
    args = p.parse_args(argv)

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    clients = {
        "kiosk": BranchClient(args.server, args.kiosk_token),
        "counter": BranchClient(args.server, args.counter_token),
    }
    for name, client in clients.items():
        follow(name, client)
        client.start()
    kiosk = Kiosk(clients["kiosk"], args.services.split(","), args.issue_every)
    teller = Teller(clients["counter"], args.counter, args.act_every)

    def on_line(text: str) -> None:
        if text in ("pause", "stop"):
            kiosk.timer.stop()
            teller.timer.stop()
        if text != "stop":
            return
        for name, client in clients.items():
            model = client.model
            emit(
                {
                    "client": name,
                    "type": "final",
                    "seq": model.seq,
                    "epoch": model.epoch,
                    "online": client.online,
                    "tickets": {str(k): t["state"] for k, t in model.tickets.items()},
                }
            )
            client.stop()
        app.quit()

    reader = StdinReader()
    reader.line.connect(on_line)
    reader.start()
    app.exec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
