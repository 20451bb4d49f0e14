"""After a busy simulated day, no planted ID number, name or phone number is anywhere.

tests/server/test_eform.py scans a short morning of four people. This one plants forty
made-up people (ID number, name, mobile number) into a whole business day on the real
server — identification, e-forms, phone opt-ins, calls, transfers, no-shows, cancels,
ratings, over six hours of a fake clock — then scans every place the data could leak to:
the SQLite file and its WAL (and the file after shutdown), everything logged, every frame
of the event stream as the hall display and the manager see it, every API answer
(tickets, public live pages, notify status, snapshots of each role), the text the ticket
printer would get, and the display's and live page's text catalogs. Forms still open at the
end of the day must be purged by the rollover.
"""

from __future__ import annotations

import json
import logging
import random
import sys
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import LiveServer, sign_in
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
import visit_helpers as vh  # tests/server/visit_helpers.py: the branch with forms, people

from kiosk.flow import IssuedTicket
from kiosk.printing import ticket_content

visit_template, visit_db, visit_server = vh.visit_template, vh.visit_db, vh.visit_server
pytestmark = pytest.mark.slow

SURNAMES = ("慕容", "上官", "司徒", "诸葛", "东方")
GIVEN = ("晓峰", "雨桐", "子墨", "浩然", "若曦", "景天", "紫萱", "长卿")
LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "queue_server", "fastapi")
COUNTERS = (1, 2, 3)
STEP_MINUTES = 4  # one step of the day: customers arrive, every counter moves one customer on


@dataclass(frozen=True)
class Person:
    id_number: str
    name: str
    birth: str
    phone: str

    def identity(self) -> dict[str, str]:
        return {"id_number": self.id_number, "birth_date": self.birth}

    def eform(self) -> dict[str, str]:
        return {
            "name": self.name,
            "id_number": self.id_number,
            "birth_date": self.birth,
            "address": vh.ADDRESS,
            "gender": "男",
        }


