"""The branch's link to the head office: the shipper's life, its restore record, its state."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from queue_server.downlink import Appliers, Follower, RefusalAlerts
from queue_server.engine import Engine
from queue_server.head_office import HeadOffice
from queue_server.shipper import Shipper
from queue_server.storage.log_identity import LogIdentity, rotation_statements
from queue_server.vip_key import BranchVipKey
from wire import EventKind

ACTOR = "head-office link"  # who a restore's event names in the audit log
RECORD_TIMEOUT_S = 30.0


class HeadOfficeLink:
    def __init__(
        self,
        engine: Engine,
        office: HeadOffice | None,
        alerts: RefusalAlerts | None = None,
        vip_key: BranchVipKey | None = None,
    ) -> None:
        self.engine = engine
        self.office = office
        self.vip_key = vip_key
        self.shipper: Shipper | None = None
        self.alerts = alerts
        # What takes each kind of document from the centre; desks register theirs.
        self.appliers = Appliers()
        self.downlink: Follower | None = None

    def start(self) -> None:
        """After the engine started: ship from now on (nothing when no head office is set)."""
        if self.office is None:
            return
        # Made on the first start with a head office, and announced in every hello.
        announced = self.vip_key.public_hex() if self.vip_key is not None else None
        self.shipper = Shipper(
            Path(self.engine.db_path),
            self.office,
            self._record_restore,
            self.engine.shown_waits,
            self._location_in_force,
            vip_key=announced,
        )
        self.engine.committed.append(self.shipper.wake)
        self.shipper.start()
        if self.office.verify_key is not None and self.alerts is not None:
            self.downlink = Follower(
                self.office, self.engine.db_path, self.engine.read_conn, self.appliers, self.alerts
            )
            self.downlink.start()

    async def stop(self) -> None:
        if self.downlink is not None:
            await self.downlink.stop()
        if self.shipper is not None:
            self.engine.committed.remove(self.shipper.wake)
            await asyncio.to_thread(self.shipper.stop)

    def status(self) -> dict[str, Any]:
        if self.shipper is None:
            return {"configured": False, "link": "off", "downlink": {"configured": False}}
        status = self.shipper.status(self.engine.branch.last_seq)
        status["downlink"] = (
            self.downlink.status() if self.downlink is not None else {"configured": False}
        )
        return status

    def _location_in_force(self) -> tuple[float, float] | None:
        """The head office's location for the branch, else the TOML's (read from the
        shipper's thread: settings are replaced whole, never changed in place)."""
        assert self.office is not None
        return self.engine.branch.settings.location or self.office.location

    def _record_restore(self, old: LogIdentity, new: LogIdentity, fork_seq: int) -> None:
        """From the shipper's thread: the new log identity and the event that tells the
        manager, committed together by the engine (which numbers the event)."""
        data = {
            "log_id": new.log_id,
            "restored_from": old.log_id,
            "first_seq": new.first_seq,
            "fork_seq": fork_seq,
        }
        done = asyncio.run_coroutine_threadsafe(
            self.engine.execute(
                lambda b, now: b.record(now, [(EventKind.LOG_RESTORED, data)]),
                actor=ACTOR,
                also=rotation_statements(new),
            ),
            self.engine._loop,
        )
        done.result(RECORD_TIMEOUT_S)
