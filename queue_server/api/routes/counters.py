"""Counters (windows): state, skills, staff sign-in, and the teller's calling actions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query

from queue_server.api import views
from queue_server.api.deps import (
    AnyDevice,
    EngineDep,
    Manager,
    OwnCounter,
    OwnCounterOrManager,
    StaffSignInDep,
    manager_actor,
    result_of,
)
from queue_server.api.schemas.counters import (
    CallResult,
    CallTicket,
    CounterPublic,
    CounterQueue,
    CounterToday,
    PauseRequest,
    SignIn,
    SkillsUpdate,
    TicketAction,
    TransferRequest,
)
from queue_server.api.schemas.text import SHORT_IDEMPOTENCY_KEY
from queue_server.api.schemas.tickets import TicketPublic
from queue_server.domain import Branch, Change, Counter, InvalidInput, Skill, Ticket
from queue_server.engine import Engine
from queue_server.wire_encode import counter_wire
from wire import CounterWire, TicketView

router = APIRouter(prefix="/counters", tags=["counters"])
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", pattern=SHORT_IDEMPOTENCY_KEY)
]


@router.get("", response_model=list[CounterPublic])
async def list_counters(engine: EngineDep, _: AnyDevice) -> list[CounterWire]:
    """List every counter with its state, staff and skills."""
    return [counter_wire(c) for c in sorted(engine.branch.counters.values(), key=_num)]


@router.get("/{number}", response_model=CounterPublic)
async def read_counter(number: int, engine: EngineDep, _: AnyDevice) -> CounterWire:
    """Read one counter."""
    return counter_wire(engine.branch.counter(number))


@router.get("/{number}/today", response_model=CounterToday)
async def counter_today(number: int, engine: EngineDep, _: OwnCounterOrManager) -> dict[str, Any]:
    """Today's figures for the counter: calls, served, no-shows, transfers, times, ratings."""
    return views.counter_today(engine, number)


@router.get("/{number}/queue", response_model=CounterQueue)
async def counter_queue(
    number: int,
    engine: EngineDep,
    _: OwnCounterOrManager,
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
) -> dict[str, Any]:
    """The next customers call-next would give the counter, and its businesses' queues."""
    return views.counter_queue(engine, number, limit)


@router.post("/{number}/open", response_model=CounterPublic)
async def open_counter(number: int, engine: EngineDep, device: OwnCounterOrManager) -> CounterWire:
    """Open the counter for calling."""
    change = await engine.execute(
        lambda b, now: b.open_counter(number, now), actor=manager_actor(device)
    )
    return counter_wire(result_of(change, Counter))


@router.post("/{number}/pause", response_model=CounterPublic)
async def pause_counter(
    number: int, engine: EngineDep, device: OwnCounterOrManager, body: PauseRequest | None = None
) -> CounterWire:
    """Pause the counter (a break), with a reason the manager sees."""
    reason = body.reason if body else ""
    change = await engine.execute(
        lambda b, now: b.pause_counter(number, now, reason), actor=manager_actor(device)
    )
    return counter_wire(result_of(change, Counter))


@router.post("/{number}/close", response_model=CounterPublic)
async def close_counter(number: int, engine: EngineDep, device: OwnCounterOrManager) -> CounterWire:
    """Close the counter; refused while a customer is at it."""
    change = await engine.execute(
        lambda b, now: b.close_counter(number, now), actor=manager_actor(device)
    )
    return counter_wire(result_of(change, Counter))


@router.put("/{number}/skills", response_model=CounterPublic)
async def set_skills(
    number: int, body: SkillsUpdate, engine: EngineDep, device: Manager
) -> CounterWire:
    """Set which businesses the counter serves, in order; applies from its next call."""
    skills = [Skill(s.service, s.weight, s.overflow) for s in body.skills]
    change = await engine.execute(
        lambda b, now: b.set_skills(number, skills, now), actor=manager_actor(device)
    )
    return counter_wire(result_of(change, Counter))


