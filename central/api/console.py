"""The head-office console: its pages, sign-in, and the read-only JSON, exports and live stream.

Include it with `app.include_router(console_router(pool))`. Every route below the sign-in
needs a session cookie, and every read is limited in SQL to what the viewer may see: a
regional manager's region, or the whole network for head office.
(No `from __future__ import annotations` here: FastAPI must see the routes' annotations,
which name the router's local dependency, as objects.)
"""

import asyncio
import contextlib
import csv
import io
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import psycopg
import psycopg_pool
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, ValidationError

from central import accounts, vip
from central.accounts import Viewer
from central.live import RESYNC, NetworkListener
from central.storage import console_reads, operations

COOKIE = "branchq_console"
PAGES = Path(__file__).resolve().parents[1] / "web" / "console"
STATIC = {
    "console.css": "text/css",
    "console.js": "text/javascript",
    "config.js": "text/javascript",
}
POOL_WAIT_S = 5.0  # a connection from the pool, else 503: never queue a console forever
STATEMENT_TIMEOUT = "10s"
HEARTBEAT_S = 15.0  # keeps proxies from closing an idle stream, and re-checks the session
STREAM_LIFETIME_S = 600.0  # then the browser reconnects by itself: no stream outlives a stop
MAX_REPORT_DAYS = 400
REPORT_COLUMNS = (
    ("period", "期间", "Period"),
    ("key", "代码", "Code"),
    ("label", "名称", "Name"),
    ("issued", "取号量", "Issued"),
    ("called", "叫号量", "Called"),
    ("served", "办结量", "Served"),
    ("wait_avg_s", "平均等候(秒)", "Average wait (s)"),
    ("wait_max_s", "最长等候(秒)", "Longest wait (s)"),
    ("within_target_share", "达标率", "Within target"),
    ("no_show", "过号量", "No-shows"),
    ("no_show_share", "过号率", "No-show share"),
    ("rating_avg", "平均评价", "Average rating"),
)


