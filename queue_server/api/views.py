"""What the API answers, built from the engine's domain values: the snapshot, a ticket with its
place and wait, a counter's day and queue, a visit, the staffing advice.

The engine decides, commits and predicts; this module only shapes its answers for the wire.
"""

from __future__ import annotations

from typing import Any

from queue_server.domain import Counter, DeviceStatus, Service, Ticket, skill_queues
from queue_server.domain.staffing import service_level
from queue_server.engine import Engine, StaffingOutlook
from queue_server.visits import bundle_views
from queue_server.wire_encode import (
    centre_notice_wire,
    counter_wire,
    device_wire,
    service_wire,
    ticket_wire,
)
from wire import TicketIssued, TicketView
from wire.waits import shown_wait

RECENT_CALLS = 20  # today's calls a snapshot carries, newest first


def ticket_view(engine: Engine, ticket: Ticket, *, with_token: bool = False) -> TicketView:
    """A ticket with its live position and ETA, as the kiosk and phone show it.

    `eta_s` is the simulation predictor's median wait until called, `eta_low_s` and
    `eta_high_s` its 80 % interval; the naive formula when the predictor has no answer.

    The live-page token goes only to whoever issued the ticket (to print its QR code).
    """
    wait = engine.ticket_wait(ticket)
    view: TicketView = {
        **ticket_wire(ticket),
        "position": wait.position,
        "eta_s": wait.eta_s,
        "eta_low_s": wait.low_s,
        "eta_high_s": wait.high_s,
        **shown_wait(wait.eta_s, wait.low_s, wait.high_s),
    }
    if with_token:
        issued: TicketIssued = {**view, "token": ticket.token}
        return issued
    return view


def snapshot(engine: Engine) -> dict[str, Any]:
    """The whole live state at one sequence number: what a client rebuilds from
    (`wire.Snapshot`, plus the parts desks add, such as the manager's alerts)."""
    b = engine.branch
    now = engine.clock()
    today = b.business_day(now)
    open_tickets = [t for t in b.tickets.values() if not t.state.is_final]
    called_today = sorted(
        (t for t in b.tickets.values() if t.called_at is not None and t.business_day == today),
        key=lambda t: t.called_at or now,
        reverse=True,
    )[:RECENT_CALLS]
    return {
        "epoch": engine.epoch,
        "seq": b.last_seq,
        "at": now.isoformat(),
        "business_day": today.isoformat(),
        "branch": {
            "name": b.settings.name,
            "id": b.settings.branch_id,
            "timezone": b.settings.timezone,
            "languages": list(b.settings.languages),
            "care_age": b.settings.care_age,
            "notice": b.settings.notice,
            "centre_notice": centre_notice_wire(b.settings, now),
            "opening_hours": b.settings.opening_hours.to_wire(),
            "kiosk_texts": {lang: dict(t) for lang, t in b.settings.kiosk_texts.items()},
            "voice_pack": b.settings.voice_pack,
        },
        "services": [service_wire(s) for s in sorted(b.services.values(), key=_svc_key)],
        "bundles": bundle_views(b),
        "counters": [counter_wire(c) for c in sorted(b.counters.values(), key=_ctr_key)],
        "tickets": [ticket_wire(t) for t in sorted(open_tickets, key=lambda t: t.id)],
        "recent_calls": [ticket_wire(t) for t in called_today],
        "devices": [device_wire(d) for d in sorted(b.devices.values(), key=_dev_key)],
        "waiting": engine.waiting_summary(now),
        **{name: part() for name, part in engine.snapshot_parts.items()},
    }


