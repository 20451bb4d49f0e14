"""Dependencies declared once: the engine, the desks, the limiters, the calling device, and
role checks. Everything here was built once per app in `create_app` and lives on
`app.state`; routes name what they need by these aliases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Path, Request
from pydantic import AfterValidator

from queue_server.api.schemas.services import SERVICE_CODE
from queue_server.auth import Principal, TokenCache
from queue_server.desks.alerts import AlertDesk
from queue_server.desks.appointments import AppointmentDesk
from queue_server.desks.audit import AuditLog
from queue_server.desks.notifications import NotificationDesk
from queue_server.desks.provisioning import Provisioning
from queue_server.desks.public_tickets import PublicTicketDesk
from queue_server.desks.sign_in import StaffSignIn
from queue_server.desks.tickets import TicketDesk
from queue_server.domain import Change
from queue_server.engine import Engine
from queue_server.security.limits import PublicGate, RateLimit

T = TypeVar("T")
ALL_ROLES = ("kiosk", "counter", "display", "manager", "admin")
# Who may follow the branch's event stream: the lobby tablet too (it shows the hall live),
# though it reaches no other route outside the lobby API.
STREAM_ROLES = (*ALL_ROLES, "lobby")


async def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


async def get_tokens(request: Request) -> TokenCache:
    tokens: TokenCache = request.app.state.tokens
    return tokens


EngineDep = Annotated[Engine, Depends(get_engine)]
TokensDep = Annotated[TokenCache, Depends(get_tokens)]


async def get_ticket_desk(request: Request) -> TicketDesk:
    desk: TicketDesk = request.app.state.tickets
    return desk


async def get_public_ticket_desk(request: Request) -> PublicTicketDesk:
    desk: PublicTicketDesk = request.app.state.public_tickets
    return desk


async def get_appointment_desk(request: Request) -> AppointmentDesk:
    desk: AppointmentDesk = request.app.state.appointments
    return desk


async def get_alert_desk(request: Request) -> AlertDesk:
    desk: AlertDesk = request.app.state.alerts
    return desk


async def get_notification_desk(request: Request) -> NotificationDesk:
    desk: NotificationDesk = request.app.state.notices
    return desk


async def get_provisioning(request: Request) -> Provisioning:
    desk: Provisioning = request.app.state.provisioning
    return desk


async def get_staff_sign_in(request: Request) -> StaffSignIn:
    desk: StaffSignIn = request.app.state.sign_in
    return desk


async def get_audit_log(request: Request) -> AuditLog:
    audit: AuditLog = request.app.state.audit
    return audit


TicketDeskDep = Annotated[TicketDesk, Depends(get_ticket_desk)]
PublicTicketDeskDep = Annotated[PublicTicketDesk, Depends(get_public_ticket_desk)]
AppointmentDeskDep = Annotated[AppointmentDesk, Depends(get_appointment_desk)]
AlertDeskDep = Annotated[AlertDesk, Depends(get_alert_desk)]
NotificationDeskDep = Annotated[NotificationDesk, Depends(get_notification_desk)]
ProvisioningDep = Annotated[Provisioning, Depends(get_provisioning)]
AuditLogDep = Annotated[AuditLog, Depends(get_audit_log)]
StaffSignInDep = Annotated[StaffSignIn, Depends(get_staff_sign_in)]


# ---------------------------------------------------------------- limiters
@dataclass(frozen=True)
class PublicTicketLimits:
    """POSTs on the public ticket page: per ticket token and per client address."""

    per_token: RateLimit
    per_client: RateLimit


async def get_public_ticket_limits(request: Request) -> PublicTicketLimits:
    limits: PublicTicketLimits = request.app.state.public_ticket_limits
    return limits


async def get_public_gate(request: Request) -> PublicGate:
    gate: PublicGate = request.app.state.public_booking_gate  # tests may swap in other limits
    return gate


async def client_address(request: Request) -> str:
    """The client's address as uvicorn reports it (behind a proxy: see --proxy-headers)."""
    return request.client.host if request.client is not None else "unknown"


PublicTicketLimitsDep = Annotated[PublicTicketLimits, Depends(get_public_ticket_limits)]
PublicGateDep = Annotated[PublicGate, Depends(get_public_gate)]
ClientAddress = Annotated[str, Depends(client_address)]

# Texts in a URL path. Each is a key the server made (an alert id, a business code), so
# anything else is refused before it is looked up.
AlertId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
ServiceCodePath = Annotated[str, Path(pattern=SERVICE_CODE, description="business code")]

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
    token: Annotated[str, Depends(bearer_token)], tokens: TokensDep
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


def device_key(device: Principal, idempotency_key: str | None) -> str | None:
    """An Idempotency-Key as stored: scoped to the device token that sent it, so another
    kiosk whose key happens to match gets its own ticket, never this customer's ticket and
    phone link."""
    return None if idempotency_key is None else f"{device.token_id}:{idempotency_key}"


def manager_actor(device: Principal) -> str | None:
    """Who to name in the audit log for this device's command: managers and admins only."""
    if device.role not in ("manager", "admin"):
        return None
    return f"{device.role}:{device.name}" if device.name else device.role


def actor_of(device: Principal) -> str:
    """How the audit log names a device: managers by name, other devices by their role."""
    return manager_actor(device) or device.label
