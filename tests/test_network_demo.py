"""`branchq demo --network 2`: a head office and two branch servers come up, the branches'
simulated traffic reaches the console, and Ctrl-C leaves no process or database behind."""

from __future__ import annotations

import re
import ssl
import time
from pathlib import Path

import httpx
from test_demo import DemoProcess, process_is_gone

from tools.network_demo import BRANCHES, REGIONS, compressed, plan_branches

START_S = 60.0  # the cluster, the centre and two servers on a two-core machine running the suite


def has_exited(pid: int) -> bool:
    """Gone, or a zombie: PostgreSQL's daemonised postmaster is re-parented to PID 1, which
    in a container need not be an init that reaps it."""
    if process_is_gone(pid):
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def test_network_demo_ships_both_branches_to_the_console_and_stops_clean(tmp_path):
    demo = DemoProcess(
        ["--network", "2", "--port", "0", "--central-port", "0", "--var", str(tmp_path)]
    )
    deadline = time.monotonic() + START_S
    pids: list[int] = []
    try:
        url = demo.expect(r"console\s+(https://127\.0\.0\.1:\d+)/console", START_S).group(1)
        password = demo.expect(r"sign in\s+hq / (\S+)").group(1)
        demo.expect(r"Ctrl-C stops everything")
        pids = [int(p) for p in re.findall(r"process (\d+)", demo.text)]
        assert len(pids) == 4, demo.text  # PostgreSQL, the centre, two branch servers
        cert = tmp_path / "network" / "cert.pem"
        with httpx.Client(
            base_url=url, verify=ssl.create_default_context(cafile=cert), timeout=5
        ) as http:
            http.post(
                "/console/api/sign-in", json={"username": "hq", "password": password}
            ).raise_for_status()
            while True:  # until both branches' traffic has reached the read models
                rows = http.get("/console/api/network").json()["branches"]
                fresh = {
                    r["id"]
                    for r in rows
                    if r["link"] == "live" and r["freshness_s"] is not None
                    and r["freshness_s"] < 30
                }  # fmt: skip
                if fresh == {"sh-lujiazui", "bj-guomao"}:
                    break
                assert time.monotonic() < deadline, rows
                http.get("/console/api/me")  # a round trip between looks, not a sleep
            assert {r["region_name"] for r in rows} == set(REGIONS.values())
            assert {r["name"] for r in rows} == {BRANCHES[0][1], BRANCHES[1][1]}
            # The template's first version, published at start, is in force at both
            while True:
                status = http.get("/console/api/config/status").json()["branches"]
                if {(b["branch"], b["deployed_version"]) for b in status} == {
                    ("sh-lujiazui", 1), ("bj-guomao", 1),
                }:  # fmt: skip
                    break
                assert time.monotonic() < deadline, status
                http.get("/console/api/me")
    finally:
        demo.stop()
    assert demo.proc.returncode == 130 and "Traceback" not in demo.text, demo.text
    assert [p for p in pids if not has_exited(p)] == [], demo.text
    pg_dir = re.search(r"in (\S+branchq-pg-\S+) \(removed", demo.text)
    assert pg_dir and not Path(pg_dir.group(1)).exists()


def test_the_network_plan_is_bounded_and_named_apart():
    plan = plan_branches(12, 9000)
    assert len({name for _, name, _, _, _ in plan}) == 12
    assert [port for *_, port in plan] == list(range(9001, 9013))
    assert {region for _, _, region, _, _ in plan} == set(REGIONS)
    loads = [load for _, _, _, load, _ in plan[:3]]
    assert max(loads) > 1.3 and min(loads) < 1  # a red branch and a green one in three
    for bad in (0, 13):
        try:
            plan_branches(bad, 0)
        except RuntimeError as exc:
            assert "--network takes 1 to 12" in str(exc)
        else:
            raise AssertionError(bad)


def test_the_compressed_branch_keeps_its_shape_and_its_name():
    from queue_server.config import load_config

    cfg = load_config(None)
    fast = compressed(cfg, "sh-lujiazui", "上海陆家嘴支行", 8)
    assert fast.settings.name == "上海陆家嘴支行" and fast.settings.branch_id == "sh-lujiazui"
    for s, f in zip(cfg.services, fast.services, strict=True):
        assert f.target_wait_s == max(10, round(s.target_wait_s / 8))
        assert f.mean_service_s == max(5, round(s.mean_service_s / 8))