@router.post("/{number}/sign-in", response_model=CounterPublic)
async def sign_in(
    number: int,
    body: SignIn,
    engine: EngineDep,
    staff: StaffSignInDep,
    _: OwnCounter,
) -> CounterWire:
    """A teller signs in with staff id and PIN; the counter opens. Five wrong PINs in 15
    minutes lock the staff id for 15 minutes (429); no more than five are ever checked."""
    if not await staff.check_pin(body.staff_id, body.pin, counter=number):
        raise HTTPException(401, "wrong staff id or PIN")
    name = staff.name_of(body.staff_id)
    change = await engine.execute(lambda b, now: b.sign_in(number, body.staff_id, now, name))
    return counter_wire(result_of(change, Counter))


@router.post("/{number}/sign-out", response_model=CounterPublic)
async def sign_out(number: int, engine: EngineDep, device: OwnCounterOrManager) -> CounterWire:
    """The teller signs out; the counter closes."""
    change = await engine.execute(
        lambda b, now: b.sign_out(number, now), actor=manager_actor(device)
    )
    return counter_wire(result_of(change, Counter))


@router.post("/{number}/call-next", response_model=CallResult)
async def call_next(
    number: int, engine: EngineDep, _: OwnCounter, idempotency_key: IdempotencyKey = None
) -> dict[str, Any]:
    """Call the next customer the policy picks for this counter (null when nobody waits)."""
    if idempotency_key is not None:
        earlier = engine.branch.call_keys.get((number, idempotency_key))
        if earlier is not None:
            return {"ticket": views.ticket_view(engine, engine.branch.ticket(earlier))}
    called = await engine.call_next(number, idempotency_key)
    return {"ticket": None if called is None else views.ticket_view(engine, called)}


@router.post("/{number}/call", response_model=TicketPublic)
async def call_ticket(
    number: int, body: CallTicket, engine: EngineDep, _: OwnCounter
) -> TicketView:
    """Call a specific customer, by ticket id or printed number, out of turn."""
    ticket_id, printed = body.ticket_id, body.number
    if ticket_id is None and printed is None:
        raise InvalidInput("give ticket_id or number", code="missing_ticket")

    def decide(b: Branch, now: datetime) -> Change:
        tid = ticket_id or b.open_ticket_by_number((printed or "").upper()).id
        return b.call_ticket(number, tid, now)

    change = await engine.execute(decide)
    return views.ticket_view(engine, result_of(change, Ticket))


async def _ticket_action(
    engine: Engine, action: str, number: int, body: TicketAction | None
) -> TicketView:
    tid = body.ticket_id if body else None
    change = await engine.execute(lambda b, now: getattr(b, action)(number, now, ticket_id=tid))
    return views.ticket_view(engine, result_of(change, Ticket))


@router.post("/{number}/recall", response_model=TicketPublic)
async def recall(
    number: int, engine: EngineDep, _: OwnCounter, body: TicketAction | None = None
) -> TicketView:
    """Call the current customer again (up to the branch's recall limit)."""
    return await _ticket_action(engine, "recall", number, body)


@router.post("/{number}/start", response_model=TicketPublic)
async def start_serving(
    number: int, engine: EngineDep, _: OwnCounter, body: TicketAction | None = None
) -> TicketView:
    """The called customer has arrived: start serving."""
    return await _ticket_action(engine, "start_serving", number, body)


@router.post("/{number}/finish", response_model=TicketPublic)
async def finish(
    number: int, engine: EngineDep, _: OwnCounter, body: TicketAction | None = None
) -> TicketView:
    """Service is complete."""
    return await _ticket_action(engine, "finish", number, body)


@router.post("/{number}/no-show", response_model=TicketPublic)
async def no_show(
    number: int, engine: EngineDep, _: OwnCounter, body: TicketAction | None = None
) -> TicketView:
    """The called customer did not come."""
    return await _ticket_action(engine, "no_show", number, body)


@router.post("/{number}/transfer", response_model=TicketPublic)
async def transfer(
    number: int, body: TransferRequest, engine: EngineDep, _: OwnCounter
) -> TicketView:
    """Send the customer to another business or counter; they keep their place in time."""
    change = await engine.execute(
        lambda b, now: b.transfer(
            number,
            now,
            to_service=body.to_service,
            to_counter=body.to_counter,
            note=body.note,
            ticket_id=body.ticket_id,
        )
    )
    return views.ticket_view(engine, result_of(change, Ticket))


def _num(c: Counter) -> int:
    return c.number
