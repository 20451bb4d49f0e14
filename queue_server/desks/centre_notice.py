"""The head office's hall notice (a `notice` document), shown on the hall displays before the
manager's own notice and ending at its `until` — it changes nothing else in the branch.

The applier writes one `branch.centre_notice` event (or none, when the notice is the one
shown already); the displays stop showing it at `until` by their own clock (the server's
time, which every stream message carries), so an ended notice needs no event and a display
that was offline at `until` does not show it on its return (the snapshot leaves it out).
"""

from __future__ import annotations

from datetime import datetime

from queue_server.domain import DomainError
from queue_server.downlink import Refusal
from queue_server.engine import Engine
from wire.downlink import Document

ACTOR = "head office"


def _until(value: object) -> datetime:
    if not isinstance(value, str):
        raise Refusal("invalid_notice", "until is not a time")
    try:
        until = datetime.fromisoformat(value)
    except ValueError:
        raise Refusal("invalid_notice", f"until {value!r} is not an ISO 8601 time") from None
    if until.tzinfo is None:
        raise Refusal("invalid_notice", "until has no time zone offset")
    return until


class CentreNoticeDesk:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def apply(self, document: Document) -> None:
        """The `notice` applier (queue_server.downlink): `{"text", "until"}`; "" clears."""
        body = document["body"]
        text = body.get("text")
        if not isinstance(text, str):
            raise Refusal("invalid_notice", "the notice has no text")
        # A cleared notice needs no end; one already over when it arrives (a branch back
        # after days offline) is taken as sent and simply not shown.
        until = _until(body.get("until")) if text.strip() else None
        try:
            await self.engine.execute(
                lambda b, now: b.set_centre_notice(text, until, now), actor=ACTOR
            )
        except DomainError as exc:
            raise Refusal(exc.code, str(exc)) from None
