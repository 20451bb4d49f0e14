"""The downlink follower: takes the documents the head office signs for this branch.

An asyncio task on the server's loop (every HTTP call is the async client's, with the link's
timeouts, so the loop never waits on the centre) asks the centre every `poll_s` for what is
newer than what the branch holds (`wire.downlink`). Each document is checked — the centre's
signature, this branch's name, a version newer than the applied one of its kind — and handed
to the applier registered for its kind. What an applier refuses, or what fails a check, is
applied nowhere: the manager sees an alert and the centre hears why. Applied versions and
reports not yet delivered are kept in `meta`, so a restart neither re-applies nor forgets.

Appliers plug in with one line: `appliers.register("vip", desk.apply)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol, cast

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from queue_server.head_office import HeadOffice
from queue_server.shipper import http_options
from queue_server.signatures import load_public_keys, verify
from queue_server.storage import in_transaction
from queue_server.storage.meta import read_meta, write_meta
from wire.downlink import KINDS, BadSignature, Document, Report

log = logging.getLogger(__name__)
API = "/api/v1/ship/downlink"
VERSIONS_KEY = "downlink_versions"  # {kind: {"version", "issued_at", "applied_at"}}
UNREPORTED_KEY = "downlink_unreported"  # reports the centre has not acknowledged yet
UNREPORTED_MAX = 100  # a centre gone for months does not grow the branch's meta for ever
# Each wait is poll_s give or take this share: branches restarted together (a power cut, a
# software rollout) would otherwise ask the centre in lockstep for ever after.
POLL_SPREAD = 0.1

Applier = Callable[[Document], Awaitable[dict[str, Any] | None]]


class Refusal(Exception):
    """An applier's (or the follower's) refusal of a document: nothing of it applied."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


class RefusalAlerts(Protocol):
    """Where the manager hears of refusals (the branch's alert desk)."""

    async def head_office_refused(
        self, kind: str, version: int, code: str, message: str
    ) -> None: ...

    async def head_office_applied(self, kind: str) -> None: ...


