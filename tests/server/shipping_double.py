"""An in-memory head office that keeps the `wire.shipping` contract, on a real uvicorn (HTTPS).

The centre's real service lives in `central/`; the branch's shipper is tested against this
double so its tests need no PostgreSQL. It keeps every request's raw bytes (to scan for
personal data) and can be told to lose an ack after storing, or to forget a log's tail.

It also serves the downlink (`wire.downlink`): documents published with `publish` (signed
with a test key, or tampered with, as a test asks) and the branch's reports, kept in order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from central.signing import public_key_pem, sign
from tools.faultproxy import FaultProxy
from tools.harness import ThreadServer, self_signed_certificate
from wire.downlink import KINDS
from wire.shipping import MAX_BATCH, event_digest

BRANCH = "test-branch"
TOKEN = f"bq1.{BRANCH}.s3cret"


@dataclass
class CentreLog:
    branch: str
    first_seq: int
    restored_from: str | None
    events: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def watermark(self) -> int:
        seq = self.first_seq - 1
        while seq + 1 in self.events:
            seq += 1
        return seq

    def state(self, log_id: str) -> dict[str, Any]:
        wm = self.watermark
        sha = self.events[wm]["sha256"] if wm in self.events else None
        return {"log_id": log_id, "first_seq": self.first_seq, "watermark": wm,
                "sha256_at_watermark": sha}  # fmt: skip


class CentreDouble:
    def __init__(self) -> None:
        self.logs: dict[str, CentreLog] = {}
        self.raw: list[bytes] = []  # every request body, as received
        self.hellos: list[dict[str, Any]] = []
        self.gaps = self.duplicates = self.stored = 0
        self.lose_next_ack = False
        self.stale_next_hello = False  # answer one hello as of seq 1 (a lagging replica)
        self.changed = threading.Condition()
        self.signing_key = Ed25519PrivateKey.generate()
        self.documents: dict[str, dict[str, Any]] = {}  # the newest per kind, as served
        self.reports: list[dict[str, Any]] = []
        self.downlink_polls = 0
        self.serve_all = False  # serve documents the branch says it holds (a restored centre)
        self.refuse_reports = False  # answer reports 503 (a centre whose database is down)
        self.app = self._build()

    def publish(
        self,
        kind: str,
        body: dict[str, Any],
        *,
        version: int | None = None,
        branch: str = BRANCH,
        key: Ed25519PrivateKey | None = None,
        signed: bool = True,
        tamper: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Publish the newest document of a kind: the next version unless given, signed by
        the centre's key (or `key`), then changed by `tamper` after signing."""
        with self.changed:
            last = self.documents.get(kind, {}).get("version", 0)
            document: dict[str, Any] = {
                "kind": kind,
                "branch": branch,
                "version": version if version is not None else last + 1,
                "issued_at": "2025-03-03T01:00:00+00:00",
                "body": body,
            }
            if signed:
                document = dict(sign(document, key or self.signing_key))
            if tamper is not None:
                tamper(document)
            self.documents[kind] = document
            self.changed.notify_all()
            return document

    def reports_of(self, kind: str, version: int) -> list[dict[str, Any]]:
        with self.changed:
            return [r for r in self.reports if r["kind"] == kind and r["version"] == version]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 15.0) -> None:
        with self.changed:
            assert self.changed.wait_for(predicate, timeout), "the centre never saw it"

    def forget_after(self, log_id: str, seq: int) -> None:
        """The centre lost its tail (restored from its own backup): a gap for the branch."""
        with self.changed:
            log = self.logs[log_id]
            log.events = {s: e for s, e in log.events.items() if s <= seq}

    def _build(self) -> FastAPI:
        app = FastAPI()

        def refuse(status: int, code: str, **extra: Any) -> JSONResponse:
            return JSONResponse({"code": code, "message": code, **extra}, status_code=status)

        @app.middleware("http")
        async def authenticate(request: Request, call_next: Any) -> Any:
            body = await request.body()
            with self.changed:
                self.raw.append(request.url.query.encode() + body)
            if request.headers.get("authorization") != f"Bearer {TOKEN}":
                return refuse(401, "bad_token")
            return await call_next(request)

        @app.post("/api/v1/ship/hello")
        async def hello(request: Request) -> Any:
            h = await request.json()
            with self.changed:
                log = self.logs.setdefault(
                    h["log_id"], CentreLog(h["branch"], h["first_seq"], h["restored_from"])
                )
                self.hellos.append(h)
                self.changed.notify_all()
                if self.stale_next_hello and log.first_seq in log.events:
                    self.stale_next_hello = False
                    first = log.events[log.first_seq]
                    return {**log.state(h["log_id"]), "watermark": first["seq"],
                            "sha256_at_watermark": first["sha256"]}  # fmt: skip
                return log.state(h["log_id"])

        @app.get("/api/v1/ship/logs/{log_id}")
        async def state(log_id: str) -> Any:
            with self.changed:
                if log_id not in self.logs:
                    return refuse(404, "unknown_log")
                return self.logs[log_id].state(log_id)

        @app.get("/api/v1/ship/logs/{log_id}/digests")
        async def digests(log_id: str, after: int, limit: int = 1000) -> Any:
            with self.changed:
                log = self.logs[log_id]
                seqs = sorted(s for s in log.events if s > after)[: min(limit, 1000)]
                return {"log_id": log_id, "digests": [(s, log.events[s]["sha256"]) for s in seqs]}

        self._downlink_routes(app, refuse)

        @app.post("/api/v1/ship/events")
        async def events(request: Request) -> Any:
            batch = await request.json()
            with self.changed:
                log = self.logs.get(batch["log_id"])
                if log is None:
                    return refuse(404, "unknown_log")
                if len(batch["events"]) > MAX_BATCH:
                    return refuse(413, "batch_too_large")
                if batch["events"][0]["seq"] > log.watermark + 1:
                    self.gaps += 1
                    return refuse(409, "gap", **log.state(batch["log_id"]))
                ack = self._store(batch["log_id"], log, batch["events"])
                if self.lose_next_ack:  # stored, but the answer never reaches the branch
                    self.lose_next_ack = False
                    return refuse(500, "ack_lost")
                return ack

        return app

    def _downlink_routes(self, app: FastAPI, refuse: Callable[..., JSONResponse]) -> None:
        @app.get("/api/v1/ship/downlink")
        async def downlink(request: Request) -> Any:
            have = {k: int(request.query_params.get(k) or 0) for k in KINDS}
            with self.changed:
                self.downlink_polls += 1
                self.changed.notify_all()
                return {"documents": [d for k, d in self.documents.items()
                                      if self.serve_all or d["version"] > have[k]]}  # fmt: skip

        @app.post("/api/v1/ship/downlink/report")
        async def report(request: Request) -> Any:
            body = await request.json()
            with self.changed:
                if self.refuse_reports:
                    return refuse(503, "unavailable")
                self.reports.append(body)
                self.changed.notify_all()
            return Response(status_code=204)

    def _store(self, log_id: str, log: CentreLog, events: list[dict[str, Any]]) -> Any:
        stored = duplicates = 0
        for expected, e in enumerate(events, start=events[0]["seq"]):
            assert e["seq"] == expected, "a batch of consecutive seqs"
            digest = event_digest(e["seq"], e["at"], e["kind"], e["v"], e["body"])
            assert digest == e["sha256"], "the digest is the contract's"
            if e["seq"] in log.events:
                assert log.events[e["seq"]]["sha256"] == digest, "divergent history"
                duplicates += 1
            else:
                log.events[e["seq"]] = e
                stored += 1
        self.stored += stored
        self.duplicates += duplicates
        self.changed.notify_all()
        return {"log_id": log_id, "watermark": log.watermark, "stored": stored,
                "duplicates": duplicates, "quarantined": 0}  # fmt: skip


