"""A small booking network for tests and screenshots: a centre on PostgreSQL over HTTPS and
real branch servers (each its own database, fake clock and HTTPS) shipping hellos to it."""

from __future__ import annotations

import asyncio
import shutil
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from central.api.app import create_app as centre_app
from central.branches import enrol
from central.signing import Signer
from queue_server.api import create_app as branch_app
from queue_server.head_office import HeadOffice
from tools.harness import ThreadServer, free_port, self_signed_certificate

HEARTBEAT_S = 0.3  # hellos this often, so a test sees a branch's new waits at once
# Shanghai: People's Square, and two branches east and west of it.
BRANCH_PLACES = {
    "sh-east": ("上海东方路支行", (31.2300, 121.5300)),
    "sh-west": ("上海西康路支行", (31.2300, 121.4300)),
}


@dataclass
class Branch:
    id: str
    server: ThreadServer
    tokens: dict[str, str]
    url: str
    location: tuple[float, float]
    db: Path
    office: HeadOffice
    clock: Any
    _clients: list[httpx.Client] = field(default_factory=list)

    def client(self, role: str | None, cert: Path) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        c = httpx.Client(
            base_url=self.url + "/api/v1",
            headers=headers,
            timeout=10,
            verify=ssl.create_default_context(cafile=str(cert)),
        )
        self._clients.append(c)
        return c

    def stop(self) -> None:
        for c in self._clients:  # an open keep-alive connection would hold uvicorn's stop
            c.close()
        self.server.stop()

    def restart(self) -> None:
        """Stop the branch server and start a new one on its database, at its address."""
        self.stop()
        self._clients.clear()
        app = branch_app(self.db, clock=self.clock, heartbeat_s=2.0, head_office=self.office)
        self.server.app = app
        self.server.start(15)

    def settled(self) -> None:
        """Wait until the branch's wait prediction is of its current queue."""
        engine = self.server.app.state.engine
        done = asyncio.run_coroutine_threadsafe(engine.prediction_settled(), engine._loop)
        done.result(timeout=15)

    @property
    def shipper(self) -> Any:
        return self.server.app.state.head_office.shipper


@dataclass
class Network:
    dsn: str
    cert: Path
    centre: ThreadServer
    centre_url: str
    branches: dict[str, Branch]

    def stop(self) -> None:
        for b in self.branches.values():
            b.stop()
        self.centre.stop()

    def reach(self, branch: str) -> dict[str, Any] | None:
        """The centre's booking row for a branch (waits, place, address)."""
        with psycopg.connect(self.dsn) as conn:
            row = conn.execute(
                "SELECT waits, lat, lon, booking_url FROM booking_reach WHERE branch_id = %s",
                (branch,),
            ).fetchone()
        if row is None:
            return None
        return {"waits": row[0], "location": (row[1], row[2]), "booking_url": row[3]}

    def heard(self, branch: str, settled: Any, timeout: float = 15.0) -> bool:
        """Wait (on the branch's hellos, never a sleep) until the centre's row satisfies
        `settled(row)`."""
        return bool(
            self.branches[branch].shipper.wait_until(
                lambda: (row := self.reach(branch)) is not None and settled(row), timeout
            )
        )


def start_network(
    dsn: str,
    folder: Path,
    template: Path,
    tokens: dict[str, str],
    clock: Any,
    *,
    signer: Signer | None = None,
    vip_master: bytes | None = None,
    **centre_kw: Any,
) -> Network:
    """With `signer`, the centre signs documents and the branches follow them (polling
    often, for tests); `vip_master` lets it seal a branch's VIP list at its hello."""
    cert, key = self_signed_certificate(folder)
    tls: dict[str, Any] = {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}
    with psycopg.connect(dsn) as conn:
        shipping = {b: enrol(conn, b, name, "sh") for b, (name, _) in BRANCH_PLACES.items()}
    following: dict[str, Any] = {}
    if signer is not None:
        verify_key = folder / "centre-public.pem"
        verify_key.write_bytes(signer.public_pem())
        following = {"verify_key": verify_key, "poll_s": HEARTBEAT_S}
    app = centre_app(dsn, pool_size=4, branch_ca=cert, signer=signer, vip_master=vip_master)
    centre = ThreadServer(app, lifespan="on", **tls, **centre_kw).start(15)
    centre_url = f"https://127.0.0.1:{centre.port}"
    network = Network(dsn, cert, centre, centre_url, {})
    try:
        for branch, (_, place) in BRANCH_PLACES.items():
            db = folder / f"{branch}.db"
            shutil.copyfile(template, db)
            port = free_port()
            url = f"https://127.0.0.1:{port}"
            office = HeadOffice(
                url=centre_url, branch=branch, token=shipping[branch], ca_file=cert,
                heartbeat_s=HEARTBEAT_S, connect_timeout_s=2.0, timeout_s=5.0,
                public_url=url, location=place, **following,
            )  # fmt: skip
            app = branch_app(db, clock=clock, heartbeat_s=2.0, head_office=office)
            server = ThreadServer(app, port, lifespan="on", **tls).start(15)
            network.branches[branch] = Branch(branch, server, tokens, url, place, db, office, clock)
    except BaseException:
        network.stop()
        raise
    return network
