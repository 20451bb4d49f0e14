"""A small seeded network behind the head-office console, for its tests and screenshots.

`seed_network(conn)` writes two regions of branches straight into the read models (as
ingest would have left them), with accounts `hq` (head office) and `east` (regional, 华东);
`ConsoleServer(dsn)` serves the centre's app on a real uvicorn on loopback.
"""

from __future__ import annotations

import copy
import functools
import json
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from zoneinfo import ZoneInfo

import psycopg

from central.signing import Signer
from central.storage import downlink
from central.storage.ingest import ensure_partitions
from tools.harness import ThreadServer

BRANCH_TZ = ZoneInfo("Asia/Shanghai")  # the seeded branches' zone (the column's default)
PASSWORD = "correct horse battery"  # every seeded account's: a test fixture, not a secret
SEED_DAY = date(2026, 3, 2)  # the last day of the seeded reports (a Monday)
REPORT_DAYS = 14
REGIONS = (("east", "华东区"), ("north", "华北区"))
# id, name, region, waiting, windows, seconds since contact, seconds since data, backlog
BRANCHES = (
    ("sh-lujiazui", "上海陆家嘴支行", "east", 14, 5, 5, 3, 0),
    ("sh-xujiahui", "上海徐家汇支行", "east", 6, 3, 20, 12, 0),
    ("hz-xihu", "杭州西湖支行", "east", 2, 2, 180, 170, 35),
    ("bj-guomao", "北京国贸支行", "north", 9, 4, 8, 6, 0),
    ("tj-binhai", "天津滨海支行", "north", 0, 0, 4000, 3990, 812),
)
SERVICES = (("A", "个人业务", "Personal", 900), ("B", "对公业务", "Business", 1200))


def seed_network(conn: psycopg.Connection) -> None:
    """Regions, branches and their read models, a fortnight of reports, two accounts."""
    conn.cursor().executemany("INSERT INTO regions (id, name) VALUES (%s, %s)", REGIONS)
    for i, (bid, name, region, waiting, windows, contact, fresh, backlog) in enumerate(BRANCHES):
        profile = {
            "name": name,
            "services": [
                {"code": c, "names": {"zh": zh, "en": en}, "target_wait_s": tgt}
                for c, zh, en, tgt in SERVICES
            ],
        }
        conn.execute(
            "INSERT INTO branches (id, name, region_id, last_contact_at, profile, backlog) "
            "VALUES (%s, %s, %s, now() - make_interval(secs => %s), %s, %s)",
            (bid, name, region, contact, json.dumps(profile), backlog),
        )
        conn.execute(
            "INSERT INTO live_branch (branch_id, business_day, waiting, windows_open, "
            "last_event_at, last_received_at) VALUES (%s, current_date, %s, %s, "
            "now() - make_interval(secs => %s), now() - make_interval(secs => %s))",
            (bid, waiting, windows, fresh, fresh),
        )
        for j, (code, _, _, target) in enumerate(SERVICES):
            share = waiting // 2 if j == 0 else waiting - waiting // 2
            conn.execute(
                "INSERT INTO live_business (branch_id, service, business_day, target_wait_s, "
                "waiting, windows_open, issued, called, served, within_target, no_show, "
                "rating_sum, rating_count) VALUES (%s, %s, current_date, %s, %s, %s, %s, %s, "
                "%s, %s, %s, %s, %s)",
                (
                    bid,
                    code,
                    target,
                    share,
                    windows // 2 + j % 2,
                    60 + 9 * i,
                    50 + 7 * i,
                    46 + 7 * i,
                    40 + 5 * i,
                    3,
                    4 * (40 + i),
                    40 + i,
                ),
            )
            # The oldest waiting ticket: Lujiazui over its target, Xujiahui near it.
            for n in range(share):
                age = (1.3, 0.85, 0.3, 0.5, 0.2)[i] * target - 60 * n
                conn.execute(
                    "INSERT INTO live_tickets (branch_id, ticket_id, number, service, "
                    "priority, state, arrived_at) VALUES (%s, %s, %s, %s, 'normal', "
                    "'waiting', now() - make_interval(secs => %s))",
                    (bid, 100 * j + n + 1, f"{code}{n + 1:03d}", code, max(age, 30)),
                )
        for n in range(1, windows + 1):
            conn.execute(
                "INSERT INTO live_counters (branch_id, number, name, state, staffed, serving, "
                "since) VALUES (%s, %s, %s, 'open', true, %s, now() - interval '4 minutes')",
                (bid, n, f"{n}号窗口", f"A{n:03d}"),
            )
        _seed_calls(conn, bid, windows)
        _seed_days(conn, bid, i)
    conn.execute(
        "INSERT INTO live_alerts VALUES ('sh-lujiazui', 'wait-A', 'long_wait', 'critical', "
        "'个人业务等候超过目标', now() - interval '3 minutes')"
    )
    devices = (
        ("sh-lujiazui", "kiosk-1/printer", "printer", "fault", "缺纸 paper out"),
        ("hz-xihu", "kiosk-2/reader", "reader", "warning", "读卡重试增多"),
        ("tj-binhai", "board-1", "board", "unknown", "无响应 no answer"),
        ("tj-binhai", "kiosk-1/printer", "printer", "fault", "卡纸 jam"),
        ("bj-guomao", "kiosk-1/printer", "printer", "ok", ""),
    )
    for bid, device, kind, health, detail in devices:
        conn.execute(
            "INSERT INTO device_health (branch_id, device, kind, health, detail, reported_at, "
            "since) VALUES (%s, %s, %s, %s, %s, now(), now() - interval '25 minutes')",
            (bid, device, kind, health, detail),
        )
    conn.execute(
        "INSERT INTO accounts (username, password_hash, role, region_id) VALUES "
        "('hq', %(h)s, 'head_office', NULL), ('east', %(h)s, 'regional', 'east')",
        {"h": _password_hash()},
    )
    seed_config(conn)