class Appliers:
    """Which applier takes each kind of document."""

    def __init__(self) -> None:
        self._by_kind: dict[str, Applier] = {}

    def register(self, kind: str, applier: Applier, *, replace: bool = False) -> None:
        """`replace`: put another applier in the place of the branch's own (the follower's
        tests watch what it is handed); otherwise a kind has one applier, registered once."""
        if kind not in KINDS:
            raise ValueError(f"no document kind {kind!r} in wire.downlink")
        if kind in self._by_kind and not replace:
            raise ValueError(f"an applier for {kind!r} is already registered")
        self._by_kind[kind] = applier

    def get(self, kind: str) -> Applier | None:
        return self._by_kind.get(kind)

    def kinds(self) -> list[str]:
        """The kinds this branch takes, in registration order."""
        return list(self._by_kind)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read_versions(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    raw = read_meta(conn, VERSIONS_KEY)
    return cast(dict[str, dict[str, Any]], json.loads(raw)) if raw else {}


class Follower:
    def __init__(
        self,
        office: HeadOffice,
        db_path: Any,
        read_conn: sqlite3.Connection,
        appliers: Appliers,
        alerts: RefusalAlerts,
    ) -> None:
        if office.verify_key is None:
            raise ValueError("the downlink needs the centre's key: [head_office] verify_key")
        try:
            self.keys: list[Ed25519PublicKey] = load_public_keys(office.verify_key.read_bytes())
        except (OSError, ValueError) as exc:
            raise ValueError(f"head office verify_key {office.verify_key}: {exc}") from exc
        self.office = office
        self.db_path = db_path
        self.appliers = appliers
        self.alerts = alerts
        self.versions = read_versions(read_conn)
        raw = read_meta(read_conn, UNREPORTED_KEY)
        self.unreported: list[Report] = json.loads(raw) if raw else []
        # Documents refused since start, by (kind, version, signature): the centre offers a
        # refused document at every poll until it publishes another; one alert is enough.
        self._refused: set[tuple[str, int, str]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self.polls = 0
        self.last_poll_at: str | None = None
        self.last_error: str | None = None
        # Told after each poll, for those who must wait for one (tests may not sleep).
        self.changed = threading.Condition()
        self.spread = random.Random()  # where each wait's spread comes from (tests set it)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._client = httpx.AsyncClient(**http_options(self.office))
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._client is not None:
            await self._client.aclose()

    def wake(self) -> None:
        """Ask now rather than at the next poll (on the loop)."""
        self._wake.set()

    def wait_until(self, settled: Callable[[], bool], timeout: float) -> bool:
        """From another thread: wait until `settled()` holds, checked after each poll."""
        with self.changed:
            return self.changed.wait_for(settled, timeout)

    def status(self) -> dict[str, Any]:
        return {
            "configured": True,
            "applied": {kind: dict(v) for kind, v in self.versions.items()},
            "last_poll_at": self.last_poll_at,
            "last_error": self.last_error,
            "unreported": len(self.unreported),
        }

    # ------------------------------------------------------------ the loop
    async def _run(self) -> None:
        while True:
            try:
                await self.poll()
                self.last_error = None
            except httpx.HTTPError as exc:
                self.last_error = type(exc).__name__
                log.info("head office downlink unreachable (%s)", self.last_error)
            except Exception:  # a fault of ours must not end the downlink for good
                log.exception("head office downlink failed")
                self.last_error = "downlink_fault"
            self.polls += 1
            self.last_poll_at = _now()
            with self.changed:
                self.changed.notify_all()
            # Not the desks' helper: the desks import this module (a cycle).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.next_wait_s()):
                    await self._wake.wait()
            self._wake.clear()

    def next_wait_s(self) -> float:
        return self.office.poll_s * self.spread.uniform(1 - POLL_SPREAD, 1 + POLL_SPREAD)

    async def poll(self) -> None:
        """Deliver pending reports, take what the centre has newer, report on it."""
        await self._deliver_reports()
        have = {kind: int(self.versions.get(kind, {}).get("version", 0)) for kind in KINDS}
        assert self._client is not None
        response = await self._client.get(API, params=have)
        if response.status_code >= 400:
            self.last_error = f"http_{response.status_code}"
            raise httpx.HTTPStatusError(self.last_error, request=response.request,
                                        response=response)  # fmt: skip
        # A VIP list is megabytes: parsed and (below) checked off the loop.
        body = await asyncio.to_thread(response.json)
        documents = body.get("documents") if isinstance(body, dict) else None
        if not isinstance(documents, list):
            raise httpx.DecodingError("the centre's answer has no documents list")
        for document in documents:
            await self._take(document)
        await self._deliver_reports()

    async def _take(self, document: Any) -> None:
        if not isinstance(document, dict):
            log.warning("head office sent something that is not a document; ignored")
            return
        kind, version = str(document.get("kind")), document.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            version = 0
        seen = (kind, version, str(document.get("signature")))
        if seen in self._refused:
            return
        try:
            effective = await self._apply(cast(Document, document), kind, version)
        except Refusal as refusal:
            self._refused.add(seen)
            log.warning("head office %s v%s refused: %s", kind, version, refusal)
            await self.alerts.head_office_refused(kind, version, refusal.code, refusal.message)
            report: Report = {"kind": kind, "version": version, "outcome": "refused",
                              "reason": f"{refusal.code}: {refusal.message}"}  # fmt: skip
            await self._remember(None, report)
            return
        applied = {"version": version, "issued_at": document.get("issued_at"),
                   "applied_at": _now()}  # fmt: skip
        report = {"kind": kind, "version": version, "outcome": "applied"}
        if effective is not None:
            report["effective"] = effective
        await self._remember((kind, applied), report)
        await self.alerts.head_office_applied(kind)

    async def _apply(self, document: Document, kind: str, version: int) -> dict[str, Any] | None:
        """The checks every document passes, then its kind's applier."""
        try:
            await asyncio.to_thread(verify, dict(document), self.keys)
        except BadSignature as exc:
            raise Refusal(BadSignature.code, str(exc)) from None
        if document.get("branch") != self.office.branch:
            raise Refusal("wrong_branch", "the document was issued for another branch")
        applier = self.appliers.get(kind)
        if applier is None:
            raise Refusal("unknown_kind", f"this branch takes no {kind!r} documents")
        held = int(self.versions.get(kind, {}).get("version", 0))
        if version <= held:
            raise Refusal("old_version", f"version {version} is not newer than {held}")
        if not isinstance(document.get("body"), dict):
            raise Refusal("invalid_body", "the document has no body")
        return await applier(document)

    # ------------------------------------------------------------ records
    async def _remember(self, applied: tuple[str, dict[str, Any]] | None, report: Report) -> None:
        versions = dict(self.versions)
        if applied is not None:
            versions[applied[0]] = applied[1]
        unreported = [*self.unreported, report][-UNREPORTED_MAX:]
        await self._store(versions, unreported)
        self.versions, self.unreported = versions, unreported

    async def _store(self, versions: dict[str, Any], unreported: list[Report]) -> None:
        def write(conn: sqlite3.Connection) -> None:
            write_meta(conn, VERSIONS_KEY, json.dumps(versions, sort_keys=True))
            write_meta(conn, UNREPORTED_KEY, json.dumps(unreported, ensure_ascii=False))

        await asyncio.to_thread(in_transaction, self.db_path, write)

    async def _deliver_reports(self) -> None:
        assert self._client is not None
        while self.unreported:
            report = self.unreported[0]
            response = await self._client.post(API + "/report", json=report)
            if response.status_code >= 500 or response.status_code in (401, 403, 429):
                self.last_error = f"report_http_{response.status_code}"
                return  # the centre (or our token) is the matter: try again next poll
            if response.status_code >= 400:  # this report itself is refused: never again
                log.warning("the head office refused a report (%s)", response.status_code)
            rest = self.unreported[1:]
            await self._store(self.versions, rest)
            self.unreported = rest
