"""SMS notices: the customer's opt-in and the notifier's status."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from queue_server.notify import normalise_phone


class NotifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone: str = Field(
        max_length=32, description="mainland China mobile number, 1[3-9]xxxxxxxxx, +86 optional"
    )
    language: Literal["zh", "en"] | None = Field(
        default=None, description="language of the messages (default: the branch's first)"
    )

    @field_validator("phone")
    @classmethod
    def mobile(cls, value: str) -> str:
        return normalise_phone(value)  # its ValueError never quotes the number


class NotifyStatus(BaseModel):
    ticket: str
    offered: bool = Field(
        description="the branch texts customers (an SMS gateway is set); the page offers it"
    )
    opted_in: bool
    channel: str | None = Field(description="sms")
    destination: str | None = Field(description="masked, e.g. 138****5678")
    language: str | None
    near: int = Field(description="a message when this many or fewer are ahead")


class NotifierStatus(BaseModel):
    notifier: str = Field(description="the notifier URL's scheme: log, sms+https …")
    near: int
    opted_in: int
    queued: int
    sent: int
    failed: int = Field(description="given up after retries")
    dropped: int = Field(description="not queued: the outbox was full")