class Refusal(Exception):
    """A request the console refuses: the status, a stable code and a message."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.headers = status, code, headers


class _RefusingRoute(APIRoute):
    # A router cannot register exception handlers on the app that includes it, so each of
    # its routes turns a Refusal into the error body the branch server also uses.
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except Refusal as r:
                return refusal_response(r)
            except psycopg_pool.PoolTimeout:
                return refusal_response(Refusal(503, "centre_busy", "the centre is busy"))

        return answer


def refusal_response(r: Refusal) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": r.code, "message": str(r)}}, status_code=r.status, headers=r.headers
    )


class NoticeSent(BaseModel):
    text: str = Field(max_length=2000)  # folded and held to the notice limit by operations
    until: datetime
    region: str | None = Field(default=None, max_length=64)  # None: the whole network


class SignIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=accounts.MAX_PASSWORD)


def connection_from(
    pool: psycopg_pool.ConnectionPool,
) -> Callable[[], contextlib.AbstractContextManager[psycopg.Connection]]:
    """A connection from `pool` with the console's statement timeout; leaving the block
    commits (or rolls back on an exception)."""

    @contextlib.contextmanager
    def connection() -> Iterator[psycopg.Connection]:
        with pool.connection(timeout=POOL_WAIT_S) as conn:
            conn.execute(f"SET LOCAL statement_timeout = '{STATEMENT_TIMEOUT}'")
            yield conn

    return connection


def viewer_from(pool: psycopg_pool.ConnectionPool) -> Callable[[Request], Viewer]:
    """A dependency: who the session cookie says is signed in, else 401 `not_signed_in`."""
    connection = connection_from(pool)

    def current_viewer(request: Request) -> Viewer:
        token = request.cookies.get(COOKIE)
        if not token:
            raise Refusal(401, "not_signed_in", "sign in first")
        with connection() as conn:
            viewer = accounts.session_viewer(conn, token)
        if viewer is None:
            raise Refusal(401, "not_signed_in", "the session has ended: sign in again")
        return viewer

    return current_viewer


# The routes are closures over one pool and listener; each is a few lines, their count is
# what the complexity measure sees.
def console_router(pool: psycopg_pool.ConnectionPool) -> APIRouter:  # noqa: C901
    """The console's pages and API, reading through `pool`."""
    router = APIRouter(route_class=_RefusingRoute, tags=["console"])
    listener = NetworkListener(pool.conninfo if isinstance(pool.conninfo, str) else pool.conninfo())
    router.add_event_handler("shutdown", listener.stop)

    reading = connection_from(pool)
    current_viewer = viewer_from(pool)
    ViewerDep = Annotated[Viewer, Depends(current_viewer)]

    def scope(viewer: Viewer, region: str | None) -> str | None:
        """The region to read: the viewer's own, or one a head-office viewer chose."""
        if region and not viewer.may_see_region(region):
            raise Refusal(403, "outside_region", "that region is not yours to see")
        return region or viewer.region_id

    # ---------------------------------------------------------------- pages
    @router.get("/console", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(PAGES / "index.html", headers={"Cache-Control": "no-cache"})

    @router.get("/console/static/{name}", include_in_schema=False)
    def static(name: str) -> FileResponse:
        if name not in STATIC:
            raise Refusal(404, "not_found", "no such file")
        return FileResponse(PAGES / name, media_type=STATIC[name])

    # ---------------------------------------------------------------- sign-in
    @router.post("/console/api/sign-in")
    def sign_in(body: SignIn, request: Request, response: Response) -> dict[str, Any]:
        """Sign in with a username and password; sets the session cookie."""
        with reading() as conn:
            # A refusal is caught inside the block so the failure it counted is committed.
            refused: accounts.AccountError | None = None
            try:
                token, viewer = accounts.sign_in(conn, body.username, body.password)
            except accounts.AccountError as exc:
                refused = exc
        if isinstance(refused, accounts.SignInThrottled):
            raise Refusal(
                429, refused.code, str(refused), {"Retry-After": str(refused.retry_after_s)}
            )
        if refused is not None:
            raise Refusal(401, refused.code, str(refused))
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(accounts.SESSION_TTL.total_seconds()),
            path="/console",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return viewer_json(viewer)

    @router.post("/console/api/sign-out")
    def sign_out(request: Request, response: Response) -> dict[str, bool]:
        """End this session."""
        token = request.cookies.get(COOKIE)
        if token:
            with reading() as conn:
                accounts.sign_out(conn, token)
        response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")
        return {"signed_out": True}

    @router.get("/console/api/me")
    def me(viewer: ViewerDep) -> dict[str, Any]:
        """Who is signed in and what they may see."""
        return viewer_json(viewer)

    # ---------------------------------------------------------------- reads
    @router.get("/console/api/network")
    def network(
        viewer: ViewerDep, region: str | None = None, branch: str | None = None
    ) -> dict[str, Any]:
        """Every branch in view: waiting, longest wait against target, link and freshness."""
        in_scope = scope(viewer, region)
        with reading() as conn:
            rows = console_reads.network(conn, in_scope, branch)
            regions = console_reads.regions(conn, viewer.region_id)
        return {"viewer": viewer_json(viewer), "regions": regions, "branches": rows}

    @router.get("/console/api/vip")
    def vip_list(viewer: ViewerDep) -> dict[str, Any]:
        """The VIP list's counts by tier and each branch's key generations (head office)."""
        if viewer.region_id is not None:
            raise Refusal(403, "head_office_only", "the VIP list is the head office's")
        with reading() as conn:
            return vip.counts(conn)

    @router.get("/console/api/branches/{branch}")
    def drill_down(branch: str, viewer: ViewerDep) -> dict[str, Any]:
        """One branch: its businesses today, counters and today's calls (read-only)."""
        with reading() as conn:
            region = console_reads.branch_region(conn, branch)
            if region is None:
                raise Refusal(404, "unknown_branch", "no such branch")
            if not viewer.may_see_region(region):
                raise Refusal(403, "outside_region", "that branch is not in your region")
            rows = console_reads.network(conn, region, branch)
            return {"branch": rows[0], **console_reads.drill_down(conn, branch)}

    @router.get("/console/api/reports", response_model=None)
    def reports(
        viewer: ViewerDep,
        first: date,
        last: date,
        group: Annotated[str, Query(pattern="^(day|week|month)$")] = "day",
        by: Annotated[str, Query(pattern="^(branch|business)$")] = "branch",
        region: str | None = None,
        format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
    ) -> dict[str, Any] | Response:
        """Comparison figures per period and branch or business, as JSON, CSV or XLSX."""
        if last < first:
            raise Refusal(400, "bad_range", "the last day is before the first")
        if last - first > timedelta(days=MAX_REPORT_DAYS):
            raise Refusal(400, "range_too_long", f"at most {MAX_REPORT_DAYS} days at a time")
        in_scope = scope(viewer, region)
        with reading() as conn:
            rows = console_reads.report(conn, in_scope, first, last, group, by)
        if format == "json":
            return {"first": first, "last": last, "group": group, "by": by, "rows": rows}
        name = f"branchq-report-{by}-{group}-{first}-{last}.{format}"
        body, media = (
            (report_csv(rows), "text/csv; charset=utf-8")
            if format == "csv"
            else (
                report_xlsx(rows),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        )
        return Response(
            body,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @router.get("/console/api/devices")
    def devices(viewer: ViewerDep, region: str | None = None) -> dict[str, Any]:
        """Devices not ok across the network, as the branches that need a visit."""
        in_scope = scope(viewer, region)
        with reading() as conn:
            return {"branches": console_reads.devices_needing_visit(conn, in_scope)}

    # ---------------------------------------------------------------- live
    @router.get("/console/api/live")
    async def live(request: Request) -> StreamingResponse:
        """Server-sent events: `branch` with a branch id when its figures changed."""
        viewer = await run_in_threadpool(current_viewer, request)
        token = request.cookies.get(COOKIE, "")
        regions = await run_in_threadpool(branch_regions)
        sub = listener.subscribe()
        # "hello" promises the LISTEN is in force: a change after it will be pushed.
        listening = await run_in_threadpool(listener.listening.wait, POOL_WAIT_S)

        async def stream() -> AsyncIterator[bytes]:
            nonlocal regions
            try:
                yield b"retry: 2000\n"
                yield b"event: hello\ndata: {}\n\n" if listening else b"event: resync\ndata: {}\n\n"
                ends = time.monotonic() + STREAM_LIFETIME_S
                while time.monotonic() < ends:
                    try:
                        branch = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_S)
                    except TimeoutError:
                        if not await run_in_threadpool(session_alive, token):
                            yield b"event: signed-out\ndata: {}\n\n"
                            return
                        yield b": heartbeat\n\n"
                        continue
                    if branch == RESYNC:
                        sub.caught_up()
                        yield b"event: resync\ndata: {}\n\n"
                        continue
                    if branch not in regions:  # a branch enrolled since the stream began
                        regions = await run_in_threadpool(branch_regions)
                    region = regions.get(branch)
                    if region is not None and viewer.may_see_region(region):
                        yield f"event: branch\ndata: {branch}\n\n".encode()
            finally:
                listener.unsubscribe(sub)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    def branch_regions() -> dict[str, str]:
        with reading() as conn:
            return console_reads.branch_regions(conn)

    def session_alive(token: str) -> bool:
        with reading() as conn:
            return accounts.session_viewer(conn, token) is not None

    operations_routes(router, reading, current_viewer)
    return router


def viewer_json(viewer: Viewer) -> dict[str, Any]:
    return {"username": viewer.username, "role": viewer.role, "region": viewer.region_id}


def _cell(row: dict[str, Any], key: str) -> Any:
    value = row[key]
    return value.isoformat() if isinstance(value, date) else value


def report_csv(rows: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"{zh} {en}" for _, zh, en in REPORT_COLUMNS])
    for row in rows:
        writer.writerow(["" if row[k] is None else _cell(row, k) for k, _, _ in REPORT_COLUMNS])
    # The BOM makes Excel on a Chinese Windows read the file as UTF-8, not GBK.
    return ("\ufeff" + out.getvalue()).encode()


def report_xlsx(rows: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("报表 Report")
    sheet.append([f"{zh} {en}" for _, zh, en in REPORT_COLUMNS])
    for row in rows:
        sheet.append([row[k] for k, _, _ in REPORT_COLUMNS])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- operations
# Remote operations (issue 20, item 5): what each branch runs, and a hall notice to a region
# or the network. Nothing here reaches into a branch's queue: a notice is a `notice`
# document the branch shows beside its own (central.storage.operations).
OPERATIONS_REFUSALS = {"out_of_scope": 403, "unknown_region": 404}


def operations_routes(
    router: APIRouter,
    reading: Callable[[], contextlib.AbstractContextManager[psycopg.Connection]],
    current_viewer: Callable[[Request], Viewer],
) -> None:
    @router.get("/console/api/fleet")
    def fleet(viewer: Annotated[Viewer, Depends(current_viewer)]) -> dict[str, Any]:
        """Per branch in view: software version, config and notice published vs in force,
        devices needing a visit."""
        with reading() as conn:
            return {"branches": operations.fleet(conn, viewer)}

    @router.post("/console/api/notices")
    async def send_notice(
        request: Request, viewer: Annotated[Viewer, Depends(current_viewer)]
    ) -> dict[str, Any]:
        """Send a hall notice to every branch of a region (head office: or the network)."""
        try:
            body = NoticeSent.model_validate_json(await request.body())
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3]
            )
            raise Refusal(422, "invalid_request", problems or "invalid notice") from None
        signer = request.app.state.signer
        if signer is None:
            raise Refusal(503, "no_signing_key", "the centre has no signing key: nothing is sent")

        def send() -> list[str]:
            with reading() as conn:
                return operations.send_notice(
                    conn, signer, viewer, body.text, body.until, body.region
                )

        try:
            sent = await run_in_threadpool(send)
        except operations.OperationsError as exc:
            raise Refusal(OPERATIONS_REFUSALS.get(exc.code, 400), exc.code, str(exc)) from None
        return {"branches": sent, "region": body.region, "until": body.until.isoformat()}
