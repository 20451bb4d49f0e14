"""Fan-out of durable events to WebSocket subscribers, with a short history for resume.

Besides events, the hub carries one kind of message that is *not* an event: the latest
per-business waiting summary (`{"type": "waits", ...}`, from `Engine._push_waits`). It has no
sequence number and is never in the resume history, so the `since=<seq>` contract is the
events' alone: a client's position is the seq of the last *event* it applied, and a waits
message neither advances nor fills it. Only the newest waits matter, so a subscriber holds at
most one (a newer one replaces it) and gets it after the events already queued before it;
a resumed subscriber gets the newest at once (its snapshot's figures may be old), a
snapshot carries its own.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

NOT_AN_EVENT = -1  # the "seq" of a waits message in a subscriber's queue: none


class Subscriber:
    """One connected client: a buffer of encoded events it has not been sent yet."""

    def __init__(self, after: int, max_pending: int) -> None:
        self.after = after  # events up to this seq are already in the client's snapshot
        self.pending: list[tuple[int, str]] = []  # (seq, JSON text), contiguous
        self.wake = asyncio.Event()
        self.max_pending = max_pending
        self.overflowed = False
        self.needs_snapshot = False
        self.waits: str | None = None  # the newest waits message not yet sent

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

    def push_waits(self, text: str) -> None:
        self.waits = text
        self.wake.set()

    def take(self) -> list[tuple[int, str]]:
        """The events to send next; with none pending, the newest waits message (as one
        `(NOT_AN_EVENT, text)` item that `EventHub.frame` sends as it is). Events always go
        first: a waits message still held keeps the subscriber awake for the next take."""
        if self.pending:
            out, self.pending = self.pending, []
            if self.waits is None:
                self.wake.clear()
            return out
        self.wake.clear()
        if self.waits is not None:
            text, self.waits = self.waits, None
            return [(NOT_AN_EVENT, text)]
        return []

    def resync(self) -> None:
        self.pending.clear()
        self.waits = None  # the snapshot it gets carries the waits
        self.needs_snapshot = True
        self.wake.set()


HISTORY_BYTES = 1024 * 1024  # resumable history: ~600 events, an hour or two of a busy day


class EventHub:
    def __init__(
        self,
        last_seq: int,
        history: int = 10_000,
        max_pending: int = 20_000,
        history_bytes: int = HISTORY_BYTES,
    ) -> None:
        self.last_seq = last_seq
        # Kept for clients that resume after a drop; one further back gets a snapshot. Capped
        # by count and by bytes, so the server's memory stops growing once it is full.
        self._history: deque[tuple[int, str]] = deque()
        self._history_max = history
        self._history_bytes_max = history_bytes
        self._history_bytes = 0
        self._subscribers: set[Subscriber] = set()
        self._max_pending = max_pending
        self._frames: dict[tuple[int, int], str] = {}
        self.published = 0
        self.waits: str | None = None  # the newest waits message (not an event)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def frame(self, batch: list[tuple[int, str]]) -> str:
        """The message text for a batch; built once for all subscribers needing that range."""
        if batch[0][0] == NOT_AN_EVENT:
            return batch[0][1]  # a waits message: sent as it is, alone (see `take`)
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
        history = self._history
        history.extend(encoded)
        self._history_bytes += sum(len(text) for _, text in encoded)
        while history and (
            len(history) > self._history_max or self._history_bytes > self._history_bytes_max
        ):
            self._history_bytes -= len(history.popleft()[1])
        self.last_seq = encoded[-1][0]
        self.published += len(encoded)
        for sub in self._subscribers:
            sub.push(encoded)

    def publish_waits(self, text: str) -> None:
        """Send every subscriber the newest per-business waits (a message, not an event)."""
        self.waits = text
        for sub in self._subscribers:
            sub.push_waits(text)

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
        if self.waits is not None:
            sub.push_waits(self.waits)  # after the missed events; its own figures are old
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
        self._history_bytes = 0
        self._frames.clear()
        self.waits = None
        for sub in self._subscribers:
            sub.resync()
