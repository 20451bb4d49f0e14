"""The head-office console's API on a real uvicorn and PostgreSQL: who sees what, exports, live."""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest
from openpyxl import load_workbook

from tools.console_network import PASSWORD, SEED_DAY, ConsoleServer, seed_network

EAST = {"sh-lujiazui", "sh-xujiahui", "hz-xihu"}
ALL = EAST | {"bj-guomao", "tj-binhai"}
RANGE = {"first": str(SEED_DAY.replace(day=1)), "last": str(SEED_DAY)}


@pytest.fixture
def console(central_dsn: str) -> Iterator[ConsoleServer]:
    with psycopg.connect(central_dsn) as conn:
        seed_network(conn)
    with ConsoleServer(central_dsn) as server:
        yield server


@contextlib.contextmanager
def signed_in(console: ConsoleServer, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console.base_url + "/console/api", timeout=10) as http:
        r = http.post("/sign-in", json={"username": username, "password": PASSWORD})
        assert r.status_code == 200, r.text
        yield http


def test_every_route_refuses_without_a_session(console: ConsoleServer) -> None:
    with httpx.Client(base_url=console.base_url + "/console/api", timeout=10) as http:
        for path in (
            "/me",
            "/network",
            "/branches/sh-lujiazui",
            "/devices",
            "/live",
            f"/reports?first={RANGE['first']}&last={RANGE['last']}&format=csv",
        ):
            r = http.get(path)
            assert r.status_code == 401, path
            assert r.json()["error"]["code"] == "not_signed_in"
        http.cookies.set("branchq_console", "forged-token")
        assert http.get("/network").json()["error"]["code"] == "not_signed_in"


def test_the_cookie_is_httponly_and_strict_and_sign_out_ends_it(console: ConsoleServer) -> None:
    with httpx.Client(base_url=console.base_url + "/console/api", timeout=10) as http:
        r = http.post("/sign-in", json={"username": "hq", "password": PASSWORD})
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
        token = http.cookies["branchq_console"]
        assert http.get("/me").json() == {"username": "hq", "role": "head_office", "region": None}
        http.post("/sign-out")
        http.cookies.set("branchq_console", token)  # a copy kept from before is dead too
        assert http.get("/me").status_code == 401


def test_head_office_sees_every_branch_and_a_regional_manager_only_theirs(
    console: ConsoleServer,
) -> None:
    with signed_in(console, "hq") as hq, signed_in(console, "east") as east:
        assert {b["id"] for b in hq.get("/network").json()["branches"]} == ALL
        assert {b["id"] for b in east.get("/network").json()["branches"]} == EAST
        assert [g["id"] for g in east.get("/network").json()["regions"]] == ["east"]
        # Asking for another region, directly or through a branch, is refused, not filtered.
        for path in (
            "/network?region=north",
            "/devices?region=north",
            "/branches/bj-guomao",
            f"/reports?first={RANGE['first']}&last={RANGE['last']}&region=north",
        ):
            r = east.get(path)
            assert r.status_code == 403, path
            assert r.json()["error"]["code"] == "outside_region"
        assert east.get("/network?branch=bj-guomao").json()["branches"] == []
        assert hq.get("/branches/bj-guomao").status_code == 200
        assert hq.get("/branches/nowhere").json()["error"]["code"] == "unknown_branch"
        assert {b["id"] for b in hq.get("/network?region=north").json()["branches"]} == (ALL - EAST)

        east_devices = {b["branch_id"] for b in east.get("/devices").json()["branches"]}
        all_devices = {b["branch_id"] for b in hq.get("/devices").json()["branches"]}
        assert east_devices == {"sh-lujiazui", "hz-xihu"}
        assert all_devices == {"sh-lujiazui", "hz-xihu", "tj-binhai"}

        east_report = east.get("/reports", params={**RANGE, "by": "branch"}).json()["rows"]
        assert {r["key"] for r in east_report} == EAST
        for fmt in ("csv", "xlsx"):
            body = east.get("/reports", params={**RANGE, "format": fmt}).content
            assert b"bj-guomao" not in body and "北京".encode() not in body
            assert b"sh-lujiazui" in body or fmt == "xlsx"