def people(count: int = 40, seed: int = 7) -> list[Person]:
    rng = random.Random(seed)
    found = []
    for i in range(count):
        birth = date(rng.randint(1935, 2004), rng.randint(1, 12), rng.randint(1, 28))
        number = vh.make_id(birth, rng.choice(("110101", "310104", "440305")), f"{i:03d}")
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[i // len(SURNAMES) % len(GIVEN)]
        phone = f"13{rng.randint(5, 9)}{rng.randint(10_000_000, 99_999_999)}"
        found.append(Person(number, name, birth.isoformat(), phone))
    return found


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class Stream:
    """Every frame of the event stream for one role, read on a thread."""

    def __init__(self, server: LiveServer, role: str) -> None:
        self.frames: list[str] = []
        self._ws = connect(f"{server.ws_url}?token={server.tokens[role]}", open_timeout=5)
        self._ws.__enter__()  # closed by close()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for frame in self._ws:
                self.frames.append(str(frame))
        except Exception:  # closed at the end of the test
            return

    def seen(self) -> int:
        seq = 0
        for frame in list(self.frames):
            message = json.loads(frame)
            if message.get("type") == "events":
                seq = max([seq, *(e["seq"] for e in message["events"])])
            elif message.get("type") == "snapshot":
                seq = max(seq, int(message.get("seq") or 0))
        return seq

    def close(self) -> None:
        self._ws.close()
        self._thread.join(5)


def needles(crowd: list[Person], phones: bool) -> list[str]:
    values = [p.id_number for p in crowd] + [p.id_number[:17] for p in crowd]
    values += [p.name for p in crowd] + [vh.ADDRESS]
    if phones:
        values += [p.phone for p in crowd] + [p.phone[3:] for p in crowd]
    return values


def hits_in(text: str | bytes, where: str, values: list[str]) -> list[str]:
    found = []
    for value in values:
        for form in {value, json.dumps(value)[1:-1]}:  # as is, and \\u-escaped
            needle: str | bytes = form.encode() if isinstance(text, bytes) else form
            if needle in text:
                found.append(f"{where} contains {form!r}")
    return found


def test_a_busy_day_leaves_no_personal_data_anywhere(visit_server, visit_db, clock):
    server = visit_server
    crowd = people()
    capture = Capture()
    saved = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).addHandler(capture)
        logging.getLogger(name).setLevel(logging.DEBUG)
    streams = [Stream(server, "display"), Stream(server, "manager")]
    try:
        day = BusyDay(server, clock, crowd)
        day.run()
        open_forms = day.leave_forms_open(crowd[-3:])
        last = server.client("admin").get("/snapshot").json()["seq"]
        for stream in streams:
            deadline = datetime.now(UTC).timestamp() + 10
            while stream.seen() < last and datetime.now(UTC).timestamp() < deadline:
                threading.Event().wait(0.05)  # the stream's thread is catching up
            assert stream.seen() >= last, "the event stream fell behind"
        answers = day.answers + day.final_views()
        db_bytes = visit_db.read_bytes()
        wal = visit_db.with_name(visit_db.name + "-wal")
        wal_bytes = wal.read_bytes() if wal.exists() else b""
        # A form goes when its visit ends; the ones still held are those of open visits.
        for ticket_id in day.finished_with_form:
            r = server.client("admin").get(f"/tickets/{ticket_id}/eform")
            assert (r.status_code, r.json()["error"]["code"]) == (404, "no_eform")
        still_open = server.client("admin").get("/snapshot").json()["tickets"]
        held = {t["id"] for t in still_open if t.get("has_eform")}
        assert set(open_forms) <= held and len(server.engine.eforms) == len(held)
        # The rollover: every form still held goes, read or not.
        clock.now = datetime(2026, 11, 27, 20, 30, tzinfo=UTC)  # 04:30 the next day
        for ticket_id in open_forms:
            r = server.client("admin").get(f"/tickets/{ticket_id}/eform")
            assert (r.status_code, r.json()["error"]["code"]) == (404, "no_eform")
        assert len(server.engine.eforms) == 0
    finally:
        for stream in streams:
            stream.close()
        for name in LOGGERS:
            logging.getLogger(name).removeHandler(capture)
            logging.getLogger(name).setLevel(saved[name])
    server.stop()

    values = needles(crowd, phones=day.phones_accepted > 0)
    assert day.identified >= 30 and day.with_form >= 10 and day.served >= 40
    assert len(day.finished_with_form) >= 3
    assert any("POST /api/v1/customers/identify" in line for line in capture.lines)
    hits = hits_in(db_bytes, "database file", values) + hits_in(wal_bytes, "WAL", values)
    hits += hits_in(visit_db.read_bytes(), "database after shutdown", values)
    hits += hits_in("\n".join(capture.lines), "server log", values)
    for stream, role in zip(streams, ("display", "manager"), strict=True):
        hits += hits_in("\n".join(stream.frames), f"event stream ({role})", values)
    hits += hits_in("\n".join(answers), "API answers", values)
    hits += hits_in("\n".join(day.printed), "printed tickets", values)
    assert hits == []
    # The scan finds what it looks for: the form as the counter reads it, a masked phone
    # answer does not count as the number.
    assert hits_in(json.dumps(day.form_read), "control", values)
    assert hits_in(json.dumps(crowd[0].phone), "control", needles(crowd, phones=True))


