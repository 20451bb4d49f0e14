"""The centre's FastAPI app: one connection pool shared by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import ConnectionPool, PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from central.api.gate import POOL_TIMEOUT_S, Busy, IngestGate
from central.branches import BadToken
from central.signing import Signer
from central.storage.ingest import Refused

# A router factory: given the app's pool, the routes of one area. The console's area joins
# this list when it is merged.
RouterFactory = Callable[[ConnectionPool], APIRouter]


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"code": code, "detail": message, **extra}, status_code=status)


def create_app(
    dsn: str,
    *,
    pool_size: int = 8,
    ingest_limit: int | None = None,
    bulk_ingest_limit: int | None = None,
    signer: Signer | None = None,
    branch_ca: Path | None = None,
    vip_master: bytes | None = None,
) -> FastAPI:
    """The centre on the database at `dsn` (migrated already: `branchq central migrate`).

    `signer` signs what the centre publishes to branches (`central.signing`); without one,
    routes that publish answer 503 `no_signing_key`. `branch_ca`: the authority the
    branches' booking addresses are checked against (None: the system's). `vip_master`: the
    VIP master key (`central.vip`), so a branch announcing a new key of its own gets its list
    sealed to it at once; without it that waits for the next `vip import` or `vip rotate`."""
    from central.api import ship
    from central.api.booking import booking_router
    from central.api.config_console import config_router
    from central.api.console import console_router
    from central.api.knowledge import knowledge_router

    pool = ConnectionPool(
        dsn, min_size=1, max_size=pool_size, open=False, timeout=POOL_TIMEOUT_S,
        kwargs={"connect_timeout": 10},
    )  # fmt: skip
    # Ingest leaves connections free for the console's reads: of the pool, half the rest for
    # live batches and a third for catch-up (at least two each: a catch-up batch waits on
    # PostgreSQL for about half its time, when another can use the processor).
    limit = ingest_limit or max(2, (pool_size - 2) // 2)
    gate = IngestGate(limit, bulk_ingest_limit or max(2, (pool_size - 2) // 3))
    routers: list[RouterFactory] = [
        lambda p: ship.router(p, gate, signer, vip_master),
        console_router,
        config_router,
        knowledge_router,
        lambda p: booking_router(p, branch_ca),
    ]

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pool.open(wait=True, timeout=POOL_TIMEOUT_S)
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(title="BranchQ head office", lifespan=lifespan)
    app.state.pool = pool
    app.state.signer = signer
    for make in routers:
        app.include_router(make(pool))

    @app.exception_handler(Refused)
    async def refused(_: Request, exc: Refused) -> JSONResponse:
        extra = {"state": exc.state} if exc.state is not None else {}
        return _error(exc.status, exc.code, exc.message, **extra)

    @app.exception_handler(BadToken)
    async def bad_token(_: Request, exc: BadToken) -> JSONResponse:
        response = _error(401, exc.code, exc.message)
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(Busy)
    async def busy(_: Request, exc: Busy) -> JSONResponse:
        response = _error(503, "busy", str(exc))
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

    @app.exception_handler(PoolTimeout)
    async def no_connection(_: Request, exc: PoolTimeout) -> JSONResponse:
        response = _error(503, "database_busy", "no database connection came free in time")
        response.headers["Retry-After"] = "2"
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}"
            for e in exc.errors()[:5]
        ]
        return _error(422, "invalid_request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed"}
        return _error(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))

    return app