def test_the_network_row_says_wait_against_target_link_and_freshness(
    console: ConsoleServer,
) -> None:
    with signed_in(console, "hq") as hq:
        rows = {b["id"]: b for b in hq.get("/network").json()["branches"]}
    lujiazui, xujiahui, xihu, binhai = (
        rows[b] for b in ("sh-lujiazui", "sh-xujiahui", "hz-xihu", "tj-binhai")
    )
    assert lujiazui["wait_status"] == "over" and lujiazui["alerts_open"] == 1
    assert lujiazui["longest_wait_s"] >= lujiazui["target_wait_s"] == 900
    assert xujiahui["wait_status"] == "near" and not xujiahui["needs_attention"]
    assert (lujiazui["link"], xihu["link"], binhai["link"]) == ("live", "stale", "offline")
    assert binhai["backlog"] == 812 and binhai["freshness_s"] >= 3990
    assert binhai["needs_attention"] and binhai["devices_not_ok"] == 2


def test_the_drill_down_shows_businesses_counters_and_todays_calls(
    console: ConsoleServer,
) -> None:
    with signed_in(console, "east") as east:
        d = east.get("/branches/sh-lujiazui").json()
    assert [(s["service"], s["name_zh"], s["waiting"]) for s in d["businesses"]] == [
        ("A", "个人业务", 7),
        ("B", "对公业务", 7),
    ]
    assert [c["number"] for c in d["counters"]] == [1, 2, 3, 4, 5]
    assert len(d["calls"]) == 10 and d["calls"][0]["number"] == "A010"
    assert {c["kind"] for c in d["calls"]} == {"ticket.called", "ticket.recalled"}


def expected_week_rows(conn: psycopg.Connection) -> dict[tuple[str, str], tuple[int, float]]:
    """Issued and average wait per (week, branch), computed apart from the console's SQL."""
    out: dict[tuple[str, str], list[float]] = {}
    for day, branch, issued, called, wait_sum in conn.execute(
        "SELECT business_day, branch_id, issued, called, wait_sum_s FROM daily_business "
        "WHERE business_day BETWEEN %s AND %s",
        (RANGE["first"], RANGE["last"]),
    ):
        week = (day - __import__("datetime").timedelta(days=day.weekday())).isoformat()
        acc = out.setdefault((week, branch), [0, 0, 0.0])
        acc[0] += issued
        acc[1] += called
        acc[2] += wait_sum
    return {k: (int(v[0]), round(v[2] / v[1], 1)) for k, v in out.items()}


def test_csv_and_xlsx_exports_hold_the_seeded_figures(
    console: ConsoleServer, central_dsn: str
) -> None:
    with psycopg.connect(central_dsn) as conn:
        expected = expected_week_rows(conn)
    params: dict[str, Any] = {**RANGE, "group": "week", "by": "branch"}
    with signed_in(console, "hq") as hq:
        as_json = hq.get("/reports", params=params).json()["rows"]
        r = hq.get("/reports", params={**params, "format": "csv"})
        assert r.headers["content-disposition"].startswith("attachment;")
        text = r.content.decode("utf-8-sig")
        xlsx = hq.get("/reports", params={**params, "format": "xlsx"}).content
    assert {(j["period"], j["key"]): (j["issued"], j["wait_avg_s"]) for j in as_json} == expected
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][:4] == ["期间 Period", "代码 Code", "名称 Name", "取号量 Issued"]
    from_csv = {(x[0], x[1]): (int(x[3]), float(x[6])) for x in lines[1:]}
    assert from_csv == expected
    sheet = load_workbook(io.BytesIO(xlsx)).active
    assert sheet is not None
    cells = list(sheet.iter_rows(values_only=True))
    from_xlsx = {(str(x[0])[:10], x[1]): (x[3], x[6]) for x in cells[1:]}
    assert from_xlsx == expected


def test_reports_refuse_a_bad_range_with_a_code(console: ConsoleServer) -> None:
    with signed_in(console, "hq") as hq:
        r = hq.get("/reports", params={"first": "2026-03-02", "last": "2026-03-01"})
        assert (r.status_code, r.json()["error"]["code"]) == (400, "bad_range")
        r = hq.get("/reports", params={"first": "2024-01-01", "last": "2026-03-01"})
        assert r.json()["error"]["code"] == "range_too_long"
        assert hq.get("/reports", params={**RANGE, "group": "year"}).status_code == 422