def counter_today(engine: Engine, number: int) -> dict[str, Any]:
    """A counter's figures for the current business day (from the tickets in memory)."""
    day = engine.counter_day(number)
    return {
        "counter": day.counter,
        "business_day": day.business_day.isoformat(),
        "called": day.called,
        "served": day.served,
        "no_shows": day.no_shows,
        "transfers_out": day.transfers_out,
        "avg_service_s": day.avg_service_s,
        "avg_wait_s": day.avg_wait_s,
        "ratings": {str(r): n for r, n in day.ratings.items()},
        "rating_avg": day.rating_avg,
        "by_staff": {
            staff: {"called": s.called, "served": s.served, "avg_service_s": s.avg_service_s}
            for staff, s in day.by_staff.items()
        },
    }


def counter_queue(engine: Engine, number: int, limit: int) -> dict[str, Any]:
    """Who call-next would give this counter next, and the queues of its businesses."""
    b = engine.branch
    now = engine.clock()
    counter = b.counter(number)
    waiting = b.waiting
    return {
        "counter": number,
        "at": now.isoformat(),
        "next": [ticket_view(engine, t) for t in b.next_customers(number, now, limit)],
        "by_service": {
            q.service: {
                "waiting": q.waiting,
                "longest_wait_s": round(q.longest_wait_s),
                "target_wait_s": q.target_wait_s,
                "overflow": q.overflow,
                "over_target": q.over_target,
            }
            for q in skill_queues(counter, waiting, now, b.services)
        },
        "targeted": sum(1 for t in waiting if t.target_counter == number),
    }


def visit_history(engine: Engine, ticket_id: int) -> dict[str, Any]:
    """The ticket's whole visit: every leg with its counter, staff, times and note."""
    legs = engine.visit_legs(ticket_id)
    return {"visit_id": legs[0].visit_id, "legs": [ticket_view(engine, t) for t in legs]}


def staffing_advice(engine: Engine, outlook: StaffingOutlook) -> dict[str, Any]:
    """Forecast arrivals, windows each business needs per interval, and counter moves."""
    b = engine.branch
    forecast, demands, plan = outlook.forecast, outlook.demands, outlook.plan
    intervals = []
    for interval in plan.intervals:
        current = outlook.is_today and interval.start <= outlook.now < interval.end
        by_service: dict[str, Any] = {}
        for code, a in interval.by_service.items():
            d = demands[code]
            open_now = b.serving_counters(code) if current else None
            by_service[code] = {
                "waiting_now": outlook.waiting.get(code, 0) if current else None,
                "forecast_arrivals": round(a.forecast_arrivals, 2),
                "offered_load": round(a.offered_load, 3),
                "recommended_windows": a.recommended_windows,
                "service_level": round(a.service_level, 4),
                "open_windows_now": open_now,
                "service_level_now": None
                if open_now is None
                else round(
                    service_level(
                        a.offered_load, open_now, d.mean_service_s, d.target_wait_s, d.cv
                    ),
                    4,
                ),
            }
        intervals.append(
            {
                "start": interval.start.isoformat(),
                "end": interval.end.isoformat(),
                "current": current,
                "by_service": by_service,
            }
        )
    return {
        "day": outlook.day.isoformat(),
        "interval_min": forecast.interval_min,
        "forecast_basis": forecast.basis,
        "history_days": forecast.days_used,
        "services": {
            code: {
                "mean_service_s": round(d.mean_service_s, 1),
                "cv": round(d.cv, 3),
                "samples": d.samples,
                "target_wait_s": d.target_wait_s,
                "target_share": d.target_share,
            }
            for code, d in demands.items()
        },
        "recommended_counter_hours": round(plan.counter_hours(), 2),
        "intervals": intervals,
        "moves": [
            {
                "counter": m.counter,
                "counter_name": b.counters[m.counter].name,
                "from_service": m.from_service,
                "to_service": m.to_service,
                "start": m.start.isoformat(),
                "end": m.end.isoformat(),
            }
            for m in outlook.moves
        ],
    }


def _svc_key(s: Service) -> tuple[int, str]:
    return (s.sort, s.code)


def _dev_key(d: DeviceStatus) -> str:
    return str(d.device)


def _ctr_key(c: Counter) -> int:
    return int(c.number)
