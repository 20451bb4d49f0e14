"""The manager's alerts, follow-ups of 不满意 ratings, and the audit log."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from queue_server.api.schemas.text import LongNote


class AlertPublic(BaseModel):
    id: str
    key: str = Field(description="what it is about: business:A, customer:12, device:…, counter:3")
    kind: str = Field(
        description="business_over_target, customer_over_target, negative_rating, "
        "device_fault or counter_paused_long"
    )
    severity: str = Field(description="warning or critical")
    subject: dict[str, Any]
    detail: str
    raised_at: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    cleared_at: str | None


class FollowupPublic(BaseModel):
    id: int
    ticket_id: int
    number: str
    service: str
    counter: int | None
    staff_id: str | None
    rating: int
    rated_at: str
    alert_id: str
    note: str
    resolved_at: str | None
    resolved_by: str | None
    comment: str = ""  # the customer's own words with the rating (from the phone)


class FollowupUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: LongNote | None = None
    resolved: bool | None = None


class AuditEntry(BaseModel):
    seq: int
    at: str
    actor: str
    action: str = Field(description="the event kind, e.g. counter.skills")
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str = Field("", description="why, as the lobby's staff member gave it")
