"""The branch's values in the shapes of the wire contract (`wire`): what the API answers and
the event stream carries. Database rows are mapped separately (`queue_server.storage.rows`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, time
from typing import Any

from queue_server.domain import (
    BranchSettings,
    Bundle,
    Counter,
    DeviceStatus,
    Event,
    Guidance,
    Service,
    Skill,
    Ticket,
)
from wire import (
    BundleWire,
    CentreNoticeWire,
    CounterWire,
    DeviceWire,
    EventWire,
    GuidanceWire,
    ServiceWire,
    SkillWire,
    TicketWire,
)


def _dt(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _tm(value: time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


def ticket_wire(t: Ticket) -> TicketWire:
    """The ticket as every client may see it: no keys, no customer reference, and not the
    token of the customer's live page (it would let a display's viewer cancel the ticket)."""
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
        "staff_id": t.staff_id,
        "rating": t.rating,
        "bundle": t.bundle,
        "has_eform": t.has_eform,
        "rating_comment": t.rating_comment,
        "held_until": _dt(t.held_until),
        "late_count": t.late_count,
        "care_reason": t.care_reason,
        "on_hold": t.on_hold,
        "hold_reason": t.hold_reason,
        "documents_checked": list(t.documents_checked),
        "prereviewed": t.prereviewed,
    }


def skill_wire(s: Skill) -> SkillWire:
    return {"service": s.service, "weight": s.weight, "overflow": s.overflow}


def counter_wire(c: Counter) -> CounterWire:
    return {
        "number": c.number,
        "name": c.name,
        "location": c.location,
        "state": c.state.value,
        "staff_id": c.staff_id,
        "staff_name": c.staff_name,
        "skills": [skill_wire(s) for s in c.skills],
        "pause_reason": c.pause_reason,
    }


def guidance_wire(g: Guidance) -> GuidanceWire:
    return {
        "documents": list(g.documents),
        "steps": list(g.steps),
        "where": g.where,
        "alternative": g.alternative,
    }


def guidance_from_wire(d: Mapping[str, Any]) -> Guidance:
    """Guidance as the API and the branch config write it; every part optional."""
    return Guidance(
        documents=tuple(d.get("documents", ())),
        steps=tuple(d.get("steps", ())),
        where=d.get("where", ""),
        alternative=d.get("alternative", ""),
    )


def service_wire(s: Service) -> ServiceWire:
    return {
        "code": s.code,
        "prefix": s.prefix,
        "names": dict(s.names),
        "target_wait_s": s.target_wait_s,
        "mean_service_s": s.mean_service_s,
        "guidance": {lang: guidance_wire(g) for lang, g in s.guidance.items()},
        "fast_lane": s.fast_lane,
        "visible": s.visible,
        "enabled": s.enabled,
        "opens": _tm(s.opens),
        "closes": _tm(s.closes),
        "sort": s.sort,
        "needs_form": s.needs_form,
    }


def bundle_wire(b: Bundle) -> BundleWire:
    return {
        "code": b.code,
        "names": dict(b.names),
        "service": b.service,
        "includes": list(b.includes),
        "guidance": {lang: guidance_wire(g) for lang, g in b.guidance.items()},
        "sort": b.sort,
    }


def device_wire(d: DeviceStatus) -> DeviceWire:
    return {
        "device": d.device,
        "kind": d.kind,
        "health": d.health.value,
        "detail": d.detail,
        "reported_at": d.reported_at.isoformat(),
        "counter": d.counter,
    }


def centre_notice_wire(s: BranchSettings, now: datetime) -> CentreNoticeWire | None:
    """The head office's notice while it runs; None once it has ended (or when none)."""
    until = s.centre_notice_until
    if not s.centre_notice or until is None or until <= now:
        return None
    return {"text": s.centre_notice, "until": until.isoformat()}


def event_wire(e: Event) -> EventWire:
    """An event as streamed, and as kept in the event log for resuming clients."""
    out: EventWire = {"seq": e.seq, "at": e.at.isoformat(), "kind": e.kind}
    if e.ticket is not None:
        out["ticket"] = ticket_wire(e.ticket)
    if e.counter is not None:
        out["counter"] = counter_wire(e.counter)
    if e.service is not None:
        out["service"] = service_wire(e.service)
    if e.device is not None:
        out["device"] = device_wire(e.device)
    if e.data:
        out["data"] = dict(e.data)
    return out


def dumps(value: Any) -> str:
    """A message's JSON text: compact, Chinese as itself."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
