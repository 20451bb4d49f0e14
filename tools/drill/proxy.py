"""A loopback TCP proxy that can cut, stall and restore the link between clients and server.

    proxy = FaultyLink(upstream_port=8470); await proxy.start()   # listens on proxy.port
    await proxy.cut()      # close both sides of every connection; refuse new ones
    await proxy.stall()    # stop forwarding (both ways, old and new connections), hold bytes
    await proxy.restore()  # forward again: held bytes go on, new connections are accepted

A stall is a pulled cable or a sleeping switch port: nothing arrives and nobody is told.
Bytes read while stalled are kept and delivered on restore, as TCP would retransmit them
(even those of a client that has given up meanwhile: a late request still reaches the
server, which is what idempotency keys are for). A cut is a link that goes down hard:
both ends see the connection close, and new connections are reset until restored.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

HOST = "127.0.0.1"
CHUNK = 65536


class FaultyLink:
    def __init__(self, upstream_port: int, host: str = HOST) -> None:
        self.host = host
        self.upstream_port = upstream_port
        self.port = 0
        self.state = "up"  # up | stalled | cut
        self.connections = 0  # accepted in all
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening, drop every connection and wait until their handlers are done."""
        if self._server is not None:
            self._server.close()
        self._drop_all()
        self._flowing.set()
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=5)

    async def cut(self) -> None:
        self.state = "cut"
        self._flowing.set()  # nothing held survives a cut
        self._drop_all()

    async def stall(self) -> None:
        self.state = "stalled"
        self._flowing.clear()

    async def restore(self) -> None:
        self.state = "up"
        self._flowing.set()

    def _drop_all(self) -> None:
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()

    async def _accept(self, down_r: asyncio.StreamReader, down_w: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        if self.state == "cut":
            down_w.transport.abort()
            return
        try:
            up_r, up_w = await asyncio.open_connection(self.host, self.upstream_port)
        except OSError:  # the server is down: the client sees its connection close
            down_w.transport.abort()
            return
        if self.state == "cut":
            down_w.transport.abort()
            up_w.transport.abort()
            return
        self._writers |= {down_w, up_w}
        try:
            await asyncio.gather(self._pump(down_r, up_w), self._pump(up_r, down_w))
        finally:
            for w in (down_w, up_w):
                self._writers.discard(w)
                w.transport.abort()

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(CHUNK)
                await self._flowing.wait()  # stalled: hold what was read, read no more
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            # One side is done: so is the other (a half-close is not worth modelling here).
            with contextlib.suppress(OSError):
                writer.transport.abort()
