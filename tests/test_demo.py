"""`branchq demo --traffic`: a newcomer sees the server up, tokens printed, events flowing."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys

from conftest import free_socket


def test_demo_runs_the_branch_with_live_traffic(tmp_path):
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.run(
        [sys.executable, "-m", "queue_server.cli", "demo", "--traffic", "--duration", "7",
         "--port", str(port), "--var", str(tmp_path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for role in ("kiosk", "display", "manager", "admin", "counter:1"):
        assert re.search(rf"^\s+{re.escape(role)}\s+bq_\S+$", out, re.M), out
    assert f"http://127.0.0.1:{port}/api/v1" in out
    assert re.search(r"events: [1-9]\d* received over WebSocket", out), out
    conn = sqlite3.connect(tmp_path / "demo.db")
    kinds = {k for (k,) in conn.execute("SELECT kind FROM events")}
    assert {"ticket.issued", "counter.signed_in", "ticket.called"} <= kinds
    # The simulated devices: the hub showed calls on LED boards and pads rated services.
    assert "rs485+serial://" in out and "hub config" in out
    assert re.search(r"LED boards 1:\S+", out), out
    assert "ticket.rated" in kinds
    assert "device.status" in kinds
