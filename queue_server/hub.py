"""Fan-out of durable events to WebSocket subscribers, with a short history for resume."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable


class Subscriber:
    """One connected client: a buffer of encoded events it has not been sent yet."""

    def __init__(self, after: int, max_pending: int) -> None:
        self.after = after  # events up to this seq are already in the client's snapshot
        self.pending: list[tuple[int, str]] = []  # (seq, JSON text), contiguous
        self.wake = asyncio.Event()
        self.max_pending = max_pending
        self.overflowed = False
        self.needs_snapshot = False

    def push(self, encoded: Iterable[tuple[int, str]]) -> None:
        added = False
        for seq, text in encoded:
            if seq > self.after:
                self.pending.append((seq, text))
                self.after = seq
                added = True
        if len(self.pending) > self.max_pending:
            # A client this far behind is better served by a fresh snapshot than a backlog.
            self.pending.clear()
            self.overflowed = True
        if added or self.overflowed:
            self.wake.set()

    def take(self) -> list[tuple[int, str]]:
        out, self.pending = self.pending, []
        self.wake.clear()
        return out

    def resync(self) -> None:
        self.pending.clear()
        self.needs_snapshot = True
        self.wake.set()


class EventHub:
    def __init__(self, last_seq: int, history: int = 10_000, max_pending: int = 20_000) -> None:
        self.last_seq = last_seq
        self._history: deque[tuple[int, str]] = deque(maxlen=history)
        self._subscribers: set[Subscriber] = set()
        self._max_pending = max_pending
        self._frames: dict[tuple[int, int], str] = {}
        self.published = 0

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def frame(self, batch: list[tuple[int, str]]) -> str:
        """The message text for a batch; built once for all subscribers needing that range."""
        key = (batch[0][0], batch[-1][0])
        text = self._frames.get(key)
        if text is None:
            text = '{"type":"events","events":[' + ",".join(t for _, t in batch) + "]}"
            if len(self._frames) >= 16:
                self._frames.clear()
            self._frames[key] = text
        return text

    def publish(self, encoded: list[tuple[int, str]]) -> None:
        """Send durable events, already encoded as (seq, JSON text), to every subscriber."""
        if not encoded:
            return
        self._history.extend(encoded)
        self.last_seq = encoded[-1][0]
        self.published += len(encoded)
        for sub in self._subscribers:
            sub.push(encoded)

    def can_resume(self, since: int) -> bool:
        """True when every event after `since` is still in the history (or none is missed)."""
        if since == self.last_seq:
            return True
        if since > self.last_seq or not self._history:
            return False
        return self._history[0][0] <= since + 1

    def subscribe_from(self, since: int) -> Subscriber:
        """Subscribe and queue every event after `since`; call only when can_resume(since)."""
        sub = Subscriber(since, self._max_pending)
        sub.push(item for item in self._history if item[0] > since)
        self._subscribers.add(sub)
        return sub

    def subscribe_after_snapshot(self, snapshot_seq: int) -> Subscriber:
        sub = Subscriber(snapshot_seq, self._max_pending)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    def resync_all(self, last_seq: int) -> None:
        """State was reloaded: every client needs a fresh snapshot."""
        self.last_seq = last_seq
        self._history.clear()
        self._frames.clear()
        for sub in self._subscribers:
            sub.resync()
