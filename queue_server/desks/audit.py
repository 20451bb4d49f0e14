"""The audit log: manager and admin actions as events, and reading them back newest first.

Every command a manager or admin makes through the engine carries an `actor`; provisioning
steps (tokens, staff) that change no branch state are recorded here as events of their own.
"""

from __future__ import annotations

import json
from typing import Any

from queue_server.engine import Engine
from queue_server.storage.events import actor_events


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def record(self, actor: str, kind: str, **data: Any) -> None:
        """A provisioning step as an event, for the audit log (never a token or PIN)."""
        await self.engine.execute(lambda b, now: b.record(now, [(kind, data)]), actor=actor)

    def entries(self, *, limit: int, before_seq: int | None = None) -> list[dict[str, Any]]:
        """Manager, admin and lobby staff actions, newest first: who, what, why (the lobby's
        reason), and the state before and after."""
        rows = actor_events(self.engine.read_conn, before_seq=before_seq, limit=limit)
        return [_entry(seq, at, kind, json.loads(body)) for seq, at, kind, body in rows]


def _entry(seq: int, at: str, kind: str, event: dict[str, Any]) -> dict[str, Any]:
    data = dict(event.get("data") or {})
    actor = str(data.pop("actor", ""))
    before = data.pop("before", None)
    after: dict[str, Any] | None
    if "counter" in event:
        target, after = f"counter {event['counter']['number']}", event["counter"]
    elif "service" in event:
        target, after = f"business {event['service']['code']}", event["service"]
    elif "ticket" in event:  # a ticket a manager issued, or the lobby triaged
        target, after = f"ticket {event['ticket']['number']}", event["ticket"]
    elif "alert" in data:
        target, after = f"alert {data['alert']['id']}", data["alert"]
    elif "followup" in data:
        target, after = f"follow-up {data['followup']['id']}", data["followup"]
    elif kind.startswith("staff."):
        target, after = f"staff {data.get('staff_id')}", data
    elif kind.startswith("token."):
        target, after = f"token {data.get('id')}", data
    else:
        target, after = kind.split(".")[0], data or None
    return {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": kind,
        "target": target,
        "before": before,
        "after": after,
        "reason": str(data.get("reason") or ""),  # the lobby's why, when it gave one
    }