def test_passwords_are_argon2id_hashes_and_never_logged(
    console: ConsoleServer, central_dsn: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with signed_in(console, "hq"):
        pass
    with httpx.Client(base_url=console.base_url + "/console/api", timeout=10) as http:
        http.post("/sign-in", json={"username": "hq", "password": "wrong " + PASSWORD})
    with psycopg.connect(central_dsn) as conn:
        hashes = [r[0] for r in conn.execute("SELECT password_hash FROM accounts")]
        sessions = conn.execute("SELECT token_sha256 FROM console_sessions").fetchall()
    assert len(hashes) == 2 and all(h.startswith("$argon2id$") for h in hashes)
    assert all(PASSWORD not in h for h in hashes) and sessions
    assert PASSWORD not in caplog.text


def test_wrong_passwords_lock_the_name_even_against_the_right_one(
    console: ConsoleServer,
) -> None:
    with httpx.Client(base_url=console.base_url + "/console/api", timeout=10) as http:
        codes = [
            http.post("/sign-in", json={"username": "east", "password": f"guess {n}"}).json()[
                "error"
            ]["code"]
            for n in range(5)
        ]
        assert codes == ["bad_credentials"] * 5
        r = http.post("/sign-in", json={"username": "east", "password": PASSWORD})
        assert (r.status_code, r.json()["error"]["code"]) == (429, "sign_in_throttled")
        assert int(r.headers["retry-after"]) > 0
        # Another name is not caught by this one's lock.
        assert http.post("/sign-in", json={"username": "hq", "password": PASSWORD}).is_success


def read_events(lines: Iterator[str], wanted: int, seen: list[tuple[str, str]]) -> None:
    event = ""  # the hello's data line, already half read, belongs to no event of ours
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            seen.append((event, line[6:]))
            if len(seen) >= wanted:
                return


def test_a_notify_reaches_the_live_stream_of_those_allowed_to_see_it(
    console: ConsoleServer, central_dsn: str
) -> None:
    streams: dict[str, list[tuple[str, str]]] = {"hq": [], "east": []}
    with (
        signed_in(console, "hq") as hq,
        signed_in(console, "east") as east,
        hq.stream("GET", "/live") as hq_live,
        east.stream("GET", "/live") as east_live,
    ):
        hq_lines, east_lines = hq_live.iter_lines(), east_live.iter_lines()
        for lines in (hq_lines, east_lines):  # "hello": LISTEN is in force
            assert next(x for x in lines if x.startswith("event: ")) == "event: hello"
        with psycopg.connect(central_dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_notify('network', 'bj-guomao')")
            conn.execute("SELECT pg_notify('network', 'hz-xihu')")
        reader = threading.Thread(target=read_events, args=(hq_lines, 2, streams["hq"]))
        reader.start()
        read_events(east_lines, 1, streams["east"])
        reader.join(10)
    assert streams["hq"] == [("branch", "bj-guomao"), ("branch", "hz-xihu")]
    # The east manager never hears of the north branch: the first event is the east one.
    assert streams["east"] == [("branch", "hz-xihu")]


def test_account_add_reads_the_password_from_stdin_and_stores_an_argon2id_hash(
    central_dsn: str,
) -> None:
    import subprocess
    import sys

    with psycopg.connect(central_dsn) as conn:
        conn.execute("INSERT INTO regions VALUES ('west', '西部区')")
    command = [
        sys.executable,
        "-m",
        "queue_server.cli",
        "central",
        "account",
        "add",
        "--dsn",
        central_dsn,
        "--username",
        "zhang",
        "--role",
        "regional",
    ]
    done = subprocess.run(
        [*command, "--region", "west"],
        input="a long secret 1\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "a long secret" not in done.stdout + done.stderr
    refused = subprocess.run(
        command, input="a long secret 1\n", capture_output=True, text=True, timeout=60
    )
    assert refused.returncode != 0 and "bad_region" in refused.stderr
    with psycopg.connect(central_dsn) as conn:
        row = conn.execute("SELECT password_hash, region_id FROM accounts").fetchall()
    assert len(row) == 1 and row[0][0].startswith("$argon2id$") and row[0][1] == "west"
