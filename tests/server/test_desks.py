"""The desks used directly, without HTTP: an engine on a fresh branch database, real SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

import pytest
from conftest import PIN, FakeClock, make_db
from visit_helpers import ELDER, VISIT_CONFIG

from queue_server.auth import TokenCache
from queue_server.desks.audit import AuditLog
from queue_server.desks.provisioning import Provisioning
from queue_server.desks.public_tickets import PublicTicketDesk
from queue_server.desks.tickets import Identity, TicketDesk
from queue_server.domain import (
    Expired,
    InvalidInput,
    InvalidState,
    NotAllowed,
    NotFound,
    PriorityClass,
    Source,
)
from queue_server.engine import Engine

T = TypeVar("T")


@pytest.fixture
def visit_db(tmp_path: Path) -> Path:
    db = tmp_path / "visit.db"
    make_db(db, VISIT_CONFIG)
    return db


def with_engine(db: Path, clock: FakeClock, work: Callable[[Engine], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = Engine(db, clock=clock)
        await engine.start()
        try:
            return await work(engine)
        finally:
            await engine.stop()

    return asyncio.run(run())


def test_issue_decides_the_source_by_the_issuing_device(branch_db, clock):
    async def work(engine: Engine) -> list[Source]:
        desk = TicketDesk(engine)
        kiosk = await desk.issue(issued_by="kiosk", service="A")
        staff = await desk.issue(issued_by="counter", service="B")
        granted = await desk.issue(
            issued_by="manager",
            service="A",
            priority=PriorityClass.APPOINTMENT,
            appointment_slot=clock(),
        )
        # A kiosk's appointment tickets come from checking a booking in, never its word.
        with pytest.raises(NotAllowed):
            await desk.issue(
                issued_by="kiosk",
                service="A",
                priority=PriorityClass.APPOINTMENT,
                appointment_slot=clock(),
            )
        return [i.ticket.source for i in (kiosk, staff, granted)]

    assert with_engine(branch_db[0], clock, work) == [Source.KIOSK, Source.STAFF, Source.STAFF]


def test_a_retried_key_returns_the_first_ticket_and_refuses_another_business(branch_db, clock):
    async def work(engine: Engine) -> None:
        desk = TicketDesk(engine)
        first = await desk.issue(issued_by="kiosk", service="A", idempotency_key="key-00001")
        again = await desk.issue(issued_by="kiosk", service="A", idempotency_key="key-00001")
        assert not first.replayed and again.replayed
        assert again.ticket.id == first.ticket.id
        with pytest.raises(InvalidState) as refused:
            await desk.issue(issued_by="kiosk", service="B", idempotency_key="key-00001")
        assert refused.value.code == "idempotency_key_reused"

    with_engine(branch_db[0], clock, work)


def test_issue_identifies_the_customer_and_holds_the_form_once(visit_db, clock):
    form = {"name": ELDER["name"]}

    async def work(engine: Engine) -> None:
        desk = TicketDesk(engine)
        who = Identity(ELDER["id"], date.fromisoformat(ELDER["birth"]))
        issued = await desk.issue(
            issued_by="kiosk", service="C", identity=who, eform=form, idempotency_key="form-0001"
        )
        ticket = issued.ticket
        assert ticket.priority is PriorityClass.CARE  # 76 years old on the business day
        assert ticket.customer_ref == (await desk.identify(who)).customer_ref
        assert desk.eform(ticket.id) == form
        await desk.cancel(ticket.id)
        with pytest.raises(NotFound):  # the visit ended: the form is gone
            desk.eform(ticket.id)
        replay = await desk.issue(
            issued_by="kiosk", service="C", identity=who, eform=form, idempotency_key="form-0001"
        )
        assert replay.replayed
        with pytest.raises(NotFound):  # a replay attaches nothing again
            desk.eform(ticket.id)

    with_engine(visit_db, clock, work)


def test_a_form_for_a_business_without_one_is_refused(visit_db, clock):
    async def work(engine: Engine) -> None:
        with pytest.raises(InvalidInput) as refused:
            await TicketDesk(engine).issue(issued_by="kiosk", service="A", eform={"name": "x"})
        assert refused.value.code == "eform_not_needed"

    with_engine(visit_db, clock, work)


def test_a_ticket_link_works_for_its_day_then_expires(branch_db, clock):
    async def work(engine: Engine) -> None:
        tickets, public = TicketDesk(engine), PublicTicketDesk(engine)
        public.start()
        issued = (await tickets.issue(issued_by="kiosk", service="A")).ticket
        assert public.view(issued.token)["number"] == issued.number
        with pytest.raises(NotFound):
            public.find("no-such-token-0000")
        cancelled = await public.cancel(issued.token)
        assert cancelled["state"] == "cancelled"
        clock.advance(days=1)
        with pytest.raises(Expired) as gone:
            public.find(issued.token)
        assert gone.value.code == "ticket_expired"
        public.stop()

    with_engine(branch_db[0], clock, work)


def test_provisioning_checks_roles_and_writes_the_audit_log(branch_db, clock):
    async def work(engine: Engine) -> None:
        audit = AuditLog(engine)
        desk = Provisioning(engine, TokenCache(engine.read_conn), audit)
        with pytest.raises(NotAllowed):
            await desk.create_token("admin", "x", None, by_role="manager", actor="manager:Ann")
        with pytest.raises(InvalidInput):
            await desk.create_token("counter:9", "x", None, by_role="admin", actor="admin")
        token_id, token = await desk.create_token(
            "display", "hall", 30, by_role="manager", actor="manager:Ann"
        )
        assert desk.tokens.lookup(token) is not None
        await desk.revoke_token(token_id, by_role="manager", actor="manager:Ann")
        assert desk.tokens.lookup(token) is None
        with pytest.raises(NotFound):
            await desk.revoke_token(9999, by_role="admin", actor="admin")
        await desk.add_staff("t77", "New Teller", "97531", actor="admin")
        await desk.add_staff("t77", "New Teller", "13579", actor="admin")
        assert await desk.verify_pin("t77", "13579")
        assert not await desk.verify_pin("t77", "97531")
        assert await desk.verify_pin("t1", PIN)
        log = audit.entries(limit=10)
        assert [(e["action"], e["actor"]) for e in log[:4]] == [
            ("staff.pin_reset", "admin"),
            ("staff.created", "admin"),
            ("token.revoked", "manager:Ann"),
            ("token.created", "manager:Ann"),
        ]
        assert log[0]["target"] == "staff t77" and "pin" not in str(log[0]["after"]).lower()

    with_engine(branch_db[0], clock, work)
