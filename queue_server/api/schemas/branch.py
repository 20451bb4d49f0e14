"""The branch as a whole: health and the notice shown on the displays."""

from __future__ import annotations

from pydantic import (
    BaseModel,
    Field,
)

from queue_server.api.schemas.text import Notice


class LoopLag(BaseModel):
    interval_ms: float = Field(description="the probe asks to wake this often")
    step_ms: float = Field(description="width of a histogram step")
    counts: dict[str, int] = Field(
        description="wake-ups since start by lateness step (key k: k to k+1 steps late)"
    )


class Health(BaseModel):
    status: str
    seq: int
    business_day: str
    subscribers: int
    loop_lag: LoopLag


class NoticeUpdate(BaseModel):
    """The hall display's scrolling notice line."""

    text: Notice = Field(
        description='at most 300 characters, whitespace folded to one line; "" clears the notice'
    )


class NoticePublic(BaseModel):
    text: str = Field(description="the notice as stored (whitespace collapsed to one line)")
    seq: int = Field(description="sequence number of the branch.notice event; 0: unchanged")
