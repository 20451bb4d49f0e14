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


class SlowCallback(BaseModel):
    second: int = Field(description="the server's monotonic clock, whole seconds")
    ms: float
    callback: str = Field(description="the callback's or coroutine's qualified name")


class CallbackTimes(BaseModel):
    step_ms: float
    now_s: int = Field(description="the server's monotonic clock when read, whole seconds")
    gc_max_ms: list[float] = Field(description="the longest garbage collection per generation")
    counts: dict[str, int] = Field(description="callbacks by duration step since start")
    cpu_counts: dict[str, int] = Field(description="the same by the loop thread's CPU time")
    slowest: list[SlowCallback]


class Health(BaseModel):
    status: str
    seq: int
    business_day: str
    subscribers: int
    loop_lag: LoopLag
    callbacks: CallbackTimes | None = Field(
        None, description="every callback's time, only under `branchq server --watch-callbacks`"
    )


class NoticeUpdate(BaseModel):
    """The hall display's scrolling notice line."""

    text: Notice = Field(
        description='at most 300 characters, whitespace folded to one line; "" clears the notice'
    )


class NoticePublic(BaseModel):
    text: str = Field(description="the notice as stored (whitespace collapsed to one line)")
    seq: int = Field(description="sequence number of the branch.notice event; 0: unchanged")
