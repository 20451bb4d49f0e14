"""Dependencies declared once: the engine, the calling device, and role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request
from pydantic import AfterValidator

from ..auth import Principal, TokenCache
from ..domain import Change
from ..engine import Engine

T = TypeVar("T")
ALL_ROLES = ("kiosk", "counter", "display", "manager", "admin")


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_tokens(request: Request) -> TokenCache:
    tokens: TokenCache = request.app.state.tokens
    return tokens


EngineDep = Annotated[Engine, Depends(get_engine)]

FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def _in_service_years(day: date) -> date:
    # Far-off days overflow date arithmetic, and old ones get a time zone's local mean
    # time offset (+08:05:43) that no answer's schema admits: neither is a business day.
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"a business day between {FIRST_DAY} and {LAST_DAY}")
    return day


BusinessDay = Annotated[date, AfterValidator(_in_service_years)]


async def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    return token.strip()


async def current_device(
    token: Annotated[str, Depends(bearer_token)],
    tokens: Annotated[TokenCache, Depends(get_tokens)],
) -> Principal:
    principal = tokens.lookup(token)
    if principal is None:
        raise HTTPException(401, "unknown, expired or revoked token")
    return principal


CurrentDevice = Annotated[Principal, Depends(current_device)]


def require(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits only devices with one of these roles."""

    # Dependencies are async (they never block) so FastAPI runs them on the event loop
    # instead of hopping to a worker thread for each one.
    async def check(device: CurrentDevice) -> Principal:
        if device.role not in roles:
            raise HTTPException(403, f"role {device.label} may not do this")
        return device

    check.__name__ = "require_" + "_".join(roles)
    return check


def counter_guard(*extra_roles: str) -> Callable[[int, Principal], Awaitable[Principal]]:
    """Admits the counter's own device (counter:N for /counters/N) and the extra roles."""

    async def check(number: int, device: CurrentDevice) -> Principal:
        if device.role == "counter" and device.counter == number:
            return device
        if device.role in extra_roles:
            return device
        raise HTTPException(403, f"role {device.label} may not act for counter {number}")

    return check


AnyDevice = Annotated[Principal, Depends(require(*ALL_ROLES))]
Manager = Annotated[Principal, Depends(require("manager", "admin"))]
IssuingDevice = Annotated[Principal, Depends(require("kiosk", "counter", "manager", "admin"))]
OwnCounter = Annotated[Principal, Depends(counter_guard())]
OwnCounterOrManager = Annotated[Principal, Depends(counter_guard("manager", "admin"))]


def result_of(change: Change, kind: type[T]) -> T:
    """The entity a command produced (every non-empty change of these commands has one)."""
    if not isinstance(change.result, kind):
        raise TypeError(f"expected a {kind.__name__} from the command")
    return change.result


def manager_actor(device: Principal) -> str | None:
    """Who to name in the audit log for this device's command: managers and admins only."""
    if device.role not in ("manager", "admin"):
        return None
    return f"{device.role}:{device.name}" if device.name else device.role
