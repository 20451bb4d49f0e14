"""The branch's values as database rows and back: the columns of each table, JSON columns
as text. Only storage uses this: a column can change without changing what clients see."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any

from queue_server.domain import (
    Bundle,
    Counter,
    CounterState,
    DeviceHealth,
    DeviceStatus,
    Guidance,
    PriorityClass,
    Service,
    Skill,
    Source,
    Ticket,
    TicketState,
)

Row = Mapping[str, Any]


def to_json(value: Any) -> str:
    """A JSON column's text (compact, Chinese kept readable)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_value(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _dt(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _tm(value: time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


def _parse_tm(value: str | None) -> time | None:
    return None if not value else time.fromisoformat(value)


# -------------------------------------------------------------------- tickets
def ticket_to_row(t: Ticket) -> dict[str, Any]:
    """Every column of the tickets table (named as the `Ticket` fields, see migration m001)."""
    return {
        "id": t.id,
        "number": t.number,
        "service": t.service,
        "business_day": t.business_day.isoformat(),
        "arrived_at": t.arrived_at.isoformat(),
        "issued_at": t.issued_at.isoformat(),
        "priority": t.priority.value,
        "vip_tier": t.vip_tier,
        "source": t.source.value,
        "state": t.state.value,
        "visit_id": t.visit_id,
        "leg": t.leg,
        "previous_id": t.previous_id,
        "called_at": _dt(t.called_at),
        "serving_at": _dt(t.serving_at),
        "finished_at": _dt(t.finished_at),
        "counter": t.counter,
        "target_counter": t.target_counter,
        "recall_count": t.recall_count,
        "note": t.note,
        "appointment_id": t.appointment_id,
        "appointment_slot": _dt(t.appointment_slot),
        "customer_ref": t.customer_ref,
        "idempotency_key": t.idempotency_key,
        "request_hash": t.request_hash,
        "call_key": t.call_key,
        "staff_id": t.staff_id,
        "rating": t.rating,
        "token": t.token,
        "bundle": t.bundle,
        "has_eform": t.has_eform,
        "rating_comment": t.rating_comment,
        "held_until": _dt(t.held_until),
        "late_count": t.late_count,
        "care_reason": t.care_reason,
        "on_hold": int(t.on_hold),
        "hold_reason": t.hold_reason,
        "documents_checked": json.dumps(list(t.documents_checked)),
        "prereviewed": int(t.prereviewed),
    }


def ticket_from_row(d: Row) -> Ticket:
    return Ticket(
        id=d["id"],
        number=d["number"],
        service=d["service"],
        business_day=date.fromisoformat(d["business_day"]),
        arrived_at=datetime.fromisoformat(d["arrived_at"]),
        issued_at=datetime.fromisoformat(d["issued_at"]),
        priority=PriorityClass(d["priority"]),
        vip_tier=d["vip_tier"],
        source=Source(d["source"]),
        state=TicketState(d["state"]),
        visit_id=d["visit_id"],
        leg=d["leg"],
        previous_id=d["previous_id"],
        called_at=_parse_dt(d["called_at"]),
        serving_at=_parse_dt(d["serving_at"]),
        finished_at=_parse_dt(d["finished_at"]),
        counter=d["counter"],
        target_counter=d["target_counter"],
        recall_count=d["recall_count"],
        note=d["note"],
        appointment_id=d["appointment_id"],
        appointment_slot=_parse_dt(d["appointment_slot"]),
        customer_ref=d["customer_ref"],
        idempotency_key=d["idempotency_key"],
        request_hash=d.get("request_hash"),
        call_key=d["call_key"],
        staff_id=d["staff_id"],
        rating=d["rating"],
        token=d["token"],
        bundle=d.get("bundle"),
        has_eform=_flag(d.get("has_eform")),
        rating_comment=d.get("rating_comment") or "",
        held_until=_parse_dt(d.get("held_until")),
        late_count=int(d.get("late_count") or 0),
        care_reason=d.get("care_reason") or "",
        on_hold=_flag(d.get("on_hold")),
        hold_reason=d.get("hold_reason") or "",
        documents_checked=tuple(json.loads(d.get("documents_checked") or "[]")),
        prereviewed=_flag(d.get("prereviewed")),
    )


def _flag(value: Any) -> bool:
    # A column made from the Ticket's fields on a new database has text affinity, so a flag
    # may come back as "0"; an added column keeps the integer.
    return value not in (None, 0, "0", "")


