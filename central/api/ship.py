"""The branch shipping routes of `wire.shipping`: hello, log state, digests, event batches."""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any, Literal, cast

import psycopg
from fastapi import APIRouter, Depends, Header, Query, Request
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, Field, StringConstraints, ValidationError

from central import vip
from central.api.gate import POOL_TIMEOUT_S, IngestGate
from central.branches import authenticate
from central.signing import Signer
from central.storage import branches as stored
from central.storage import downlink, ingest
from central.storage import knowledge as knowledge_base
from central.storage.ingest import Refused
from wire.downlink import Pending, Report
from wire.shipping import Ack, Batch, Digests, Hello, LogState


class ShownWaitIn(BaseModel):
    wait_min: int | None = Field(ge=0)
    wait_low_min: int | None = Field(default=None, ge=0)
    wait_high_min: int | None = Field(default=None, ge=0)
    wait_capped: bool = False


class LocationIn(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class HelloIn(BaseModel):
    """`wire.shipping.Hello` as validated here (the wire module stays standard-library only,
    and pydantic on Python 3.11 cannot read a `typing.TypedDict`)."""

    branch: str
    log_id: str
    first_seq: int
    restored_from: str | None
    software_version: str
    backlog: int
    profile: dict[str, Any]
    # Issue 20's booking fields; a branch of an older version sends none of them.
    waits: dict[Annotated[str, StringConstraints(max_length=16)], ShownWaitIn] = Field(
        default_factory=dict, max_length=200
    )
    location: LocationIn | None = None
    booking_url: Annotated[str, StringConstraints(pattern=r"^https://", max_length=500)] | None = (
        None
    )
    # The branch's X25519 public key for its sealed VIP keys (absent before it had one).
    vip_key: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None


class ShippedEventIn(BaseModel):
    seq: int
    at: str
    kind: str
    v: int
    body: dict[str, Any]
    sha256: str


class BatchIn(BaseModel):
    branch: str
    log_id: str
    events: list[ShippedEventIn]
    backlog: int | None = None


class ReportIn(BaseModel):
    kind: str
    version: int = Field(ge=1)
    outcome: Literal["applied", "refused"]
    reason: str | None = Field(default=None, max_length=500)
    effective: dict[str, Any] | None = None


log = logging.getLogger("central.ship")
MAX_BODY_BYTES = 4 * 1024 * 1024  # a full batch of large events is about 1.5 MB


def _first_errors(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
        for e in exc.errors()[:5]
    ]
    return "; ".join(parts) or "invalid request"


def _not_yours(branch: str, said: str) -> Refused:
    return Refused(403, "wrong_branch", f"this token is branch {branch}'s, not {said}'s")


def _hello(
    conn: psycopg.Connection,
    branch: str,
    said: Hello,
    signer: Signer | None,
    vip_master: bytes | None,
) -> LogState:
    state = ingest.hello(conn, branch, said)
    announced = said.get("vip_key")
    if announced:
        vip.announce(conn, signer, vip_master, branch, announced)
    return state


def router(
    pool: ConnectionPool,
    gate: IngestGate,
    signer: Signer | None = None,
    vip_master: bytes | None = None,
) -> APIRouter:
    """`signer` and `vip_master`: what the centre needs to seal a branch's VIP list again
    to a key it announces (without them the next `vip import` or `vip rotate` does)."""
    api = APIRouter(prefix="/api/v1/ship")

    def branch_of(authorization: Annotated[str | None, Header()] = None) -> str:
        with pool.connection(timeout=POOL_TIMEOUT_S) as conn:
            return authenticate(conn, authorization)

    # A closure's alias cannot be resolved from this module's (postponed) annotations, so
    # the dependency is given as each route's default.
    authenticated = Depends(branch_of)

    @api.post("/hello", response_model=None)
    def hello(hello_in: HelloIn, branch: str = authenticated) -> LogState:
        """Register the branch's log when new; the centre's state of it."""
        said = cast(Hello, hello_in.model_dump())
        if said["branch"] != branch:
            raise _not_yours(branch, said["branch"])
        with pool.connection(timeout=POOL_TIMEOUT_S) as conn:
            return _hello(conn, branch, said, signer, vip_master)

    @api.get("/logs/{log_id}", response_model=None)
    def log_state(log_id: str, branch: str = authenticated) -> LogState:
        """The watermark of one of the branch's logs and the digest stored at it."""
        with pool.connection(timeout=POOL_TIMEOUT_S) as conn:
            stored.touch(conn, branch)
            conn.commit()
            return ingest.log_state(conn, branch, log_id)

    @api.get("/logs/{log_id}/digests", response_model=None)
    def digests(
        log_id: str,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=ingest.MAX_DIGESTS)] = ingest.MAX_DIGESTS,
        branch: str = authenticated,
    ) -> Digests:
        """Stored digests after a seq, to find where a restored copy forked."""
        with pool.connection(timeout=POOL_TIMEOUT_S) as conn:
            return ingest.digests(conn, branch, log_id, after, limit)

    @api.get("/downlink", response_model=None)
    def downlink_pending(
        request: Request,
        config: Annotated[int, Query(ge=0)] = 0,
        vip: Annotated[int, Query(ge=0)] = 0,
        knowledge: Annotated[int, Query(ge=0)] = 0,
        notice: Annotated[int, Query(ge=0)] = 0,
        branch: str = authenticated,
    ) -> Pending:
        """Per kind, the newest document for the branch when newer than the version it has.

        A branch that was never sent the newest knowledge base (enrolled after it was
        published) is sent it now, so its first poll brings it."""
        have = {"config": config, "vip": vip, "knowledge": knowledge, "notice": notice}
        with pool.connection(timeout=POOL_TIMEOUT_S) as conn, conn.transaction():
            knowledge_base.catch_up(conn, request.app.state.signer, branch)
            return {"documents": downlink.pending(conn, branch, have)}

    @api.post("/downlink/report", status_code=204, response_model=None)
    def downlink_report(report_in: ReportIn, branch: str = authenticated) -> None:
        """What the branch did with a document: applied (in force now) or refused."""
        report = cast(Report, report_in.model_dump(exclude_none=True))
        try:
            with pool.connection(timeout=POOL_TIMEOUT_S) as conn, conn.transaction():
                downlink.record_report(conn, branch, report)
        except downlink.DownlinkError as exc:
            status = 404 if exc.code == "unknown_version" else 422
            raise Refused(status, exc.code, str(exc)) from None
        if report["outcome"] == "refused":
            # The alarm: which branch refused which version and why, nothing of its content.
            log.warning(
                "branch %s refused %s version %s: %s",
                branch, report["kind"], report["version"], report.get("reason", "no reason"),
            )  # fmt: skip

    @api.post(
        "/events",
        response_model=None,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": BatchIn.model_json_schema()}},
            }
        },
    )
    async def events(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> Ack:
        """Store a batch of the branch's events; the new watermark."""
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise Refused(413, "batch_too_large", f"a batch body is at most {MAX_BODY_BYTES} bytes")

        def store() -> Ack:
            # Parsing, the token check and the batch all run on the lane's thread, off the
            # event loop, with one connection.
            # Checked strictly (no coercion), then used as parsed: copying a megabyte of
            # event bodies out of the model again cost more than checking them.
            try:
                doc = json.loads(raw)
                BatchIn.model_validate(doc, strict=True)
            except ValueError as exc:  # pydantic's ValidationError is a ValueError too
                detail = _first_errors(exc) if isinstance(exc, ValidationError) else str(exc)
                raise Refused(422, "invalid_request", detail) from None
            batch = cast(
                Batch, {k: doc[k] for k in ("branch", "log_id", "events", "backlog") if k in doc}
            )
            with pool.connection(timeout=POOL_TIMEOUT_S) as conn:
                branch = authenticate(conn, authorization)
                if batch["branch"] != branch:
                    raise _not_yours(branch, batch["branch"])
                return ingest.ingest(conn, branch, batch)

        return await gate.run(len(raw), store)

    return api
