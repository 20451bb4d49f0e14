"""One JSON shape per entity, shared by the database rows, the API and the event stream."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any

from .domain import (
    Bundle,
    Counter,
    CounterState,
    DeviceHealth,
    DeviceStatus,
    Event,
    Guidance,
    PriorityClass,
    Service,
    Skill,
    Source,
    Ticket,
    TicketState,
)


def _dt(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_dt(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _tm(value: time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


def _parse_tm(value: str | None) -> time | None:
    return None if not value else time.fromisoformat(value)


def ticket_to_dict(t: Ticket) -> dict[str, Any]:
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
        "call_key": t.call_key,
        "staff_id": t.staff_id,
        "rating": t.rating,
        "token": t.token,
        "bundle": t.bundle,
        "has_eform": t.has_eform,
        "rating_comment": t.rating_comment,
        "held_until": _dt(t.held_until),
        "late_count": t.late_count,
    }


def ticket_from_dict(d: dict[str, Any]) -> Ticket:
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
        call_key=d["call_key"],
        staff_id=d["staff_id"],
        rating=d["rating"],
        token=d["token"],
        bundle=d.get("bundle"),
        has_eform=bool(d.get("has_eform")),
        rating_comment=d.get("rating_comment") or "",
        held_until=_parse_dt(d.get("held_until")),
        late_count=int(d.get("late_count") or 0),
    )


def ticket_public(t: Ticket) -> dict[str, Any]:
    """The ticket as every client may see it: no keys, no customer reference, and not the
    token of the customer's live page (it would let a display's viewer cancel the ticket)."""
    d = ticket_to_dict(t)
    for private in ("customer_ref", "idempotency_key", "call_key", "token"):
        del d[private]
    return d


def skill_to_dict(s: Skill) -> dict[str, Any]:
    return {"service": s.service, "weight": s.weight, "overflow": s.overflow}


def counter_to_dict(c: Counter) -> dict[str, Any]:
    return {
        "number": c.number,
        "name": c.name,
        "location": c.location,
        "state": c.state.value,
        "staff_id": c.staff_id,
        "skills": [skill_to_dict(s) for s in c.skills],
        "pause_reason": c.pause_reason,
    }


def counter_from_dict(d: dict[str, Any]) -> Counter:
    skills = d["skills"]
    if isinstance(skills, str):
        skills = json.loads(skills)
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
    )


def guidance_to_dict(g: Guidance) -> dict[str, Any]:
    return {
        "documents": list(g.documents),
        "steps": list(g.steps),
        "where": g.where,
        "alternative": g.alternative,
    }


def guidance_from_dict(d: dict[str, Any]) -> Guidance:
    return Guidance(
        documents=tuple(d.get("documents", ())),
        steps=tuple(d.get("steps", ())),
        where=d.get("where", ""),
        alternative=d.get("alternative", ""),
    )


def service_to_dict(s: Service) -> dict[str, Any]:
    return {
        "code": s.code,
        "prefix": s.prefix,
        "names": dict(s.names),
        "target_wait_s": s.target_wait_s,
        "mean_service_s": s.mean_service_s,
        "guidance": {lang: guidance_to_dict(g) for lang, g in s.guidance.items()},
        "fast_lane": s.fast_lane,
        "visible": s.visible,
        "enabled": s.enabled,
        "opens": _tm(s.opens),
        "closes": _tm(s.closes),
        "sort": s.sort,
        "needs_form": s.needs_form,
    }


def service_from_dict(d: dict[str, Any]) -> Service:
    names = d["names"]
    guidance = d.get("guidance") or {}
    if isinstance(names, str):
        names = json.loads(names)
    if isinstance(guidance, str):
        guidance = json.loads(guidance)
    return Service(
        code=d["code"],
        prefix=d["prefix"],
        names=dict(names),
        target_wait_s=int(d.get("target_wait_s", 600)),
        mean_service_s=int(d.get("mean_service_s", 300)),
        guidance={lang: guidance_from_dict(g) for lang, g in guidance.items()},
        fast_lane=bool(d.get("fast_lane", False)),
        visible=bool(d.get("visible", True)),
        enabled=bool(d.get("enabled", True)),
        opens=_parse_tm(d.get("opens")),
        closes=_parse_tm(d.get("closes")),
        sort=int(d.get("sort", 0)),
        needs_form=bool(d.get("needs_form", False)),
    )


def bundle_to_dict(b: Bundle) -> dict[str, Any]:
    return {
        "code": b.code,
        "names": dict(b.names),
        "service": b.service,
        "includes": list(b.includes),
        "guidance": {lang: guidance_to_dict(g) for lang, g in b.guidance.items()},
        "sort": b.sort,
    }


def bundle_from_dict(d: dict[str, Any]) -> Bundle:
    names, includes, guidance = d["names"], d["includes"], d.get("guidance") or {}
    names, includes, guidance = (
        json.loads(v) if isinstance(v, str) else v for v in (names, includes, guidance)
    )
    return Bundle(
        code=d["code"],
        names=dict(names),
        service=d["service"],
        includes=tuple(includes),
        guidance={lang: guidance_from_dict(g) for lang, g in guidance.items()},
        sort=int(d.get("sort", 0)),
    )


def device_to_dict(d: DeviceStatus) -> dict[str, Any]:
    return {
        "device": d.device,
        "kind": d.kind,
        "health": d.health.value,
        "detail": d.detail,
        "reported_at": d.reported_at.isoformat(),
        "counter": d.counter,
    }


def device_from_dict(d: dict[str, Any]) -> DeviceStatus:
    return DeviceStatus(
        device=d["device"],
        kind=d["kind"],
        health=DeviceHealth(d["health"]),
        detail=d["detail"] or "",
        reported_at=datetime.fromisoformat(d["reported_at"]),
        counter=d["counter"],
    )


def event_to_dict(e: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"seq": e.seq, "at": e.at.isoformat(), "kind": e.kind}
    if e.ticket is not None:
        out["ticket"] = ticket_public(e.ticket)
    if e.counter is not None:
        out["counter"] = counter_to_dict(e.counter)
    if e.service is not None:
        out["service"] = service_to_dict(e.service)
    if e.device is not None:
        out["device"] = device_to_dict(e.device)
    if e.data:
        out["data"] = dict(e.data)
    return out


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