# ------------------------------------------------------------------- counters
def counter_to_row(c: Counter) -> tuple[Any, ...]:
    """(number, name, location, state, staff_id, skills, pause_reason, staff_name)."""
    skills = [{"service": s.service, "weight": s.weight, "overflow": s.overflow} for s in c.skills]
    return (
        c.number, c.name, c.location, c.state.value, c.staff_id, to_json(skills), c.pause_reason,
        c.staff_name,
    )  # fmt: skip


def counter_from_row(d: Row) -> Counter:
    skills = _json_value(d["skills"])
    return Counter(
        number=d["number"],
        name=d["name"],
        location=d.get("location") or "",
        state=CounterState(d["state"]),
        staff_id=d.get("staff_id"),
        skills=tuple(
            Skill(s["service"], float(s.get("weight", 1.0)), bool(s.get("overflow", False)))
            for s in skills
        ),
        pause_reason=d.get("pause_reason") or "",
        staff_name=d.get("staff_name") or "",
    )


# ------------------------------------------------------------------- services
def _guidance_to_json(guidance: Mapping[str, Guidance]) -> str:
    return to_json(
        {
            lang: {
                "documents": list(g.documents),
                "steps": list(g.steps),
                "where": g.where,
                "alternative": g.alternative,
            }
            for lang, g in guidance.items()
        }
    )


def _guidance_from_json(value: Any) -> dict[str, Guidance]:
    return {
        lang: Guidance(
            documents=tuple(g.get("documents", ())),
            steps=tuple(g.get("steps", ())),
            where=g.get("where", ""),
            alternative=g.get("alternative", ""),
        )
        for lang, g in (_json_value(value) if value else {}).items()
    }


def service_to_row(s: Service) -> tuple[Any, ...]:
    """(code, prefix, names, target_wait_s, mean_service_s, guidance, fast_lane, visible,
    enabled, opens, closes, sort, needs_form)."""
    return (
        s.code, s.prefix, to_json(dict(s.names)), s.target_wait_s, s.mean_service_s,
        _guidance_to_json(s.guidance), int(s.fast_lane), int(s.visible), int(s.enabled),
        _tm(s.opens), _tm(s.closes), s.sort, int(s.needs_form),
    )  # fmt: skip


def service_from_row(d: Row) -> Service:
    return Service(
        code=d["code"],
        prefix=d["prefix"],
        names=dict(_json_value(d["names"])),
        target_wait_s=int(d.get("target_wait_s", 600)),
        mean_service_s=int(d.get("mean_service_s", 300)),
        guidance=_guidance_from_json(d.get("guidance")),
        fast_lane=bool(d.get("fast_lane", False)),
        visible=bool(d.get("visible", True)),
        enabled=bool(d.get("enabled", True)),
        opens=_parse_tm(d.get("opens")),
        closes=_parse_tm(d.get("closes")),
        sort=int(d.get("sort", 0)),
        needs_form=bool(d.get("needs_form", False)),
    )


# -------------------------------------------------------------------- bundles
def bundle_to_row(b: Bundle) -> tuple[Any, ...]:
    """(code, names, service, includes, guidance, sort)."""
    return (
        b.code, to_json(dict(b.names)), b.service, to_json(list(b.includes)),
        _guidance_to_json(b.guidance), b.sort,
    )  # fmt: skip


def bundle_from_row(d: Row) -> Bundle:
    return Bundle(
        code=d["code"],
        names=dict(_json_value(d["names"])),
        service=d["service"],
        includes=tuple(_json_value(d["includes"])),
        guidance=_guidance_from_json(d.get("guidance")),
        sort=int(d.get("sort", 0)),
    )


# -------------------------------------------------------------------- devices
def device_to_row(d: DeviceStatus) -> tuple[Any, ...]:
    """(device, kind, health, detail, reported_at, counter)."""
    return (d.device, d.kind, d.health.value, d.detail, d.reported_at.isoformat(), d.counter)


def device_from_row(d: Row) -> DeviceStatus:
    return DeviceStatus(
        device=d["device"],
        kind=d["kind"],
        health=DeviceHealth(d["health"]),
        detail=d["detail"] or "",
        reported_at=datetime.fromisoformat(d["reported_at"]),
        counter=d["counter"],
    )
