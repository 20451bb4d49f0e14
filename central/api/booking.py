"""Network booking for customers: the /book page, the ranking of branches and the booking
forwarded to the chosen branch (which owns its slots and answers for itself).

The customer's position, when their browser shares it, arrives as `lat`/`lon` on one
search; it is used for that answer only: never stored, never sent on, and blanked in the
access log (`CoordinatesOffTheLog`).
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import httpx
import psycopg_pool
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field

from central import booking
from central.api.console import Refusal, _RefusingRoute
from central.booking import BranchReach
from central.storage import booking as stored

PAGES = Path(__file__).resolve().parents[1] / "web" / "book"
STATIC = {"book.css": "text/css", "book.js": "text/javascript"}
POOL_WAIT_S = 5.0
BRANCH_PATH = "/api/v1/public/book"
BRANCH_CONNECT_S = 2.0
BRANCH_READ_S = 5.0  # a branch slower than this is left out of a slot's ranking
TIMES_DAYS = 5  # the picker's days: enough to plan a week, few enough to read on a phone
CODE = r"^[A-Za-z0-9_-]{1,16}$"
BRANCH_ID = r"^[A-Za-z0-9_.-]{1,64}$"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class CoordinatesOffTheLog(logging.Filter):
    """Blanks `lat`/`lon` in the paths uvicorn's access log writes: a customer's position
    is personal data and may not be kept, not even in a log file."""

    _PLACE = re.compile(r"([?&](?:lat|lon)=)[^&\s]*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self._PLACE.sub(r"\1-", a) if isinstance(a, str) else a for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = self._PLACE.sub(r"\1-", record.msg)
        return True


def keep_coordinates_off_the_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, CoordinatesOffTheLog) for f in access.filters):
        access.addFilter(CoordinatesOffTheLog())


class BookingIn(BaseModel):
    branch: str = Field(pattern=BRANCH_ID)
    service: str = Field(pattern=CODE)
    slot_start: datetime


def _customer(lat: float | None, lon: float | None) -> tuple[float, float] | None:
    if (lat is None) != (lon is None):
        raise Refusal(422, "half_a_location", "give both lat and lon, or neither")
    return None if lat is None or lon is None else (lat, lon)


def _forwarded(request: Request) -> dict[str, str]:
    # The branch holds each customer address to its booking limits; without this every
    # booking through the centre would count against the centre's own address.
    return {"X-Forwarded-For": request.client.host} if request.client else {}


async def _at_slot(
    client: httpx.AsyncClient,
    request: Request,
    offered: list[BranchReach],
    service: str,
    slot: datetime,
) -> tuple[list[tuple[BranchReach, int]], list[dict[str, Any]]]:
    """Ask every offered branch, at once, for room at the slot."""
    answers = await asyncio.gather(*(_room(client, request, r, service, slot) for r in offered))
    room = [(r, free) for r, free in zip(offered, answers, strict=True) if isinstance(free, int)]
    left = [
        booking.unavailable(r, why)
        for r, why in zip(offered, answers, strict=True)
        if not isinstance(why, int)
    ]
    return room, left


async def _room(
    client: httpx.AsyncClient, request: Request, reach: BranchReach, service: str, at: datetime
) -> int | booking.Unavailable:
    day = at.astimezone(ZoneInfo(reach.timezone)).date()
    try:
        answer = await client.get(
            f"{reach.booking_url}{BRANCH_PATH}/slots",
            params={"day": day.isoformat(), "service": service},
            headers=_forwarded(request),
        )
    except httpx.HTTPError:
        return "no_answer"
    if answer.status_code != 200:
        return "full"  # the day or the business is not bookable there
    try:
        for offer in answer.json():
            if datetime.fromisoformat(offer["slot_start"]) == at:
                free = int(offer["free"])
                return free if offer["bookable"] and free > 0 else "full"
    except (ValueError, KeyError, TypeError):
        return "no_answer"
    return "full"


async def _day_offers(
    client: httpx.AsyncClient, request: Request, reach: BranchReach, service: str
) -> tuple[str | None, list[dict[str, Any]]]:
    """The branch's today and every slot it offers for the business on the days it offers;
    nothing from a branch that does not answer or answers nonsense (it is not counted)."""
    url = f"{reach.booking_url}{BRANCH_PATH}"
    headers = _forwarded(request)
    try:
        offer = await client.get(f"{url}/services", headers=headers)
        if not offer.is_success:
            return None, []
        said = offer.json()
        today = date.fromisoformat(said["today"]).isoformat()
        days = [date.fromisoformat(d) for d in said["days"]]
        answers = await asyncio.gather(
            *(
                client.get(f"{url}/slots", params={"day": d.isoformat(), "service": service},
                           headers=headers)
                for d in days
            )
        )  # fmt: skip
        return today, [
            {
                "slot_start": datetime.fromisoformat(s["slot_start"]).isoformat(),
                "slot_end": datetime.fromisoformat(s["slot_end"]).isoformat(),
                "free": int(s["free"]),
                "bookable": s["bookable"] is True,
            }
            for answer in answers
            if answer.is_success
            for s in answer.json()
        ]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None, []


# Like the console's: the routes are closures over one pool and one trust; each is short,
# their count is what the complexity measure sees.
def booking_router(  # noqa: C901
    pool: psycopg_pool.ConnectionPool, branch_ca: Path | None
) -> APIRouter:
    """The booking page and its API, reading through `pool`; branches' certificates are
    checked against `branch_ca` (None: the system's authorities)."""
    router = APIRouter(route_class=_RefusingRoute, tags=["booking"])
    keep_coordinates_off_the_log()
    trust: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=str(branch_ca)) if branch_ca else True
    )

    def to_branches() -> httpx.AsyncClient:
        return httpx.AsyncClient(
            verify=trust, timeout=httpx.Timeout(BRANCH_READ_S, connect=BRANCH_CONNECT_S)
        )

    def read(work: Any, *args: Any) -> Any:
        with pool.connection(timeout=POOL_WAIT_S) as conn:
            return work(conn, *args)

    async def reachable(branch: str) -> BranchReach:
        reach: BranchReach | None = await run_in_threadpool(read, stored.branch_reach, branch)
        if reach is None:
            raise Refusal(404, "unknown_branch", "no such branch")
        if not reach.bookable:
            raise Refusal(409, "branch_unreachable", "this branch cannot be booked now")
        return reach

    # ---------------------------------------------------------------- page
    @router.get("/book", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(
            PAGES / "index.html",
            headers={"Cache-Control": "no-cache", "Content-Security-Policy": CSP},
        )

    @router.get("/book/static/{name}", include_in_schema=False)
    def static(name: str) -> FileResponse:
        if name not in STATIC:
            raise Refusal(404, "not_found", "no such file")
        return FileResponse(PAGES / name, media_type=STATIC[name])

    # ---------------------------------------------------------------- API
    @router.get("/api/v1/book/services")
    async def services() -> list[dict[str, Any]]:
        """The businesses that can be booked somewhere in the network now."""
        found: list[dict[str, Any]] = await run_in_threadpool(
            read, stored.offered_services, booking.STALE_AFTER_S
        )
        return found

    @router.get("/api/v1/book/branches")
    async def branches(
        request: Request,
        service: Annotated[str, Query(pattern=CODE)],
        lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
        lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
        slot: datetime | None = None,
    ) -> dict[str, Any]:
        """Branches offering the business, ranked by predicted wait + travel now, or by
        room and travel at `slot`; those that cannot be booked listed without figures."""
        customer = _customer(lat, lon)
        if slot is not None and slot.tzinfo is None:
            raise Refusal(422, "slot_without_offset", "give the slot with its UTC offset")
        found: list[BranchReach] = await run_in_threadpool(read, stored.branches_for, service)
        out: list[dict[str, Any]] = []
        offered: list[BranchReach] = []
        for reach in found:
            why = booking.why_not_now(reach)
            if why in ("wait_unknown", "no_booking") or (why and slot is None):
                out.append(booking.unavailable(reach, why))
            else:
                offered.append(reach)
        if slot is None:
            ranked = booking.rank_now(offered, customer)
        else:
            async with to_branches() as client:
                room, left_out = await _at_slot(client, request, offered, service, slot)
            out += left_out
            ranked = booking.rank_at_slot(room, customer)
        return {
            "service": service,
            "slot": slot.isoformat() if slot else None,
            "ranked_by": "slot" if slot else "now",
            "located": customer is not None,
            "speed_kmh": booking.URBAN_KMH,
            "overhead_min": booking.TRAVEL_OVERHEAD_MIN,
            "branches": ranked,
            "unavailable": out,
        }

    @router.get("/api/v1/book/times")
    async def times(
        request: Request, service: Annotated[str, Query(pattern=CODE)]
    ) -> dict[str, Any]:
        """The next days and times the business can be booked at some branch offered now,
        for the page's picker; each time with how many branches still have room then."""
        found: list[BranchReach] = await run_in_threadpool(read, stored.branches_for, service)
        offered = [r for r in found if booking.why_not_now(r) not in ("wait_unknown", "no_booking")]
        async with to_branches() as client:
            offers = await asyncio.gather(
                *(_day_offers(client, request, r, service) for r in offered)
            )
        todays = [today for today, _ in offers if today is not None]
        return {
            "service": service,
            "today": min(todays) if todays else None,  # a branch's calendar, not the centre's
            "days": booking.network_times([slots for _, slots in offers], TIMES_DAYS),
        }

    @router.get("/api/v1/book/slots", response_model=None)
    async def slots(
        request: Request,
        branch: Annotated[str, Query(pattern=BRANCH_ID)],
        service: Annotated[str, Query(pattern=CODE)],
        day: date | None = None,
    ) -> JSONResponse:
        """The branch's own booking offer (days, or a day's slots), passed on unchanged."""
        reach = await reachable(branch)
        path, params = "/services", {}
        if day is not None:
            path, params = "/slots", {"day": day.isoformat(), "service": service}
        return await _relay(request, "GET", reach, path, params=params)

    @router.post("/api/v1/book", response_model=None)
    async def book(request: Request, body: BookingIn) -> JSONResponse:
        """Book at the chosen branch: its answer (booking number, QR) unchanged."""
        reach = await reachable(body.branch)
        json = {"service": body.service, "slot_start": body.slot_start.isoformat()}
        return await _relay(request, "POST", reach, "", json=json)

    async def _relay(
        request: Request, method: str, reach: BranchReach, path: str, **kw: Any
    ) -> JSONResponse:
        try:
            async with to_branches() as client:
                answer = await client.request(
                    method, f"{reach.booking_url}{BRANCH_PATH}{path}",
                    headers=_forwarded(request), **kw,
                )  # fmt: skip
            content = answer.json()
        except httpx.TimeoutException:
            raise Refusal(504, "branch_timeout", "the branch did not answer in time") from None
        except (httpx.HTTPError, ValueError):
            raise Refusal(502, "branch_no_answer", "the branch could not be reached") from None
        return JSONResponse(content, status_code=answer.status_code)

    return router
