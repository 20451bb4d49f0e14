"""`branchq demo --traffic`: a newcomer sees the server up, tokens printed, events flowing,
calls on the simulated LED boards and ratings from the simulated pads."""

from __future__ import annotations

import queue
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

from conftest import free_socket

PULSE = re.compile(r"events: (\d+) received over WebSocket, last seq \d+, (\d+) ratings")


def test_demo_runs_the_branch_with_live_traffic(tmp_path):
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "queue_server.cli", "demo", "--traffic", "--speed", "240",
         "--duration", "120", "--port", str(port), "--var", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True)
    reader.start()
    out = []
    try:
        deadline = time.monotonic() + 60
        while True:  # until a pulse shows events and at least one rating from a pad
            remaining = deadline - time.monotonic()
            assert remaining > 0 and proc.poll() is None, "".join(out) + proc.stderr.read()
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            out.append(line)
            pulse = PULSE.search(line)
            if pulse and int(pulse.group(1)) > 0 and int(pulse.group(2)) > 0:
                break
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    text = "".join(out)
    for role in ("kiosk", "display", "manager", "admin", "counter:1"):
        assert re.search(rf"^\s+{re.escape(role)}\s+bq_\S+$", text, re.M), text
    assert f"http://127.0.0.1:{port}/api/v1" in text
    assert "rs485+serial://" in text and "hub config" in text
    assert re.search(r"LED boards 1:\S+", text), text
    conn = sqlite3.connect(tmp_path / "demo.db")
    kinds = {k for (k,) in conn.execute("SELECT kind FROM events")}
    assert {"ticket.issued", "counter.signed_in", "ticket.called", "ticket.rated"} <= kinds
    assert "device.status" in kinds
