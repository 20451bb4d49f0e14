"""A throwaway branch server on loopback for the hostile-input drill: fresh database, tokens."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

ROLES = ("kiosk", "display", "manager", "admin")


class ScratchBranch:
    """The demo branch in a temporary folder, served by a real uvicorn on 127.0.0.1."""

    def __init__(self, **uvicorn_options: Any) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="branchq-hostile-")
        self.db = Path(self._dir.name) / "branch.db"
        self.tokens: dict[str, str] = {}
        self.spare_token_id = 0
        self.base_url = ""
        self._options = uvicorn_options
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    def __enter__(self) -> ScratchBranch:
        import uvicorn

        from ..api import create_app
        from ..auth import create_token
        from ..config import init_db, load_config
        from ..demo import provision
        from ..storage import in_transaction
        from .limits import server_options

        config = load_config(None)
        init_db(self.db, config)
        self.tokens = provision(self.db, config)
        self.spare_token_id, _ = in_transaction(self.db, create_token, "kiosk", "spare")
        sock = self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        options = {
            "log_level": "critical",
            "ws_ping_interval": None,
            **server_options(),
            **self._options,
        }
        self._server = uvicorn.Server(uvicorn.Config(create_app(self.db), **options))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        self.base_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the scratch branch server did not start")
            time.sleep(0.02)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(15)
        if self._sock is not None:
            self._sock.close()
        self._dir.cleanup()