class BusyDay:
    """Six hours at three counters: arrivals every step, each counter moves a customer on."""

    def __init__(self, server: LiveServer, clock: Any, crowd: list[Person]) -> None:
        self.server = server
        self.clock = clock
        self.crowd = crowd
        self.kiosk = server.client("kiosk")
        self.public = server.client(None)
        self.admin = server.client("admin")
        self.counters = {n: sign_in(server, n) for n in COUNTERS}
        self.rng = random.Random(11)
        self.answers: list[str] = []
        self.printed: list[str] = []
        self.tickets: dict[int, dict[str, Any]] = {}
        self.identified = self.with_form = self.served = self.phones_accepted = 0
        self.form_read: dict[str, Any] = {}
        self.finished_with_form: list[int] = []
        self.snapshot = self.admin.get("/snapshot").json()

    def run(self, steps: int = 90) -> None:
        for step in range(steps):
            self.clock.advance(minutes=STEP_MINUTES)
            person = self.crowd[step % len(self.crowd)]
            self.arrive(person, step)
            if step % 3 == 0:
                self.arrive(None, step)
            for number, teller in self.counters.items():
                self.move_on(number, teller, step)

    def arrive(self, person: Person | None, step: int) -> None:
        body: dict[str, Any] = {"service": self.rng.choice(("A", "B", "C", "K"))}
        if person is not None:
            r = self.kiosk.post("/customers/identify", json=person.identity())
            self.answers.append(r.text)
            self.identified += r.status_code == 200
            body["identity"] = person.identity()
            if body["service"] in ("C", "K"):
                body["eform"] = person.eform()
                self.with_form += 1
        r = self.kiosk.post("/tickets", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert r.status_code == 201, r.text
        self.answers.append(r.text)
        ticket = r.json()
        self.tickets[ticket["id"]] = ticket
        self.print_ticket(ticket)
        token = ticket.get("token")
        if person is not None and token and step % 2 == 0:
            self.opt_in(token, person)
        if token:
            self.answers.append(self.public.get(f"/public/tickets/{token}").text)
        if step % 17 == 5:  # changes their mind
            self.answers.append(self.kiosk.post(f"/tickets/{ticket['id']}/cancel").text)

    def opt_in(self, token: str, person: Person) -> None:
        r = self.public.post(f"/public/tickets/{token}/notify", json={"phone": person.phone})
        if r.status_code == 404 and "unknown_ticket" not in r.text:
            return  # no phone opt-in on this server yet
        assert r.status_code == 200, r.text
        self.phones_accepted += 1
        self.answers.append(r.text)
        self.answers.append(self.public.get(f"/public/tickets/{token}/notify").text)

    def print_ticket(self, ticket: dict[str, Any]) -> None:
        """What the kiosk would send the printer for this ticket (its text fields)."""
        issued = IssuedTicket(
            id=ticket["id"],
            number=ticket["number"],
            service=ticket["service"],
            people_ahead=int(ticket.get("position") or 0),
            eta_s=ticket.get("eta_s"),
            url=f"{self.server.base_url}/t/{ticket.get('token', '')}",
            issued_at=str(ticket.get("issued_at") or ""),
            priority=str(ticket.get("priority") or "regular"),
        )
        service = next(
            (s for s in self.snapshot.get("services", []) if s["code"] == ticket["service"]), {}
        )
        content = ticket_content(issued, self.snapshot.get("branch", {}), service)
        self.printed.append(repr(content))

    def move_on(self, number: int, teller: Any, step: int) -> None:
        path = f"/counters/{number}"
        snap = self.admin.get("/snapshot").json()
        mine = [
            t
            for t in snap.get("tickets", [])
            if t.get("counter") == number and t["state"] in ("called", "serving")
        ]
        if not mine:
            r = teller.post(f"{path}/call-next")
            self.answers.append(r.text)
            return
        ticket = mine[0]
        if ticket["state"] == "called":
            if step % 11 == 0:
                for _ in range(3):  # nobody comes
                    self.answers.append(teller.post(f"{path}/recall").text)
                self.answers.append(teller.post(f"{path}/no-show").text)
                return
            self.answers.append(teller.post(f"{path}/start").text)
            if ticket.get("has_eform"):
                form = self.server.client(f"counter:{number}").get(f"/tickets/{ticket['id']}/eform")
                if form.status_code == 200:
                    self.form_read = form.json()  # the one place a form may be read: not scanned
            return
        if step % 13 == 0 and ticket["service"] != "B":
            self.answers.append(teller.post(f"{path}/transfer", json={"to_service": "B"}).text)
            return
        self.answers.append(teller.post(f"{path}/finish").text)
        if ticket.get("has_eform"):
            self.finished_with_form.append(ticket["id"])
        self.answers.append(
            teller.post(f"/tickets/{ticket['id']}/rating", json={"rating": 1 + step % 4}).text
        )
        self.answers.append(self.admin.get(f"/tickets/{ticket['id']}").text)
        self.served += 1

    def leave_forms_open(self, crowd: list[Person]) -> list[int]:
        """Customers with forms still waiting when the branch closes; their ticket ids."""
        ids = []
        for person in crowd:
            body = {"service": "C", "identity": person.identity(), "eform": person.eform()}
            r = self.kiosk.post("/tickets", json=body)
            assert r.status_code == 201, r.text
            self.answers.append(r.text)
            ids.append(r.json()["id"])
        return ids

    def final_views(self) -> list[str]:
        views = [self.server.client(role).get("/snapshot").text for role in ("admin", "display")]
        views += [self.server.client("kiosk").get("/snapshot").text]
        views += [self.server.client(f"counter:{n}").get("/snapshot").text for n in COUNTERS]
        views += [self.admin.get("/alerts").text, self.admin.get("/followups").text]
        views += [self.admin.get("/audit").text]
        views += [self.admin.get(f"/tickets/{tid}/history").text for tid in list(self.tickets)[:40]]
        site = self.server.base_url
        import httpx

        with httpx.Client(base_url=site, timeout=10) as web:
            for page in ("/display", "/display/text.json", "/ticket/text.json"):
                views.append(web.get(page).text)
            for ticket in list(self.tickets.values())[:40]:
                views.append(web.get(f"/t/{ticket.get('token', '')}").text)
        return views
