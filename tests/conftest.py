"""Fixtures shared by all tests: fresh databases and a real server on a loopback port."""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from queue_server import auth
from queue_server.api import create_app
from queue_server.auth import add_staff, create_token
from queue_server.config import init_db, parse_config
from queue_server.storage import connect
from tools.harness import ThreadServer

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TEST_CONFIG = {
    "branch": {"name": "测试支行 Test Branch", "id": "test-001", "timezone": "Asia/Shanghai"},
    "services": [
        {"code": "A", "names": {"zh": "现金", "en": "Cash"}, "target_wait_min": 10, "mean_min": 4},
        {"code": "B", "names": {"zh": "其他", "en": "Other"}, "target_wait_min": 10, "mean_min": 6},
        {
            "code": "C",
            "names": {"zh": "开户", "en": "Accounts"},
            "target_wait_min": 15,
            "mean_min": 20,
        },
    ],
    "counters": [
        {"number": 1, "name": "1号窗口", "skills": ["A", "B"]},
        {"number": 2, "name": "2号窗口", "skills": ["A", "B"]},
        {"number": 3, "name": "3号窗口", "skills": ["C", "B", "A"]},
    ],
}
# The kiosk window tests' fixtures (printer simulator, make_kiosk) live in their own module.
pytest_plugins = ["kiosk_fixtures", "pg_fixtures"]
PIN = "2468"


class FakeClock:
    """A settable clock for the server: tests move time instead of waiting."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def advance(self, **kwargs: float) -> None:
        with self._lock:
            self.now += timedelta(**kwargs)


def make_db(path: Path, config: dict | None = None) -> dict[str, str]:
    """Create a branch database with one token per role and a teller per counter."""
    cfg = parse_config(config or TEST_CONFIG)
    init_db(path, cfg)
    conn = connect(path)
    tokens = {}
    try:
        conn.execute("BEGIN IMMEDIATE")
        for role in ("kiosk", "display", "manager", "admin", "booking", "lobby"):
            tokens[role] = create_token(conn, role, role)[1]
        for c in cfg.counters:
            tokens[f"counter:{c.number}"] = create_token(conn, f"counter:{c.number}")[1]
            add_staff(conn, f"t{c.number}", f"Teller {c.number}", PIN)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return tokens


@dataclass
class LiveServer:
    """The app on a real uvicorn on 127.0.0.1 (the tools' loopback harness), with a test clock."""

    db: Path
    tokens: dict[str, str]
    clock: FakeClock
    heartbeat_s: float = 2.0
    port: int = 0  # 0: any free port; give the old port to "restart" at the same address
    head_office: Any = None  # a queue_server.head_office.HeadOffice to ship the log to
    base_url: str = ""
    _server: ThreadServer | None = None
    _clients: list[httpx.Client] = field(default_factory=list)

    def start(self) -> LiveServer:
        app = create_app(
            self.db, clock=self.clock, heartbeat_s=self.heartbeat_s, head_office=self.head_office
        )
        self._server = ThreadServer(app, self.port, lifespan="on").start(timeout_s=15)
        self.port, self.base_url = self._server.port, self._server.base_url
        return self

    def stop(self) -> None:
        for c in self._clients:
            c.close()
        if self._server is not None:
            self._server.stop()

    @property
    def ws_url(self) -> str:
        return "ws" + self.base_url[4:] + "/api/v1/events"

    @property
    def app(self):  # the in-process app, for assertions and test-only settings
        assert self._server is not None
        return self._server.app

    @property
    def engine(self):  # the in-process engine, for assertions only
        return self.app.state.engine

    def settled_prediction(self):
        """Wait until the engine's wait prediction is of its current state (the worker
        thread makes it after events); the prediction, or None if there is none."""
        engine = self.engine
        done = asyncio.run_coroutine_threadsafe(engine.prediction_settled(), engine._loop)
        return done.result(timeout=15)

    def client(self, role: str | None) -> httpx.Client:
        """An HTTP client for a role ('counter:1', 'kiosk', …), or anonymous with None."""
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        c = httpx.Client(base_url=self.base_url + "/api/v1", headers=headers, timeout=10)
        self._clients.append(c)
        return c


def _clear_branchq_env(mp: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("BRANCHQ_")]:
        mp.delenv(name)


@pytest.fixture(autouse=True, scope="session")
def _cheap_pin_hashing() -> Iterator[None]:
    """PINs hashed in this process use argon2 at its lowest cost. At the default cost each
    hash and each sign-in's verify takes 0.1-0.8 s on a busy 2-core machine, and the suite
    signs in hundreds of times. A hash carries its own parameters, so verifying is cheap
    too; servers run as child processes (drills, HTTPS) keep the real cost."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        yield


@pytest.fixture(autouse=True, scope="session")
def _no_branchq_env_for_shared_fixtures() -> Iterator[None]:
    """Session and module fixtures (servers, children they start) see no BRANCHQ_* either."""
    with pytest.MonkeyPatch.context() as mp:
        _clear_branchq_env(mp)
        yield


@pytest.fixture(autouse=True)
def _no_branchq_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's BRANCHQ_* settings (a notify URL, CORS origins, a font):
    a test that needs one sets it with monkeypatch. Cleared per test as well, so a test that
    wrote os.environ directly cannot leak into the next one. Child processes inherit
    os.environ, so they start clean too. (tests/security/test_schemathesis.py reads its
    BRANCHQ_HOSTILE_EXAMPLES knob at import, on purpose: the long fuzz run is opt-in.)"""
    _clear_branchq_env(monkeypatch)


@pytest.fixture
def clock() -> FakeClock:
    # 10:00 in Shanghai on an ordinary business day.
    return FakeClock(datetime(2026, 11, 27, 2, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """One branch database built per run: make_db hashes PINs (argon2), which is slow."""
    db = tmp_path_factory.mktemp("template") / "branch.db"
    return db, make_db(db)


@pytest.fixture
def branch_db(
    template_db: tuple[Path, dict[str, str]], tmp_path: Path
) -> tuple[Path, dict[str, str]]:
    """A fresh copy of the template branch for each test, with the template's tokens."""
    src, tokens = template_db
    db = tmp_path / "branch.db"
    shutil.copyfile(src, db)
    assert not src.with_name(src.name + "-wal").exists(), "template left a WAL behind"
    return db, tokens


@pytest.fixture
def server(branch_db: tuple[Path, dict[str, str]], clock: FakeClock) -> Iterator[LiveServer]:
    db, tokens = branch_db
    live = LiveServer(db, tokens, clock).start()
    try:
        yield live
    finally:
        live.stop()


def sign_in(server: LiveServer, counter: int) -> httpx.Client:
    """A counter's client, signed in with its teller and open."""
    c = server.client(f"counter:{counter}")
    r = c.post(f"/counters/{counter}/sign-in", json={"staff_id": f"t{counter}", "pin": PIN})
    assert r.status_code == 200, r.text
    return c
