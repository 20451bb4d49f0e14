"""Staff sign-in: a teller's PIN checked under the lock-out, every lock-out stored and audited.

The lock-out's count lives in memory (`PinLockout`, changed only on the event loop, so
reserving a try is one atomic step); each wrong PIN and each lock is also written to the
database before the answer goes out, so a restart keeps the count and the lock.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from queue_server.desks.audit import AuditLog
from queue_server.desks.provisioning import Provisioning
from queue_server.engine import Engine
from queue_server.security.limits import PinLockout
from queue_server.storage import in_transaction
from queue_server.storage.pin_lockout import (
    clear_pin_failures,
    load_pin_state,
    record_pin_failure,
    record_pin_lock,
)
from queue_server.storage.provisioning import staff_name
from wire import EventKind

log = logging.getLogger(__name__)


class StaffSignIn:
    def __init__(
        self,
        engine: Engine,
        provisioning: Provisioning,
        audit: AuditLog,
        lockout: PinLockout | None = None,
    ) -> None:
        self.engine = engine
        self.provisioning = provisioning
        self.audit = audit
        self.lockout = lockout or PinLockout()

    def start(self) -> None:
        """Take up the failures and locks stored before the server (re)started."""
        now = self.engine.clock()
        since = now - timedelta(seconds=self.lockout.window_s)
        self.lockout.restore(*load_pin_state(self.engine.read_conn, since, now))

    def name_of(self, staff_id: str) -> str:
        """The teller's name from the staff list, for the counter they sign in at."""
        return staff_name(self.engine.read_conn, staff_id)

    async def check_pin(
        self, staff_id: str, pin: str, *, counter: int | None = None, where: str = ""
    ) -> bool:
        """True for the right PIN; False for a wrong one; TooManyRequests while locked,
        or when this wrong PIN locks the staff id. `counter` or `where` (a lobby tablet)
        says where the PIN was tried, for the log and the audit."""
        lockout = self.lockout
        lockout.reserve(staff_id, self.engine.clock())
        try:
            ok = await self.provisioning.verify_pin(staff_id, pin)
        except BaseException:
            lockout.release(staff_id)
            raise
        db = self.engine.db_path
        now = self.engine.clock()
        if ok:
            if lockout.succeeded(staff_id):
                await asyncio.to_thread(in_transaction, db, clear_pin_failures, staff_id)
            return True
        until = lockout.failed(staff_id, now)
        if until is None:
            forget = now - timedelta(seconds=lockout.window_s)
            await asyncio.to_thread(in_transaction, db, record_pin_failure, staff_id, now, forget)
            return False
        await asyncio.to_thread(in_transaction, db, record_pin_lock, staff_id, until, now)
        place = f"counter:{counter}" if counter is not None else where
        log.warning("a staff id was locked after repeated wrong PINs at %s", place)
        await self.audit.record(
            place,
            EventKind.STAFF_LOCKED,
            staff_id=staff_id,
            until=until.isoformat(),
            wrong_pins=lockout.max_failures,
        )
        raise lockout.locked((until - now).total_seconds())