def seed_config(conn: psycopg.Connection) -> None:
    """The network template from the demo branch's catalogue, a Saturday morning for the
    east region, and Lujiazui's own tighter cash target and coordinates."""
    import tomllib
    from pathlib import Path

    from central.config_merge import catalogue_from_branch
    from central.storage import config

    demo = Path(__file__).resolve().parents[1] / "assets" / "demo_branch.toml"
    catalogue = catalogue_from_branch(tomllib.loads(demo.read_text(encoding="utf-8")))
    config.save_template(conn, catalogue, saved_by="hq", based_on=None, note="首版 first")
    config.set_override(
        conn, "region", "east", "opening_hours.sat", ["09:00", "12:00"], set_by="hq"
    )
    config.set_override(conn, "branch", "sh-lujiazui", "services.A.target_wait_min", 8, set_by="hq")
    config.set_override(
        conn, "branch", "sh-lujiazui", "location", {"lat": 31.2397, "lon": 121.4998}, set_by="hq"
    )


@functools.cache
def _password_hash() -> str:
    # argon2 is slow on purpose: hash the fixture password once per process, not per test.
    from argon2 import PasswordHasher

    return PasswordHasher().hash(PASSWORD)


def _seed_calls(conn: psycopg.Connection, branch: str, windows: int) -> None:
    """Today's calls, a minute apart up to now. "Today" is the branch's day in its own zone,
    so just after its midnight the calls are squeezed in since then: seeded a fixed time
    back, they would fall on yesterday for the first minutes of a day (a test failed so)."""
    now = datetime.now(UTC)
    midnight = (
        now.astimezone(BRANCH_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
    ).astimezone(UTC)
    calls = 2 * windows
    if not calls:
        return
    step = min(timedelta(minutes=1), (now - midnight) / (calls + 1))
    times = [now - step * (calls - n + 1) for n in range(1, calls + 1)]
    # The months the calls fall in, made as ingest makes them (so ingest can follow).
    ensure_partitions(conn, {t.date().replace(day=1) for t in (now, times[0])})
    for n, at in enumerate(times, start=1):
        kind = "ticket.recalled" if n % 5 == 0 else "ticket.called"
        body = {
            "ticket": {"number": f"A{n:03d}", "service": "A"},
            "counter": {"number": 1 + n % max(windows, 1)},
        }
        conn.execute(
            "INSERT INTO events (branch_id, log_id, seq, at, kind, v, body, sha256) VALUES "
            "(%s, '00000000-0000-4000-8000-000000000001', %s, %s, %s, 1, %s, '\\x00')",
            (branch, n, at, kind, json.dumps(body)),
        )


def _seed_days(conn: psycopg.Connection, branch: str, i: int) -> None:
    for d in range(REPORT_DAYS):
        day = SEED_DAY - timedelta(days=d)
        for j, (code, _, _, target) in enumerate(SERVICES):
            issued = 120 + 15 * i + 7 * ((d * 3 + j) % 5) - 30 * j
            called = issued - 4
            conn.execute(
                "INSERT INTO daily_business VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
                "%s, %s, %s, %s)",
                (
                    branch,
                    day,
                    code,
                    issued,
                    called,
                    called - 5,
                    5,
                    0,
                    called * (300.0 + 40 * i + 10 * (d % 4)),
                    target * (1.1 + 0.1 * i),
                    called - 10 - 3 * i,
                    (called - 5) * 420.0,
                    4 * (called - 5) + i,
                    called - 5,
                ),
            )


# What each branch runs, for the operations tab: software, config reports, a notice in force.
SOFTWARE = {"sh-lujiazui": "1.8.2", "sh-xujiahui": "1.8.2", "hz-xihu": "1.8.1",
            "bj-guomao": "1.8.2", "tj-binhai": "1.7.9"}  # fmt: skip
CONFIG_REFUSAL = "prefix_in_use: prefix B of BX is still in use by a business that is draining (B)"


def seed_operations(conn: psycopg.Connection, signer: Signer) -> None:
    """Software versions, config v1 in force everywhere and v2 published: applied at two
    branches, refused at one, not yet taken at the others; a notice in force in the north."""
    for branch, software in SOFTWARE.items():
        conn.execute("UPDATE branches SET software_version = %s WHERE id = %s", (software, branch))
    until = datetime.now(UTC) + timedelta(hours=5)
    # The seeded template published (v1 everywhere), then a second template version that
    # changes every branch (B's target) published too (v2), through the console's own path.
    from central.storage import config

    first = config.template(conn)
    assert first is not None, "seed_config first"
    config.publish_config(conn, signer, first.version, published_by="hq")
    catalogue = copy.deepcopy(first.catalogue)
    for service in catalogue["services"]:
        if service["code"] == "B":
            service["target_wait_min"] = 9
    second = config.save_template(
        conn, catalogue, saved_by="hq", based_on=first.version, note="B 目标 9 分钟"
    )
    config.publish_config(conn, signer, second, published_by="hq")
    for branch in SOFTWARE:
        applied = 2 if branch in ("sh-lujiazui", "bj-guomao") else 1
        downlink.record_report(conn, branch, {"kind": "config", "version": applied,
                                              "outcome": "applied"})  # fmt: skip
        if branch == "hz-xihu":
            downlink.record_report(conn, branch, {"kind": "config", "version": 2,
                                                  "outcome": "refused",
                                                  "reason": CONFIG_REFUSAL})  # fmt: skip
    for branch in ("bj-guomao", "tj-binhai"):
        body = {"text": "今日 16:00 起系统升级，网银暂停 2 小时", "until": until.isoformat(),
                "from": "hq"}  # fmt: skip
        downlink.publish(conn, signer, branch, "notice", body)
        downlink.record_report(conn, branch, {"kind": "notice", "version": 1,
                                              "outcome": "applied"})  # fmt: skip


class ConsoleServer:
    """The centre's whole app (shipping and console) on a real uvicorn on loopback."""

    def __init__(self, dsn: str, signer: Signer | None = None) -> None:
        self.dsn = dsn
        self.signer = signer  # signs what the centre publishes to branches
        self.base_url = ""
        self._server: ThreadServer | None = None

    def __enter__(self) -> ConsoleServer:
        from central.api.app import create_app

        self._server = ThreadServer(
            create_app(self.dsn, pool_size=4, signer=self.signer), log_level="critical"
        )
        self._server.start()
        self.base_url = self._server.base_url
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.stop()