@dataclass
class Link:
    centre: CentreDouble
    server: ThreadServer
    proxy: FaultProxy
    ca: Path
    token_file: Path
    verify_key: Path  # the centre double's public key, as a branch holds it

    def office(self, **timeouts: Any) -> Any:
        from queue_server.head_office import HeadOffice

        return HeadOffice(
            url=f"https://127.0.0.1:{self.proxy.port}",
            branch=BRANCH,
            token=TOKEN,
            ca_file=self.ca,
            **{"connect_timeout_s": 1.0, "timeout_s": 2.0, **timeouts},
        )


@pytest.fixture(scope="session")
def centre_cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("centre-tls"))


@pytest.fixture
def link(centre_cert: tuple[Path, Path], tmp_path: Path) -> Iterator[Link]:
    """A centre double on HTTPS behind a fault proxy."""
    cert, key = centre_cert
    centre = CentreDouble()
    server = ThreadServer(centre.app, ssl_certfile=str(cert), ssl_keyfile=str(key)).start()
    proxy = FaultProxy(("127.0.0.1", server.port)).start()
    token_file = tmp_path / "head-office.token"
    token_file.write_text(TOKEN + "\n")
    verify_key = tmp_path / "head-office.pub.pem"
    verify_key.write_bytes(public_key_pem(centre.signing_key.public_key()))
    try:
        yield Link(centre, server, proxy, cert, token_file, verify_key)
    finally:
        proxy.stop()
        server.stop()


@pytest.fixture
def branch(branch_db: Any, clock: Any, link: Link) -> Iterator[Any]:
    """A branch server following the centre double's downlink (every 50 ms)."""
    from conftest import LiveServer

    office = link.office(verify_key=link.verify_key, poll_s=0.05)
    server = LiveServer(branch_db[0], branch_db[1], clock, head_office=office).start()
    # Whom each call-next calls is checked in these tests: the lookahead policy's choice, never
    # the base policy's stand-in for a lookahead that missed its 250 ms on a loaded machine.
    server.engine.advice_timeout_s = 15.0
    try:
        yield server
    finally:
        server.stop()
